// Part of the androidx.test monitor shim (see MonitorShim.kt).
@file:Suppress("unused", "PackageDirectoryMismatch")

package androidx.test.runner.intent

import android.app.Instrumentation
import android.content.Intent

/** Observes started intents. */
interface IntentMonitor

/** Answers a started activity intent with a stubbed result. */
interface IntentStubber {
    fun getActivityResultForIntent(intent: Intent): Instrumentation.ActivityResult?
}

/** Holds the registered intent monitor. */
object IntentMonitorRegistry {
    @Volatile private var monitor: IntentMonitor? = null
    @JvmStatic fun registerInstance(m: IntentMonitor?) { monitor = m }
    @JvmStatic fun getInstance(): IntentMonitor = checkNotNull(monitor) { "no intent monitor" }
}

/** No stubber is ever loaded here (Espresso-Intents is not on the classpath). */
object IntentStubberRegistry {
    @JvmStatic fun isLoaded(): Boolean = false
    @JvmStatic fun getInstance(): IntentStubber = error("no intent stubber")
}
