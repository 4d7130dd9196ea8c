package org.dashkeep.ffi

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Order
import org.junit.jupiter.api.Test

/** An app's own BLE stack (here a Kotlin central over the loopback transport) drives pairing and the connection. */
@Order(4)
class PlatformBleTest {
    @Test
    fun `a Kotlin BLE central pairs, connects and streams, then unpairs`() {
        val blePort = SimCam.freePort()
        val address = "127.0.0.1:$blePort"
        SimCam.start(extraArgs = listOf("--paired-mode", "--pairing-code", "86420975", "--ble-listen", address)).use { cam ->
            Session(testSettings().copy(secretStore = MapSecretStore())).use { s ->
                LoopbackCentral.ADDRESSES.add(address)
                try {
                    runBlocking {
                        val transport = BleTransport.platform(LoopbackCentral())
                        val found = s.companion.scanCameras(transport, 2_000u)
                        assertEquals(listOf(address), found.map { it.address })
                        assertTrue(found.single().name.startsWith("Dashkeep "), found.single().name)
                        val camera = s.companion.pair(transport, address, "86420975")
                        s.companion.connect(camera.serial, transport, RecordingWifi(), true)
                        s.listener.awaitUntil(60_000) { e ->
                            e.any { it is CompanionEvent.ConnectionChanged && it.state is ConnectionState.Streaming } &&
                                e.count { it is CompanionEvent.SegmentStored } >= 3
                        }
                        s.companion.unpair(transport, camera.serial, false)
                        assertEquals(ConnectionState.Disconnected(DisconnectReason.Stopped, null), s.companion.connectionState())
                        assertTrue(s.companion.pairedCameras().isEmpty())
                    }
                } finally {
                    LoopbackCentral.ADDRESSES.remove(address)
                }
            }
        }
    }
}
