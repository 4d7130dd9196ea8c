package org.dashkeep.app.viewmodels

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.dashkeep.ffi.CompanionEvent
import org.dashkeep.ffi.BleTransport
import org.dashkeep.ffi.CompanionInterface
import org.dashkeep.ffi.DisconnectReason
import org.dashkeep.ffi.WifiJoiner

/** The camera link as the Home screen shows it. */
sealed interface ConnectionState {
    /** Not talked to a camera since the app started. */
    data object Idle : ConnectionState
    /** The camera answered. */
    data class Connected(val serial: String) : ConnectionState
    /** The camera stopped answering; the core retries. */
    data class Reconnecting(val reason: String, val retryInMs: Long) : ConnectionState
    /** The paired camera's connection, as the core's supervisor reports it. */
    data class Link(val state: org.dashkeep.ffi.ConnectionState) : ConnectionState

    /** The status line the Home screen shows. */
    val label: String get() = when (this) {
        Idle -> "Camera: not connected"
        is Connected -> "Camera $serial: connected"
        is Reconnecting -> "Camera: reconnecting ($reason)"
        is Link -> when (val s = state) {
            org.dashkeep.ffi.ConnectionState.Idle -> "Camera: not connected"
            org.dashkeep.ffi.ConnectionState.Scanning -> "Looking for the camera…"
            org.dashkeep.ffi.ConnectionState.Pairing -> "Pairing…"
            is org.dashkeep.ffi.ConnectionState.Paired -> "Paired with ${s.serial}"
            is org.dashkeep.ffi.ConnectionState.BleConnected -> "Camera ${s.serial}: connected over Bluetooth"
            is org.dashkeep.ffi.ConnectionState.WifiJoined -> "Camera ${s.serial}: on its WiFi"
            is org.dashkeep.ffi.ConnectionState.Streaming -> "Camera ${s.serial}: streaming"
            is org.dashkeep.ffi.ConnectionState.Disconnected -> disconnectedLabel(s.reason, s.retryInMs)
        }
    }
}

private fun disconnectedLabel(reason: DisconnectReason, retryInMs: ULong?): String {
    val why = when (reason) {
        DisconnectReason.Stopped -> "stopped"
        DisconnectReason.NotInRange -> "out of range or switched off"
        is DisconnectReason.BleLost -> "Bluetooth lost"
        is DisconnectReason.WifiJoinFailed -> "could not join its WiFi"
        is DisconnectReason.CameraUnreachable -> "not answering"
        DisconnectReason.Revoked -> "the camera no longer knows this phone: pair again"
        DisconnectReason.WrongCameraKey -> "not your camera (wrong key): pair again"
        DisconnectReason.WrongCamera -> "another camera answered: pair again"
    }
    return if (retryInMs != null) "Camera: $why; retrying" else "Camera: $why"
}

/**
 * What connecting to a paired camera needs from the app: its BLE transport (made on demand:
 * `BleTransport.system()` suspends and fails without Bluetooth) and its WiFi joiner.
 */
class CameraLink(val transport: suspend () -> BleTransport, val wifi: WifiJoiner?)

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
    /** Drives living in one place only that will be overwritten soon (a warning banner). */
    val atRiskDrives: Int = 0,
    val error: String? = null,
)

/**
 * The Home screen: camera connection state, the Stream button, the storage bar. It only maps
 * the core's results and events to [HomeState]; every decision is the core's.
 */
class HomeViewModel(
    private val companion: CompanionInterface,
    private val scope: CoroutineScope,
    private val link: CameraLink? = null,
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

    /** Connects to the paired camera `serial` and keeps it connected, streaming automatically. */
    fun connect(serial: String): Job = scope.launch {
        val l = link ?: return@launch _state.update { it.copy(error = "Bluetooth is not available") }
        try {
            companion.connect(serial, l.transport(), l.wifi, true)
            _state.update { it.copy(error = null) }
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        }
    }

    /** Stops the camera connection. */
    fun disconnect(): Job = scope.launch { companion.disconnect() }

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
            is CompanionEvent.ConnectionChanged -> _state.update {
                it.copy(
                    connection = ConnectionState.Link(event.state),
                    streaming = event.state is org.dashkeep.ffi.ConnectionState.Streaming,
                )
            }
            is CompanionEvent.Connected -> _state.update {
                // The paired camera's supervisor says more than ingest does.
                if (it.connection is ConnectionState.Link) it else it.copy(connection = ConnectionState.Connected(event.serial))
            }
            is CompanionEvent.Disconnected -> _state.update {
                if (it.connection is ConnectionState.Link) it
                else it.copy(connection = ConnectionState.Reconnecting(event.reason, event.retryInMs.toLong()))
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
            is CompanionEvent.AtRiskChanged -> _state.update { it.copy(atRiskDrives = event.drives.size) }
            // The Home screen shows neither incidents nor uploads (the Videos and Clip screens do).
            is CompanionEvent.IncidentDetected, is CompanionEvent.Cloud -> Unit
            is CompanionEvent.SegmentFailed -> _state.update { it.copy(error = "${event.cameraSegmentId}: ${event.reason}") }
        }
    }
}
