package org.dashkeep.app.viewmodels

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.dashkeep.ffi.ClipReason
import org.dashkeep.ffi.CloudEvent
import org.dashkeep.ffi.CompanionEvent
import org.dashkeep.ffi.ClipState as CoreClipState
import org.dashkeep.ffi.CompanionInterface
import org.dashkeep.ffi.Residency
import org.dashkeep.ffi.ShareTarget
import org.dashkeep.ffi.UploadState

/**
 * What the Clip screen needs from the core: [CompanionClipSource] in the app; the screen tests
 * use the same class on a real companion.
 */
interface ClipSource {
    /** The clip as the screen shows it. */
    suspend fun clip(id: Long): ClipInfo

    /** What Share hands over: the core decides (the cloud link once uploaded, else the file). */
    suspend fun shareTarget(id: Long): ShareTarget

    /** Deletes the clip everywhere: phone and cloud. */
    suspend fun delete(id: Long)

    /** Calls `onChange` whenever the clip changes (cut, upload progress), until the job ends. */
    fun watch(scope: CoroutineScope, id: Long, onChange: suspend () -> Unit): Job? = null
}

/** The bindings' clips API: `clip` with its incident, `shareTarget`, `deleteClip`. */
class CompanionClipSource(private val companion: CompanionInterface) : ClipSource {
    override suspend fun clip(id: Long): ClipInfo {
        val clip = companion.clip(id)
        val incident = clip.incidentId?.let { iid -> companion.incidents(1000u).firstOrNull { it.id == iid } }
        return ClipInfo(
            id = clip.id,
            title = clip.reason.title(),
            playerPath = clip.phonePath,
            residencies = clip.residencies,
            reason = clip.reason,
            startMs = clip.startMs,
            lengthMs = clip.endMs - clip.startMs,
            sizeBytes = clip.sizeBytes?.toLong(),
            pending = clip.state == CoreClipState.PENDING,
            peakG = incident?.peakG,
            lat = incident?.lat,
            lon = incident?.lon,
            upload = clip.uploadState,
            uploadBytesDone = clip.uploadBytesDone.toLong(),
            uploadError = clip.uploadError,
            driveId = clip.driveId,
        )
    }

    override suspend fun shareTarget(id: Long): ShareTarget = companion.shareTarget(id)

    override suspend fun delete(id: Long) {
        companion.deleteClip(id)
    }

    override fun watch(scope: CoroutineScope, id: Long, onChange: suspend () -> Unit): Job = companion.subscribeIn(scope) { e ->
        val mine = when (e) {
            is CompanionEvent.ClipCreated -> e.clip.id == id
            is CompanionEvent.Cloud -> when (val c = e.event) {
                is CloudEvent.UploadStateChanged -> c.clipId == id
                is CloudEvent.UploadProgress -> c.clipId == id
                is CloudEvent.UploadFailed -> c.clipId == id
                is CloudEvent.Downloaded -> c.clipId == id
                else -> false
            }
            is CompanionEvent.EventsMissed -> true
            else -> false
        }
        if (mine) onChange()
    }
}

/** A clip as the Clip screen shows it. */
data class ClipInfo(
    val id: Long,
    val title: String,
    val playerPath: String?,
    val residencies: List<Residency>,
    val reason: ClipReason = ClipReason.MANUAL,
    val startMs: Long = 0,
    val lengthMs: Long = 0,
    val sizeBytes: Long? = null,
    val pending: Boolean = false,
    /** The incident's peak acceleration, g (incident clips). */
    val peakG: Double? = null,
    val lat: Double? = null,
    val lon: Double? = null,
    val upload: UploadState? = null,
    val uploadBytesDone: Long = 0,
    val uploadError: String? = null,
    val driveId: Long? = null,
)

/** Everything the Clip screen renders. */
data class ClipState(
    val clip: ClipInfo? = null,
    /** The delete confirmation dialog is open; its text says the cloud copy goes for good. */
    val confirmingDelete: Boolean = false,
    val deleted: Boolean = false,
    /** The share sheet opens on this. */
    val share: ShareTarget? = null,
    val error: String? = null,
)

/** The Clip screen: play, what triggered it, Share, Delete (with the warning that it is gone for good). */
class ClipViewModel(private val source: ClipSource, private val scope: CoroutineScope, private val clipId: Long) {
    private val _state = MutableStateFlow(ClipState())
    /** The screen's state. */
    val state: StateFlow<ClipState> = _state.asStateFlow()

    /** The confirmation dialog's text: deleting removes the clip from the cloud for good. */
    val deleteWarning: String
        get() = if (_state.value.clip?.residencies?.contains(Residency.CLOUD) == true) {
            "This removes the clip from this phone and from the cloud for good. Shared links stop working. This cannot be undone."
        } else {
            "This removes the clip from this phone and, if it was uploaded, from the cloud for good. This cannot be undone."
        }

    private var watching: Job? = null

    /** Loads the clip, and follows its changes (cut, upload) until [close]. */
    fun load(): Job {
        if (watching == null) watching = source.watch(scope, clipId) { if (!_state.value.deleted) reload() }
        return scope.launch { reload() }
    }

    private suspend fun reload() = guard { _state.update { it.copy(clip = source.clip(clipId)) } }

    /** Stops following the clip. */
    fun close() {
        watching?.cancel()
    }

    /** Share pressed: the share sheet opens on [ClipState.share]. */
    fun share(): Job = scope.launch { guard { _state.update { it.copy(share = source.shareTarget(clipId), error = null) } } }

    /** The share sheet closed. */
    fun shareShown() = _state.update { it.copy(share = null) }

    /** Delete pressed: only opens the confirmation. */
    fun requestDelete() = _state.update { it.copy(confirmingDelete = true) }

    /** The confirmation was dismissed. */
    fun cancelDelete() = _state.update { it.copy(confirmingDelete = false) }

    /** The error was read. */
    fun dismissError() = _state.update { it.copy(error = null) }

    /** The confirmation was accepted: deletes from the phone and the cloud. */
    fun confirmDelete(): Job = scope.launch {
        if (!_state.value.confirmingDelete) return@launch
        _state.update { it.copy(confirmingDelete = false) }
        guard {
            source.delete(clipId)
            _state.update { it.copy(deleted = true) }
        }
    }

    private suspend fun guard(block: suspend () -> Unit) {
        try {
            block()
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        }
    }
}
