//! BlackVue GPS: NMEA sentences, each line prefixed with the Unix time in milliseconds, as in the
//! `.gps` side file and the MP4's embedded `free`/`gps ` box:
//!
//! ```text
//! [1672574400000]$GPRMC,120000.00,A,5109.0262,N,11401.8407,W,10.5,90.0,010123,,,A*46
//! [1672574400000]$GPGGA,120000.00,5109.0262,N,11401.8407,W,1,08,0.9,1097.36,M,-17.0,M,,*58
//! ```
//!
//! The recommended-minimum sentences (`RMC`, from any constellation: `$GP`, `$GN`, `$GL`...)
//! carry position and ground speed, so they become the fixes of the common telemetry model
//! ([`GpsFix`]); other sentences are ignored. A line that fails its checksum, has no fix (`V`),
//! or holds impossible numbers is skipped and counted, never fatal.

use crate::camera::driver::{LocalTime, ascii_number};
use crate::protocol::{GpsFix, MAX_SEGMENT_DURATION_MS, MAX_TELEMETRY_BYTES};

/// The step of time zones (15 minutes): the camera names files in local time, the NMEA lines
/// carry UTC, and the two differ by a whole number of these (plus the time into the recording).
const ZONE_STEP_MS: i64 = 15 * 60 * 1000;

/// The recording's start in Unix milliseconds, from its name's local time and the first
/// `[epoch_ms]` line: the file names count local time, the lines UTC, so the start is the name's
/// time moved by the whole number of 15-minute zone steps nearest their difference. `None` when
/// the camera's clock was unset (the name says nothing then; the first fix counts as the start)
/// or the data holds no timed line.
pub fn recording_start_ms(local: LocalTime, data: &[u8]) -> Option<i64> {
    if local.is_clock_unset() {
        return None;
    }
    let limit = usize::try_from(MAX_TELEMETRY_BYTES).unwrap_or(usize::MAX).min(data.len());
    let first = data[..limit]
        .split(|&b| b == b'\n')
        .find_map(|line| split_line(line.trim_ascii()))
        .map(|(epoch_ms, _)| epoch_ms)?;
    let local_ms = local.seconds().checked_mul(1000)?;
    let zone = first.checked_sub(local_ms)?;
    let steps = (zone as f64 / ZONE_STEP_MS as f64).round() as i64;
    local_ms.checked_add(steps.checked_mul(ZONE_STEP_MS)?)
}

/// The most fixes kept from one file (10 Hz for half an hour); later ones are counted as skipped.
pub const MAX_FIXES: usize = 18_000;

/// Knots to metres per second.
const KNOT_MPS: f64 = 1852.0 / 3600.0;

/// The fixes read from one BlackVue GPS record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GpsTrack {
    /// The fixes, in the file's order, timed from the recording's start.
    pub fixes: Vec<GpsFix>,
    /// RMC sentences that could not be used (bad checksum, no fix, impossible values, outside
    /// the recording, past [`MAX_FIXES`]).
    pub skipped: u64,
}

/// Reads BlackVue NMEA lines. `start_ms` is the recording's start in Unix milliseconds; without
/// it, the first usable fix's time is the start. Fixes before the start or more than a
/// segment's longest duration after it are skipped. Input past [`MAX_TELEMETRY_BYTES`] is not
/// read.
pub fn parse_gps(data: &[u8], start_ms: Option<i64>) -> GpsTrack {
    let limit = usize::try_from(MAX_TELEMETRY_BYTES).unwrap_or(usize::MAX).min(data.len());
    let mut track = GpsTrack::default();
    let mut start = start_ms;
    for line in data[..limit].split(|&b| b == b'\n') {
        let Some((epoch_ms, sentence)) = split_line(line.trim_ascii()) else { continue };
        if !is_rmc(sentence) {
            continue;
        }
        let fix = rmc_fix(sentence).and_then(|(lat, lon, speed_mps)| {
            let start = *start.get_or_insert(epoch_ms);
            let t_ms = epoch_ms
                .checked_sub(start)
                .filter(|t| (0..=MAX_SEGMENT_DURATION_MS).contains(t))?;
            Some(GpsFix { t_ms: u32::try_from(t_ms).ok()?, lat, lon, speed_mps })
        });
        match fix {
            Some(fix) if track.fixes.len() < MAX_FIXES => track.fixes.push(fix),
            _ => track.skipped += 1,
        }
    }
    track
}

