package org.dashkeep.app.viewmodels

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.dashkeep.ffi.CompanionInterface

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
    /** Pairing comes with the BLE pairing issue; the entry is shown disabled until then. */
    val pairingAvailable: Boolean = false,
    val error: String? = null,
)

/** The Settings screen: quota slider, upload over cellular, pairing. */
class SettingsViewModel(private val companion: CompanionInterface, private val scope: CoroutineScope) {
    /** The slider's range, as the core enforces it. */
    val quotaRange: ClosedFloatingPointRange<Double> = 0.1..0.9

    private val _state = MutableStateFlow(SettingsState(quota = companion.quota()))
    /** The screen's state. */
    val state: StateFlow<SettingsState> = _state.asStateFlow()

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
