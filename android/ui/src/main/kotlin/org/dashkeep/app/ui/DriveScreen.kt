@file:OptIn(androidx.compose.material3.ExperimentalMaterial3Api::class, ExperimentalLayoutApi::class)

package org.dashkeep.app.ui

import androidx.compose.foundation.Canvas
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.Spacer
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.Path
import androidx.compose.ui.graphics.drawscope.DrawScope
import androidx.compose.ui.graphics.drawscope.Stroke
import androidx.compose.ui.text.drawText
import androidx.compose.ui.text.rememberTextMeasurer
import kotlin.math.cos
import org.dashkeep.app.viewmodels.kmh
import org.dashkeep.app.viewmodels.place
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.RangeSlider
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.geometry.Size
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import org.dashkeep.app.viewmodels.DriveState
import org.dashkeep.app.viewmodels.DriveViewModel
import org.dashkeep.app.viewmodels.bytes
import org.dashkeep.app.viewmodels.duration
import org.dashkeep.ffi.Residency

/** A drive: play it, its timeline (segments by where they live, incidents), a clip from a range, lock, remove. */
@Composable
fun DriveScreen(vm: DriveViewModel, onOpenClip: (Long) -> Unit) {
    val state by vm.state.collectAsState()
    LaunchedEffect(Unit) { vm.load() }
    LaunchedEffect(state.madeClipId) {
        state.madeClipId?.let {
            vm.clipShown()
            onOpenClip(it)
        }
    }
    val drive = state.drive
    Column(Modifier.fillMaxWidth().verticalScroll(rememberScrollState()).padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        ErrorBanner(state.error, vm::dismissError)
        if (drive == null) {
            Text("Loading the drive…")
            return@Column
        }
        Text(dateTime(drive.startedAtMs), style = MaterialTheme.typography.headlineSmall)
        Text(
            "${duration(drive.durationMs)} · ${plural(drive.segments, "segment")} · ${drive.segmentsOnPhone} on this phone (${bytes(drive.bytesOnPhone)})${lenses(drive.channels)}",
            style = MaterialTheme.typography.bodyMedium,
        )
        ResidencyBadges(drive.residencies)
        if (state.playlist.isNotEmpty()) {
            LocalPlatform.current.VideoPlayer(state.playlist, Modifier.fillMaxWidth().height(200.dp).testTag("player"))
        } else {
            Banner("No video of this drive is on the phone. Stream it from the camera to play it.", warning = false)
        }
        Summary(state)
        Section("Timeline") {
            Timeline(state, Modifier.fillMaxWidth().height(200.dp).testTag("timeline"))
            val colors = LocalResidencyColors.current
            FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
                Badge("Phone", colors.phone)
                Badge("Camera only", colors.camera)
                Badge("Cloud only", colors.cloud)
                Badge("Gone", colors.nowhere)
                Badge("Incident", MaterialTheme.colorScheme.error)
            }
        }
        RouteMap(state)
        if (state.incidents.isNotEmpty()) {
            Section("Incidents") {
                state.incidents.forEach { i ->
                    val place = if (i.lat != null && i.lon != null) " · %.5f, %.5f".format(i.lat, i.lon) else ""
                    val peak = i.peakG?.let { " · %.1f g".format(it) } ?: ""
                    Text("${kindLabel(i.kind)} at ${duration(i.offsetMs)}$peak$place")
                }
            }
        }
        Section("Make a clip") {
            val length = state.lengthS.toFloat().coerceAtLeast(1f)
            RangeSlider(
                value = state.clipFromS.toFloat()..state.clipToS.toFloat(),
                onValueChange = { vm.setClipRange(it.start.toDouble(), it.endInclusive.toDouble()) },
                valueRange = 0f..length,
                modifier = Modifier.testTag("clip-range"),
            )
            Text("From ${duration((state.clipFromS * 1000).toLong())} to ${duration((state.clipToS * 1000).toLong())}")
            Button({ vm.makeClip() }, enabled = !state.busy && state.clipToS > state.clipFromS, modifier = Modifier.fillMaxWidth()) {
                Text("Make a clip")
            }
        }
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedButton({ vm.setLocked(!drive.locked) }, enabled = !state.busy) { Text(if (drive.locked) "Unlock" else "Lock") }
            OutlinedButton({ vm.removeFromPhone() }, enabled = !state.busy && Residency.PHONE in drive.residencies) { Text("Remove from phone") }
        }
        if (drive.locked) Text("Locked: the phone keeps this drive whatever the quota.", style = MaterialTheme.typography.bodySmall)
    }
}

