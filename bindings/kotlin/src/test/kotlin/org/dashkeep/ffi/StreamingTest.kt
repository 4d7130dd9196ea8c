package org.dashkeep.ffi

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.MethodOrderer
import org.junit.jupiter.api.Order
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.TestMethodOrder

/**
 * The main flow, driven from Kotlin against the simulated camera: stream, list, lock, remove.
 * Later issues append steps here (detect a hard brake, clip through the listener, upload, share,
 * delete, restore) on the same session.
 */
@Order(2)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation::class)
class StreamingTest {
    private lateinit var cam: SimCam
    private lateinit var session: Session
    private val companion get() = session.companion

    @BeforeAll
    fun start() {
        cam = SimCam.start()
        session = Session()
    }

    @AfterAll
    fun stop() {
        session.close()
        cam.close()
    }

    @Test
    @Order(1)
    fun `stream now stores every segment and the listener hears it`() = runBlocking {
        val report = companion.streamNow(cam.url)
        assertTrue(report.listed > 0uL, "the camera listed segments")
        assertEquals(report.listed, report.stored, "everything was stored: $report")
        assertTrue(report.refused.isEmpty())
        session.listener.awaitUntil { events -> events.count { it is CompanionEvent.SegmentStored } >= report.stored.toInt() }
        assertTrue(session.listener.all<CompanionEvent.Connected>().isNotEmpty(), "connection state")
        assertTrue(session.listener.all<CompanionEvent.SegmentStarted>().isNotEmpty())
        assertEquals(report.stored.toInt(), session.listener.all<CompanionEvent.SegmentStored>().size)
    }

    @Test
    @Order(2)
    fun `drives live on the camera and the phone`() = runBlocking {
        val page = companion.drives(0u, 10u)
        assertTrue(page.total >= 1u)
        for (drive in page.drives) {
            assertEquals(listOf(Residency.CAMERA, Residency.PHONE), drive.residencies)
            assertEquals(drive.segments, drive.segmentsOnPhone)
            assertTrue(drive.startedAtMs in 1_700_000_000_000..drive.endedAtMs)
        }
        val segments = companion.driveSegments(page.drives.first().id)
        assertEquals(page.drives.first().segments.toInt(), segments.size)
        for (s in segments) {
            val file = java.io.File(s.phonePath!!)
            assertEquals(s.sizeBytes.toLong(), file.length(), "the phone file is complete")
        }
        // Paging: one at a time.
        val second = companion.drives(1u, 1u)
        assertEquals(page.total, second.total)
        assertTrue(second.drives.size <= 1)
    }

    @Test
    @Order(3)
    fun `status and storage status count what is on the phone`() = runBlocking {
        val status = companion.status()
        assertTrue(status.segmentsOnPhone > 0uL)
        assertEquals(1, status.cameras.size)
        val storage = companion.storageStatus()
        assertEquals(64uL * GIB, storage.budget.volumeTotalBytes, "the app's probe was used")
        assertEquals(32uL * GIB, storage.budget.quotaBytes, "default quota is half")
        assertEquals(status.bytesOnPhone, storage.usage.segmentBytes + storage.usage.telemetryBytes)
        assertTrue(!storage.full)
    }

    @Test
    @Order(4)
    fun `at-risk forecast answers`() = runBlocking {
        val forecast = companion.atRisk(24.0)
        assertEquals(24.0, forecast.horizonHours)
        assertTrue(forecast.bytesPerHour!! > 0.0)
        // Every drive is on two residencies, so nothing lives in one place only.
        assertTrue(forecast.atRisk.isEmpty(), "${forecast.atRisk}")
    }

    @Test
    @Order(5)
    fun `lock and unlock a drive`() = runBlocking {
        val id = companion.drives(0u, 1u).drives.first().id
        companion.lockDrive(id)
        assertTrue(companion.drives(0u, 1u).drives.first().locked)
        companion.unlockDrive(id)
        assertTrue(!companion.drives(0u, 1u).drives.first().locked)
    }

    @Test
    @Order(6)
    fun `removing a drive from the phone leaves it on the camera`() = runBlocking {
        val drive = companion.drives(0u, 1u).drives.first()
        val removed = companion.removeFromPhone(drive.id)
        assertEquals(drive.segmentsOnPhone.toULong(), removed)
        val after = companion.drives(0u, 10u).drives.first { it.id == drive.id }
        assertEquals(listOf(Residency.CAMERA), after.residencies)
        session.listener.awaitUntil { e -> e.any { it is CompanionEvent.PhoneCopyRemoved && it.driveId == drive.id } }
        // Only on the camera now: the forecast may flag it, and streaming does not download
        // again what the user removed.
        companion.atRisk(1_000_000.0)
        val report = companion.streamNow(cam.url)
        assertEquals(0uL, report.stored)
        val again = companion.drives(0u, 10u).drives.first { it.id == drive.id }
        assertEquals(0u, again.segmentsOnPhone)
    }

    @Test
    @Order(7)
    fun `automatic streaming starts and stops`() = runBlocking {
        companion.startStreaming(cam.url)
        assertTrue(companion.isStreaming())
        companion.stopStreaming()
        assertTrue(!companion.isStreaming())
        session.listener.awaitUntil { e -> e.any { it is CompanionEvent.StreamingStopped } }
    }
}
