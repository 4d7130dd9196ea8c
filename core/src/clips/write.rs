//! Writing the clip: `ftyp`, `moov` (sized first), then `mdat` streamed from the segments.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use shiguredo_mp4::boxes::{
    Brand, Co64Box, CttsBox, CttsEntry, EdtsBox, ElstBox, ElstEntry, FtypBox, MoovBox, StcoBox,
    StscBox, StscEntry, StssBox, StszBox, SttsBox, SttsEntry, TrakBox,
};
use shiguredo_mp4::{Either, Encode, FixedPointNumber};

use super::ClipError;
use super::plan::{OutTrack, Placed, Plan};
use super::ts_segment::{Wanted, copy_ts_samples, is_ts_file};

/// Copy buffer: the only memory that scales with throughput, and it is fixed.
const COPY_BUF: usize = 256 * 1024;

/// A run of consecutive samples of one track, written contiguously.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    track: usize,
    first: usize,
    count: u32,
    entry: u32,
    /// Offset from the start of the mdat payload.
    rel: u64,
}

/// A source byte range to copy.
#[derive(Debug, Clone, Copy)]
struct Range {
    seg: usize,
    offset: u64,
    len: u64,
}

/// Writes the clip into `file` (a fresh temp file; `out` names the clip in errors) and returns
/// the number of bytes written. The caller fsyncs and renames it.
pub(crate) fn write_clip(plan: &Plan, file: File, out: &Path) -> Result<u64, ClipError> {
    let order = write_order(plan);
    let (chunks, data_len) = layout(plan, &order);
    let ftyp = encode(&ftyp_box(plan))?;
    let large = data_len > u64::from(u32::MAX) - (64 << 20);
    let mdat_header = mdat_header(data_len, large);
    let probe = encode(&moov_box(plan, &chunks, 0, large))?;
    let base = (ftyp.len() + probe.len() + mdat_header.len()) as u64;
    let moov = encode(&moov_box(plan, &chunks, base, large))?;
    if moov.len() != probe.len() {
        return Err(ClipError::Encode("moov size changed between passes".into()));
    }
    let werr = |source| ClipError::Write { path: out.to_path_buf(), source };
    let mut w = BufWriter::with_capacity(COPY_BUF, file);
    w.write_all(&ftyp)
        .and_then(|()| w.write_all(&moov))
        .and_then(|()| w.write_all(&mdat_header))
        .map_err(werr)?;
    drop(moov);
    copy_samples(plan, &order, &mut w, out)?;
    w.into_inner().map_err(|e| werr(e.into_error()))?;
    Ok(base + data_len)
}

/// (track, sample index) pairs in the order their data is written: source file order, which
/// keeps the camera's interleaving and turns the copy into a few long sequential reads.
fn write_order(plan: &Plan) -> Vec<(usize, usize)> {
    let mut order: Vec<(usize, usize, usize, u64)> = Vec::new();
    for (t, tr) in plan.tracks.iter().enumerate() {
        for (i, p) in tr.line.samples.iter().enumerate() {
            order.push((p.seg, t, i, p.s.offset));
        }
    }
    order.sort_by_key(|&(seg, t, i, off)| (seg, off, t, i));
    order.into_iter().map(|(_, t, i, _)| (t, i)).collect()
}

fn sample(plan: &Plan, t: usize, i: usize) -> Option<&Placed> {
    plan.tracks.get(t).and_then(|tr| tr.line.samples.get(i))
}

/// Groups the write order into chunks and assigns mdat-relative offsets.
fn layout(plan: &Plan, order: &[(usize, usize)]) -> (Vec<Chunk>, u64) {
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut rel = 0u64;
    for &(t, i) in order {
        let Some(p) = sample(plan, t, i) else { continue };
        let extend = chunks
            .last()
            .is_some_and(|c| c.track == t && c.entry == p.entry && c.first + c.count as usize == i);
        match chunks.last_mut() {
            Some(c) if extend => c.count += 1,
            _ => chunks.push(Chunk { track: t, first: i, count: 1, entry: p.entry, rel }),
        }
        rel += u64::from(p.s.size);
    }
    (chunks, rel)
}

fn encode<T: Encode>(b: &T) -> Result<Vec<u8>, ClipError> {
    b.encode_to_vec().map_err(|e| ClipError::Encode(e.to_string()))
}

fn mdat_header(data_len: u64, large: bool) -> Vec<u8> {
    if large {
        let mut h = 1u32.to_be_bytes().to_vec();
        h.extend_from_slice(b"mdat");
        h.extend_from_slice(&(data_len + 16).to_be_bytes());
        h
    } else {
        let mut h = u32::try_from(data_len + 8).unwrap_or(0).to_be_bytes().to_vec();
        h.extend_from_slice(b"mdat");
        h
    }
}

