package org.dashkeep.app.service

import android.app.Application
import android.app.Notification
import android.content.Intent
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.receiveAsFlow
import org.dashkeep.ffi.Companion
import org.dashkeep.ffi.CompanionEvent
import org.dashkeep.ffi.ConnectionState
import org.dashkeep.ffi.DisconnectReason
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

/**
 * The drive's foreground service: start, the notification following the core's events, stop by
 * the user or when the camera left with nothing in flight, and the restart after the process was
 * killed. The core here is a recording stand-in (the connection itself is proven against the
 * simulated camera in the bindings' suite); the service, its notification and its rules are real.
 */
@RunWith(RobolectricTestRunner::class)
@Config(application = DriveServiceTest.HostApp::class)
class DriveServiceTest {
    /** An application hosting the drive with a recording core; work runs on the caller's thread. */
    class HostApp : Application(), DriveHost {
        val core = RecordingCore()
        override val workScope = CoroutineScope(SupervisorJob() + Dispatchers.Unconfined)
        override suspend fun driveCore(): DriveCore = core
        override suspend fun companion(): Companion? = null
    }

    /** Records connects and disconnects; the test sends the events. */
    class RecordingCore : DriveCore {
        val calls = mutableListOf<String>()
        val events = Channel<CompanionEvent>(Channel.UNLIMITED)
        override suspend fun connect(serial: String, autoStream: Boolean) { calls += "connect $serial $autoStream" }
        override suspend fun disconnect() { calls += "disconnect" }
        override fun events(): Flow<CompanionEvent> = events.receiveAsFlow()
    }

    private val app get() = RuntimeEnvironment.getApplication() as HostApp

    private fun connectIntent(serial: String) = Intent(app, DriveService::class.java)
        .setAction(DriveService.ACTION_CONNECT).putExtra(DriveService.EXTRA_SERIAL, serial)

    private fun text(n: Notification) = n.extras.getCharSequence(Notification.EXTRA_TEXT).toString()

    @Test
    fun connectStartsInTheForegroundAndTheNotificationFollowsTheDrive() {
        val controller = Robolectric.buildService(DriveService::class.java, connectIntent("DK-1")).create().startCommand(0, 1)
        val service = shadowOf(controller.get())
        assertEquals(listOf("connect DK-1 true"), app.core.calls)
        val first = service.lastForegroundNotification
        assertEquals("Dash cam DK-1", first.extras.getCharSequence(Notification.EXTRA_TITLE).toString())

        app.core.events.trySend(CompanionEvent.ConnectionChanged(ConnectionState.Streaming("DK-1")))
        app.core.events.trySend(CompanionEvent.SegmentStarted(1, 10, 50_000_000u, 0u))
        app.core.events.trySend(CompanionEvent.SegmentProgress(10, 20_000_000u, 50_000_000u))
        val posted = shadowOf(app.getSystemService(android.app.NotificationManager::class.java))
            .getNotification(DriveService.NOTIFICATION_ID)
        assertEquals("Copying drives · copying 20 of 50 MB", text(posted))
        assertEquals(20, posted.extras.getInt(Notification.EXTRA_PROGRESS) * 50 / posted.extras.getInt(Notification.EXTRA_PROGRESS_MAX))
        assertFalse(service.isStoppedBySelf)
    }

    @Test
    fun theCameraLeavingStopsTheServiceOnlyOnceNothingIsInFlight() {
        val controller = Robolectric.buildService(DriveService::class.java, connectIntent("DK-1")).create().startCommand(0, 1)
        val service = shadowOf(controller.get())
        app.core.events.trySend(CompanionEvent.SegmentStarted(1, 10, 1_000u, 0u))
        app.core.events.trySend(CompanionEvent.ConnectionChanged(ConnectionState.Disconnected(DisconnectReason.NotInRange, 5_000u)))
        assertFalse("a segment is still being copied", service.isStoppedBySelf)
        app.core.events.trySend(CompanionEvent.SegmentStored(1, 10, 1_000u))
        assertTrue("camera gone, nothing in flight: stopped", service.isStoppedBySelf)
        assertTrue(service.isForegroundStopped)
        assertEquals(listOf("connect DK-1 true", "disconnect"), app.core.calls)
        assertNull("nothing to resume", DriveService.activeSerial(app))
    }

    @Test
    fun theUserStopsTheDrive() {
        Robolectric.buildService(DriveService::class.java, connectIntent("DK-1")).create().startCommand(0, 1)
        val stop = Intent(app, DriveService::class.java).setAction(DriveService.ACTION_STOP)
        val stopped = Robolectric.buildService(DriveService::class.java, stop).create().startCommand(0, 2)
        assertTrue(shadowOf(stopped.get()).isStoppedBySelf)
        assertEquals("disconnect", app.core.calls.last())
        assertNull(DriveService.activeSerial(app))
    }

    @Test
    fun afterTheProcessIsKilledTheRestartResumesTheSameCamera() {
        val first = Robolectric.buildService(DriveService::class.java, connectIntent("DK-7")).create()
        assertEquals(android.app.Service.START_STICKY, first.get().onStartCommand(connectIntent("DK-7"), 0, 1))
        // The process dies: the service object is gone without onDestroy; the system restarts it
        // with a null intent (START_STICKY).
        app.core.calls.clear()
        val restarted = Robolectric.buildService(DriveService::class.java, null).create()
        restarted.get().onStartCommand(null, android.app.Service.START_FLAG_RETRY, 1)
        assertEquals(listOf("connect DK-7 true"), app.core.calls)
        assertEquals("Dash cam DK-7", shadowOf(restarted.get()).lastForegroundNotification
            .extras.getCharSequence(Notification.EXTRA_TITLE).toString())
    }

    @Test
    fun aRestartWithNothingToResumeStopsAtOnce() {
        val restarted = Robolectric.buildService(DriveService::class.java, null).create()
        assertEquals(android.app.Service.START_NOT_STICKY, restarted.get().onStartCommand(null, 0, 1))
        assertTrue(shadowOf(restarted.get()).isStoppedBySelf)
        assertTrue(app.core.calls.isEmpty())
    }
}
