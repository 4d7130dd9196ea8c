//! The timeline across segments and the choice of samples for a window.
//!
//! Times are integer ticks. The primary track (the first video track, else the first track)
//! is concatenated exactly in decode order: segment k's first sample starts where segment
//! k-1's last sample ends. Every other track is placed from its segment's start *converted
//! into its own timescale* (never by adding up its own durations), so rounding cannot
//! accumulate from segment to segment; small overlaps at boundaries (AAC frames straddle a
//! cut) are absorbed by shortening or dropping the boundary sample.

use std::path::{Path, PathBuf};

use shiguredo_mp4::boxes::{MoovBox, SampleEntry, TrakBox};

use super::read::{Sample, Segment, Track, rescale};
use super::{ClipError, CutRequest, Gap};

/// A sample placed on the clip-wide timeline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placed {
    /// Index of the segment (into the request's list) holding the data.
    pub seg: usize,
    /// The source sample.
    pub s: Sample,
    /// Global decode time (track ticks), aligned so that presentation = g + cto.
    pub g: i64,
    /// Duration on the global timeline (may differ from the source at boundaries).
    pub duration: u32,
    /// 0-based index into the merged sample entries of the track.
    pub entry: u32,
}

/// One track across all usable segments.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// Output `trak` template (from the first usable segment).
    pub trak: TrakBox,
    /// Handler type.
    pub handler: [u8; 4],
    /// Track timescale.
    pub timescale: u32,
    /// Distinct sample entries over all segments, in order of appearance.
    pub entries: Vec<SampleEntry>,
    /// Samples in decode order.
    pub samples: Vec<Placed>,
}

/// A track ready to be written: selected samples plus its edit.
#[derive(Debug, Clone)]
pub(crate) struct OutTrack {
    /// Track as on the timeline, `samples` narrowed to the selection.
    pub line: Line,
    /// Empty edit before the media, in movie ticks.
    pub empty: u64,
    /// Edit media_time in track ticks (where presentation starts inside the media).
    pub media_time: i64,
    /// Edit duration, in movie ticks.
    pub edit_duration: u64,
}

/// The whole plan of a clip.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The first usable segment's moov (mvhd, udta) without tracks.
    pub moov: MoovBox,
    /// Movie timescale (= the primary track's).
    pub movie_ts: u32,
    /// Output tracks, in source order.
    pub tracks: Vec<OutTrack>,
    /// Paths of the segments, by index.
    pub paths: Vec<PathBuf>,
    /// Clip start, seconds on the request's timeline.
    pub start_s: f64,
    /// Clip end, seconds on the request's timeline.
    pub end_s: f64,
    /// Number of primary-track samples if it is video.
    pub video_frames: usize,
    /// Unusable segments.
    pub gaps: Vec<Gap>,
}

/// The timeline being built while segments are read.
struct Timeline {
    moov: Option<MoovBox>,
    lines: Vec<Line>,
    primary: usize,
    /// Global presentation tick of the request's t = 0 (primary ticks).
    base0: i64,
}

/// Reads the segments the window needs and builds the plan.
pub(crate) fn plan(req: &CutRequest) -> Result<Plan, ClipError> {
    let mut tl: Option<Timeline> = None;
    let mut gaps = Vec::new();
    for (k, path) in req.segments.iter().enumerate() {
        if tl.as_ref().is_some_and(|t| t.end_s() >= req.to_s) {
            break;
        }
        let at_s = tl.as_ref().map_or(0.0, Timeline::end_s);
        let added = super::read::read_segment_file(path).and_then(|seg| match tl.as_mut() {
            None => Timeline::first(k, seg, path).map(|t| tl = Some(t)),
            Some(t) => t.append(k, seg, path),
        });
        if let Err(e) = added {
            tracing::warn!(segment = %path.display(), error = %e, "segment skipped");
            gaps.push(Gap { path: path.clone(), at_s, reason: e.to_string() });
        }
    }
    let Some(tl) = tl else { return Err(ClipError::NoUsableSegment { gaps }) };
    tl.select(req, gaps)
}

fn primary_index(tracks: &[Track]) -> usize {
    tracks.iter().position(|t| &t.handler == b"vide").unwrap_or(0)
}

