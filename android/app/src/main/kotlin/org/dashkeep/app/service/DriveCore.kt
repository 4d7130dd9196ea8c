package org.dashkeep.app.service

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import org.dashkeep.ffi.BleTransport
import org.dashkeep.ffi.CameraNetworkBinder
import org.dashkeep.ffi.Companion
import org.dashkeep.ffi.CompanionEvent
import org.dashkeep.ffi.CompanionListener
import org.dashkeep.ffi.WifiJoiner

/** What the drive service asks of the core: connect, disconnect, and the live events. */
interface DriveCore {
    /** Connects to the paired camera `serial` and keeps it connected (streaming if `autoStream`). */
    suspend fun connect(serial: String, autoStream: Boolean)

    /** Stops the connection; partial downloads are kept and resume next time. */
    suspend fun disconnect()

    /** The core's events until the collector stops. */
    fun events(): Flow<CompanionEvent>
}

/** What the application gives the service and the upload job (implemented by `DashkeepApp`). */
interface DriveHost {
    /** The scope the service's work runs on (the application's, off the main thread). */
    val workScope: CoroutineScope

    /** The core for the drive, once open; null if it could not open. */
    suspend fun driveCore(): DriveCore?

    /** The core itself, for the upload job; null if it could not open. */
    suspend fun companion(): Companion?
}

/** The real [DriveCore]: the companion, the phone's BLE and the camera's WiFi and network. */
class CompanionDriveCore(
    private val companion: Companion,
    private val transport: suspend () -> BleTransport,
    private val wifi: WifiJoiner?,
    private val network: CameraNetworkBinder?,
) : DriveCore {
    override suspend fun connect(serial: String, autoStream: Boolean) =
        companion.connect(serial, transport(), wifi, autoStream, network)

    override suspend fun disconnect() = companion.disconnect()

    override fun events(): Flow<CompanionEvent> = callbackFlow {
        val handle = companion.subscribe(object : CompanionListener {
            override fun onEvent(event: CompanionEvent) {
                trySend(event)
            }
        })
        awaitClose { handle.cancel(); handle.close() }
    }.buffer(Channel.UNLIMITED)
}
