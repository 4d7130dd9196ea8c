//! A transport stream segment as the clip cut sees an MP4 one: a [`Segment`] with an `avc1`
//! video track (H.264 access units as length-prefixed samples, `avcC` from the stream's SPS and
//! PPS) and an `mp4a` audio track (ADTS frames without their headers, the AudioSpecificConfig
//! from the first header), timed from the PES time stamps.
//!
//! Two passes, both streaming the file with a fixed buffer ([`super::ts::TsReader`]):
//! [`read_ts`] indexes it (sizes and times only, no sample kept), and [`copy_ts_samples`]
//! reads it again and writes the chosen samples converted. A sample's `offset` is not a file
//! offset here but its key: where its PES completed in the file, times 256, plus its frame
//! number within the PES (ADTS PES carry several frames). Keys grow in the order the reader
//! hands PES out, so the writer's source order is the reading order.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::num::NonZeroU32;
use std::path::Path;

use shiguredo_mp4::TrackKind;
use shiguredo_mp4::bitstream::aac::{
    AudioObjectType, AudioSpecificConfig, Mp4aSampleEntryConfig, SamplingFrequency, build_mp4a_box,
    parse_adts_frame,
};
use shiguredo_mp4::bitstream::h264::{H264SampleEntryConfig, LengthSize, build_avc1_box};
use shiguredo_mp4::boxes::SampleEntry;
use shiguredo_mp4::mux::{Mp4FileMuxer, Sample as MuxSample};

use super::ClipError;
use super::read::{Sample, Segment, Track, empty_stbl};
use super::ts::{Flow, Kind, Pes, TsReader};

