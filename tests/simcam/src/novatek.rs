//! The Novatek dialect (`--dialect novatek`): the same recorded card, served the way a
//! Novatek-based camera (Viofo, YI and clones) serves it. `GET /?custom=1&cmd=N[&par=P][&str=S]`
//! answers `<Function><Cmd>N</Cmd><Status>S</Status>...</Function>`; `cmd=3015` lists the card as
//! `<LIST><ALLFile><File>...` with `A:\Novatek\Movie\` paths (locked files under `RO` with
//! `ATTR` 33). Quirks: the camera records whenever it is on and refuses to list (or serve files)
//! until recording is stopped with `2001&par=0`; `Range` can be switched off
//! ([`crate::SimConfig::range_support`]). `cmd=4003&str=A:\\...` deletes a file (not while
//! recording).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dashkeep_core::protocol::{GpsFix, SegmentInfo};

use crate::camera::{Inner, Stored, lock, remove_from_card};
use dashkeep_core::camera::novatek::CMD_DELETE;

type Shared = std::sync::Arc<Inner>;

/// The folder plain recordings sit in (on the card and in the URL).
pub(crate) const MOVIE_DIR: &str = "/Novatek/Movie";
/// The folder locked recordings sit in.
pub(crate) const LOCKED_DIR: &str = "/Novatek/Movie/RO";

/// The Novatek camera's own state beside the card.
#[derive(Debug)]
pub(crate) struct NovatekState {
    /// Whether the camera is recording (it does whenever it is on, until told to stop).
    pub recording: AtomicBool,
    /// How many times a phone stopped recording (`2001&par=0`).
    pub stops: AtomicU32,
    /// How many times a phone started recording again (`2001&par=1`).
    pub starts: AtomicU32,
    /// When non-zero, the listing ends with the file being recorded, larger at every listing
    /// (this counter, in 500 kB steps): a phone must never take it.
    pub growing: std::sync::atomic::AtomicU64,
    /// How many files a phone deleted (`4003`).
    pub deleted: AtomicU32,
}

impl Default for NovatekState {
    fn default() -> Self {
        Self {
            recording: AtomicBool::new(true),
            stops: 0.into(),
            starts: 0.into(),
            growing: 0.into(),
            deleted: 0.into(),
        }
    }
}

/// Year, month and day of a day count since 1970-01-01 (the well-known "civil from days").
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `(YYYY, MM, DD, hh, mm, ss)` of a time in ms since the epoch.
fn parts(ms: i64) -> (i64, i64, i64, i64, i64, i64) {
    let s = ms.div_euclid(1000);
    let (y, mo, d) = civil(s.div_euclid(86_400));
    let t = s.rem_euclid(86_400);
    (y, mo, d, t / 3600, t / 60 % 60, t % 60)
}

