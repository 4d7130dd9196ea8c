package org.dashkeep.app.service

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.os.Build
import android.os.IBinder
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

/**
 * The drive's foreground service (type connectedDevice): while the user drives it owns the core's
 * connection to the camera, so streaming goes on with the screen off or the app in the
 * background. Its ongoing notification shows the camera, the connection's state and the copy's
 * progress, with a Stop action.
 *
 * Started by [connect] (the user pressed Connect, or the paired camera came in range with
 * auto-connect on); stopped by [stop], or by itself once the camera left and no segment is in
 * flight. The camera being driven is remembered, and the service is sticky: if the system kills
 * the process, its restart (a null intent) resumes the same camera, and partial downloads resume
 * where they stopped.
 */
class DriveService : Service() {
    private var work: Job? = null
    private var serial: String? = null

    override fun onBind(intent: Intent?): IBinder? = null

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        when (intent?.action) {
            ACTION_STOP -> {
                finish(userStopped = true)
                return START_NOT_STICKY
            }
            ACTION_CONNECT -> {
                val s = intent.getStringExtra(EXTRA_SERIAL) ?: return stopNow()
                remember(s, intent.getBooleanExtra(EXTRA_AUTO_STREAM, true))
            }
            // A restart after the process was killed: resume the remembered camera.
            else -> if (prefs(this).getString(KEY_SERIAL, null) == null) return stopNow()
        }
        val s = prefs(this).getString(KEY_SERIAL, null) ?: return stopNow()
        val autoStream = prefs(this).getBoolean(KEY_AUTO_STREAM, true)
        val tracker = DriveTracker(s)
        startInForeground(tracker)
        if (serial != s || work?.isActive != true) drive(s, autoStream, tracker)
        return START_STICKY
    }

    override fun onDestroy() {
        work?.cancel()
        super.onDestroy()
    }

    private fun drive(s: String, autoStream: Boolean, tracker: DriveTracker) {
        work?.cancel()
        serial = s
        val host = application as DriveHost
        work = host.workScope.launch {
            val core = host.driveCore() ?: return@launch finish(userStopped = false)
            val events = launch {
                core.events().collect { e ->
                    if (tracker.onEvent(e)) notifyProgress(tracker)
                    if (tracker.finished) finish(userStopped = false)
                }
            }
            try {
                core.connect(s, autoStream)
            } catch (e: Exception) {
                events.cancel()
                finish(userStopped = false)
            }
        }
    }

    /** Ends the drive: disconnects, forgets the camera, leaves the foreground, stops. */
    private fun finish(userStopped: Boolean) {
        prefs(this).edit().clear().commit()
        val host = application as DriveHost
        val running = work
        work = null
        host.workScope.launch {
            host.driveCore()?.disconnect()
            running?.cancel()
        }
        if (userStopped) getSystemService(NotificationManager::class.java).cancel(NOTIFICATION_ID)
        stopForeground(STOP_FOREGROUND_REMOVE)
        stopSelf()
    }

    private fun stopNow(): Int {
        stopSelf()
        return START_NOT_STICKY
    }

    private fun remember(serial: String, autoStream: Boolean) {
        prefs(this).edit().putString(KEY_SERIAL, serial).putBoolean(KEY_AUTO_STREAM, autoStream).commit()
    }

    private fun startInForeground(tracker: DriveTracker) {
        val n = notification(tracker)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) {
            startForeground(NOTIFICATION_ID, n, ServiceInfo.FOREGROUND_SERVICE_TYPE_CONNECTED_DEVICE)
        } else {
            startForeground(NOTIFICATION_ID, n)
        }
    }

    private fun notifyProgress(tracker: DriveTracker) {
        getSystemService(NotificationManager::class.java).notify(NOTIFICATION_ID, notification(tracker))
    }

    private fun notification(tracker: DriveTracker): Notification {
        val manager = getSystemService(NotificationManager::class.java)
        manager.createNotificationChannel(
            NotificationChannel(CHANNEL, "Drive", NotificationManager.IMPORTANCE_LOW),
        )
        val stop = PendingIntent.getService(
            this, 1, Intent(this, DriveService::class.java).setAction(ACTION_STOP),
            PendingIntent.FLAG_IMMUTABLE or PendingIntent.FLAG_UPDATE_CURRENT,
        )
        val builder = Notification.Builder(this, CHANNEL)
            .setSmallIcon(android.R.drawable.stat_sys_download)
            .setContentTitle(tracker.title)
            .setContentText(tracker.text)
            .setOngoing(true)
            .setOnlyAlertOnce(true)
            .addAction(Notification.Action.Builder(null, "Stop", stop).build())
        tracker.progress?.let { (done, total) ->
            val scale = maxOf(1L, total / Int.MAX_VALUE + 1)
            builder.setProgress((total / scale).toInt(), (done / scale).toInt(), false)
        }
        return builder.build()
    }

    companion object {
        const val ACTION_CONNECT = "org.dashkeep.app.action.CONNECT"
        const val ACTION_STOP = "org.dashkeep.app.action.STOP"
        const val EXTRA_SERIAL = "serial"
        const val EXTRA_AUTO_STREAM = "autoStream"
        const val NOTIFICATION_ID = 42
        const val CHANNEL = "drive"
        private const val PREFS = "dashkeep-drive"
        private const val KEY_SERIAL = "serial"
        private const val KEY_AUTO_STREAM = "autoStream"

        private fun prefs(context: Context) = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)

        /** Starts the drive with camera `serial` (from the foreground: the user pressed Connect). */
        fun connect(context: Context, serial: String, autoStream: Boolean = true) {
            val intent = Intent(context, DriveService::class.java)
                .setAction(ACTION_CONNECT)
                .putExtra(EXTRA_SERIAL, serial)
                .putExtra(EXTRA_AUTO_STREAM, autoStream)
            context.startForegroundService(intent)
        }

        /** Stops the drive. */
        fun stop(context: Context) {
            context.startService(Intent(context, DriveService::class.java).setAction(ACTION_STOP))
        }

        /** The camera the service drives, if one is remembered. */
        fun activeSerial(context: Context): String? = prefs(context).getString(KEY_SERIAL, null)
    }
}
