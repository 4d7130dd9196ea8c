//! The BlackVue dialects (`--dialect blackvue-legacy|blackvue-1009`): the same recorded card,
//! served the way a BlackVue camera serves it.
//!
//! Every segment is a front recording and (by default) a rear one of the same moment:
//! `YYYYMMDD_HHMMSS_<type><lens>.mp4`, type `N` normal or `E` event (the segments the camera
//! locked), lens `F` or `R`; the rear file's bytes are the front's. Legacy firmware
//! (`blackvue-legacy`) lists them with `GET /blackvue_vod.cgi` (`v:1.00`, then
//! `n:/Record/<name>,s:1000000` lines: no sizes) and serves `/Record/<name>` plus, beside each
//! video, its `.gps` side file (`[epoch_ms]$GPRMC,...` NMEA lines of the segment's simulated
//! GPS) and `.3gf` side file (its accelerometer records); `/accessible` is 404. Firmware 1.009
//! (`blackvue-1009`) answers `GET /accessible`, lists with `GET /vodList` (JSON without sizes),
//! serves videos from the root only (`/Record/...` is 400, non-`.mp4` names and
//! `blackvue_vod.cgi` 415) and embeds the GPS in the MP4 instead. Both embed the accelerometer
//! records in the MP4 (a top-level `free` box after `moov` holding a `3gf ` block and, on 1.009,
//! a `gps ` block of the same NMEA lines). Quirks:
//! `Range` can be ignored ([`crate::SimConfig::range_support`]), the clock can be unset
//! ([`BlackVueOptions::clock_unset`]: names count from 1970-01-01 00:00:00 at the scenario's
//! start), `HEAD` gives a file's size without taking a download's faults.

use std::io::Write as _;
use std::path::Path as FsPath;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Timelike};
use dashkeep_core::protocol::{AccelSample, GpsFix, SegmentInfo, Telemetry};
use sha2::{Digest, Sha256};

use crate::camera::{Inner, Stored, lock};

type Shared = std::sync::Arc<Inner>;

/// The folder legacy firmware serves recordings from.
pub(crate) const RECORD_DIR: &str = "/Record";

/// BlackVue simulation choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlackVueOptions {
    /// Whether the camera has a rear lens (every moment then has an `F` and an `R` file).
    pub rear: bool,
    /// Whether the camera's clock was never set: file names count from 1970-01-01 00:00:00 at
    /// the scenario's start (the NMEA lines keep the GPS's real time).
    pub clock_unset: bool,
}

impl Default for BlackVueOptions {
    fn default() -> Self {
        Self { rear: true, clock_unset: false }
    }
}

/// The BlackVue dialects' own state beside the card.
#[derive(Debug, Default)]
pub(crate) struct BlackVueState {
    /// When non-zero, the listing ends with a front file being recorded, whose `HEAD` size grows
    /// (this counter, in 500 kB steps) at every look: a phone must never take it.
    pub growing: AtomicU64,
}

/// A lens of the simulated camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lens {
    /// `F`.
    Front,
    /// `R`.
    Rear,
}

/// `(YYYY, MM, DD, hh, mm, ss)` of a time in ms since the epoch.
fn parts(ms: i64) -> (i32, u32, u32, u32, u32, u32) {
    let t = DateTime::from_timestamp_millis(ms).unwrap_or_default();
    (t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second())
}

/// The BlackVue name of a segment's file for `lens`: `20261130_051500_NF.mp4` (`E` for the
/// segments the camera locked). `first_start_ms` is the card's first recording start, from
/// which an unset clock counts.
pub fn file_name(
    info: &SegmentInfo,
    lens: Lens,
    options: BlackVueOptions,
    first_start_ms: i64,
) -> String {
    let ms = if options.clock_unset { info.start_ms - first_start_ms } else { info.start_ms };
    let (y, mo, d, h, mi, s) = parts(ms);
    let kind = if info.locked { 'E' } else { 'N' };
    let lens = if lens == Lens::Front { 'F' } else { 'R' };
    format!("{y:04}{mo:02}{d:02}_{h:02}{mi:02}{s:02}_{kind}{lens}.mp4")
}

/// BlackVue's GPS lines for a segment starting at `start_ms` (UTC): per fix an RMC sentence
/// and a GGA one (which readers must pass over), each prefixed with `[epoch_ms]`.
pub fn nmea(fixes: &[GpsFix], start_ms: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(fixes.len() * 160);
    for fix in fixes {
        let at = start_ms + i64::from(fix.t_ms);
        let (y, mo, d, h, mi, s) = parts(at);
        let lat = dm(fix.lat, 2, 'N', 'S');
        let lon = dm(fix.lon, 3, 'E', 'W');
        let knots = f64::from(fix.speed_mps) * 3600.0 / 1852.0;
        let time = format!("{h:02}{mi:02}{s:02}.{:02}", at.rem_euclid(1000) / 10);
        let rmc =
            format!("GPRMC,{time},A,{lat},{lon},{knots:.3},0.0,{d:02}{mo:02}{:02},,,A", y % 100);
        let gga = format!("GPGGA,{time},{lat},{lon},1,08,0.9,35.0,M,0.0,M,,");
        for body in [rmc, gga] {
            let sum = body.bytes().fold(0u8, |acc, b| acc ^ b);
            let _ = write!(out, "[{at}]${body}*{sum:02X}\r\n");
        }
    }
    out
}

