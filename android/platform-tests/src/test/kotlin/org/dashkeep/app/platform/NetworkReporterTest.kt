package org.dashkeep.app.platform

import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import kotlinx.coroutines.runBlocking
import org.dashkeep.ffi.NetworkKind
import org.dashkeep.ffi.UploadPolicy
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowNetwork
import org.robolectric.shadows.ShadowNetworkCapabilities

/**
 * Network changes reach the real core through `setNetwork` from the default-network callback, and
 * the core's upload policy follows them: WiFi only stops on mobile data and resumes on WiFi.
 */
@RunWith(RobolectricTestRunner::class)
class NetworkReporterTest {
    private val app = RuntimeEnvironment.getApplication()
    private val connectivity = app.getSystemService(ConnectivityManager::class.java)

    @Test
    fun theCoreFollowsTheDefaultNetworkAndItsPolicy() = runBlocking {
        val companion = RealCore.open(cloudRoot = RealCore.tempDir("cloud"))
        companion.setUploadPolicy(UploadPolicy.WIFI_ONLY)
        val reporter = NetworkReporter(app) { kind, metered -> companion.setNetwork(kind, metered) }
        reporter.start()
        val callback = shadowOf(connectivity).networkCallbacks.single()
        val network = ShadowNetwork.newInstance(7)

        callback.onCapabilitiesChanged(network, caps(NetworkCapabilities.TRANSPORT_CELLULAR, unmetered = false))
        companion.cloudStatus().let {
            assertEquals(NetworkKind.CELLULAR, it.network)
            assertTrue(it.metered)
            assertFalse("WiFi only: no uploads on mobile data", it.uploadingAllowed)
        }

        callback.onCapabilitiesChanged(network, caps(NetworkCapabilities.TRANSPORT_WIFI, unmetered = true))
        companion.cloudStatus().let {
            assertEquals(NetworkKind.WIFI, it.network)
            assertTrue("uploads resume on WiFi", it.uploadingAllowed)
        }

        callback.onLost(network)
        assertEquals(NetworkKind.NONE, companion.cloudStatus().network)
        reporter.stop()
        assertTrue(shadowOf(connectivity).networkCallbacks.isEmpty())
        companion.close()
    }

    @Test
    fun theCameraWifiIsNeverAnInternetNetwork() {
        val camera = ShadowNetworkCapabilities.newInstance()
        shadowOf(camera).addTransportType(NetworkCapabilities.TRANSPORT_WIFI)
        shadowOf(camera).removeCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
        assertEquals(NetworkKind.CAMERA_WIFI, NetworkReporter.classify(camera).first)
    }

    private fun caps(transport: Int, unmetered: Boolean): NetworkCapabilities {
        val caps = ShadowNetworkCapabilities.newInstance()
        shadowOf(caps).addTransportType(transport)
        shadowOf(caps).addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
        if (unmetered) shadowOf(caps).addCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED)
        else shadowOf(caps).removeCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED)
        return caps
    }
}
