//! A shared clip as its page, end to end: a clip streamed from the simulated camera, uploaded to
//! the S3 server on loopback (s3s-fs, which checks signatures and expiry), shared as a page, and
//! fetched through its real presigned links; then opened in Debian's Chromium, headless, driven
//! by Selenium with the system chromedriver (`tests/browser/share_page.py`): the video plays past
//! 2 s, the chart's cursor and the track's marker follow it, the page requests nothing but its own
//! origin, and a tampered or an expired link shows the server's refusal.
//!
//! The expired link is the real link signed again (SigV4, with the test server's key) at a time
//! two hours ago: the shortest link the product makes lasts a minute, too long to wait for. The
//! same signer at the present time must give a link the server accepts, which proves the signer.

mod cloud_support;
mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use cloud_support::{Server, endpoint, fresh_account, s3_config};
use common::{World, camera_with};
use dashkeep_core::catalog::{ClipRecord, ClipState};
use dashkeep_core::cloud::{CloudError, NetworkState, ShareLink, SharePageOptions};
use dashkeep_core::{Companion, CompanionConfig};
use dashkeep_simcam::Scenario;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Ninety seconds with a hard brake at 0:50.
const BRAKE: &str = r#"
name = "share-page"
start_ms = 1796200000000
segment_secs = 30
[[drive]]
at_s = 0
duration_s = 90
start = { lat = 52.37, lon = 4.89, heading_deg = 120.0 }
speed = [[0, 4.0], [10, 13.0], [48, 13.0], [52, 2.0], [60, 2.0], [70, 12.0], [90, 12.0]]
turns = [{ at_s = 25, duration_s = 6, deg = -70.0 }]
events = [{ kind = "hard_brake", at_s = 50, peak_g = 0.65, duration_s = 1.5 }]
"#;

/// How long the test's links last.
const EXPIRY: Duration = Duration::from_secs(600);

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// A phone that streamed the drive, cut its hard-brake clip, uploaded it to s3s-fs and shared
/// it as a page.
struct Shared {
    _world: World,
    phone: std::sync::Arc<Companion>,
    clip: ClipRecord,
    link: ShareLink,
}

