//! The share page: a static HTML object stored beside a clip in the cloud
//! (`accounts/<account>/clips/<cloud_key>.html`) that plays the clip and shows when and where it
//! happened, what triggered it and its peak g, its GPS track, and its speed and g-force with a
//! cursor following the video.
//!
//! The page is static (the same bytes for every share), so the video's presigned URL travels in
//! the link's fragment (`page-url#v=<video-url>`): a fragment is never sent to a server, so it
//! neither breaks the page's own signature nor leaks to logs, and the page and the video are
//! presigned with the same expiry. The page accepts only its own clip's object beside it and,
//! through its Content-Security-Policy (inline script and style pinned by SHA-256), loads nothing
//! else: no CDN, no tracker, no font; map tiles only when the sharer sets a tile source.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::restore::checked_share_expiry;
use super::{BackendKind, CloudError, CloudService, blocking};
use crate::catalog::{ClipId, UploadState};
use crate::clips::ClipTelemetry;
use crate::drive::{MAX_SERIES_POINTS, SeriesPoint};
use crate::drive::{Merge, downsample, g_force};

const HTML: &str = include_str!("share_page/page.html");
const SCRIPT: &str = include_str!("share_page/page.js");
const STYLE: &str = include_str!("share_page/page.css");
/// Track points the page draws.
const MAX_TRACK: usize = 600;
/// A clip's telemetry file larger than this is not read for the page.
const MAX_TELEMETRY_BYTES: u64 = 16 * 1024 * 1024;

/// How the page looks beyond the clip itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharePageOptions {
    /// A map tile URL template (`https://tiles.example/{z}/{x}/{y}.png`) drawn under the track.
    /// `None` (the default): no map, and the page requests nothing but the clip's video.
    pub map_tiles: Option<String>,
}

/// A share link and what it points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShareLink {
    /// The link to give: the page, with the video's URL in its fragment.
    pub url: String,
    /// The page's own URL (presigned on S3).
    pub page_url: String,
    /// The video's URL (presigned on S3, with the same expiry).
    pub video_url: String,
    /// How long the links work.
    pub expires_in_secs: u64,
}

/// What the page's script reads (`<script type="application/json">`).
#[derive(Debug, Serialize)]
struct PageData {
    video: String,
    title: String,
    when: String,
    expires: Option<String>,
    duration_ms: i64,
    peak_g: Option<f64>,
    place: Option<Place>,
    incident_ms: Option<i64>,
    /// `[t_ms, lat, lon]` from the clip's first frame.
    track: Vec<(i64, f64, f64)>,
    /// `[t_ms, m/s]`.
    speed: Vec<(i64, f64)>,
    /// `[t_ms, g]`, each the peak of its stretch.
    g: Vec<(i64, f64)>,
    tiles: Option<String>,
}

#[derive(Debug, Serialize)]
struct Place {
    lat: f64,
    lon: f64,
}

