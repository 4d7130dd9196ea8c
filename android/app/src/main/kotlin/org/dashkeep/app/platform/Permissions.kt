package org.dashkeep.app.platform

import android.Manifest
import android.content.Context
import android.content.pm.PackageManager
import android.os.Build

/**
 * The runtime permissions each step needs, by API level, asked at the moment the step starts
 * (the activity asks for [missing] and shows [explanation] after a refusal):
 * - finding and talking to the camera over BLE: BLUETOOTH_SCAN and BLUETOOTH_CONNECT on 31+,
 *   fine location on 26 to 30 (BLE scans return nothing without it there);
 * - joining the camera's WiFi: NEARBY_WIFI_DEVICES on 33+ (the specifier's scan), nothing more
 *   below (location, already asked for BLE, covers it);
 * - the drive's notification: POST_NOTIFICATIONS on 33+.
 */
object Permissions {
    /** A step of the app that needs permissions. */
    enum class Step { CAMERA_BLE, CAMERA_WIFI, DRIVE_NOTIFICATION }

    /** The permissions `step` needs on API level `sdk`. */
    fun required(step: Step, sdk: Int = Build.VERSION.SDK_INT): List<String> = when (step) {
        Step.CAMERA_BLE ->
            if (sdk >= Build.VERSION_CODES.S) {
                listOf(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.BLUETOOTH_CONNECT)
            } else {
                listOf(Manifest.permission.ACCESS_FINE_LOCATION)
            }
        Step.CAMERA_WIFI ->
            if (sdk >= Build.VERSION_CODES.TIRAMISU) listOf(Manifest.permission.NEARBY_WIFI_DEVICES) else emptyList()
        Step.DRIVE_NOTIFICATION ->
            if (sdk >= Build.VERSION_CODES.TIRAMISU) listOf(Manifest.permission.POST_NOTIFICATIONS) else emptyList()
    }

    /** The permissions `step` still needs on this phone (empty: go ahead). */
    fun missing(context: Context, step: Step): List<String> = required(step).filter {
        context.checkSelfPermission(it) != PackageManager.PERMISSION_GRANTED
    }

    /** What the app tells a user who refused, and what then does not work. */
    fun explanation(step: Step): String = when (step) {
        Step.CAMERA_BLE ->
            "Dashkeep finds and pairs with your dash cam over Bluetooth. Without this permission " +
                "it cannot pair or connect; allow \"Nearby devices\" in the app's settings."
        Step.CAMERA_WIFI ->
            "Dashkeep copies your drives over the camera's own WiFi. Without this permission it " +
                "cannot join it; your phone keeps its internet for everything else."
        Step.DRIVE_NOTIFICATION ->
            "While you drive, Dashkeep shows a notification with the camera and the copy's " +
                "progress. Without it, copying still works but you will not see it."
    }
}
