//! Exact MP4 clip extraction by remuxing consecutive dash cam segments (no re-encoding).
//!
//! A clip is a time window over a drive recorded as consecutive MP4 segments. [`cut_clip`]
//! reads only the segments' `moov`/`moof` boxes, picks a contiguous decode-order range of
//! samples per track, writes a faststart MP4 (`moov` before `mdat`) and streams the sample
//! bytes with a fixed buffer. MPEG-TS segments (`.TS`, some Novatek cameras) are demuxed into
//! the same samples (`ts.rs`, `ts_segment.rs`) and cut the same way, without re-encoding. See
//! `docs/clips.md` for the semantics.

mod error;
mod maker;
mod output;
mod plan;
mod read;
mod telemetry;
mod ts;
mod ts_segment;
mod write;

use std::path::{Path, PathBuf};

pub use error::ClipError;
pub use maker::{ClipMaker, ClipWindow, ClipsError, Readiness};
pub use read::{SegmentSummary, TrackSummary, probe_segment, probe_segment_bytes};
pub use telemetry::ClipTelemetry;

/// What to cut: a window over consecutive segments.
#[derive(Debug, Clone, PartialEq)]
pub struct CutRequest {
    /// Consecutive segments of one drive, oldest first.
    pub segments: Vec<PathBuf>,
    /// Window start, seconds from the start of the first segment.
    pub from_s: f64,
    /// Window end, seconds from the start of the first segment.
    pub to_s: f64,
    /// `false`: start at the keyframe at or before `from_s` (plays everywhere).
    /// `true`: add an edit list so players begin exactly at `from_s`.
    pub exact: bool,
}

/// A segment that could not be used and was left out of the clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    /// The skipped segment.
    pub path: PathBuf,
    /// Where it would have been, seconds on the request's timeline. Skipped segments take no
    /// time: the next usable segment follows the previous one directly.
    pub at_s: f64,
    /// Why it was skipped (the [`ClipError`] text naming the segment).
    pub reason: String,
}

/// What [`cut_clip`] produced.
#[derive(Debug, Clone, PartialEq)]
pub struct CutReport {
    /// Presented start, seconds on the request's timeline (the keyframe unless `exact`).
    pub start_s: f64,
    /// Presented end, seconds on the request's timeline.
    pub end_s: f64,
    /// `end_s - start_s`.
    pub duration_s: f64,
    /// Number of video samples written (decode range, including frames hidden by the edit).
    pub video_frames: usize,
    /// Unusable segments that were skipped.
    pub gaps: Vec<Gap>,
    /// Size of the output file.
    pub bytes_written: u64,
}

/// Cuts `req`'s window out of its segments into `out` (created, or replaced once complete).
///
/// Synchronous and blocking (call it from `spawn_blocking`). Unusable segments (no `moov`,
/// malformed, different track layout) are skipped and listed in [`CutReport::gaps`]; the call
/// fails only if nothing usable overlaps the window. The clip is written to a temp file beside
/// `out` and renamed over it only on success: on any error `out` is exactly as it was, and no
/// file this call did not create is removed. An `out` that is one of the segments (same inode)
/// is refused with [`ClipError::OutputIsInput`].
pub fn cut_clip(req: &CutRequest, out: &Path) -> Result<CutReport, ClipError> {
    check_request(req)?;
    output::refuse_input_as_output(&req.segments, out)?;
    let plan = plan::plan(req)?;
    let bytes_written = output::write_beside(out, |file| write::write_clip(&plan, file, out))?;
    Ok(CutReport {
        start_s: plan.start_s,
        end_s: plan.end_s,
        duration_s: plan.end_s - plan.start_s,
        video_frames: plan.video_frames,
        gaps: plan.gaps,
        bytes_written,
    })
}

fn check_request(req: &CutRequest) -> Result<(), ClipError> {
    if req.segments.is_empty() {
        return Err(ClipError::InvalidRequest("no segments".into()));
    }
    let ok = req.from_s.is_finite() && req.to_s.is_finite() && req.from_s >= 0.0;
    if !ok || req.to_s <= req.from_s {
        let msg = format!("window {}..{} s", req.from_s, req.to_s);
        return Err(ClipError::InvalidRequest(msg));
    }
    Ok(())
}
