//! BlackVue's accelerometer records (`.3gf`, the same bytes as the MP4's embedded `3gf ` block):
//! 10-byte records, big-endian: a `u32` time in milliseconds, then three `i16` accelerations
//! (vertical, left-right with right positive, forward-back with back positive), 128 to 1 g; a
//! record whose time is `0xFFFFFFFF` ends the data. Sources: gandy92/blackclue `blackclue.py`
//! (record size, byte order, the terminator) and synalysis/Grammars `3gf.grammar` (axes and
//! scale; observed, not confirmed across models).
//!
//! The samples become the common telemetry model ([`AccelSample`], camera frame in m/s²: x
//! forward, y right, z up, gravity included, as Dashkeep's own cameras report), timed from the
//! recording's start. Records out of time order, past the recording's longest length, or past
//! [`MAX_SAMPLES`] are skipped and counted, never fatal.

use crate::protocol::{AccelSample, MAX_SEGMENT_DURATION_MS};

/// Bytes per record.
pub const RECORD: usize = 10;

/// The most samples kept from one file (100 Hz for half an hour).
pub const MAX_SAMPLES: usize = 180_000;

/// Metres per second squared per unit of a record (128 units are 1 g).
const UNIT_MPS2: f32 = 9.806_65 / 128.0;

/// The samples read from one BlackVue accelerometer record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccelTrack {
    /// The samples, in time order, timed from the recording's start.
    pub samples: Vec<AccelSample>,
    /// Their rate in Hz (from the samples' spacing; 0 with fewer than two).
    pub hz: u32,
    /// Records that could not be used (time going back or past the recording, past the cap).
    pub skipped: u64,
}

/// Reads `.3gf` records. Times are offsets from the recording's start when the first is within
/// a recording's length (the common case), else they count from the first record. A cut last
/// record is ignored.
pub fn parse_3gf(data: &[u8]) -> AccelTrack {
    let mut track = AccelTrack::default();
    let mut base: Option<u32> = None;
    let mut last = 0u32;
    for record in data.chunks_exact(RECORD) {
        let time = u32::from_be_bytes([record[0], record[1], record[2], record[3]]);
        if time == u32::MAX {
            break;
        }
        let axis = |i: usize| f32::from(i16::from_be_bytes([record[i], record[i + 1]])) * UNIT_MPS2;
        let base =
            *base.get_or_insert(if i64::from(time) <= MAX_SEGMENT_DURATION_MS { 0 } else { time });
        let t_ms = time.wrapping_sub(base);
        let in_order = track.samples.is_empty() || t_ms >= last;
        if time < base || !in_order || i64::from(t_ms) > MAX_SEGMENT_DURATION_MS {
            track.skipped += 1;
            continue;
        }
        if track.samples.len() >= MAX_SAMPLES {
            track.skipped += 1;
            continue;
        }
        last = t_ms;
        // Forward is the negative of the record's back-positive axis.
        track.samples.push(AccelSample { t_ms, ax: -axis(8), ay: axis(6), az: axis(4) });
    }
    track.hz = rate(&track.samples);
    track
}

/// The sampling rate the samples show, rounded to whole Hz.
fn rate(samples: &[AccelSample]) -> u32 {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else { return 0 };
    let span = last.t_ms.saturating_sub(first.t_ms);
    if span == 0 {
        return 0;
    }
    let intervals = (samples.len() - 1) as f64;
    (intervals * 1000.0 / f64::from(span)).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(t: u32, vertical: i16, right: i16, back: i16) -> Vec<u8> {
        let mut r = t.to_be_bytes().to_vec();
        for v in [vertical, right, back] {
            r.extend_from_slice(&v.to_be_bytes());
        }
        r
    }

    #[test]
    fn records_become_camera_frame_samples_in_mps2() {
        let mut data = Vec::new();
        for i in 0..11u32 {
            // Resting (1 g up), then braking at 0.5 g (pushed forward: back axis negative).
            data.extend(record(i * 100, 128, 0, if i > 5 { -64 } else { 0 }));
        }
        data.extend(record(u32::MAX, 0, 0, 0));
        data.extend(record(5000, 1, 1, 1));
        let track = parse_3gf(&data);
        assert_eq!(track.samples.len(), 11);
        assert_eq!(track.hz, 10);
        assert_eq!(track.skipped, 0);
        let s = track.samples[8];
        assert_eq!(s.t_ms, 800);
        assert!((s.az - 9.806_65).abs() < 1e-4, "{s:?}");
        assert!((s.ax - 4.903).abs() < 1e-3, "{s:?}");
        assert_eq!(s.ay, 0.0);
    }

    #[test]
    fn bad_records_are_skipped_and_counted() {
        let mut data = Vec::new();
        data.extend(record(100, 128, 0, 0));
        data.extend(record(50, 128, 0, 0));
        data.extend(record(200, 128, 0, 0));
        data.extend(record(u32::try_from(MAX_SEGMENT_DURATION_MS).unwrap() + 1, 128, 0, 0));
        data.extend_from_slice(&[1, 2, 3]);
        let track = parse_3gf(&data);
        assert_eq!(track.samples.iter().map(|s| s.t_ms).collect::<Vec<_>>(), [100, 200]);
        assert_eq!(track.skipped, 2);
        // Epoch-like times count from the first record.
        let late = [record(4_000_000_000, 0, 0, 0), record(4_000_000_100, 0, 0, 0)].concat();
        let t = parse_3gf(&late);
        assert_eq!(t.samples.iter().map(|s| s.t_ms).collect::<Vec<_>>(), [0, 100]);
        assert_eq!(parse_3gf(b""), AccelTrack::default());
        let extremes = record(0, i16::MIN, i16::MAX, i16::MIN);
        assert!(parse_3gf(&extremes).samples[0].ax.is_finite());
    }

    #[test]
    fn samples_past_the_cap_are_counted_not_kept() {
        let data: Vec<u8> =
            (0..MAX_SAMPLES as u32 + 3).flat_map(|i| record(i / 100, 0, 0, 0)).collect();
        let track = parse_3gf(&data);
        assert_eq!(track.samples.len(), MAX_SAMPLES);
        assert_eq!(track.skipped, 3);
    }
}
