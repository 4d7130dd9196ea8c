package org.dashkeep.ffi

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.MethodOrderer
import org.junit.jupiter.api.Order
import org.junit.jupiter.api.TestMethodOrder
import org.junit.jupiter.api.Test
import java.nio.file.Files

/** Runs first in the JVM (junit-platform.properties): nothing has called initPlatform yet. */
@Order(1)
@TestMethodOrder(MethodOrderer.OrderAnnotation::class)
class RuntimeBeforeInitTest {
    @Test
    @Order(1)
    fun `an async export works before initPlatform, from a thread with no reactor`() = runBlocking {
        assertFalse(LibraryUse.used, "this test must be the first to call into the library")
        LibraryUse.used = true
        val dir = Files.createTempDirectory("dashkeep-first")
        // The very first call into the library is an async constructor, then async methods.
        openCompanion(dir.toString(), CompanionSettings()).use { companion ->
            assertEquals(0u, companion.drives(0u, 10u).total)
            assertEquals(0.5, companion.quota())
            assertFalse(companion.status().streaming)
        }
        dir.toFile().deleteRecursively()
        Unit
    }

    @Test
    @Order(2)
    fun `initPlatform is idempotent and forwards logs and panics to the app's sink`() {
        val records = java.util.concurrent.CopyOnWriteArrayList<LogRecord>()
        val sink = object : LogSink {
            override fun log(record: LogRecord) {
                records.add(record)
            }
        }
        val first = initPlatform(PlatformConfig(logFilter = "info", logToStderr = false, logSink = sink))
        val second = initPlatform(PlatformConfig())
        assertTrue(first, "the first call installs")
        assertFalse(second, "later calls do nothing")
        try {
            debugPanicForTests("logged through the hook")
        } catch (_: InternalException) {
            // expected; PanicTest checks the exception itself
        }
        assertTrue(
            records.any { it.level == LogLevel.ERROR && it.target == "panic" && "logged through the hook" in it.message },
            "the panic reached the sink: $records",
        )
    }
}
