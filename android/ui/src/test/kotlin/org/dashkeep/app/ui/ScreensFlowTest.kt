package org.dashkeep.app.ui

import androidx.compose.ui.semantics.SemanticsActions
import androidx.compose.ui.test.assert
import androidx.compose.ui.test.assertTextContains
import androidx.compose.ui.test.hasAnyDescendant
import androidx.compose.ui.test.assertTextEquals
import androidx.compose.ui.test.hasTestTag
import androidx.compose.ui.test.hasText
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performSemanticsAction
import androidx.compose.ui.test.performTextReplacement
import kotlinx.coroutines.runBlocking
import org.dashkeep.ffi.ClipState
import org.dashkeep.ffi.Sensitivity
import org.dashkeep.ffi.UploadPolicy
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * The app's screens clicked through on a phone-sized headless screen, over the real core and
 * the simulated camera: what a user does, and what they must see.
 */
class ScreensFlowTest {
    @Test
    fun `pair with a wrong then the right code, connect and watch segments arrive`() = Rig().use { rig ->
        phone {
            setContent { DashkeepApp(rig.model(), rig.platform, dark = false) }
            waitForText("Stream now")
            onNodeWithText("Pair a camera").performScrollTo().performClick()
            onNodeWithText("Look for cameras").performClick()
            waitForText("Pair with")
            onNodeWithTag("code").performTextReplacement("11112222")
            onNodeWithText("Pair with", substring = true).performClick()
            waitForText("wrong code")
            // Another wrong attempt reaches the camera just before the right code is pressed, so
            // the camera is backing off then whatever this machine's speed: the screen says how
            // long to wait.
            onNodeWithTag("code").performTextReplacement(Rig.CODE)
            waitEnabled("Pair with")
            rig.wrongAttempt()
            onNodeWithText("Pair with", substring = true).performClick()
            waitForText("too many attempts")
            waitForTag("backoff")
            // The button comes back when the wait is over; then the right code pairs.
            waitEnabled("Pair with", timeoutMs = 15_000)
            onNodeWithText("Pair with", substring = true).performClick()
            waitForTag("paired")
            onNodeWithText("Done").performClick()

            waitForText("Connect")
            onNodeWithText("Connect").performClick()
            waitForText(": streaming")
            waitForText("stored this session")
            waitForTag("storage-bar")
            waitForTag("sd-bar")
        }
        runBlocking { assertTrue(rig.companion.drives(0u, 10u).drives.isNotEmpty()) }
    }

    @Test
    fun `open a drive, make a clip, share it and delete it with the warning`() = Rig().use { rig ->
        rig.pairAndStream()
        val driveId = runBlocking { rig.companion.drives(0u, 1u).drives.first().id }
        phone {
            setContent { DashkeepApp(rig.model(), rig.platform, dark = false, start = Route.Videos) }
            waitForTag("drive-$driveId")
            onNodeWithTag("drive-$driveId").performClick()
            waitForTag("timeline")
            waitForTag("poster") // the player slot shows the drive's first frame
            // The core's summary: figures, and the GPS track drawn (or what is missing said).
            waitForTag("figure-Duration")
            waitFor(hasTestTag("track") or hasTestTag("no-track") or hasTestTag("gps-missing"))
            onNode(hasText("Make a clip") and androidx.compose.ui.test.hasClickAction()).performScrollTo().performClick()
            waitForTag("clip-title")
            onNodeWithTag("clip-title").assertTextEquals("Manual clip")
            waitEnabled("Share")
            onNodeWithText("Share").performClick()
            waitTill("the share sheet", 10_000) { rig.platform.shared.isNotEmpty() }
            val clipId = runBlocking { rig.companion.clips().first { it.reason == org.dashkeep.ffi.ClipReason.MANUAL }.id }
            assertEquals(runBlocking { rig.companion.shareTarget(clipId) }, rig.platform.shared.single())

            onNodeWithText("Delete").performClick()
            waitForTag("delete-warning")
            onNodeWithTag("delete-warning").assertTextContains("from the cloud for good", substring = true)
            onNodeWithText("Cancel").performClick()
            runBlocking { assertEquals(ClipState.READY, rig.companion.clip(clipId).state, "Cancel keeps it") }
            onNodeWithText("Delete").performClick()
            onNodeWithTag("confirm-delete").performClick()
            waitForTag("timeline") // back on the drive's page
            val left = runBlocking { rig.companion.clips() }.filter { it.id == clipId && it.state != ClipState.DELETED }
            assertTrue(left.isEmpty(), "deleted: $left")
        }
    }

