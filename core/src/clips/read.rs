//! Reading one segment: box headers, `moov` and `moof` only; `mdat` is seeked past.
//!
//! The result is a flat, decode-ordered sample list per track (offset, size, timing, flags),
//! which is all the remuxer needs. Sample data is never read here.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use shiguredo_mp4::boxes::{MoofBox, MoovBox, SampleEntry, StblBox, TrakBox, TrexBox};
use shiguredo_mp4::{BaseBox, Decode, Either, SampleFlags};

use super::ClipError;

/// Largest `moov` we accept: a 10 minute 60 fps segment needs well under 4 MiB.
const MAX_MOOV_BYTES: u64 = 64 * 1024 * 1024;
/// Largest `moof` we accept.
const MAX_MOOF_BYTES: u64 = 16 * 1024 * 1024;
/// Largest sample count per track we accept (guards memory against hostile tables).
const MAX_SAMPLES: u64 = 20_000_000;

/// One sample, as located in its segment file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// Absolute byte offset of the sample data in the segment file.
    pub offset: u64,
    /// Size of the sample data.
    pub size: u32,
    /// Decode time, in the track timescale.
    pub dts: i64,
    /// Decode duration, in the track timescale.
    pub duration: u32,
    /// Composition (presentation) offset from `dts`.
    pub cto: i64,
    /// Random access point (keyframe)?
    pub sync: bool,
    /// 0-based index into the track's sample entries.
    pub entry: u32,
}

/// One track of one segment.
#[derive(Debug, Clone)]
pub(crate) struct Track {
    /// The source `trak`, kept as the template of the output `trak` (its sample table is
    /// emptied to save memory; `stsd` is in `entries`).
    pub trak: TrakBox,
    /// `hdlr` handler type (`vide`, `soun`, `text`, `meta`, ...).
    pub handler: [u8; 4],
    /// `mdhd` timescale.
    pub timescale: u32,
    /// The `stsd` sample entries.
    pub entries: Vec<SampleEntry>,
    /// Samples in decode order.
    pub samples: Vec<Sample>,
    /// Edit-list shift, in the track timescale: presentation = dts + cto - shift.
    pub shift: i64,
}

/// What we know about one segment after reading its metadata.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    /// The source `moov` with its tracks taken out (for `mvhd` and `udta`).
    pub moov: MoovBox,
    /// Tracks in `moov` order.
    pub tracks: Vec<Track>,
    /// Fragmented input (`moof`/`traf`/`trun`)?
    pub fragmented: bool,
    /// Was `moov` before the first `mdat`?
    pub moov_first: bool,
}

/// A top-level box as found by the header scan.
#[derive(Debug, Clone, Copy)]
struct TopBox {
    kind: [u8; 4],
    offset: u64,
    size: u64,
}

/// Summary of a segment, for diagnostics and for the fuzz target.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSummary {
    /// True for fragmented MP4 (`moof` boxes carry the samples).
    pub fragmented: bool,
    /// True when `moov` precedes the first `mdat` (faststart).
    pub moov_first: bool,
    /// One entry per track, in `moov` order.
    pub tracks: Vec<TrackSummary>,
}

/// Summary of one track of a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackSummary {
    /// `tkhd` track id.
    pub track_id: u32,
    /// Handler type as text, e.g. `vide`, `soun`.
    pub handler: String,
    /// Sample entry type of the first description, e.g. `avc1`, `hev1`, `mp4a`.
    pub codec: String,
    /// `mdhd` timescale.
    pub timescale: u32,
    /// Number of samples.
    pub samples: usize,
    /// Number of sync samples (keyframes).
    pub sync_samples: usize,
    /// Sum of sample durations in seconds.
    pub duration_s: f64,
}

/// Parses an in-memory MP4 file and summarises it; the fuzz target calls this.
///
/// Why it exists: the same reader as [`super::cut_clip`] uses, but over a byte slice, so that
/// hostile input can be fuzzed without files. Never panics; bad input is a [`ClipError`].
pub fn probe_segment_bytes(data: &[u8]) -> Result<SegmentSummary, ClipError> {
    let path = Path::new("<memory>");
    if super::ts::looks_like_ts(data) {
        return Ok(summarise(&super::ts_segment::read_ts(data, path)?));
    }
    let mut cursor = std::io::Cursor::new(data);
    let seg = read_segment(&mut cursor, data.len() as u64, path)?;
    Ok(summarise(&seg))
}

/// Opens a segment file and summarises it.
pub fn probe_segment(path: &Path) -> Result<SegmentSummary, ClipError> {
    Ok(summarise(&read_segment_file(path)?))
}

