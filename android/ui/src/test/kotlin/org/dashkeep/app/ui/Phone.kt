package org.dashkeep.app.ui

import androidx.compose.ui.geometry.Size
import androidx.compose.ui.graphics.toAwtImage
import androidx.compose.ui.test.SemanticsMatcher
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.hasTestTag
import androidx.compose.ui.test.hasText
import androidx.compose.ui.test.isEnabled
import androidx.compose.ui.test.onRoot
import androidx.compose.ui.test.printToString
import androidx.compose.ui.test.runSkikoComposeUiTest
import androidx.compose.ui.unit.Density
import java.io.File
import javax.imageio.ImageIO

/** A phone's screen: 411 x 914 dp at 2.625 px per dp (1080 x 2400 px, a Pixel-class phone). */
fun phone(block: SkikoComposeUiTest.() -> Unit) =
    runSkikoComposeUiTest(Size(1080f, 2400f), Density(2.625f), block = block)

/**
 * Waits until some node matches (the core answers on its own threads), by the wall clock.
 * Compose's own `waitUntil` renders a frame per check and counts its timeout on the test's
 * virtual clock (16 ms a frame): with software rendering on a busy machine a "60 s" wait took
 * many minutes. Here each check lets Compose settle (`fetchSemanticsNodes` waits for idle), then
 * the test sleeps briefly so the core's threads can work.
 */
fun SkikoComposeUiTest.waitFor(matcher: SemanticsMatcher, timeoutMs: Long = 30_000, unmerged: Boolean = true) = try {
    waitTill("${matcher.description} to appear", timeoutMs) { onAllNodes(matcher, useUnmergedTree = unmerged).fetchSemanticsNodes().isNotEmpty() }
} catch (e: AssertionError) {
    // What the screen showed instead, for whoever reads the failure.
    throw AssertionError("${e.message}; the screen shows:\n${onRoot().printToString()}", e)
}

/** Waits until `condition` holds, by the wall clock (see [waitFor]). */
fun SkikoComposeUiTest.waitTill(what: String, timeoutMs: Long, condition: () -> Boolean) {
    val deadline = System.nanoTime() + timeoutMs * 1_000_000
    while (!condition()) {
        if (System.nanoTime() > deadline) throw AssertionError("timed out after $timeoutMs ms waiting for $what")
        Thread.sleep(50)
        waitForIdle()
    }
}

/** Waits for a text (a substring). */
fun SkikoComposeUiTest.waitForText(text: String, timeoutMs: Long = 30_000) = waitFor(hasText(text, substring = true), timeoutMs)

/** Waits until a button with `text` can be pressed. */
fun SkikoComposeUiTest.waitEnabled(text: String, timeoutMs: Long = 30_000) =
    // The merged tree: a button's text carries the button's enabled state only there.
    waitFor(hasText(text, substring = true) and isEnabled(), timeoutMs, unmerged = false)

/** Waits for a test tag. */
fun SkikoComposeUiTest.waitForTag(tag: String, timeoutMs: Long = 30_000) = waitFor(hasTestTag(tag), timeoutMs)

/** Writes what the screen shows now as a PNG. */
fun SkikoComposeUiTest.savePng(file: File) {
    waitForIdle()
    file.parentFile.mkdirs()
    ImageIO.write(captureToImage().toAwtImage(), "png", file)
}