/// The video timescale: PES time stamps are 90 kHz.
const VIDEO_TS: u32 = 90_000;
/// Samples of one AAC frame.
const AAC_FRAME: u32 = 1024;
/// At most this many ADTS frames per PES (the key keeps 8 bits for the frame number).
const MAX_FRAMES_PER_PES: usize = 256;
/// Largest sample count per track (as for MP4: guards memory against hostile files).
const MAX_SAMPLES: usize = 20_000_000;
/// ADTS sampling frequency index to Hz.
const ADTS_RATES: [u32; 13] =
    [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/// A sample found by the first pass, times still raw.
#[derive(Debug, Clone, Copy)]
struct Found {
    key: u64,
    size: u32,
    /// 90 kHz, relative to the first time stamp of the file (33-bit wrap undone).
    pts: i64,
    dts: i64,
    sync: bool,
}

/// What the first pass gathers.
#[derive(Default)]
struct Index {
    video: Vec<Found>,
    audio: Vec<Found>,
    avc1: Option<SampleEntry>,
    mp4a: Option<(SampleEntry, u32)>,
    /// The first time stamp of the file: times are kept relative to it.
    origin: Option<u64>,
}

impl Index {
    /// A 33-bit time stamp relative to the file's first one, the wrap undone (a segment lasts
    /// far less than the 13 hours either way this allows).
    fn rel(&mut self, t: u64) -> i64 {
        let origin = *self.origin.get_or_insert(t);
        let d = t.wrapping_sub(origin) & ((1 << 33) - 1);
        if d >= 1 << 32 { d as i64 - (1 << 33) } else { d as i64 }
    }
}

/// Whether the file at `path` is a transport stream (see [`super::ts::looks_like_ts`]).
pub(crate) fn is_ts_file(file: &mut File) -> std::io::Result<bool> {
    let mut head = [0u8; super::ts::PACKET + 1];
    file.seek(SeekFrom::Start(0))?;
    let mut n = 0;
    while n < head.len() {
        match file.read(head.get_mut(n..).unwrap_or_default())? {
            0 => break,
            k => n += k,
        }
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(super::ts::looks_like_ts(head.get(..n).unwrap_or_default()))
}

/// Indexes a transport stream read from `r` (the whole file `path`) into a [`Segment`].
pub(crate) fn read_ts<R: Read>(r: R, path: &Path) -> Result<Segment, ClipError> {
    let err =
        |reason: &str| ClipError::MalformedTs { path: path.to_path_buf(), reason: reason.into() };
    let mut index = Index::default();
    TsReader::new(r, path, 0).run(|pes| {
        index_pes(&mut index, &pes, path)?;
        Ok(Flow::Continue)
    })?;
    let Some(avc1) = index.avc1.take() else {
        return Err(err("no H.264 access unit with its SPS and PPS"));
    };
    if !index.video.iter().any(|f| f.sync) {
        return Err(err("no H.264 keyframe (IDR)"));
    }
    let (v0_dts, v0_pts) = index.video.first().map(|f| (f.dts, f.pts)).unwrap_or_default();
    let video = samples(&index.video, v0_dts, |t| t, 3000);
    let shift = video.first().map_or(0, |s| s.cto);
    let mut entries = vec![(TrackKind::Video, avc1, VIDEO_TS, video, shift)];
    if let Some((mp4a, rate)) = index.mp4a.take() {
        let to_rate = |t: i64| super::read::rescale(t, VIDEO_TS, rate);
        let mut audio = samples(&index.audio, v0_pts, to_rate, i64::from(AAC_FRAME));
        for s in &mut audio {
            s.cto = 0;
        }
        entries.push((TrackKind::Audio, mp4a, rate, audio, 0));
    }
    segment(entries, path)
}

/// The first pass's work on one PES.
fn index_pes(index: &mut Index, pes: &Pes<'_>, path: &Path) -> Result<(), ClipError> {
    let err = |reason: String| ClipError::MalformedTs { path: path.to_path_buf(), reason };
    if index.video.len() + index.audio.len() >= MAX_SAMPLES {
        return Err(err("too many samples".into()));
    }
    // A PES may leave its time stamps out (they are only required every 0.7 s): it then
    // follows the one before it of its stream (one frame on for video, the previous AAC frames'
    // length for audio). The first PES of a stream must carry one.
    let (pts_rel, dts_rel) = match (pes.pts, pes.kind) {
        (Some(pts), _) => {
            let p = index.rel(pts);
            (p, pes.dts.map_or(p, |d| index.rel(d)))
        }
        (None, Kind::Video) => match index.video.as_slice() {
            [.., a, b] => (b.pts + (b.dts - a.dts), b.dts + (b.dts - a.dts)),
            [b] => (b.pts + 3000, b.dts + 3000),
            [] => {
                return Err(err(format!(
                    "first video PES without a time stamp at byte {}",
                    pes.completed_at
                )));
            }
        },
        (None, Kind::Audio) => match (index.audio.last(), index.mp4a.as_ref()) {
            (Some(last), Some((_, rate))) => {
                let next = last.pts + super::read::rescale(i64::from(AAC_FRAME), *rate, VIDEO_TS);
                (next, next)
            }
            _ => {
                return Err(err(format!(
                    "first audio PES without a time stamp at byte {}",
                    pes.completed_at
                )));
            }
        },
    };
    let key = pes.completed_at.saturating_mul(256);
    match pes.kind {
        Kind::Video => {
            let (mut size, mut sync, mut any) = (0usize, false, false);
            for nal in nal_units(pes.data) {
                size += 4 + nal.len();
                sync |= nal_type(nal) == NAL_IDR;
                any = true;
            }
            if !any {
                return Ok(());
            }
            let size = u32::try_from(size).map_err(|_| err("access unit too large".into()))?;
            if index.avc1.is_none() {
                index.avc1 = avc1_of(pes.data);
            }
            index.video.push(Found { key, size, pts: pts_rel, dts: dts_rel, sync });
        }
        Kind::Audio => {
            let mut rest = pes.data;
            let mut j = 0u64;
            while !rest.is_empty() {
                if j as usize >= MAX_FRAMES_PER_PES {
                    return Err(err("too many ADTS frames in one PES".into()));
                }
                let (header, raw) =
                    parse_adts_frame(rest).map_err(|e| err(format!("ADTS: {e}")))?;
                if index.mp4a.is_none() {
                    index.mp4a = Some(mp4a_of(&header).map_err(|e| err(format!("ADTS: {e}")))?);
                }
                let rate = index.mp4a.as_ref().map_or(VIDEO_TS, |m| m.1);
                let at =
                    pts_rel + super::read::rescale(j as i64 * i64::from(AAC_FRAME), rate, VIDEO_TS);
                let size = u32::try_from(raw.len()).unwrap_or(u32::MAX);
                index.audio.push(Found { key: key + j, size, pts: at, dts: at, sync: true });
                rest = rest.get(usize::from(header.frame_length)..).unwrap_or_default();
                j += 1;
            }
        }
    }
    Ok(())
}

/// H.264 NAL unit types the reader looks at.
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1F)
}

