//! MPEG transport stream segments (`.TS`), as some Novatek cameras record, built from the same
//! fixture samples as the MP4 segments (`mp4.rs`): no re-encoding, the same frames and sound.
//!
//! Layout, as a camera writes it: a PAT and a PMT (H.264 video on PID 0x100, which also carries
//! the PCR; ADTS AAC audio on PID 0x101) at the start and again before every keyframe; one PES
//! per video access unit (PTS and DTS, unbounded length, an access unit delimiter, then SPS and
//! PPS before each IDR, all in Annex B) and one PES per AAC frame (PTS, ADTS header). Time
//! stamps run on the camera's 90 kHz clock (the segment's start time, so they wrap at 2^33 like
//! a real camera's). Written independently of the core's reader, from ISO/IEC 13818-1.
//!
//! Memory: one access unit at a time; the size is learnt by a dry run into a counter.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use sha2::{Digest, Sha256};
use shiguredo_mp4::TrackKind;
use shiguredo_mp4::bitstream::aac::{
    AdtsEncodeConfig, AdtsMpegVersion, AudioSpecificConfig, parse_audio_specific_config,
    wrap_raw_aac_in_adts,
};
use shiguredo_mp4::bitstream::h264::{LengthSize, length_prefixed_to_annexb};
use shiguredo_mp4::boxes::SampleEntry;

use crate::SimError;
use crate::mp4::Clip;

const PACKET: usize = 188;
const PAT_PID: u16 = 0;
const PMT_PID: u16 = 0x1000;
const VIDEO_PID: u16 = 0x100;
const AUDIO_PID: u16 = 0x101;
/// 33-bit time stamps.
const WRAP: u64 = 1 << 33;
/// An access unit delimiter (primary_pic_type 7: any slice type).
const AUD: &[u8] = &[0, 0, 0, 1, 0x09, 0xF0];

fn err(what: &str, e: impl std::fmt::Display) -> SimError {
    SimError::Fixture(format!("ts {what}: {e}"))
}

/// What the muxer needs from the fixture's sample entries.
struct Codecs {
    /// SPS and PPS, each with a start code.
    parameter_sets: Vec<u8>,
    length_size: LengthSize,
    asc: Option<AudioSpecificConfig>,
}

fn codecs(clip: &Clip) -> Result<Codecs, SimError> {
    let SampleEntry::Avc1(avc1) = &clip.video.entry else {
        return Err(err("fixture", "the video is not avc1"));
    };
    let c = &avc1.avcc_box;
    let mut parameter_sets = Vec::new();
    for nal in c.sps_list.iter().chain(&c.pps_list) {
        parameter_sets.extend_from_slice(&[0, 0, 0, 1]);
        parameter_sets.extend_from_slice(nal);
    }
    let length_size = match c.length_size_minus_one.get() {
        0 => LengthSize::OneByte,
        1 => LengthSize::TwoBytes,
        _ => LengthSize::FourBytes,
    };
    let asc = match clip.audio.as_ref().map(|a| &a.entry) {
        Some(SampleEntry::Mp4a(m)) => {
            let info = m.esds_box.es.dec_config_descr.dec_specific_info.as_ref();
            // The first two bytes: object type, rate and channels (ffmpeg appends an SBR
            // signalling extension the ADTS header has no room for anyway).
            let payload = info.and_then(|i| i.payload.get(..2)).unwrap_or_default();
            Some(parse_audio_specific_config(payload).map_err(|e| err("fixture ASC", e))?)
        }
        _ => None,
    };
    Ok(Codecs { parameter_sets, length_size, asc })
}

/// Packetizes into a writer, keeping each PID's continuity counter.
struct Mux<W: Write> {
    w: W,
    cc: [u8; 4],
    written: u64,
}

impl<W: Write> Mux<W> {
    fn cc(&mut self, pid: u16) -> u8 {
        let i = match pid {
            PAT_PID => 0,
            PMT_PID => 1,
            VIDEO_PID => 2,
            _ => 3,
        };
        let c = self.cc[i];
        self.cc[i] = (c + 1) & 0x0F;
        c
    }

    fn put(&mut self, p: &[u8; PACKET]) -> std::io::Result<()> {
        self.written += PACKET as u64;
        self.w.write_all(p)
    }

    /// A PSI section in one packet (pointer field 0, 0xFF fill).
    fn section(&mut self, pid: u16, section: &[u8]) -> std::io::Result<()> {
        let mut p = [0xFFu8; PACKET];
        let cc = self.cc(pid);
        p[..4].copy_from_slice(&[0x47, 0x40 | (pid >> 8) as u8, pid as u8, 0x10 | cc]);
        p[4] = 0;
        p[5..5 + section.len()].copy_from_slice(section);
        self.put(&p)
    }