fn summarise(seg: &Segment) -> SegmentSummary {
    let tracks = seg.tracks.iter().map(summarise_track).collect();
    SegmentSummary { fragmented: seg.fragmented, moov_first: seg.moov_first, tracks }
}

fn summarise_track(t: &Track) -> TrackSummary {
    let total: u64 = t.samples.iter().map(|s| u64::from(s.duration)).sum();
    TrackSummary {
        track_id: t.trak.tkhd_box.track_id,
        handler: fourcc(t.handler),
        codec: t.entries.first().map(entry_fourcc).unwrap_or_default(),
        timescale: t.timescale,
        samples: t.samples.len(),
        sync_samples: t.samples.iter().filter(|s| s.sync).count(),
        duration_s: total as f64 / f64::from(t.timescale),
    }
}

/// The four-character code of a sample entry (`avc1`, `mp4a`, ...).
pub(crate) fn entry_fourcc(e: &SampleEntry) -> String {
    String::from_utf8_lossy(e.box_type().as_bytes()).into_owned()
}

fn fourcc(b: [u8; 4]) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

/// Reads the metadata of a segment file: an MP4, or an MPEG-TS recognised by its sync bytes
/// (`ts_segment.rs`).
pub(crate) fn read_segment_file(path: &Path) -> Result<Segment, ClipError> {
    let io = |source| ClipError::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    if super::ts_segment::is_ts_file(&mut file).map_err(io)? {
        return super::ts_segment::read_ts(file, path);
    }
    let len = file.metadata().map_err(io)?.len();
    read_segment(&mut file, len, path)
}

/// Reads the metadata of a segment from any seekable source of `len` bytes.
pub(crate) fn read_segment<R: Read + Seek>(
    r: &mut R,
    len: u64,
    path: &Path,
) -> Result<Segment, ClipError> {
    let boxes = scan_top_level(r, len, path)?;
    let moov_box = boxes.iter().find(|b| &b.kind == b"moov");
    let Some(moov_box) = moov_box else {
        return Err(ClipError::NoMoov { path: path.to_path_buf() });
    };
    let moov_first =
        boxes.iter().find(|b| &b.kind == b"mdat").is_none_or(|mdat| mdat.offset > moov_box.offset);
    let bytes = read_box(r, moov_box, MAX_MOOV_BYTES, path)?;
    let (mut moov, _) =
        MoovBox::decode(&bytes).map_err(|e| ClipError::malformed(path, e.to_string()))?;
    drop(bytes);
    let fragmented = moov.mvex_box.is_some();
    let traks = std::mem::take(&mut moov.trak_boxes);
    let mut tracks = traks
        .into_iter()
        .map(|t| track_from_trak(t, moov.mvhd_box.timescale.get(), path))
        .collect::<Result<Vec<_>, _>>()?;
    if fragmented {
        let trex = moov.mvex_box.take().map(|m| m.trex_boxes).unwrap_or_default();
        read_fragments(r, &boxes, &trex, &mut tracks, path)?;
    }
    check_ranges(&mut tracks, len, fragmented, path)?;
    Ok(Segment { moov, tracks, fragmented, moov_first })
}

/// Walks the top-level box headers, seeking past payloads.
///
/// Why hand-written: the crate's demuxer wants `ftyp` first and stops at `moov`; we also need
/// `moof` positions and must tolerate a truncated trailing box (power loss), which we simply
/// leave out of the list.
fn scan_top_level<R: Read + Seek>(
    r: &mut R,
    len: u64,
    path: &Path,
) -> Result<Vec<TopBox>, ClipError> {
    let mut out = Vec::new();
    let mut pos = 0u64;
    while len.saturating_sub(pos) >= 8 {
        let Some(b) = read_header(r, pos, len, path)? else { break };
        if b.offset.checked_add(b.size).is_none_or(|end| end > len) {
            break; // truncated trailing box
        }
        out.push(b);
        pos = b.offset.saturating_add(b.size);
    }
    if out.is_empty() {
        return Err(ClipError::malformed(path, "no complete top-level box"));
    }
    Ok(out)
}

