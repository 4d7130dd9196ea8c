@file:OptIn(androidx.compose.material3.ExperimentalMaterial3Api::class)

package org.dashkeep.app.ui

import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.filled.Home
import androidx.compose.material.icons.filled.PlayArrow
import androidx.compose.material.icons.filled.Settings
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import kotlinx.coroutines.CoroutineScope
import org.dashkeep.app.viewmodels.CameraLink
import org.dashkeep.app.viewmodels.ClipViewModel
import org.dashkeep.app.viewmodels.CompanionClipSource
import org.dashkeep.app.viewmodels.DriveViewModel
import org.dashkeep.app.viewmodels.HomeViewModel
import org.dashkeep.app.viewmodels.SettingsViewModel
import org.dashkeep.app.viewmodels.VideosViewModel
import org.dashkeep.ffi.BleTransport
import org.dashkeep.ffi.CompanionInterface

/** Where the app is. */
sealed interface Route {
    /** Connect or Stream, storage. */
    data object Home : Route
    /** Drives and Clips. */
    data object Videos : Route
    /** Quota, uploads, cameras. */
    data object Settings : Route
    /** Pair a camera. */
    data object Pairing : Route
    /** One drive's page. */
    data class Drive(val id: Long) : Route
    /** One clip. */
    data class Clip(val id: Long) : Route
}

/**
 * The view models of one running app, made once (Android: in the activity's retained scope).
 * `scope` runs their work off the main thread's frame; the core's calls are async.
 */
class AppModel(
    val companion: CompanionInterface,
    val scope: CoroutineScope,
    link: CameraLink? = null,
    transport: (suspend () -> BleTransport)? = link?.transport,
    /** Where "Stream now" goes; by default the core's camera address. */
    cameraUrl: (suspend () -> String)? = null,
) {
    /** The Home screen's. */
    val home = if (cameraUrl != null) HomeViewModel(companion, scope, link, cameraUrl) else HomeViewModel(companion, scope, link)
    /** The Videos screen's. */
    val videos = VideosViewModel(companion, scope)
    /** Settings' and Pairing's. */
    val settings = SettingsViewModel(companion, scope, transport)

    /** A drive page's. */
    fun drive(id: Long) = DriveViewModel(companion, scope, id)

    /** A clip page's. */
    fun clip(id: Long) = ClipViewModel(CompanionClipSource(companion), scope, id)
}

/** The whole app: a bottom bar for Home, Videos and Settings; drive, clip and pairing pages on top. */
@Composable
fun DashkeepApp(model: AppModel, platform: Platform, dark: Boolean, start: Route = Route.Home) {
    var stack by remember { mutableStateOf(listOf(start)) }
    val route = stack.last()
    fun go(r: Route) { stack = stack + r }
    fun tab(r: Route) { stack = listOf(r) }
    fun back() { if (stack.size > 1) stack = stack.dropLast(1) }
    CompositionLocalProvider(LocalPlatform provides platform) {
        DashkeepTheme(dark) {
            Scaffold(
                topBar = {
                    if (stack.size > 1) {
                        TopAppBar(
                            title = { Text(title(route)) },
                            navigationIcon = { IconButton(::back) { Icon(Icons.AutoMirrored.Filled.ArrowBack, "Back") } },
                        )
                    }
                },
                bottomBar = {
                    NavigationBar {
                        NavigationBarItem(stack.first() == Route.Home, { tab(Route.Home) }, { Icon(Icons.Filled.Home, null) }, label = { Text("Home") })
                        NavigationBarItem(stack.first() == Route.Videos, { tab(Route.Videos) }, { Icon(Icons.Filled.PlayArrow, null) }, label = { Text("Videos") })
                        NavigationBarItem(stack.first() == Route.Settings, { tab(Route.Settings) }, { Icon(Icons.Filled.Settings, null) }, label = { Text("Settings") })
                    }
                },
            ) { padding ->
                Box(Modifier.fillMaxSize().padding(padding)) {
                    when (route) {
                        Route.Home -> HomeScreen(model.home, onOpenDrive = { go(Route.Drive(it)) }, onPair = { go(Route.Pairing) })
                        Route.Videos -> VideosScreen(model.videos, onOpenDrive = { go(Route.Drive(it)) }, onOpenClip = { go(Route.Clip(it)) })
                        Route.Settings -> SettingsScreen(model.settings, onPair = { go(Route.Pairing) })
                        Route.Pairing -> PairingScreen(model.settings, onDone = {
                            model.home.refresh()
                            back()
                        })
                        is Route.Drive -> {
                            val vm = remember(route.id) { model.drive(route.id) }
                            DisposableEffect(vm) { onDispose { vm.close() } }
                            DriveScreen(vm, onOpenClip = { go(Route.Clip(it)) })
                        }
                        is Route.Clip -> {
                            val vm = remember(route.id) { model.clip(route.id) }
                            DisposableEffect(vm) { onDispose { vm.close() } }
                            ClipScreen(vm, onDeleted = {
                                model.videos.refresh()
                                back()
                            })
                        }
                    }
                }
            }
        }
    }
}

private fun title(r: Route) = when (r) {
    Route.Home -> "Home"
    Route.Videos -> "Videos"
    Route.Settings -> "Settings"
    Route.Pairing -> "Pair a camera"
    is Route.Drive -> "Drive"
    is Route.Clip -> "Clip"
}
