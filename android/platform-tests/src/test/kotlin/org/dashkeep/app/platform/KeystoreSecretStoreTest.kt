package org.dashkeep.app.platform

import android.content.Context
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

/**
 * The sealed secret store and the cloud account on it. The Android Keystore is hardware, so the
 * sealing key here is a JCE AES key; "another phone" is another key over the same preferences
 * (a restore or a device transfer that brought the preferences but not the key).
 */
@RunWith(RobolectricTestRunner::class)
class KeystoreSecretStoreTest {
    private val app = RuntimeEnvironment.getApplication()

    @Test
    fun aSecretRoundTripsSealedAndIsDeleted() {
        val store = KeystoreSecretStore(app, keyOf(aesKey()))
        store.save("pairings", "wifi passphrase".toByteArray())
        val raw = app.getSharedPreferences("dashkeep-secrets", Context.MODE_PRIVATE).getString("pairings", null)!!
        assertFalse("stored sealed, not in the clear", raw.contains("passphrase"))
        assertArrayEquals("wifi passphrase".toByteArray(), store.load("pairings"))
        store.delete("pairings")
        assertNull(store.load("pairings"))
    }

    @Test
    fun onANewPhoneTheOldSecretsReadAsEmptyAndWritesWork() {
        KeystoreSecretStore(app, keyOf(aesKey())).save("pairings", "old phone".toByteArray())
        val newPhone = KeystoreSecretStore(app, keyOf(aesKey()))
        assertNull("undecryptable reads as empty", newPhone.load("pairings"))
        newPhone.save("pairings", "new pairing".toByteArray())
        assertArrayEquals("new pairing".toByteArray(), newPhone.load("pairings"))
    }

    @Test
    fun aDamagedValueReadsAsEmpty() {
        app.getSharedPreferences("dashkeep-secrets", Context.MODE_PRIVATE).edit().putString("pairings", "%%%").commit()
        assertNull(KeystoreSecretStore(app, keyOf(aesKey())).load("pairings"))
    }

    @Test
    fun theCloudAccountRoundTripsWithItsKeysSealed() {
        val secrets = KeystoreSecretStore(app, keyOf(aesKey()))
        val store = CloudAccountStore(app, secrets)
        assertNull("no account yet", store.settings())
        val account = CloudAccountStore.Account(
            endpoint = "https://s3.example.net", region = "eu-west-1", bucket = "clips",
            account = "driver_1", pathStyle = true, accessKey = "AKIAEXAMPLE", secretKey = "s3cr3t-value",
        )
        store.save(account)
        assertEquals(account, CloudAccountStore(app, secrets).load())
        assertFalse("toString hides the keys", account.toString().contains("s3cr3t"))
        val cloudPrefs = app.getSharedPreferences("dashkeep-cloud", Context.MODE_PRIVATE).all.values.joinToString()
        assertFalse("the keys are not in the plain preferences", cloudPrefs.contains("s3cr3t") || cloudPrefs.contains("AKIA"))
        assertNotNull(store.settings())
        store.clear()
        assertNull(store.load())
    }

    @Test
    fun aCloudAccountFromAnotherPhoneIsNoAccount() {
        CloudAccountStore(app, KeystoreSecretStore(app, keyOf(aesKey()))).save(
            CloudAccountStore.Account(null, "us-east-1", "b", "a", false, "ak", "sk"),
        )
        assertNull(CloudAccountStore(app, KeystoreSecretStore(app, keyOf(aesKey()))).settings())
    }

    private fun aesKey(): SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

    private fun keyOf(key: SecretKey) = KeystoreSecretStore.KeySource { key }
}
