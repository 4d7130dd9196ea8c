package org.dashkeep.ffi

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertInstanceOf
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Order
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.net.ServerSocket

/** Rust errors and panics reach Kotlin as typed exceptions, never as a JVM crash. */
@Order(3)
class ErrorsTest {
    @Test
    fun `quota round-trips and out-of-range quota is a typed storage error`() = Session().use { s ->
        runBlocking {
            assertEquals(0.5, s.companion.quota())
            assertTrue(s.companion.setQuota(0.3).isEmpty())
            assertEquals(0.3, s.companion.quota())
            assertEquals(0.3, s.companion.storageStatus().budget.fraction)
            val e = assertThrows<CompanionException.Storage> { runBlocking { s.companion.setQuota(0.95) } }
            val reason = assertInstanceOf(StorageErrorKind.QuotaOutOfRange::class.java, e.reason)
            assertEquals(0.95, reason.fraction)
            assertEquals(0.1, reason.min)
            assertEquals(0.9, reason.max)
            assertTrue("0.95" in e.detail, e.detail)
            assertEquals(0.3, s.companion.quota(), "a refused quota changes nothing")
        }
    }

    @Test
    fun `without a Bluetooth adapter the system transport is a typed error, quickly`() {
        val started = System.nanoTime()
        val e = assertThrows<CompanionException.Pairing> { runBlocking { BleTransport.system() } }
        assertEquals(PairingErrorKind.BleLink, e.reason)
        assertTrue(e.detail.startsWith("no Bluetooth adapter"), e.detail)
        assertTrue(System.nanoTime() - started < 10_000_000_000L, "it fails within seconds, not a hang")
    }

    @Test
    fun `a bad camera URL is a typed camera error`() = Session().use { s ->
        val e = assertThrows<CompanionException.Camera> { runBlocking { s.companion.streamNow("ftp://camera") } }
        assertEquals(CameraErrorKind.BadUrl("ftp://camera"), e.reason)
    }

    @Test
    fun `an unreachable camera is a typed camera error`() = Session().use { s ->
        val port = ServerSocket(0).use { it.localPort } // nothing listens there now
        val e = assertThrows<CompanionException.Camera> { runBlocking { s.companion.streamNow("http://127.0.0.1:$port") } }
        assertEquals(CameraErrorKind.Unreachable, e.reason)
    }

    @Test
    fun `an unknown drive is a typed catalog error`() = Session().use { s ->
        val e = assertThrows<CompanionException.Catalog> { runBlocking { s.companion.lockDrive(424242) } }
        assertEquals(CatalogErrorKind.NotFound("drive", 424242), e.reason)
    }

    @Test
    fun `cloud calls without a cloud are a typed cloud error`() = Session().use { s ->
        assertTrue(!s.companion.hasCloud())
        val e = assertThrows<CompanionException.Cloud> { s.companion.setNetwork(NetworkKind.WIFI, false) }
        assertEquals(CloudErrorKind.NotConfigured, e.reason)
        val share = assertThrows<CompanionException.Cloud> { runBlocking { s.companion.shareClip(1, null) } }
        assertEquals(CloudErrorKind.NotConfigured, share.reason)
        runBlocking { assertTrue(s.companion.clips().isEmpty()) }
    }

    @Test
    fun `an invalid cloud account is a typed cloud error`() {
        val dir = java.nio.file.Files.createTempDirectory("dashkeep-bad-cloud")
        try {
            val cloud = CloudSettings(backend = CloudBackendSettings.Local(dir.toString()), account = "../escape")
            val e = assertThrows<CompanionException.Cloud> {
                runBlocking { openCompanion(dir.resolve("data").toString(), testSettings(cloud)) }
            }
            assertEquals(CloudErrorKind.InvalidConfig, e.reason)
        } finally {
            dir.toFile().deleteRecursively()
        }
    }

    @Test
    fun `a data directory opened twice is busy`() = Session().use { s ->
        val e = assertThrows<CompanionException.DataDirBusy> {
            runBlocking { openCompanion(s.dir.toString(), CompanionSettings()) }
        }
        assertEquals(s.dir.toString(), e.path)
    }

    @Test
    fun `a failing storage probe is a typed storage error`() {
        val failing = object : StorageProbe {
            override fun volumeSpace(path: String): VolumeSpace = throw PlatformException.Failed("no volume")
        }
        Session(CompanionSettings(storageProbe = failing)).use { s ->
            val e = assertThrows<CompanionException.Storage> { runBlocking { s.companion.storageStatus() } }
            assertInstanceOf(StorageErrorKind.Io::class.java, e.reason)
            assertTrue("no volume" in e.detail, e.detail)
        }
    }

    @Test
    fun `a panic in a sync export is an exception, not a crash`() {
        LibraryUse.used = true
        val e = assertThrows<InternalException> { debugPanicForTests("boom sync") }
        assertTrue("boom sync" in (e.message ?: ""), e.message)
    }

    @Test
    fun `a panic in an async export is an exception, not a crash`() {
        LibraryUse.used = true
        val e = assertThrows<InternalException> { runBlocking { debugPanicAsyncForTests("boom async") } }
        assertTrue("boom async" in (e.message ?: ""), e.message)
        // The library still works afterwards.
        Session().use { s -> runBlocking { assertEquals(0u, s.companion.drives(0u, 1u).total) } }
    }

    @Test
    fun `a listener that throws stays subscribed and the task handle cancels`() = Session().use { s ->
        SimCam.start(segmentSecs = 60, open = true).use { cam ->
            val heard = java.util.concurrent.atomic.AtomicInteger()
            val throwing = object : CompanionListener {
                override fun onEvent(event: CompanionEvent) {
                    heard.incrementAndGet()
                    throw IllegalStateException("the app's listener is broken")
                }
            }
            val handle = s.companion.subscribe(throwing)
            val report = runBlocking { s.companion.streamNow(cam.url) }
            s.listener.awaitUntil { e -> e.count { it is CompanionEvent.SegmentStored } >= report.stored.toInt() }
            val deadline = System.currentTimeMillis() + 10_000
            while (heard.get() < s.listener.events.size && System.currentTimeMillis() < deadline) Thread.sleep(20)
            assertTrue(heard.get() >= s.listener.events.size, "the throwing listener heard every event")
            assertTrue(!handle.isFinished())
            handle.cancel()
            val until = System.currentTimeMillis() + 5_000
            while (!handle.isFinished() && System.currentTimeMillis() < until) Thread.sleep(10)
            assertTrue(handle.isFinished())
            handle.close()
        }
    }
}