/// Novatek's embedded GPS for a segment starting at `start_ms`: the `gps ` box to append inside
/// `moov` (indexing records that start at `records_at` in the file) and the `free` boxes
/// holding one `freeGPS ` record per fix, to write right after it. Layout as exiftool's
/// `ProcessFreeGPS` reads it: at byte 48 the UTC time (six u32 LE: hour, minute, second,
/// year - 2000, month, day), `A`, the hemispheres, a pad byte, then f32 LE latitude and
/// longitude in DDDmm.mmmm and the speed in knots.
pub(crate) fn gps_boxes(fixes: &[GpsFix], start_ms: i64, records_at: u64) -> (Vec<u8>, Vec<u8>) {
    const RECORD: usize = 256;
    let count = u32::try_from(fixes.len()).unwrap_or(u32::MAX);
    let mut index = Vec::with_capacity(16 + 8 * fixes.len());
    index.extend_from_slice(&(16 + 8 * count).to_be_bytes());
    index.extend_from_slice(b"gps ");
    index.extend_from_slice(&0x0101u32.to_be_bytes());
    index.extend_from_slice(&count.to_be_bytes());
    let mut records = Vec::with_capacity(RECORD * fixes.len());
    for (i, fix) in fixes.iter().enumerate() {
        let at = records_at + (i * RECORD) as u64;
        index.extend_from_slice(&u32::try_from(at).unwrap_or(u32::MAX).to_be_bytes());
        index.extend_from_slice(&(RECORD as u32).to_be_bytes());
        let mut r = vec![0u8; RECORD];
        r[..4].copy_from_slice(&(RECORD as u32).to_be_bytes());
        r[4..12].copy_from_slice(b"freeGPS ");
        let (y, mo, d, h, mi, s) = parts(start_ms + i64::from(fix.t_ms));
        for (k, v) in [h, mi, s, y - 2000, mo, d].into_iter().enumerate() {
            let v = u32::try_from(v).unwrap_or(0);
            r[48 + 4 * k..52 + 4 * k].copy_from_slice(&v.to_le_bytes());
        }
        let ns = if fix.lat < 0.0 { b'S' } else { b'N' };
        let ew = if fix.lon < 0.0 { b'W' } else { b'E' };
        r[72..76].copy_from_slice(&[b'A', ns, ew, 0]);
        let dddmm = |deg: f64| {
            let deg = deg.abs();
            (deg.trunc() * 100.0 + deg.fract() * 60.0) as f32
        };
        let knots = (f64::from(fix.speed_mps) * 3600.0 / 1852.0) as f32;
        for (at, v) in [(76, dddmm(fix.lat)), (80, dddmm(fix.lon)), (84, knots)] {
            r[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        records.extend_from_slice(&r);
    }
    (index, records)
}

/// The Viofo-style name of a segment: `2026_1130_051500_001F.MP4` (start time, running number,
/// front lens).
pub fn file_name(info: &SegmentInfo) -> String {
    file_name_for(info, false)
}

/// [`file_name`], ending in `.TS` when the camera records MPEG-TS
/// ([`crate::SimConfig::novatek_ts`]).
pub fn file_name_for(info: &SegmentInfo, ts: bool) -> String {
    let (y, mo, d, h, mi, s) = parts(info.start_ms);
    let ext = if ts { "TS" } else { "MP4" };
    format!("{y:04}_{mo:02}{d:02}_{h:02}{mi:02}{s:02}_{:03}F.{ext}", info.seq)
}

/// The URL path (and, with `A:` and backslashes, the camera path) of a segment's file.
pub fn url_path(info: &SegmentInfo, ts: bool) -> String {
    let dir = if info.locked { LOCKED_DIR } else { MOVIE_DIR };
    format!("{dir}/{}", file_name_for(info, ts))
}

fn reply(cmd: u32, status: i32, extra: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<Function>\n<Cmd>{cmd}</Cmd>\n<Status>{status}</Status>\n{extra}</Function>\n"
    );
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"))], body).into_response()
}

/// The `cmd=3015` file list.
fn file_list(inner: &Inner) -> Response {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<LIST>\n");
    let mut infos: Vec<SegmentInfo> =
        lock(&inner.state).segments.iter().map(|s| s.info.clone()).collect();
    let growing = inner.novatek.growing.load(Ordering::SeqCst);
    if let Some(last) = infos.last().filter(|_| growing > 0) {
        inner.novatek.growing.fetch_add(1, Ordering::SeqCst);
        infos.push(SegmentInfo {
            seq: last.seq + 1,
            start_ms: last.start_ms + last.duration_ms,
            size: growing * 500_000,
            locked: false,
            ..last.clone()
        });
    }
    let ts = inner.cfg.novatek_ts;
    for i in &infos {
        let (y, mo, d, h, mi, sec) = parts(i.start_ms + i.duration_ms);
        let _ = write!(
            xml,
            "<ALLFile><File>\n<NAME>{}</NAME>\n<FPATH>A:{}</FPATH>\n<SIZE>{}</SIZE>\n<TIMECODE>{}</TIMECODE>\n<TIME>{y:04}/{mo:02}/{d:02} {h:02}:{mi:02}:{sec:02}</TIME>\n<ATTR>{}</ATTR></File>\n</ALLFile>\n",
            file_name_for(i, ts),
            url_path(i, ts).replace('/', "\\"),
            i.size,
            i.start_ms / 1000,
            if i.locked { 33 } else { 32 },
        );
    }
    xml.push_str("</LIST>\n");
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"))], xml).into_response()
}

/// The value of `key` in a query string.
fn param<'a>(q: &'a str, key: &str) -> Option<&'a str> {
    q.split('&').find_map(|pair| pair.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))
}

