package org.dashkeep.app.viewmodels

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import org.dashkeep.ffi.Channel
import org.dashkeep.ffi.Clip
import org.dashkeep.ffi.ClipReason
import org.dashkeep.ffi.ClipState
import org.dashkeep.ffi.CloudEvent
import org.dashkeep.ffi.CompanionEvent
import org.dashkeep.ffi.CompanionInterface
import org.dashkeep.ffi.Drive
import org.dashkeep.ffi.Residency
import org.dashkeep.ffi.UploadState

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
    val bytesTotal: Long = bytesOnPhone,
    val segmentsOnPhone: Int = 0,
    /** The lenses that recorded it, front first (a two-channel camera: front and rear). */
    val channels: List<Channel> = listOf(Channel.FRONT),
)

/** One row of the Clips tab. */
data class ClipRow(
    val id: Long,
    val title: String,
    val createdAtMs: Long,
    val lengthMs: Long,
    val sizeBytes: Long?,
    val residencies: List<Residency>,
    /** Still waiting for its videos to reach the phone before it is cut. */
    val pending: Boolean,
    val upload: UploadState?,
    val uploadBytesDone: Long,
    val uploadError: String?,
) {
    /** 0..1 for the upload bar, when the size is known. */
    val uploadFraction: Float get() = share(uploadBytesDone, sizeBytes ?: 0)
}

/** Everything the Videos screen renders. */
data class VideosState(
    val tab: VideosTab = VideosTab.DRIVES,
    val drives: List<DriveRow> = emptyList(),
    val totalDrives: Int = 0,
    val clips: List<ClipRow> = emptyList(),
    val totalClips: Int = 0,
    /** The warning banner: drives living in one place only that will be overwritten soon. */
    val atRiskCount: Int = 0,
    val loading: Boolean = false,
    /** The first load finished (so an empty list means "nothing yet", not "loading"). */
    val loaded: Boolean = false,
    val error: String? = null,
)

/** The clip's title from what triggered it. */
fun ClipReason.title(): String = when (this) {
    ClipReason.HARD_BRAKE -> "Hard brake"
    ClipReason.COLLISION -> "Collision"
    ClipReason.CAMERA_LOCKED -> "Locked by the camera"
    ClipReason.MANUAL -> "Manual clip"
}

/**
 * The Videos screen: Drives and Clips, each paged from the core (a year of driving loads a page
 * at a time as the list scrolls), with residency badges, upload progress and the at-risk warning
 * over the core's horizon.
 */
class VideosViewModel(
    private val companion: CompanionInterface,
    private val scope: CoroutineScope,
    private val pageSize: Int = 50,
) {
    private val _state = MutableStateFlow(VideosState())
    /** The screen's state. */
    val state: StateFlow<VideosState> = _state.asStateFlow()
    private val loads = Mutex()
    private var atRiskIds: Set<Long> = emptySet()
    private val events: Job = companion.subscribeIn(scope) { e -> onEvent(e) }

    /** Shows a tab. */
    fun select(tab: VideosTab) = _state.update { it.copy(tab = tab) }

    /** Reloads the first pages and the at-risk forecast. */
    fun refresh(): Job = scope.launch { loadDrives(offset = 0, append = false); loadClips(offset = 0, append = false) }

    /** Loads the next page of drives (the end of the list is near). */
    fun loadMore(): Job = scope.launch {
        val s = _state.value
        if (s.drives.size < s.totalDrives) loadDrives(offset = s.drives.size, append = true)
    }

    /** Loads the next page of clips. */
    fun loadMoreClips(): Job = scope.launch {
        val s = _state.value
        if (s.clips.size < s.totalClips) loadClips(offset = s.clips.size, append = true)
    }

    /** Locks or unlocks a drive against the phone's loop recorder. */
    fun setLocked(driveId: Long, locked: Boolean): Job = act {
        if (locked) companion.lockDrive(driveId) else companion.unlockDrive(driveId)
    }

    /** Removes the phone's copy of a drive (the camera keeps its own). */
    fun removeFromPhone(driveId: Long): Job = act { companion.removeFromPhone(driveId) }

    /** The error was read. */
    fun dismissError() = _state.update { it.copy(error = null) }

    /** Stops listening. */
    fun close() = events.cancel()

    private fun onEvent(e: CompanionEvent) {
        when (e) {
            is CompanionEvent.SegmentStored, is CompanionEvent.Evicted, is CompanionEvent.PhoneCopyRemoved,
            is CompanionEvent.EventsMissed, is CompanionEvent.AtRiskChanged, is CompanionEvent.ClipCreated,
            -> refresh()
            is CompanionEvent.Cloud -> when (val c = e.event) {
                is CloudEvent.UploadProgress -> updateClip(c.clipId) {
                    it.copy(upload = UploadState.UPLOADING, uploadBytesDone = c.bytesDone.toLong())
                }
                is CloudEvent.UploadStateChanged, is CloudEvent.Deleted, is CloudEvent.UploadFailed,
                is CloudEvent.Downloaded -> scope.launch { loadClips(0, append = false) }
                else -> Unit
            }
            else -> Unit
        }
    }

    private fun updateClip(id: Long, f: (ClipRow) -> ClipRow) =
        _state.update { s -> s.copy(clips = s.clips.map { if (it.id == id) f(it) else it }) }

    private fun act(block: suspend () -> Unit): Job = scope.launch {
        try {
            block()
            loadDrives(offset = 0, append = false)
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        }
    }

    private suspend fun loadDrives(offset: Int, append: Boolean) = loads.withLock {
        _state.update { it.copy(loading = true) }
        try {
            val page = companion.drives(offset.toUInt(), pageSize.toUInt())
            // The forecast covers every drive: read it with the first page, reuse it for the next ones.
            if (!append) atRiskIds = companion.atRiskNow().atRisk.map { it.driveId }.toSet()
            val atRisk = atRiskIds
            val rows = page.drives.map { it.toRow(it.id in atRisk) }
            _state.update {
                val drives = if (append) (it.drives + rows).distinctBy { d -> d.id } else rows
                it.copy(drives = drives, totalDrives = page.total.toInt(), atRiskCount = atRisk.size, loading = false, loaded = true)
            }
        } catch (e: Exception) {
            _state.update { it.copy(loading = false, loaded = true, error = e.userMessage()) }
        }
    }

    private suspend fun loadClips(offset: Int, append: Boolean) = loads.withLock {
        try {
            val page = companion.clipPage(offset.toUInt(), pageSize.toUInt())
            val rows = page.clips.filter { it.state != ClipState.DELETED }.map { it.toRow() }
            _state.update {
                val clips = if (append) (it.clips + rows).distinctBy { c -> c.id } else rows
                it.copy(clips = clips, totalClips = page.total.toInt())
            }
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
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
    bytesTotal = bytesTotal.toLong(),
    segmentsOnPhone = segmentsOnPhone.toInt(),
    channels = channels,
)

/** A clip as a row. */
fun Clip.toRow() = ClipRow(
    id = id,
    title = reason.title(),
    createdAtMs = startMs,
    lengthMs = endMs - startMs,
    sizeBytes = sizeBytes?.toLong(),
    residencies = residencies,
    pending = state == ClipState.PENDING,
    upload = uploadState,
    uploadBytesDone = uploadBytesDone.toLong(),
    uploadError = uploadError,
)
