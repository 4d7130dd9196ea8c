//! Novatek GPS inside the MP4: a `gps ` box in `moov` indexes `free` boxes (usually after
//! `mdat`) each holding one `freeGPS ` record, one per second of recording.
//!
//! ```text
//! moov/gps : size, "gps ", 8 bytes (version, count), then (offset u32 BE, size u32 BE) per record
//! record   : size u32 BE, "free", "GPS ", ..., at byte 48 six u32 LE (hour, minute, second,
//!            year - 2000, month, day), "A" (fix) or "V", 'N'|'S', 'E'|'W', one byte, then f32 LE
//!            latitude and longitude in DDDmm.mmmm and the ground speed in knots
//! ```
//!
//! Checked against public descriptions: exiftool `lib/Image/ExifTool/QuickTimeStream.pl`
//! (`ProcessFreeGPS`) and Sergei Franco's `nvtk_mp42gpx.py`, which it cites. No crate reads
//! this vendor layout, so the parser is written here; it is pure over byte slices
//! ([`parse_index`], [`parse_record`]) for fuzzing, and [`read_gps`] only seeks and reads
//! bounded pieces of the file.
//!
//! A fix is timed by its record's place in the index (the camera writes one record per second),
//! not by the record's UTC clock, which is not the camera's (local) clock the file is named by.
//! A record that is cut, out of the file, without a fix, or holding impossible values is
//! skipped and counted, never fatal; only a file whose boxes cannot be walked is an error.

use std::io::{Read, Seek, SeekFrom};

use crate::camera::blackvue::gps::{GpsTrack, MAX_FIXES};
use crate::protocol::{GpsFix, MAX_SEGMENT_DURATION_MS};

/// Knots to metres per second.
const KNOT_MPS: f64 = 1852.0 / 3600.0;
/// Where a record's fields start.
const FIELDS_AT: usize = 48;
/// A record's smallest useful size: the fields up to the speed.
const MIN_RECORD: usize = FIELDS_AT + 40;
/// The largest record read (cameras write 32 KiB blocks).
pub const MAX_RECORD: u32 = 64 * 1024;
/// The largest `gps ` box read: its header and one entry per fix kept.
const MAX_INDEX: u64 = 16 + 8 * MAX_FIXES as u64;
/// The most boxes walked at one level before the file is called malformed.
const MAX_BOXES: usize = 4096;
/// Time between two records.
const RECORD_MS: u64 = 1000;

/// Why a file's GPS could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum NovatekGpsError {
    /// Reading the file failed.
    #[error("reading the video's GPS: {0}")]
    Io(#[from] std::io::Error),
    /// The file's boxes cannot be walked (a size that overruns its parent, too many boxes).
    #[error("the video's boxes are malformed: {0}")]
    Malformed(&'static str),
}

/// Why one record was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordSkip {
    /// Shorter than its fields, or not a `free`/`GPS ` box.
    NotARecord,
    /// The camera had no fix (`V`).
    NoFix,
    /// A date, hemisphere, coordinate or speed that cannot be.
    Impossible,
}

/// The (offset, size) of each record the `gps ` box's payload (after its 8-byte header)
/// indexes, in order; at most [`MAX_FIXES`] entries. A trailing partial entry is ignored.
pub fn parse_index(payload: &[u8]) -> Vec<(u64, u32)> {
    payload
        .get(8..)
        .unwrap_or_default()
        .chunks_exact(8)
        .take(MAX_FIXES)
        .map(|e| (u64::from(be32(&e[..4])), be32(&e[4..])))
        .collect()
}

/// Latitude, longitude (degrees) and ground speed (m/s) of one `freeGPS ` record.
pub fn parse_record(record: &[u8]) -> Result<(f64, f64, f32), RecordSkip> {
    if record.len() < MIN_RECORD || &record[4..8] != b"free" || &record[8..12] != b"GPS " {
        return Err(RecordSkip::NotARecord);
    }
    let f = &record[FIELDS_AT..];
    let word = |i: usize| le32(&f[4 * i..4 * i + 4]);
    let (hour, minute, second) = (word(0), word(1), word(2));
    let (year, month, day) = (word(3), word(4), word(5));
    let date_ok = hour < 24 && minute < 60 && second < 61 && year < 200;
    if !date_ok || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(RecordSkip::Impossible);
    }
    if f[24] != b'A' {
        return Err(RecordSkip::NoFix);
    }
    let float = |at: usize| f64::from(f32::from_le_bytes([f[at], f[at + 1], f[at + 2], f[at + 3]]));
    let lat = degrees(float(28), f[25], b'N', b'S', 90.0).ok_or(RecordSkip::Impossible)?;
    let lon = degrees(float(32), f[26], b'E', b'W', 180.0).ok_or(RecordSkip::Impossible)?;
    let speed = float(36) * KNOT_MPS;
    if !(0.0..=150.0).contains(&speed) {
        return Err(RecordSkip::Impossible);
    }
    Ok((lat, lon, speed as f32))
}

