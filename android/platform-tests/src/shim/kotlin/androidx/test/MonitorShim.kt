// The few androidx.test "monitor" types Robolectric 4.16 references (the real ones ship in an
// AAR on Google's Maven, which is not reachable here). Written from what `javap -c` shows
// Robolectric calls: registries that hold one instance, the lifecycle stages, and the marker
// interfaces of its service-loaded helpers. Enough for Robolectric to start an Application and
// drive services and jobs; nothing here is used by the app's code.
@file:Suppress("unused", "PackageDirectoryMismatch")

package androidx.test.platform.app

import android.app.Instrumentation
import android.os.Bundle

/** Holds the instrumentation Robolectric registers for each test. */
object InstrumentationRegistry {
    @Volatile private var instrumentation: Instrumentation? = null
    @Volatile private var arguments: Bundle? = null

    @JvmStatic fun registerInstance(instrumentation: Instrumentation?, arguments: Bundle?) {
        this.instrumentation = instrumentation
        this.arguments = arguments
    }

    @JvmStatic fun getInstrumentation(): Instrumentation =
        checkNotNull(instrumentation) { "no instrumentation registered" }

    @JvmStatic fun getArguments(): Bundle = arguments ?: Bundle()
}
