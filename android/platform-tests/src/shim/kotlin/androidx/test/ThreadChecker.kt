// Part of the androidx.test monitor shim (see MonitorShim.kt): a marker interface of a helper
// Robolectric registers through ServiceLoader.
@file:Suppress("unused", "PackageDirectoryMismatch")

package androidx.test.internal.platform

/** Marker. */
interface ThreadChecker
