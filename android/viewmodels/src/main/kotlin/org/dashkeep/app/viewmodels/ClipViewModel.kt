package org.dashkeep.app.viewmodels

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.dashkeep.ffi.Residency

/**
 * What the Clip screen needs from the core. The core has no clips yet: the clips and cloud issues
 * add `Companion.clip(id)`, `share_link`, `delete_clip`, and the bindings then implement this
 * interface in one adapter. Until then the app shows no clips (nothing pretends to work).
 */
interface ClipSource {
    /** The clip's player file and where it lives. */
    suspend fun clip(id: Long): ClipInfo

    /** A link or file to hand to the share sheet. */
    suspend fun shareTarget(id: Long): String

    /** Deletes the clip everywhere: phone and cloud. */
    suspend fun delete(id: Long)
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
