package org.dashkeep.app.platform

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import org.dashkeep.ffi.PlatformException
import org.dashkeep.ffi.SecretStore
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The core's `SecretStore` on Android: values sealed with AES-GCM under a key that never leaves
 * the Android Keystore, kept in app-private preferences (excluded from backups in the manifest).
 * The core calls it on a background thread.
 */
class KeystoreSecretStore(context: Context) : SecretStore {
    private val prefs = context.getSharedPreferences("dashkeep-secrets", Context.MODE_PRIVATE)

    override fun load(key: String): ByteArray? = guarded {
        val stored = prefs.getString(key, null) ?: return@guarded null
        val bytes = Base64.decode(stored, Base64.NO_WRAP)
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(128, bytes, 0, IV_BYTES))
        cipher.doFinal(bytes, IV_BYTES, bytes.size - IV_BYTES)
    }

    override fun save(key: String, value: ByteArray) = guarded {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, key())
        val sealed = cipher.iv + cipher.doFinal(value)
        check(prefs.edit().putString(key, Base64.encodeToString(sealed, Base64.NO_WRAP)).commit()) { "not saved" }
    }

    override fun delete(key: String) = guarded {
        check(prefs.edit().remove(key).commit()) { "not deleted" }
    }

    private fun key(): SecretKey {
        val keystore = KeyStore.getInstance(KEYSTORE).apply { load(null) }
        (keystore.getKey(ALIAS, null) as? SecretKey)?.let { return it }
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, KEYSTORE)
        generator.init(
            KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .build(),
        )
        return generator.generateKey()
    }

    /** Any failure becomes the core's typed platform error (its message names no secret). */
    private fun <T> guarded(block: () -> T): T =
        try { block() } catch (e: Exception) { throw PlatformException.Failed("keystore: ${e.javaClass.simpleName}") }

    private companion object {
        const val KEYSTORE = "AndroidKeyStore"
        const val ALIAS = "dashkeep-pairings"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
    }
}