    fn tables(&mut self, audio: bool) -> std::io::Result<()> {
        let mut pat = vec![0x00, 0xB0, 0, 0x00, 0x01, 0xC1, 0, 0, 0x00, 0x01];
        pat.extend_from_slice(&[0xE0 | (PMT_PID >> 8) as u8, PMT_PID as u8]);
        self.section(PAT_PID, &with_crc(pat))?;
        let mut pmt = vec![0x02, 0xB0, 0, 0x00, 0x01, 0xC1, 0, 0];
        pmt.extend_from_slice(&[0xE0 | (VIDEO_PID >> 8) as u8, VIDEO_PID as u8, 0xF0, 0]);
        pmt.extend_from_slice(&[0x1B, 0xE0 | (VIDEO_PID >> 8) as u8, VIDEO_PID as u8, 0xF0, 0]);
        if audio {
            pmt.extend_from_slice(&[0x0F, 0xE0 | (AUDIO_PID >> 8) as u8, AUDIO_PID as u8, 0xF0, 0]);
        }
        self.section(PMT_PID, &with_crc(pmt))
    }

    /// One PES split into packets; the first one carries the PCR when given.
    fn pes(&mut self, pid: u16, pes: &[u8], pcr: Option<u64>) -> std::io::Result<()> {
        let mut rest = pes;
        let mut first = true;
        while !rest.is_empty() || first {
            let pcr = if first { pcr } else { None };
            let af_min = if pcr.is_some() { 8 } else { 0 };
            let take = rest.len().min(PACKET - 4 - af_min);
            let af = PACKET - 4 - take;
            let mut p = [0xFFu8; PACKET];
            let cc = self.cc(pid);
            let pusi = if first { 0x40 } else { 0 };
            let control = if af > 0 { 0x30 } else { 0x10 };
            p[..4].copy_from_slice(&[0x47, pusi | (pid >> 8) as u8, pid as u8, control | cc]);
            if af > 0 {
                p[4] = (af - 1) as u8;
                if af > 1 {
                    p[5] = if pcr.is_some() { 0x10 } else { 0 };
                }
                if let Some(base) = pcr {
                    let b = base % WRAP;
                    p[6..12].copy_from_slice(&[
                        (b >> 25) as u8,
                        (b >> 17) as u8,
                        (b >> 9) as u8,
                        (b >> 1) as u8,
                        ((b & 1) << 7) as u8 | 0x7E,
                        0,
                    ]);
                }
            }
            p[4 + af..].copy_from_slice(&rest[..take]);
            rest = &rest[take..];
            first = false;
            self.put(&p)?;
        }
        Ok(())
    }
}

/// `section` (without its CRC) with its length field set and its CRC-32/MPEG-2 appended.
fn with_crc(mut section: Vec<u8>) -> Vec<u8> {
    let len = section.len() + 4 - 3;
    section[1] = 0xB0 | (len >> 8) as u8;
    section[2] = len as u8;
    let mut crc = 0xFFFF_FFFFu32;
    for &b in &section {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04C1_1DB7 } else { crc << 1 };
        }
    }
    section.extend_from_slice(&crc.to_be_bytes());
    section
}

/// A PES header: stream id, PTS and (when different) DTS; `len` is the payload length or 0
/// (unbounded, video).
fn pes_header(stream_id: u8, pts: u64, dts: Option<u64>, len: usize) -> Vec<u8> {
    let stamps = if dts.is_some() { 10 } else { 5 };
    let total = if len == 0 { 0 } else { 3 + stamps + len };
    let mut h = vec![0, 0, 1, stream_id, (total >> 8) as u8, total as u8, 0x80];
    h.push(if dts.is_some() { 0xC0 } else { 0x80 });
    h.push(stamps as u8);
    let stamp = |prefix: u8, t: u64| {
        let t = t % WRAP;
        [
            (prefix << 4) | (((t >> 30) as u8 & 0x07) << 1) | 1,
            (t >> 22) as u8,
            (((t >> 15) as u8) << 1) | 1,
            (t >> 7) as u8,
            ((t as u8) << 1) | 1,
        ]
    };
    match dts {
        Some(d) => {
            h.extend_from_slice(&stamp(3, pts));
            h.extend_from_slice(&stamp(1, d));
        }
        None => h.extend_from_slice(&stamp(2, pts)),
    }
    h
}

