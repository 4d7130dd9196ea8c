package org.dashkeep.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import org.dashkeep.app.viewmodels.HomeViewModel

/** Camera connection state, the Stream button, the storage bar with the quota. */
@Composable
fun HomeScreen(vm: HomeViewModel) {
    val state by vm.state.collectAsStateWithLifecycle()
    Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(16.dp)) {
        Text(state.connection.label, style = MaterialTheme.typography.titleMedium)
        Button(onClick = { vm.streamNow() }, enabled = !state.busy, modifier = Modifier.fillMaxWidth()) {
            Text(if (state.busy) "Streaming…" else "Stream now")
        }
        Row {
            Text("Stream automatically", Modifier.weight(1f))
            Switch(checked = state.streaming, onCheckedChange = { vm.setAutoStreaming(it) })
        }
        state.download?.let { d ->
            Text("Downloading segment ${d.segmentId}")
            LinearProgressIndicator(progress = { d.fraction }, modifier = Modifier.fillMaxWidth())
        }
        state.storage?.let { s ->
            Text("Phone storage: ${gib(s.usedBytes)} of ${gib(s.limitBytes)} (quota ${(s.quotaFraction * 100).toInt()}%)")
            LinearProgressIndicator(progress = { s.usedShare }, modifier = Modifier.fillMaxWidth())
            if (s.full) Text("Storage full: streaming is paused", color = MaterialTheme.colorScheme.error)
        }
        if (state.atRiskDrives > 0) {
            Text(
                "${state.atRiskDrives} drive(s) live in one place only and will be overwritten soon",
                color = MaterialTheme.colorScheme.error,
            )
        }
        state.error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
    }
}

internal fun gib(bytes: Long) = "%.1f GB".format(bytes / 1e9)
