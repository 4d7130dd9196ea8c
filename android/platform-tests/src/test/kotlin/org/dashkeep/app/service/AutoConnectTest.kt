package org.dashkeep.app.service

import android.app.Application
import android.bluetooth.BluetoothAdapter
import android.bluetooth.le.BluetoothLeScanner
import android.os.ParcelUuid
import java.util.UUID
import org.dashkeep.app.platform.AndroidBleCentralTest
import org.dashkeep.ffi.cameraServiceUuid
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

/**
 * Auto-connect: turned on for the paired camera, a background (PendingIntent) scan filtered on
 * the core's camera service runs; when the system reports a camera in range, the receiver starts
 * the drive's foreground service for the paired camera, and only when auto-connect is on and no
 * drive runs already. Turned off, the scan stops.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [36])
class AutoConnectTest {
    private lateinit var app: Application
    private lateinit var adapter: BluetoothAdapter

    @Before
    fun setUp() {
        app = RuntimeEnvironment.getApplication()
        adapter = AndroidBleCentralTest.bluetoothOn(app)
    }

    @Test
    fun aCameraInRangeStartsTheDriveForThePairedCameraWhenAutoConnectIsOn() {
        val auto = AutoConnect(app)
        assertFalse("off: nothing starts", CameraInRangeReceiver.startDrive(app))
        assertNull(shadowOf(app).nextStartedService)

        assertTrue(auto.enable("DK-7"))
        val scanner = shadowOf(adapter.bluetoothLeScanner)
        val scan = scanner.activeScans.single()
        assertNotNull("a background scan the system runs for the app", scan.pendingIntent())
        assertEquals(ParcelUuid.fromString(cameraServiceUuid()), scan.scanFilters().single().serviceUuid)

        // The system delivers the scan's result to the receiver.
        val camera = AndroidBleCentralTest.advertisement("AA:BB:CC:00:11:22", UUID.fromString(cameraServiceUuid()), "Dashkeep DK-7")
        val delivered = shadowOf(scan.pendingIntent()).savedIntent
            .putParcelableArrayListExtra(BluetoothLeScanner.EXTRA_LIST_SCAN_RESULT, arrayListOf(camera))
        CameraInRangeReceiver().onReceive(app, delivered)
        val started = shadowOf(app).nextStartedService
        assertEquals(DriveService::class.java.name, started.component!!.className)
        assertEquals(DriveService.ACTION_CONNECT, started.action)
        assertEquals("DK-7", started.getStringExtra(DriveService.EXTRA_SERIAL))

        // A scan error starts nothing.
        CameraInRangeReceiver().onReceive(app, shadowOf(scan.pendingIntent()).savedIntent.putExtra(BluetoothLeScanner.EXTRA_ERROR_CODE, 2))
        assertNull(shadowOf(app).nextStartedService)

        auto.disable()
        assertTrue("off: the background scan stops", scanner.activeScans.isEmpty())
        assertFalse(CameraInRangeReceiver.startDrive(app))
    }
}
