package org.dashkeep.app.viewmodels

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.dashkeep.ffi.CompanionEvent
import org.dashkeep.ffi.CompanionInterface
import org.dashkeep.ffi.Drive
import org.dashkeep.ffi.DriveReport
import org.dashkeep.ffi.GpsMissing
import org.dashkeep.ffi.Incident
import org.dashkeep.ffi.Residency
import org.dashkeep.ffi.Segment

/** One segment on the drive's timeline. */
data class TimelineSegment(
    val id: Long,
    /** Offset from the drive's start, ms. */
    val startMs: Long,
    val durationMs: Long,
    val sizeBytes: Long,
    /** The phone's file (the player plays these one after another); `null`: not on the phone. */
    val phonePath: String?,
)

/** One phone file for the player and its length (the player's timeline spans the whole list). */
data class PlaylistEntry(val path: String, val durationMs: Long)

/** An incident marked on the timeline. */
data class TimelineIncident(val id: Long, val kind: String, val offsetMs: Long, val peakG: Double?, val lat: Double?, val lon: Double?)

/** Everything a drive's page renders. */
data class DriveState(
    val drive: DriveRow? = null,
    /** The core's summary of the drive (curves, track, figures, what is missing); `null` until read. */
    val summary: DriveReport? = null,
    /** Why the summary could not be read, in words (the rest of the page still works). */
    val summaryError: String? = null,
    val segments: List<TimelineSegment> = emptyList(),
    val incidents: List<TimelineIncident> = emptyList(),
    /** The clip range the user chose, seconds from the drive's start. */
    val clipFromS: Double = 0.0,
    val clipToS: Double = 0.0,
    /** The clip just made: the screen offers to open it. */
    val madeClipId: Long? = null,
    val busy: Boolean = false,
    /** The phone's copy is gone (after "remove from phone"). */
    val removed: Boolean = false,
    val error: String? = null,
) {
    /** The drive's length in seconds (the clip range's bounds). */
    val lengthS: Double get() = (drive?.durationMs ?: 0) / 1000.0

    /** The phone files to play, in order. */
    val playlist: List<PlaylistEntry> get() = segments.mapNotNull { s -> s.phonePath?.let { PlaylistEntry(it, s.durationMs) } }

    /** The drive's figures in words (distance, time, speeds), from the core's summary. */
    val figures: List<Pair<String, String>> get() {
        val r = summary ?: return emptyList()
        return buildList {
            add("Duration" to duration(r.durationMs))
            r.distanceM?.let { add("Distance" to "%.1f km".format(it / 1000)) }
            r.movingMs?.let { add("Moving" to duration(it)) }
            r.averageSpeedMps?.let { add("Average" to kmh(it)) }
            r.topSpeedMps?.let { add("Top speed" to kmh(it)) }
        }
    }

    /** What the page cannot show, in words: the stretches without GPS and why. */
    val missing: List<String> get() {
        val r = summary ?: return emptyList()
        if (r.gpsFixes == 0u && r.gpsMissing.isEmpty()) return listOf("No GPS in this drive: no track, distance or speeds.")
        return r.gpsMissing.groupBy { it.reason }.map { (reason, gaps) ->
            val ms = gaps.sumOf { it.toMs - it.fromMs }
            "No GPS for ${duration(ms)}: ${gpsMissingLabel(reason)}"
        }
    }
}

/** Where a segment of the drive lives, the most useful place first (what the timeline colours). */
fun org.dashkeep.ffi.DriveSegment.place(): Residency? {
    val places = copies.map { it.residency }
    return listOf(Residency.PHONE, Residency.CAMERA, Residency.CLOUD).firstOrNull { it in places }
}

/** km/h from m/s, for a person. */
fun kmh(mps: Double): String = "%.0f km/h".format(mps * 3.6)

/** Why part of a drive has no GPS, in words. */
fun gpsMissingLabel(m: GpsMissing): String = when (m) {
    GpsMissing.NOT_ON_PHONE -> "those videos are not on the phone yet (stream them to see it)"
    GpsMissing.UNREADABLE -> "the camera's GPS file could not be read"
    GpsMissing.NO_FIX -> "the camera had no GPS fix"
    GpsMissing.NOT_RECORDED -> "nothing was recorded then"
}

/**
 * A drive's page: its timeline of segments (where each lives), incidents, a clip from a range,
 * lock and remove from phone, and the core's drive summary: speed and g-force curves, the GPS
 * track, distance and speeds, and what is missing when the GPS is.
 */