/// The NAL units of an Annex B access unit: each body without its start code, nor the zero
/// bytes that end it before the next start code (`trailing_zero_8bits`, or the first byte of a
/// 4-byte start code). Empty units are skipped.
///
/// Why hand-written rather than `shiguredo_mp4::bitstream::h264::parse_annexb_nal_units`: that
/// scanner tries every byte position and allocates a list per access unit, which dominated the
/// cut of an 8 Mb/s stream; this one jumps from start code to start code with memchr's SIMD
/// search (emulation prevention guarantees `00 00 01` never occurs inside a unit).
fn nal_units(au: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = memchr::memmem::find_iter(au, &[0, 0, 1]).map(|p| p + 3);
    let mut current = starts.next();
    std::iter::from_fn(move || {
        loop {
            let from = current?;
            let next = starts.next();
            current = next;
            let end = next.map_or(au.len(), |n| n - 3);
            let body = au.get(from..end).unwrap_or_default();
            let trimmed = body.len() - body.iter().rev().take_while(|b| **b == 0).count();
            if let Some(nal) = body.get(..trimmed).filter(|n| !n.is_empty()) {
                return Some(nal);
            }
        }
    })
}

/// The `avc1` entry from the first SPS and PPS of an access unit, if it has both.
fn avc1_of(au: &[u8]) -> Option<SampleEntry> {
    let of = |t: u8| -> Vec<Vec<u8>> {
        nal_units(au).filter(|n| nal_type(n) == t).map(<[u8]>::to_vec).take(1).collect()
    };
    let config = H264SampleEntryConfig { length_size: LengthSize::FourBytes };
    build_avc1_box(&of(NAL_SPS), &of(NAL_PPS), &config).ok().map(SampleEntry::Avc1)
}

/// The `mp4a` entry and sample rate an ADTS header describes.
fn mp4a_of(
    h: &shiguredo_mp4::bitstream::aac::AdtsHeader,
) -> Result<(SampleEntry, u32), shiguredo_mp4::Error> {
    let hz = ADTS_RATES.get(usize::from(h.sampling_frequency_index)).copied().unwrap_or(0);
    let asc = AudioSpecificConfig {
        audio_object_type: AudioObjectType::AacLc,
        sampling_frequency: SamplingFrequency::from_hz(hz)?,
        channel_configuration: h.channel_configuration,
    };
    let config =
        Mp4aSampleEntryConfig { es_id: 1, buffer_size_db: 0, max_bitrate: 0, avg_bitrate: 0 };
    Ok((SampleEntry::Mp4a(build_mp4a_box(&asc, &config)?), hz))
}

/// Samples in the track's timescale: decode times from `zero` (90 kHz) converted by `to_ts`,
/// each lasting until the next (the last as long as the one before, or `last`).
fn samples(found: &[Found], zero: i64, to_ts: impl Fn(i64) -> i64, last: i64) -> Vec<Sample> {
    let times: Vec<(i64, i64)> =
        found.iter().map(|f| (to_ts(f.dts - zero), to_ts(f.pts - zero))).collect();
    let mut prev = last;
    let mut out = Vec::with_capacity(found.len());
    for (i, (f, &(dts, pts))) in found.iter().zip(&times).enumerate() {
        let next = times.get(i + 1).map(|t| t.0 - dts);
        let d = next.filter(|d| *d > 0).unwrap_or(prev).max(0);
        prev = d;
        out.push(Sample {
            offset: f.key,
            size: f.size,
            dts,
            duration: u32::try_from(d).unwrap_or(u32::MAX),
            cto: pts - dts,
            sync: f.sync,
            entry: 0,
        });
    }
    out
}

type TrackParts = (TrackKind, SampleEntry, u32, Vec<Sample>, i64);