/// `[epoch_ms]$SENTENCE[ [n]]` into the time and the sentence (still as bytes).
fn split_line(line: &[u8]) -> Option<(i64, &[u8])> {
    let rest = line.strip_prefix(b"[")?;
    let close = rest.iter().position(|&b| b == b']')?;
    let epoch_ms = ascii_number(std::str::from_utf8(&rest[..close]).ok()?)?;
    let sentence = rest[close + 1..].trim_ascii_start();
    // Some firmware appends another `[n]` after the sentence.
    let end = sentence.iter().position(|&b| b == b'[').unwrap_or(sentence.len());
    Some((epoch_ms, sentence[..end].trim_ascii_end()))
}

/// Whether the sentence is a recommended-minimum one (`$xxRMC,`) of any talker.
fn is_rmc(sentence: &[u8]) -> bool {
    sentence.len() > 7 && sentence[0] == b'$' && &sentence[3..7] == b"RMC,"
}

/// Latitude, longitude (degrees) and ground speed (m/s) of a valid RMC sentence with a good
/// checksum.
fn rmc_fix(sentence: &[u8]) -> Option<(f64, f64, f32)> {
    let text = std::str::from_utf8(sentence).ok()?;
    let body = checked_body(text)?;
    let fields: Vec<&str> = body.split(',').collect();
    let [_, _time, status, lat, ns, lon, ew, speed, ..] = fields.as_slice() else { return None };
    if *status != "A" {
        return None;
    }
    let lat = degrees(lat, 2)? * hemisphere(ns, "N", "S")?;
    let lon = degrees(lon, 3)? * hemisphere(ew, "E", "W")?;
    if lat.abs() > 90.0 || lon.abs() > 180.0 {
        return None;
    }
    let knots = if speed.is_empty() { 0.0 } else { decimal(speed)? };
    let speed_mps = knots * KNOT_MPS;
    // Faster than any car by far: a corrupt record.
    (speed_mps <= 200.0).then_some((lat, lon, speed_mps as f32))
}

/// The part of `$BODY*HH` between `$` and `*`, when its XOR checksum matches `HH`.
fn checked_body(text: &str) -> Option<&str> {
    let (body, sum) = text.strip_prefix('$')?.split_once('*')?;
    let expected = u8::from_str_radix(sum.get(..2)?, 16).ok()?;
    let actual = body.bytes().fold(0u8, |acc, b| acc ^ b);
    (actual == expected).then_some(body)
}

/// An NMEA `(d)ddmm.mmmm` coordinate in degrees, with `deg_digits` digits of whole degrees.
fn degrees(field: &str, deg_digits: usize) -> Option<f64> {
    let value = decimal(field)?;
    if field.split('.').next()?.len() != deg_digits + 2 {
        return None;
    }
    let whole = (value / 100.0).trunc();
    let minutes = value - whole * 100.0;
    (minutes < 60.0).then_some(whole + minutes / 60.0)
}

/// A non-negative decimal made of ASCII digits and at most one dot (`f64::from_str` also takes
/// `inf`, `NaN` and exponents).
fn decimal(field: &str) -> Option<f64> {
    let dots = field.bytes().filter(|&b| b == b'.').count();
    let digits = field.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if field.is_empty() || field.len() > 20 || dots > 1 || !digits || field == "." {
        return None;
    }
    field.parse().ok()
}

