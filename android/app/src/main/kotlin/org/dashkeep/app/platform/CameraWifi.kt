package org.dashkeep.app.platform

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.net.NetworkRequest
import android.net.wifi.WifiNetworkSpecifier
import kotlinx.coroutines.suspendCancellableCoroutine
import org.dashkeep.ffi.PlatformException
import org.dashkeep.ffi.WifiJoiner
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException

/**
 * Joins the camera's WiFi for the core (`WifiJoiner`): a `WifiNetworkSpecifier` request, then the
 * process is bound to that network, because it has no internet and Android would otherwise send
 * the camera's traffic over cellular. `leave` releases the request and unbinds. The passphrase is
 * handed to the system and never logged.
 */
class CameraWifi(context: Context) : WifiJoiner {
    private val connectivity = context.getSystemService(ConnectivityManager::class.java)
    private var callback: ConnectivityManager.NetworkCallback? = null

    override suspend fun join(ssid: String, passphrase: String) {
        release()
        val request = NetworkRequest.Builder()
            .addTransportType(NetworkCapabilities.TRANSPORT_WIFI)
            .removeCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
            .setNetworkSpecifier(WifiNetworkSpecifier.Builder().setSsid(ssid).setWpa2Passphrase(passphrase).build())
            .build()
        val network = suspendCancellableCoroutine<Network> { cont ->
            val cb = object : ConnectivityManager.NetworkCallback() {
                override fun onAvailable(network: Network) {
                    if (cont.isActive) cont.resume(network)
                }
                override fun onUnavailable() {
                    if (cont.isActive) cont.resumeWithException(PlatformException.Failed("the camera's WiFi $ssid was not joined"))
                }
            }
            callback = cb
            // The system shows its "connect to this device?" dialog; a refusal ends in onUnavailable.
            connectivity.requestNetwork(request, cb, JOIN_TIMEOUT_MS)
            cont.invokeOnCancellation { release() }
        }
        connectivity.bindProcessToNetwork(network)
    }

    override suspend fun leave(ssid: String) = release()

    private fun release() {
        connectivity.bindProcessToNetwork(null)
        callback?.let { runCatching { connectivity.unregisterNetworkCallback(it) } }
        callback = null
    }

    private companion object {
        const val JOIN_TIMEOUT_MS = 30_000
    }
}
