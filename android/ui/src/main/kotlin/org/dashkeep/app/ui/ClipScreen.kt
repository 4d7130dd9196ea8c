package org.dashkeep.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.ButtonDefaults
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import org.dashkeep.app.viewmodels.ClipViewModel
import org.dashkeep.app.viewmodels.PlaylistEntry
import org.dashkeep.app.viewmodels.bytes
import org.dashkeep.app.viewmodels.duration

/** A clip: the player, what triggered it, peak g, time and place, Share, Delete (gone from the cloud for good). */
@Composable
fun ClipScreen(vm: ClipViewModel, onDeleted: () -> Unit) {
    val state by vm.state.collectAsState()
    val platform = LocalPlatform.current
    LaunchedEffect(Unit) { vm.load() }
    LaunchedEffect(state.deleted) { if (state.deleted) onDeleted() }
    LaunchedEffect(state.share) {
        state.share?.let {
            platform.share(it)
            vm.shareShown()
        }
    }
    Column(Modifier.fillMaxWidth().verticalScroll(rememberScrollState()).padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        ErrorBanner(state.error, vm::dismissError)
        val clip = state.clip ?: return@Column Text("Loading the clip…")
        Text(clip.title, style = MaterialTheme.typography.headlineSmall, modifier = Modifier.testTag("clip-title"))
        val path = clip.playerPath
        when {
            path != null -> platform.VideoPlayer(listOf(PlaylistEntry(path, clip.lengthMs)), Modifier.fillMaxWidth().height(220.dp).testTag("player"))
            clip.pending -> Banner("This clip is cut as soon as its videos reach the phone.", warning = false)
            else -> Banner("This clip is not on the phone. It plays once downloaded from the cloud.", warning = false)
        }
        Section("What happened") {
            Text("Time: ${dateTime(clip.startMs)} · ${duration(clip.lengthMs)} long")
            clip.peakG?.let { Text("Peak: %.2f g".format(it)) }
            if (clip.lat != null && clip.lon != null) Text("Place: %.5f, %.5f".format(clip.lat, clip.lon))
            clip.sizeBytes?.let { Text("Size: ${bytes(it)}") }
            ResidencyBadges(clip.residencies)
            Text(uploadLabel(clip.upload, clip.pending), style = MaterialTheme.typography.bodySmall)
            clip.uploadError?.let { Text("Upload failed: $it", color = MaterialTheme.colorScheme.error) }
        }
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            Button({ vm.share() }, enabled = !clip.pending) { Text("Share") }
            OutlinedButton(
                { vm.requestDelete() },
                colors = ButtonDefaults.outlinedButtonColors(contentColor = MaterialTheme.colorScheme.error),
            ) { Text("Delete") }
        }
    }
    if (state.confirmingDelete) {
        AlertDialog(
            onDismissRequest = vm::cancelDelete,
            title = { Text("Delete this clip?") },
            text = { Text(vm.deleteWarning, modifier = Modifier.testTag("delete-warning")) },
            confirmButton = { TextButton({ vm.confirmDelete() }, Modifier.testTag("confirm-delete")) { Text("Delete for good", color = MaterialTheme.colorScheme.error) } },
            dismissButton = { TextButton(vm::cancelDelete) { Text("Cancel") } },
        )
    }
}