impl Timeline {
    fn first(k: usize, mut seg: Segment, path: &Path) -> Result<Self, ClipError> {
        let primary = primary_index(&seg.tracks);
        let p = seg.tracks.get(primary).ok_or_else(|| ClipError::malformed(path, "no track"))?;
        let first = p.samples.first().ok_or_else(|| ClipError::malformed(path, "no samples"))?;
        let base0 = p.shift.saturating_neg().saturating_add(first.dts).saturating_neg();
        let lines = seg.tracks.iter().map(Line::template).collect();
        let empty = empty_moov_like(&seg.moov);
        let moov = std::mem::replace(&mut seg.moov, empty);
        let mut tl = Self { moov: Some(moov), lines, primary, base0 };
        tl.append(k, seg, path)?;
        Ok(tl)
    }

    /// End of the primary track, seconds on the request's timeline.
    fn end_s(&self) -> f64 {
        let Some(line) = self.lines.get(self.primary) else { return 0.0 };
        let end = line.samples.last().map_or(0, |l| l.g.saturating_add(i64::from(l.duration)));
        end.saturating_sub(self.base0) as f64 / f64::from(line.timescale)
    }

    fn append(&mut self, k: usize, seg: Segment, path: &Path) -> Result<(), ClipError> {
        self.check_layout(&seg, path)?;
        let p =
            seg.tracks.get(self.primary).ok_or_else(|| ClipError::malformed(path, "no track"))?;
        let first =
            *p.samples.first().ok_or_else(|| ClipError::malformed(path, "no video samples"))?;
        let (p_ts, p_shift) = (p.timescale, p.shift);
        let pline =
            self.lines.get(self.primary).ok_or_else(|| ClipError::malformed(path, "no track"))?;
        let d_k = pline.samples.last().map_or(0, |l| l.g.saturating_add(i64::from(l.duration)));
        // Global presentation tick (primary ticks) of this segment's local time 0.
        let offset = d_k.saturating_sub(first.dts).saturating_add(p_shift);
        let ts_v = p_ts;
        for (i, (line, track)) in self.lines.iter_mut().zip(seg.tracks).enumerate() {
            let origin = if i == self.primary {
                d_k.saturating_sub(first.dts)
            } else {
                rescale(offset, ts_v, track.timescale).saturating_sub(track.shift)
            };
            line.append(k, track, origin);
        }
        Ok(())
    }

    fn check_layout(&self, seg: &Segment, path: &Path) -> Result<(), ClipError> {
        let mismatch = |reason: String| ClipError::Mismatch { path: path.to_path_buf(), reason };
        if seg.tracks.len() != self.lines.len() {
            let (a, b) = (self.lines.len(), seg.tracks.len());
            return Err(mismatch(format!("{b} tracks instead of {a}")));
        }
        for (i, (l, t)) in self.lines.iter().zip(&seg.tracks).enumerate() {
            if l.handler != t.handler || l.timescale != t.timescale {
                return Err(mismatch(format!("track {} has another kind or timescale", i + 1)));
            }
        }
        Ok(())
    }
}

/// A moov with nothing heavy in it, to leave behind when the real one is taken.
fn empty_moov_like(m: &MoovBox) -> MoovBox {
    MoovBox {
        mvhd_box: m.mvhd_box.clone(),
        trak_boxes: Vec::new(),
        mvex_box: None,
        unknown_boxes: Vec::new(),
    }
}

impl Line {
    fn template(t: &Track) -> Self {
        Self {
            trak: t.trak.clone(),
            handler: t.handler,
            timescale: t.timescale,
            entries: Vec::new(),
            samples: Vec::new(),
        }
    }

    /// Appends one segment's samples; `origin` is added to their dts.
    fn append(&mut self, seg: usize, track: Track, origin: i64) {
        let map: Vec<u32> = track.entries.into_iter().map(|e| self.entry_index(e)).collect();
        let mut boundary = true;
        for s in track.samples {
            let entry = map.get(s.entry as usize).copied().unwrap_or(0);
            let g = origin.saturating_add(s.dts);
            if self.push(Placed { seg, s, g, duration: s.duration, entry }, boundary) {
                boundary = false;
            }
        }
    }

