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
import androidx.media3.common.MediaItem
import androidx.media3.exoplayer.ExoPlayer
import androidx.media3.ui.PlayerView
import java.io.File
import org.dashkeep.app.service.AutoConnect
import kotlin.coroutines.resume
import kotlinx.coroutines.suspendCancellableCoroutine
import org.dashkeep.ffi.ShareTarget

/**
 * The phone's side of the common screens: Media3 plays a drive's segments back to back (one
 * gapless playlist) or a clip; Share opens the system sheet on the cloud link, or on the file
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
    override fun VideoPlayer(playlist: List<String>, modifier: Modifier) {
        val context = LocalContext.current
        val player = remember(playlist) {
            ExoPlayer.Builder(context).build().apply {
                setMediaItems(playlist.map { MediaItem.fromUri(File(it).toURI().toString()) })
                prepare()
            }
        }
        DisposableEffect(player) { onDispose { player.release() } }
        AndroidView(factory = { PlayerView(it).apply { this.player = player } }, modifier = modifier)
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
