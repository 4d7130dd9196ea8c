@file:OptIn(androidx.compose.material3.ExperimentalMaterial3Api::class)

package org.dashkeep.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.SegmentedButton
import androidx.compose.material3.SegmentedButtonDefaults
import androidx.compose.material3.SingleChoiceSegmentedButtonRow
import androidx.compose.material3.Slider
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableFloatStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import org.dashkeep.app.viewmodels.SettingsViewModel
import org.dashkeep.app.viewmodels.bytes
import org.dashkeep.app.viewmodels.percent
import org.dashkeep.ffi.Sensitivity
import org.dashkeep.ffi.SensitivityLevel
import org.dashkeep.ffi.UploadPolicy

/** The quota slider with bytes, the upload policy, the cloud account, paired cameras. */
@Composable
fun SettingsScreen(vm: SettingsViewModel, onPair: () -> Unit) {
    val state by vm.state.collectAsState()
    var slider by remember(state.quota) { mutableFloatStateOf(state.quota.toFloat()) }
    Column(Modifier.fillMaxWidth().verticalScroll(rememberScrollState()).padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Text("Settings", style = MaterialTheme.typography.headlineMedium)
        ErrorBanner(state.error, vm::dismissError)
        Section("Phone storage for videos") {
            Text(
                "${percent(slider.toDouble())} of this phone: ${bytes(state.quotaBytes(slider.toDouble()))}",
                style = MaterialTheme.typography.titleMedium,
                modifier = Modifier.testTag("quota-label"),
            )
            Slider(
                value = slider,
                onValueChange = { slider = it },
                onValueChangeFinished = { vm.setQuota(Math.round(slider * 100) / 100.0) },
                valueRange = state.quotaMin.toFloat()..state.quotaMax.toFloat(),
                modifier = Modifier.testTag("quota-slider"),
            )
            Row {
                Text(percent(state.quotaMin), style = MaterialTheme.typography.bodySmall, modifier = Modifier.weight(1f))
                Text(percent(state.quotaMax), style = MaterialTheme.typography.bodySmall)
            }
            if (state.lastEvictedCount > 0) Text("${plural(state.lastEvictedCount, "old video")} removed from the phone to fit.")
        }
        SensitivitySection(state.sensitivity, state.sensitivityLevels, vm::setSensitivity)
        Section("Cloud") {
            val cloud = state.cloud
            if (cloud == null) {
                Text("No cloud account: clips stay on this phone.")
            } else {
                Text("Account: ${cloud.account} (${cloud.backend})")
                Text("${cloud.uploaded} in the cloud · ${cloud.queued} waiting", style = MaterialTheme.typography.bodySmall)
                cloud.stopped?.let { Text("Uploads stopped: $it. Sign in again.", color = MaterialTheme.colorScheme.error) }
                Text("Upload clips over")
                val options = listOf(UploadPolicy.WIFI_ONLY to "WiFi only", UploadPolicy.WIFI_AND_CELLULAR to "WiFi and cellular")
                SingleChoiceSegmentedButtonRow(Modifier.fillMaxWidth()) {
                    options.forEachIndexed { i, (policy, label) ->
                        SegmentedButton(
                            selected = state.uploadPolicy == policy,
                            onClick = { vm.setUploadPolicy(policy) },
                            shape = SegmentedButtonDefaults.itemShape(i, options.size),
                            modifier = Modifier.testTag("policy-${policy.name}"),
                        ) { Text(label) }
                    }
                }
            }
        }
        CameraCleanupSection(state.deleteFromCamera, vm::toggleDeleteFromCamera)
        Section("Paired cameras") {
            if (state.paired.isEmpty()) Text("No camera paired yet.")
            state.paired.forEach { cam ->
                Row(verticalAlignment = Alignment.CenterVertically) {
                    Column(Modifier.weight(1f)) {
                        Text("${cam.model} ${cam.serial}", style = MaterialTheme.typography.titleSmall)
                        Text("WiFi ${cam.wifiSsid} · key ${cam.keyFingerprint}", style = MaterialTheme.typography.bodySmall)
                    }
                    TextButton(onClick = { vm.unpair(cam.serial) }, enabled = !state.pairing) { Text("Unpair") }
                }
                AutoConnectRow(cam.serial)
            }
            OutlinedButton(onClick = onPair, modifier = Modifier.fillMaxWidth()) { Text("Pair a camera") }
        }
    }
    if (state.confirmingDeleteFromCamera) {
        AlertDialog(
            onDismissRequest = { vm.answerDeleteFromCamera(false) },
            title = { Text("Delete videos from the camera?") },
            text = {
                Text(
                    "Once a video is safely on this phone, Dashkeep deletes it from the camera's card. " +
                        "The phone then holds the only copy, and its loop recording can overwrite it. " +
                        "Videos the camera locked stay on the camera.",
                    modifier = Modifier.testTag("delete-from-camera-warning"),
                )
            },
            confirmButton = {
                TextButton({ vm.answerDeleteFromCamera(true) }, Modifier.testTag("confirm-delete-from-camera")) {
                    Text("Delete after copying", color = MaterialTheme.colorScheme.error)
                }
            },
            dismissButton = { TextButton({ vm.answerDeleteFromCamera(false) }) { Text("Keep them") } },
        )
    }
}

