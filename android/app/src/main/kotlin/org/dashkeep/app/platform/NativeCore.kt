package org.dashkeep.app.platform

import android.content.Context
import android.util.Log

/**
 * Loads the Rust core the Android way before the generated bindings touch it through JNA:
 * `System.loadLibrary` runs the library's `JNI_OnLoad` (which gives btleplug's Android bridge
 * the JVM, when that feature is built), and JNA's later `dlopen` of the same library is then a
 * no-op. With a `Context`, it also hands the app's context to rustls-platform-verifier, so HTTPS
 * from Rust (the S3 endpoint) verifies with the Android trust store (the Java side of the
 * verifier ships as the `rustls-platform-verifier` AAR, see android/app/build.gradle.kts).
 */
object NativeCore {
    /** The library's name (`libdashkeep_ffi.so`). */
    const val LIBRARY = "dashkeep_ffi"

    @Volatile private var loaded = false

    /** What `load` found: whether the trust store is set up (false off Android). */
    @Volatile var trustStoreReady = false
        private set

    /** Loads the library once; true when it is loaded. Never throws. */
    @Synchronized
    fun load(context: Context?): Boolean {
        if (loaded) return true
        try {
            System.loadLibrary(LIBRARY)
        } catch (e: UnsatisfiedLinkError) {
            Log.e(TAG, "the core's native library did not load: ${e.message}")
            return false
        }
        loaded = true
        if (context != null) {
            trustStoreReady = try {
                initTrustStore(context.applicationContext)
                true
            } catch (e: UnsatisfiedLinkError) {
                // A host build (the JVM tests) has no such entry point: the host's roots apply.
                false
            } catch (e: RuntimeException) {
                Log.e(TAG, "the trust store for HTTPS from Rust is not set up: ${e.message}")
                false
            }
        }
        return true
    }

    /** `bindings/src/android.rs`: `rustls_platform_verifier::android::init_with_env`. */
    @JvmStatic private external fun initTrustStore(context: Context)

    private const val TAG = "dashkeep"
}
