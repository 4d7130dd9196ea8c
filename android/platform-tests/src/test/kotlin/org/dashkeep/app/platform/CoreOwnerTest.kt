package org.dashkeep.app.platform

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.dashkeep.app.DashkeepApp
import org.dashkeep.ffi.openCompanion
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertSame
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import java.util.concurrent.atomic.AtomicInteger

/** The app-scoped owner of the real core: opened once, off the main thread; a failure is a state. */
@RunWith(RobolectricTestRunner::class)
@Config(application = TestDashkeepApp::class)
class CoreOwnerTest {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    @Test
    fun theAppOpensTheCoreOffTheMainThreadOnceAndKeepsObjectsAcrossActivities() = runBlocking {
        val app = RuntimeEnvironment.getApplication() as DashkeepApp
        val companion = withTimeout(30_000) { app.companion() }
        assertNotNull("the real core opened: ${app.core.state.value}", companion)
        assertTrue(companion!!.dataDir().endsWith("dashkeep"))
        app.core.start() // a second start (another activity) opens nothing more
        assertSame(companion, app.companion())
        val first = app.retained("home") { Any() }
        assertSame("a rotated activity gets the same object", first, app.retained("home") { Any() })
    }

    @Test
    fun openingIsStartedOnceHoweverOftenItIsAsked() = runBlocking {
        val opened = AtomicInteger()
        val dir = RealCore.tempDir("owner")
        val owner = CoreOwner(scope) { opened.incrementAndGet(); openCompanion(dir.path, RealCore.settings(null)) }
        repeat(3) { owner.start() }
        assertNotNull(withTimeout(30_000) { owner.companion() })
        assertEquals(1, opened.get())
    }

    @Test
    fun aBusyDataDirectoryIsAFailedStateWithAMessageAndRetryWorksOnceFree() = runBlocking {
        val dir = RealCore.tempDir("busy")
        val holder = RealCore.open(dir)
        val owner = CoreOwner(scope) { openCompanion(dir.path, RealCore.settings(null)) }
        owner.start()
        val failed = withTimeout(30_000) { owner.state.first { it !is CoreOwner.State.Opening } }
        assertTrue("$failed", failed is CoreOwner.State.Failed)
        assertTrue((failed as CoreOwner.State.Failed).message, failed.message.contains("in use by another copy"))
        holder.close()
        owner.retry()
        val ready = withTimeout(30_000) { owner.state.first { it is CoreOwner.State.Ready } }
        assertTrue("$ready", ready is CoreOwner.State.Ready)
    }
}
