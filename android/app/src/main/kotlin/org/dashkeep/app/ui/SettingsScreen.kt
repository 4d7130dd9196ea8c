package org.dashkeep.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Slider
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableFloatStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import org.dashkeep.app.viewmodels.SettingsViewModel

/** Quota slider (default 50%), upload over cellular, pairing. */
@Composable
fun SettingsScreen(vm: SettingsViewModel) {
    val state by vm.state.collectAsStateWithLifecycle()
    var slider by remember(state.quota) { mutableFloatStateOf(state.quota.toFloat()) }
    Column(Modifier.padding(16.dp)) {
        Text("Phone storage for videos: ${(slider * 100).toInt()}%")
        Slider(
            value = slider,
            onValueChange = { slider = it },
            onValueChangeFinished = { vm.setQuota(slider.toDouble()) },
            valueRange = vm.quotaRange.start.toFloat()..vm.quotaRange.endInclusive.toFloat(),
        )
        if (state.lastEvictedCount > 0) Text("${state.lastEvictedCount} old segment(s) removed from the phone")
        Row {
            Text("Upload clips over cellular", Modifier.weight(1f))
            Switch(checked = state.uploadOverCellular, onCheckedChange = {}, enabled = state.uploadSettingAvailable)
        }
        state.paired.forEach { cam ->
            Row {
                Text("${cam.model} ${cam.serial} (key ${cam.keyFingerprint})", Modifier.weight(1f))
                TextButton(onClick = { vm.unpair(cam.serial) }, enabled = !state.pairing) { Text("Unpair") }
            }
        }
        TextButton(onClick = { vm.scan() }, enabled = state.pairingAvailable && !state.pairing) { Text("Pair a camera") }
        var code by remember { mutableStateOf("") }
        if (state.found.isNotEmpty()) {
            OutlinedTextField(value = code, onValueChange = { code = it.filter(Char::isDigit) }, label = { Text("Code on the camera's screen") })
        }
        state.found.forEach { device ->
            TextButton(onClick = { vm.pair(device.address, code) }, enabled = code.length >= 8 && !state.pairing) {
                Text("Pair with ${device.name}")
            }
        }
        state.error?.let { Text(it) }
    }
}