    fn entry_index(&mut self, e: SampleEntry) -> u32 {
        let key = without_bitrate(&e);
        let i = self.entries.iter().position(|x| without_bitrate(x) == key).unwrap_or_else(|| {
            self.entries.push(e);
            self.entries.len() - 1
        });
        u32::try_from(i).unwrap_or(0)
    }

    /// Adds a sample, fixing up the previous one's duration; false if it was dropped.
    fn push(&mut self, mut p: Placed, boundary: bool) -> bool {
        if let Some(last) = self.samples.last_mut() {
            let gap = p.g.saturating_sub(last.g);
            if boundary && gap < i64::from(last.duration / 2) {
                return false; // overlaps the previous segment's last sample by more than half
            }
            if gap <= 0 {
                p.g = last.g.saturating_add(i64::from(last.duration)); // non-monotonic dts
            } else {
                last.duration = u32::try_from(gap).unwrap_or(u32::MAX);
            }
        }
        self.samples.push(p);
        true
    }
}

impl Timeline {
    fn select(self, req: &CutRequest, gaps: Vec<Gap>) -> Result<Plan, ClipError> {
        let Timeline { moov, lines, primary, base0 } = self;
        let moov = moov.ok_or_else(|| ClipError::NoUsableSegment { gaps: gaps.clone() })?;
        let pline =
            lines.get(primary).ok_or_else(|| ClipError::NoUsableSegment { gaps: gaps.clone() })?;
        let ts_v = pline.timescale;
        let win = primary_window(pline, req, base0)?;
        let video_frames = if &pline.handler == b"vide" { win.last + 1 - win.first } else { 0 };
        let (cs, ce) = (win.start.saturating_add(base0), win.end.saturating_add(base0));
        let tracks = lines
            .into_iter()
            .enumerate()
            .map(|(i, line)| {
                let range = if i == primary {
                    Some((win.first, win.last))
                } else {
                    other_range(&line, cs, ce, ts_v)
                };
                out_track(line, range, cs, ce, ts_v)
            })
            .collect();
        Ok(Plan {
            moov,
            movie_ts: ts_v,
            tracks,
            paths: req.segments.clone(),
            start_s: win.start as f64 / f64::from(ts_v),
            end_s: win.end as f64 / f64::from(ts_v),
            video_frames,
            gaps,
        })
    }
}

/// The primary track's decode range and the presented window (request timeline ticks).
struct Window {
    first: usize,
    last: usize,
    start: i64,
    end: i64,
}

fn primary_window(line: &Line, req: &CutRequest, base0: i64) -> Result<Window, ClipError> {
    let ts = f64::from(line.timescale);
    let from_t = (req.from_s * ts).round() as i64;
    let to_t = (req.to_s * ts).round() as i64;
    let pres = |p: &Placed| p.g.saturating_add(p.s.cto).saturating_sub(base0);
    let outside = || ClipError::OutsideRecording {
        from_s: req.from_s,
        to_s: req.to_s,
        available_s: line.samples.last().map_or(0.0, |l| {
            l.g.saturating_add(i64::from(l.duration)).saturating_sub(base0) as f64 / ts
        }),
    };
    // Start: the last keyframe presented at or before the window start (else the first one).
    let first = line
        .samples
        .iter()
        .rposition(|p| p.s.sync && pres(p) <= from_t)
        .or_else(|| line.samples.iter().position(|p| p.s.sync))
        .ok_or_else(outside)?;
    let kf = line.samples.get(first).map(pres).ok_or_else(outside)?;
    // End: every sample presented before the window end, so B-frame references stay whole.
    let rest = line.samples.get(first..).unwrap_or_default();
    let last = rest.iter().rposition(|p| pres(p) < to_t).map_or(first, |i| first + i);
    let range = line.samples.get(first..=last).unwrap_or_default();
    let start = if req.exact { from_t.max(kf) } else { kf };
    let end = window_end(range, pres, kf, to_t, req.exact);
    if end <= start || from_t >= end {
        return Err(outside());
    }
    Ok(Window { first, last, start, end })
}

