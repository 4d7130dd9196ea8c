package org.dashkeep.app.platform

import android.media.MediaPlayer
import android.view.Surface
import android.widget.MediaController

/**
 * Plays a drive's segments as one timeline (or a single clip) on the framework's [MediaPlayer],
 * for the drive and clip pages.
 *
 * Positions and seeks are in drive time, so the standard [MediaController] bar spans the whole
 * drive. The segment after the current one is prepared while the current one plays, so moving
 * on costs a surface hand-over, not a file open. (`setNextMediaPlayer` is not used: two players
 * cannot hold one video surface at once.) A segment that cannot be played, for example removed
 * by the loop recorder since the page opened, is skipped and reported, never a crash.
 *
 * Framework APIs only (no Media3, which is not reachable from this build), so it is compiled and
 * tested under Robolectric. Use it from the main thread; [release] it when the page goes.
 */
class DrivePlayback(
    private val files: List<String>,
    durationsMs: List<Long>,
    private val newPlayer: () -> MediaPlayer = ::MediaPlayer,
) : MediaController.MediaPlayerControl {
    /** What the page shows beside the video. */
    interface Listener {
        /** Segment [index] is now the one playing (or paused at). */
        fun onSegment(index: Int) {}

        /** Segment [index] could not be played and was skipped. */
        fun onSkipped(index: Int) {}

        /** The last segment ended. */
        fun onEnd() {}
    }

    /** Told of segment changes, skips and the end; told the current segment when set. */
    var listener: Listener? = null
        set(value) {
            field = value
            if (current != null) value?.onSegment(index)
        }

    private val starts: List<Long> = durationsMs.runningFold(0L) { at, d -> at + d.coerceAtLeast(0) }
    private var index = 0
    private var current: Loaded? = null
    private var next: Loaded? = null
    private var surface: Surface? = null
    private var pendingOffsetMs = 0
    private var wantsToPlay = false
    private var ended = false
    private var released = false

    /** A player for one segment; [ready] once prepared. */
    private class Loaded(val index: Int, val player: MediaPlayer) {
        var ready = false
    }

    init {
        require(files.size == durationsMs.size) { "one duration per file" }
        if (files.isNotEmpty()) open(0, 0)
    }

    /** The segment playing now (its index in the playlist). */
    val segmentIndex: Int get() = index

    /** Shows the video on [surface] (`null`: the view went away; playback goes on). */
    fun setSurface(surface: Surface?) {
        this.surface = surface
        current?.player?.setSurface(surface)
    }

    /** Stops playback and frees every player; the playback cannot be used after. */
    fun release() {
        released = true
        wantsToPlay = false
        current?.player?.release()
        next?.player?.release()
        current = null
        next = null
    }

    override fun start() {
        if (released || files.isEmpty()) return
        if (ended || current == null) open(0, 0)
        wantsToPlay = true
        current?.takeIf { it.ready }?.player?.start()
    }

    override fun pause() {
        wantsToPlay = false
        current?.takeIf { it.ready }?.player?.pause()
    }

    override fun getDuration(): Int = starts.last().toIntClamped()

    override fun getCurrentPosition(): Int {
        if (ended) return duration
        val loaded = current?.takeIf { it.ready } ?: return starts[index].toIntClamped()
        return (starts[index] + loaded.player.currentPosition).toIntClamped()
    }

    override fun seekTo(pos: Int) {
        if (released || files.isEmpty()) return
        val at = pos.toLong().coerceIn(0, starts.last())
        val target = (files.indices).lastOrNull { starts[it] <= at && at < starts[it + 1] } ?: files.lastIndex
        val offset = (at - starts[target]).toInt()
        val loaded = current
        if (loaded != null && loaded.index == target && loaded.ready) loaded.player.seekTo(offset) else open(target, offset)
    }

    override fun isPlaying(): Boolean = wantsToPlay && current?.ready == true

    override fun getBufferPercentage(): Int = 100

    override fun canPause(): Boolean = true

    override fun canSeekBackward(): Boolean = true

    override fun canSeekForward(): Boolean = true

    override fun getAudioSessionId(): Int = current?.player?.audioSessionId ?: 0

    /** Makes segment [target] current, at [offsetMs] into it; skips on to the next if it cannot load. */
    private fun open(target: Int, offsetMs: Int) {
        ended = false
        current?.player?.release()
        current = null
        val reuse = next?.takeIf { it.index == target }
        if (reuse == null) next?.player?.release()
        next = null
        var i = target
        while (i < files.size) {
            val loaded = reuse?.takeIf { it.index == i } ?: load(i)
            if (loaded != null) {
                become(loaded, if (i == target) offsetMs else 0)
                return
            }
            listener?.onSkipped(i)
            i++
        }
        finish()
    }

    /** A prepared-or-preparing player for segment [i], or `null` when the file is refused. */
    private fun load(i: Int): Loaded? {
        val player = newPlayer()
        val loaded = Loaded(i, player)
        return try {
            player.setDataSource(files[i])
            player.setOnPreparedListener { onPrepared(loaded) }
            player.setOnCompletionListener { if (current === loaded) advance() }
            player.setOnErrorListener { _, _, _ -> onError(loaded); true }
            player.prepareAsync()
            loaded
        } catch (e: Exception) {
            // IOException (missing, unreadable), IllegalArgumentException, SecurityException,
            // IllegalStateException: the file cannot play; the caller skips it.
            player.release()
            null
        }
    }

    private fun become(loaded: Loaded, offsetMs: Int) {
        current = loaded
        index = loaded.index
        pendingOffsetMs = offsetMs
        loaded.player.setSurface(surface)
        listener?.onSegment(index)
        if (loaded.ready) onPrepared(loaded)
    }

    private fun onPrepared(loaded: Loaded) {
        loaded.ready = true
        if (loaded !== current) return
        if (pendingOffsetMs > 0) loaded.player.seekTo(pendingOffsetMs)
        pendingOffsetMs = 0
        if (wantsToPlay) loaded.player.start()
        prepareNext()
    }

    /** Loads the segment after the current one while it plays. */
    private fun prepareNext() {
        val after = index + 1
        if (next != null || after >= files.size) return
        next = load(after)
    }

    /** The current segment ended: the next one takes over. */
    private fun advance() {
        val following = index + 1
        if (following >= files.size) {
            wantsToPlay = false
            ended = true
            listener?.onEnd()
            return
        }
        open(following, 0)
    }

    private fun onError(loaded: Loaded) {
        when {
            loaded === current -> {
                listener?.onSkipped(loaded.index)
                advance()
            }
            loaded === next -> {
                loaded.player.release()
                next = null
            }
        }
    }

    private fun finish() {
        wantsToPlay = false
        ended = true
        index = files.lastIndex.coerceAtLeast(0)
        listener?.onEnd()
    }

    private fun Long.toIntClamped(): Int = coerceIn(0, Int.MAX_VALUE.toLong()).toInt()
}
