package org.dashkeep.app.platform

import android.media.MediaPlayer
import android.os.Looper
import java.io.IOException
import java.time.Duration
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowMediaPlayer
import org.robolectric.shadows.ShadowMediaPlayer.MediaInfo
import org.robolectric.shadows.ShadowMediaPlayer.State
import org.robolectric.shadows.util.DataSource

/**
 * A drive plays as one timeline on the framework's MediaPlayer (Robolectric's shadow simulates
 * preparation, playback time and completion): segment after segment with the next one prepared
 * ahead, seeks in drive time across segments, a segment that cannot be read skipped, the end
 * reported, and every player released.
 */
@RunWith(RobolectricTestRunner::class)
class DrivePlaybackTest {
    private val players = mutableListOf<MediaPlayer>()
    private val events = mutableListOf<String>()

    private fun segment(name: String, durationMs: Int): String {
        val path = "/data/dashkeep/drives/$name.mp4"
        ShadowMediaPlayer.addMediaInfo(DataSource.toDataSource(path), MediaInfo(durationMs, 50))
        return path
    }

    private fun playback(files: List<String>, durations: List<Long>) =
        DrivePlayback(files, durations) { MediaPlayer().also { players += it } }.also {
            it.listener = object : DrivePlayback.Listener {
                override fun onSegment(index: Int) { events += "segment $index" }
                override fun onSkipped(index: Int) { events += "skipped $index" }
                override fun onEnd() { events += "end" }
            }
        }

    private fun idle(ms: Long) = shadowOf(Looper.getMainLooper()).idleFor(Duration.ofMillis(ms))

    private fun state(p: MediaPlayer): State = shadowOf(p).state

    @Test
    fun aDrivePlaysSegmentAfterSegmentWithTheNextPreparedAhead() {
        val files = listOf(segment("a", 60_000), segment("b", 60_000), segment("c", 30_000))
        val playback = playback(files, listOf(60_000, 60_000, 30_000))
        assertEquals("the whole drive is one timeline", 150_000, playback.duration)
        playback.start()
        idle(1_000)
        assertTrue("the first segment plays", playback.isPlaying)
        assertEquals("playing: the first segment", State.STARTED, state(players[0]))
        assertEquals("the second segment is prepared while the first plays", State.PREPARED, state(players[1]))

        idle(60_000)
        assertEquals("the second segment took over at the first one's end", 1, playback.segmentIndex)
        assertEquals("the first segment's player is freed", State.END, state(players[0]))
        assertEquals("the prepared player is the one playing", State.STARTED, state(players[1]))
        assertTrue("drive time runs on across the cut: ${playback.currentPosition}", playback.currentPosition in 60_000..62_000)

        idle(100_000)
        assertEquals(listOf("segment 0", "segment 1", "segment 2", "end"), events)
        assertFalse("nothing plays after the drive's end", playback.isPlaying)
        assertEquals("the position is the drive's end", 150_000, playback.currentPosition)
        playback.release()
        assertTrue("every player is released", players.all { state(it) == State.END })
    }

    @Test
    fun aSeekInDriveTimeLandsInTheRightSegmentAndOffset() {
        val files = listOf(segment("d", 60_000), segment("e", 60_000), segment("f", 30_000))
        val playback = playback(files, listOf(60_000, 60_000, 30_000))
        playback.start()
        idle(500)
        playback.seekTo(130_000)
        idle(500)
        assertEquals("130 s into the drive is the third segment", 2, playback.segmentIndex)
        assertTrue("at 10 s into it: ${playback.currentPosition}", playback.currentPosition in 130_000..131_500)
        assertTrue("and it goes on playing", playback.isPlaying)

        playback.seekTo(15_000)
        idle(200)
        assertEquals("back to the first segment", 0, playback.segmentIndex)
        assertTrue("at 15 s: ${playback.currentPosition}", playback.currentPosition in 15_000..16_000)
        playback.pause()
        idle(5_000)
        assertFalse("paused", playback.isPlaying)
        assertTrue("a paused drive stays where it is: ${playback.currentPosition}", playback.currentPosition in 15_000..16_000)
        playback.release()
    }

    @Test
    fun aSegmentThatCannotBeReadIsSkippedNotACrash() {
        val gone = "/data/dashkeep/drives/evicted.mp4"
        ShadowMediaPlayer.addException(DataSource.toDataSource(gone), IOException("No such file"))
        val files = listOf(segment("g", 10_000), gone, segment("h", 10_000))
        val playback = playback(files, listOf(10_000, 60_000, 10_000))
        playback.start()
        idle(11_000)
        assertEquals("the unreadable segment is skipped", listOf("segment 0", "skipped 1", "segment 2"), events)
        assertEquals(2, playback.segmentIndex)
        assertTrue("the drive goes on after the gap: ${playback.currentPosition}", playback.currentPosition in 70_000..72_000)
        assertTrue(playback.isPlaying)

        // A player error in the middle of a segment (a truncated file) moves on as well.
        val broken = segment("i", 20_000)
        ShadowMediaPlayer.getMediaInfo(DataSource.toDataSource(broken)).scheduleErrorAtOffset(5_000, MediaPlayer.MEDIA_ERROR_UNKNOWN, MediaPlayer.MEDIA_ERROR_MALFORMED)
        events.clear()
        val second = playback(listOf(broken, segment("j", 10_000)), listOf(20_000, 10_000))
        second.start()
        idle(7_000)
        assertEquals(listOf("segment 0", "skipped 0", "segment 1"), events)
        assertTrue(second.isPlaying)
        playback.release()
        second.release()
    }

    @Test
    fun anEmptyPlaylistDoesNothing() {
        val playback = playback(emptyList(), emptyList())
        playback.start()
        assertFalse(playback.isPlaying)
        assertEquals(0, playback.duration)
        assertEquals(0, playback.currentPosition)
        assertTrue("no player is made for nothing", players.isEmpty())
    }
}
