package org.dashkeep.app.ui

import androidx.compose.foundation.Image
import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Box
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.remember
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.toComposeImageBitmap
import androidx.compose.ui.layout.ContentScale
import androidx.compose.ui.platform.testTag
import java.io.File
import java.util.concurrent.CopyOnWriteArrayList
import org.dashkeep.app.viewmodels.PlaylistEntry
import org.dashkeep.ffi.ShareTarget
import org.jetbrains.skia.Image as SkiaImage

/**
 * The desktop stand-in for the phone's platform: the player slot shows the first file's poster
 * frame (decoded by ffmpeg from the real MP4), Share records what the core chose.
 */
class DesktopPlatform : Platform {
    /** Every share sheet opened, in order. */
    val shared = CopyOnWriteArrayList<ShareTarget>()

    @Composable
    override fun VideoPlayer(playlist: List<PlaylistEntry>, modifier: Modifier) {
        val first = playlist.firstOrNull()?.path
        val poster = remember(first) { first?.let(::posterFrame) }
        Box(modifier.background(Color.Black), contentAlignment = Alignment.Center) {
            if (poster != null) {
                Image(poster, "Poster frame", Modifier.testTag("poster"), contentScale = ContentScale.Fit)
            } else {
                Text("Cannot show this video", color = Color.White)
            }
        }
    }

    override fun share(target: ShareTarget) {
        shared += target
    }

    override suspend fun requestCameraPermissions() = true

    /** The auto-connect camera (in memory; the Android one is a background BLE scan). */
    @Volatile private var autoConnectCamera: String? = null

    override fun autoConnectSerial() = autoConnectCamera

    override fun setAutoConnect(serial: String?) {
        autoConnectCamera = serial
    }

    companion object {
        /** The first frame of an MP4 as an image (ffmpeg is installed by scripts/test-all). */
        fun posterFrame(path: String): ImageBitmap? {
            val png = File.createTempFile("poster", ".png")
            try {
                val p = ProcessBuilder("ffmpeg", "-v", "error", "-y", "-i", path, "-frames:v", "1", "-vf", "scale=640:-2", png.path)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
                if (p.waitFor() != 0 || png.length() == 0L) return null
                return SkiaImage.makeFromEncoded(png.readBytes()).toComposeImageBitmap()
            } finally {
                png.delete()
            }
        }
    }
}
