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

/** The camera link as the Home screen shows it. */
sealed interface ConnectionState {
    /** Not talked to a camera since the app started. */
    data object Idle : ConnectionState
    /** The camera answered. */
    data class Connected(val serial: String) : ConnectionState
    /** The camera stopped answering; the core retries. */
    data class Reconnecting(val reason: String, val retryInMs: Long) : ConnectionState
}

/** The storage bar: what Dashkeep holds against its quota. */
data class StorageBar(
    val quotaFraction: Double,
    val usedBytes: Long,
    val limitBytes: Long,
    val quotaBytes: Long,
    val volumeBytes: Long,
    val full: Boolean,
) {
    /** Share of the quota used, 0..1, for the bar. */
    val usedShare: Float get() = if (limitBytes <= 0) 0f else (usedBytes.toFloat() / limitBytes).coerceIn(0f, 1f)
}

/** One download in progress. */
data class Download(val segmentId: Long, val bytesDone: Long, val bytesTotal: Long) {
    /** 0..1 for a progress bar. */
    val fraction: Float get() = if (bytesTotal <= 0) 0f else bytesDone.toFloat() / bytesTotal
}

/** Everything the Home screen renders. */
data class HomeState(
    val connection: ConnectionState = ConnectionState.Idle,
    val streaming: Boolean = false,
    val busy: Boolean = false,
    val download: Download? = null,
    val segmentsStored: Int = 0,
    val storage: StorageBar? = null,
    val error: String? = null,
)

/**
 * The Home screen: camera connection state, the Stream button, the storage bar. It only maps
 * the core's results and events to [HomeState]; every decision is the core's.
 */
class HomeViewModel(
    private val companion: CompanionInterface,
    private val scope: CoroutineScope,
    private val cameraUrl: () -> String,
) {
    private val _state = MutableStateFlow(HomeState())
    /** The screen's state. */
    val state: StateFlow<HomeState> = _state.asStateFlow()
    private val events: Job = companion.subscribeIn(scope, ::onEvent)

    init {
        refreshStorage()
    }

    /** "Stream now": one pass pulling everything the camera has that the phone lacks. */
    fun streamNow(): Job = scope.launch {
        _state.update { it.copy(busy = true, error = null) }
        try {
            companion.streamNow(cameraUrl())
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        } finally {
            _state.update { it.copy(busy = false, download = null) }
            refreshStorage().join()
        }
    }

    /** Automatic streaming on or off (the switch under the Stream button). */
    fun setAutoStreaming(on: Boolean): Job = scope.launch {
        try {
            if (on) companion.startStreaming(cameraUrl()) else companion.stopStreaming()
            _state.update { it.copy(streaming = companion.isStreaming(), error = null) }
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        }
    }

    /** Re-reads the storage bar. */
    fun refreshStorage(): Job = scope.launch {
        try {
            val s = companion.storageStatus()
            _state.update {
                it.copy(
                    storage = StorageBar(
                        quotaFraction = s.budget.fraction,
                        usedBytes = s.budget.ownedBytes.toLong(),
                        limitBytes = s.budget.limitBytes.toLong(),
                        quotaBytes = s.budget.quotaBytes.toLong(),
                        volumeBytes = s.budget.volumeTotalBytes.toLong(),
                        full = s.full,
                    ),
                )
            }
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        }
    }

    /** Stops listening (the screen's scope ending does the same). */
    fun close() = events.cancel()

    private fun onEvent(event: CompanionEvent) {
        when (event) {
            is CompanionEvent.Connected -> _state.update { it.copy(connection = ConnectionState.Connected(event.serial)) }
            is CompanionEvent.Disconnected -> _state.update {
                it.copy(connection = ConnectionState.Reconnecting(event.reason, event.retryInMs.toLong()))
            }
            is CompanionEvent.SegmentStarted -> _state.update {
                it.copy(download = Download(event.segmentId, event.resumedFrom.toLong(), event.bytesTotal.toLong()))
            }
            is CompanionEvent.SegmentProgress -> _state.update {
                it.copy(download = Download(event.segmentId, event.bytesDone.toLong(), event.bytesTotal.toLong()))
            }
            is CompanionEvent.SegmentStored -> {
                _state.update { it.copy(download = null, segmentsStored = it.segmentsStored + 1) }
            }
            is CompanionEvent.StreamingStopped -> _state.update { it.copy(streaming = false, error = event.error) }
            is CompanionEvent.StorageFull, is CompanionEvent.RoomAvailable, is CompanionEvent.Evicted,
            is CompanionEvent.PhoneCopyRemoved, is CompanionEvent.EventsMissed,
            is CompanionEvent.ClipCreated -> refreshStorage()
            // The Home screen shows neither incidents nor uploads (the Videos and Clip screens do).
            is CompanionEvent.IncidentDetected, is CompanionEvent.Cloud -> Unit
            is CompanionEvent.SegmentFailed -> _state.update { it.copy(error = "${event.cameraSegmentId}: ${event.reason}") }
        }
    }
}
