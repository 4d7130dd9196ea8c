package org.dashkeep.ffi

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.io.File
import java.net.ServerSocket

/**
 * The app's "Stream now" finds out which protocol a camera speaks without being told: a
 * Novatek-based camera (the simulated one in its Novatek dialect) is streamed through its driver
 * and the report says so; an address where no camera answers is a camera error listing every
 * protocol tried.
 */
class VendorCameraTest {
    @Test
    fun `a Novatek camera is recognised and streamed`() = runBlocking {
        SimCam.start(segmentSecs = 30, extraArgs = listOf("--dialect", "novatek"), open = true).use { cam ->
            Session(testSettings()).use { session ->
                val report = session.companion.streamNow(cam.url)
                assertEquals("novatek", report.cameraProtocol, "the report names the protocol found")
                assertTrue(report.stored > 0uL, "files were stored: $report")
                val drive = session.companion.drives(0u, 10u).drives.first()
                val onPhone = session.companion.driveSegments(drive.id).filter { it.phonePath != null }
                assertTrue(onPhone.isNotEmpty(), "the drive's files are on the phone")
                for (s in onPhone) assertEquals(s.sizeBytes.toLong(), File(s.phonePath!!).length(), "each file is complete")
            }
        }
    }

    @Test
    fun `a two-lens BlackVue drive is one drive whose timeline is the front`() = runBlocking {
        SimCam.start(segmentSecs = 30, extraArgs = listOf("--dialect", "blackvue-1009"), open = true).use { cam ->
            Session(testSettings()).use { session ->
                val report = session.companion.streamNow(cam.url)
                assertEquals("blackvue-1009", report.cameraProtocol, "the report names the protocol found")
                val drives = session.companion.drives(0u, 10u).drives
                assertTrue(drives.isNotEmpty(), "drives were stored: $report")
                for (drive in drives) {
                    assertEquals(listOf(Channel.FRONT, Channel.REAR), drive.channels, "both lenses, front first: $drive")
                    val timeline = session.companion.driveSegments(drive.id)
                    // The player's list is the front's files only: half the drive's files, back to back.
                    assertEquals(drive.segments.toInt(), timeline.size * 2, "front and rear files: $drive")
                    assertEquals((0 until timeline.size).map { it.toUInt() }, timeline.map { it.indexInDrive })
                    assertTrue(timeline.all { it.cameraSegmentId.contains("F_") }, "front files: $timeline")
                }
            }
        }
    }

    @Test
    fun `copied files leave the camera only once the user confirmed`() = runBlocking {
        SimCam.start(segmentSecs = 30, extraArgs = listOf("--dialect", "novatek"), open = true).use { cam ->
            Session(testSettings()).use { session ->
                val c = session.companion
                assertEquals(false, c.deletesFromCamera(), "off by default")
                assertThrows<CompanionException.NotConfirmed> { runBlocking { c.setDeleteFromCamera(true, false) } }
                assertEquals(false, c.deletesFromCamera(), "a refused change changes nothing")
                c.setDeleteFromCamera(true, true)
                val report = c.streamNow(cam.url)
                assertTrue(report.stored > 0uL, "files were stored: $report")
                // Every copied file left the camera but the one the camera locked (the drive's hard brake).
                assertEquals(report.stored - 1uL, report.deletedFromCamera, "verified copies left the camera: $report")
                val again = c.streamNow(cam.url)
                assertEquals(report.listed - report.deletedFromCamera, again.listed, "the card lists what is left: $again")
                assertEquals(0uL, again.deletedFromCamera + again.stored, "nothing more to fetch or delete: $again")
            }
        }
    }

    @Test
    fun `an address where no camera answers lists what was tried`() = runBlocking {
        val port = ServerSocket(0).use { it.localPort }
        Session(testSettings()).use { session ->
            val e = assertThrows<CompanionException.Camera> { runBlocking { session.companion.streamNow("http://127.0.0.1:$port") } }
            for (tried in listOf("dashkeep", "novatek", "blackvue-legacy", "blackvue-1009")) {
                assertTrue(e.detail.contains(tried), "$tried missing from: ${e.detail}")
            }
        }
    }
}
