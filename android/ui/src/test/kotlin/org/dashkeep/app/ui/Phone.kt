package org.dashkeep.app.ui

import androidx.compose.ui.geometry.Size
import androidx.compose.ui.graphics.toAwtImage
import androidx.compose.ui.test.SemanticsMatcher
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.hasTestTag
import androidx.compose.ui.test.hasText
import androidx.compose.ui.test.isEnabled
import androidx.compose.ui.test.runSkikoComposeUiTest
import androidx.compose.ui.unit.Density
import java.io.File
import javax.imageio.ImageIO

/** A phone's screen: 411 x 914 dp at 2.625 px per dp (1080 x 2400 px, a Pixel-class phone). */
fun phone(block: SkikoComposeUiTest.() -> Unit) =
    runSkikoComposeUiTest(Size(1080f, 2400f), Density(2.625f), block = block)

/** Waits until some node matches (the core answers on its own threads). */
fun SkikoComposeUiTest.waitFor(matcher: SemanticsMatcher, timeoutMs: Long = 60_000) =
    waitUntil("${matcher.description} to appear", timeoutMs) { onAllNodes(matcher, useUnmergedTree = true).fetchSemanticsNodes().isNotEmpty() }

/** Waits for a text (a substring). */
fun SkikoComposeUiTest.waitForText(text: String, timeoutMs: Long = 60_000) = waitFor(hasText(text, substring = true), timeoutMs)

/** Waits until a button with `text` can be pressed. */
fun SkikoComposeUiTest.waitEnabled(text: String, timeoutMs: Long = 60_000) = waitFor(hasText(text, substring = true) and isEnabled(), timeoutMs)

/** Waits for a test tag. */
fun SkikoComposeUiTest.waitForTag(tag: String, timeoutMs: Long = 60_000) = waitFor(hasTestTag(tag), timeoutMs)

/** Writes what the screen shows now as a PNG. */
fun SkikoComposeUiTest.savePng(file: File) {
    waitForIdle()
    file.parentFile.mkdirs()
    ImageIO.write(captureToImage().toAwtImage(), "png", file)
}
