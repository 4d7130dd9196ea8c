package org.dashkeep.app.service

import android.app.job.JobInfo
import android.app.job.JobScheduler
import org.dashkeep.ffi.UploadPolicy
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment

/** The upload job's constraints follow the user's upload policy, and rescheduling replaces them. */
@RunWith(RobolectricTestRunner::class)
class UploadJobServiceTest {
    private val app = RuntimeEnvironment.getApplication()
    private val scheduler = app.getSystemService(JobScheduler::class.java)

    @Test
    fun wifiOnlyNeedsAnUnmeteredNetworkAndWifiAndCellularAnyNetwork() {
        assertTrue(UploadJobService.schedule(app, UploadPolicy.WIFI_ONLY))
        val wifiOnly = scheduler.getPendingJob(UploadJobService.JOB_ID)!!
        assertEquals(JobInfo.NETWORK_TYPE_UNMETERED, wifiOnly.networkType)
        assertTrue("survives a reboot", wifiOnly.isPersisted)

        assertTrue(UploadJobService.schedule(app, UploadPolicy.WIFI_AND_CELLULAR))
        assertEquals("one job, replaced", 1, scheduler.allPendingJobs.size)
        assertEquals(JobInfo.NETWORK_TYPE_ANY, scheduler.getPendingJob(UploadJobService.JOB_ID)!!.networkType)
    }
}
