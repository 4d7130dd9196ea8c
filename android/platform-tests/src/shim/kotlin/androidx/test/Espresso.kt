// Part of the androidx.test monitor shim (see MonitorShim.kt): Espresso's idling registry,
// which Robolectric's UI controller asks for resources to wait on (none here).
@file:Suppress("unused", "PackageDirectoryMismatch")

package androidx.test.espresso

import android.os.Looper

/** Something a test waits for to be idle. */
interface IdlingResource {
    fun getName(): String
    fun isIdleNow(): Boolean
    fun registerIdleTransitionCallback(callback: ResourceCallback?)

    /** Told when the resource becomes idle. */
    interface ResourceCallback {
        fun onTransitionToIdle()
    }
}

/** The registered idling resources and loopers: none. */
class IdlingRegistry private constructor() {
    fun getResources(): Collection<IdlingResource> = emptyList()
    fun getLoopers(): Collection<Looper> = emptyList()

    companion object {
        private val instance = IdlingRegistry()
        @JvmStatic fun getInstance(): IdlingRegistry = instance
    }
}
