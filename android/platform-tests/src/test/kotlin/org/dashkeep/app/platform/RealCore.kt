package org.dashkeep.app.platform

import kotlinx.coroutines.runBlocking
import org.dashkeep.app.DashkeepApp
import org.dashkeep.ffi.CloudBackendSettings
import org.dashkeep.ffi.CloudSettings
import org.dashkeep.ffi.Companion
import org.dashkeep.ffi.CompanionSettings
import org.dashkeep.ffi.openCompanion
import java.io.File
import java.nio.file.Files
import javax.crypto.KeyGenerator

/**
 * The real Rust core inside Robolectric's sandbox (JNA loads libdashkeep_ffi from the cargo
 * target directory): a companion on a fresh data directory, with a local cloud when asked.
 */
object RealCore {
    /** A fresh temporary directory. */
    fun tempDir(prefix: String): File = Files.createTempDirectory(prefix).toFile()

    /** The settings of a companion with a local cloud in `cloudRoot`. */
    fun settings(cloudRoot: File?, secrets: KeystoreSecretStore? = null) = CompanionSettings(
        cloud = cloudRoot?.let { CloudSettings(backend = CloudBackendSettings.Local(it.path), account = "robolectric") },
        secretStore = secrets,
        // The phone here is the test machine's disk: its free space must not decide the test.
        safetyFloorMinBytes = 0uL,
        safetyFloorFraction = 0.0,
    )

    /** Opens a companion on `dir`. */
    fun open(dir: File = tempDir("dashkeep-core"), cloudRoot: File? = null): Companion =
        runBlocking { openCompanion(dir.path, settings(cloudRoot)) }
}

/**
 * The app itself, as Robolectric runs it: the real `DashkeepApp` (native library, logging, the
 * core opened off the main thread), its secrets sealed with a JCE key instead of the hardware
 * Keystore, and a local cloud so the network reporter and the upload job run.
 */
class TestDashkeepApp : DashkeepApp() {
    private val key = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

    override fun settings(): CompanionSettings =
        RealCore.settings(filesDir.resolve("cloud").apply { mkdirs() }, KeystoreSecretStore(this) { key })
}
