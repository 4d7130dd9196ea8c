//! The simulated camera over real sockets: listings, downloads, ranges, feed, loop recording,
//! faults and power.

use std::time::{Duration, Instant};

use dashkeep_core::protocol::{
    ApiError, CameraStatus, DriveList, SegmentInfo, SegmentList, Telemetry,
};
use dashkeep_simcam::{Fault, Lie, Scenario, SimCamera, SimConfig};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

fn client() -> reqwest::Client {
    // The workspace builds reqwest without a default TLS provider (the core uses ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap()
}

async fn instant(scenario: Scenario, capacity: u64) -> (SimCamera, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = SimConfig::new(scenario, dir.path());
    cfg.instant = true;
    cfg.sd_capacity_bytes = capacity;
    (SimCamera::start(cfg).await.unwrap(), dir)
}

async fn get_json<T: serde::de::DeserializeOwned>(cam: &SimCamera, path: &str) -> T {
    let r = client().get(format!("{}{path}", cam.base_url())).send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

async fn list(cam: &SimCamera) -> SegmentList {
    get_json(cam, "/api/v1/segments?since=0&limit=1000").await
}

fn video_url(cam: &SimCamera, id: &str) -> String {
    format!("{}/api/v1/segments/{id}/video", cam.base_url())
}

/// Reads a body to the end; returns the bytes received and whether it ended with an error.
async fn read_body(r: reqwest::Response) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut s = r.bytes_stream();
    while let Some(c) = s.next().await {
        match c {
            Ok(c) => out.extend_from_slice(&c),
            Err(_) => return (out, true),
        }
    }
    (out, false)
}