async fn share_a_clip() -> Shared {
    let world = camera_with(Scenario::from_toml_str(BRAKE).expect("scenario"), true, 1 << 30).await;
    let config = CompanionConfig {
        cloud: Some(s3_config(&endpoint(Server::S3s), &fresh_account())),
        ..world.phone_config()
    };
    let phone = Companion::open(config).await.expect("companion");
    let cloud = phone.cloud().expect("cloud").clone();
    cloud.stop().await;
    phone.stream_now(&world.camera.base_url()).await.expect("stream");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let clip = loop {
        phone.cut_pending_clips().await.expect("cut");
        let clips = phone.clips().await.expect("clips");
        if let Some(c) = clips.iter().find(|c| c.state == ClipState::Ready) {
            break c.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no clip was cut: {clips:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    cloud.set_network(NetworkState::WIFI);
    cloud.run_queue().await.expect("upload");
    let link = cloud.share_page(clip.id.0, Some(EXPIRY), &SharePageOptions::default()).await;
    Shared { _world: world, phone, clip, link: link.expect("share") }
}

/// The link with one character of its signature changed.
fn tamper(link: &str) -> String {
    let at = link.find("X-Amz-Signature=").expect("a presigned link") + "X-Amz-Signature=".len();
    let mut bytes = link.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    String::from_utf8(bytes).expect("ascii")
}

/// `url` (a presigned GET, path style, fragment kept) signed again as if at `at`, valid for
/// `expires_secs`: SigV4 query signing, as the AWS documentation lays it out.
fn signed_at(url: &str, at: SystemTime, expires_secs: u64) -> String {
    let (url, fragment) = url.split_once('#').map_or((url, None), |(u, f)| (u, Some(f)));
    let (base, query) = url.split_once('?').expect("a query");
    let (scheme_host, path) = base.split_at(base.find("://").expect("scheme") + 3);
    let (host, path) = path.split_at(path.find('/').expect("path"));
    let secs = at.duration_since(SystemTime::UNIX_EPOCH).expect("after 1970").as_secs();
    let (stamp, day) = amz_date(secs);
    let mut params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k != "X-Amz-Signature")
        .map(|(k, v)| {
            let v = match k {
                "X-Amz-Date" => stamp.clone(),
                "X-Amz-Expires" => expires_secs.to_string(),
                // KEY%2FYYYYMMDD%2Fregion%2Fs3%2Faws4_request: the day changes.
                "X-Amz-Credential" => {
                    let mut parts: Vec<String> = v.split("%2F").map(String::from).collect();
                    parts[1] = day.clone();
                    parts.join("%2F")
                }
                _ => v.to_string(),
            };
            (k.to_string(), v)
        })
        .collect();
    params.sort();
    let canonical_query =
        params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let credential = &params.iter().find(|(k, _)| k == "X-Amz-Credential").expect("credential").1;
    let scope = credential.split("%2F").skip(1).collect::<Vec<_>>().join("/");
    let region = credential.split("%2F").nth(2).expect("region");
    let canonical =
        format!("GET\n{path}\n{canonical_query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let secret = dashkeep_e2e::campaign::s3_bucket_config("http://unused").secret_key;
    let mut key = format!("AWS4{}", secret.expose()).into_bytes();
    for part in [day.as_str(), region, "s3", "aws4_request", to_sign.as_str()] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
        mac.update(part.as_bytes());
        key = mac.finalize().into_bytes().to_vec();
    }
    let signed =
        format!("{scheme_host}{host}{path}?{canonical_query}&X-Amz-Signature={}", hex::encode(key));
    fragment.map_or(signed.clone(), |f| format!("{signed}#{f}"))
}

/// `YYYYMMDDThhmmssZ` and `YYYYMMDD` of epoch seconds.
fn amz_date(secs: u64) -> (String, String) {
    let t = time::OffsetDateTime::from_unix_timestamp(secs as i64).expect("a real time");
    let day = format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day());
    (format!("{day}T{:02}{:02}{:02}Z", t.hour(), t.minute(), t.second()), day)
}

/// Status, content type and body of a GET.
async fn get(url: &str) -> (u16, String, Vec<u8>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let resp = reqwest::get(url).await.expect("GET");
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    (status, kind, resp.bytes().await.expect("body").to_vec())
}

/// The link two hours ago, valid one minute: long expired.
fn expired(url: &str) -> String {
    signed_at(url, SystemTime::now() - Duration::from_secs(2 * 3600), 60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_video_are_presigned_alike_and_refused_when_tampered_or_expired() {
    let Shared { _world: world, phone, clip, link } = share_a_clip().await;
    let expires = format!("X-Amz-Expires={}", EXPIRY.as_secs());
    assert!(link.page_url.contains(".html?") && link.page_url.contains(&expires), "{link:?}");
    assert!(link.video_url.contains(".mp4?") && link.video_url.contains(&expires), "{link:?}");
    let (page_url, video) = link.url.split_once("#v=").expect("the video in the fragment");
    assert_eq!(page_url, link.page_url);
    assert!(video.starts_with("http%3A%2F%2F127.0.0.1"), "percent-encoded: {video}");

    // The page, as a browser gets it: HTML, locked to the clip, with its data inlined.
    let (status, kind, body) = get(&link.page_url).await;
    let html = String::from_utf8(body).expect("utf-8");
    assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"), "{html}");
    assert!(html.contains("default-src 'none'") && html.contains("\"title\":\"Hard brake\""));
    assert!(html.contains("\"track\":[[0,52."), "the clip's track inlined: {html}");

    // The video link serves the clip's very bytes.
    let (status, _, bytes) = get(&link.video_url).await;
    let layout = dashkeep_core::storage::DataLayout::new(world.data_dir());
    let file = layout.video_path(clip.phone_file.as_deref().expect("on the phone"));
    assert_eq!(status, 200);
    assert!(bytes == std::fs::read(&file).expect("clip file"), "the shared video is the clip");

    // Tampered: the server's refusal.
    let (status, _, body) = get(&tamper(&link.page_url)).await;
    let refusal = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(status, 403, "{refusal}");
    assert!(refusal.contains("SignatureDoesNotMatch"), "{refusal}");

    // Expired: the signer is right (signed now, accepted), and two hours ago it is refused.
    let (status, _, _) = get(&signed_at(&link.page_url, SystemTime::now(), 60)).await;
    assert_eq!(status, 200, "the test's signer signs as the product does");
    let (status, _, body) = get(&expired(&link.page_url)).await;
    let refusal = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(status, 403, "an expired page link is refused: {refusal}");
    assert!(refusal.contains("AccessDenied") && refusal.contains("xpired"), "{refusal}");
    let (status, _, _) = get(&expired(&link.video_url)).await;
    assert_eq!(status, 403, "an expired video link is refused");

    // A page link outside 1 minute ..= 7 days is refused before anything is written.
    let cloud = phone.cloud().expect("cloud");
    let options = SharePageOptions::default();
    let short = cloud.share_page(clip.id.0, Some(Duration::from_secs(5)), &options).await;
    assert!(matches!(short, Err(CloudError::ShareExpiry(5))), "{short:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_clip_plays_in_chromium_through_its_presigned_page() {
    let Shared { link, .. } = share_a_clip().await;
    let screenshot = root().join("target/share-page.png");
    let _ = std::fs::remove_file(&screenshot);
    let out = Command::new("python3")
        .arg(root().join("tests/browser/share_page.py"))
        .args([&link.url, &tamper(&link.url), &expired(&link.url)])
        .arg(&screenshot)
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the browser test could not run: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    let (before, after) = (&report["page"]["before"], &report["page"]["after"]);
    eprintln!("chromium {}: {before} -> {after}", report["chromium"]);

    assert_eq!(after["error"], serde_json::Value::Null, "the video loads: {after}");
    assert_eq!(after["message"], serde_json::Value::Null, "no error shown: {after}");
    let t = after["t"].as_f64().expect("time");
    assert!(t > 2.0, "the video plays past 2 s: {t}");
    let moved = |key: &str| after[key] != before[key];
    assert!(moved("cursor"), "the chart's cursor follows the video: {before} {after}");
    let cursor = after["cursor"].as_f64().unwrap_or(0.0) - before["cursor"].as_f64().unwrap_or(0.0);
    assert!(cursor > 10.0, "the cursor moved {cursor} of 520 px for {t} s of a 40 s clip");
    assert!(moved("marker"), "the track's marker follows the video: {before} {after}");
    assert!(after["title"].as_str().is_some_and(|s| s.starts_with("Hard brake")), "{after}");
    assert!(after["where"].as_str().is_some_and(|s| s.starts_with("At 52.")), "{after}");
    assert!(after["width"].as_i64().is_some_and(|w| w <= 412), "fits a phone: {after}");
    assert_eq!(report["page"]["foreign_requests"], serde_json::json!([]), "{report}");

    let tampered = report["tampered"].as_str().unwrap_or_default();
    assert!(tampered.contains("SignatureDoesNotMatch"), "tampered: {tampered}");
    let refused = report["expired"].as_str().unwrap_or_default();
    assert!(refused.contains("AccessDenied") && refused.contains("xpired"), "expired: {refused}");
    assert!(std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 10_000), "screenshot");
}