/// An NMEA `(d)ddmm.mmmmmm,H` coordinate.
fn dm(deg: f64, digits: usize, positive: char, negative: char) -> String {
    let hemisphere = if deg < 0.0 { negative } else { positive };
    let deg = deg.abs();
    let whole = deg.trunc();
    let minutes = (deg - whole) * 60.0;
    format!("{:0digits$}{minutes:09.6},{hemisphere}", whole as u32)
}

/// BlackVue's `.3gf` accelerometer records for a segment's samples (camera frame, m/s²): per
/// sample a `u32` big-endian time in ms and three `i16` (vertical, right, back; 128 = 1 g),
/// ended by a record of `0xFF` bytes.
pub fn records_3gf(accel: &[AccelSample]) -> Vec<u8> {
    const UNIT: f32 = 9.806_65 / 128.0;
    let unit = |v: f32| ((v / UNIT).round().clamp(-32_768.0, 32_767.0) as i16).to_be_bytes();
    let mut out = Vec::with_capacity(accel.len() * 10 + 10);
    for a in accel {
        out.extend_from_slice(&a.t_ms.to_be_bytes());
        for v in [a.az, a.ay, -a.ax] {
            out.extend_from_slice(&unit(v));
        }
    }
    out.extend_from_slice(&[0xFF; 10]);
    out
}

/// Appends BlackVue's embedded telemetry to a written segment: a top-level `free` box (after
/// `moov`, so no sample offset moves) holding a `gps ` block of NMEA lines (ended by a zero
/// byte; 1.009 firmware) and a `3gf ` block of accelerometer records. Returns the file's new
/// size and SHA-256.
pub(crate) fn embed_telemetry(
    path: &FsPath,
    gps: Option<&[u8]>,
    accel: &[u8],
) -> std::io::Result<(u64, String)> {
    let block = |kind: &[u8; 4], payload: &[u8]| -> std::io::Result<Vec<u8>> {
        let len = u32::try_from(payload.len() + 8).map_err(std::io::Error::other)?;
        Ok([&len.to_be_bytes()[..], kind, payload].concat())
    };
    let mut blocks = Vec::new();
    if let Some(lines) = gps {
        blocks.extend(block(b"gps ", &[lines, &[0]].concat())?);
    }
    blocks.extend(block(b"3gf ", accel)?);
    let tail = block(b"free", &blocks)?;
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    file.write_all(&tail)?;
    file.sync_data()?;
    drop(file);
    let bytes = std::fs::read(path)?;
    Ok((bytes.len() as u64, hex::encode(Sha256::digest(&bytes))))
}

/// The name of the file being recorded when [`BlackVueState::growing`] is on: the front file
/// after the card's last one.
fn growing_name(inner: &Inner) -> Option<String> {
    if inner.blackvue.growing.load(Ordering::SeqCst) == 0 {
        return None;
    }
    let last = lock(&inner.state).segments.back()?.info.clone();
    let next = SegmentInfo { start_ms: last.start_ms + last.duration_ms, locked: false, ..last };
    Some(file_name(&next, Lens::Front, inner.cfg.blackvue, inner.cfg.scenario.start_ms))
}

/// The card's recordings with their names, in recording order (front, then rear).
pub(crate) fn card(inner: &Inner) -> Vec<(String, Stored)> {
    let segments: Vec<Stored> = lock(&inner.state).segments.iter().cloned().collect();
    let options = inner.cfg.blackvue;
    let first = inner.cfg.scenario.start_ms;
    let lenses: &[Lens] = if options.rear { &[Lens::Front, Lens::Rear] } else { &[Lens::Front] };
    let mut out = Vec::with_capacity(segments.len() * lenses.len());
    for seg in segments {
        for &lens in lenses {
            out.push((file_name(&seg.info, lens, options, first), seg.clone()));
        }
    }
    out
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))], body.into())
        .into_response()
}

/// Counts a listing request and fires `Http500` faults; `Some` is the fault's answer.
fn listing_fault(inner: &Inner) -> Option<Response> {
    inner.count(|c| {
        c.total += 1;
        c.segments += 1;
    });
    inner.take_http500().then(|| {
        inner.count(|c| c.injected_500 += 1);
        text(StatusCode::INTERNAL_SERVER_ERROR, "injected fault")
    })
}

/// `GET /blackvue_vod.cgi` on legacy firmware: the `v:` line and one `n:` line per video.
pub(crate) async fn legacy_list(State(inner): State<Shared>) -> Response {
    if let Some(r) = listing_fault(&inner) {
        return r;
    }
    let mut body = String::from("v:1.00\r\n");
    let names = card(&inner).into_iter().map(|(name, _)| name).chain(growing_name(&inner));
    for name in names {
        body.push_str(&format!("n:{RECORD_DIR}/{name},s:1000000\r\n"));
    }
    text(StatusCode::OK, body)
}