fn hemisphere(field: &str, positive: &str, negative: &str) -> Option<f64> {
    if field == positive {
        Some(1.0)
    } else if field == negative {
        Some(-1.0)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sentence with its checksum computed.
    fn nmea(body: &str) -> String {
        let sum = body.bytes().fold(0u8, |acc, b| acc ^ b);
        format!("${body}*{sum:02X}")
    }

    fn rmc(time: &str, status: &str, lat: &str, lon: &str, knots: &str) -> String {
        nmea(&format!("GPRMC,{time},{status},{lat},{lon},{knots},90.0,010123,,,A"))
    }

    const T0: i64 = 1_672_574_400_000;

    #[test]
    fn rmc_lines_become_fixes_timed_from_the_start() {
        let data = format!(
            "[{T0}]{}\r\n[{}]{}\r\n[{}]{}[5]\r\n[{}]{}\n",
            rmc("120000.00", "A", "5109.0262,N", "11401.8407,W", "10.0"),
            T0 + 500,
            nmea("GPGGA,120000.50,5109.0262,N,11401.8407,W,1,08,0.9,1097.36,M,-17.0,M,,"),
            T0 + 1000,
            rmc("120001.00", "A", "3244.53126,S", "01710.97811,E", ""),
            T0 + 2000,
            nmea("GNRMC,120002.00,A,0000.0000,N,00000.0000,E,0.0,,010123,,,A"),
        );
        let track = parse_gps(data.as_bytes(), Some(T0));
        assert_eq!(track.skipped, 0);
        let f = &track.fixes;
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].t_ms, 0);
        assert!((f[0].lat - 51.150_436_666).abs() < 1e-6, "{}", f[0].lat);
        assert!((f[0].lon + 114.030_678_333).abs() < 1e-6, "{}", f[0].lon);
        assert!((f[0].speed_mps - 5.144_444).abs() < 1e-4);
        assert_eq!(f[1].t_ms, 1000);
        assert!((f[1].lat + 32.742_187_666).abs() < 1e-6);
        assert!((f[1].lon - 17.182_968_5).abs() < 1e-6);
        assert_eq!(f[1].speed_mps, 0.0);
        assert_eq!(f[2].t_ms, 2000);
    }

    #[test]
    fn without_a_start_the_first_fix_is_time_zero() {
        let data = format!("[{}]{}\n", T0 + 7, rmc("1", "A", "0100.0000,N", "00100.0000,E", "0"));
        let track = parse_gps(data.as_bytes(), None);
        assert_eq!(track.fixes[0].t_ms, 0);
        assert!((track.fixes[0].lat - 1.0).abs() < 1e-9);
    }

    #[test]
    fn bad_records_are_skipped_and_counted() {
        let good = rmc("1", "A", "5109.0262,N", "11401.8407,W", "1");
        let bad_sum = good.replace("5109", "5108");
        let lines = [
            format!("[{T0}]{good}"),
            format!("[{T0}]{bad_sum}"),
            format!("[{T0}]{}", rmc("1", "V", "5109.0262,N", "11401.8407,W", "1")),
            format!("[{T0}]{}", rmc("1", "A", "9109.0262,N", "11401.8407,W", "1")),
            format!("[{T0}]{}", rmc("1", "A", "5199.0262,N", "11401.8407,W", "1")),
            format!("[{T0}]{}", rmc("1", "A", "5109.0262,X", "11401.8407,W", "1")),
            format!("[{T0}]{}", rmc("1", "A", "inf,N", "11401.8407,W", "1")),
            format!("[{T0}]{}", rmc("1", "A", "5109.0262,N", "1e3,W", "1")),
            format!("[{T0}]{}", rmc("1", "A", "5109.0262,N", "11401.8407,W", "9999")),
            format!("[{}]{good}", T0 - 1),
            format!("[{}]{good}", T0 + MAX_SEGMENT_DURATION_MS + 1),
            format!("[{T0}]{}", nmea("GPRMC,1,A")),
        ];
        let mut data = lines.join("\n").into_bytes();
        // Not sentences at all: ignored, not counted.
        data.extend_from_slice(
            b"\n\xff\xfe\n[abc]$GPRMC\n[1]\n$GPRMC,no,time\n[99999999999999999999]x\n",
        );
        let track = parse_gps(&data, Some(T0));
        assert_eq!(track.fixes.len(), 1);
        assert_eq!(track.skipped, 11);
    }

    #[test]
    fn fixes_past_the_cap_are_counted_not_kept() {
        let line = format!("[{T0}]{}\n", rmc("1", "A", "5109.0262,N", "11401.8407,W", "1"));
        let data = line.repeat(MAX_FIXES + 5);
        let track = parse_gps(data.as_bytes(), Some(T0));
        assert_eq!(track.fixes.len(), MAX_FIXES);
        assert_eq!(track.skipped, 5);
    }

    #[test]
    fn the_start_is_the_local_name_moved_by_whole_zone_steps() {
        // Named 12:00:00 local at UTC+2; the first line comes 700 ms into the recording.
        let local = LocalTime::from_digits("20230101", "140000").unwrap();
        let data = format!("[{}]$GPGGA,x\n[{}]$GPRMC\n", T0 + 700, T0 + 1700);
        assert_eq!(recording_start_ms(local, data.as_bytes()), Some(T0));
        // A zone 5:45 ahead (Nepal) is whole steps too.
        let nepal = LocalTime::from_unix_seconds(T0 / 1000 + 5 * 3600 + 45 * 60);
        assert_eq!(recording_start_ms(nepal, data.as_bytes()), Some(T0));
        let unset = LocalTime::from_digits("19700101", "000000").unwrap();
        assert_eq!(recording_start_ms(unset, data.as_bytes()), None);
        assert_eq!(recording_start_ms(local, b"no lines"), None);
        let far = format!("[{}]$GPRMC\n", i64::MAX);
        // Absurd times overflow nothing.
        let _ = recording_start_ms(local, far.as_bytes());
    }

    #[test]
    fn empty_and_garbage_input_give_an_empty_track() {
        assert_eq!(parse_gps(b"", None), GpsTrack::default());
        assert_eq!(parse_gps(b"\x00\x01[[[]]]$$$***", Some(0)), GpsTrack::default());
    }
}
