package org.dashkeep.app.service

import android.app.Application
import android.content.Intent
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.job
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import org.dashkeep.app.platform.Permissions
import org.dashkeep.ffi.BleTransport
import org.dashkeep.ffi.ClipReason
import org.dashkeep.ffi.Companion as FfiCompanion
import org.dashkeep.ffi.CompanionException
import org.dashkeep.ffi.CompanionSettings
import org.dashkeep.ffi.MapSecretStore
import org.dashkeep.ffi.NetworkKind
import org.dashkeep.ffi.PairingErrorKind
import org.dashkeep.ffi.ShareTarget
import org.dashkeep.ffi.SimCam
import org.dashkeep.ffi.UploadState
import org.dashkeep.ffi.openCompanion
import org.dashkeep.ffi.s3Cloud
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.io.File

/**
 * A fresh install, as far as it runs on the JVM: the permissions each step asks for (SDK 36),
 * then the simulated camera over its loopback BLE link (Robolectric's Bluetooth cannot reach a
 * camera): scan, a wrong code refused, pair with the right one, connect through the drive's
 * foreground service (the real service and `CompanionDriveCore`), the drive streamed over signed,
 * pinned HTTPS, the demo's hard brake detected and clipped, the clip uploaded to the S3 server
 * by the upload job's run, and shared as the core decides (the cloud link, fetched here).
 * Not covered here: Android's own Bluetooth and WiFi radios (a phone only).
 */
@RunWith(RobolectricTestRunner::class)
@Config(application = FreshInstallFlowTest.Host::class, sdk = [36])
class FreshInstallFlowTest {
    /** The application: the real core with the simulated camera's BLE link, no WiFi joiner (loopback). */
    class Host : Application(), DriveHost {
        override val workScope = CoroutineScope(SupervisorJob() + Dispatchers.IO)
        lateinit var core: FfiCompanion
        lateinit var transport: BleTransport
        override suspend fun driveCore(): DriveCore = CompanionDriveCore(core, { transport }, null, null)
        override suspend fun companion(): FfiCompanion = core
    }

    private val app get() = RuntimeEnvironment.getApplication() as Host

    @Test
    fun permissionsPairConnectStreamClipUploadShare() = runBlocking {
        // Permissions: nothing granted on a fresh install; each step names what it needs.
        val shadowApp = shadowOf(app)
        for (step in Permissions.Step.entries) {
            assertEquals(step.name, Permissions.required(step), Permissions.missing(app, step))
            shadowApp.grantPermissions(*Permissions.required(step).toTypedArray())
            assertTrue(step.name, Permissions.missing(app, step).isEmpty())
        }

        val code = "13572468"
        val blePort = SimCam.freePort()
        val cam = SimCam.start(
            segmentSecs = 30,
            extraArgs = listOf("--paired-mode", "--pairing-code", code, "--ble-listen", "127.0.0.1:$blePort", "--pairing-backoff-ms", "100"),
        )
        val dir = Files.createTempDirectory("dashkeep-fresh")
        val secrets = MapSecretStore()
        app.transport = BleTransport.loopback(listOf("127.0.0.1:$blePort"))
        app.core = openCompanion(
            dir.toString(),
            CompanionSettings(
                cloud = s3Cloud("robolectric-fresh-${System.nanoTime()}"),
                secretStore = secrets,
                // The phone here is the test machine's disk: its free space must not decide the test.
                safetyFloorMinBytes = 0uL,
                safetyFloorFraction = 0.0,
            ),
        )
        val core = app.core
        try {
            core.setNetwork(NetworkKind.WIFI, false)
            val found = core.scanCameras(app.transport, 5_000u)
            assertEquals(1, found.size)
            val wrong = runCatching { core.pair(app.transport, found.single().address, "11112222") }.exceptionOrNull()
            assertEquals(PairingErrorKind.WrongCode, (wrong as CompanionException.Pairing).reason)
            delay(300) // the camera's back-off after a wrong code
            val paired = core.pair(app.transport, found.single().address, code)
            assertTrue("the pairing went to the keystore", secrets.values.isNotEmpty())

            // Connect: the drive's foreground service owns the connection.
            val intent = Intent(app, DriveService::class.java)
                .setAction(DriveService.ACTION_CONNECT).putExtra(DriveService.EXTRA_SERIAL, paired.serial)
            val service = Robolectric.buildService(DriveService::class.java, intent).create().startCommand(0, 1)
            assertEquals(paired.serial, DriveService.activeSerial(app))
            withTimeout(90_000) {
                while (true) {
                    val d = core.drives(0u, 1u).drives.firstOrNull()
                    if (d != null && d.segments > 0u && d.segmentsOnPhone == d.segments) break
                    delay(200)
                }
            }
            assertTrue("a foreground notification", shadowOf(service.get()).lastForegroundNotification != null)

            // The demo drive's hard brake becomes a clip, which the upload job sends to S3.
            core.cutPendingClips()
            val brake = withTimeout(30_000) {
                var c = core.clips().firstOrNull { it.reason == ClipReason.HARD_BRAKE && it.phonePath != null }
                while (c == null) {
                    delay(200)
                    core.cutPendingClips()
                    c = core.clips().firstOrNull { it.reason == ClipReason.HARD_BRAKE && it.phonePath != null }
                }
                c
            }
            UploadJobService.runQueue(app)
            withTimeout(60_000) { while (core.clip(brake.id).uploadState != UploadState.UPLOADED) delay(100) }

            // Share: the core hands over the link to the clip's page; the page is served, and the
            // video link in its fragment serves the clip's bytes.
            val target = core.shareTarget(brake.id) as ShareTarget.Link
            val http = HttpClient.newHttpClient()
            val (pageUrl, fragment) = target.url.split("#", limit = 2)
            val page = http.send(HttpRequest.newBuilder(URI(pageUrl)).build(), HttpResponse.BodyHandlers.ofString())
            assertEquals(200, page.statusCode())
            assertTrue("the shared link opens the clip's page", page.body().contains("<video"))
            val videoUrl = java.net.URLDecoder.decode(fragment.removePrefix("v="), Charsets.UTF_8)
            val got = http.send(HttpRequest.newBuilder(URI(videoUrl)).build(), HttpResponse.BodyHandlers.ofByteArray())
            assertEquals(200, got.statusCode())
            assertArrayEquals(File(brake.phonePath!!).readBytes(), got.body())

            // The user stops the drive from the notification.
            service.get().onStartCommand(Intent(app, DriveService::class.java).setAction(DriveService.ACTION_STOP), 0, 2)
            assertEquals(null, DriveService.activeSerial(app))
        } finally {
            runCatching { core.disconnect() }
            // The service's own work (its disconnect after Stop) ends before the core closes.
            withTimeoutOrNull(5_000) { app.workScope.coroutineContext.job.children.toList().forEach { it.join() } }
            core.close()
            cam.close()
            dir.toFile().deleteRecursively()
        }
    }
}