/// Reads one box header at `pos`; `None` if it is not a plausible header.
fn read_header<R: Read + Seek>(
    r: &mut R,
    pos: u64,
    len: u64,
    path: &Path,
) -> Result<Option<TopBox>, ClipError> {
    let mut hdr = [0u8; 16];
    let avail = usize::try_from(len.saturating_sub(pos).min(16)).unwrap_or(16);
    let buf = hdr.get_mut(..avail).unwrap_or_default();
    seek_read(r, pos, buf, path)?;
    let size32 = be_u32(&hdr, 0);
    let kind: [u8; 4] = hdr.get(4..8).and_then(|s| s.try_into().ok()).unwrap_or_default();
    let (size, header_len) = match size32 {
        0 => (len.saturating_sub(pos), 8),
        1 if avail >= 16 => (be_u64(&hdr, 8), 16),
        1 => return Ok(None),
        n => (u64::from(n), 8),
    };
    if size < header_len || !kind.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
        return Err(ClipError::malformed(path, format!("bad box header at byte {pos}")));
    }
    Ok(Some(TopBox { kind, offset: pos, size }))
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).and_then(|s| s.try_into().ok()).map(u32::from_be_bytes).unwrap_or(0)
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).and_then(|s| s.try_into().ok()).map(u64::from_be_bytes).unwrap_or(0)
}

fn seek_read<R: Read + Seek>(
    r: &mut R,
    pos: u64,
    buf: &mut [u8],
    path: &Path,
) -> Result<(), ClipError> {
    let io = |source| ClipError::Io { path: path.to_path_buf(), source };
    r.seek(SeekFrom::Start(pos)).map_err(io)?;
    r.read_exact(buf).map_err(io)
}

fn read_box<R: Read + Seek>(
    r: &mut R,
    b: &TopBox,
    max: u64,
    path: &Path,
) -> Result<Vec<u8>, ClipError> {
    if b.size > max {
        let kind = fourcc(b.kind);
        return Err(ClipError::malformed(path, format!("{kind} box of {} bytes", b.size)));
    }
    let mut bytes = vec![0u8; usize::try_from(b.size).unwrap_or(0)];
    seek_read(r, b.offset, &mut bytes, path)?;
    Ok(bytes)
}

fn track_from_trak(mut trak: TrakBox, movie_ts: u32, path: &Path) -> Result<Track, ClipError> {
    let timescale = trak.mdia_box.mdhd_box.timescale.get();
    let handler = trak.mdia_box.hdlr_box.handler_type;
    let stbl = &mut trak.mdia_box.minf_box.stbl_box;
    let samples = expand_stbl(stbl, path)?;
    let entries = std::mem::take(&mut stbl.stsd_box.entries);
    empty_stbl(stbl);
    let shift = edit_shift(&trak, movie_ts, timescale);
    Ok(Track { trak, handler, timescale, entries, samples, shift })
}

/// Frees the sample tables of a template `stbl` (they are rebuilt for the output).
pub(crate) fn empty_stbl(stbl: &mut StblBox) {
    stbl.stts_box.entries.clear();
    stbl.ctts_box = None;
    stbl.stsc_box.entries.clear();
    stbl.stss_box = None;
    stbl.sdtp_box = None;
    stbl.unknown_boxes.clear();
    stbl.stsz_box = shiguredo_mp4::boxes::StszBox::Variable { entry_sizes: Vec::new() };
    stbl.stco_or_co64_box = Either::A(shiguredo_mp4::boxes::StcoBox { chunk_offsets: Vec::new() });
}

/// The edit-list shift: presentation time = dts + cto - shift (track timescale).
///
/// Leading empty edits delay the track (negative shift); the first real edit's media_time
/// skips media (B-frame delay, AAC priming). Later edits are ignored: segments are continuous.
fn edit_shift(trak: &TrakBox, movie_ts: u32, ts: u32) -> i64 {
    let Some(elst) = trak.edts_box.as_ref().and_then(|e| e.elst_box.as_ref()) else { return 0 };
    let mut empty: u64 = 0;
    for e in &elst.entries {
        if e.media_time == -1 {
            empty = empty.saturating_add(e.edit_duration);
            continue;
        }
        let empty_ts = rescale(i64::try_from(empty).unwrap_or(i64::MAX), movie_ts, ts);
        return e.media_time.saturating_sub(empty_ts);
    }
    0
}

/// Converts `v` ticks of timescale `from` to timescale `to`, rounding to nearest.
pub(crate) fn rescale(v: i64, from: u32, to: u32) -> i64 {
    if from == to || from == 0 {
        return v;
    }
    let num = i128::from(v) * i128::from(to);
    let den = i128::from(from);
    let half = den / 2;
    let q = if num >= 0 { (num + half) / den } else { (num - half) / den };
    i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN })
}