/// `DDDmm.mmmm` with its hemisphere letter into signed degrees within `max`.
fn degrees(raw: f64, hemisphere: u8, positive: u8, negative: u8, max: f64) -> Option<f64> {
    if !raw.is_finite() || raw < 0.0 {
        return None;
    }
    let whole = (raw / 100.0).floor();
    let minutes = raw - whole * 100.0;
    let value = whole + minutes / 60.0;
    if minutes >= 60.0 || value > max {
        return None;
    }
    match hemisphere {
        h if h == positive => Some(value),
        h if h == negative => Some(-value),
        _ => None,
    }
}

/// Reads the GPS fixes of a Novatek MP4 (`len` bytes). A file without a `gps ` box has none.
pub fn read_gps<F: Read + Seek>(file: &mut F, len: u64) -> Result<GpsTrack, NovatekGpsError> {
    let Some((moov, moov_end)) = find_box(file, 0, len, b"moov")? else {
        return Ok(GpsTrack::default());
    };
    let Some((gps, gps_end)) = find_box(file, moov, moov_end, b"gps ")? else {
        return Ok(GpsTrack::default());
    };
    if gps_end - gps > MAX_INDEX {
        return Err(NovatekGpsError::Malformed("gps box too large"));
    }
    let payload = read_at(file, gps, (gps_end - gps) as usize)?;
    let mut track = GpsTrack::default();
    for (i, (offset, size)) in parse_index(&payload).into_iter().enumerate() {
        let t_ms = i as u64 * RECORD_MS;
        let fits = offset.checked_add(u64::from(size)).is_some_and(|end| end <= len);
        if !fits || size > MAX_RECORD || t_ms > MAX_SEGMENT_DURATION_MS as u64 {
            track.skipped += 1;
            continue;
        }
        match parse_record(&read_at(file, offset, size as usize)?) {
            Ok((lat, lon, speed_mps)) => {
                track.fixes.push(GpsFix { t_ms: t_ms as u32, lat, lon, speed_mps });
            }
            Err(_) => track.skipped += 1,
        }
    }
    Ok(track)
}

/// The payload range `(start, end)` of the first box of type `kind` among the boxes filling
/// `[from, to)`.
fn find_box<F: Read + Seek>(
    file: &mut F,
    from: u64,
    to: u64,
    kind: &[u8; 4],
) -> Result<Option<(u64, u64)>, NovatekGpsError> {
    let mut at = from;
    for _ in 0..MAX_BOXES {
        if to.saturating_sub(at) < 8 {
            return Ok(None);
        }
        let head = read_at(file, at, 8)?;
        let (mut size, mut header) = (u64::from(be32(&head[..4])), 8);
        if size == 1 {
            let large = read_at(file, at + 8, 8)?;
            size = u64::from_be_bytes(large.try_into().unwrap_or([0; 8]));
            header = 16;
        } else if size == 0 {
            size = to - at;
        }
        let end = at.checked_add(size).filter(|&e| size >= header && e <= to);
        let end = end.ok_or(NovatekGpsError::Malformed("a box overruns its parent"))?;
        if &head[4..8] == kind {
            return Ok(Some((at + header, end)));
        }
        at = end;
    }
    Err(NovatekGpsError::Malformed("too many boxes"))
}

