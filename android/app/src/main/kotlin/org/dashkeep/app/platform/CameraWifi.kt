package org.dashkeep.app.platform

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.net.NetworkRequest
import android.net.wifi.WifiConfiguration
import android.net.wifi.WifiManager
import android.net.wifi.WifiNetworkSpecifier
import android.os.Build
import android.os.ParcelFileDescriptor
import kotlinx.coroutines.suspendCancellableCoroutine
import org.dashkeep.ffi.CameraNetworkBinder
import org.dashkeep.ffi.PlatformException
import org.dashkeep.ffi.WifiJoiner
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException

/**
 * The camera's WiFi beside the phone's internet. `join` asks the system for the camera's network
 * (a `WifiNetworkSpecifier` request on API 29+: the system's "connect to this device?" dialog,
 * and the phone keeps its internet network; on 26 to 28 the network is added and enabled the old
 * way) and keeps the `Network` it returns. Nothing binds the process: the core hands each of its
 * camera sockets to [bindSocket], which binds that socket alone to the camera's network, so
 * uploads keep cellular or the home WiFi while the drive streams over the camera's WiFi.
 * `leave` releases the request. The passphrase goes to the system and is never logged.
 */
class CameraWifi(context: Context) : WifiJoiner, CameraNetworkBinder {
    private val connectivity = context.getSystemService(ConnectivityManager::class.java)
    private val wifi = context.applicationContext.getSystemService(WifiManager::class.java)
    private var callback: ConnectivityManager.NetworkCallback? = null
    private var legacyId: Int? = null

    /** The joined camera network; null before `join`, after `leave`, or once the system lost it. */
    @Volatile var network: Network? = null
        private set

    override suspend fun join(ssid: String, passphrase: String) {
        release()
        val request = NetworkRequest.Builder()
            .addTransportType(NetworkCapabilities.TRANSPORT_WIFI)
            .removeCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) {
            request.setNetworkSpecifier(
                WifiNetworkSpecifier.Builder().setSsid(ssid).setWpa2Passphrase(passphrase).build(),
            )
        } else {
            legacyId = addLegacy(ssid, passphrase)
        }
        network = suspendCancellableCoroutine { cont ->
            val cb = object : ConnectivityManager.NetworkCallback() {
                override fun onAvailable(network: Network) {
                    if (cont.isActive) cont.resume(network)
                }

                override fun onUnavailable() {
                    if (cont.isActive) cont.resumeWithException(PlatformException.Failed("the camera's WiFi $ssid was not joined"))
                }

                // The camera left or was switched off: camera sockets stop binding (and so
                // fail), and the core reconnects; the request stays until `leave`.
                override fun onLost(network: Network) {
                    if (this@CameraWifi.network == network) this@CameraWifi.network = null
                }
            }
            callback = cb
            connectivity.requestNetwork(request.build(), cb, JOIN_TIMEOUT_MS)
            cont.invokeOnCancellation { release() }
        }
    }

    override suspend fun leave(ssid: String) = release()

    /** Binds one of the core's camera sockets (not yet connected) to the camera's network. */
    override fun bindSocket(fd: Int) {
        val camera = network ?: throw PlatformException.Failed("not on the camera's WiFi")
        // A duplicate of the core's descriptor names the same socket: binding it binds the
        // socket, and closing the duplicate leaves the core's descriptor open.
        try {
            ParcelFileDescriptor.fromFd(fd).use { camera.bindSocket(it.fileDescriptor) }
        } catch (e: java.io.IOException) {
            throw PlatformException.Failed("could not bind a camera socket: ${e.message}")
        }
    }

    private fun release() {
        callback?.let { runCatching { connectivity.unregisterNetworkCallback(it) } }
        callback = null
        network = null
        legacyId?.let { removeLegacy(it) }
        legacyId = null
    }

    /** API 26 to 28: no specifier; the configured network is added and enabled. */
    @Suppress("DEPRECATION")
    private fun addLegacy(ssid: String, passphrase: String): Int {
        val config = WifiConfiguration().apply {
            SSID = "\"$ssid\""
            preSharedKey = "\"$passphrase\""
        }
        val id = wifi.addNetwork(config)
        if (id < 0 || !wifi.enableNetwork(id, true)) {
            throw PlatformException.Failed("the camera's WiFi $ssid could not be added")
        }
        return id
    }

    @Suppress("DEPRECATION")
    private fun removeLegacy(id: Int) {
        runCatching { wifi.removeNetwork(id) }
    }

    private companion object {
        const val JOIN_TIMEOUT_MS = 30_000
    }
}
