package org.dashkeep.app.platform

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import org.dashkeep.ffi.Companion as FfiCompanion
import org.dashkeep.ffi.CompanionException

/**
 * The app's one owner of the core: it opens the `Companion` once per process, off the main
 * thread, on the application's scope, and every screen, the drive service and the upload job
 * take it from here (so view models kept by the owner outlive an activity's rotation). A failed
 * open (the data directory busy, a broken catalog) is a [State.Failed] with a message the UI
 * shows, never a crash; [retry] tries again.
 */
class CoreOwner(
    private val scope: CoroutineScope,
    private val open: suspend () -> FfiCompanion,
) {
    /** Where the core is. */
    sealed interface State {
        /** Opening (reconciling the catalog with the files). */
        data object Opening : State
        /** Open: the companion to use. */
        data class Ready(val companion: FfiCompanion) : State
        /** Not open; `message` says why, for the user. */
        data class Failed(val message: String) : State
    }

    private val states = MutableStateFlow<State>(State.Opening)
    private var started = false

    /** The core's state, for the UI. */
    val state: StateFlow<State> = states.asStateFlow()

    /** Starts opening, once per process; later calls do nothing. */
    @Synchronized
    fun start() {
        if (started) return
        started = true
        launchOpen()
    }

    /** Opens again after a failure (the user pressed "Try again"). */
    @Synchronized
    fun retry() {
        if (states.value is State.Failed) launchOpen()
    }

    /** The companion once open, or null if opening failed. */
    suspend fun companion(): FfiCompanion? =
        (state.first { it !is State.Opening } as? State.Ready)?.companion

    private fun launchOpen() {
        states.value = State.Opening
        scope.launch {
            states.value = try {
                State.Ready(open())
            } catch (e: CompanionException) {
                State.Failed(explain(e))
            } catch (e: RuntimeException) {
                State.Failed("Dashkeep could not start: ${e.message ?: e.javaClass.simpleName}")
            } catch (e: UnsatisfiedLinkError) {
                State.Failed("Dashkeep's native library is missing from this build (${e.message})")
            }
        }
    }

    private companion object {
        fun explain(e: CompanionException): String = when (e) {
            is CompanionException.DataDirBusy ->
                "Dashkeep's videos are in use by another copy of the app. Close it and try again."
            else -> "Dashkeep could not open its videos: ${e.message}"
        }
    }
}
