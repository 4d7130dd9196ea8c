package org.dashkeep.ffi

import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CopyOnWriteArrayList

/** Set by every test helper that calls into the library, so the first test can prove it was first. */
object LibraryUse {
    @Volatile var used = false
}

/** A listener recording every event it hears. */
class RecordingListener : CompanionListener {
    val events = CopyOnWriteArrayList<CompanionEvent>()
    override fun onEvent(event: CompanionEvent) {
        events.add(event)
    }

    inline fun <reified T : CompanionEvent> all(): List<T> = events.filterIsInstance<T>()

    /** Waits until `predicate` holds for the events heard so far. */
    fun awaitUntil(timeoutMs: Long = 30_000, predicate: (List<CompanionEvent>) -> Boolean) {
        val deadline = System.currentTimeMillis() + timeoutMs
        while (!predicate(events)) {
            check(System.currentTimeMillis() < deadline) { "timed out; heard ${events.size} events: ${events.takeLast(5)}" }
            Thread.sleep(20)
        }
    }
}

/** A storage probe reporting a fixed volume, as an app's platform probe would. */
class FixedProbe(private val total: ULong, private val available: ULong) : StorageProbe {
    val calls = java.util.concurrent.atomic.AtomicInteger()
    override fun volumeSpace(path: String): VolumeSpace {
        calls.incrementAndGet()
        return VolumeSpace(totalBytes = total, availableBytes = available)
    }
}

val GIB: ULong = 1uL shl 30

/** The tests' settings: a fixed 64 GiB volume, quick retries, and optionally a cloud. */
fun testSettings(cloud: CloudSettings? = null) = CompanionSettings(
    storageProbe = FixedProbe(total = 64uL * GIB, available = 48uL * GIB),
    maxRetries = 1u, firstBackoffMs = 10uL, maxBackoffMs = 50uL,
    cloud = cloud,
)

/** A cloud in a local directory, for `account`. */
fun localCloud(dir: Path, account: String = "kotlin-test") =
    CloudSettings(backend = CloudBackendSettings.Local(dir.toString()), account = account)

/**
 * One companion on a fresh data directory with a recording listener; closes everything.
 * Tests of later features (hard brake, clips, upload, share, delete, restore) open one the same way.
 */
class Session(
    settings: CompanionSettings = testSettings(),
) : AutoCloseable {
    val dir: Path = Files.createTempDirectory("dashkeep-kotlin").also { LibraryUse.used = true }
    val companion: Companion = runBlocking { withTimeout(30_000) { openCompanion(dir.toString(), settings) } }
    val listener = RecordingListener()
    val subscription: TaskHandle = companion.subscribe(listener)

    override fun close() {
        subscription.cancel()
        subscription.close()
        companion.close()
        dir.toFile().deleteRecursively()
    }
}
