// Part of the androidx.test monitor shim (see MonitorShim.kt).
@file:Suppress("unused", "PackageDirectoryMismatch")

package androidx.test.internal.runner.intent

import android.content.Intent
import androidx.test.runner.intent.IntentMonitor

/** Accepts started intents. */
class IntentMonitorImpl : IntentMonitor {
    fun signalIntent(intent: Intent) {}
}
