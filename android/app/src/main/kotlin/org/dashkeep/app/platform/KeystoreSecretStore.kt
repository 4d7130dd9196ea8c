package org.dashkeep.app.platform

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.util.Base64
import android.util.Log
import org.dashkeep.ffi.PlatformException
import org.dashkeep.ffi.SecretStore
import java.security.GeneralSecurityException
import java.security.KeyStore
import java.security.UnrecoverableKeyException
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The core's `SecretStore` on Android (pairings) and the app's own secrets (cloud credentials,
 * [CloudAccountStore]): values sealed with AES-GCM under a key that never leaves the Android
 * Keystore, kept in app-private preferences (excluded from backups and device transfers in the
 * manifest). The core calls it on a background thread.
 *
 * A value this phone's key cannot open (the preferences came from another phone, or the key was
 * invalidated) reads as absent and is dropped, so the next write succeeds: the user pairs again
 * instead of every write failing. Other keystore failures stay errors.
 */
class KeystoreSecretStore(
    context: Context,
    private val keys: KeySource = AndroidKeystoreKey,
) : SecretStore {
    private val prefs = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)

    /** Where the sealing key comes from (the Android Keystore; a JCE key in JVM tests). */
    fun interface KeySource {
        /** The key, created on first use. */
        fun key(): SecretKey
    }

    override fun load(key: String): ByteArray? = guarded {
        val stored = prefs.getString(key, null) ?: return@guarded null
        try {
            open(stored)
        } catch (e: Undecryptable) {
            Log.w(TAG, "a stored secret cannot be opened on this phone (${e.message}); it is dropped")
            prefs.edit().remove(key).commit()
            null
        }
    }

    override fun save(key: String, value: ByteArray) = guarded {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, keys.key())
        val sealed = cipher.iv + cipher.doFinal(value)
        check(prefs.edit().putString(key, Base64.encodeToString(sealed, Base64.NO_WRAP)).commit()) { "not saved" }
    }

    override fun delete(key: String) = guarded {
        check(prefs.edit().remove(key).commit()) { "not deleted" }
    }

    private class Undecryptable(why: String) : Exception(why)

    private fun open(stored: String): ByteArray {
        val bytes = try {
            Base64.decode(stored, Base64.NO_WRAP)
        } catch (e: IllegalArgumentException) {
            throw Undecryptable("not base64")
        }
        if (bytes.size < IV_BYTES + TAG_BYTES) throw Undecryptable("too short")
        try {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, keys.key(), GCMParameterSpec(TAG_BYTES * 8, bytes, 0, IV_BYTES))
            return cipher.doFinal(bytes, IV_BYTES, bytes.size - IV_BYTES)
        } catch (e: AEADBadTagException) {
            throw Undecryptable("sealed under another key")
        } catch (e: KeyPermanentlyInvalidatedException) {
            throw Undecryptable("key invalidated")
        } catch (e: UnrecoverableKeyException) {
            throw Undecryptable("key unrecoverable")
        }
    }

    /** Any other failure becomes the core's typed platform error (its message names no secret). */
    private fun <T> guarded(block: () -> T): T = try {
        block()
    } catch (e: GeneralSecurityException) {
        throw PlatformException.Failed("keystore: ${e.javaClass.simpleName}")
    } catch (e: IllegalStateException) {
        throw PlatformException.Failed("keystore: ${e.message}")
    }

    /** The AES key in the Android Keystore (hardware-backed where the phone has it). */
    object AndroidKeystoreKey : KeySource {
        override fun key(): SecretKey {
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
    }

    private companion object {
        const val PREFS = "dashkeep-secrets"
        const val TAG = "dashkeep"
        const val KEYSTORE = "AndroidKeyStore"
        const val ALIAS = "dashkeep-pairings"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
        const val TAG_BYTES = 16
    }
}