    @Test
    fun `settings moves the quota slider with bytes and switches the upload policy`() = Rig(camera = false).use { rig ->
        phone {
            setContent { DashkeepApp(rig.model(), rig.platform, dark = false, start = Route.Settings) }
            waitForText("50% of this phone")
            onNodeWithTag("quota-label").assertTextContains("34.4 GB", substring = true) // half of 64 GiB
            onNodeWithTag("quota-slider").performSemanticsAction(SemanticsActions.SetProgress) { it(0.7f) }
            waitForText("70% of this phone")
            waitTill("the core took the quota", 10_000) { rig.companion.quota() == 0.7 }

            waitForTag("policy-WIFI_AND_CELLULAR")
            onNodeWithTag("policy-WIFI_AND_CELLULAR").performClick()
            waitTill("the core took the policy", 10_000) {
                runBlocking { rig.companion.cloudStatus().policy } == UploadPolicy.WIFI_AND_CELLULAR
            }
            onNodeWithTag("policy-WIFI_ONLY").performClick()
            waitTill("back to WiFi only", 10_000) { runBlocking { rig.companion.cloudStatus().policy } == UploadPolicy.WIFI_ONLY }
            onNodeWithText("Account: driver-1", substring = true).assertExists()

            // Detector sensitivity: the core's levels as slider steps; High is taken at once.
            onNodeWithTag("sensitivity-label").assertTextContains("Normal", substring = true)
            onNodeWithTag("sensitivity-slider").performScrollTo()
                .performSemanticsAction(SemanticsActions.SetProgress) { it(rig.companion.sensitivityLevels().lastIndex.toFloat()) }
            waitForText("High: thresholds")
            waitTill("the core took the sensitivity", 10_000) { rig.companion.detectorSensitivity() == Sensitivity.HIGH }

            // Deleting from the camera after copying: off by default; on only after the warning.
            onNodeWithTag("delete-from-camera").performScrollTo().performClick()
            waitForTag("delete-from-camera-warning")
            onNodeWithTag("delete-from-camera-warning").assertTextContains("only copy", substring = true)
            onNodeWithText("Keep them").performClick()
            runBlocking { assertEquals(false, rig.companion.deletesFromCamera(), "Keep them leaves it off") }
            onNodeWithTag("delete-from-camera").performClick()
            onNodeWithTag("confirm-delete-from-camera").performClick()
            waitTill("the core took the choice", 10_000) { runBlocking { rig.companion.deletesFromCamera() } }
            waitForText("Videos leave the camera once the phone has a verified copy.")
            onNodeWithTag("delete-from-camera").performClick()
            waitTill("off again at once", 10_000) { !runBlocking { rig.companion.deletesFromCamera() } }
        }
    }

    @Test
    fun `a new phone shows empty states that say what to do, and errors in words`() = Rig(camera = false).use { rig ->
        phone {
            setContent { DashkeepApp(rig.model(cameraUrl = "http://127.0.0.1:9"), rig.platform, dark = false, start = Route.Videos) }
            waitForText("No drives yet")
            onNodeWithText("Clips (0)").performClick()
            waitForText("No clips yet")
            onNodeWithText("Home").performClick()
            // No camera answers at the address: the error says what to check.
            onNodeWithText("Stream now").performClick()
            waitFor(hasTestTag("error"), 60_000)
            onNodeWithTag("error").assert(hasAnyDescendant(hasText("Camera:", substring = true)))
        }
    }
}
