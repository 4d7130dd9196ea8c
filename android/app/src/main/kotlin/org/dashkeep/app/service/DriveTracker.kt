package org.dashkeep.app.service

import org.dashkeep.ffi.CompanionEvent
import org.dashkeep.ffi.ConnectionState
import org.dashkeep.ffi.DisconnectReason

/**
 * What the drive's notification shows and when the service may stop, from the core's events:
 * the camera, the connection's state in words, the segment being copied and its progress. The
 * service stops once the camera left (or the user stopped it) and no segment is in flight.
 */
class DriveTracker(private val serial: String) {
    /** The connection's state in words. */
    var state: String = "Connecting"
        private set

    /** The segment being copied, if any, and its bytes done and total. */
    var progress: Pair<Long, Long>? = null
        private set

    private var inFlight: Long? = null
    private var cameraGone = false

    /** The notification's title. */
    val title: String get() = "Dash cam $serial"

    /** The notification's text. */
    val text: String
        get() = progress?.let { (done, total) -> "$state · copying ${mb(done)} of ${mb(total)} MB" } ?: state

    /** Whether the service should stop now. */
    val finished: Boolean get() = cameraGone && inFlight == null

    /** Takes one event; true when the notification changed. */
    fun onEvent(event: CompanionEvent): Boolean {
        when (event) {
            is CompanionEvent.ConnectionChanged -> onState(event.state)
            is CompanionEvent.SegmentStarted -> {
                inFlight = event.segmentId
                progress = event.resumedFrom.toLong() to event.bytesTotal.toLong()
            }
            is CompanionEvent.SegmentProgress ->
                if (event.segmentId == inFlight) progress = event.bytesDone.toLong() to event.bytesTotal.toLong()
            is CompanionEvent.SegmentStored -> if (event.segmentId == inFlight) doneSegment()
            is CompanionEvent.SegmentFailed -> doneSegment()
            else -> return false
        }
        return true
    }

    private fun doneSegment() {
        inFlight = null
        progress = null
    }

    private fun onState(s: ConnectionState) {
        cameraGone = false
        state = when (s) {
            is ConnectionState.Idle -> "Not connected"
            is ConnectionState.Scanning -> "Looking for the camera"
            is ConnectionState.Pairing, is ConnectionState.Paired -> "Pairing"
            is ConnectionState.BleConnected -> "Connected over Bluetooth"
            is ConnectionState.WifiJoined -> "On the camera's WiFi"
            is ConnectionState.Streaming -> "Copying drives"
            is ConnectionState.Disconnected -> {
                cameraGone = s.reason is DisconnectReason.NotInRange || s.reason is DisconnectReason.Stopped ||
                    s.retryInMs == null
                "Disconnected: ${reason(s.reason)}"
            }
        }
    }

    private companion object {
        fun mb(bytes: Long) = bytes / 1_000_000

        fun reason(r: DisconnectReason): String = when (r) {
            is DisconnectReason.Stopped -> "stopped"
            is DisconnectReason.NotInRange -> "the camera is out of range"
            is DisconnectReason.BleLost -> "Bluetooth dropped"
            is DisconnectReason.WifiJoinFailed -> "could not join the camera's WiFi"
            is DisconnectReason.CameraUnreachable -> "the camera stopped answering"
            is DisconnectReason.Revoked -> "the camera no longer accepts this phone"
            is DisconnectReason.WrongCameraKey, is DisconnectReason.WrongCamera -> "not your camera"
            else -> "see the app"
        }
    }
}