fn ftyp_box(plan: &Plan) -> FtypBox {
    let mut brands = vec![Brand::ISOM, Brand::ISO2, Brand::MP41];
    for tr in &plan.tracks {
        if let Some(e) = tr.line.entries.first() {
            match super::read::entry_fourcc(e).as_str() {
                "avc1" => brands.push(Brand::AVC1),
                "hvc1" => brands.push(Brand::HVC1),
                "hev1" => brands.push(Brand::HEV1),
                _ => {}
            }
        }
    }
    FtypBox { major_brand: Brand::ISOM, minor_version: 0x200, compatible_brands: brands }
}

fn moov_box(plan: &Plan, chunks: &[Chunk], base: u64, large: bool) -> MoovBox {
    let mut moov = plan.moov.clone();
    moov.mvex_box = None;
    moov.mvhd_box.timescale = NonZeroU32::new(plan.movie_ts).unwrap_or(NonZeroU32::MIN);
    moov.trak_boxes = plan
        .tracks
        .iter()
        .enumerate()
        .map(|(t, tr)| trak_box(tr, track_chunks(chunks, t), base, large))
        .collect();
    let duration = plan.tracks.iter().map(|t| t.empty + t.edit_duration).max().unwrap_or(0);
    moov.mvhd_box.duration = duration;
    let max_id = moov.trak_boxes.iter().map(|t| t.tkhd_box.track_id).max().unwrap_or(0);
    moov.mvhd_box.next_track_id = max_id.saturating_add(1);
    moov
}

/// A track's chunks in decode order (they were created in write order).
fn track_chunks(chunks: &[Chunk], t: usize) -> Vec<Chunk> {
    let mut v: Vec<Chunk> = chunks.iter().filter(|c| c.track == t).copied().collect();
    v.sort_by_key(|c| c.first);
    v
}

fn trak_box(tr: &OutTrack, chunks: Vec<Chunk>, base: u64, large: bool) -> TrakBox {
    let mut trak = tr.line.trak.clone();
    let samples = &tr.line.samples;
    trak.tkhd_box.duration = tr.empty + tr.edit_duration;
    trak.mdia_box.mdhd_box.duration = samples.iter().map(|p| u64::from(p.duration)).sum();
    trak.edts_box = Some(EdtsBox { elst_box: Some(elst(tr)), unknown_boxes: Vec::new() });
    let stbl = &mut trak.mdia_box.minf_box.stbl_box;
    stbl.stsd_box.entries = tr.line.entries.clone();
    stbl.stts_box = stts(samples);
    stbl.ctts_box = ctts(samples);
    stbl.cslg_box = None;
    stbl.stss_box = stss(samples);
    stbl.stsz_box = stsz(samples);
    stbl.stsc_box = stsc(&chunks);
    let offsets = chunks.iter().map(|c| base + c.rel);
    stbl.stco_or_co64_box = if large {
        Either::B(Co64Box { chunk_offsets: offsets.collect() })
    } else {
        Either::A(StcoBox {
            chunk_offsets: offsets.map(|o| u32::try_from(o).unwrap_or(0)).collect(),
        })
    };
    trak
}

fn elst(tr: &OutTrack) -> ElstBox {
    let rate = FixedPointNumber::new(1, 0);
    let mut entries = Vec::new();
    if tr.empty > 0 {
        entries.push(ElstEntry { edit_duration: tr.empty, media_time: -1, media_rate: rate });
    }
    entries.push(ElstEntry {
        edit_duration: tr.edit_duration,
        media_time: tr.media_time,
        media_rate: rate,
    });
    ElstBox { entries }
}

/// Run-length encodes `values`.
fn runs<T: PartialEq + Copy>(values: impl Iterator<Item = T>) -> Vec<(u32, T)> {
    let mut out: Vec<(u32, T)> = Vec::new();
    for v in values {
        match out.last_mut() {
            Some((n, last)) if *last == v && *n < u32::MAX => *n += 1,
            _ => out.push((1, v)),
        }
    }
    out
}

fn stts(samples: &[Placed]) -> SttsBox {
    let entries = runs(samples.iter().map(|p| p.duration))
        .into_iter()
        .map(|(sample_count, sample_delta)| SttsEntry { sample_count, sample_delta })
        .collect();
    SttsBox { entries }
}

fn ctts(samples: &[Placed]) -> Option<CttsBox> {
    if samples.iter().all(|p| p.s.cto == 0) {
        return None;
    }
    let version = if samples.iter().any(|p| p.s.cto < 0) { 1 } else { 0 };
    let entries = runs(samples.iter().map(|p| p.s.cto))
        .into_iter()
        .map(|(sample_count, sample_offset)| CttsEntry { sample_count, sample_offset })
        .collect();
    Some(CttsBox { version, entries })
}

fn stss(samples: &[Placed]) -> Option<StssBox> {
    if samples.iter().all(|p| p.s.sync) {
        return None;
    }
    let numbers = samples
        .iter()
        .enumerate()
        .filter(|(_, p)| p.s.sync)
        .filter_map(|(i, _)| u32::try_from(i + 1).ok().and_then(NonZeroU32::new));
    Some(StssBox { sample_numbers: numbers.collect() })
}