/// Where presentation of the chosen range ends: the frame covering `to_t` (default) or `to_t`
/// itself (exact), never past the first hole in the presented frames.
fn window_end(
    range: &[Placed],
    pres: impl Fn(&Placed) -> i64,
    kf: i64,
    to_t: i64,
    exact: bool,
) -> i64 {
    let mut frames: Vec<(i64, i64)> = range
        .iter()
        .map(|p| (pres(p), pres(p).saturating_add(i64::from(p.duration))))
        .filter(|(_, e)| *e > kf)
        .collect();
    frames.sort_unstable();
    let mut end = kf;
    for (s, e) in frames {
        let tol = (e - s) / 2;
        if s > end.saturating_add(tol) {
            break;
        }
        end = end.max(e);
        if !exact && s < to_t && e >= to_t {
            return e;
        }
    }
    if exact { end.min(to_t) } else { end }
}

/// Decode range of a non-primary track covering `[cs, ce)` (global primary ticks).
fn other_range(line: &Line, cs: i64, ce: i64, ts_v: u32) -> Option<(usize, usize)> {
    let (cs, ce) = (rescale(cs, ts_v, line.timescale), rescale(ce, ts_v, line.timescale));
    let pres = |p: &Placed| p.g.saturating_add(p.s.cto);
    let mut first = line.samples.iter().rposition(|p| pres(p) <= cs).unwrap_or(0);
    if &line.handler == b"soun" {
        // One frame of pre-roll: AAC decoders need the previous frame to produce the first.
        first = first.saturating_sub(1);
    }
    let last = line.samples.iter().rposition(|p| pres(p) < ce)?;
    (last >= first).then_some((first, last))
}

fn out_track(
    mut line: Line,
    range: Option<(usize, usize)>,
    cs: i64,
    ce: i64,
    ts_v: u32,
) -> OutTrack {
    let selected = range.and_then(|(a, b)| line.samples.get(a..=b)).map(<[Placed]>::to_vec);
    line.samples = selected.unwrap_or_default();
    let ts = line.timescale;
    let clip = u64::try_from(ce.saturating_sub(cs)).unwrap_or(0);
    let Some(g0) = line.samples.first().map(|p| p.g) else {
        return OutTrack { line, empty: 0, media_time: 0, edit_duration: clip };
    };
    // Presentation end (B-frames present after their decode time), relative to g0.
    let media_end = line
        .samples
        .iter()
        .map(|p| p.g.saturating_add(p.s.cto).saturating_add(i64::from(p.duration)))
        .max()
        .map_or(0, |e| e.saturating_sub(g0));
    let mut media_time = rescale(cs, ts_v, ts).saturating_sub(g0);
    let mut empty = 0u64;
    if media_time < 0 {
        empty = u64::try_from(rescale(-media_time, ts, ts_v)).unwrap_or(0).min(clip);
        media_time = 0;
    }
    let available =
        u64::try_from(rescale(media_end.saturating_sub(media_time), ts, ts_v)).unwrap_or(0);
    let edit_duration = clip.saturating_sub(empty).min(available);
    OutTrack { line, empty, media_time, edit_duration }
}

/// The entry without its `btrt` box: muxers write each file's own average bitrate there, so two
/// segments of one recording differ only by it; it is informational and must not split a track
/// into several sample descriptions (text tracks then stop being recognised).
fn without_bitrate(e: &SampleEntry) -> SampleEntry {
    let mut e = e.clone();
    let unknown = match &mut e {
        SampleEntry::Avc1(b) => Some(&mut b.unknown_boxes),
        SampleEntry::Hev1(b) => Some(&mut b.unknown_boxes),
        SampleEntry::Hvc1(b) => Some(&mut b.unknown_boxes),
        SampleEntry::Mp4a(b) => Some(&mut b.unknown_boxes),
        SampleEntry::Tx3g(b) => Some(&mut b.unknown_boxes),
        _ => None,
    };
    if let Some(boxes) = unknown {
        boxes.retain(|b| b.box_type != shiguredo_mp4::BoxType::Normal(*b"btrt"));
    }
    e
}