/// The segment: `moov` and `trak` templates from a dry run of the crate's muxer (one sample per
/// track), the sample lists as indexed.
fn segment(parts: Vec<TrackParts>, path: &Path) -> Result<Segment, ClipError> {
    let err = |e: shiguredo_mp4::mux::MuxError| ClipError::malformed(path, e.to_string());
    let mut muxer = Mp4FileMuxer::new().map_err(err)?;
    let first = muxer.initial_boxes_bytes().len() as u64;
    for (pos, (kind, entry, ts, _, _)) in (first..).zip(&parts) {
        let timescale = NonZeroU32::new(*ts).unwrap_or(NonZeroU32::MIN);
        let sample = MuxSample {
            track_kind: *kind,
            sample_entry: Some(entry.clone()),
            keyframe: true,
            timescale,
            duration: 1,
            composition_time_offset: None,
            data_offset: pos,
            data_size: 1,
        };
        muxer.append_sample(&sample).map_err(err)?;
    }
    let fin = muxer.finalize().map_err(err)?;
    let mut moov = fin.moov_box().clone();
    let traks = std::mem::take(&mut moov.trak_boxes);
    let mut tracks = Vec::new();
    for (mut trak, (_, entry, timescale, samples, shift)) in traks.into_iter().zip(parts) {
        let handler = trak.mdia_box.hdlr_box.handler_type;
        empty_stbl(&mut trak.mdia_box.minf_box.stbl_box);
        trak.mdia_box.minf_box.stbl_box.stsd_box.entries.clear();
        trak.edts_box = None;
        tracks.push(Track { trak, handler, timescale, entries: vec![entry], samples, shift });
    }
    Ok(Segment { moov, tracks, fragmented: false, moov_first: true })
}

/// One sample the writer wants from a transport stream: its key and size from [`read_ts`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wanted {
    /// The sample's key (`Sample::offset`).
    pub key: u64,
    /// Its size once converted.
    pub size: u32,
}

/// How far before the first wanted PES's completion the second pass starts reading: its start
/// (a keyframe of a few hundred KB, with the audio interleaved) is well within this. If it is
/// not, the pass starts again from the start of the file.
const SEEK_MARGIN: u64 = 4 * 1024 * 1024;

/// Reads the transport stream `path` again and writes the `wanted` samples (in key order) to
/// `w`, converted as [`read_ts`] sized them: H.264 access units with 4-byte NAL lengths instead
/// of start codes, AAC frames without their ADTS headers. Reading starts shortly before the
/// first wanted sample (the PIDs taken from the file's start) and stops after the last one.
/// Memory: one access unit at a time.
pub(crate) fn copy_ts_samples(
    path: &Path,
    wanted: &[Wanted],
    w: &mut impl Write,
    out: &Path,
) -> Result<(), ClipError> {
    copy_with_margin(path, wanted, w, out, SEEK_MARGIN)
}

fn copy_with_margin(
    path: &Path,
    wanted: &[Wanted],
    w: &mut impl Write,
    out: &Path,
    margin: u64,
) -> Result<(), ClipError> {
    let Some(first) = wanted.first() else { return Ok(()) };
    let pids = pids_of(path)?;
    let packet = super::ts::PACKET as u64;
    let at = (first.key / 256).saturating_sub(margin) / packet * packet;
    match copy_from(path, pids, at, wanted, w, out)? {
        Copied::All => Ok(()),
        Copied::Missed if at > 0 => match copy_from(path, pids, 0, wanted, w, out)? {
            Copied::All => Ok(()),
            Copied::Missed => Err(changed(path)),
        },
        Copied::Missed => Err(changed(path)),
    }
}

/// How a second pass from some offset went.
enum Copied {
    /// Every wanted sample was written.
    All,
    /// The first wanted PES started before the offset: nothing was written.
    Missed,
}

fn changed(path: &Path) -> ClipError {
    let reason = "the file changed since it was read".to_string();
    ClipError::MalformedTs { path: path.to_path_buf(), reason }
}

/// The video and audio PIDs, from the PAT and PMT at the start of the file.
fn pids_of(path: &Path) -> Result<(u16, Option<u16>), ClipError> {
    let file = File::open(path).map_err(|source| ClipError::Io { path: path.into(), source })?;
    let mut reader = TsReader::new(file, path, 0);
    reader.run(|_| Ok(Flow::Stop))?;
    reader.pids().ok_or_else(|| changed(path))
}