#[tokio::test]
async fn segments_are_listed_continuous_and_downloadable() {
    let (cam, _dir) = instant(Scenario::multi_drive(2, 5, 2), 1 << 30).await;
    let status: CameraStatus = get_json(&cam, "/api/v1/status").await;
    assert_eq!(status.protocol_version, 1);
    assert_eq!(status.latest_seq, 6);
    assert!(!status.recording);
    let l = list(&cam).await;
    assert_eq!(l.segments.iter().map(|s| s.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    assert_eq!((l.next_cursor, l.more, l.oldest_seq), (6, false, 1));
    let drives: DriveList = get_json(&cam, "/api/v1/drives").await;
    assert_eq!(drives.drives.len(), 2);
    for d in &drives.drives {
        let segs: Vec<&SegmentInfo> = l.segments.iter().filter(|s| s.drive_id == d.id).collect();
        assert_eq!(segs.len() as u32, d.segment_count);
        assert_eq!(segs.iter().map(|s| s.duration_ms).collect::<Vec<_>>(), [2000, 2000, 1000]);
        // Continuous: each segment starts where the previous one ended.
        let mut t = d.start_ms;
        for s in &segs {
            assert_eq!(s.start_ms, t);
            t += s.duration_ms;
        }
        assert_eq!(d.end_ms, Some(t));
        assert_eq!(d.bytes, segs.iter().map(|s| s.size + s.telemetry_size).sum::<u64>());
    }
    let used: u64 = l.segments.iter().map(|s| s.size + s.telemetry_size).sum();
    assert_eq!(status.sd_used_bytes, used);
    // Pagination.
    let p: SegmentList = get_json(&cam, "/api/v1/segments?since=2&limit=3").await;
    assert_eq!(p.segments.iter().map(|s| s.seq).collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!((p.next_cursor, p.more), (5, true));
    let p: SegmentList = get_json(&cam, "/api/v1/segments?since=6").await;
    assert!(p.segments.is_empty() && p.next_cursor == 6 && !p.more);
    for s in &l.segments {
        s.validate().unwrap();
        assert!(s.id.starts_with(&s.drive_id));
        let r = client().get(video_url(&cam, &s.id)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "video/mp4");
        assert_eq!(r.headers()["accept-ranges"], "bytes");
        assert_eq!(r.headers()["etag"].to_str().unwrap(), format!("\"{}\"", s.sha256));
        let body = r.bytes().await.unwrap();
        assert_eq!(body.len() as u64, s.size);
        assert_eq!(hex::encode(Sha256::digest(&body)), s.sha256);
        let url = format!("{}/api/v1/segments/{}/telemetry", cam.base_url(), s.id);
        let tel = client().get(url).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(tel.len() as u64, s.telemetry_size);
        assert_eq!(hex::encode(Sha256::digest(&tel)), s.telemetry_sha256);
        let tel: Telemetry = serde_json::from_slice(&tel).unwrap();
        assert_eq!(tel.segment_id, s.id);
        assert_eq!(tel.accel.len() as i64, s.duration_ms / 10);
        assert_eq!(tel.gps.len() as i64, s.duration_ms / 1000);
    }
    assert_eq!(cam.served_total_bytes(), l.segments.iter().map(|s| s.size).sum::<u64>());
    assert_eq!(cam.served_video_bytes(&l.segments[0].id), l.segments[0].size);
    assert_eq!(cam.request_counts().video, 6);
    cam.shutdown().await;
}

#[tokio::test]
async fn segment_plays_in_ffprobe_and_ffmpeg() {
    let (cam, _dir) = instant(Scenario::multi_drive(1, 3, 3), 1 << 30).await;
    let (info, path, _) = cam.card().remove(0);
    cam.shutdown().await;
    let probe = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration:stream=codec_name", "-of", "json"])
        .arg(&path)
        .output();
    let probe = probe.expect(
        "this test needs ffprobe and ffmpeg: install them (`apt-get install ffmpeg`), or run \
         scripts/test-all, which does",
    );
    assert!(probe.status.success(), "{}", String::from_utf8_lossy(&probe.stderr));
    assert!(probe.stderr.is_empty(), "{}", String::from_utf8_lossy(&probe.stderr));
    let v: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    let duration: f64 = v["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((duration - 3.0).abs() < 0.1, "duration {duration}");
    assert_eq!(info.duration_ms, 3000);
    let mut codecs: Vec<&str> = v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_name"].as_str().unwrap())
        .collect();
    codecs.sort();
    assert_eq!(codecs, ["aac", "h264"]);
    let decode = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(decode.status.success());
    assert!(decode.stderr.is_empty(), "ffmpeg: {}", String::from_utf8_lossy(&decode.stderr));
}

#[tokio::test]
async fn range_requests_and_errors() {
    let (cam, _dir) = instant(Scenario::multi_drive(1, 2, 2), 1 << 30).await;
    let (info, path, _) = cam.card().remove(0);
    let file = std::fs::read(path).unwrap();
    let url = video_url(&cam, &info.id);
    let c = client();
    let r = c.get(&url).header("Range", "bytes=100-199").send().await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"].to_str().unwrap(),
        format!("bytes 100-199/{}", info.size)
    );
    assert_eq!(r.headers()["content-length"], "100");
    assert_eq!(&r.bytes().await.unwrap()[..], &file[100..200]);
    let r = c.get(&url).header("Range", "bytes=1000-").send().await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(&r.bytes().await.unwrap()[..], &file[1000..]);
    let r = c.get(&url).header("Range", format!("bytes={}-", info.size)).send().await.unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["content-range"].to_str().unwrap(), format!("bytes */{}", info.size));
    let e: ApiError = r.json().await.unwrap();
    assert_eq!(e.code, "range_not_satisfiable");
    let r = c.get(video_url(&cam, "D20000101_000000_S0000")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<ApiError>().await.unwrap().code, "not_found");
    for bad in ["..%2F..%2Fetc%2Fpasswd", "-rf", "a%00b", "%C3%A9"] {
        let r = c.get(video_url(&cam, bad)).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(r.json::<ApiError>().await.unwrap().code, "bad_id");
    }
    let r = c.get(format!("{}/api/v1/segments?since=abc", cam.base_url())).send().await.unwrap();
    assert_eq!(r.status(), 400);
    r.json::<ApiError>().await.unwrap();
    let r = c.get(format!("{}/api/v1/nope", cam.base_url())).send().await.unwrap();
    assert_eq!(r.status(), 404);
    r.json::<ApiError>().await.unwrap();
    cam.shutdown().await;
}

#[tokio::test]
async fn feed_long_poll_wakes_on_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = SimConfig::new(Scenario::multi_drive(1, 6, 2), dir.path());
    cfg.speed = 4.0; // a 2 s segment finalizes every 0.5 s of real time
    let cam = SimCamera::start(cfg).await.unwrap();
    let status: CameraStatus = get_json(&cam, "/api/v1/status").await;
    assert!(status.recording);
    assert!(status.current_drive.is_some());
    assert_eq!(status.latest_seq, 0);
    let t = Instant::now();
    let l: SegmentList = get_json(&cam, "/api/v1/feed?after=0&timeout_ms=10000").await;
    assert_eq!(l.segments.len(), 1);
    assert_eq!(l.segments[0].seq, 1);
    assert!(t.elapsed() > Duration::from_millis(300) && t.elapsed() < Duration::from_secs(3));
    let l: SegmentList = get_json(&cam, "/api/v1/feed?after=1&timeout_ms=10000").await;
    assert_eq!(l.segments[0].seq, 2);
    cam.wait_for_scenario_end().await;
    assert_eq!(cam.card().len(), 3);
    // Nothing new: an empty answer after the timeout, cursor unchanged.
    let t = Instant::now();
    let l: SegmentList = get_json(&cam, "/api/v1/feed?after=3&timeout_ms=300").await;
    assert!(t.elapsed() >= Duration::from_millis(290));
    assert!(l.segments.is_empty() && l.next_cursor == 3);
    // Something there already: at once.
    let l: SegmentList = get_json(&cam, "/api/v1/feed?after=1&timeout_ms=30000").await;
    assert_eq!(l.segments.iter().map(|s| s.seq).collect::<Vec<_>>(), [2, 3]);
    let status: CameraStatus = get_json(&cam, "/api/v1/status").await;
    assert!(!status.recording && status.current_drive.is_none());
    cam.shutdown().await;
}

#[tokio::test]
async fn loop_recording_deletes_oldest_unlocked_and_keeps_locked() {
    // 3 drives of 5 segments; drive 2's first two segments are locked (a hard brake).
    let probe = instant(Scenario::multi_drive(1, 2, 2), 1 << 30).await;
    let one = probe.0.card()[0].0.clone();
    probe.0.shutdown().await;
    let per = one.size + one.telemetry_size;
    let cap = per * 6 + per / 2;
    let (cam, _dir) = instant(Scenario::multi_drive(3, 10, 2), cap).await;
    let card = cam.card();
    let gone = cam.overwritten();
    assert_eq!(card.len() + gone.len(), 15);
    assert_eq!(card.len(), 6);
    // Oldest first, all unlocked.
    assert!(gone.iter().all(|s| !s.locked));
    assert!(gone.windows(2).all(|w| w[0].seq < w[1].seq));
    let locked: Vec<&str> = card.iter().filter(|c| c.0.locked).map(|c| c.0.id.as_str()).collect();
    assert_eq!(locked.len(), 2);
    assert!(locked.iter().all(|id| id.ends_with("_S0000") || id.ends_with("_S0001")));
    assert!(card.iter().any(|c| c.0.seq == 6 && c.0.locked));
    // The files of deleted segments are gone; the rest are present and add up.
    let mut on_disk = 0;
    for (info, v, t) in &card {
        on_disk += std::fs::metadata(v).unwrap().len() + std::fs::metadata(t).unwrap().len();
        assert!(info.size > 0);
    }
    let status: CameraStatus = get_json(&cam, "/api/v1/status").await;
    assert_eq!(status.sd_used_bytes, on_disk);
    assert!(on_disk <= cap);
    let l = list(&cam).await;
    assert_eq!(l.oldest_seq, card[0].0.seq);
    assert_eq!(l.segments.len(), 6);
    let r = client().get(video_url(&cam, &gone[0].id)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    cam.shutdown().await;
}

#[tokio::test]
async fn locked_segments_use_at_most_half_the_card() {
    // Every drive has a hard brake: 2 locked segments per drive.
    let mut sc = Scenario::multi_drive(4, 6, 2);
    let brake = sc.drives[1].clone();
    for d in &mut sc.drives {
        d.events = brake.events.clone();
        d.speed = brake.speed.clone();
    }
    let probe = instant(Scenario::multi_drive(1, 2, 2), 1 << 30).await;
    let one = probe.0.card()[0].0.clone();
    probe.0.shutdown().await;
    let per = one.size + one.telemetry_size;
    let cap = per * 8 + per / 2;
    let (cam, _dir) = instant(sc, cap).await;
    let card = cam.card();
    let locked_bytes: u64 =
        card.iter().filter(|c| c.0.locked).map(|c| c.0.size + c.0.telemetry_size).sum();
    assert!(locked_bytes <= cap / 2, "{locked_bytes} > {}", cap / 2);
    assert!(cam.overwritten().iter().any(|s| s.locked));
    // The newest locked segments survived.
    assert!(card.iter().any(|c| c.0.locked && c.0.id.ends_with("_S0001") && c.0.seq >= 11));
    cam.shutdown().await;
}

#[tokio::test]
async fn faults_do_what_they_say() {
    let (cam, _dir) = instant(Scenario::multi_drive(1, 4, 2), 1 << 30).await;
    let (info, path, _) = cam.card().remove(0);
    let file = std::fs::read(path).unwrap();
    let url = video_url(&cam, &info.id);
    let c = client();

    // Drop after 10000 bytes, twice: short bodies that end in an error.
    cam.inject(Fault::DropAfterBytes { bytes: 10_000, times: 2 });
    for _ in 0..2 {
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.headers()["content-length"].to_str().unwrap(), info.size.to_string());
        let (body, failed) = read_body(r).await;
        assert!(failed, "a cut download must end in an error");
        assert!(body.len() <= 10_000);
        assert_eq!(&body[..], &file[..body.len()]);
    }
    assert_eq!(cam.served_video_bytes(&info.id), 20_000);
    let (body, failed) = read_body(c.get(&url).send().await.unwrap()).await;
    assert!(!failed && body == file);

    // Stall: a pause, then the full body.
    cam.inject(Fault::Stall { after_bytes: 5_000, duration: Duration::from_millis(400) });
    let t = Instant::now();
    let (body, failed) = read_body(c.get(&url).send().await.unwrap()).await;
    assert!(t.elapsed() >= Duration::from_millis(390));
    assert!(!failed && body == file);

    // Corrupt byte: right size, wrong hash, one byte differs.
    cam.inject(Fault::CorruptByte { times: 1 });
    let body = c.get(&url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len(), file.len());
    assert_ne!(hex::encode(Sha256::digest(&body)), info.sha256);
    assert_eq!(body.iter().zip(&file).filter(|(a, b)| a != b).count(), 1);
    let body = c.get(&url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&body[..], &file[..]);

    // HTTP 500 twice, then fine.
    cam.inject(Fault::Http500 { times: 2 });
    for _ in 0..2 {
        let r = c.get(format!("{}/api/v1/status", cam.base_url())).send().await.unwrap();
        assert_eq!(r.status(), 500);
        assert_eq!(r.json::<ApiError>().await.unwrap().code, "internal");
    }
    let _: CameraStatus = get_json(&cam, "/api/v1/status").await;
    assert_eq!(cam.request_counts().injected_500, 2);

    // Lies: the first listed segment is misreported, in listings and the feed, until cleared.
    for lie in [Lie::PathId, Lie::AbsurdSize, Lie::NegativeDuration, Lie::WrongChecksum] {
        cam.inject(Fault::Lie(lie));
        let l = list(&cam).await;
        let feed: SegmentList = get_json(&cam, "/api/v1/feed?after=0&timeout_ms=0").await;
        for first in [&l.segments[0], &feed.segments[0]] {
            match lie {
                Lie::PathId => assert_eq!(first.id, "../../x"),
                Lie::AbsurdSize => assert_eq!(first.size, u64::MAX / 2),
                Lie::NegativeDuration => assert_eq!(first.duration_ms, -60_000),
                Lie::WrongChecksum => {
                    assert_ne!(first.sha256, info.sha256);
                    assert_eq!(first.sha256.len(), 64);
                }
            }
            if lie != Lie::WrongChecksum {
                assert!(first.validate().is_err());
            }
        }
        l.segments[1].validate().unwrap();
        cam.clear_faults();
        assert_eq!(list(&cam).await.segments[0], info);
    }
    cam.shutdown().await;
}

#[tokio::test]
async fn power_off_refuses_connections_and_power_on_comes_back_on_the_same_port() {
    let (cam, _dir) = instant(Scenario::multi_drive(1, 2, 2), 1 << 30).await;
    let (info, path, _) = cam.card().remove(0);
    let size = std::fs::metadata(path).unwrap().len();
    let url = video_url(&cam, &info.id);
    let addr = cam.addr();
    // A download in progress (stalled) dies when the power goes.
    cam.inject(Fault::Stall { after_bytes: 1000, duration: Duration::from_secs(10) });
    let r = client().get(&url).send().await.unwrap();
    let reader = tokio::spawn(read_body(r));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    cam.power_off().await;
    let (body, failed) = reader.await.unwrap();
    assert!(failed && (body.len() as u64) < size);
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(!cam.is_powered());
    let e = client().get(format!("{}/api/v1/status", cam.base_url())).send().await.unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    cam.power_on().await.unwrap();
    assert_eq!(cam.addr(), addr);
    cam.clear_faults();
    let body = client().get(&url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len() as u64, size);
    cam.shutdown().await;
}

#[tokio::test]
async fn recording_pauses_while_powered_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = SimConfig::new(Scenario::multi_drive(1, 8, 2), dir.path());
    cfg.speed = 8.0; // a segment every 0.25 s
    let cam = SimCamera::start(cfg).await.unwrap();
    cam.wait_for_seq(1).await;
    cam.power_off().await;
    let before = cam.card().len();
    tokio::time::sleep(Duration::from_millis(700)).await;
    // At most the segment being written when the power went finishes.
    assert!(cam.card().len() <= before + 1);
    cam.power_on().await.unwrap();
    assert!(cam.status().recording);
    cam.wait_for_scenario_end().await;
    assert_eq!(cam.card().len(), 4);
    cam.shutdown().await;
}

#[tokio::test]
async fn sim_control_endpoints() {
    let (cam, _dir) = instant(Scenario::multi_drive(1, 2, 2), 1 << 30).await;
    let c = client();
    let base = cam.base_url();
    let r = c
        .post(format!("{base}/sim/faults"))
        .json(&serde_json::json!({"kind": "http500", "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = c.get(format!("{base}/api/v1/drives")).send().await.unwrap();
    assert_eq!(r.status(), 500);
    let r = c
        .post(format!("{base}/sim/faults"))
        .json(&serde_json::json!({"kind": "lie", "lie": "path_id"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(list(&cam).await.segments[0].id, "../../x");
    c.post(format!("{base}/sim/faults/clear")).send().await.unwrap();
    list(&cam).await.segments[0].validate().unwrap();
    let r = c.post(format!("{base}/sim/faults")).body("nonsense").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(format!("{base}/sim/power"))
        .json(&serde_json::json!({"on": false, "off_ms": 400}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(c.get(format!("{base}/api/v1/status")).send().await.unwrap_err().is_connect());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let _: CameraStatus = get_json(&cam, "/api/v1/status").await;
    cam.shutdown().await;
}
