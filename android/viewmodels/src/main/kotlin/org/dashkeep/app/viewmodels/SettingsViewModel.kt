package org.dashkeep.app.viewmodels

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.dashkeep.ffi.BleDevice
import org.dashkeep.ffi.BleTransport
import org.dashkeep.ffi.CompanionException
import org.dashkeep.ffi.CompanionInterface
import org.dashkeep.ffi.PairedCamera
import org.dashkeep.ffi.PairingErrorKind
import org.dashkeep.ffi.Sensitivity
import org.dashkeep.ffi.SensitivityLevel
import org.dashkeep.ffi.UploadPolicy

/** The cloud account as Settings shows it. */
data class CloudAccount(val backend: String, val account: String, val uploaded: Long, val queued: Long, val stopped: String?)

/** Everything the Settings and Pairing screens render. */
data class SettingsState(
    /** The quota slider's value (the core's default is 0.5). */
    val quota: Double,
    /** The slider's bounds, from the core. */
    val quotaMin: Double = 0.1,
    val quotaMax: Double = 0.9,
    /** The phone's storage, for the slider's bytes. */
    val volumeBytes: Long = 0,
    /** The detector's sensitivity now, and the choices in order (the slider's steps), from the core. */
    val sensitivity: Sensitivity = Sensitivity.NORMAL,
    val sensitivityLevels: List<SensitivityLevel> = emptyList(),
    /** Whether copied files are deleted from the camera's card (the core's setting, off by default). */
    val deleteFromCamera: Boolean = false,
    /** The user asked to turn it on: the confirmation dialog is up. */
    val confirmingDeleteFromCamera: Boolean = false,
    /** What the last quota change evicted, for a snackbar. */
    val lastEvictedCount: Int = 0,
    /** The upload policy, from the core (`null`: no cloud configured). */
    val uploadPolicy: UploadPolicy? = null,
    val cloud: CloudAccount? = null,
    /** Whether the phone can pair (it has a BLE transport). */
    val pairingAvailable: Boolean = false,
    /** A scan is running. */
    val scanning: Boolean = false,
    /** The last scan finished (so "no camera found" can be said). */
    val scanned: Boolean = false,
    /** Cameras found by the last scan. */
    val found: List<BleDevice> = emptyList(),
    /** The paired cameras. */
    val paired: List<PairedCamera> = emptyList(),
    /** A pairing or unpairing is running. */
    val pairing: Boolean = false,
    /** The camera backs off after wrong codes: no new attempt before this (wall-clock ms). */
    val pairBlockedUntilMs: Long = 0,
    /** Seconds left of that wait, ticking (0: the camera takes attempts again). */
    val pairWaitS: Long = 0,
    /** The camera just paired (the Pairing screen's success). */
    val justPaired: PairedCamera? = null,
    val error: String? = null,
) {
    /** The quota in bytes for a slider position. */
    fun quotaBytes(fraction: Double): Long = (volumeBytes * fraction).toLong()
}

