package org.dashkeep.app.ui

import java.nio.file.Files
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import org.dashkeep.app.viewmodels.CameraLink
import org.dashkeep.ffi.BleTransport
import org.dashkeep.ffi.CompanionException
import org.dashkeep.ffi.PairingErrorKind
import org.dashkeep.ffi.NetworkKind
import org.dashkeep.ffi.PairedCamera
import org.dashkeep.ffi.Session
import org.dashkeep.ffi.SimCam
import org.dashkeep.ffi.localCloud
import org.dashkeep.ffi.testSettings

/**
 * What a screen test runs on: the real core (a fresh data directory, a cloud in a local
 * directory, on WiFi) and, unless `camera` is false, the simulated camera in paired mode with its
 * BLE link on loopback.
 */
class Rig(camera: Boolean = true) : AutoCloseable {
    private val cloudDir = Files.createTempDirectory("dashkeep-ui-cloud")
    private val blePort = SimCam.freePort()
    val cam: SimCam? = if (camera) {
        SimCam.start(
            segmentSecs = 30,
            extraArgs = listOf(
                "--paired-mode", "--pairing-code", CODE, "--ble-listen", "127.0.0.1:$blePort",
                "--pairing-backoff-ms", "3000",
            ),
        )
    } else {
        null
    }
    val session = Session(testSettings(localCloud(cloudDir, account = "driver-1")))
    val companion get() = session.companion
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val transport: BleTransport = BleTransport.loopback(listOf("127.0.0.1:$blePort"))
    val platform = DesktopPlatform()

    init {
        companion.setNetwork(NetworkKind.WIFI, false)
    }

    /** A fresh set of the app's view models. */
    fun model(cameraUrl: String? = null) =
        AppModel(companion, scope, CameraLink({ transport }, wifi = null), cameraUrl = cameraUrl?.let { url -> { url } })

    /**
     * A wrong code tried straight through the core (as a second phone would), once the camera
     * takes attempts again: the camera then backs off for at least twice its base (6 s) from now.
     */
    fun wrongAttempt() = runBlocking {
        val address = companion.scanCameras(transport, 5_000uL).single().address
        while (true) {
            val e = runCatching { companion.pair(transport, address, "11112222") }.exceptionOrNull()
            val wait = ((e as? CompanionException.Pairing)?.reason as? PairingErrorKind.BackingOff)?.retryAfterMs ?: break
            Thread.sleep(wait.toLong() + 50)
        }
    }

    /** Pairs, connects and waits for the whole drive on the phone (for screens that need data). */
    fun pairAndStream(): PairedCamera = runBlocking {
        val device = companion.scanCameras(transport, 5_000uL).single()
        val camera = companion.pair(transport, device.address, CODE)
        companion.connect(camera.serial, transport, null, true)
        val deadline = System.currentTimeMillis() + 60_000
        while (true) {
            val drive = companion.drives(0u, 1u).drives.firstOrNull()
            if (drive != null && drive.segmentsOnPhone == drive.segments && drive.segments > 0u) break
            check(System.currentTimeMillis() < deadline) { "the drive did not reach the phone: $drive" }
            Thread.sleep(200)
        }
        companion.cutPendingClips()
        camera
    }

    override fun close() {
        runBlocking { runCatching { companion.disconnect() } }
        scope.cancel()
        session.close()
        cam?.close()
        cloudDir.toFile().deleteRecursively()
    }

    companion object {
        /** The code on the simulated camera's screen. */
        const val CODE = "97531864"
    }
}