impl CloudService {
    /// Shares an uploaded clip as a page: writes (or rewrites) its page beside it and returns the
    /// page's link with the video's URL in the fragment, both valid for `expires_in` (default:
    /// the configured share expiry; 1 minute to 7 days, as for [`CloudService::share_url`]).
    pub async fn share_page(
        &self,
        clip_id: i64,
        expires_in: Option<Duration>,
        options: &SharePageOptions,
    ) -> Result<ShareLink, CloudError> {
        let expiry = checked_share_expiry(expires_in.unwrap_or(self.inner.config.share_expiry))?;
        let job = self.inner.catalog.upload_job(clip_id).await?;
        let Some(job) = job.filter(|j| j.state == UploadState::Uploaded) else {
            return Err(CloudError::UnknownClip(clip_id));
        };
        let clip = self.inner.catalog.clip(ClipId(clip_id)).await?;
        let incident = match clip.event_id {
            Some(id) => self.inner.catalog.event(id).await?,
            None => None,
        };
        let telemetry = match clip.telemetry_file.as_deref() {
            Some(name) => read_telemetry(self.inner.layout.video_path(name)).await,
            None => None,
        };
        let data = PageData {
            video: format!("{}.mp4", job.cloud_key),
            title: title(&job.reason),
            when: format!("{} UTC, {} s", utc(job.start_ms), (job.end_ms - job.start_ms) / 1000),
            expires: (self.inner.backend.kind() == BackendKind::S3)
                .then(|| utc(crate::catalog::now_ms() + expiry.as_millis() as i64)),
            duration_ms: job.end_ms - job.start_ms,
            peak_g: job.peak_g,
            place: job.location.map(|(lat, lon)| Place { lat, lon }),
            incident_ms: incident.map(|e| e.at_ms - job.start_ms),
            track: Vec::new(),
            speed: Vec::new(),
            g: Vec::new(),
            tiles: options.map_tiles.clone(),
        };
        let html = render(with_telemetry(data, telemetry.as_ref()))?;
        let page_key = self.page_key(&job.cloud_key);
        self.inner.backend.put(&page_key, Bytes::from(html), None).await?;
        let page_url = self.inner.backend.share_url(&page_key, expiry).await?;
        let video_url =
            self.inner.backend.share_url(&self.object_key(&job.cloud_key), expiry).await?;
        Ok(ShareLink {
            url: format!("{page_url}#v={}", encode_fragment(&video_url)),
            page_url,
            video_url,
            expires_in_secs: expiry.as_secs(),
        })
    }

    /// The page's object key, beside the clip's video and sidecar.
    pub(super) fn page_key(&self, cloud_key: &str) -> String {
        format!("{}{cloud_key}.html", self.clips_prefix())
    }
}

async fn read_telemetry(path: std::path::PathBuf) -> Option<ClipTelemetry> {
    let read = blocking(move || {
        let read = || -> Result<ClipTelemetry, String> {
            let len = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
            if len > MAX_TELEMETRY_BYTES {
                return Err(format!("{len} bytes is more than a clip's telemetry holds"));
            }
            let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
            serde_json::from_slice(&bytes).map_err(|e| e.to_string())
        };
        Ok(read().map_err(|e| tracing::warn!(file = %path.display(), error = %e, "share page: clip telemetry unreadable")).ok())
    })
    .await;
    read.ok().flatten()
}

fn with_telemetry(mut data: PageData, telemetry: Option<&ClipTelemetry>) -> PageData {
    let Some(t) = telemetry else { return data };
    let fixes: Vec<_> = t
        .gps
        .iter()
        .filter(|f| f.lat.is_finite() && f.lon.is_finite() && !(f.lat == 0.0 && f.lon == 0.0))
        .collect();
    let step = fixes.len().div_ceil(MAX_TRACK).max(1);
    data.track = fixes.iter().step_by(step).map(|f| (i64::from(f.t_ms), f.lat, f.lon)).collect();
    let speed: Vec<SeriesPoint> = fixes
        .iter()
        .map(|f| SeriesPoint { t_ms: i64::from(f.t_ms), value: f64::from(f.speed_mps) })
        .collect();
    data.speed = pairs(downsample(&speed, MAX_SERIES_POINTS, Merge::Mean));
    data.g = pairs(downsample(&g_force(&t.accel, 0), MAX_SERIES_POINTS, Merge::Max));
    data
}

fn pairs(points: Vec<SeriesPoint>) -> Vec<(i64, f64)> {
    points.into_iter().map(|p| (p.t_ms, (p.value * 1000.0).round() / 1000.0)).collect()
}

fn title(reason: &str) -> String {
    match reason {
        "hard_brake" => "Hard brake",
        "collision" => "Collision",
        "camera_locked" => "Locked by the camera",
        _ => "Clip",
    }
    .to_string()
}

/// `YYYY-MM-DD hh:mm:ss` (UTC) of ms since the epoch.
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60)
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01); Howard Hinnant's
/// algorithm, a few lines, rather than a date crate for one format.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Percent-encodes everything but unreserved characters, so the video URL survives as one
/// fragment parameter.
fn encode_fragment(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn csp_hash(s: &str) -> String {
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s)))
}