/// `GET /?custom=1&cmd=N...`: every command the driver uses.
pub(crate) async fn command(State(inner): State<Shared>, RawQuery(q): RawQuery) -> Response {
    inner.count(|c| c.total += 1);
    let q = q.unwrap_or_default();
    let Some(cmd) = param(&q, "cmd").and_then(|c| c.parse::<u32>().ok()) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    if param(&q, "custom") != Some("1") {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    if inner.take_http500() {
        inner.count(|c| c.injected_500 += 1);
        return (StatusCode::INTERNAL_SERVER_ERROR, "injected fault").into_response();
    }
    let nvt = &inner.novatek;
    match cmd {
        3012 => reply(cmd, 0, &format!("<String>{}</String>\n", inner.cfg.firmware)),
        3016 => reply(cmd, 0, ""),
        3014 => {
            let rec = i32::from(nvt.recording.load(Ordering::SeqCst));
            reply(cmd, 0, &format!("<Cmd>2001</Cmd>\n<Status>{rec}</Status>\n"))
        }
        3017 => {
            let used = lock(&inner.state).used;
            let free = inner.cfg.sd_capacity_bytes.saturating_sub(used);
            reply(cmd, 0, &format!("<Value>{free}</Value>\n"))
        }
        2001 => match param(&q, "par") {
            Some("0") => {
                nvt.recording.store(false, Ordering::SeqCst);
                nvt.stops.fetch_add(1, Ordering::SeqCst);
                reply(cmd, 0, "")
            }
            Some("1") => {
                nvt.recording.store(true, Ordering::SeqCst);
                nvt.starts.fetch_add(1, Ordering::SeqCst);
                reply(cmd, 0, "")
            }
            _ => reply(cmd, -21, ""),
        },
        3015 => {
            inner.count(|c| c.segments += 1);
            if nvt.recording.load(Ordering::SeqCst) {
                // Busy recording: the list only comes once recording is stopped.
                return reply(cmd, -22, "");
            }
            file_list(&inner)
        }
        4003 => delete_file(&inner, &q),
        _ => reply(cmd, -256, ""),
    }
}

/// `cmd=4003&str=PATH`: deletes the file at the path the listing gave (`A:\...`). Refused
/// while recording, like the listing; a path the card does not hold fails with -256.
fn delete_file(inner: &Inner, q: &str) -> Response {
    let path =
        form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "str").map(|(_, v)| v.into_owned());
    let Some(path) = path else { return reply(CMD_DELETE, -21, "") };
    if inner.novatek.recording.load(Ordering::SeqCst) {
        return reply(CMD_DELETE, -22, "");
    }
    let mut st = lock(&inner.state);
    let ts = inner.cfg.novatek_ts;
    let camera_path = |info: &SegmentInfo| format!("A:{}", url_path(info, ts).replace('/', "\\"));
    let Some(pos) = st.segments.iter().position(|s| camera_path(&s.info) == path) else {
        return reply(CMD_DELETE, -256, "");
    };
    if let Some(s) = remove_from_card(&mut st, pos) {
        tracing::info!(id = %s.info.id, "a phone deleted a file from the card");
        inner.novatek.deleted.fetch_add(1, Ordering::SeqCst);
    }
    reply(CMD_DELETE, 0, "")
}

/// `GET /Novatek/Movie/{name}` and `GET /Novatek/Movie/RO/{name}`: a recording, by the path the
/// listing gave.
pub(crate) async fn movie(
    State(inner): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(inner, &name, false, headers).await
}

/// A locked recording (`RO` folder).
pub(crate) async fn locked_movie(
    State(inner): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(inner, &name, true, headers).await
}

async fn serve(inner: Shared, name: &str, locked: bool, headers: HeaderMap) -> Response {
    inner.count(|c| c.video += 1);
    if inner.novatek.recording.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "recording").into_response();
    }
    let found: Option<Stored> = lock(&inner.state)
        .segments
        .iter()
        .find(|s| s.info.locked == locked && file_name_for(&s.info, inner.cfg.novatek_ts) == name)
        .cloned();
    let Some(seg) = found else {
        return (StatusCode::NOT_FOUND, Body::from("no such file")).into_response();
    };
    crate::server::serve_vendor_video(inner, seg, headers).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use dashkeep_core::protocol::Channel;

    #[test]
    fn names_follow_viofo() {
        // 2026-11-30 05:15:00 UTC.
        let info = SegmentInfo {
            id: "D0001_S0000".into(),
            drive_id: "D0001".into(),
            seq: 1,
            index_in_drive: 0,
            start_ms: 1_796_015_700_000,
            duration_ms: 60_000,
            size: 10,
            sha256: String::new(),
            locked: true,
            telemetry_size: 0,
            telemetry_sha256: String::new(),
            channel: Channel::Front,
        };
        assert_eq!(file_name(&info), "2026_1130_051500_001F.MP4");
        assert_eq!(url_path(&info, false), "/Novatek/Movie/RO/2026_1130_051500_001F.MP4");
        assert_eq!(url_path(&info, true), "/Novatek/Movie/RO/2026_1130_051500_001F.TS");
        assert_eq!(parts(0), (1970, 1, 1, 0, 0, 0));
    }
}