/// Muxes a `secs`-second segment starting at `start_ms` into `w`; the bytes written.
fn mux(clip: &Clip, secs: u32, start_ms: i64, w: impl Write) -> Result<u64, SimError> {
    let c = codecs(clip)?;
    let mut m = Mux { w, cc: [0; 4], written: 0 };
    // The camera's 90 kHz clock, from its wall clock (wrapping at 2^33 as a real one does).
    let base = u64::try_from(start_ms).unwrap_or(0).wrapping_mul(90) % WRAP;
    let v_ts = u64::from(clip.video.timescale.get());
    let (mut frame, mut audio_frame) = (0u64, 0u64);
    let adts = AdtsEncodeConfig {
        mpeg_version: AdtsMpegVersion::Mpeg4,
        original_copy: false,
        home: false,
    };
    let has_audio = c.asc.is_some();
    m.tables(has_audio)?;
    clip.for_each_sample(secs, |kind, s, track| {
        let data = clip.data.get(s.offset..s.offset + s.size).unwrap_or_default();
        if kind == TrackKind::Video {
            let dts = frame * u64::from(track.sample_duration) * 90_000 / v_ts;
            let cto = u64::try_from(s.cto.unwrap_or(0)).unwrap_or(0) * 90_000 / v_ts;
            // Decoding starts 0.1 s after the clock's origin, as a camera's PCR runs ahead.
            let (dts, pts) = (base + 9000 + dts, base + 9000 + dts + cto);
            if s.keyframe && frame > 0 {
                m.tables(has_audio)?;
            }
            let mut au = pes_header(0xE0, pts, Some(dts), 0);
            au.extend_from_slice(AUD);
            if s.keyframe {
                au.extend_from_slice(&c.parameter_sets);
            }
            au.extend_from_slice(
                &length_prefixed_to_annexb(data, c.length_size).map_err(|e| err("annexb", e))?,
            );
            let pcr = s.keyframe.then_some(dts - 9000);
            m.pes(VIDEO_PID, &au, pcr)?;
            frame += 1;
        } else if let Some(asc) = &c.asc {
            let rate = u64::from(track.timescale.get());
            let pts = base + 9000 + audio_frame * u64::from(track.sample_duration) * 90_000 / rate;
            let frame = wrap_raw_aac_in_adts(data, asc, &adts).map_err(|e| err("adts", e))?;
            let mut pes = pes_header(0xC0, pts, None, frame.len());
            pes.extend_from_slice(&frame);
            m.pes(AUDIO_PID, &pes, None)?;
            audio_frame += 1;
        }
        Ok(())
    })?;
    m.w.flush()?;
    Ok(m.written)
}

/// Counts bytes (the dry run that sizes a segment).
struct Counter;

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The size in bytes of the segment [`write_segment`] would write.
pub(crate) fn segment_size(clip: &Clip, secs: u32, start_ms: i64) -> Result<u64, SimError> {
    mux(clip, secs, start_ms, Counter)
}

/// Writes a `secs`-second `.TS` segment to `path` (via `path.tmp`, renamed when complete) and
/// returns its size and SHA-256 (lowercase hex).
pub(crate) fn write_segment(
    clip: &Clip,
    secs: u32,
    start_ms: i64,
    path: &Path,
) -> Result<(u64, String), SimError> {
    struct Hashing<W> {
        w: W,
        hash: Sha256,
    }
    impl<W: Write> Write for Hashing<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.w.write(buf)?;
            self.hash.update(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.w.flush()
        }
    }
    let tmp = path.with_extension("ts.tmp");
    let result = (|| -> Result<(u64, String), SimError> {
        let file = File::create(&tmp)?;
        let mut out =
            Hashing { w: BufWriter::with_capacity(256 * 1024, file), hash: Sha256::new() };
        let size = mux(clip, secs, start_ms, &mut out)?;
        let file = out.w.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()?;
        Ok((size, hex::encode(out.hash.finalize())))
    })();
    match result {
        Ok(x) => {
            std::fs::rename(&tmp, path)?;
            Ok(x)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::Fixture;

    #[test]
    fn a_ts_segment_is_packets_with_a_pat_first_and_its_size_is_known() {
        let clip = Clip::of(Fixture::Small360p).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.TS");
        let start = 1_795_000_000_000;
        let (size, sha) = write_segment(&clip, 3, start, &p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len() as u64, size);
        assert_eq!(segment_size(&clip, 3, start).unwrap(), size);
        assert_eq!(hex::encode(Sha256::digest(&bytes)), sha);
        assert_eq!(bytes.len() % PACKET, 0);
        assert!(bytes.chunks(PACKET).all(|p| p[0] == 0x47));
        assert_eq!(&bytes[1..3], &[0x40, 0x00], "the PAT comes first");
        // The core reads it back: 90 frames, 3 keyframes, 3 s.
        let s = dashkeep_core::clips::probe_segment(&p).unwrap();
        assert_eq!((s.tracks[0].samples, s.tracks[0].sync_samples), (90, 3));
        assert!((s.tracks[0].duration_s - 3.0).abs() < 1e-6, "{s:?}");
        assert_eq!(s.tracks[1].codec, "mp4a");
    }
}
