package org.dashkeep.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.AssistChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Tab
import androidx.compose.material3.TabRow
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import java.text.DateFormat
import java.util.Date
import org.dashkeep.app.viewmodels.DriveRow
import org.dashkeep.app.viewmodels.VideosTab
import org.dashkeep.app.viewmodels.VideosViewModel
import org.dashkeep.ffi.Residency

/** Drives and Clips tabs, residency badges, the at-risk warning. */
@Composable
fun VideosScreen(vm: VideosViewModel, onOpenClip: (Long) -> Unit) {
    val state by vm.state.collectAsStateWithLifecycle()
    Column {
        TabRow(selectedTabIndex = state.tab.ordinal) {
            Tab(state.tab == VideosTab.DRIVES, { vm.select(VideosTab.DRIVES) }, text = { Text("Drives") })
            Tab(state.tab == VideosTab.CLIPS, { vm.select(VideosTab.CLIPS) }, text = { Text("Clips") })
        }
        if (state.atRiskCount > 0) {
            Text(
                "${state.atRiskCount} drive(s) live in one place only and will be overwritten soon",
                color = MaterialTheme.colorScheme.error,
                modifier = Modifier.padding(16.dp),
            )
        }
        when (state.tab) {
            VideosTab.DRIVES -> LazyColumn {
                items(state.drives, key = { it.id }) { DriveItem(it, vm) }
                item { LaunchedEffect(state.drives.size) { vm.loadMore() } }
            }
            VideosTab.CLIPS -> Text("No clips yet", Modifier.padding(16.dp))
        }
    }
}

@Composable
private fun DriveItem(drive: DriveRow, vm: VideosViewModel) {
    Column(Modifier.padding(horizontal = 16.dp, vertical = 8.dp)) {
        Text(DateFormat.getDateTimeInstance().format(Date(drive.startedAtMs)), style = MaterialTheme.typography.titleSmall)
        Row {
            drive.residencies.forEach { r ->
                AssistChip(onClick = {}, label = {
                    Text(when (r) { Residency.CAMERA -> "camera"; Residency.PHONE -> "phone"; Residency.CLOUD -> "cloud" })
                })
            }
            if (drive.atRisk) Text(" at risk", color = MaterialTheme.colorScheme.error)
        }
        Row {
            TextButton({ vm.setLocked(drive.id, !drive.locked) }) { Text(if (drive.locked) "Unlock" else "Lock") }
            TextButton({ vm.removeFromPhone(drive.id) }, enabled = Residency.PHONE in drive.residencies) { Text("Remove from phone") }
        }
    }
}