/// The second pass from byte `at` (a packet boundary).
fn copy_from(
    path: &Path,
    pids: (u16, Option<u16>),
    at: u64,
    wanted: &[Wanted],
    w: &mut impl Write,
    out: &Path,
) -> Result<Copied, ClipError> {
    let io = |source| ClipError::Io { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(at)).map_err(io)?;
    let mut next = wanted.iter().peekable();
    let mut written = 0usize;
    let mut missed = false;
    TsReader::new(file, path, at).with_pids(pids).run(|pes| {
        let key = pes.completed_at.saturating_mul(256);
        if next.peek().is_some_and(|w| w.key < key) {
            // A wanted sample's PES went by without being seen whole.
            missed = written == 0;
            return if missed { Ok(Flow::Stop) } else { Err(changed(path)) };
        }
        written += write_wanted(&pes, key, &mut next, w, path, out)?;
        Ok(if next.peek().is_none() { Flow::Stop } else { Flow::Continue })
    })?;
    if missed {
        return Ok(Copied::Missed);
    }
    if next.peek().is_some() {
        return Err(changed(path));
    }
    Ok(Copied::All)
}

/// Writes the samples of `pes` that are next in `next`; how many.
fn write_wanted<'a>(
    pes: &Pes<'_>,
    key: u64,
    next: &mut std::iter::Peekable<impl Iterator<Item = &'a Wanted>>,
    w: &mut impl Write,
    path: &Path,
    out: &Path,
) -> Result<usize, ClipError> {
    let werr = |source| ClipError::Write { path: out.to_path_buf(), source };
    let mut written = 0;
    match pes.kind {
        Kind::Video => {
            let Some(want) = next.peek().filter(|w| w.key == key) else { return Ok(0) };
            let mut size = 0usize;
            for nal in nal_units(pes.data) {
                let len = u32::try_from(nal.len()).map_err(|_| changed(path))?;
                w.write_all(&len.to_be_bytes()).and_then(|()| w.write_all(nal)).map_err(werr)?;
                size += 4 + nal.len();
            }
            if size != want.size as usize {
                return Err(changed(path));
            }
            next.next();
            written += 1;
        }
        Kind::Audio => {
            let mut rest = pes.data;
            let mut j = 0u64;
            while let Some(want) = next.peek().filter(|w| w.key >> 8 == key >> 8) {
                let (header, raw) = parse_adts_frame(rest).map_err(|_| changed(path))?;
                if want.key == key + j {
                    if raw.len() != want.size as usize {
                        return Err(changed(path));
                    }
                    w.write_all(raw).map_err(werr)?;
                    next.next();
                    written += 1;
                }
                rest = rest.get(usize::from(header.frame_length)..).unwrap_or_default();
                j += 1;
                if rest.is_empty() {
                    break;
                }
            }
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ffmpeg's remux of the 1 s fixture GOP (30 frames, B-frames, AAC 48 kHz mono).
    const FIXTURE: &[u8] = include_bytes!("../../../tests/fixtures/gop-360p.ts");

    fn summary(data: &[u8]) -> Result<crate::clips::SegmentSummary, ClipError> {
        crate::clips::probe_segment_bytes(data)
    }

    #[test]
    fn ffmpeg_ts_reads_as_h264_and_aac_with_its_duration() {
        let s = summary(FIXTURE).expect("the fixture reads");
        let v = &s.tracks[0];
        assert_eq!((v.handler.as_str(), v.codec.as_str(), v.timescale), ("vide", "avc1", 90_000));
        assert_eq!((v.samples, v.sync_samples), (30, 1));
        assert!((v.duration_s - 1.0).abs() < 1e-9, "{}", v.duration_s);
        let a = &s.tracks[1];
        assert_eq!((a.handler.as_str(), a.codec.as_str(), a.timescale), ("soun", "mp4a", 48_000));
        assert!(a.samples >= 46, "{} AAC frames", a.samples);
    }

    #[test]
    fn the_second_pass_finds_the_same_samples_from_wherever_it_starts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.ts");
        std::fs::write(&path, FIXTURE).unwrap();
        let seg = read_ts(FIXTURE, &path).unwrap();
        // The second half of each track, in key order, as the writer asks for them.
        let mut wanted: Vec<Wanted> = seg
            .tracks
            .iter()
            .flat_map(|t| t.samples[t.samples.len() / 2..].iter())
            .map(|s| Wanted { key: s.offset, size: s.size })
            .collect();
        wanted.sort_by_key(|w| w.key);
        let copy = |wanted: &[Wanted], margin: u64| {
            let mut out = Vec::new();
            copy_with_margin(&path, wanted, &mut out, Path::new("out"), margin).map(|()| out)
        };
        let whole = copy(&wanted, u64::MAX).unwrap();
        let total: u64 = wanted.iter().map(|w| u64::from(w.size)).sum();
        assert_eq!(whole.len() as u64, total);
        // Starting too late (no margin) misses the first PES's start and starts again from 0;
        // a small margin starts in the middle of the file.
        assert_eq!(copy(&wanted, 0).unwrap(), whole);
        assert_eq!(copy(&wanted, 40 * 188).unwrap(), whole);
        // A sample the file does not hold is an error, not a short clip.
        wanted.push(Wanted { key: u64::MAX, size: 1 });
        assert!(matches!(copy(&wanted, u64::MAX), Err(ClipError::MalformedTs { .. })));
    }

    #[test]
    fn a_pes_without_time_stamps_follows_the_one_before() {
        // Clear the PTS/DTS flags of the tenth video PES (its header keeps its length: the
        // stamps become stuffing): it is placed one frame after the ninth.
        let mut d = FIXTURE.to_vec();
        let starts: Vec<usize> = (0..d.len() / 188)
            .filter(|k| d[k * 188 + 1] & 0x40 != 0)
            .filter_map(|k| {
                let p = &d[k * 188..(k + 1) * 188];
                p.windows(4).position(|w| w == [0, 0, 1, 0xE0]).map(|i| k * 188 + i)
            })
            .collect();
        assert!(starts.len() >= 30, "{} video PES", starts.len());
        d[starts[9] + 7] &= 0x3F;
        let s = summary(&d).expect("still reads");
        assert_eq!(s.tracks[0].samples, 30);
        assert!((s.tracks[0].duration_s - 1.0).abs() < 0.2, "{}", s.tracks[0].duration_s);
        // The first one must carry them.
        let mut d = FIXTURE.to_vec();
        d[starts[0] + 7] &= 0x3F;
        let e = summary(&d).expect_err("no first time stamp");
        assert!(e.to_string().contains("first video PES without a time stamp"), "{e}");
    }

    #[test]
    fn a_cut_file_is_an_error_and_never_a_panic() {
        let packets = FIXTURE.len() / 188;
        assert_eq!(FIXTURE.len() % 188, 0);
        // Every byte of the first and last packets, and both sides of every packet boundary.
        let mut cuts: Vec<usize> =
            (0..3 * 188).chain(FIXTURE.len() - 2 * 188..FIXTURE.len()).collect();
        cuts.extend((1..packets).flat_map(|k| [k * 188 - 1, k * 188, k * 188 + 1]));
        for cut in cuts {
            let r = summary(&FIXTURE[..cut]);
            if cut % 188 != 0 {
                assert!(r.is_err(), "cut at {cut} accepted");
            }
            if let Ok(s) = r {
                assert!(s.tracks[0].samples <= 30);
            }
        }
    }

    #[test]
    fn corrupt_bytes_are_errors_or_readable_never_a_panic() {
        // Every byte of the PAT, PMT and first video packets flipped in turn; then a sync byte
        // in the middle.
        for at in 0..6 * 188 {
            let mut d = FIXTURE.to_vec();
            d[at] ^= 0xFF;
            let _ = summary(&d);
        }
        let mut d = FIXTURE.to_vec();
        d[188 * 200] = 0;
        let e = summary(&d).expect_err("lost sync");
        assert!(matches!(e, ClipError::MalformedTs { .. }), "{e}");
        assert!(e.to_string().contains("lost sync at byte 37600"), "{e}");
    }

    #[test]
    fn a_lost_packet_or_a_missing_pmt_is_named() {
        // Drop one packet of the video PID in the middle (its continuity counter then jumps).
        let mut d = FIXTURE.to_vec();
        let pid_of = |p: &[u8]| (u16::from(p[1] & 0x1F) << 8) | u16::from(p[2]);
        let video_pid = 0x100;
        let k = (100..)
            .find(|&k| pid_of(&d[k * 188..]) == video_pid && d[k * 188 + 1] & 0x40 == 0)
            .unwrap();
        d.drain(k * 188..(k + 1) * 188);
        let e = summary(&d).expect_err("lost packet");
        assert!(e.to_string().contains("packets lost on PID 256"), "{e}");
        // Only PES packets, no PAT/PMT.
        let only_pes: Vec<u8> =
            FIXTURE.chunks(188).filter(|p| pid_of(p) == video_pid).flatten().copied().collect();
        let e = summary(&only_pes).expect_err("no PAT");
        assert!(e.to_string().contains("no PAT"), "{e}");
    }
}