/** The Settings screen (quota, upload policy, cloud, paired cameras) and the Pairing screen. */
class SettingsViewModel(
    private val companion: CompanionInterface,
    private val scope: CoroutineScope,
    private val transport: (suspend () -> BleTransport)? = null,
) {
    private val bounds = companion.quotaBounds()

    /** The slider's range, as the core enforces it. */
    val quotaRange: ClosedFloatingPointRange<Double> = bounds.min..bounds.max

    private val _state = MutableStateFlow(
        SettingsState(
            quota = companion.quota(), quotaMin = bounds.min, quotaMax = bounds.max, pairingAvailable = transport != null,
            sensitivity = companion.detectorSensitivity(), sensitivityLevels = companion.sensitivityLevels(),
        ),
    )
    /** The screen's state. */
    val state: StateFlow<SettingsState> = _state.asStateFlow()

    init {
        refresh()
    }

    /** Re-reads the paired cameras, the phone's size, the camera clean-up choice and the cloud. */
    fun refresh(): Job = scope.launch {
        refreshPaired().join()
        runCatching { companion.deletesFromCamera() }.onSuccess { on -> _state.update { it.copy(deleteFromCamera = on) } }
        runCatching { companion.storageStatus() }.onSuccess { s ->
            _state.update { it.copy(volumeBytes = s.budget.volumeTotalBytes.toLong()) }
        }
        refreshCloud()
    }

    private suspend fun refreshCloud() {
        if (!companion.hasCloud()) return
        runCatching { companion.cloudStatus() }
            .onSuccess { c ->
                _state.update {
                    it.copy(
                        uploadPolicy = c.policy,
                        cloud = CloudAccount(c.backend.name.lowercase(), c.account, c.uploaded.toLong(), (c.queued + c.uploading).toLong(), c.stopped),
                    )
                }
            }
            .onFailure { e -> _state.update { it.copy(error = e.userMessage()) } }
    }

    /** Re-reads the paired cameras. */
    fun refreshPaired(): Job = scope.launch {
        runCatching { companion.pairedCameras() }
            .onSuccess { list -> _state.update { it.copy(paired = list) } }
            .onFailure { e -> _state.update { it.copy(error = e.userMessage()) } }
    }

    /** Looks for cameras nearby ("Pair a camera"). */
    fun scan(): Job = scope.launch {
        val t = transport ?: return@launch _state.update { it.copy(error = "Bluetooth is not available on this phone.") }
        _state.update { it.copy(scanning = true, error = null, justPaired = null) }
        runCatching { companion.scanCameras(t(), 5_000uL) }
            .onSuccess { list -> _state.update { it.copy(found = list, scanned = true) } }
            .onFailure { e -> _state.update { it.copy(error = e.userMessage(), scanned = true) } }
        _state.update { it.copy(scanning = false) }
    }

    /** Pairs with the camera at `address` using the code on its screen. */
    fun pair(address: String, code: String): Job = pairingCall { t ->
        val camera = companion.pair(t(), address, code)
        _state.update { it.copy(justPaired = camera, found = emptyList(), pairBlockedUntilMs = 0) }
    }

    /** Unpairs `serial` (the camera revokes this phone). */
    fun unpair(serial: String): Job = pairingCall { t -> companion.unpair(t(), serial, false) }

    /** The error was read. */
    fun dismissError() = _state.update { it.copy(error = null) }

    private fun pairingCall(call: suspend (suspend () -> BleTransport) -> Unit): Job = scope.launch {
        val t = transport ?: return@launch _state.update { it.copy(error = "Bluetooth is not available on this phone.") }
        _state.update { it.copy(pairing = true, error = null) }
        try {
            call(t)
        } catch (e: Exception) {
            val wait = ((e as? CompanionException.Pairing)?.reason as? PairingErrorKind.BackingOff)?.retryAfterMs?.toLong()
            _state.update {
                it.copy(error = e.userMessage(), pairBlockedUntilMs = if (wait != null) System.currentTimeMillis() + wait else 0)
            }
            if (wait != null) countDown(System.currentTimeMillis() + wait, e.userMessage())
        } finally {
            _state.update { it.copy(pairing = false) }
            refreshPaired().join()
        }
    }

    /**
     * Ticks the back-off's seconds in the state (off the screen's frames: the screen only shows
     * them), then takes the back-off's message down.
     */
    private fun countDown(untilMs: Long, message: String) = scope.launch {
        while (true) {
            val left = untilMs - System.currentTimeMillis()
            if (left <= 0) break
            _state.update { it.copy(pairWaitS = seconds(left)) }
            delay(minOf(left, 1_000L - left % 1_000L))
        }
        _state.update { s -> s.copy(pairWaitS = 0, error = if (s.error == message) null else s.error) }
    }

    /** The slider was released at `fraction`; the core validates, persists and evicts. */
    fun setQuota(fraction: Double): Job = scope.launch {
        try {
            val evicted = companion.setQuota(fraction)
            _state.update { it.copy(quota = companion.quota(), lastEvictedCount = evicted.size, error = null) }
        } catch (e: Exception) {
            _state.update { it.copy(quota = companion.quota(), error = e.userMessage()) }
        }
    }

    /** The detector's sensitivity (a step of the slider); the core persists it and detects with it at once. */
    fun setSensitivity(level: Sensitivity): Job = scope.launch {
        try {
            companion.setDetectorSensitivity(level)
            _state.update { it.copy(sensitivity = companion.detectorSensitivity(), error = null) }
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        }
    }

    /**
     * The "Delete from the camera after copying" switch: turning it off applies at once; turning
     * it on first asks the user (the camera's card stops being a second copy of their drives).
     */
    fun toggleDeleteFromCamera(on: Boolean): Job = scope.launch {
        if (on) {
            _state.update { it.copy(confirmingDeleteFromCamera = true) }
        } else {
            applyDeleteFromCamera(on = false, confirmed = false)
        }
    }

    /** The user answered the confirmation: yes turns it on (the core records that they confirmed). */
    fun answerDeleteFromCamera(confirmed: Boolean): Job = scope.launch {
        _state.update { it.copy(confirmingDeleteFromCamera = false) }
        if (confirmed) applyDeleteFromCamera(on = true, confirmed = true)
    }

    private suspend fun applyDeleteFromCamera(on: Boolean, confirmed: Boolean) {
        try {
            companion.setDeleteFromCamera(on, confirmed)
            _state.update { it.copy(deleteFromCamera = companion.deletesFromCamera(), error = null) }
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        }
    }

    /** Upload over WiFi only, or over WiFi and cellular; the core's queue follows it at once. */
    fun setUploadPolicy(policy: UploadPolicy): Job = scope.launch {
        try {
            companion.setUploadPolicy(policy)
            refreshCloud()
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        }
    }
}