fn read_at<F: Read + Seek>(file: &mut F, at: u64, len: usize) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(at))?;
    let mut buf = vec![0; len];
    file.read_exact(&mut buf)?;
    Ok(buf)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A record as a Viofo writes it: 52°31.2000'N 13°24.3000'E at 10 knots, 2026-11-30.
    fn record(fix: u8, lat: f32, ns: u8, lon: f32, ew: u8, knots: f32) -> Vec<u8> {
        let mut r = vec![0u8; 128];
        r[..4].copy_from_slice(&128u32.to_be_bytes());
        r[4..12].copy_from_slice(b"freeGPS ");
        for (i, v) in [5u32, 15, 0, 26, 11, 30].into_iter().enumerate() {
            r[FIELDS_AT + 4 * i..FIELDS_AT + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        r[FIELDS_AT + 24..FIELDS_AT + 28].copy_from_slice(&[fix, ns, ew, 0]);
        for (at, v) in [(28, lat), (32, lon), (36, knots)] {
            r[FIELDS_AT + at..FIELDS_AT + at + 4].copy_from_slice(&v.to_le_bytes());
        }
        r
    }

    fn good() -> Vec<u8> {
        record(b'A', 5231.2, b'N', 1324.3, b'E', 10.0)
    }

    /// `ftyp`, `mdat`, a `moov` whose `gps ` box indexes `records` placed after it.
    fn file(records: &[Vec<u8>], extra_entries: &[(u32, u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&16u32.to_be_bytes());
        out.extend_from_slice(b"ftypisom\0\0\0\0");
        out.extend_from_slice(&12u32.to_be_bytes());
        out.extend_from_slice(b"mdat\0\0\0\0");
        let entries = records.len() + extra_entries.len();
        let gps_size = 16 + 8 * entries;
        let moov_size = 8 + gps_size;
        let mut at = (out.len() + moov_size) as u32;
        out.extend_from_slice(&(moov_size as u32).to_be_bytes());
        out.extend_from_slice(b"moov");
        out.extend_from_slice(&(gps_size as u32).to_be_bytes());
        out.extend_from_slice(b"gps \0\0\x01\x01");
        out.extend_from_slice(&(entries as u32).to_be_bytes());
        for r in records {
            out.extend_from_slice(&at.to_be_bytes());
            out.extend_from_slice(&(r.len() as u32).to_be_bytes());
            at += r.len() as u32;
        }
        for (offset, size) in extra_entries {
            out.extend_from_slice(&offset.to_be_bytes());
            out.extend_from_slice(&size.to_be_bytes());
        }
        for r in records {
            out.extend_from_slice(r);
        }
        out
    }

    fn read(bytes: &[u8]) -> Result<GpsTrack, NovatekGpsError> {
        read_gps(&mut Cursor::new(bytes), bytes.len() as u64)
    }

    #[test]
    fn a_record_gives_degrees_and_metres_per_second() {
        let (lat, lon, speed) = parse_record(&good()).unwrap();
        assert!((lat - 52.52).abs() < 1e-5, "{lat}");
        assert!((lon - 13.405).abs() < 1e-5, "{lon}");
        assert!((f64::from(speed) - 5.144).abs() < 1e-3, "{speed}");
        let (lat, lon, _) = parse_record(&record(b'A', 5231.2, b'S', 1324.3, b'W', 0.0)).unwrap();
        assert!(lat < 0.0 && lon < 0.0);
    }

    #[test]
    fn bad_records_are_told_apart() {
        assert_eq!(parse_record(&good()[..MIN_RECORD - 1]), Err(RecordSkip::NotARecord));
        assert_eq!(parse_record(&[0; 200]), Err(RecordSkip::NotARecord));
        let no_fix = record(b'V', 5231.2, b'N', 1324.3, b'E', 10.0);
        assert_eq!(parse_record(&no_fix), Err(RecordSkip::NoFix));
        for bad in [
            record(b'A', 9100.0, b'N', 1324.3, b'E', 10.0),
            record(b'A', 5261.0, b'N', 1324.3, b'E', 10.0),
            record(b'A', 5231.2, b'X', 1324.3, b'E', 10.0),
            record(b'A', 5231.2, b'N', 18100.0, b'E', 10.0),
            record(b'A', 5231.2, b'N', f32::NAN, b'E', 10.0),
            record(b'A', -5231.2, b'N', 1324.3, b'E', 10.0),
            record(b'A', 5231.2, b'N', 1324.3, b'E', 400.0),
            record(b'A', 5231.2, b'N', 1324.3, b'E', -1.0),
        ] {
            assert_eq!(parse_record(&bad), Err(RecordSkip::Impossible));
        }
        let mut bad_month = good();
        bad_month[FIELDS_AT + 16..FIELDS_AT + 20].copy_from_slice(&13u32.to_le_bytes());
        assert_eq!(parse_record(&bad_month), Err(RecordSkip::Impossible));
    }

    #[test]
    fn a_file_gives_one_fix_a_second_and_counts_what_it_skips() {
        let no_fix = record(b'V', 0.0, b'N', 0.0, b'E', 0.0);
        let bytes = file(&[good(), no_fix, good()], &[(1 << 30, 128), (20, MAX_RECORD + 1)]);
        let track = read(&bytes).unwrap();
        let times: Vec<u32> = track.fixes.iter().map(|f| f.t_ms).collect();
        assert_eq!(times, vec![0, 2000], "the second without a fix leaves its gap");
        assert_eq!(track.skipped, 3, "no fix, an offset past the end, an oversized record");
    }

    #[test]
    fn a_file_without_gps_has_no_fixes_and_a_broken_one_is_an_error() {
        let plain = file(&[], &[]);
        assert_eq!(read(&plain[..28]).unwrap(), GpsTrack::default(), "no moov");
        let mut overrun = file(&[good()], &[]);
        overrun[28..32].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(read(&overrun), Err(NovatekGpsError::Malformed(_))));
    }

    #[test]
    fn no_cut_of_a_file_panics() {
        let bytes = file(&[good(), good()], &[]);
        for cut in 0..bytes.len() {
            let _ = read(&bytes[..cut]);
            let _ = parse_record(&bytes[cut..]);
            let _ = parse_index(&bytes[cut..]);
        }
    }
}
