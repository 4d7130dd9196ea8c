package org.dashkeep.app

import android.app.Application
import android.util.Log
import kotlinx.coroutines.runBlocking
import org.dashkeep.ffi.Companion
import org.dashkeep.ffi.openCompanion
import org.dashkeep.ffi.CompanionSettings
import org.dashkeep.ffi.LogLevel
import org.dashkeep.ffi.LogRecord
import org.dashkeep.ffi.LogSink
import org.dashkeep.ffi.PlatformConfig
import org.dashkeep.ffi.initPlatform
import org.dashkeep.app.platform.KeystoreSecretStore

/** Starts the Rust core once per process: logging to logcat, then the companion. */
class DashkeepApp : Application() {
    /** The one companion of the app's data directory. */
    lateinit var companion: Companion
        private set

    override fun onCreate() {
        super.onCreate()
        initPlatform(PlatformConfig(logFilter = "info", logToStderr = false, logSink = Logcat))
        // Opening reconciles the catalog with the files: fast, but do it once, here.
        // Pairings (WiFi passphrase, API secret, pinned key) go to the Keystore, not a file.
        val settings = CompanionSettings(secretStore = KeystoreSecretStore(this))
        companion = runBlocking { openCompanion(filesDir.resolve("dashkeep").path, settings) }
    }

    private object Logcat : LogSink {
        override fun log(record: LogRecord) {
            val tag = "dashkeep"
            val text = "${record.target}: ${record.message}"
            when (record.level) {
                LogLevel.ERROR -> Log.e(tag, text)
                LogLevel.WARN -> Log.w(tag, text)
                LogLevel.INFO -> Log.i(tag, text)
                LogLevel.DEBUG -> Log.d(tag, text)
                LogLevel.TRACE -> Log.v(tag, text)
            }
        }
    }
}
