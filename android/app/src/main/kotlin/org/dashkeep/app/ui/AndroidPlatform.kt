package org.dashkeep.app.ui

import android.Manifest
import android.content.Context
import android.content.Intent
import android.os.Build
import androidx.activity.ComponentActivity
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.viewinterop.AndroidView
import androidx.core.content.FileProvider
import android.view.SurfaceHolder
import android.view.SurfaceView
import android.widget.FrameLayout
import android.widget.MediaController
import java.io.File
import org.dashkeep.app.platform.DrivePlayback
import org.dashkeep.app.viewmodels.PlaylistEntry
import org.dashkeep.app.service.AutoConnect
import kotlin.coroutines.resume
import kotlinx.coroutines.suspendCancellableCoroutine
import org.dashkeep.ffi.ShareTarget

/**
 * The phone's side of the common screens: [DrivePlayback] plays a drive's segments back to back
 * as one timeline (the framework's MediaPlayer, with the standard MediaController bar) or a clip; Share opens the system sheet on the cloud link, or on the file
 * through a content URI (FileProvider authority `<package>.files`); Bluetooth and nearby-WiFi
 * permissions are asked for before pairing or connecting.
 */
class AndroidPlatform(private val activity: ComponentActivity) : Platform {
    private var pending: ((Boolean) -> Unit)? = null
    // Registered on the registry directly: this platform is made inside the first composition,
    // possibly after the activity started (registerForActivityResult would refuse then).
    private val permissions = activity.activityResultRegistry.register("dashkeep-permissions", ActivityResultContracts.RequestMultiplePermissions()) { granted ->
        pending?.invoke(granted.values.all { it })
        pending = null
    }

    @Composable
    override fun VideoPlayer(playlist: List<PlaylistEntry>, modifier: Modifier) {
        val playback = remember(playlist) { DrivePlayback(playlist.map { it.path }, playlist.map { it.durationMs }) }
        DisposableEffect(playback) { onDispose { playback.release() } }
        AndroidView(factory = { context -> playerView(context, playback) }, modifier = modifier)
    }

    /** A surface for the video and the system's play/pause/seek bar over the whole playlist. */
    private fun playerView(context: Context, playback: DrivePlayback): FrameLayout {
        val frame = FrameLayout(context)
        val surface = SurfaceView(context)
        surface.holder.addCallback(object : SurfaceHolder.Callback {
            override fun surfaceCreated(holder: SurfaceHolder) = playback.setSurface(holder.surface)
            override fun surfaceChanged(holder: SurfaceHolder, format: Int, width: Int, height: Int) {}
            override fun surfaceDestroyed(holder: SurfaceHolder) = playback.setSurface(null)
        })
        frame.addView(surface)
        val controls = MediaController(context)
        controls.setMediaPlayer(playback)
        controls.setAnchorView(frame)
        frame.setOnClickListener { if (controls.isShowing) controls.hide() else controls.show() }
        return frame
    }

    override fun share(target: ShareTarget) {
        val intent = when (target) {
            is ShareTarget.Link -> Intent(Intent.ACTION_SEND).setType("text/plain").putExtra(Intent.EXTRA_TEXT, target.url)
            is ShareTarget.File -> Intent(Intent.ACTION_SEND).setType("video/mp4")
                .putExtra(Intent.EXTRA_STREAM, contentUri(activity, File(target.path)))
                .addFlags(Intent.FLAG_GRANT_READ_URI_PERMISSION)
        }
        activity.startActivity(Intent.createChooser(intent, null))
    }

    override suspend fun requestCameraPermissions(): Boolean = suspendCancellableCoroutine { cont ->
        pending = { cont.resume(it) }
        permissions.launch(cameraPermissions())
    }

    private fun cameraPermissions(): Array<String> = if (Build.VERSION.SDK_INT >= 33) {
        arrayOf(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.BLUETOOTH_CONNECT, Manifest.permission.NEARBY_WIFI_DEVICES)
    } else if (Build.VERSION.SDK_INT >= 31) {
        arrayOf(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.BLUETOOTH_CONNECT, Manifest.permission.ACCESS_FINE_LOCATION)
    } else {
        arrayOf(Manifest.permission.ACCESS_FINE_LOCATION)
    }

    override fun autoConnectSerial(): String? = AutoConnect(activity).let { if (it.enabled) it.serial else null }

    override fun setAutoConnect(serial: String?) {
        val auto = AutoConnect(activity)
        if (serial == null) auto.disable() else auto.enable(serial)
    }

    private fun contentUri(context: Context, file: File) = FileProvider.getUriForFile(context, "${context.packageName}.files", file)
}