/// Expands a classic sample table into a flat sample list.
///
/// Why hand-written instead of the crate's `SampleTableAccessor`: the accessor uses
/// `expect`/indexing on some inconsistent tables, and camera files must never make us panic.
fn expand_stbl(stbl: &StblBox, path: &Path) -> Result<Vec<Sample>, ClipError> {
    let sizes = sample_sizes(stbl, path)?;
    let durations =
        run_lengths(stbl.stts_box.entries.iter().map(|e| (e.sample_count, e.sample_delta)));
    let ctts =
        stbl.ctts_box.as_ref().map(|c| c.entries.iter().map(|e| (e.sample_count, e.sample_offset)));
    let mut ctts = ctts.into_iter().flatten().flat_map(|(n, v)| std::iter::repeat_n(v, n as usize));
    let sync: Option<std::collections::HashSet<u32>> =
        stbl.stss_box.as_ref().map(|s| s.sample_numbers.iter().map(|n| n.get()).collect());
    let places = chunk_places(stbl, &sizes, path)?;
    let mut out = Vec::with_capacity(sizes.len());
    let mut dts: i64 = 0;
    let mut durations = durations;
    for (i, (size, (offset, entry))) in sizes.iter().zip(places).enumerate() {
        let number = u32::try_from(i).unwrap_or(u32::MAX).saturating_add(1);
        let duration = durations.next().unwrap_or(0);
        let cto = ctts.next().unwrap_or(0);
        let sync = sync.as_ref().is_none_or(|s| s.contains(&number));
        out.push(Sample { offset, size: *size, dts, duration, cto, sync, entry });
        dts = dts.saturating_add(i64::from(duration));
    }
    if out.len() != sizes.len() {
        return Err(ClipError::malformed(path, "stsc/stco describe fewer samples than stsz"));
    }
    Ok(out)
}

fn run_lengths<T: Copy>(runs: impl Iterator<Item = (u32, T)>) -> impl Iterator<Item = T> {
    runs.flat_map(|(n, v)| std::iter::repeat_n(v, n as usize))
}

fn sample_sizes(stbl: &StblBox, path: &Path) -> Result<Vec<u32>, ClipError> {
    use shiguredo_mp4::boxes::StszBox;
    match &stbl.stsz_box {
        StszBox::Fixed { sample_size, sample_count } => {
            if u64::from(*sample_count) > MAX_SAMPLES {
                return Err(ClipError::malformed(path, "too many samples"));
            }
            Ok(vec![sample_size.get(); *sample_count as usize])
        }
        StszBox::Variable { entry_sizes } => Ok(entry_sizes.clone()),
    }
}

/// Offset and 0-based sample-entry index of every sample, from stsc + stco/co64.
fn chunk_places(stbl: &StblBox, sizes: &[u32], path: &Path) -> Result<Vec<(u64, u32)>, ClipError> {
    let offsets: Vec<u64> = match &stbl.stco_or_co64_box {
        Either::A(b) => b.chunk_offsets.iter().map(|o| u64::from(*o)).collect(),
        Either::B(b) => b.chunk_offsets.clone(),
    };
    let stsc = &stbl.stsc_box.entries;
    let mut out = Vec::with_capacity(sizes.len());
    let mut sizes_it = sizes.iter();
    let mut run = 0usize;
    for (c, chunk_offset) in offsets.iter().enumerate() {
        let chunk_no = u32::try_from(c).unwrap_or(u32::MAX).saturating_add(1);
        // stsc is sorted by first_chunk: advance linearly (no quadratic search on hostile input).
        while stsc.get(run + 1).is_some_and(|e| e.first_chunk.get() <= chunk_no) {
            run += 1;
        }
        let Some(entry) = stsc.get(run).filter(|e| e.first_chunk.get() <= chunk_no) else {
            return Err(ClipError::malformed(path, "stsc does not cover chunk 1"));
        };
        let desc = entry.sample_description_index.get().saturating_sub(1);
        let mut pos = *chunk_offset;
        for _ in 0..entry.sample_per_chunk {
            let Some(size) = sizes_it.next() else { return Ok(out) };
            out.push((pos, desc));
            pos = pos.saturating_add(u64::from(*size));
        }
    }
    Ok(out)
}

/// Per-track state while walking fragments.
#[derive(Default, Clone, Copy)]
struct FragState {
    next_dts: i64,
}

/// Appends the samples of every complete `moof` to the tracks.
fn read_fragments<R: Read + Seek>(
    r: &mut R,
    boxes: &[TopBox],
    trex: &[TrexBox],
    tracks: &mut [Track],
    path: &Path,
) -> Result<(), ClipError> {
    let mut state = vec![FragState::default(); tracks.len()];
    for b in boxes.iter().filter(|b| &b.kind == b"moof") {
        let bytes = read_box(r, b, MAX_MOOF_BYTES, path)?;
        let (moof, _) =
            MoofBox::decode(&bytes).map_err(|e| ClipError::malformed(path, e.to_string()))?;
        add_moof(&moof, b.offset, trex, tracks, &mut state, path)?;
    }
    Ok(())
}

