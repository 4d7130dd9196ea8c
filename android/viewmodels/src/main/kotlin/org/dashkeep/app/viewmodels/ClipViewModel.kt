package org.dashkeep.app.viewmodels

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.dashkeep.ffi.ClipReason
import org.dashkeep.ffi.CompanionInterface
import org.dashkeep.ffi.Residency

/**
 * What the Clip screen needs from the core: [CompanionClipSource] in the app, a fake in tests.
 */
interface ClipSource {
    /** The clip's player file and where it lives. */
    suspend fun clip(id: Long): ClipInfo

    /** A link or file to hand to the share sheet. */
    suspend fun shareTarget(id: Long): String

    /** Deletes the clip everywhere: phone and cloud. */
    suspend fun delete(id: Long)
}

/**
 * The bindings' clips API: `clip`, `shareClip` (a cloud link once the clip is in the cloud, else
 * the phone's file for the share sheet) and `deleteClip` (phone and cloud).
 */
class CompanionClipSource(private val companion: CompanionInterface) : ClipSource {
    override suspend fun clip(id: Long): ClipInfo {
        val clip = companion.clip(id)
        val title = when (clip.reason) {
            ClipReason.HARD_BRAKE -> "Hard brake"
            ClipReason.COLLISION -> "Collision"
            ClipReason.MANUAL -> "Clip"
        }
        return ClipInfo(clip.id, title, clip.phonePath, clip.residencies)
    }

    override suspend fun shareTarget(id: Long): String {
        val clip = companion.clip(id)
        return if (Residency.CLOUD in clip.residencies) {
            companion.shareClip(id, null)
        } else {
            clip.phonePath ?: error("clip $id is neither on the phone nor in the cloud")
        }
    }

    override suspend fun delete(id: Long) {
        companion.deleteClip(id)
    }
}

/** A clip as the Clip screen shows it. */
data class ClipInfo(val id: Long, val title: String, val playerPath: String?, val residencies: List<Residency>)

/** Everything the Clip screen renders. */
data class ClipState(
    val clip: ClipInfo? = null,
    /** The delete confirmation dialog is open; its text says the cloud copy goes too. */
    val confirmingDelete: Boolean = false,
    val deleted: Boolean = false,
    val share: String? = null,
    val error: String? = null,
)

/** The Clip screen: play, Share, Delete (with a confirmation that it deletes from the cloud too). */
class ClipViewModel(private val source: ClipSource, private val scope: CoroutineScope, private val clipId: Long) {
    private val _state = MutableStateFlow(ClipState())
    /** The screen's state. */
    val state: StateFlow<ClipState> = _state.asStateFlow()

    /** The confirmation dialog's text. */
    val deleteWarning: String
        get() = if (_state.value.clip?.residencies?.contains(Residency.CLOUD) == true) {
            "Delete this clip from this phone and from the cloud? This cannot be undone."
        } else {
            "Delete this clip from this phone? This cannot be undone."
        }

    /** Loads the clip. */
    fun load(): Job = scope.launch { guard { _state.update { it.copy(clip = source.clip(clipId)) } } }

    /** Share pressed: the share sheet opens on [ClipState.share]. */
    fun share(): Job = scope.launch { guard { _state.update { it.copy(share = source.shareTarget(clipId)) } } }

    /** The share sheet closed. */
    fun shareShown() = _state.update { it.copy(share = null) }

    /** Delete pressed: only opens the confirmation. */
    fun requestDelete() = _state.update { it.copy(confirmingDelete = true) }

    /** The confirmation was dismissed. */
    fun cancelDelete() = _state.update { it.copy(confirmingDelete = false) }

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
