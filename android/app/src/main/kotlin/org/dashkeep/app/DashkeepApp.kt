package org.dashkeep.app

import android.app.Application
import android.util.Log
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch
import org.dashkeep.app.platform.AndroidBleCentral
import org.dashkeep.app.platform.CameraWifi
import org.dashkeep.app.platform.CloudAccountStore
import org.dashkeep.app.platform.CoreOwner
import org.dashkeep.app.platform.KeystoreSecretStore
import org.dashkeep.app.platform.NativeCore
import org.dashkeep.app.platform.NetworkReporter
import org.dashkeep.app.service.AutoConnect
import org.dashkeep.app.service.CompanionDriveCore
import org.dashkeep.app.service.DriveCore
import org.dashkeep.app.service.DriveHost
import org.dashkeep.app.service.UploadJobService
import org.dashkeep.ffi.BleTransport
import org.dashkeep.ffi.Companion as FfiCompanion
import org.dashkeep.ffi.CompanionSettings
import org.dashkeep.ffi.LogLevel
import org.dashkeep.ffi.LogRecord
import org.dashkeep.ffi.LogSink
import org.dashkeep.ffi.PlatformConfig
import org.dashkeep.ffi.initPlatform
import org.dashkeep.ffi.openCompanion

/**
 * The process's owner of the Rust core and the platform services around it. `onCreate` loads the
 * native library (JNI_OnLoad, the trust store), starts logging, and starts opening the companion
 * off the main thread through [core] (a failure is a state the UI shows). Once open: the
 * network reporter tells the core which network the internet uses, and the upload job is
 * scheduled by the user's policy. Screens, the drive service and the upload job all take the
 * core from here; objects that must outlive an activity (view models) live in [retained].
 */
open class DashkeepApp : Application(), DriveHost {
    /** Work that belongs to the process, not to a screen: opening the core, the drive, uploads. */
    override val workScope: CoroutineScope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    /** The core: opening, open, or failed with a message. */
    lateinit var core: CoreOwner
        private set

    /** The phone's Bluetooth as the core's `BleCentral`. */
    val ble: AndroidBleCentral by lazy { AndroidBleCentral(this) }

    /** The camera's WiFi (joiner and camera-socket binder). */
    val cameraWifi: CameraWifi by lazy { CameraWifi(this) }

    /** The sealed store for pairings and cloud keys. */
    val secrets: KeystoreSecretStore by lazy { KeystoreSecretStore(this) }

    /** The cloud account from Settings. */
    val cloudAccount: CloudAccountStore by lazy { CloudAccountStore(this, secrets) }

    private val retainedObjects = HashMap<String, Any>()
    private var reporter: NetworkReporter? = null

    override fun onCreate() {
        super.onCreate()
        NativeCore.load(this)
        initPlatform(PlatformConfig(logFilter = "info", logToStderr = false, logSink = Logcat))
        core = CoreOwner(workScope, ::openCore)
        core.start()
        workScope.launch { core.companion()?.let { onOpen(it) } }
    }

    /** The companion's settings: the Keystore store and the cloud account, if any. */
    protected open fun settings(): CompanionSettings =
        CompanionSettings(secretStore = secrets, cloud = cloudAccount.settings())

    /** Where the core keeps its catalog and videos. */
    protected open fun dataDir(): String = filesDir.resolve("dashkeep").path

    private suspend fun openCore(): FfiCompanion = openCompanion(dataDir(), settings())

    private suspend fun onOpen(companion: FfiCompanion) {
        // Auto-connect's background scan, if the user turned it on (it does not survive a reboot).
        AutoConnect(this).arm()
        if (!companion.hasCloud()) return
        reporter = NetworkReporter(this) { kind, metered ->
            runCatching { companion.setNetwork(kind, metered) }
        }.also { it.start() }
        runCatching { UploadJobService.schedule(this, companion.cloudStatus().policy) }
            .onFailure { Log.w(TAG, "upload job not scheduled: ${it.message}") }
    }

    /**
     * The object under `key`, created once per process by `create`: view models kept here
     * survive an activity's rotation and are shared with the service.
     */
    @Suppress("UNCHECKED_CAST")
    @Synchronized
    fun <T : Any> retained(key: String, create: () -> T): T = retainedObjects.getOrPut(key, create) as T

    override suspend fun companion(): FfiCompanion? = core.companion()

    override suspend fun driveCore(): DriveCore? = companion()?.let { c ->
        CompanionDriveCore(c, { BleTransport.platform(ble) }, cameraWifi, cameraWifi)
    }

    private object Logcat : LogSink {
        override fun log(record: LogRecord) {
            val text = "${record.target}: ${record.message}"
            when (record.level) {
                LogLevel.ERROR -> Log.e(TAG, text)
                LogLevel.WARN -> Log.w(TAG, text)
                LogLevel.INFO -> Log.i(TAG, text)
                LogLevel.DEBUG -> Log.d(TAG, text)
                LogLevel.TRACE -> Log.v(TAG, text)
            }
        }
    }

    private companion object {
        const val TAG = "dashkeep"
    }
}