fn add_moof(
    moof: &MoofBox,
    moof_offset: u64,
    trex: &[TrexBox],
    tracks: &mut [Track],
    state: &mut [FragState],
    path: &Path,
) -> Result<(), ClipError> {
    let mut prev_end = moof_offset;
    for traf in &moof.traf_boxes {
        let id = traf.tfhd_box.track_id;
        let idx = tracks.iter().position(|t| t.trak.tkhd_box.track_id == id);
        let Some(idx) = idx else {
            return Err(ClipError::malformed(path, format!("traf for unknown track {id}")));
        };
        let defaults = trex.iter().find(|t| t.track_id == id);
        let (Some(track), Some(st)) = (tracks.get_mut(idx), state.get_mut(idx)) else { continue };
        let tfhd = &traf.tfhd_box;
        let base = match tfhd.base_data_offset {
            Some(b) => b,
            None if tfhd.default_base_is_moof => moof_offset,
            None => prev_end,
        };
        if let Some(tfdt) = &traf.tfdt_box {
            st.next_dts = i64::try_from(tfdt.base_media_decode_time).unwrap_or(i64::MAX);
        }
        let desc = tfhd
            .sample_description_index
            .or(defaults.map(|d| d.default_sample_description_index))
            .unwrap_or(1)
            .saturating_sub(1);
        let mut pos = base;
        for trun in &traf.trun_boxes {
            if let Some(off) = trun.data_offset {
                pos = base.checked_add_signed(i64::from(off)).unwrap_or(u64::MAX);
            }
            pos = add_trun(trun, tfhd, defaults, desc, pos, track, st, path)?;
        }
        prev_end = pos;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn add_trun(
    trun: &shiguredo_mp4::boxes::TrunBox,
    tfhd: &shiguredo_mp4::boxes::TfhdBox,
    trex: Option<&TrexBox>,
    entry: u32,
    mut pos: u64,
    track: &mut Track,
    st: &mut FragState,
    path: &Path,
) -> Result<u64, ClipError> {
    if (track.samples.len() as u64).saturating_add(trun.samples.len() as u64) > MAX_SAMPLES {
        return Err(ClipError::malformed(path, "too many samples"));
    }
    for (i, s) in trun.samples.iter().enumerate() {
        let duration = s
            .duration
            .or(tfhd.default_sample_duration)
            .or(trex.map(|t| t.default_sample_duration))
            .unwrap_or(0);
        let size = s
            .size
            .or(tfhd.default_sample_size)
            .or(trex.map(|t| t.default_sample_size))
            .unwrap_or(0);
        let first = if i == 0 { trun.first_sample_flags } else { None };
        let flags = first
            .or(s.flags)
            .or(tfhd.default_sample_flags)
            .or(trex.map(|t| t.default_sample_flags))
            .unwrap_or(SampleFlags::empty());
        let sync = !flags.sample_is_non_sync_sample();
        let cto = s.composition_time_offset.unwrap_or(0);
        track.samples.push(Sample {
            offset: pos,
            size,
            dts: st.next_dts,
            duration,
            cto,
            sync,
            entry,
        });
        st.next_dts = st.next_dts.saturating_add(i64::from(duration));
        pos = pos.saturating_add(u64::from(size));
    }
    Ok(pos)
}

/// Checks that every sample lies inside the file and references a sample entry.
///
/// A fragmented file cut short keeps the samples before the cut (its earlier fragments are
/// complete); a classic file whose `moov` points past the end is malformed.
fn check_ranges(
    tracks: &mut [Track],
    len: u64,
    fragmented: bool,
    path: &Path,
) -> Result<(), ClipError> {
    for t in tracks.iter_mut() {
        let n_entries = t.entries.len();
        let bad = t.samples.iter().position(|s| {
            s.offset.checked_add(u64::from(s.size)).is_none_or(|end| end > len)
                || s.entry as usize >= n_entries
        });
        match bad {
            Some(i) if fragmented => t.samples.truncate(i),
            Some(i) => {
                return Err(ClipError::malformed(
                    path,
                    format!(
                        "track {} sample {} lies outside the file",
                        t.trak.tkhd_box.track_id,
                        i + 1
                    ),
                ));
            }
            None => {}
        }
    }
    Ok(())
}
