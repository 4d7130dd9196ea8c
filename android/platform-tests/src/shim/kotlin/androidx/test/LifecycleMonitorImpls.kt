// Part of the androidx.test monitor shim (see MonitorShim.kt): the monitors
// Robolectric instantiates, and the marker interfaces of its service-loaded helpers.
@file:Suppress("unused", "PackageDirectoryMismatch")

package androidx.test.internal.runner.lifecycle

import android.app.Activity
import android.app.Application
import androidx.test.runner.lifecycle.ActivityLifecycleMonitor
import androidx.test.runner.lifecycle.ApplicationLifecycleMonitor
import androidx.test.runner.lifecycle.ApplicationStage
import androidx.test.runner.lifecycle.Stage
import java.util.Collections
import java.util.WeakHashMap

/** Remembers each activity's last stage. */
class ActivityLifecycleMonitorImpl : ActivityLifecycleMonitor {
    private val stages = Collections.synchronizedMap(WeakHashMap<Activity, Stage>())
    fun signalLifecycleChange(stage: Stage, activity: Activity) { stages[activity] = stage }
    override fun getLifecycleStageOf(activity: Activity): Stage =
        stages[activity] ?: error("activity not tracked")
}

/** Accepts application stages. */
class ApplicationLifecycleMonitorImpl : ApplicationLifecycleMonitor {
    fun signalLifecycleChange(app: Application, stage: ApplicationStage) {}
}
