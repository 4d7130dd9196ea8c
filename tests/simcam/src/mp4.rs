//! Real H.264 + AAC MP4 segments built by repeating the samples of a one-GOP fixture clip.
//!
//! The fixture (`tests/fixtures/gop-*.mp4`) is one closed 1 s GOP at 30 fps plus 1 s of AAC.
//! A segment of N seconds repeats the GOP N times with decode timestamps rewritten so frame k is
//! at k/30 s, and cycles the AAC frames so audio is continuous too. The file is laid out as a
//! camera writes it while recording: `ftyp`, `free`, `mdat` (samples), then `moov` at the end.
//!
//! `shiguredo_mp4`'s muxer does no I/O, so the simcam first runs it over the sample sizes only
//! (a dry run) to learn every box, then streams the file out in a single sequential pass,
//! hashing as it writes: memory stays bounded whatever the segment size. The one thing the muxer
//! does not write is an edit list; the simcam adds one to the video track (in the `moov` the
//! muxer built) so the B-frame composition delay does not show up as a start offset.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dashkeep_core::protocol::GpsFix;
use sha2::{Digest, Sha256};
use shiguredo_mp4::boxes::{EdtsBox, ElstBox, ElstEntry, HdlrBox, SampleEntry};
use shiguredo_mp4::demux::{Input, Mp4FileDemuxer};
use shiguredo_mp4::mux::{Mp4FileMuxer, Mp4FileMuxerOptions, Sample};
use shiguredo_mp4::{Encode, FixedPointNumber, TrackKind};

use crate::SimError;

/// Which fixture clip the camera records from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fixture {
    /// 640x360 at about 1 Mbit/s (about 150 KB per second): tests and the demo.
    #[default]
    Small360p,
    /// 1920x1080 at about 8 Mbit/s (a 60 s segment is about 64 MB): the benchmark.
    Hd1080p,
}

