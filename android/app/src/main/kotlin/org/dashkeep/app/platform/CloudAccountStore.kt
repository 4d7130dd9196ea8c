package org.dashkeep.app.platform

import android.content.Context
import org.dashkeep.ffi.CloudBackendSettings
import org.dashkeep.ffi.CloudSecret
import org.dashkeep.ffi.CloudSettings
import org.dashkeep.ffi.SecretStore

/**
 * The cloud account the user set up in Settings: the endpoint, region, bucket, account and
 * path style in app-private preferences, the access and secret keys sealed in the
 * [KeystoreSecretStore]. [settings] gives the core's `CloudSettings` for `openCompanion`; a
 * phone without an account (or whose keys cannot be opened here) opens without a cloud.
 */
class CloudAccountStore(context: Context, private val secrets: SecretStore) {
    private val prefs = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)

    /** An S3-compatible account. `toString` never shows the keys. */
    data class Account(
        val endpoint: String?,
        val region: String,
        val bucket: String,
        val account: String,
        val pathStyle: Boolean,
        val accessKey: String,
        val secretKey: String,
    ) {
        override fun toString() = "Account($endpoint, $region, $bucket, $account, pathStyle=$pathStyle, keys=***)"
    }

    /** Stores `account`, replacing the previous one. */
    fun save(account: Account) {
        secrets.save(ACCESS_KEY, account.accessKey.toByteArray())
        secrets.save(SECRET_KEY, account.secretKey.toByteArray())
        val ok = prefs.edit()
            .putString("endpoint", account.endpoint)
            .putString("region", account.region)
            .putString("bucket", account.bucket)
            .putString("account", account.account)
            .putBoolean("pathStyle", account.pathStyle)
            .commit()
        check(ok) { "the cloud settings were not saved" }
    }

    /** The stored account, or null if none (or its keys cannot be opened on this phone). */
    fun load(): Account? {
        val bucket = prefs.getString("bucket", null) ?: return null
        val access = secrets.load(ACCESS_KEY) ?: return null
        val secret = secrets.load(SECRET_KEY) ?: return null
        return Account(
            endpoint = prefs.getString("endpoint", null),
            region = prefs.getString("region", null) ?: "us-east-1",
            bucket = bucket,
            account = prefs.getString("account", null) ?: return null,
            pathStyle = prefs.getBoolean("pathStyle", false),
            accessKey = String(access),
            secretKey = String(secret),
        )
    }

    /** Forgets the account (signing out). */
    fun clear() {
        secrets.delete(ACCESS_KEY)
        secrets.delete(SECRET_KEY)
        prefs.edit().clear().commit()
    }

    /** The core's settings for the stored account, or null. */
    fun settings(): CloudSettings? = load()?.let { a ->
        CloudSettings(
            backend = CloudBackendSettings.S3(
                endpoint = a.endpoint,
                region = a.region,
                bucket = a.bucket,
                accessKey = CloudSecret(a.accessKey),
                secretKey = CloudSecret(a.secretKey),
                sessionToken = null,
                pathStyle = a.pathStyle,
            ),
            account = a.account,
        )
    }

    private companion object {
        const val PREFS = "dashkeep-cloud"
        const val ACCESS_KEY = "dashkeep.cloud.access-key"
        const val SECRET_KEY = "dashkeep.cloud.secret-key"
    }
}
