package org.dashkeep.app.platform

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import org.dashkeep.ffi.NetworkKind

/**
 * Tells the core which network the phone's internet uses now (`Companion.setNetwork`), from the
 * system's default-network callback: WiFi or mobile data, metered or not, or none. The camera's
 * WiFi never becomes the default network (it has no internet and is requested, not preferred),
 * so it never counts as the upload network. A transfer the user's policy forbids on the new
 * network stops at once (the core decides).
 */
class NetworkReporter(
    context: Context,
    private val report: (NetworkKind, Boolean) -> Unit,
) {
    private val connectivity = context.getSystemService(ConnectivityManager::class.java)
    private var callback: ConnectivityManager.NetworkCallback? = null

    /** Starts reporting (and reports the current network); idempotent. */
    @Synchronized
    fun start() {
        if (callback != null) return
        val cb = object : ConnectivityManager.NetworkCallback() {
            override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) {
                val (kind, metered) = classify(caps)
                report(kind, metered)
            }

            override fun onLost(network: Network) = report(NetworkKind.NONE, false)
        }
        callback = cb
        val now = connectivity.activeNetwork?.let { connectivity.getNetworkCapabilities(it) }
        if (now == null) report(NetworkKind.NONE, false) else classify(now).let { report(it.first, it.second) }
        connectivity.registerDefaultNetworkCallback(cb)
    }

    /** Stops reporting. */
    @Synchronized
    fun stop() {
        callback?.let { runCatching { connectivity.unregisterNetworkCallback(it) } }
        callback = null
    }

    companion object {
        /** The core's name for a network with these capabilities, and whether it is metered. */
        fun classify(caps: NetworkCapabilities): Pair<NetworkKind, Boolean> {
            val metered = !caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED)
            val kind = when {
                caps.hasTransport(NetworkCapabilities.TRANSPORT_WIFI) ||
                    caps.hasTransport(NetworkCapabilities.TRANSPORT_ETHERNET) ->
                    if (caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)) NetworkKind.WIFI else NetworkKind.CAMERA_WIFI
                caps.hasTransport(NetworkCapabilities.TRANSPORT_CELLULAR) -> NetworkKind.CELLULAR
                else -> if (caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)) NetworkKind.CELLULAR else NetworkKind.NONE
            }
            return kind to metered
        }
    }
}