/** The drive's figures (distance, time, speeds) and what is missing without GPS. */
@Composable
private fun Summary(state: DriveState) {
    Section("Summary") {
        state.summaryError?.let { Text("The summary could not be read: $it", color = MaterialTheme.colorScheme.error) }
        if (state.summary == null && state.summaryError == null) Text("Reading the drive…")
        state.figures.chunked(3).forEach { row ->
            Row(Modifier.fillMaxWidth()) {
                row.forEach { (label, value) ->
                    Column(Modifier.weight(1f)) {
                        Text(value, style = MaterialTheme.typography.titleMedium, modifier = Modifier.testTag("figure-$label"))
                        Text(label, style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.onSurfaceVariant)
                    }
                }
                repeat(3 - row.size) { Spacer(Modifier.weight(1f)) }
            }
        }
        state.missing.forEach { Text(it, style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.onSurfaceVariant, modifier = Modifier.testTag("gps-missing")) }
    }
}

/**
 * The drive on one time axis: the speed curve, the g-force curve, and the segments coloured by
 * where each lives; incidents are red lines across all three.
 */
@Composable
private fun Timeline(state: DriveState, modifier: Modifier) {
    val colors = LocalResidencyColors.current
    val incident = MaterialTheme.colorScheme.error
    val track = MaterialTheme.colorScheme.surfaceVariant
    val speedColor = MaterialTheme.colorScheme.primary
    val gColor = MaterialTheme.colorScheme.tertiary
    val label = MaterialTheme.colorScheme.onSurfaceVariant
    val measurer = rememberTextMeasurer()
    val textStyle = MaterialTheme.typography.labelSmall.copy(color = label)
    val summary = state.summary
    val total = (summary?.durationMs ?: state.drive?.durationMs ?: 0).coerceAtLeast(1).toFloat()
    val topSpeed = summary?.speed?.maxOfOrNull { it.value } ?: 0.0
    val topG = summary?.gForce?.maxOfOrNull { it.value } ?: 0.0
    Canvas(modifier) {
        val bandGap = 8.dp.toPx()
        val labelH = 14.dp.toPx()
        val barH = 14.dp.toPx()
        val curvesH = size.height - barH - labelH - 2 * bandGap
        val speedBand = 0f to curvesH * 0.55f
        val gBand = curvesH * 0.55f + bandGap to curvesH + bandGap
        val barTop = curvesH + 2 * bandGap
        fun x(tMs: Long) = tMs / total * size.width
        fun band(top: Float, bottom: Float) = drawRect(track.copy(alpha = 0.35f), Offset(0f, top), Size(size.width, bottom - top))
        band(speedBand.first, speedBand.second)
        band(gBand.first, gBand.second)
        summary?.let { r ->
            curve(r.speed.map { it.tMs to it.value }, topSpeed, speedBand, total, speedColor)
            curve(r.gForce.map { it.tMs to it.value }, topG, gBand, total, gColor)
        }
        drawText(measurer, if (topSpeed > 0) "Speed, top ${kmh(topSpeed)}" else "Speed: no GPS", Offset(4f, speedBand.first + 2f), textStyle)
        drawText(measurer, if (topG > 0) "g-force, peak %.1f g".format(topG) else "g-force: no data", Offset(4f, gBand.first + 2f), textStyle)
        drawRect(track, Offset(0f, barTop), Size(size.width, barH))
        val segments = summary?.segments
        if (segments != null) {
            segments.forEach { s ->
                val c = when (s.place()) {
                    Residency.PHONE -> colors.phone
                    Residency.CAMERA -> colors.camera
                    Residency.CLOUD -> colors.cloud
                    null -> colors.nowhere
                }
                drawRect(c, Offset(x(s.offsetMs), barTop), Size((x(s.durationMs) - 1f).coerceAtLeast(1f), barH))
            }
        } else {
            state.segments.forEach { s ->
                val c = if (s.phonePath != null) colors.phone else colors.camera
                drawRect(c, Offset(x(s.startMs), barTop), Size((x(s.durationMs) - 1f).coerceAtLeast(1f), barH))
            }
        }
        val marks = summary?.incidents?.map { it.offsetMs } ?: state.incidents.map { it.offsetMs }
        marks.forEach { t -> drawRect(incident, Offset(x(t) - 1.5f, 0f), Size(3f, barTop + barH)) }
        val axisY = barTop + barH + 2f
        drawText(measurer, "0:00", Offset(0f, axisY), textStyle)
        val end = measurer.measure(duration(total.toLong()), textStyle)
        drawText(end, topLeft = Offset(size.width - end.size.width, axisY))
    }
}