impl Fixture {
    /// The fixture's bytes, embedded in the binary at build time so that an installed
    /// `dashkeep demo` or `dashkeep-simcam` runs from any directory, without the repository.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Fixture::Small360p => include_bytes!("../../fixtures/gop-360p.mp4"),
            Fixture::Hd1080p => include_bytes!("../../fixtures/gop-1080p.mp4"),
        }
    }

    /// The fixture's source file in this repository (`tests/fixtures/`), for tools that want
    /// the file itself; the camera uses [`Fixture::bytes`].
    pub fn path(self) -> PathBuf {
        let name = match self {
            Fixture::Small360p => "gop-360p.mp4",
            Fixture::Hd1080p => "gop-1080p.mp4",
        };
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("fixtures").join(name)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ClipSample {
    pub(crate) offset: usize,
    pub(crate) size: usize,
    pub(crate) keyframe: bool,
    pub(crate) cto: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct ClipTrack {
    pub(crate) timescale: NonZeroU32,
    pub(crate) entry: SampleEntry,
    pub(crate) samples: Vec<ClipSample>,
    /// Duration of every sample (video: one frame; audio: one AAC frame).
    pub(crate) sample_duration: u32,
}

/// A decoded fixture: its sample tables and the bytes of its samples, kept in memory (~1 MB).
#[derive(Debug, Clone)]
pub(crate) struct Clip {
    pub(crate) data: Vec<u8>,
    pub(crate) video: ClipTrack,
    pub(crate) audio: Option<ClipTrack>,
}

fn mp4_err(what: &str, e: impl std::fmt::Display) -> SimError {
    SimError::Fixture(format!("{what}: {e}"))
}

impl Clip {
    /// Reads and demuxes a fixture file, checking it is one closed GOP of exactly 1 s.
    #[cfg(test)]
    pub(crate) fn load(path: &Path) -> Result<Clip, SimError> {
        let data = std::fs::read(path)
            .map_err(|e| SimError::Fixture(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(data)
    }

    /// Demuxes an embedded fixture (see [`Fixture::bytes`]).
    pub(crate) fn of(fixture: Fixture) -> Result<Clip, SimError> {
        Self::parse(fixture.bytes().to_vec())
    }

    /// Demuxes a fixture's bytes, checking it is one closed GOP of exactly 1 s.
    fn parse(data: Vec<u8>) -> Result<Clip, SimError> {
        let mut demuxer = Mp4FileDemuxer::new();
        demuxer.handle_input(Input { position: 0, data: &data });
        let mut video: Option<ClipTrack> = None;
        let mut audio: Option<ClipTrack> = None;
        let mut video_total = 0u64;
        while let Some(s) = demuxer.next_sample().map_err(|e| mp4_err("demux", e))? {
            let slot = match s.track.kind {
                TrackKind::Video => &mut video,
                TrackKind::Audio => &mut audio,
                TrackKind::Subtitle => continue,
            };
            if slot.is_none() {
                let entry = s.sample_entry.cloned().ok_or_else(|| mp4_err("demux", "no entry"))?;
                *slot = Some(ClipTrack {
                    timescale: s.track.timescale,
                    entry,
                    samples: Vec::new(),
                    sample_duration: s.duration,
                });
            }
            if s.track.kind == TrackKind::Video {
                video_total += u64::from(s.duration);
            }
            let track = slot.as_mut().expect("set above");
            let offset = usize::try_from(s.data_offset).map_err(|e| mp4_err("offset", e))?;
            if offset.checked_add(s.data_size).is_none_or(|end| end > data.len()) {
                return Err(mp4_err("demux", "sample outside the file"));
            }
            track.samples.push(ClipSample {
                offset,
                size: s.data_size,
                keyframe: s.keyframe,
                cto: s.composition_time_offset,
            });
        }
        let video = video.ok_or_else(|| mp4_err("fixture", "no video track"))?;
        let ok = video.samples.first().is_some_and(|s| s.keyframe)
            && video.samples.iter().filter(|s| s.keyframe).count() == 1
            && video_total == u64::from(video.timescale.get())
            && video.sample_duration > 0
            && u64::from(video.sample_duration) * video.samples.len() as u64 == video_total;
        if !ok {
            return Err(mp4_err("fixture", "video must be one 1 s GOP of evenly spaced frames"));
        }
        if audio.as_ref().is_some_and(|a| a.sample_duration == 0 || a.samples.is_empty()) {
            return Err(mp4_err("fixture", "bad audio track"));
        }
        Ok(Clip { data, video, audio })
    }

    /// Calls `f(kind, clip sample, track)` for every sample of a `secs`-second segment, in file
    /// order: per second, the GOP's frames then the audio frames that fall in that second.
    pub(crate) fn for_each_sample(
        &self,
        secs: u32,
        mut f: impl FnMut(TrackKind, &ClipSample, &ClipTrack) -> Result<(), SimError>,
    ) -> Result<(), SimError> {
        let mut audio_done = 0u64;
        for sec in 0..u64::from(secs) {
            for s in &self.video.samples {
                f(TrackKind::Video, s, &self.video)?;
            }
            if let Some(a) = &self.audio {
                // Audio frames starting before the end of this second.
                let ts = u64::from(a.timescale.get());
                let until = ((sec + 1) * ts).div_ceil(u64::from(a.sample_duration));
                while audio_done < until {
                    let s = &a.samples[(audio_done % a.samples.len() as u64) as usize];
                    f(TrackKind::Audio, s, a)?;
                    audio_done += 1;
                }
            }
        }
        Ok(())
    }
}

/// The boxes of one segment, computed before a byte of it is written.
struct Layout {
    head: Vec<u8>,
    mdat_header: Vec<u8>,
    moov: Vec<u8>,
    size: u64,
}

fn layout(
    clip: &Clip,
    secs: u32,
    start_ms: i64,
    gps: Option<&[GpsFix]>,
) -> Result<Layout, SimError> {
    let options = Mp4FileMuxerOptions {
        creation_timestamp: Duration::from_millis(u64::try_from(start_ms).unwrap_or(0)),
        ..Default::default()
    };
    let mut muxer = Mp4FileMuxer::with_options(options).map_err(|e| mp4_err("mux", e))?;
    let data_start = muxer.initial_boxes_bytes().len() as u64;
    let mut pos = data_start;
    let mut first = [true, true];
    clip.for_each_sample(secs, |kind, s, track| {
        let i = usize::from(kind == TrackKind::Audio);
        let sample = Sample {
            track_kind: kind,
            sample_entry: first[i].then(|| track.entry.clone()),
            keyframe: kind != TrackKind::Video || s.keyframe,
            timescale: track.timescale,
            duration: track.sample_duration,
            composition_time_offset: if kind == TrackKind::Video { s.cto } else { None },
            data_offset: pos,
            data_size: s.size,
        };
        first[i] = false;
        muxer.append_sample(&sample).map_err(|e| mp4_err("mux", e))?;
        pos += s.size as u64;
        Ok(())
    })?;
    let fin = muxer.finalize().map_err(|e| mp4_err("mux", e))?;
    if fin.is_faststart_enabled() {
        return Err(mp4_err("mux", "unexpected faststart layout"));
    }
    let pairs: Vec<(u64, &[u8])> = fin.offset_and_bytes_pairs().collect();
    let head = pairs.first().filter(|p| p.0 == 0).map(|p| p.1.to_vec());
    let mdat = pairs.last().map(|p| (p.0, p.1.to_vec()));
    let (Some(head), Some((mdat_offset, mdat_header))) = (head, mdat) else {
        return Err(mp4_err("mux", "unexpected box layout"));
    };
    if head.len() as u64 != mdat_offset || mdat_offset + mdat_header.len() as u64 != data_start {
        return Err(mp4_err("mux", "unexpected head layout"));
    }
    // Add an edit list to the video track so presentation starts at 0 despite B-frame delay.
    let mut moov = fin.moov_box().clone();
    let movie_ts = u64::from(moov.mvhd_box.timescale.get());
    let first_cto = clip.video.samples[0].cto.unwrap_or(0);
    for trak in &mut moov.trak_boxes {
        if trak.mdia_box.hdlr_box.handler_type == HdlrBox::HANDLER_TYPE_VIDE && first_cto > 0 {
            trak.edts_box = Some(EdtsBox {
                elst_box: Some(ElstBox {
                    entries: vec![ElstEntry {
                        edit_duration: u64::from(secs) * movie_ts,
                        media_time: first_cto,
                        media_rate: FixedPointNumber::new(1, 0),
                    }],
                }),
                unknown_boxes: Vec::new(),
            });
        }
    }
    let mut moov = moov.encode_to_vec().map_err(|e| mp4_err("moov", e))?;
    if let Some(fixes) = gps {
        // Novatek: a `gps ` box at the end of `moov` (the file's last box, so no sample offset
        // moves), its records right after `moov`.
        let index_len = 16 + 8 * fixes.len() as u64;
        let records_at = pos + moov.len() as u64 + index_len;
        let (index, records) = crate::novatek::gps_boxes(fixes, start_ms, records_at);
        moov.extend_from_slice(&index);
        let moov_len = u32::try_from(moov.len()).map_err(|e| mp4_err("moov", e))?;
        moov[..4].copy_from_slice(&moov_len.to_be_bytes());
        moov.extend_from_slice(&records);
    }
    let size = pos + moov.len() as u64;
    Ok(Layout { head, mdat_header, moov, size })
}

/// The size in bytes of the segment [`write_segment`] would write.
pub(crate) fn segment_size(
    clip: &Clip,
    secs: u32,
    start_ms: i64,
    gps: Option<&[GpsFix]>,
) -> Result<u64, SimError> {
    Ok(layout(clip, secs, start_ms, gps)?.size)
}

/// Writes a `secs`-second segment to `path` (via `path.tmp`, renamed when complete) and returns
/// its size and SHA-256 (lowercase hex). Memory use is bounded (a 256 KiB write buffer). With
/// `gps`, the fixes are embedded as a Novatek camera does (`novatek::gps_boxes`).
pub(crate) fn write_segment(
    clip: &Clip,
    secs: u32,
    start_ms: i64,
    gps: Option<&[GpsFix]>,
    path: &Path,
) -> Result<(u64, String), SimError> {
    let lay = layout(clip, secs, start_ms, gps)?;
    let tmp = path.with_extension("mp4.tmp");
    let result = (|| -> std::io::Result<String> {
        let mut out = BufWriter::with_capacity(256 * 1024, File::create(&tmp)?);
        let mut hash = Sha256::new();
        let mut put = |bytes: &[u8]| -> std::io::Result<()> {
            hash.update(bytes);
            out.write_all(bytes)
        };
        put(&lay.head)?;
        put(&lay.mdat_header)?;
        clip.for_each_sample(secs, |_, s, _| {
            put(&clip.data[s.offset..s.offset + s.size]).map_err(SimError::Io)
        })
        .map_err(std::io::Error::other)?;
        put(&lay.moov)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()?;
        Ok(hex::encode(hash.finalize()))
    })();
    match result {
        Ok(sha) => {
            std::fs::rename(&tmp, path)?;
            Ok((lay.size, sha))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(SimError::Io(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_fixture_and_writes_a_segment() {
        let clip = Clip::load(&Fixture::Small360p.path()).unwrap();
        assert_eq!(clip.video.samples.len(), 30);
        let embedded = Clip::of(Fixture::Small360p).unwrap();
        assert_eq!(embedded.data, clip.data, "the embedded fixture is the repository's file");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.mp4");
        let (size, sha) = write_segment(&clip, 3, 1_795_000_000_000, None, &p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len() as u64, size);
        assert_eq!(segment_size(&clip, 3, 1_795_000_000_000, None).unwrap(), size);
        assert_eq!(hex::encode(Sha256::digest(&bytes)), sha);
        // mdat first, moov last.
        let mdat = bytes.windows(4).position(|w| w == b"mdat").unwrap();
        let moov = bytes.windows(4).rposition(|w| w == b"moov").unwrap();
        assert!(mdat < moov && mdat < 200);
        // Demux it back: 90 frames, evenly spaced.
        let mut d = Mp4FileDemuxer::new();
        d.handle_input(Input { position: 0, data: &bytes });
        let mut n = 0;
        let mut last = None;
        while let Some(s) = d.next_sample().unwrap() {
            if s.track.kind == TrackKind::Video {
                if let Some(prev) = last {
                    assert_eq!(s.timestamp - prev, 512);
                }
                last = Some(s.timestamp);
                n += 1;
            }
        }
        assert_eq!(n, 90);
    }
}
