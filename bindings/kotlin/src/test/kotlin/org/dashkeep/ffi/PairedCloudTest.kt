package org.dashkeep.ffi

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.MethodOrderer
import org.junit.jupiter.api.Order
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.TestMethodOrder
import org.junit.jupiter.api.assertThrows
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList

/** The app's keystore, as Android Keystore-backed storage or the iOS Keychain would be. */
class MapSecretStore : SecretStore {
    val values = ConcurrentHashMap<String, ByteArray>()
    override fun load(key: String): ByteArray? = values[key]
    override fun save(key: String, value: ByteArray) { values[key] = value }
    override fun delete(key: String) { values.remove(key) }
}

/** The app's WiFi joiner (WifiNetworkSpecifier / NEHotspotConfiguration); loopback needs nothing. */
class RecordingWifi : WifiJoiner {
    val joined = CopyOnWriteArrayList<String>()
    override suspend fun join(ssid: String, passphrase: String) {
        check(passphrase.length >= 16) { "a camera's passphrase is long" }
        joined.add(ssid)
    }
    override suspend fun leave(ssid: String) {}
}

/** The S3-compatible server the test command starts (scripts/s3-servers), from its environment. */
fun s3Cloud(account: String): CloudSettings {
    fun env(name: String) = System.getenv(name)
        ?: error("$name is not set: run the tests through scripts/test-all (it starts the S3 servers)")
    return CloudSettings(
        backend = CloudBackendSettings.S3(
            endpoint = env("DASHKEEP_S3S_ENDPOINT"), region = "us-east-1", bucket = env("DASHKEEP_S3_BUCKET"),
            accessKey = CloudSecret(env("DASHKEEP_S3_ACCESS_KEY")), secretKey = CloudSecret(env("DASHKEEP_S3_SECRET_KEY")),
            sessionToken = null, pathStyle = true,
        ),
        account = account,
    )
}

/**
 * The whole product flow from Kotlin, the way an app runs it: pair with the camera's code over
 * the (loopback) BLE link, keep the pairing in the app's keystore, connect (BLE, WiFi through the
 * app's joiner, streaming over pinned HTTPS), see the hard brake's clip arrive through the
 * listener, upload it to a real S3-compatible server, share it, delete it from the cloud for good,
 * restore another clip on a fresh phone, and unpair.
 */
@Order(3)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation::class)
class PairedCloudTest {
    private val code = "24681357"
    private val blePort = SimCam.freePort()
    private val account = "kotlin-paired-${System.nanoTime()}"
    private lateinit var cam: SimCam
    private lateinit var session: Session
    private val secrets = MapSecretStore()
    private val wifi = RecordingWifi()
    private val transport by lazy { BleTransport.loopback(listOf("127.0.0.1:$blePort")) }
    private val companion get() = session.companion
    private val http: HttpClient = HttpClient.newHttpClient()
    private lateinit var paired: PairedCamera
    private lateinit var brakeClip: Clip
    private lateinit var sharedUrl: String

    @BeforeAll
    fun start() {
        cam = SimCam.start(
            extraArgs = listOf(
                "--paired-mode", "--pairing-code", code, "--pairing-backoff-ms", "200",
                "--ble-listen", "127.0.0.1:$blePort",
            ),
        )
        session = Session(testSettings(cloud = s3Cloud(account)).copy(secretStore = secrets))
    }

    @AfterAll
    fun stop() {
        session.close()
        cam.close()
    }

    private fun get(url: String): HttpResponse<ByteArray> =
        http.send(HttpRequest.newBuilder(URI(url)).build(), HttpResponse.BodyHandlers.ofByteArray())

    @Test
    @Order(1)
    fun `the camera refuses an unpaired phone`() = runBlocking {
        val e = assertThrows<CompanionException.Camera> { runBlocking { companion.streamNow(cam.url) } }
        assertEquals(CameraErrorKind.Status(403.toUShort(), "the camera API needs HTTPS"), e.reason)
        assertTrue(companion.pairedCameras().isEmpty())
    }

    @Test
    @Order(2)
    fun `scan finds the camera and a wrong code is a typed error`() = runBlocking {
        val found = companion.scanCameras(transport, 2_000u)
        assertEquals(listOf("127.0.0.1:$blePort"), found.map { it.address })
        val wrong = assertThrows<CompanionException.Pairing> {
            runBlocking { companion.pair(transport, found.single().address, "13572468") }
        }
        assertEquals(PairingErrorKind.WrongCode, wrong.reason)
        assertTrue(secrets.values.isEmpty(), "nothing is stored for a failed pairing")
    }

