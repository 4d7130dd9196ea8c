package org.dashkeep.app.viewmodels

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.dashkeep.ffi.BleTransport
import org.dashkeep.ffi.ClipReason
import org.dashkeep.ffi.openCompanion
import org.dashkeep.ffi.CompanionSettings
import org.dashkeep.ffi.Residency
import org.dashkeep.ffi.ShareTarget
import org.dashkeep.ffi.StorageProbe
import org.dashkeep.ffi.VolumeSpace
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.net.ServerSocket
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files

/** The view models on a real Companion (and the simulated camera), on a plain JVM. */
class ViewModelsTest {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private val dir = Files.createTempDirectory("dashkeep-vm")
    private val probe = object : StorageProbe {
        override fun volumeSpace(path: String) = VolumeSpace(totalBytes = 100uL shl 30, availableBytes = 80uL shl 30)
    }
    private val companion = runBlocking {
        openCompanion(dir.toString(), CompanionSettings(storageProbe = probe, maxRetries = 1u, firstBackoffMs = 10uL))
    }

    @AfterEach
    fun close() {
        scope.cancel()
        companion.close()
        dir.toFile().deleteRecursively()
    }

    @Test
    fun `home streams, shows the connection and fills the storage bar`() = runBlocking {
        withSimCam { url ->
            val home = HomeViewModel(companion, scope) { url }
            home.streamNow().join()
            val state = withTimeout(30_000) {
                home.state.first { it.connection is ConnectionState.Connected && it.segmentsStored > 0 && !it.busy }
            }
            assertEquals(null, state.error)
            val bar = withTimeout(10_000) { home.state.first { (it.storage?.usedBytes ?: 0) > 0 }.storage!! }
            assertEquals(0.5, bar.quotaFraction)
            assertEquals(50L shl 30, bar.quotaBytes)
            assertTrue(bar.usedShare > 0f)
        }
    }

    @Test
    fun `home says to free space on a phone other apps filled, not to raise the quota`() = runBlocking {
        // 100 GiB, of which other apps leave 2 GiB: under the 5 GiB the phone keeps for itself.
        val crowded = object : StorageProbe {
            override fun volumeSpace(path: String) = VolumeSpace(totalBytes = 100uL shl 30, availableBytes = 2uL shl 30)
        }
        val crowdedDir = Files.createTempDirectory("dashkeep-vm-crowded")
        val core = openCompanion(crowdedDir.toString(), CompanionSettings(storageProbe = crowded, maxRetries = 1u, firstBackoffMs = 10uL))
        try {
            withSimCam { url ->
                val home = HomeViewModel(core, scope) { url }
                home.streamNow().join()
                val state = withTimeout(30_000) { home.state.first { it.error != null && it.storage?.full == true } }
                assertTrue(state.error!!.contains("Free some space on the phone"), state.error)
                assertTrue(state.storage!!.phoneFull, "the Home screen says: free space on the phone")
            }
        } finally {
            core.close()
            crowdedDir.toFile().deleteRecursively()
        }
    }

    @Test
    fun `home shows a typed error for a bad camera URL`() = runBlocking {
        val home = HomeViewModel(companion, scope) { "not a url" }
        home.streamNow().join()
        assertTrue(home.state.value.error!!.startsWith("Camera: "), home.state.value.error)
    }

    @Test
    fun `videos lists drives with residency badges, pages, locks and removes`() = runBlocking {
        withSimCam { url ->
            companion.streamNow(url)
            val videos = VideosViewModel(companion, scope, pageSize = 1)
            videos.refresh().join()
            val s = videos.state.value
            assertEquals(1, s.drives.size, "one page of one")
            assertTrue(s.totalDrives >= 1)
            assertEquals(listOf(Residency.CAMERA, Residency.PHONE), s.drives[0].residencies)
            assertEquals(0, s.atRiskCount)
            videos.loadMore().join()
            assertEquals(minOf(2, s.totalDrives), videos.state.value.drives.size)

            val id = s.drives[0].id
            videos.setLocked(id, true).join()
            assertTrue(videos.state.value.drives.first { it.id == id }.locked)
            videos.removeFromPhone(id).join()
            assertEquals(listOf(Residency.CAMERA), videos.state.value.drives.first { it.id == id }.residencies)
            videos.select(VideosTab.CLIPS)
            assertEquals(VideosTab.CLIPS, videos.state.value.tab)
        }
    }

    @Test
    fun `settings quota defaults to half, round-trips and shows the refusal`() = runBlocking {
        val settings = SettingsViewModel(companion, scope)
        assertEquals(0.5, settings.state.value.quota)
        assertEquals(0.1..0.9, settings.quotaRange, "the core's bounds")
        settings.setQuota(0.7).join()
        assertEquals(0.7, settings.state.value.quota)
        settings.setQuota(0.95).join()
        assertEquals(0.7, settings.state.value.quota, "the core refused it")
        assertTrue(settings.state.value.error!!.startsWith("Storage: "))
        assertFalse(settings.state.value.pairingAvailable)
    }

