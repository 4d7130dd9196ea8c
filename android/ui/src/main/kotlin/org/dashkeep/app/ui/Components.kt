package org.dashkeep.app.ui

import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.layout.width
import androidx.compose.foundation.shape.CircleShape
import androidx.compose.foundation.shape.RoundedCornerShape
import androidx.compose.material3.Card
import androidx.compose.material3.CardDefaults
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.draw.clip
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.text.style.TextAlign
import androidx.compose.ui.unit.dp
import java.text.SimpleDateFormat
import java.util.Date
import java.util.Locale
import org.dashkeep.ffi.Residency

/** "Sun 29 Nov, 14:05". */
fun dateTime(ms: Long): String = SimpleDateFormat("EEE d MMM, HH:mm", Locale.UK).format(Date(ms))

/** "14:05:09". */
fun clockTime(ms: Long): String = SimpleDateFormat("HH:mm:ss", Locale.UK).format(Date(ms))

/** The word for a residency. */
fun Residency.label(): String = when (this) {
    Residency.CAMERA -> "Camera"
    Residency.PHONE -> "Phone"
    Residency.CLOUD -> "Cloud"
}

/** Where a video lives: one small coloured badge per place. */
@Composable
fun ResidencyBadges(residencies: List<Residency>, modifier: Modifier = Modifier) {
    val colors = LocalResidencyColors.current
    Row(modifier, horizontalArrangement = Arrangement.spacedBy(6.dp)) {
        if (residencies.isEmpty()) Badge("Nowhere", colors.nowhere)
        residencies.forEach { Badge(it.label(), colors.of(it)) }
    }
}

/** A small pill. */
@Composable
fun Badge(text: String, color: Color) {
    Row(
        Modifier.clip(RoundedCornerShape(50)).background(color.copy(alpha = 0.16f)).padding(horizontal = 8.dp, vertical = 2.dp),
        verticalAlignment = Alignment.CenterVertically,
    ) {
        Box(Modifier.size(8.dp).clip(CircleShape).background(color))
        Spacer(Modifier.width(4.dp))
        Text(text, style = MaterialTheme.typography.labelMedium, color = MaterialTheme.colorScheme.onSurface)
    }
}

/** A banner with a message and, optionally, an action (errors, warnings). */
@Composable
fun Banner(text: String, modifier: Modifier = Modifier, warning: Boolean = true, action: String? = null, onAction: () -> Unit = {}) {
    val bg = if (warning) MaterialTheme.colorScheme.errorContainer else MaterialTheme.colorScheme.primaryContainer
    val fg = if (warning) MaterialTheme.colorScheme.onErrorContainer else MaterialTheme.colorScheme.onPrimaryContainer
    Surface(color = bg, shape = RoundedCornerShape(12.dp), modifier = modifier.fillMaxWidth().testTag("banner")) {
        Row(Modifier.padding(start = 16.dp, end = 4.dp, top = 8.dp, bottom = 8.dp), verticalAlignment = Alignment.CenterVertically) {
            Text(text, color = fg, style = MaterialTheme.typography.bodyMedium, modifier = Modifier.weight(1f))
            if (action != null) TextButton(onAction) { Text(action, color = fg) }
        }
    }
}

/** An error banner that can be dismissed. */
@Composable
fun ErrorBanner(error: String?, onDismiss: () -> Unit, modifier: Modifier = Modifier) {
    if (error != null) Banner(error, modifier.testTag("error"), warning = true, action = "OK", onAction = onDismiss)
}

/** A bar of several coloured parts over a track (storage by kind). */
@Composable
fun StackedBar(parts: List<Pair<Float, Color>>, modifier: Modifier = Modifier) {
    Row(
        modifier.fillMaxWidth().height(12.dp).clip(RoundedCornerShape(6.dp)).background(MaterialTheme.colorScheme.surfaceVariant),
    ) {
        val shown = parts.filter { it.first > 0f }.map { (share, color) -> share.coerceIn(0.01f, 1f) to color }
        shown.forEach { (share, color) -> Box(Modifier.weight(share).height(12.dp).background(color)) }
        val rest = 1f - shown.sumOf { it.first.toDouble() }.toFloat()
        if (rest > 0.001f) Spacer(Modifier.weight(rest))
    }
}

/** What an empty list says, and what to do about it. */
@Composable
fun EmptyState(title: String, hint: String, modifier: Modifier = Modifier) {
    Column(
        modifier.fillMaxSize().padding(32.dp).testTag("empty"),
        verticalArrangement = Arrangement.Center,
        horizontalAlignment = Alignment.CenterHorizontally,
    ) {
        Text(title, style = MaterialTheme.typography.titleMedium, textAlign = TextAlign.Center)
        Spacer(Modifier.height(8.dp))
        Text(hint, style = MaterialTheme.typography.bodyMedium, textAlign = TextAlign.Center, color = MaterialTheme.colorScheme.onSurfaceVariant)
    }
}

/** A titled card section. */
@Composable
fun Section(title: String, modifier: Modifier = Modifier, content: @Composable () -> Unit) {
    Card(
        modifier.fillMaxWidth(),
        colors = CardDefaults.cardColors(containerColor = MaterialTheme.colorScheme.surfaceContainer),
    ) {
        Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            Text(title, style = MaterialTheme.typography.titleSmall, color = MaterialTheme.colorScheme.primary)
            content()
        }
    }
}
