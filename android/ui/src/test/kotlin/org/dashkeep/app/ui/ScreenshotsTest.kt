package org.dashkeep.app.ui

import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performClick
import java.io.File
import kotlinx.coroutines.runBlocking
import org.dashkeep.ffi.ClipReason
import org.dashkeep.ffi.SimCam
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import javax.imageio.ImageIO

/**
 * One PNG per screen, light and dark, at a phone's size, from real state: the simulated camera's
 * demo drive streamed into the real core, its hard-brake clip and a manual one, and a two-lens
 * BlackVue card's drives. Written to the
 * `dashkeep.screenshots` directory (`scripts/screenshots OUT_DIR`; docs/screens/ keeps a copy).
 */
class ScreenshotsTest {
    private val out = File(System.getProperty("dashkeep.screenshots") ?: "build/maven/screens")

    @Test
    fun `every screen renders, light and dark`() = Rig().use { rig ->
        rig.pairAndStream()
        // A two-lens BlackVue card streamed too: its drives list their lenses ("front + rear").
        SimCam.start(segmentSecs = 30, extraArgs = listOf("--dialect", "blackvue-1009"), open = true).use { card ->
            runBlocking { rig.companion.streamNow(card.url) }
        }
        val (drive, clip) = runBlocking {
            val drive = rig.companion.drives(0u, 20u).drives.first { it.channels.size == 1 }.id
            rig.companion.createClip(drive, 20.0, 50.0)
            val clip = rig.companion.clips().firstOrNull { it.reason != ClipReason.MANUAL } ?: rig.companion.clips().first()
            drive to clip.id
        }
        val shots = listOf(
            Shot("home", Route.Home, "SD card"),
            Shot("videos-drives", Route.Videos, "front + rear"),
            Shot("videos-clips", Route.Videos, "Clips (", clickText = "Clips ("),
            Shot("drive", Route.Drive(drive), "Timeline"),
            Shot("drive-summary", Route.Drive(drive), "Timeline", scrollTo = "track"),
            Shot("clip", Route.Clip(clip), "What happened"),
            Shot("settings", Route.Settings, "Account:"),
            Shot("pairing", Route.Pairing, "Look for cameras"),
        )
        for (dark in listOf(false, true)) {
            for (shot in shots) {
                phone {
                    setContent { DashkeepApp(rig.model(), rig.platform, dark = dark, start = shot.route) }
                    waitForText(shot.waitFor)
                    shot.clickText?.let { onNodeWithText(it, substring = true).performClick() }
                    if (shot.name.startsWith("drive") || shot.name == "clip") waitForTag("poster")
                    shot.scrollTo?.let { tag ->
                        waitForTag(tag)
                        onNodeWithTag(tag).performScrollTo()
                    }
                    if (shot.name == "videos-clips") waitForTag("clips")
                    if (shot.name == "videos-drives") waitForTag("drives")
                    val file = File(out, "${shot.name}-${if (dark) "dark" else "light"}.png")
                    savePng(file)
                    val img = ImageIO.read(file)
                    assertTrue(img.width == 1080 && img.height == 2400, "${file.name}: ${img.width}x${img.height}")
                }
            }
        }
    }

    private data class Shot(val name: String, val route: Route, val waitFor: String, val clickText: String? = null, val scrollTo: String? = null)
}