    @Test
    @Order(3)
    fun `the right code pairs once the camera stops backing off`() = runBlocking {
        val address = "127.0.0.1:$blePort"
        paired = try {
            companion.pair(transport, address, code)
        } catch (e: CompanionException.Pairing) {
            val backoff = e.reason as? PairingErrorKind.BackingOff ?: throw e
            Thread.sleep(backoff.retryAfterMs.toLong() + 50)
            companion.pair(transport, address, code)
        }
        assertTrue(paired.apiUrl.startsWith("https://"), paired.apiUrl)
        assertEquals(19, paired.keyFingerprint.length)
        assertEquals(listOf(paired), companion.pairedCameras())
        assertEquals(ConnectionState.Paired(paired.serial), companion.connectionState())
        assertEquals(1, secrets.values.size, "the pairing lives in the app's keystore")
        assertFalse(java.io.File(session.dir.toFile(), "pairings.json").exists(), "not in a file")
    }

    @Test
    @Order(4)
    fun `connecting streams the drive and the hard brake's clip arrives`() = runBlocking {
        companion.connect(paired.serial, transport, wifi, true)
        session.listener.awaitUntil(60_000) { e ->
            e.any { it is CompanionEvent.ConnectionChanged && it.state is ConnectionState.Streaming } &&
                e.any { it is CompanionEvent.ClipCreated && it.clip.reason == ClipReason.HARD_BRAKE }
        }
        val states = session.listener.all<CompanionEvent.ConnectionChanged>().map { it.state }
        val expected = listOf(
            ConnectionState.Scanning, ConnectionState.BleConnected(paired.serial),
            ConnectionState.WifiJoined(paired.serial, paired.wifiSsid), ConnectionState.Streaming(paired.serial),
        )
        // Pairing (with the failed attempts before it) ends in Paired; connecting starts after it.
        assertEquals(expected, states.dropWhile { it !is ConnectionState.Paired }.drop(1).take(4), "$states")
        assertEquals(listOf(paired.wifiSsid), wifi.joined)
        brakeClip = session.listener.all<CompanionEvent.ClipCreated>().first { it.clip.reason == ClipReason.HARD_BRAKE }.clip
        assertEquals(ClipState.READY, brakeClip.state)
        assertTrue(companion.isStreaming())
    }

    @Test
    @Order(5)
    fun `the clip goes to S3 and its share link serves the same bytes`() = runBlocking {
        companion.setNetwork(NetworkKind.WIFI, false)
        val report = companion.runUploadQueue()
        assertEquals(0uL, report.failed, "$report")
        val clip = companion.clip(brakeClip.id)
        assertEquals(UploadState.UPLOADED, clip.uploadState)
        assertEquals(listOf(Residency.PHONE, Residency.CLOUD), clip.residencies)
        assertEquals(CloudBackendKind.S3, companion.cloudStatus().backend)
        sharedUrl = companion.shareClip(brakeClip.id, 600uL)
        assertTrue(sharedUrl.startsWith(System.getenv("DASHKEEP_S3S_ENDPOINT")!!), sharedUrl)
        val response = get(sharedUrl)
        assertEquals(200, response.statusCode())
        assertTrue(response.body().contentEquals(java.io.File(clip.phonePath!!).readBytes()))
    }

    @Test
    @Order(6)
    fun `deleting the clip removes it from S3 for good`() = runBlocking {
        val outcome = companion.deleteClip(brakeClip.id)
        assertEquals(DeleteOutcome(removedFromPhone = true, removedFromCloud = true), outcome)
        assertEquals(404, get(sharedUrl).statusCode(), "the share link no longer serves it")
    }

    @Test
    @Order(7)
    fun `another clip is restored on a fresh phone from S3`() = runBlocking {
        val drive = companion.drives(0u, 1u).drives.first()
        val clip = companion.createClip(drive.id, 5.0, 15.0)
        companion.uploadNow(clip.id, false)
        val original = java.io.File(clip.phonePath!!).readBytes()
        Session(testSettings(cloud = s3Cloud(account)).copy(secretStore = MapSecretStore())).use { phone ->
            phone.companion.setNetwork(NetworkKind.WIFI, false)
            val sync = phone.companion.syncFromCloud()
            assertEquals(1uL, sync.added, "$sync: the deleted clip never comes back")
            val restored = phone.companion.clips().single()
            assertEquals(clip.sha256, restored.sha256)
            val path = phone.companion.downloadClip(restored.id)
            assertTrue(java.io.File(path).readBytes().contentEquals(original))
            assertTrue(phone.companion.pairedCameras().isEmpty(), "pairings are per phone")
        }
    }

    @Test
    @Order(8)
    fun `unpairing stops the connection and the camera forgets the phone`() = runBlocking {
        companion.unpair(transport, paired.serial, false)
        assertTrue(companion.pairedCameras().isEmpty())
        assertTrue(secrets.values.isEmpty(), "the keystore entry is gone")
        val state = companion.connectionState()
        assertEquals(ConnectionState.Disconnected(DisconnectReason.Stopped, null), state)
        assertFalse(companion.isStreaming())
        // The old pairing cannot be used again: pairing anew is needed.
        val again = assertThrows<CompanionException.NotPaired> {
            runBlocking { companion.connect(paired.serial, transport, wifi, true) }
        }
        assertNotNull(again.detail)
    }
}
