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
import org.junit.jupiter.api.assertThrows
import java.io.File
import java.net.URI
import java.nio.file.Files
import java.nio.file.Path

/**
 * The main flow, driven from Kotlin against the simulated camera: stream, list, lock, remove,
 * then the hard brake in the demo scenario (95 s) is detected and clipped, the clip is uploaded
 * to a local cloud, shared, deleted, and a second clip is restored on a fresh phone.
 */
@Order(2)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation::class)
class StreamingTest {
    private lateinit var cam: SimCam
    private lateinit var session: Session
    private val companion get() = session.companion
    private val cloudDir: Path = Files.createTempDirectory("dashkeep-cloud")

    @BeforeAll
    fun start() {
        cam = SimCam.start(open = true)
        session = Session(testSettings(cloud = localCloud(cloudDir)))
    }

    @AfterAll
    fun stop() {
        session.close()
        cam.close()
        cloudDir.toFile().deleteRecursively()
    }

    /** The hard brake's clip, once the listener heard it. */
    private lateinit var brakeClip: Clip
    private lateinit var sharedUrl: String

    @Test
    @Order(1)
    fun `stream now stores every segment and the listener hears it`() = runBlocking {
        val report = companion.streamNow(cam.url)
        assertTrue(report.listed > 0uL, "the camera listed segments")
        assertEquals(report.listed, report.stored, "everything was stored: $report")
        assertTrue(report.refused.isEmpty())
        assertEquals("dashkeep", report.cameraProtocol, "the camera was asked which protocol it speaks")
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
        // Only on the camera now: the forecast may flag it. The core does not fetch copies the
        // user removed again by itself (Catalog::segments_missing_on_phone); a clip of the drive
        // does (the restore step below).
        companion.atRisk(1_000_000.0)
        val report = companion.streamNow(cam.url)
        assertEquals(0uL, report.stored, "$report")
        assertEquals(listOf(Residency.CAMERA), companion.drives(0u, 10u).drives.first { it.id == drive.id }.residencies)
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

    @Test
    @Order(8)
    fun `the hard brake is detected and clipped, and the listener hears both`() = runBlocking {
        session.listener.awaitUntil(60_000) { e ->
            e.any { it is CompanionEvent.IncidentDetected } &&
                e.any { it is CompanionEvent.ClipCreated && it.clip.reason == ClipReason.HARD_BRAKE }
        }
        val incident = session.listener.all<CompanionEvent.IncidentDetected>().first().incident
        assertEquals("hard_brake", incident.kind)
        assertTrue(incident.peakG!! > 0.3, "$incident")
        assertTrue(companion.incidents(10u).any { it.id == incident.id })
        val created = session.listener.all<CompanionEvent.ClipCreated>().first { it.clip.reason == ClipReason.HARD_BRAKE }.clip
        assertEquals(ClipState.READY, created.state)
        assertEquals(incident.id, created.incidentId)
        assertTrue(created.startMs <= incident.atMs && incident.atMs < created.endMs)
        brakeClip = companion.clip(created.id)
        assertEquals(created.sizeBytes!!.toLong(), File(brakeClip.phonePath!!).length())
        assertTrue(Residency.PHONE in brakeClip.residencies)
        assertEquals(UploadState.QUEUED, brakeClip.uploadState, "queued: the network is offline")
        assertTrue(companion.clips().any { it.id == brakeClip.id })
        // The phone's own IMU: a car at rest finds nothing.
        val resting = (0 until 50).map { MotionSample(t = 1_700_000_000.0 + it * 0.02, ax = 0.0, ay = 0.0, az = 9.81) }
        assertTrue(companion.pushMotionSamples(resting).isEmpty())
        // "Clip now" needs a drive being recorded; the instant camera has finished its drive.
        try {
            val clip = companion.clipNow(cam.url)
            assertEquals(ClipReason.MANUAL, clip.reason)
        } catch (e: CompanionException.NotRecording) {
            assertTrue(e.detail.isNotEmpty())
        }
    }

    @Test
    @Order(9)
    fun `on wifi the clip goes to the cloud`() = runBlocking {
        assertEquals(NetworkKind.NONE, companion.cloudStatus().network)
        companion.setNetwork(NetworkKind.WIFI, false)
        val report = companion.runUploadQueue()
        assertEquals(0uL, report.failed, "$report")
        session.listener.awaitUntil(60_000) { e ->
            e.any { it is CompanionEvent.Cloud && it.event == CloudEvent.UploadStateChanged(brakeClip.id, UploadState.UPLOADED) }
        }
        val progress = session.listener.all<CompanionEvent.Cloud>().map { it.event }
            .filterIsInstance<CloudEvent.UploadProgress>().filter { it.clipId == brakeClip.id }
        assertTrue(progress.any { it.bytesDone == it.bytesTotal }, "$progress")
        val clip = companion.clips().first { it.id == brakeClip.id }
        assertEquals(listOf(Residency.PHONE, Residency.CLOUD), clip.residencies)
        assertEquals(UploadState.UPLOADED, clip.uploadState)
        assertEquals(clip.sizeBytes, clip.uploadBytesDone)
        val status = companion.cloudStatus()
        assertEquals(CloudBackendKind.LOCAL, status.backend)
        assertEquals("kotlin-test", status.account)
        assertTrue(status.uploadingAllowed)
        assertTrue(status.uploaded >= 1uL, "$status")
        companion.setUploadPolicy(UploadPolicy.WIFI_ONLY)
        assertEquals(UploadPolicy.WIFI_ONLY, companion.cloudStatus().policy)
    }

    @Test
    @Order(10)
    fun `a share link is a file URL to the same bytes`() = runBlocking {
        sharedUrl = companion.shareClip(brakeClip.id, 3600uL)
        assertTrue(sharedUrl.startsWith("file://"), sharedUrl)
        val shared = File(URI(sharedUrl))
        assertTrue(shared.readBytes().contentEquals(File(brakeClip.phonePath!!).readBytes()))
    }

    @Test
    @Order(11)
    fun `share and delete of an unknown clip are typed errors`() {
        val share = assertThrows<CompanionException.Cloud> { runBlocking { companion.shareClip(424242, null) } }
        assertEquals(CloudErrorKind.UnknownClip(424242), share.reason)
        val delete = assertThrows<CompanionException.Catalog> { runBlocking { companion.deleteClip(424242) } }
        assertEquals(CatalogErrorKind.NotFound("clip", 424242), delete.reason)
    }

    @Test
    @Order(12)
    fun `deleting the clip removes it from the phone and the cloud`() = runBlocking {
        val outcome = companion.deleteClip(brakeClip.id)
        assertEquals(DeleteOutcome(removedFromPhone = true, removedFromCloud = true), outcome)
        assertTrue(companion.clips().none { it.id == brakeClip.id })
        assertTrue(!File(URI(sharedUrl)).exists(), "the cloud copy is gone")
        assertTrue(!File(brakeClip.phonePath!!).exists(), "the phone copy is gone")
        session.listener.awaitUntil { e ->
            e.any { it is CompanionEvent.Cloud && it.event == CloudEvent.Deleted(brakeClip.id, true) }
        }
    }

    @Test
    @Order(13)
    fun `a clip uploaded from this phone is restored on a new one`() = runBlocking {
        val drive = companion.drives(0u, 1u).drives.first()
        val clip = companion.createClip(drive.id, 10.0, 20.0)
        assertEquals(ClipReason.MANUAL, clip.reason)
        assertEquals(ClipState.READY, clip.state)
        val original = File(clip.phonePath!!).readBytes()
        companion.uploadNow(clip.id, false)
        assertEquals(UploadState.UPLOADED, companion.clip(clip.id).uploadState)
        // The Clips tab pages: newest first.
        val page = companion.clipPage(0u, 1u)
        val all = companion.clips()
        assertEquals(all.size.toUInt(), page.total)
        assertEquals(listOf(all.first().id), page.clips.map { it.id })
        assertTrue(all.any { it.id == clip.id })
        assertTrue(companion.clipPage(page.total, 10u).clips.isEmpty())

        Session(testSettings(cloud = localCloud(cloudDir))).use { phone ->
            phone.companion.setNetwork(NetworkKind.WIFI, false)
            val sync = phone.companion.syncFromCloud()
            assertEquals(1uL, sync.added, "$sync: the deleted clip never comes back")
            val restored = phone.companion.clips().single()
            assertEquals(listOf(Residency.CLOUD), restored.residencies)
            assertEquals(clip.sha256, restored.sha256)
            assertEquals(clip.startMs, restored.startMs)
            assertEquals(null, restored.phonePath)
            val path = phone.companion.downloadClip(restored.id)
            assertTrue(File(path).readBytes().contentEquals(original), "the downloaded bytes are the clip's")
            assertEquals(listOf(Residency.PHONE, Residency.CLOUD), phone.companion.clip(restored.id).residencies)
            phone.listener.awaitUntil { e ->
                e.any { it is CompanionEvent.Cloud && it.event == CloudEvent.Downloaded(restored.id) }
            }
        }
    }
}
