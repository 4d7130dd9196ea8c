package org.dashkeep.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableLongStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.delay
import org.dashkeep.app.viewmodels.HomeState
import org.dashkeep.app.viewmodels.HomeViewModel
import org.dashkeep.app.viewmodels.LastIncident
import org.dashkeep.app.viewmodels.StorageBar
import org.dashkeep.app.viewmodels.bytes
import org.dashkeep.app.viewmodels.percent
import org.dashkeep.app.viewmodels.retryAtMs
import org.dashkeep.app.viewmodels.seconds
import org.dashkeep.ffi.Channel

/** Connect or Stream, the connection with its retry countdown, downloads, storage, at-risk, last incident. */
@Composable
fun HomeScreen(vm: HomeViewModel, onOpenDrive: (Long) -> Unit = {}, onPair: () -> Unit = {}) {
    val state by vm.state.collectAsState()
    Column(
        Modifier.fillMaxWidth().verticalScroll(rememberScrollState()).padding(16.dp),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        Text("Dashkeep", style = MaterialTheme.typography.headlineMedium)
        ErrorBanner(state.error, vm::dismissError)
        if (state.atRiskDrives > 0) {
            val hours = state.atRiskHours?.let { " within %.1f h of driving".format(it) } ?: " soon"
            Banner("${plural(state.atRiskDrives, "drive")} live in one place only and will be overwritten$hours. Stream or lock them.")
        }
        Connection(state, vm, onPair)
        Downloads(state)
        state.storage?.let { Storage(it) }
        state.lastIncident?.let { LastIncidentCard(it, onOpenDrive) }
    }
}

@Composable
private fun Connection(state: HomeState, vm: HomeViewModel, onPair: () -> Unit) {
    Section("Camera") {
        Text(state.connection.label, style = MaterialTheme.typography.titleMedium, modifier = Modifier.testTag("connection"))
        RetryCountdown(state.connection.retryAtMs())
        val serial = state.pairedSerial
        if (!state.loaded) {
            Text("Checking for a paired camera…", style = MaterialTheme.typography.bodySmall, modifier = Modifier.testTag("home-loading"))
        } else if (serial != null) {
            if (state.showsDisconnect) {
                OutlinedButton(onClick = { vm.disconnect() }, modifier = Modifier.fillMaxWidth()) { Text("Disconnect") }
            } else {
                Button(onClick = { vm.connect(serial) }, modifier = Modifier.fillMaxWidth()) { Text("Connect") }
            }
        } else {
            Button(onClick = { vm.streamNow() }, enabled = !state.busy, modifier = Modifier.fillMaxWidth()) {
                Text(if (state.busy) "Streaming…" else "Stream now")
            }
            Row(verticalAlignment = Alignment.CenterVertically) {
                Text("Stream automatically", Modifier.weight(1f))
                Switch(checked = state.streaming, onCheckedChange = { vm.setAutoStreaming(it) }, modifier = Modifier.testTag("auto-stream"))
            }
            OutlinedButton(onClick = onPair, modifier = Modifier.fillMaxWidth()) { Text("Pair a camera") }
        }
        if (state.segmentsStored > 0) Text("${plural(state.segmentsStored, "segment")} stored this session", style = MaterialTheme.typography.bodySmall)
    }
}

/** "Retrying in 4 s", ticking each second. */
@Composable
private fun RetryCountdown(retryAtMs: Long?) {
    if (retryAtMs == null) return
    var now by remember { mutableLongStateOf(System.currentTimeMillis()) }
    LaunchedEffect(retryAtMs) {
        while (now < retryAtMs) {
            delay(1_000)
            now = System.currentTimeMillis()
        }
    }
    val left = seconds(retryAtMs - now)
    Text(if (left > 0) "Retrying in $left s" else "Retrying now…", style = MaterialTheme.typography.bodySmall, modifier = Modifier.testTag("retry"))
}

@Composable
private fun Downloads(state: HomeState) {
    if (state.downloads.isEmpty()) return
    Section("Streaming") {
        state.downloads.forEach { d ->
            Text("Segment ${d.segmentId}: ${bytes(d.bytesDone)} of ${bytes(d.bytesTotal)}", style = MaterialTheme.typography.bodySmall)
            LinearProgressIndicator(progress = { d.fraction }, modifier = Modifier.fillMaxWidth().testTag("segment-progress"))
        }
    }
}

/** Why streaming is paused for room, and what helps: the core tells the phone's space from the quota. */
internal fun storageFullText(s: StorageBar): String =
    if (s.phoneFull) "Phone storage nearly full: streaming is paused. Free space on the phone."
    else "Storage full: streaming is paused. Raise the quota or remove drives."

@Composable
private fun Storage(s: StorageBar) {
    val colors = LocalResidencyColors.current
    Section("Phone storage") {
        Text("${bytes(s.usedBytes)} of ${bytes(s.limitBytes)} used (quota ${percent(s.quotaFraction)} of ${bytes(s.volumeBytes)})")
        StackedBar(listOf(s.driveShare to colors.phone, s.clipShare to colors.cloud), Modifier.testTag("storage-bar"))
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            Badge("Drives ${bytes(s.driveBytes)}", colors.phone)
            Badge("Clips ${bytes(s.clipBytes)}", colors.cloud)
            Badge("Free ${bytes(s.freeQuotaBytes)}", colors.nowhere)
        }
        if (s.full) Text(storageFullText(s), color = MaterialTheme.colorScheme.error)
    }
    s.cameras.forEach { sd ->
        Section("${sd.model} SD card") {
            if (sd.capacityBytes > 0) {
                Text("${bytes(sd.usedBytes)} of ${bytes(sd.capacityBytes)} (${sd.serial})")
                StackedBar(listOf(sd.usedShare to colors.camera), Modifier.testTag("sd-bar"))
            } else {
                // BlackVue cameras do not say how big their card is: only what it holds is known.
                Text("${bytes(sd.usedBytes)} of videos; the camera does not report its card's size (${sd.serial})")
            }
        }
    }
}

@Composable
private fun LastIncidentCard(i: LastIncident, onOpenDrive: (Long) -> Unit) {
    Section("Last incident") {
        Text(kindLabel(i.kind) + (i.peakG?.let { " · %.1f g".format(it) } ?: ""), style = MaterialTheme.typography.titleMedium)
        Text(dateTime(i.atMs), style = MaterialTheme.typography.bodySmall)
        i.driveId?.let { id -> OutlinedButton({ onOpenDrive(id) }) { Text("Open the drive") } }
    }
}

/** "Hard brake" for the core's `hard_brake`. */
fun kindLabel(kind: String): String = kind.replace('_', ' ').replaceFirstChar { it.uppercase() }

/** "1 drive", "3 drives". */
fun plural(n: Int, word: String) = if (n == 1) "1 $word" else "$n ${word}s"

/** " · front + rear" for a drive more than one lens recorded; nothing for one lens. */
fun lenses(channels: List<Channel>) =
    if (channels.size < 2) "" else " · " + channels.joinToString(" + ") { it.name.lowercase() }
