package org.dashkeep.app.ui

import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.performScrollToIndex
import java.nio.file.Files
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import org.dashkeep.app.viewmodels.VideosViewModel
import org.dashkeep.ffi.debugSeedCatalogForTests
import org.dashkeep.ffi.openCompanion
import org.dashkeep.ffi.testSettings
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * A year of driving and more: 100,000 one-minute segments (4,000 drives) recorded in a real
 * catalog through the core, then the Videos list scrolled from the newest drive to the oldest
 * with Compose's test API. The list holds pages, not the whole catalog: it starts with one page
 * and grows a page at a time as the end comes near.
 */
class BigCatalogTest {
    @Test
    fun `the Videos list scrolls through 100,000 segments a page at a time`() {
        val dir = Files.createTempDirectory("dashkeep-big")
        val seedStart = System.nanoTime()
        val added = runBlocking { debugSeedCatalogForTests(dir.toString(), "DK-BIG", SEGMENTS.toUInt(), PER_DRIVE.toUInt()) }
        println("BigCatalogTest: $SEGMENTS segments recorded in ${(System.nanoTime() - seedStart) / 1_000_000} ms")
        assertEquals(SEGMENTS, added.toInt())
        val companion = runBlocking { openCompanion(dir.toString(), testSettings()) }
        // What one page costs the core here (printed for the record, not asserted: timing).
        runBlocking {
            val t0 = System.nanoTime()
            companion.drives(0u, PAGE.toUInt())
            val t1 = System.nanoTime()
            companion.atRiskNow()
            println("BigCatalogTest: drives(0, $PAGE) ${(t1 - t0) / 1_000_000} ms, atRiskNow() ${(System.nanoTime() - t1) / 1_000_000} ms")
        }
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        try {
            val vm = VideosViewModel(companion, scope, pageSize = PAGE)
            phone {
                setContent { DashkeepTheme(dark = false) { VideosScreen(vm, onOpenDrive = {}, onOpenClip = {}) } }
                waitForTag("drives")
                waitTill("the first page", 120_000) { vm.state.value.drives.isNotEmpty() }
                assertEquals(DRIVES, vm.state.value.totalDrives)
                assertEquals(PAGE, vm.state.value.drives.size, "one page at first, not the catalog")
                var pages = 1
                var loaded = vm.state.value.drives.size
                while (loaded < DRIVES) {
                    onNodeWithTag("drives").performScrollToIndex(loaded - 1)
                    waitTill("page ${pages + 1}", 60_000) { vm.state.value.drives.size > loaded }
                    val now = vm.state.value.drives.size
                    assertTrue(now <= loaded + PAGE, "one page at a time: $loaded -> $now")
                    loaded = now
                    pages++
                }
                onNodeWithTag("drives").performScrollToIndex(DRIVES - 1)
                val oldest = vm.state.value.drives.last()
                waitForTag("drive-${oldest.id}")
                assertEquals(DRIVES / PAGE, pages)
                assertEquals(DRIVES, vm.state.value.drives.map { it.id }.distinct().size, "every drive once")
                assertTrue(vm.state.value.drives.zipWithNext().all { (a, b) -> a.startedAtMs > b.startedAtMs }, "newest first")
            }
        } finally {
            scope.cancel()
            companion.close()
            dir.toFile().deleteRecursively()
        }
    }

    private companion object {
        const val SEGMENTS = 100_000
        const val PER_DRIVE = 25
        const val DRIVES = SEGMENTS / PER_DRIVE
        /** Pages of 500 rows (the app's default is 50): the walk to the end stays short. */
        const val PAGE = 500
    }
}
