package org.dashkeep.app.ui

import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Icon
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.ui.Modifier
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Home
import androidx.compose.material.icons.filled.Settings
import androidx.compose.material.icons.filled.VideoLibrary
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.rememberNavController
import org.dashkeep.app.viewmodels.HomeViewModel
import org.dashkeep.app.viewmodels.SettingsViewModel
import org.dashkeep.app.viewmodels.VideosViewModel
import androidx.compose.ui.platform.LocalContext
import org.dashkeep.app.platform.CameraWifi
import org.dashkeep.app.viewmodels.CameraLink
import org.dashkeep.ffi.BleTransport
import org.dashkeep.ffi.Companion

/** The camera's address on its own WiFi when no camera is paired yet (streaming by URL). */
const val CAMERA_URL = "http://192.168.42.1"

/** Home, Videos and Settings in a bottom bar; the Clip screen opens from Videos. */
@Composable
fun DashkeepNavigation(companion: Companion) {
    val nav = rememberNavController()
    val scope = rememberCoroutineScope()
    val context = LocalContext.current
    // The phone's Bluetooth (btleplug) and the camera-WiFi joiner, handed to the core.
    val transport: suspend () -> BleTransport = { BleTransport.system() }
    val link = remember { CameraLink(transport, CameraWifi(context.applicationContext)) }
    val home = remember { HomeViewModel(companion, scope, link) { CAMERA_URL } }
    val videos = remember { VideosViewModel(companion, scope).also { it.refresh() } }
    val settings = remember { SettingsViewModel(companion, scope, transport) }
    Scaffold(bottomBar = {
        NavigationBar {
            NavigationBarItem(false, { nav.navigate("home") }, { Icon(Icons.Default.Home, null) }, label = { Text("Home") })
            NavigationBarItem(false, { nav.navigate("videos") }, { Icon(Icons.Default.VideoLibrary, null) }, label = { Text("Videos") })
            NavigationBarItem(false, { nav.navigate("settings") }, { Icon(Icons.Default.Settings, null) }, label = { Text("Settings") })
        }
    }) { padding ->
        NavHost(nav, startDestination = "home", modifier = Modifier.padding(padding)) {
            composable("home") { HomeScreen(home) }
            composable("videos") { VideosScreen(videos, onOpenClip = { id -> nav.navigate("clip/$id") }) }
            composable("clip/{id}") { ClipUnavailable() }
            composable("settings") { SettingsScreen(settings) }
        }
    }
}