class DriveViewModel(
    private val companion: CompanionInterface,
    private val scope: CoroutineScope,
    private val driveId: Long,
) {
    private val _state = MutableStateFlow(DriveState())
    /** The screen's state. */
    val state: StateFlow<DriveState> = _state.asStateFlow()
    private val events: Job = companion.subscribeIn(scope) { e ->
        val mine = when (e) {
            is CompanionEvent.SegmentStored -> e.driveId == driveId
            is CompanionEvent.PhoneCopyRemoved -> e.driveId == driveId
            is CompanionEvent.Evicted, is CompanionEvent.EventsMissed -> true
            else -> false
        }
        if (mine) load()
    }

    /** Loads the drive, its segments and its incidents. */
    fun load(): Job = scope.launch {
        guard {
            val drive = findDrive() ?: throw NoSuchElementException()
            val segments = companion.driveSegments(driveId)
            val incidents = companion.incidents(1000u).filter { it.driveId == driveId }
            val summary = runCatching { companion.driveSummary(driveId) }
            _state.update {
                val row = drive.toDriveRow()
                val fresh = it.drive == null
                it.copy(
                    drive = row,
                    summary = summary.getOrNull() ?: it.summary,
                    summaryError = summary.exceptionOrNull()?.userMessage(),
                    segments = segments.map { s -> s.toTimeline(drive.startedAtMs) },
                    incidents = incidents.map { i -> i.toTimeline(drive.startedAtMs) },
                    clipFromS = if (fresh) 0.0 else it.clipFromS,
                    clipToS = if (fresh) minOf(row.durationMs / 1000.0, 30.0) else it.clipToS,
                )
            }
        }
    }

    /** The range slider moved. */
    fun setClipRange(fromS: Double, toS: Double) = _state.update { it.copy(clipFromS = fromS, clipToS = toS) }

    /** "Make a clip" of the chosen range; the core cuts it from the phone's copies. */
    fun makeClip(): Job = busy {
        val s = _state.value
        val clip = companion.createClip(driveId, s.clipFromS, s.clipToS)
        _state.update { it.copy(madeClipId = clip.id) }
    }

    /** The made clip was opened or dismissed. */
    fun clipShown() = _state.update { it.copy(madeClipId = null) }

    /** Locks or unlocks the drive against the phone's loop recorder. */
    fun setLocked(locked: Boolean): Job = busy {
        if (locked) companion.lockDrive(driveId) else companion.unlockDrive(driveId)
        load().join()
    }

    /** Removes the phone's copy (the camera and the cloud keep theirs). */
    fun removeFromPhone(): Job = busy {
        companion.removeFromPhone(driveId)
        _state.update { it.copy(removed = true) }
        load().join()
    }

    /** The error was read. */
    fun dismissError() = _state.update { it.copy(error = null) }

    /** Stops listening. */
    fun close() = events.cancel()

    private suspend fun findDrive(): Drive? {
        // The catalog pages drives newest first; a drive's page finds its own record there.
        var offset = 0u
        while (true) {
            val page = companion.drives(offset, 200u)
            page.drives.firstOrNull { it.id == driveId }?.let { return it }
            offset += page.drives.size.toUInt()
            if (page.drives.isEmpty() || offset >= page.total) return null
        }
    }

    private fun busy(block: suspend () -> Unit): Job = scope.launch {
        _state.update { it.copy(busy = true, error = null) }
        guard(block)
        _state.update { it.copy(busy = false) }
    }

    private suspend fun guard(block: suspend () -> Unit) {
        try {
            block()
        } catch (e: NoSuchElementException) {
            _state.update { it.copy(error = "This drive is gone. Go back to Videos.") }
        } catch (e: Exception) {
            _state.update { it.copy(error = e.userMessage()) }
        }
    }
}

internal fun Drive.toDriveRow() = DriveRow(
    id = id,
    startedAtMs = startedAtMs,
    durationMs = endedAtMs - startedAtMs,
    segments = segments.toInt(),
    bytesOnPhone = bytesOnPhone.toLong(),
    locked = locked,
    residencies = residencies,
    atRisk = false,
    bytesTotal = bytesTotal.toLong(),
    segmentsOnPhone = segmentsOnPhone.toInt(),
    channels = channels,
)

private fun Segment.toTimeline(driveStartMs: Long) = TimelineSegment(
    id = id,
    startMs = startedAtMs - driveStartMs,
    durationMs = durationMs,
    sizeBytes = sizeBytes.toLong(),
    phonePath = phonePath?.takeUnless { phoneDeleting },
)

private fun Incident.toTimeline(driveStartMs: Long) = TimelineIncident(id, kind, atMs - driveStartMs, peakG, lat, lon)
