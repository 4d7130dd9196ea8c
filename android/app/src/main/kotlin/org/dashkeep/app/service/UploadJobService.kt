package org.dashkeep.app.service

import android.app.job.JobInfo
import android.app.job.JobParameters
import android.app.job.JobScheduler
import android.app.job.JobService
import android.content.ComponentName
import android.content.Context
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch
import org.dashkeep.ffi.CompanionException
import org.dashkeep.ffi.UploadPolicy

/**
 * Uploads that finish after the app closes: the core's upload queue (`runUploadQueue`) runs from
 * a JobScheduler job the system starts when the network allows by the user's policy (WiFi only:
 * an unmetered network; WiFi and cellular: any network), persisted across reboots. The job asks
 * to run again (with the system's backoff) while clips are left.
 */
class UploadJobService : JobService() {
    private var running: Job? = null

    override fun onStartJob(params: JobParameters): Boolean {
        val host = application as DriveHost
        running = host.workScope.launch { jobFinished(params, runQueue(host)) }
        return true
    }

    /** The network left the policy (or the system needs the job gone): the core stops; retry. */
    override fun onStopJob(params: JobParameters): Boolean {
        running?.cancel()
        return true
    }

    companion object {
        /**
         * One run of the job: the core's upload queue, as far as the network allows by the
         * user's policy. True when clips are left (deferred by the policy, or failed): the job
         * asks to run again.
         */
        suspend fun runQueue(host: DriveHost): Boolean = try {
            val report = host.companion()?.runUploadQueue()
            report != null && (report.deferred > 0u || report.failed > 0u)
        } catch (e: CompanionException) {
            true
        }

        /** The upload job's id. */
        const val JOB_ID = 4201

        /** The job for `policy`: the network it needs, persisted. */
        fun jobInfo(context: Context, policy: UploadPolicy): JobInfo {
            val network = when (policy) {
                UploadPolicy.WIFI_ONLY -> JobInfo.NETWORK_TYPE_UNMETERED
                UploadPolicy.WIFI_AND_CELLULAR -> JobInfo.NETWORK_TYPE_ANY
            }
            return JobInfo.Builder(JOB_ID, ComponentName(context, UploadJobService::class.java))
                .setRequiredNetworkType(network)
                .setPersisted(true)
                .build()
        }

        /**
         * Schedules (or reschedules, after the user changed the policy) the upload job; true
         * when the system took it.
         */
        fun schedule(context: Context, policy: UploadPolicy): Boolean {
            val scheduler = context.getSystemService(JobScheduler::class.java)
            return scheduler.schedule(jobInfo(context, policy)) == JobScheduler.RESULT_SUCCESS
        }
    }
}
