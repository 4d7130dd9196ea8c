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
    data class Reconnecting(val reason: String, val retryInMs: Long, val retryAtMs: Long = 0) : ConnectionState
    /** The paired camera's connection, as the core's supervisor reports it. */
    data class Link(val state: org.dashkeep.ffi.ConnectionState, val retryAtMs: Long? = null) : ConnectionState

    /**
     * Whether the core is keeping a camera connected (connecting, connected, or retrying): Home
     * then offers Disconnect, otherwise Connect; never both.
     */
    val wanted: Boolean get() = when (this) {
        Idle -> false
        is Connected, is Reconnecting -> true
        is Link -> when (val s = state) {
            org.dashkeep.ffi.ConnectionState.Idle, org.dashkeep.ffi.ConnectionState.Pairing,
            is org.dashkeep.ffi.ConnectionState.Paired -> false
            is org.dashkeep.ffi.ConnectionState.Disconnected -> s.retryInMs != null
            else -> true
        }
    }

    /** The status line the Home screen shows. */
    val label: String get() = when (this) {
        Idle -> "Camera: not connected"
        is Connected -> "Camera $serial: connected"
        is Reconnecting -> "Camera: not answering ($reason)"
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

/** When the core retries next (wall-clock ms), if it does: the Home screen counts down to it. */
fun ConnectionState.retryAtMs(): Long? = when (this) {
    is ConnectionState.Reconnecting -> retryAtMs
    is ConnectionState.Link -> retryAtMs
    else -> null
}

/**
 * What connecting to a paired camera needs from the app: its BLE transport (made on demand:
 * `BleTransport.system()` suspends and fails without Bluetooth) and its WiFi joiner.
 */
class CameraLink(val transport: suspend () -> BleTransport, val wifi: WifiJoiner?)

/** The storage bar: what Dashkeep holds against its quota, by kind, and each camera's SD card. */
data class StorageBar(
    val quotaFraction: Double,
    val usedBytes: Long,
    val limitBytes: Long,
    val quotaBytes: Long,
    val volumeBytes: Long,
    val full: Boolean,
    /** The pause is the phone's own free space, not the quota: free space on the phone. */
    val phoneFull: Boolean = false,
    val driveBytes: Long = 0,
    val clipBytes: Long = 0,
    val freeQuotaBytes: Long = 0,
    val cameras: List<SdCard> = emptyList(),
) {
    /** Share of the quota used, 0..1, for the bar. */
    val usedShare: Float get() = share(usedBytes, limitBytes)

    /** Share of the quota the drives take, 0..1. */
    val driveShare: Float get() = share(driveBytes, limitBytes)

    /** Share of the quota the clips take, 0..1. */
    val clipShare: Float get() = share(clipBytes, limitBytes)
}

/** A camera's SD card as the Home screen's second bar shows it. */
data class SdCard(val serial: String, val model: String, val usedBytes: Long, val capacityBytes: Long) {
    /** 0..1 for the bar. */
    val usedShare: Float get() = share(usedBytes, capacityBytes)
}

internal fun share(part: Long, whole: Long): Float = if (whole <= 0) 0f else (part.toFloat() / whole).coerceIn(0f, 1f)

/** One download in progress. */
data class Download(val segmentId: Long, val bytesDone: Long, val bytesTotal: Long) {
    /** 0..1 for a progress bar. */
    val fraction: Float get() = share(bytesDone, bytesTotal)
}

/** The newest incident, for the Home screen's card. */
data class LastIncident(val kind: String, val atMs: Long, val peakG: Double?, val driveId: Long?)

/** Everything the Home screen renders. */
data class HomeState(
    val connection: ConnectionState = ConnectionState.Idle,
    /** The first read of the paired cameras finished (until then Home shows no buttons). */
    val loaded: Boolean = false,
    /** Connect was pressed and the core has not reported a state since. */
    val connecting: Boolean = false,
    val streaming: Boolean = false,
    val busy: Boolean = false,
    /** The segment downloading now (the newest progress), kept for the old single bar. */
    val download: Download? = null,
    /** Every segment in flight, by segment id, each with its own progress. */
    val downloads: List<Download> = emptyList(),
    val segmentsStored: Int = 0,
    val storage: StorageBar? = null,
    /** Drives living in one place only that will be overwritten soon (a warning banner). */
    val atRiskDrives: Int = 0,
    /** The soonest of those overwrites, in hours of driving. */
    val atRiskHours: Double? = null,
    /** The paired camera Connect talks to; `null`: Stream (by the camera's WiFi address). */
    val pairedSerial: String? = null,
    val lastIncident: LastIncident? = null,
    val error: String? = null,
) {
    /** Whether Home offers Disconnect (a connection is kept or being made) rather than Connect. */
    val showsDisconnect: Boolean get() = connecting || connection.wanted
}

/**
 * The Home screen: camera connection state, Connect or Stream, per-segment progress, the storage
 * and SD bars, the at-risk banner and the last incident. It only maps the core's results and
 * events to [HomeState]; every decision (the camera's address, the at-risk horizon) is the core's.
 */
class HomeViewModel(
    private val companion: CompanionInterface,
    private val scope: CoroutineScope,
    private val link: CameraLink? = null,
    private val cameraUrl: suspend () -> String = { companion.cameraUrl() },
) {
    // The connection's state now (a cheap read of the core's latest), so the first frame is right.
    private val _state = MutableStateFlow(HomeState(connection = ConnectionState.Link(companion.connectionState())))
    /** The screen's state. */
    val state: StateFlow<HomeState> = _state.asStateFlow()
    private val events: Job = companion.subscribeIn(scope, ::onEvent)

    init {
        refresh()
    }

    /** Re-reads everything the screen shows (opening it, and after `EventsMissed`). */
    fun refresh(): Job = scope.launch {
        // First what decides the buttons (Connect, or Stream and Pair), then the rest.
        guard {
            val paired = companion.pairedCameras().firstOrNull()?.serial
            val link = ConnectionState.Link(companion.connectionState())
            _state.update {
                // "Stream now" reports its own link (Connected / Reconnecting); keep that.
                it.copy(pairedSerial = paired, connection = if (it.connection is ConnectionState.Link) link else it.connection)
            }
        }
        _state.update { it.copy(loaded = true) }
        refreshStorage().join()
        guard {
            val risk = companion.atRiskNow().atRisk
            val incident = companion.incidents(1u).firstOrNull()
            _state.update {
                it.copy(
                    atRiskDrives = risk.size,
                    atRiskHours = risk.minOfOrNull { d -> d.hoursUntilOverwrite },
                    lastIncident = incident?.let { i -> LastIncident(i.kind, i.atMs, i.peakG, i.driveId) },
                )
            }
        }
    }

    /** "Stream now": one pass pulling everything the camera has that the phone lacks. */
    fun streamNow(): Job = scope.launch {
        _state.update { it.copy(busy = true, error = null) }
        try {
            companion.streamNow(cameraUrl())
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        } finally {
            _state.update { it.copy(busy = false, download = null, downloads = emptyList()) }
            refreshStorage().join()
        }
    }

    /** Automatic streaming on or off (the switch under the Stream button). */
    fun setAutoStreaming(on: Boolean): Job = scope.launch {
        guard {
            if (on) companion.startStreaming(cameraUrl()) else companion.stopStreaming()
            _state.update { it.copy(streaming = companion.isStreaming(), error = null) }
        }
    }

    /** Connects to the paired camera `serial` and keeps it connected, streaming automatically. */
    fun connect(serial: String): Job = scope.launch {
        val l = link ?: return@launch _state.update { it.copy(error = "Bluetooth is not available on this phone.") }
        _state.update { it.copy(connecting = true, error = null) }
        try {
            companion.connect(serial, l.transport(), l.wifi, true)
        } catch (e: Exception) {
            _state.update { it.copy(connecting = false, error = e.userMessage()) }
        }
    }

    /** Stops the camera connection. */
    fun disconnect(): Job = scope.launch {
        _state.update { it.copy(connecting = false) }
        guard { companion.disconnect() }
        _state.update { it.copy(connection = ConnectionState.Link(companion.connectionState())) }
    }

    /** The error was read. */
    fun dismissError() = _state.update { it.copy(error = null) }

    /** Re-reads the storage bar. */
    fun refreshStorage(): Job = scope.launch {
        guard {
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
                        phoneFull = s.phoneFull,
                        driveBytes = (s.usage.segmentBytes + s.usage.telemetryBytes).toLong(),
                        clipBytes = s.usage.clipBytes.toLong(),
                        freeQuotaBytes = s.freeQuotaBytes.toLong(),
                        cameras = s.cameras.map { c ->
                            SdCard(c.serial, c.model, c.sdUsedBytes.toLong(), c.sdCapacityBytes.toLong())
                        },
                    ),
                )
            }
        }
    }

    /** Stops listening (the screen's scope ending does the same). */
    fun close() = events.cancel()

    private suspend fun guard(block: suspend () -> Unit) {
        try {
            block()
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        }
    }

    private fun progress(d: Download) = _state.update {
        it.copy(download = d, downloads = (it.downloads.filter { x -> x.segmentId != d.segmentId } + d).sortedBy { x -> x.segmentId })
    }

    private fun onEvent(event: CompanionEvent) {
        when (event) {
            is CompanionEvent.ConnectionChanged -> _state.update {
                it.copy(
                    connection = ConnectionState.Link(event.state, retryAt(event.state)),
                    connecting = false,
                    streaming = event.state is org.dashkeep.ffi.ConnectionState.Streaming,
                )
            }
            is CompanionEvent.Connected -> _state.update {
                // The paired camera's supervisor says more than ingest does.
                if (it.connection is ConnectionState.Link && it.connection.wanted) it else it.copy(connection = ConnectionState.Connected(event.serial))
            }
            is CompanionEvent.Disconnected -> _state.update {
                if (it.connection is ConnectionState.Link && it.connection.wanted) it
                else it.copy(
                    connection = ConnectionState.Reconnecting(
                        event.reason, event.retryInMs.toLong(), System.currentTimeMillis() + event.retryInMs.toLong(),
                    ),
                )
            }
            is CompanionEvent.SegmentStarted -> progress(Download(event.segmentId, event.resumedFrom.toLong(), event.bytesTotal.toLong()))
            is CompanionEvent.SegmentProgress -> progress(Download(event.segmentId, event.bytesDone.toLong(), event.bytesTotal.toLong()))
            is CompanionEvent.SegmentStored -> {
                _state.update {
                    val left = it.downloads.filter { d -> d.segmentId != event.segmentId }
                    it.copy(download = left.lastOrNull(), downloads = left, segmentsStored = it.segmentsStored + 1)
                }
                refreshStorage()
            }
            is CompanionEvent.StreamingStopped -> _state.update {
                it.copy(streaming = false, downloads = emptyList(), download = null, error = event.error?.let { e -> "Streaming stopped: $e" })
            }
            is CompanionEvent.EventsMissed -> refresh()
            is CompanionEvent.StorageFull, is CompanionEvent.RoomAvailable, is CompanionEvent.Evicted,
            is CompanionEvent.PhoneCopyRemoved, is CompanionEvent.ClipCreated -> refreshStorage()
            is CompanionEvent.AtRiskChanged -> _state.update {
                it.copy(atRiskDrives = event.drives.size, atRiskHours = event.drives.minOfOrNull { d -> d.hoursUntilOverwrite })
            }
            is CompanionEvent.IncidentDetected -> _state.update {
                val i = event.incident
                it.copy(lastIncident = LastIncident(i.kind, i.atMs, i.peakG, i.driveId))
            }
            is CompanionEvent.Cloud -> Unit
            is CompanionEvent.SegmentFailed -> _state.update {
                it.copy(error = "Segment ${event.cameraSegmentId} failed: ${event.reason}. It will be fetched again.")
            }
        }
    }

    private fun retryAt(s: org.dashkeep.ffi.ConnectionState): Long? =
        (s as? org.dashkeep.ffi.ConnectionState.Disconnected)?.retryInMs?.let { System.currentTimeMillis() + it.toLong() }
}
