// Part of the androidx.test monitor shim (see MonitorShim.kt).
@file:Suppress("unused", "PackageDirectoryMismatch")

package androidx.test.internal.platform.util

/** Robolectric dumps thread states through it when an idling resource times out. */
object TestOutputEmitter {
    @JvmStatic fun dumpThreadStates(outputFileName: String) {
        Thread.getAllStackTraces().forEach { (t, trace) ->
            System.err.println("$outputFileName: ${t.name}\n  " + trace.joinToString("\n  "))
        }
    }
}
