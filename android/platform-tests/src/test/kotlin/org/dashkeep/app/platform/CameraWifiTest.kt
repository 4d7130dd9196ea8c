package org.dashkeep.app.platform

import android.net.ConnectivityManager
import android.net.wifi.WifiManager
import android.os.Build
import android.os.ParcelFileDescriptor
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.yield
import org.dashkeep.ffi.PlatformException
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertSame
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowNetwork
import org.robolectric.util.ReflectionHelpers
import java.io.File

/**
 * The camera's WiFi: the network request, the network the system answers with, its loss and
 * release, and camera sockets bound to that network alone (never the process).
 */
@RunWith(RobolectricTestRunner::class)
class CameraWifiTest {
    private val app = RuntimeEnvironment.getApplication()
    private val connectivity = app.getSystemService(ConnectivityManager::class.java)

    @Test
    fun joinRequestsTheCameraNetworkAndBindsOnlyTheSocketsItIsGiven() = runBlocking {
        val wifi = CameraWifi(app)
        val camera = ShadowNetwork.newInstance(42)
        val join = async { wifi.join("DASHKEEP-1234", "passphrase") }
        yield()
        val requests = shadowOf(connectivity).networkCallbacks
        assertEquals("one network request", 1, requests.size)
        requests.single().onAvailable(camera)
        join.await()
        assertSame(camera, wifi.network)

        withSocket { fd -> wifi.bindSocket(fd) }
        assertEquals("the camera socket is bound to the camera's network", 1, shadowOf(camera).boundSocketCount())
        assertNull("the process is never bound", connectivity.boundNetworkForProcess)

        wifi.leave("DASHKEEP-1234")
        assertTrue("the request is released", shadowOf(connectivity).networkCallbacks.isEmpty())
        assertNull(wifi.network)
    }

    @Test
    fun aLostNetworkRefusesToBindSoCameraSocketsNeverTakeAnotherRoute() = runBlocking {
        val wifi = CameraWifi(app)
        val camera = ShadowNetwork.newInstance(43)
        val join = async { wifi.join("DASHKEEP-1234", "passphrase") }
        yield()
        val callback = shadowOf(connectivity).networkCallbacks.single()
        callback.onAvailable(camera)
        join.await()
        callback.onLost(camera)
        assertNull(wifi.network)
        try {
            withSocket { fd -> wifi.bindSocket(fd) }
            fail("bound to a lost network")
        } catch (e: PlatformException) {
            assertTrue(e.message, e.message!!.contains("not on the camera's WiFi"))
        }
        assertEquals(0, shadowOf(camera).boundSocketCount())
    }

    @Test
    fun aRefusedJoinIsAPlatformError() = runBlocking {
        val wifi = CameraWifi(app)
        val join = async { runCatching { wifi.join("DASHKEEP-1234", "passphrase") } }
        yield()
        shadowOf(connectivity).networkCallbacks.single().onUnavailable()
        val e = join.await().exceptionOrNull()
        assertTrue("$e", e is PlatformException && e.message!!.contains("DASHKEEP-1234"))
    }

    @Test
    fun belowApi29TheNetworkIsAddedTheOldWayAndRemovedOnLeave() = runBlocking {
        val sdk = Build.VERSION.SDK_INT
        ReflectionHelpers.setStaticField(Build.VERSION::class.java, "SDK_INT", 28)
        try {
            val wifiManager = app.getSystemService(WifiManager::class.java)
            val wifi = CameraWifi(app)
            val join = async { wifi.join("DASHKEEP-1234", "passphrase") }
            yield()
            @Suppress("DEPRECATION")
            assertEquals(listOf("\"DASHKEEP-1234\""), wifiManager.configuredNetworks.map { it.SSID })
            shadowOf(connectivity).networkCallbacks.single().onAvailable(ShadowNetwork.newInstance(44))
            join.await()
            wifi.leave("DASHKEEP-1234")
            @Suppress("DEPRECATION")
            assertTrue(wifiManager.configuredNetworks.isEmpty())
        } finally {
            ReflectionHelpers.setStaticField(Build.VERSION::class.java, "SDK_INT", sdk)
        }
    }

    /** Calls `block` with a real descriptor (the shadow network records what it binds). */
    private fun withSocket(block: (Int) -> Unit) {
        val file = File.createTempFile("socket", null)
        ParcelFileDescriptor.open(file, ParcelFileDescriptor.MODE_READ_ONLY).use { pfd -> block(pfd.fd) }
        file.delete()
    }
}
