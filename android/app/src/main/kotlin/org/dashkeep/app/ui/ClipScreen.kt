package org.dashkeep.app.ui

import android.content.Intent
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import org.dashkeep.app.viewmodels.ClipViewModel

/** Play, Share, Delete (the confirmation says the cloud copy goes too). */
@Composable
fun ClipScreen(vm: ClipViewModel, onDeleted: () -> Unit) {
    val state by vm.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    LaunchedEffect(Unit) { vm.load() }
    LaunchedEffect(state.deleted) { if (state.deleted) onDeleted() }
    LaunchedEffect(state.share) {
        state.share?.let {
            context.startActivity(Intent.createChooser(Intent(Intent.ACTION_SEND).putExtra(Intent.EXTRA_TEXT, it).setType("text/plain"), null))
            vm.shareShown()
        }
    }
    Column(Modifier.padding(16.dp)) {
        Text(state.clip?.title ?: "")
        state.clip?.playerPath?.let { VideoPlayer(it) }
        Row {
            Button({ vm.share() }) { Text("Share") }
            TextButton({ vm.requestDelete() }) { Text("Delete") }
        }
        state.error?.let { Text(it) }
    }
    if (state.confirmingDelete) {
        AlertDialog(
            onDismissRequest = vm::cancelDelete,
            title = { Text("Delete clip?") },
            text = { Text(vm.deleteWarning) },
            confirmButton = { TextButton({ vm.confirmDelete() }) { Text("Delete") } },
            dismissButton = { TextButton(vm::cancelDelete) { Text("Cancel") } },
        )
    }
}

/** Until the core has clips (the clips issue), the Clip route says so instead of pretending. */
@Composable
fun ClipUnavailable() = Text("Clips arrive with the clips update.", Modifier.padding(16.dp))