/// The page's HTML: the template with its data, its script and style, and a policy that lets
/// it load only the clip's video beside it (and tiles, when set).
fn render(data: PageData) -> Result<String, CloudError> {
    let tiles = data.tiles.as_deref().and_then(tile_origin);
    let json = serde_json::to_string(&data).map_err(|e| CloudError::Integrity(e.to_string()))?;
    // Inside <script>, "<" would let a string close the element: JSON allows it escaped.
    let json = json.replace('<', "\\u003c");
    let csp = format!(
        "default-src 'none'; script-src {}; style-src {}; media-src 'self' file:; img-src {}; \
         base-uri 'none'; form-action 'none'",
        csp_hash(SCRIPT),
        csp_hash(STYLE),
        tiles.unwrap_or_else(|| "'none'".into())
    );
    Ok(HTML
        .replace("{{CSP}}", &csp)
        .replace("{{STYLE}}", STYLE)
        .replace("{{SCRIPT}}", SCRIPT)
        .replace("{{DATA}}", &json))
}

/// The scheme and host a tile template loads from (`https://tiles.example`), for the policy.
fn tile_origin(template: &str) -> Option<String> {
    let (scheme, rest) = template.split_once("://")?;
    let host = rest.split('/').next()?;
    let ok = matches!(scheme, "https" | "http")
        && !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    ok.then(|| format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AccelSample, GpsFix};

    fn data() -> PageData {
        PageData {
            video: "0123.mp4".into(),
            title: title("hard_brake"),
            when: utc(1_796_000_000_000),
            expires: None,
            duration_ms: 40_000,
            peak_g: Some(0.6),
            place: Some(Place { lat: 45.0, lon: 4.0 }),
            incident_ms: Some(30_000),
            track: Vec::new(),
            speed: Vec::new(),
            g: Vec::new(),
            tiles: None,
        }
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_796_000_000_000), "2026-11-30 00:53:20");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00");
    }

    #[test]
    fn the_page_pins_its_script_and_loads_nothing_else() {
        let html = render(data()).expect("render");
        let csp = html.split("content=\"").nth(3).expect("csp").split('"').next().expect("csp");
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
        assert!(csp.contains(&csp_hash(SCRIPT)) && csp.contains("img-src 'none'"), "{csp}");
        assert!(
            !html.contains("http://") && !html.contains("https://")
                || html.contains("www.w3.org/2000/svg")
        );
        assert!(!html.contains("<script src") && !html.contains("<link"), "no external resource");
        let tiles =
            SharePageOptions { map_tiles: Some("https://tiles.example/{z}/{x}/{y}.png".into()) };
        let html = render(PageData { tiles: tiles.map_tiles, ..data() }).expect("render");
        assert!(html.contains("img-src https://tiles.example;"), "tiles only from their origin");
    }

    #[test]
    fn data_cannot_close_the_script() {
        let html =
            render(PageData { title: "</script><img src=x>".into(), ..data() }).expect("render");
        assert_eq!(html.matches("</script>").count(), 2, "only the page's own two scripts close");
    }

    #[test]
    fn telemetry_becomes_track_and_curves() {
        let t = ClipTelemetry {
            clip_id: 1,
            start_ms: 0,
            accel_hz: 100,
            accel: (0..4000)
                .map(|i| AccelSample {
                    t_ms: i * 10,
                    ax: if i == 3000 { 5.0 } else { 0.0 },
                    ay: 0.0,
                    az: 9.8,
                })
                .collect(),
            gps: (0..40)
                .map(|s| GpsFix {
                    t_ms: s * 1000,
                    lat: 45.0 + f64::from(s) * 1e-4,
                    lon: 4.0,
                    speed_mps: 12.0,
                })
                .collect(),
        };
        let d = with_telemetry(data(), Some(&t));
        assert_eq!(d.track.len(), 40);
        assert_eq!(d.speed.len(), 40);
        let peak = d.g.iter().max_by(|a, b| a.1.total_cmp(&b.1)).expect("g");
        assert!((peak.0 - 30_000).abs() <= 100 && peak.1 > 0.45, "{peak:?}");
        assert_eq!(encode_fragment("http://a/b?x=1&y=2"), "http%3A%2F%2Fa%2Fb%3Fx%3D1%26y%3D2");
    }
}
