//! A shared clip in a real browser: a clip streamed from the simulated camera, uploaded to the
//! S3 server on loopback (s3s-fs, which checks signatures), shared as a page, and opened through
//! its presigned link in Debian's Chromium, headless, driven by Selenium with the system
//! chromedriver (`tests/browser/share_page.py`). The video plays past 2 s, the chart's cursor and
//! the track's marker follow it, the page requests nothing but its own origin, and a tampered or
//! an expired link shows the server's refusal.

mod cloud_support;
mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cloud_support::{Server, endpoint, fresh_account, s3_config};
use common::camera_with;
use dashkeep_core::catalog::ClipState;
use dashkeep_core::cloud::{NetworkState, SharePageOptions};
use dashkeep_core::ingest::RetryPolicy;
use dashkeep_core::{Companion, CompanionConfig};
use dashkeep_simcam::Scenario;

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

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The link with one character of its page signature changed.
fn tamper(link: &str) -> String {
    let at = link.find("X-Amz-Signature=").expect("a presigned link") + "X-Amz-Signature=".len();
    let mut bytes = link.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    String::from_utf8(bytes).expect("ascii")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_clip_plays_in_chromium_through_its_presigned_page() {
    let world = camera_with(Scenario::from_toml_str(BRAKE).expect("scenario"), true, 1 << 30).await;
    let config = CompanionConfig {
        retry: RetryPolicy {
            max_retries: 10,
            first_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
        },
        safety_floor: dashkeep_core::storage::SafetyFloor { min_bytes: 0, fraction: 0.0 },
        cloud: Some(s3_config(&endpoint(Server::S3s), &fresh_account())),
        ..CompanionConfig::new(world.data_dir())
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

    let options = SharePageOptions::default();
    let link = cloud.share_page(clip.id.0, Some(Duration::from_secs(600)), &options).await;
    let link = link.expect("share");
    assert!(link.page_url.contains(".html?") && link.video_url.contains(".mp4?"), "{link:?}");
    let expired = cloud.share_page(clip.id.0, Some(Duration::from_secs(1)), &options).await;
    let expired = expired.expect("share");
    tokio::time::sleep(Duration::from_millis(2_200)).await;

    let screenshot = root().join("target/share-page.png");
    let out = Command::new("python3")
        .arg(root().join("tests/browser/share_page.py"))
        .args([&link.url, &tamper(&link.url), &expired.url])
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
    assert!(
        refused.contains("AccessDenied") || refused.to_lowercase().contains("expired"),
        "expired: {refused}"
    );
    assert!(std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 10_000), "screenshot");
}