    @Test
    fun `every clip reason has its title, the camera's lock included`() {
        assertEquals("Locked by the camera", ClipReason.CAMERA_LOCKED.title())
        val titles = ClipReason.values().map { it.title() }
        assertEquals(titles.size, titles.toSet().size, "one title per reason: $titles")
    }

    @Test
    fun `clip delete asks first and says the cloud copy goes too`() = runBlocking {
        val deleted = mutableListOf<Long>()
        val source = object : ClipSource {
            override suspend fun clip(id: Long) = ClipInfo(id, "Hard brake", "/clip.mp4", listOf(Residency.PHONE, Residency.CLOUD))
            override suspend fun shareTarget(id: Long) = ShareTarget.Link("https://share/$id")
            override suspend fun delete(id: Long) { deleted += id }
        }
        val vm = ClipViewModel(source, scope, clipId = 7)
        vm.load().join()
        assertTrue("from the cloud for good" in vm.deleteWarning, vm.deleteWarning)
        vm.confirmDelete().join()
        assertTrue(deleted.isEmpty(), "nothing is deleted without the confirmation")
        vm.requestDelete()
        assertTrue(vm.state.value.confirmingDelete)
        vm.cancelDelete()
        vm.confirmDelete().join()
        assertTrue(deleted.isEmpty())
        vm.requestDelete()
        vm.confirmDelete().join()
        assertEquals(listOf(7L), deleted)
        assertTrue(vm.state.value.deleted)
        vm.share().join()
        assertNotNull(vm.state.value.share)
    }

    @Test
    fun `settings pairs with the code and home connects and streams`() = runBlocking {
        val blePort = ServerSocket(0).use { it.localPort }
        val extra = listOf("--paired-mode", "--pairing-code", "97531864", "--ble-listen", "127.0.0.1:$blePort")
        withSimCam(extra) { _ ->
            val transport = BleTransport.loopback(listOf("127.0.0.1:$blePort"))
            val settings = SettingsViewModel(companion, scope) { transport }
            assertTrue(settings.state.value.pairingAvailable)
            settings.scan().join()
            val device = settings.state.value.found.single()
            settings.pair(device.address, "11112222").join()
            assertTrue(settings.state.value.error!!.startsWith("Pairing: wrong code"), settings.state.value.error)
            assertTrue(settings.state.value.paired.isEmpty())
            val deadline = System.currentTimeMillis() + 10_000
            do {
                // The camera backs off after a wrong code; the message says for how long.
                Thread.sleep(300)
                settings.pair(device.address, "97531864").join()
            } while (settings.state.value.paired.isEmpty() && System.currentTimeMillis() < deadline)
            val camera = settings.state.value.paired.single()

            val home = HomeViewModel(companion, scope, CameraLink({ transport }, wifi = null)) { camera.apiUrl }
            home.connect(camera.serial).join()
            val state = withTimeout(30_000) { home.state.first { it.streaming && it.segmentsStored > 0 } }
            assertEquals("Camera ${camera.serial}: streaming", state.connection.label)
            home.disconnect().join()
            withTimeout(10_000) { home.state.first { it.connection.label == "Camera: stopped" } }
            settings.unpair(camera.serial).join()
            assertTrue(settings.state.value.paired.isEmpty(), "${settings.state.value}")
        }
    }

    private suspend fun withSimCam(extra: List<String> = emptyList(), block: suspend (String) -> Unit) {
        val root = File(System.getProperty("dashkeep.root") ?: "../..")
        val target = File(System.getProperty("dashkeep.target") ?: "$root/target/debug")
        val port = ServerSocket(0).use { it.localPort }
        val process = ProcessBuilder(
            listOf(
                "${target.path}/simcam", "--listen", "127.0.0.1:$port", "--instant", "--speed", "600",
                "--segment-secs", "30", "--scenario", File(root, "tests/simcam/scenarios/demo.toml").path,
                "--pairing-backoff-ms", "100",
            ) + extra +
                // Like a real camera, simcam serves nothing unsigned unless told to (unpaired tests).
                (if ("--paired-mode" in extra) emptyList() else listOf("--open")),
        ).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
        try {
            val url = "http://127.0.0.1:$port"
            val http = HttpClient.newHttpClient()
            val deadline = System.currentTimeMillis() + 60_000
            while (true) {
                check(process.isAlive && System.currentTimeMillis() < deadline) { "simcam did not start" }
                val ok = runCatching {
                    // Any answer: a camera in paired mode answers plain HTTP with 403.
                    http.send(HttpRequest.newBuilder(URI("$url/api/v1/status")).build(), HttpResponse.BodyHandlers.discarding()).statusCode() in 200..499
                }.getOrDefault(false)
                if (ok) break
                Thread.sleep(100)
            }
            block(url)
        } finally {
            process.destroy()
            process.waitFor()
        }
    }
}
