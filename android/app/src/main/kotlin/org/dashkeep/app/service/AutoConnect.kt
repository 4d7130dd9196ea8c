package org.dashkeep.app.service

import android.annotation.SuppressLint
import android.app.PendingIntent
import android.bluetooth.BluetoothManager
import android.bluetooth.le.BluetoothLeScanner
import android.bluetooth.le.ScanFilter
import android.bluetooth.le.ScanResult
import android.bluetooth.le.ScanSettings
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.os.Build
import android.os.ParcelUuid
import org.dashkeep.ffi.cameraServiceUuid

/**
 * Auto-connect: while it is on, a background BLE scan that the system runs for the app (a
 * PendingIntent scan: it goes on while the app is not running), filtered on the service every
 * Dashkeep camera advertises (the UUID comes from the core). When a camera comes in range the
 * system calls [CameraInRangeReceiver], which starts the drive's foreground service for the
 * paired camera; the core's `connect` then finds that camera (its pinned key refuses another).
 */
class AutoConnect(private val context: Context) {
    private val prefs = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)

    /** Whether auto-connect is on. */
    val enabled: Boolean get() = prefs.getBoolean(KEY_ON, false) && serial != null

    /** The paired camera auto-connect starts the drive for. */
    val serial: String? get() = prefs.getString(KEY_SERIAL, null)

    /** Turns auto-connect on for the paired camera `serial`; false when the scan could not start (Bluetooth off). */
    fun enable(serial: String): Boolean {
        prefs.edit().putBoolean(KEY_ON, true).putString(KEY_SERIAL, serial).commit()
        return arm()
    }

    /** Turns it off and stops the background scan. */
    @SuppressLint("MissingPermission")
    fun disable() {
        prefs.edit().clear().commit()
        scanner()?.let { runCatching { it.stopScan(pendingIntent()) } }
    }

    /** (Re)starts the background scan when auto-connect is on (the app calls it at each start). */
    @SuppressLint("MissingPermission")
    fun arm(): Boolean {
        if (!enabled) return false
        val scanner = scanner() ?: return false
        val filter = ScanFilter.Builder().setServiceUuid(ParcelUuid.fromString(cameraServiceUuid())).build()
        val settings = ScanSettings.Builder()
            .setScanMode(ScanSettings.SCAN_MODE_LOW_POWER)
            .setCallbackType(ScanSettings.CALLBACK_TYPE_FIRST_MATCH)
            .build()
        return runCatching { scanner.startScan(listOf(filter), settings, pendingIntent()) == 0 }.getOrDefault(false)
    }

    private fun scanner(): BluetoothLeScanner? =
        context.getSystemService(BluetoothManager::class.java)?.adapter?.takeIf { it.isEnabled }?.bluetoothLeScanner

    /** Mutable: the system adds the scan results to it. */
    private fun pendingIntent(): PendingIntent {
        val mutable = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) PendingIntent.FLAG_MUTABLE else 0
        val intent = Intent(context, CameraInRangeReceiver::class.java).setAction(ACTION_IN_RANGE)
        return PendingIntent.getBroadcast(context, REQUEST, intent, PendingIntent.FLAG_UPDATE_CURRENT or mutable)
    }

    companion object {
        /** The background scan's broadcast. */
        const val ACTION_IN_RANGE = "org.dashkeep.app.action.CAMERA_IN_RANGE"
        private const val REQUEST = 7
        private const val PREFS = "dashkeep-auto-connect"
        private const val KEY_ON = "on"
        private const val KEY_SERIAL = "serial"
    }
}

/**
 * The background scan's results: a Dashkeep camera is in range. With auto-connect on and no
 * drive running, starts the drive's foreground service for the paired camera.
 */
class CameraInRangeReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        if (intent.hasExtra(BluetoothLeScanner.EXTRA_ERROR_CODE)) return
        if (results(intent).isEmpty()) return
        startDrive(context)
    }

    companion object {
        /** Starts the drive for the auto-connect camera; false when off or a drive already runs. */
        fun startDrive(context: Context): Boolean {
            val auto = AutoConnect(context)
            val serial = auto.serial
            if (!auto.enabled || serial == null || DriveService.activeSerial(context) != null) return false
            DriveService.connect(context, serial)
            return true
        }

        private fun results(intent: Intent): List<ScanResult> =
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
                intent.getParcelableArrayListExtra(BluetoothLeScanner.EXTRA_LIST_SCAN_RESULT, ScanResult::class.java).orEmpty()
            } else {
                @Suppress("DEPRECATION")
                intent.getParcelableArrayListExtra<ScanResult>(BluetoothLeScanner.EXTRA_LIST_SCAN_RESULT).orEmpty()
            }
    }
}