fn stsz(samples: &[Placed]) -> StszBox {
    let first = samples.first().map(|p| p.s.size).and_then(NonZeroU32::new);
    match first {
        Some(size) if samples.iter().all(|p| p.s.size == size.get()) => {
            let sample_count = u32::try_from(samples.len()).unwrap_or(u32::MAX);
            StszBox::Fixed { sample_size: size, sample_count }
        }
        _ => StszBox::Variable { entry_sizes: samples.iter().map(|p| p.s.size).collect() },
    }
}

fn stsc(chunks: &[Chunk]) -> StscBox {
    let mut entries: Vec<StscEntry> = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let sdi = NonZeroU32::MIN.saturating_add(c.entry);
        let same = entries
            .last()
            .is_some_and(|e| e.sample_per_chunk == c.count && e.sample_description_index == sdi);
        if !same {
            let first_chunk = NonZeroU32::MIN.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
            entries.push(StscEntry {
                first_chunk,
                sample_per_chunk: c.count,
                sample_description_index: sdi,
            });
        }
    }
    StscBox { entries }
}

/// Streams the sample data, merging adjacent source ranges into single copies.
fn copy_samples(
    plan: &Plan,
    order: &[(usize, usize)],
    w: &mut BufWriter<File>,
    out: &Path,
) -> Result<(), ClipError> {
    let mut files: Vec<Option<File>> = Vec::new();
    files.resize_with(plan.paths.len(), || None);
    let ts = ts_segments(plan)?;
    let mut pending: Option<Range> = None;
    let mut order = order;
    while let Some(&(t, i)) = order.first() {
        order = order.get(1..).unwrap_or_default();
        let Some(p) = sample(plan, t, i) else { continue };
        if ts.get(p.seg).copied().unwrap_or(false) {
            // A transport stream: its run of samples is demuxed and converted, not copied.
            if let Some(q) = pending.take() {
                copy_range(plan, &mut files, q, w, out)?;
            }
            let run = order
                .iter()
                .take_while(|&&(t, i)| sample(plan, t, i).is_some_and(|q| q.seg == p.seg))
                .count();
            let wanted: Vec<Wanted> = std::iter::once((t, i))
                .chain(order.get(..run).unwrap_or_default().iter().copied())
                .filter_map(|(t, i)| sample(plan, t, i))
                .map(|q| Wanted { key: q.s.offset, size: q.s.size })
                .collect();
            order = order.get(run..).unwrap_or_default();
            let path = plan.paths.get(p.seg).map(PathBuf::as_path).unwrap_or(Path::new(""));
            copy_ts_samples(path, &wanted, w, out)?;
            continue;
        }
        let r = Range { seg: p.seg, offset: p.s.offset, len: u64::from(p.s.size) };
        pending = match pending {
            Some(q) if q.seg == r.seg && q.offset + q.len == r.offset => {
                Some(Range { len: q.len + r.len, ..q })
            }
            Some(q) => {
                copy_range(plan, &mut files, q, w, out)?;
                Some(r)
            }
            None => Some(r),
        };
    }
    if let Some(q) = pending {
        copy_range(plan, &mut files, q, w, out)?;
    }
    w.flush().map_err(|source| ClipError::Write { path: out.to_path_buf(), source })
}

/// Which of the plan's segments are transport streams (by their sync bytes, as the reader
/// told them apart).
fn ts_segments(plan: &Plan) -> Result<Vec<bool>, ClipError> {
    let used: std::collections::HashSet<usize> =
        plan.tracks.iter().flat_map(|t| t.line.samples.iter().map(|p| p.seg)).collect();
    let mut out = vec![false; plan.paths.len()];
    for (k, path) in plan.paths.iter().enumerate() {
        if !used.contains(&k) {
            continue;
        }
        let io = |source| ClipError::Io { path: path.clone(), source };
        let mut file = File::open(path).map_err(io)?;
        if let Some(slot) = out.get_mut(k) {
            *slot = is_ts_file(&mut file).map_err(io)?;
        }
    }
    Ok(out)
}

fn copy_range(
    plan: &Plan,
    files: &mut [Option<File>],
    r: Range,
    w: &mut BufWriter<File>,
    out: &Path,
) -> Result<(), ClipError> {
    let path = plan.paths.get(r.seg).map(|p| p.as_path()).unwrap_or(Path::new(""));
    let rerr = |source| ClipError::Io { path: path.to_path_buf(), source };
    let slot = files.get_mut(r.seg).ok_or_else(|| ClipError::malformed(path, "segment index"))?;
    if slot.is_none() {
        *slot = Some(File::open(path).map_err(rerr)?);
    }
    let Some(file) = slot.as_mut() else { return Ok(()) };
    file.seek(SeekFrom::Start(r.offset)).map_err(rerr)?;
    // std::io::copy uses copy_file_range between files on Linux: no user-space buffer at all.
    let copied = std::io::copy(&mut std::io::Read::take(&mut *file, r.len), w)
        .map_err(|source| ClipError::Write { path: out.to_path_buf(), source })?;
    if copied != r.len {
        return Err(ClipError::malformed(path, "segment shrank while copying"));
    }
    Ok(())
}
