package org.dashkeep.app.viewmodels

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.dashkeep.ffi.CompanionEvent
import org.dashkeep.ffi.CompanionInterface
import org.dashkeep.ffi.Drive
import org.dashkeep.ffi.Residency

/** The Videos screen's tabs. */
enum class VideosTab { DRIVES, CLIPS }

/** One row of the Drives tab. */
data class DriveRow(
    val id: Long,
    val startedAtMs: Long,
    val durationMs: Long,
    val segments: Int,
    val bytesOnPhone: Long,
    val locked: Boolean,
    /** Badges, in the order camera, phone, cloud. */
    val residencies: List<Residency>,
    /** The core forecasts this drive's only copy will be overwritten soon. */
    val atRisk: Boolean,
)

/** Everything the Videos screen renders. */
data class VideosState(
    val tab: VideosTab = VideosTab.DRIVES,
    val drives: List<DriveRow> = emptyList(),
    val totalDrives: Int = 0,
    /** The warning banner: drives living in one place only that will be overwritten soon. */
    val atRiskCount: Int = 0,
    val loading: Boolean = false,
    val error: String? = null,
)

/**
 * The Videos screen: Drives (paged, with residency badges and the at-risk warning) and Clips.
 * The Clips tab lists nothing until the core has clips (the clips issue adds `companion.clips()`).
 */
class VideosViewModel(
    private val companion: CompanionInterface,
    private val scope: CoroutineScope,
    private val pageSize: Int = 50,
    /** Hours of driving the at-risk warning looks ahead. */
    private val atRiskHorizonHours: Double = 2.0,
) {
    private val _state = MutableStateFlow(VideosState())
    /** The screen's state. */
    val state: StateFlow<VideosState> = _state.asStateFlow()
    private val events: Job = companion.subscribeIn(scope) { e ->
        if (e is CompanionEvent.SegmentStored || e is CompanionEvent.Evicted ||
            e is CompanionEvent.PhoneCopyRemoved || e is CompanionEvent.EventsMissed ||
            e is CompanionEvent.AtRiskChanged
        ) refresh()
    }

    /** Shows a tab. */
    fun select(tab: VideosTab) = _state.update { it.copy(tab = tab) }

    /** Reloads the first page and the at-risk forecast. */
    fun refresh(): Job = scope.launch { load(offset = 0, append = false) }

    /** Loads the next page (end of the list reached). */
    fun loadMore(): Job = scope.launch {
        val s = _state.value
        if (s.drives.size < s.totalDrives) load(offset = s.drives.size, append = true)
    }

    /** Locks or unlocks a drive against the phone's loop recorder. */
    fun setLocked(driveId: Long, locked: Boolean): Job = act {
        if (locked) companion.lockDrive(driveId) else companion.unlockDrive(driveId)
    }

    /** Removes the phone's copy of a drive (the camera keeps its own). */
    fun removeFromPhone(driveId: Long): Job = act { companion.removeFromPhone(driveId) }

    /** Stops listening. */
    fun close() = events.cancel()

    private fun act(block: suspend () -> Unit): Job = scope.launch {
        try {
            block()
            load(offset = 0, append = false)
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        }
    }

    private suspend fun load(offset: Int, append: Boolean) {
        _state.update { it.copy(loading = true) }
        try {
            val page = companion.drives(offset.toUInt(), pageSize.toUInt())
            val atRisk = companion.atRisk(atRiskHorizonHours).atRisk.map { it.driveId }.toSet()
            val rows = page.drives.map { it.toRow(it.id in atRisk) }
            _state.update {
                it.copy(
                    drives = if (append) it.drives + rows else rows,
                    totalDrives = page.total.toInt(),
                    atRiskCount = atRisk.size,
                    loading = false,
                    error = null,
                )
            }
        } catch (e: Exception) {
            _state.update { it.copy(loading = false, error = e.userMessage()) }
        }
    }
}

private fun Drive.toRow(atRisk: Boolean) = DriveRow(
    id = id,
    startedAtMs = startedAtMs,
    durationMs = endedAtMs - startedAtMs,
    segments = segments.toInt(),
    bytesOnPhone = bytesOnPhone.toLong(),
    locked = locked,
    residencies = residencies,
    atRisk = atRisk,
)
