//! Road vibration as a sign of a speed change, for events whose direction the forward axis
//! cannot sign.
//!
//! Road vibration grows with speed (for a road profile of the ISO 8608 kind, the vertical
//! acceleration's RMS grows about as √v to v). A hard brake lowers the speed, so the vertical
//! vibration is lower after it than before; a hard acceleration does the opposite. The
//! vertical is the projection on the detector's gravity estimate, so the cue needs neither a
//! forward axis nor a heading and holds in any mount.
//!
//! The level of a window is the median of the RMS of 0.25 s blocks of the high-passed vertical
//! acceleration (a median, so that one pothole does not decide it). Written here rather than
//! taken from a crate: a running high-pass and a few dozen block RMS values.

use std::collections::VecDeque;

use super::math::alpha;

/// Length of one block, seconds.
const BLOCK_S: f64 = 0.25;
/// History kept, seconds: the longest brake (10 s) plus the window before it (4 s) and the
/// window after it (3.5 s), with margin.
const HISTORY_S: f64 = 20.0;
/// High-pass time constant (s): removes gravity, slopes and the car's pitch, keeps vibration.
const HIGH_PASS_TAU: f64 = 0.5;
/// The window before an event: [onset − 4 s, onset − 1 s] (clear of the driver's reaction).
const BEFORE: (f64, f64) = (-4.0, -1.0);
/// The window after an event: [end + 0.5 s, end + 3.5 s].
const AFTER: (f64, f64) = (0.5, 3.5);
/// A verdict is due this long after an event's end: its window after, and its last block.
pub(crate) const DUE_S: f64 = AFTER.1 + BLOCK_S;
/// Blocks (of 0.25 s) a window needs for a level: 1 s, so that a drive ending 1.5 s after an
/// event still decides it from what is there.
const MIN_BLOCKS: usize = 4;
/// Added to both levels (m/s²): about the noise of a phone's accelerometer or a camera
/// G-sensor at rest (≈ 3 mg), so that two quiet windows (a car at a standstill) do not make a
/// ratio out of sensor noise.
const FLOOR: f64 = 0.03;

/// Slower or faster after an event than before it, judged by road vibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Vibration fell clearly: the car slowed (a brake).
    Slower,
    /// Vibration rose clearly: the car sped up (an acceleration).
    Faster,
    /// No clear change, or not enough data: the cue says nothing.
    Undecided,
}

/// Running block levels of the vertical vibration.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vibration {
    low: Option<f64>,
    block_start: Option<f64>,
    sum_sq: f64,
    count: u32,
    /// (block start, block RMS), oldest first, at most `HISTORY_S` worth.
    blocks: VecDeque<(f64, f64)>,
}

impl Vibration {
    /// Feeds one sample's vertical specific force (m/s², gravity included) at time `t`;
    /// `restart` after a gap, when the high-pass must not bridge it.
    pub(crate) fn update(&mut self, t: f64, dt: f64, vertical: f64, restart: bool) {
        let low = match self.low {
            Some(low) if !restart => low + alpha(dt, HIGH_PASS_TAU) * (vertical - low),
            _ => vertical,
        };
        self.low = Some(low);
        let start = *self.block_start.get_or_insert(t);
        if restart || t - start >= BLOCK_S {
            self.close_block(start);
            self.block_start = Some(t);
        }
        if !restart {
            self.sum_sq += (vertical - low).powi(2);
            self.count += 1;
        }
    }

    fn close_block(&mut self, start: f64) {
        if self.count > 0 {
            self.blocks.push_back((start, (self.sum_sq / f64::from(self.count)).sqrt()));
        }
        self.sum_sq = 0.0;
        self.count = 0;
        while self.blocks.front().is_some_and(|b| start - b.0 > HISTORY_S) {
            self.blocks.pop_front();
        }
    }

    /// The vibration level over `[from, to]`: the median RMS of the blocks inside it, if enough.
    fn level(&self, from: f64, to: f64) -> Option<f64> {
        let mut inside: Vec<f64> = self
            .blocks
            .iter()
            .filter(|b| b.0 >= from && b.0 + BLOCK_S <= to)
            .map(|b| b.1)
            .collect();
        if inside.len() < MIN_BLOCKS {
            return None;
        }
        inside.sort_by(f64::total_cmp);
        let n = inside.len();
        Some(if n % 2 == 1 { inside[n / 2] } else { 0.5 * (inside[n / 2 - 1] + inside[n / 2]) })
    }

    /// Whether the car was slower after an event (`onset` to `end`) than before it, with
    /// `ratio` the undecided band's upper edge (after/before; the lower edge is its inverse);
    /// `None` until the verdict is due at `now` ([`DUE_S`] after the end). At the end of a drive
    /// (`now` infinite) it is judged on what was recorded.
    pub(crate) fn verdict_due(
        &self,
        onset: f64,
        end: f64,
        ratio: f64,
        now: f64,
    ) -> Option<Verdict> {
        (now >= end + DUE_S).then(|| self.verdict(onset, end, ratio))
    }

    fn verdict(&self, onset: f64, end: f64, ratio: f64) -> Verdict {
        let before = self.level(onset + BEFORE.0, onset + BEFORE.1);
        let after = self.level(end + AFTER.0, end + AFTER.1);
        let (Some(before), Some(after)) = (before, after) else { return Verdict::Undecided };
        let r = (after + FLOOR) / (before + FLOOR);
        if r <= 1.0 / ratio {
            Verdict::Slower
        } else if r >= ratio {
            Verdict::Faster
        } else {
            Verdict::Undecided
        }
    }

    /// Closes the block in progress (the end of a drive), so that its samples count.
    pub(crate) fn flush(&mut self) {
        if let Some(start) = self.block_start.take() {
            self.close_block(start);
        }
    }
}
