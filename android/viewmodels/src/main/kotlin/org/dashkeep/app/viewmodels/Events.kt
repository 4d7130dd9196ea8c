package org.dashkeep.app.viewmodels

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.launch
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.channels.Channel
import org.dashkeep.ffi.CompanionEvent
import org.dashkeep.ffi.CompanionInterface
import org.dashkeep.ffi.CompanionListener

/**
 * The companion's events as a cold Flow: collecting registers a listener, cancelling the
 * collector cancels the Rust task. The listener is called on a Rust thread and only hands the
 * event over (`trySend` never blocks); the buffer is unbounded so no event is dropped here (the
 * core sends `EventsMissed` if a listener ever falls 1024 events behind).
 */
fun CompanionInterface.events(): Flow<CompanionEvent> = callbackFlow {
    val handle = subscribe(object : CompanionListener {
        override fun onEvent(event: CompanionEvent) {
            trySend(event)
        }
    })
    awaitClose {
        handle.cancel()
        handle.close()
    }
}.buffer(Channel.UNLIMITED)

/**
 * Subscribes now (synchronously, so no event emitted after this call is missed) and handles each
 * event in `scope`, in order, until the returned job is cancelled; then the Rust task is cancelled.
 * View models use this rather than [events], whose subscription starts only when collection does.
 */
fun CompanionInterface.subscribeIn(scope: CoroutineScope, onEvent: suspend (CompanionEvent) -> Unit): Job {
    val channel = Channel<CompanionEvent>(Channel.UNLIMITED)
    val handle = subscribe(object : CompanionListener {
        override fun onEvent(event: CompanionEvent) {
            channel.trySend(event)
        }
    })
    val job = scope.launch { for (event in channel) onEvent(event) }
    job.invokeOnCompletion {
        handle.cancel()
        handle.close()
        channel.close()
    }
    return job
}
