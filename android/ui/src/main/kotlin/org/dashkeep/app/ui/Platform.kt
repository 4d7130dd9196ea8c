package org.dashkeep.app.ui

import androidx.compose.runtime.Composable
import androidx.compose.runtime.staticCompositionLocalOf
import androidx.compose.ui.Modifier
import org.dashkeep.app.viewmodels.PlaylistEntry
import org.dashkeep.ffi.ShareTarget

/**
 * The few things the common screens need from the platform: the video player, the share sheet
 * and the permission prompts. Android implements it with the framework's MediaPlayer and intents
 * (`android/app/.../ui/AndroidPlatform.kt`), the desktop tests with a poster frame.
 */
interface Platform {
    /** Plays the phone files one after another (a drive's segments, or one clip), seamlessly. */
    @Composable
    fun VideoPlayer(playlist: List<PlaylistEntry>, modifier: Modifier)

    /** Opens the share sheet on what the core chose: a link, or the file (as a content URI). */
    fun share(target: ShareTarget)

    /** Asks for what pairing and connecting need (Bluetooth, nearby WiFi); false: refused. */
    suspend fun requestCameraPermissions(): Boolean

    /** The camera auto-connect starts the drive for when it comes in range; `null`: off. */
    fun autoConnectSerial(): String? = null

    /** Turns auto-connect on for the paired camera `serial`, or off (`null`). */
    fun setAutoConnect(serial: String?) {}
}

/** The platform the screens use (the app provides it at the root). */
val LocalPlatform = staticCompositionLocalOf<Platform> { error("no Platform provided") }
