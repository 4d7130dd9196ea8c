package org.dashkeep.app.ui

import androidx.activity.ComponentActivity
import androidx.compose.foundation.isSystemInDarkTheme
import androidx.compose.runtime.Composable
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.ui.platform.LocalContext
import org.dashkeep.app.platform.CameraWifi
import org.dashkeep.app.viewmodels.CameraLink
import org.dashkeep.ffi.BleTransport
import org.dashkeep.ffi.Companion

/**
 * The Android entry to the common screens (android/ui): the same `DashkeepApp` the desktop
 * tests render, with the phone's Bluetooth, camera-WiFi joiner, player and share sheet.
 */
@Composable
fun DashkeepNavigation(companion: Companion) {
    val scope = rememberCoroutineScope()
    val context = LocalContext.current
    val activity = context as ComponentActivity
    val platform = remember { AndroidPlatform(activity) }
    val model = remember {
        // The phone's Bluetooth (btleplug) and the camera-WiFi joiner, handed to the core.
        val transport: suspend () -> BleTransport = { BleTransport.system() }
        AppModel(companion, scope, CameraLink(transport, CameraWifi(context.applicationContext)))
    }
    DashkeepApp(model, platform, dark = isSystemInDarkTheme())
}