/** One curve in its band, scaled to its own maximum. */
private fun DrawScope.curve(points: List<Pair<Long, Double>>, max: Double, band: Pair<Float, Float>, totalMs: Float, color: Color) {
    if (points.size < 2 || max <= 0) return
    val (top, bottom) = band
    val h = bottom - top - 16.dp.toPx()
    val path = Path()
    points.forEachIndexed { i, (t, v) ->
        val px = t / totalMs * size.width
        val py = bottom - (v / max).toFloat() * h
        if (i == 0) path.moveTo(px, py) else path.lineTo(px, py)
    }
    drawPath(path, color, style = Stroke(width = 2.dp.toPx()))
}

/** The GPS track drawn as a path (north up), its start, end and incidents marked. */
@Composable
private fun RouteMap(state: DriveState) {
    val r = state.summary ?: return
    Section("Route") {
        if (r.track.size < 2) {
            Text("No GPS track for this drive.", style = MaterialTheme.typography.bodyMedium, modifier = Modifier.testTag("no-track"))
            return@Section
        }
        val line = MaterialTheme.colorScheme.primary
        val start = LocalResidencyColors.current.phone
        val incident = MaterialTheme.colorScheme.error
        val bg = MaterialTheme.colorScheme.surfaceVariant.copy(alpha = 0.35f)
        Canvas(Modifier.fillMaxWidth().height(220.dp).testTag("track")) {
            drawRect(bg)
            val lat0 = r.track.sumOf { it.lat } / r.track.size
            val k = cos(Math.toRadians(lat0))
            val xs = r.track.map { it.lon * k }
            val ys = r.track.map { it.lat }
            val pad = 12.dp.toPx()
            val spanX = (xs.max() - xs.min()).coerceAtLeast(1e-9)
            val spanY = (ys.max() - ys.min()).coerceAtLeast(1e-9)
            val scale = minOf((size.width - 2 * pad) / spanX, (size.height - 2 * pad) / spanY)
            val offX = (size.width - spanX * scale) / 2
            val offY = (size.height - spanY * scale) / 2
            fun at(lat: Double, lon: Double) = Offset(
                (offX + (lon * k - xs.min()) * scale).toFloat(),
                (size.height - offY - (lat - ys.min()) * scale).toFloat(),
            )
            val path = Path()
            r.track.forEachIndexed { i, p -> at(p.lat, p.lon).let { o -> if (i == 0) path.moveTo(o.x, o.y) else path.lineTo(o.x, o.y) } }
            drawPath(path, line, style = Stroke(width = 3.dp.toPx()))
            drawCircle(start, 6.dp.toPx(), at(r.track.first().lat, r.track.first().lon))
            drawCircle(line, 6.dp.toPx(), at(r.track.last().lat, r.track.last().lon))
            r.incidents.forEach { i -> i.place?.let { p -> drawCircle(incident, 7.dp.toPx(), at(p.lat, p.lon)) } }
        }
        Text("Green: start · blue: end · red: incidents. ${r.gpsFixes} GPS fixes.", style = MaterialTheme.typography.bodySmall)
    }
}