/** "Delete from the camera after copying": off by default; turning it on asks first. */
@Composable
private fun CameraCleanupSection(on: Boolean, onToggle: (Boolean) -> Unit) {
    Section("Camera's card") {
        Row(verticalAlignment = Alignment.CenterVertically) {
            Column(Modifier.weight(1f)) {
                Text("Delete from the camera after copying", style = MaterialTheme.typography.bodyMedium)
                Text(
                    if (on) "Videos leave the camera once the phone has a verified copy." else "The camera keeps its videos: two places to recover them from.",
                    style = MaterialTheme.typography.bodySmall,
                    modifier = Modifier.testTag("delete-from-camera-hint"),
                )
            }
            Switch(checked = on, onCheckedChange = onToggle, modifier = Modifier.testTag("delete-from-camera"))
        }
    }
}

/** The detector's sensitivity as a stepped slider over the core's levels (least sensitive at the left). */
@Composable
private fun SensitivitySection(current: Sensitivity, levels: List<SensitivityLevel>, onChange: (Sensitivity) -> Unit) {
    if (levels.isEmpty()) return
    val index = levels.indexOfFirst { it.sensitivity == current }.coerceAtLeast(0)
    var slider by remember(index) { mutableFloatStateOf(index.toFloat()) }
    val shown = levels[Math.round(slider).coerceIn(0, levels.lastIndex)]
    Section("Incident detection") {
        Text(
            "${sensitivityName(shown.sensitivity)}: thresholds × %.2f".format(shown.thresholdScale),
            style = MaterialTheme.typography.titleMedium,
            modifier = Modifier.testTag("sensitivity-label"),
        )
        Text(sensitivityHint(shown.sensitivity), style = MaterialTheme.typography.bodySmall)
        Slider(
            value = slider,
            onValueChange = { slider = it },
            onValueChangeFinished = { onChange(levels[Math.round(slider).coerceIn(0, levels.lastIndex)].sensitivity) },
            valueRange = 0f..levels.lastIndex.toFloat(),
            steps = (levels.size - 2).coerceAtLeast(0),
            modifier = Modifier.testTag("sensitivity-slider"),
        )
        Row {
            Text(sensitivityName(levels.first().sensitivity), style = MaterialTheme.typography.bodySmall, modifier = Modifier.weight(1f))
            Text(sensitivityName(levels.last().sensitivity), style = MaterialTheme.typography.bodySmall)
        }
    }
}

private fun sensitivityName(s: Sensitivity) = when (s) {
    Sensitivity.LOW -> "Low"
    Sensitivity.NORMAL -> "Normal"
    Sensitivity.HIGH -> "High"
}

private fun sensitivityHint(s: Sensitivity) = when (s) {
    Sensitivity.LOW -> "Only clear-cut hard brakes and collisions make clips: fewer false alarms."
    Sensitivity.NORMAL -> "Tuned on real drives: hard brakes and collisions make clips."
    Sensitivity.HIGH -> "Milder brakes make clips too: more clips, more false alarms."
}

/** "Connect when in range": the platform's background scan starts the drive for this camera. */
@Composable
private fun AutoConnectRow(serial: String) {
    val platform = LocalPlatform.current
    var on by remember(serial) { mutableStateOf(platform.autoConnectSerial() == serial) }
    Row(verticalAlignment = Alignment.CenterVertically) {
        Column(Modifier.weight(1f)) {
            Text("Connect when in range", style = MaterialTheme.typography.bodyMedium)
            Text("Starts the drive by itself when this camera comes in range.", style = MaterialTheme.typography.bodySmall)
        }
        Switch(
            checked = on,
            onCheckedChange = {
                platform.setAutoConnect(if (it) serial else null)
                on = platform.autoConnectSerial() == serial
            },
            modifier = Modifier.testTag("auto-connect-$serial"),
        )
    }
}
