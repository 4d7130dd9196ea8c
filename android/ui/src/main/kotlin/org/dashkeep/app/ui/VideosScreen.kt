package org.dashkeep.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.LazyListState
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.lazy.rememberLazyListState
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Tab
import androidx.compose.material3.TabRow
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.snapshotFlow
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.flow.first
import org.dashkeep.app.viewmodels.ClipRow
import org.dashkeep.app.viewmodels.DriveRow
import org.dashkeep.app.viewmodels.VideosTab
import org.dashkeep.app.viewmodels.VideosViewModel
import org.dashkeep.app.viewmodels.bytes
import org.dashkeep.app.viewmodels.duration
import org.dashkeep.ffi.UploadState

/** Drives and Clips tabs: where each lives, size, length, lock, uploads; pages load as the list scrolls. */
@Composable
fun VideosScreen(vm: VideosViewModel, onOpenDrive: (Long) -> Unit, onOpenClip: (Long) -> Unit) {
    val state by vm.state.collectAsState()
    LaunchedEffect(Unit) { vm.refresh() }
    Column(Modifier.fillMaxSize()) {
        TabRow(selectedTabIndex = state.tab.ordinal) {
            Tab(state.tab == VideosTab.DRIVES, { vm.select(VideosTab.DRIVES) }, text = { Text("Drives (${state.totalDrives})") })
            Tab(state.tab == VideosTab.CLIPS, { vm.select(VideosTab.CLIPS) }, text = { Text("Clips (${state.totalClips})") })
        }
        ErrorBanner(state.error, vm::dismissError, Modifier.padding(8.dp))
        if (state.atRiskCount > 0 && state.tab == VideosTab.DRIVES) {
            Banner(
                "${plural(state.atRiskCount, "drive")} live in one place only and will be overwritten soon.",
                Modifier.padding(8.dp),
            )
        }
        when (state.tab) {
            VideosTab.DRIVES -> if (state.loaded && state.drives.isEmpty()) {
                EmptyState("No drives yet", "Connect to your camera on Home: its drives stream to this phone and appear here.")
            } else {
                val list = rememberLazyListState()
                LoadMoreAt(list, state.drives.size) { vm.loadMore() }
                LazyColumn(Modifier.fillMaxSize().testTag("drives"), state = list) {
                    items(state.drives, key = { it.id }) { DriveItem(it, Modifier.clickable { onOpenDrive(it.id) }) }
                }
            }
            VideosTab.CLIPS -> if (state.clips.isEmpty()) {
                EmptyState("No clips yet", "Hard brakes and collisions make clips by themselves; open a drive to clip any moment.")
            } else {
                val list = rememberLazyListState()
                LoadMoreAt(list, state.clips.size) { vm.loadMoreClips() }
                LazyColumn(Modifier.fillMaxSize().testTag("clips"), state = list) {
                    items(state.clips, key = { it.id }) { ClipItem(it, Modifier.clickable { onOpenClip(it.id) }) }
                }
            }
        }
    }
}

/**
 * Asks for the next page when the last rows come into view (a year of driving loads as it scrolls).
 * It waits for the layout of these `count` rows first: the layout from before a page arrived (an
 * empty list, or the end of the previous page) would otherwise ask for the next page at once, and
 * the list would load two pages where the user asked for one.
 */
@Composable
private fun LoadMoreAt(list: LazyListState, count: Int, loadMore: () -> Unit) {
    LaunchedEffect(list, count) {
        if (count == 0) return@LaunchedEffect
        snapshotFlow { list.layoutInfo }.first { info ->
            info.totalItemsCount == count && (info.visibleItemsInfo.lastOrNull()?.index ?: -1) >= count - 10
        }
        loadMore()
    }
}

@Composable
private fun DriveItem(drive: DriveRow, modifier: Modifier) {
    Column(modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 10.dp).testTag("drive-${drive.id}")) {
        Row(verticalAlignment = Alignment.CenterVertically) {
            Text(dateTime(drive.startedAtMs), style = MaterialTheme.typography.titleMedium, modifier = Modifier.weight(1f))
            if (drive.locked) Text("Locked", style = MaterialTheme.typography.labelMedium, color = MaterialTheme.colorScheme.primary)
        }
        Text(
            "${duration(drive.durationMs)} · ${plural(drive.segments, "segment")} · ${bytes(drive.bytesTotal)}" +
                " (${bytes(drive.bytesOnPhone)} on phone)${lenses(drive.channels)}",
            style = MaterialTheme.typography.bodySmall,
            color = MaterialTheme.colorScheme.onSurfaceVariant,
        )
        Row(Modifier.padding(top = 4.dp), horizontalArrangement = Arrangement.spacedBy(8.dp), verticalAlignment = Alignment.CenterVertically) {
            ResidencyBadges(drive.residencies)
            if (drive.atRisk) Text("At risk", color = MaterialTheme.colorScheme.error, style = MaterialTheme.typography.labelMedium)
        }
    }
    HorizontalDivider()
}

@Composable
private fun ClipItem(clip: ClipRow, modifier: Modifier) {
    Column(modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 10.dp).testTag("clip-${clip.id}")) {
        Text(clip.title, style = MaterialTheme.typography.titleMedium)
        val size = clip.sizeBytes?.let { bytes(it) } ?: "not cut yet"
        Text("${dateTime(clip.createdAtMs)} · ${duration(clip.lengthMs)} · $size", style = MaterialTheme.typography.bodySmall)
        Row(Modifier.padding(top = 4.dp), horizontalArrangement = Arrangement.spacedBy(8.dp), verticalAlignment = Alignment.CenterVertically) {
            ResidencyBadges(clip.residencies)
            Text(uploadLabel(clip.upload, clip.pending), style = MaterialTheme.typography.labelMedium)
        }
        if (clip.upload == UploadState.UPLOADING) {
            LinearProgressIndicator(progress = { clip.uploadFraction }, modifier = Modifier.fillMaxWidth().padding(top = 4.dp))
        }
        clip.uploadError?.let { Text("Upload failed: $it", color = MaterialTheme.colorScheme.error, style = MaterialTheme.typography.bodySmall) }
    }
    HorizontalDivider()
}

/** The upload's state in words. */
fun uploadLabel(upload: UploadState?, pending: Boolean): String = when {
    pending -> "Waiting for the videos"
    upload == null -> "Not uploaded"
    upload == UploadState.QUEUED -> "Upload queued"
    upload == UploadState.UPLOADING -> "Uploading"
    upload == UploadState.UPLOADED -> "In the cloud"
    else -> "Upload failed"
}
