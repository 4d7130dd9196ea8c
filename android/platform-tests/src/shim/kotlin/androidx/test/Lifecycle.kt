// Part of the androidx.test monitor shim (see MonitorShim.kt).
@file:Suppress("unused", "PackageDirectoryMismatch")

package androidx.test.runner.lifecycle

import android.app.Activity
import android.app.Application

/** An activity's lifecycle stage, as Robolectric signals it. */
enum class Stage { PRE_ON_CREATE, CREATED, STARTED, RESUMED, PAUSED, STOPPED, RESTARTED, DESTROYED }

/** An application's lifecycle stage. */
enum class ApplicationStage { PRE_ON_CREATE, CREATED }

/** Answers an activity's current stage. */
interface ActivityLifecycleMonitor {
    fun getLifecycleStageOf(activity: Activity): Stage
}

/** Receives application stages. */
interface ApplicationLifecycleMonitor

/** Holds the registered activity monitor. */
object ActivityLifecycleMonitorRegistry {
    @Volatile private var monitor: ActivityLifecycleMonitor? = null
    @JvmStatic fun registerInstance(m: ActivityLifecycleMonitor?) { monitor = m }
    @JvmStatic fun getInstance(): ActivityLifecycleMonitor = checkNotNull(monitor) { "no activity monitor" }
}

/** Holds the registered application monitor. */
object ApplicationLifecycleMonitorRegistry {
    @Volatile private var monitor: ApplicationLifecycleMonitor? = null
    @JvmStatic fun registerInstance(m: ApplicationLifecycleMonitor?) { monitor = m }
    @JvmStatic fun getInstance(): ApplicationLifecycleMonitor = checkNotNull(monitor) { "no application monitor" }
}
