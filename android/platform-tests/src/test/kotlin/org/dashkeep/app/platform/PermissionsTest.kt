package org.dashkeep.app.platform

import android.Manifest
import org.dashkeep.app.platform.Permissions.Step
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

/** The runtime permissions each step asks for, by API level, and what this phone still lacks. */
@RunWith(RobolectricTestRunner::class)
class PermissionsTest {
    @Test
    fun bleNeedsNearbyDevicesFrom31AndLocationBefore() {
        val nearby = listOf(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.BLUETOOTH_CONNECT)
        val location = listOf(Manifest.permission.ACCESS_FINE_LOCATION)
        for (sdk in 26..30) assertEquals("API $sdk", location, Permissions.required(Step.CAMERA_BLE, sdk))
        for (sdk in 31..36) assertEquals("API $sdk", nearby, Permissions.required(Step.CAMERA_BLE, sdk))
    }

    @Test
    fun wifiAndTheNotificationNeedRuntimePermissionsFrom33Only() {
        for (sdk in 26..32) {
            assertEquals(emptyList<String>(), Permissions.required(Step.CAMERA_WIFI, sdk))
            assertEquals(emptyList<String>(), Permissions.required(Step.DRIVE_NOTIFICATION, sdk))
        }
        for (sdk in 33..36) {
            assertEquals(listOf(Manifest.permission.NEARBY_WIFI_DEVICES), Permissions.required(Step.CAMERA_WIFI, sdk))
            assertEquals(listOf(Manifest.permission.POST_NOTIFICATIONS), Permissions.required(Step.DRIVE_NOTIFICATION, sdk))
        }
    }

    @Test
    @Config(sdk = [36])
    fun missingListsWhatThisPhoneHasNotGrantedYet() {
        val app = RuntimeEnvironment.getApplication()
        assertEquals(
            listOf(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.BLUETOOTH_CONNECT),
            Permissions.missing(app, Step.CAMERA_BLE),
        )
        shadowOf(app).grantPermissions(Manifest.permission.BLUETOOTH_SCAN)
        assertEquals(listOf(Manifest.permission.BLUETOOTH_CONNECT), Permissions.missing(app, Step.CAMERA_BLE))
        shadowOf(app).grantPermissions(Manifest.permission.BLUETOOTH_CONNECT)
        assertTrue(Permissions.missing(app, Step.CAMERA_BLE).isEmpty())
        assertTrue(Permissions.explanation(Step.CAMERA_BLE).contains("Bluetooth"))
    }
}
