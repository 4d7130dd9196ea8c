package org.dashkeep.app.viewmodels

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.dashkeep.ffi.BleDevice
import org.dashkeep.ffi.BleTransport
import org.dashkeep.ffi.CompanionInterface
import org.dashkeep.ffi.PairedCamera

/** Everything the Settings screen renders. */
data class SettingsState(
    /** The quota slider, 0.1..0.9 (the core's default is 0.5). */
    val quota: Double,
    /** What the last quota change evicted, for a snackbar. */
    val lastEvictedCount: Int = 0,
    /**
     * Upload clips over cellular. Kept here until the cloud issue adds the core setting that the
     * upload queue reads; the switch is shown disabled until then.
     */
    val uploadOverCellular: Boolean = false,
    val uploadSettingAvailable: Boolean = false,
    /** Whether the phone can pair (it has a BLE transport). */
    val pairingAvailable: Boolean = false,
    /** Cameras found by the last scan. */
    val found: List<BleDevice> = emptyList(),
    /** The paired cameras. */
    val paired: List<PairedCamera> = emptyList(),
    /** A pairing or unpairing is running. */
    val pairing: Boolean = false,
    val error: String? = null,
)

/** The Settings screen: quota slider, upload over cellular, pairing. */
class SettingsViewModel(
    private val companion: CompanionInterface,
    private val scope: CoroutineScope,
    private val transport: (suspend () -> BleTransport)? = null,
) {
    /** The slider's range, as the core enforces it. */
    val quotaRange: ClosedFloatingPointRange<Double> = 0.1..0.9

    private val _state = MutableStateFlow(SettingsState(quota = companion.quota(), pairingAvailable = transport != null))
    /** The screen's state. */
    val state: StateFlow<SettingsState> = _state.asStateFlow()

    init {
        refreshPaired()
    }

    /** Re-reads the paired cameras. */
    fun refreshPaired(): Job = scope.launch {
        runCatching { companion.pairedCameras() }
            .onSuccess { list -> _state.update { it.copy(paired = list) } }
            .onFailure { e -> _state.update { it.copy(error = e.userMessage()) } }
    }

    /** Looks for cameras nearby ("Pair a camera"). */
    fun scan(): Job = scope.launch {
        val t = transport ?: return@launch
        runCatching { companion.scanCameras(t(), 5_000uL) }
            .onSuccess { list -> _state.update { it.copy(found = list, error = null) } }
            .onFailure { e -> _state.update { it.copy(error = e.userMessage()) } }
    }

    /** Pairs with the camera at `address` using the code on its screen. */
    fun pair(address: String, code: String): Job = pairingCall { t -> companion.pair(t(), address, code) }

    /** Unpairs `serial` (the camera revokes this phone). */
    fun unpair(serial: String): Job = pairingCall { t -> companion.unpair(t(), serial, false) }

    private fun pairingCall(call: suspend (suspend () -> BleTransport) -> Unit): Job = scope.launch {
        val t = transport ?: return@launch
        _state.update { it.copy(pairing = true, error = null) }
        try {
            call(t)
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        } finally {
            _state.update { it.copy(pairing = false) }
            refreshPaired().join()
        }
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
}