/// `GET /blackvue_vod.cgi` on firmware 1.009: refused.
pub(crate) async fn legacy_refused() -> Response {
    text(StatusCode::UNSUPPORTED_MEDIA_TYPE, "mp4 only")
}

/// `GET /accessible` on firmware 1.009.
pub(crate) async fn accessible() -> Response {
    let body = r#"{"accessible":"OK","message":"Access possible."}"#;
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// `GET /vodList` on firmware 1.009: the names only, no sizes.
pub(crate) async fn vod_list(State(inner): State<Shared>) -> Response {
    if let Some(r) = listing_fault(&inner) {
        return r;
    }
    let names = card(&inner).into_iter().map(|(name, _)| name).chain(growing_name(&inner));
    let files: Vec<serde_json::Value> =
        names.map(|name| serde_json::json!({ "filename": name })).collect();
    let body = serde_json::json!({ "filelist": files }).to_string();
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// `GET /Record/{name}` on legacy firmware: a video or its `.gps` side file.
pub(crate) async fn record(
    State(inner): State<Shared>,
    Path(name): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    if let Some(stem) = name.strip_suffix(".gps") {
        let video = format!("{stem}.mp4");
        let Some((_, seg)) = card(&inner).into_iter().find(|(n, _)| *n == video) else {
            return text(StatusCode::NOT_FOUND, "no such file");
        };
        inner.count(|c| c.telemetry += 1);
        return match std::fs::read(&seg.telemetry)
            .ok()
            .and_then(|b| serde_json::from_slice::<Telemetry>(&b).ok())
        {
            Some(t) => {
                text(StatusCode::OK, String::from_utf8_lossy(&nmea(&t.gps, seg.info.start_ms)))
            }
            None => text(StatusCode::NOT_FOUND, "no such file"),
        };
    }
    video(inner, &name, method, headers).await
}

/// `GET /Record/{name}` on firmware 1.009: refused (videos are served from the root).
pub(crate) async fn record_refused() -> Response {
    text(StatusCode::BAD_REQUEST, "bad request")
}

/// `GET /{name}` on firmware 1.009: a video; anything but `.mp4` is 415.
pub(crate) async fn root_file(
    State(inner): State<Shared>,
    Path(name): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    if !name.ends_with(".mp4") {
        return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, "mp4 only");
    }
    video(inner, &name, method, headers).await
}

/// A video by its BlackVue name; `HEAD` answers its size without the download's faults.
async fn video(inner: Shared, name: &str, method: Method, headers: HeaderMap) -> Response {
    if growing_name(&inner).as_deref() == Some(name) {
        if method != Method::HEAD {
            return text(StatusCode::SERVICE_UNAVAILABLE, "recording");
        }
        let size = inner.blackvue.growing.fetch_add(1, Ordering::SeqCst) * 500_000;
        let mut r = Response::new(Body::empty());
        r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(size));
        return r;
    }
    let Some((_, seg)) = card(&inner).into_iter().find(|(n, _)| n == name) else {
        return text(StatusCode::NOT_FOUND, "no such file");
    };
    if method == Method::HEAD {
        let mut r = Response::new(Body::empty());
        r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(seg.info.size));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
        return r;
    }
    inner.count(|c| c.video += 1);
    crate::server::serve_vendor_video(inner, seg, headers).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use dashkeep_core::protocol::Channel;

    fn info(locked: bool) -> SegmentInfo {
        SegmentInfo {
            id: "D0001_S0000".into(),
            drive_id: "D0001".into(),
            seq: 1,
            index_in_drive: 0,
            // 2026-11-30 05:15:00 UTC.
            start_ms: 1_796_015_700_000,
            duration_ms: 60_000,
            size: 10,
            sha256: String::new(),
            locked,
            telemetry_size: 0,
            telemetry_sha256: String::new(),
            channel: Channel::Front,
        }
    }

    #[test]
    fn names_follow_blackvue() {
        let o = BlackVueOptions::default();
        assert_eq!(file_name(&info(false), Lens::Front, o, 0), "20261130_051500_NF.mp4");
        assert_eq!(file_name(&info(true), Lens::Rear, o, 0), "20261130_051500_ER.mp4");
        let unset = BlackVueOptions { clock_unset: true, ..o };
        let first = 1_796_015_700_000 - 65_000;
        assert_eq!(file_name(&info(false), Lens::Front, unset, first), "19700101_000105_NF.mp4");
    }

    #[test]
    fn gps_lines_are_timed_rmc_and_gga_with_checksums() {
        let fix = GpsFix { t_ms: 1000, lat: -33.5, lon: 151.25, speed_mps: 10.0 };
        let text = String::from_utf8(nmea(&[fix], 1_796_015_700_000)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].starts_with(
                "[1796015701000]$GPRMC,051501.00,A,3330.000000,S,15115.000000,E,19.438,0.0,301126"
            ),
            "{}",
            lines[0]
        );
        assert!(lines[1].starts_with("[1796015701000]$GPGGA,"));
    }
}
