package org.dashkeep.app.service

import android.app.Application
import android.app.job.JobInfo
import android.app.job.JobScheduler
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.dashkeep.ffi.Companion
import org.dashkeep.ffi.CompanionSettings
import org.dashkeep.ffi.NetworkKind
import org.dashkeep.ffi.SimCam
import org.dashkeep.ffi.UploadPolicy
import org.dashkeep.ffi.UploadState
import org.dashkeep.ffi.openCompanion
import org.dashkeep.ffi.s3Cloud
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import java.io.File

/**
 * The upload job against the real core and the S3-compatible server on loopback: a clip cut from
 * the simulated camera's drive waits while the phone is on cellular and the policy says WiFi
 * only (the job's constraint is an unmetered network, and if the job runs anyway the core keeps
 * the clip and the job asks to run again); on WiFi the job's run puts it in the bucket, byte for
 * byte; with WiFi and cellular the job runs on any network and cellular uploads.
 */
@RunWith(RobolectricTestRunner::class)
@Config(application = UploadJobS3Test.Host::class)
class UploadJobS3Test {
    /** The application as the job sees it: the core, opened by the test. */
    class Host : Application(), DriveHost {
        override val workScope = CoroutineScope(SupervisorJob() + Dispatchers.IO)
        lateinit var core: Companion
        override suspend fun driveCore(): DriveCore? = null
        override suspend fun companion(): Companion = core
    }

    private val app get() = RuntimeEnvironment.getApplication() as Host
    private val scheduler get() = app.getSystemService(JobScheduler::class.java)

    @Test
    fun theJobSendsTheQueueToS3WhenThePolicyAllowsTheNetwork() = runBlocking {
        val cam = SimCam.start(segmentSecs = 30, open = true)
        val dir = Files.createTempDirectory("dashkeep-job")
        // Uploads by the platform: the core starts no worker of its own, so only the job uploads.
        val cloud = s3Cloud("robolectric-job-${System.nanoTime()}").copy(uploadsByPlatform = true)
        // The phone here is the test machine's disk: its free space must not decide the test.
        val settings = CompanionSettings(cloud = cloud, safetyFloorMinBytes = 0uL, safetyFloorFraction = 0.0)
        app.core = openCompanion(dir.toString(), settings)
        val core = app.core
        try {
            core.setUploadPolicy(UploadPolicy.WIFI_ONLY)
            core.setNetwork(NetworkKind.CELLULAR, true)
            core.streamNow(cam.url)
            val drive = core.drives(0u, 1u).drives.first().id
            val clip = core.createClip(drive, 20.0, 40.0)
            core.cutPendingClips()

            assertTrue(UploadJobService.schedule(app, core.cloudStatus().policy))
            assertEquals(JobInfo.NETWORK_TYPE_UNMETERED, scheduler.getPendingJob(UploadJobService.JOB_ID)!!.networkType)
            assertTrue("on cellular with WiFi only, clips are left: run again", UploadJobService.runQueue(app))
            assertNotEquals(UploadState.UPLOADED, core.clip(clip.id).uploadState)

            core.setNetwork(NetworkKind.WIFI, false)
            delay(1_500)
            assertNotEquals("on WiFi, nothing but the job uploads", UploadState.UPLOADED, core.clip(clip.id).uploadState)
            UploadJobService.runQueue(app)
            awaitUploaded(core, clip.id)
            assertFalse("nothing left on WiFi", UploadJobService.runQueue(app))
            val path = core.clip(clip.id).phonePath!!
            val body = HttpClient.newHttpClient()
                .send(HttpRequest.newBuilder(URI(core.shareClip(clip.id, null))).build(), HttpResponse.BodyHandlers.ofByteArray())
            assertEquals(200, body.statusCode())
            assertArrayEquals("the bucket holds the clip, byte for byte", File(path).readBytes(), body.body())

            // WiFi and cellular: the job needs any network, and cellular uploads.
            core.setUploadPolicy(UploadPolicy.WIFI_AND_CELLULAR)
            assertTrue(UploadJobService.schedule(app, core.cloudStatus().policy))
            assertEquals(JobInfo.NETWORK_TYPE_ANY, scheduler.getPendingJob(UploadJobService.JOB_ID)!!.networkType)
            core.setNetwork(NetworkKind.CELLULAR, true)
            val second = core.createClip(drive, 50.0, 60.0)
            core.cutPendingClips()
            delay(1_500)
            assertNotEquals("only the job uploads", UploadState.UPLOADED, core.clip(second.id).uploadState)
            UploadJobService.runQueue(app)
            awaitUploaded(core, second.id)
        } finally {
            core.close()
            cam.close()
            dir.toFile().deleteRecursively()
        }
    }

    /** The job's run ends when the queue did. */
    private suspend fun awaitUploaded(core: Companion, clipId: Long) = withTimeout(60_000) {
        while (core.clip(clipId).uploadState != UploadState.UPLOADED) delay(100)
    }
}
