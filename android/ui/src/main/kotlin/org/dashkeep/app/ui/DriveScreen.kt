@file:OptIn(androidx.compose.material3.ExperimentalMaterial3Api::class)

package org.dashkeep.app.ui

import androidx.compose.foundation.Canvas
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.RangeSlider
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.geometry.Size
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import org.dashkeep.app.viewmodels.DriveState
import org.dashkeep.app.viewmodels.DriveViewModel
import org.dashkeep.app.viewmodels.bytes
import org.dashkeep.app.viewmodels.duration
import org.dashkeep.ffi.Residency

/** A drive: play it, its timeline (segments by where they live, incidents), a clip from a range, lock, remove. */
@Composable
fun DriveScreen(vm: DriveViewModel, onOpenClip: (Long) -> Unit) {
    val state by vm.state.collectAsState()
    LaunchedEffect(Unit) { vm.load() }
    LaunchedEffect(state.madeClipId) {
        state.madeClipId?.let {
            vm.clipShown()
            onOpenClip(it)
        }
    }
    val drive = state.drive
    Column(Modifier.fillMaxWidth().verticalScroll(rememberScrollState()).padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        ErrorBanner(state.error, vm::dismissError)
        if (drive == null) {
            Text("Loading the drive…")
            return@Column
        }
        Text(dateTime(drive.startedAtMs), style = MaterialTheme.typography.headlineSmall)
        Text(
            "${duration(drive.durationMs)} · ${plural(drive.segments, "segment")} · ${drive.segmentsOnPhone} on this phone (${bytes(drive.bytesOnPhone)})",
            style = MaterialTheme.typography.bodyMedium,
        )
        ResidencyBadges(drive.residencies)
        if (state.playlist.isNotEmpty()) {
            LocalPlatform.current.VideoPlayer(state.playlist, Modifier.fillMaxWidth().height(200.dp).testTag("player"))
        } else {
            Banner("No video of this drive is on the phone. Stream it from the camera to play it.", warning = false)
        }
        Section("Timeline") {
            Timeline(state, Modifier.fillMaxWidth().height(40.dp).testTag("timeline"))
            val colors = LocalResidencyColors.current
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                Badge("On phone", colors.phone)
                Badge(if (Residency.CAMERA in drive.residencies) "Camera only" else "Not on phone", if (Residency.CAMERA in drive.residencies) colors.camera else colors.nowhere)
                Badge("Incident", MaterialTheme.colorScheme.error)
            }
            Text(
                "Speed, g-force and the GPS track show here once the core summarises drives.",
                style = MaterialTheme.typography.bodySmall,
                color = MaterialTheme.colorScheme.onSurfaceVariant,
            )
        }
        if (state.incidents.isNotEmpty()) {
            Section("Incidents") {
                state.incidents.forEach { i ->
                    val place = if (i.lat != null && i.lon != null) " · %.5f, %.5f".format(i.lat, i.lon) else ""
                    Text("${kindLabel(i.kind)} at ${duration(i.offsetMs)} · %.1f g$place".format(i.peakG))
                }
            }
        }
        Section("Make a clip") {
            val length = state.lengthS.toFloat().coerceAtLeast(1f)
            RangeSlider(
                value = state.clipFromS.toFloat()..state.clipToS.toFloat(),
                onValueChange = { vm.setClipRange(it.start.toDouble(), it.endInclusive.toDouble()) },
                valueRange = 0f..length,
                modifier = Modifier.testTag("clip-range"),
            )
            Text("From ${duration((state.clipFromS * 1000).toLong())} to ${duration((state.clipToS * 1000).toLong())}")
            Button({ vm.makeClip() }, enabled = !state.busy && state.clipToS > state.clipFromS, modifier = Modifier.fillMaxWidth()) {
                Text("Make a clip")
            }
        }
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedButton({ vm.setLocked(!drive.locked) }, enabled = !state.busy) { Text(if (drive.locked) "Unlock" else "Lock") }
            OutlinedButton({ vm.removeFromPhone() }, enabled = !state.busy && Residency.PHONE in drive.residencies) { Text("Remove from phone") }
        }
        if (drive.locked) Text("Locked: the phone keeps this drive whatever the quota.", style = MaterialTheme.typography.bodySmall)
    }
}

/** The drive as a bar: each segment coloured by where it lives, incidents as red ticks. */
@Composable
private fun Timeline(state: DriveState, modifier: Modifier) {
    val colors = LocalResidencyColors.current
    val elsewhere = if (state.drive?.residencies?.contains(Residency.CAMERA) == true) colors.camera else colors.nowhere
    val incident = MaterialTheme.colorScheme.error
    val track = MaterialTheme.colorScheme.surfaceVariant
    val total = (state.drive?.durationMs ?: 0).coerceAtLeast(1).toFloat()
    Canvas(modifier) {
        drawRect(track, Offset(0f, size.height * 0.2f), Size(size.width, size.height * 0.6f))
        state.segments.forEach { s ->
            val x = s.startMs / total * size.width
            val w = (s.durationMs / total * size.width - 1f).coerceAtLeast(1f)
            drawRect(if (s.phonePath != null) colors.phone else elsewhere, Offset(x, size.height * 0.2f), Size(w, size.height * 0.6f))
        }
        state.incidents.forEach { i ->
            val x = i.offsetMs / total * size.width
            drawRect(incident, Offset(x - 2f, 0f), Size(4f, size.height))
        }
    }
}
