package org.dashkeep.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.launch
import org.dashkeep.app.viewmodels.SettingsViewModel

/** Find a camera, type the code on its screen; wrong codes and the camera's back-off say how long to wait. */
@Composable
fun PairingScreen(vm: SettingsViewModel, onDone: () -> Unit) {
    val state by vm.state.collectAsState()
    val platform = LocalPlatform.current
    val scope = rememberCoroutineScope()
    var code by remember { mutableStateOf("") }
    val waitS = state.pairWaitS
    Column(Modifier.fillMaxWidth().padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Text("Pair a camera", style = MaterialTheme.typography.headlineMedium)
        val paired = state.justPaired
        if (paired != null) {
            Banner("Paired with ${paired.model} ${paired.serial}. Connect to it on Home.", warning = false, modifier = Modifier.testTag("paired"))
            Button(onDone, Modifier.fillMaxWidth()) { Text("Done") }
            return@Column
        }
        Text("Hold the camera's pairing button until it shows a code, then look for it here.", style = MaterialTheme.typography.bodyMedium)
        ErrorBanner(state.error, vm::dismissError)
        if (waitS > 0) Text("Try again in $waitS s", color = MaterialTheme.colorScheme.error, modifier = Modifier.testTag("backoff"))
        OutlinedButton(
            { scope.launch { if (platform.requestCameraPermissions()) vm.scan() } },
            enabled = !state.scanning && !state.pairing,
            modifier = Modifier.fillMaxWidth(),
        ) { Text(if (state.scanning) "Looking for cameras…" else "Look for cameras") }
        if (state.scanned && state.found.isEmpty() && !state.scanning) {
            Text("No camera found. Is it on, close by, and showing a code?", style = MaterialTheme.typography.bodySmall)
        }
        if (state.found.isNotEmpty()) {
            OutlinedTextField(
                value = code,
                onValueChange = { code = it.filter(Char::isDigit).take(8) },
                label = { Text("Code on the camera's screen") },
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword),
                singleLine = true,
                modifier = Modifier.fillMaxWidth().testTag("code"),
            )
            state.found.forEach { device ->
                Button(
                    { vm.pair(device.address, code) },
                    enabled = code.length == 8 && !state.pairing && waitS <= 0,
                    modifier = Modifier.fillMaxWidth(),
                ) { Text(if (state.pairing) "Pairing…" else "Pair with ${device.name}") }
            }
        }
    }
}
