//! The phone process is killed with SIGKILL in the middle of a download, then started again:
//! nothing is duplicated, nothing is lost, no file is left over, and the download resumes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dashkeep_simcam::{Fault, Fixture, Scenario, SimCamera, SimConfig};

fn dashkeep(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dashkeep"));
    // The phone here is the test machine's disk: its free space must not decide the test.
    cmd.env("DASHKEEP_KEEP_FREE", "0")
        // The test command exports S3 settings for the cloud tests; these tests use a local cloud.
        .env_remove("DASHKEEP_S3_BUCKET")
        .env_remove("DASHKEEP_S3_ENDPOINT")
        .env_remove("DASHKEEP_S3_ACCESS_KEY")
        .env_remove("DASHKEEP_S3_SECRET_KEY");
    cmd.arg("--data-dir").arg(data_dir).stdin(Stdio::null());
    cmd
}

fn partial_len(data_dir: &Path) -> u64 {
    std::fs::read_dir(data_dir.join("tmp"))
        .map(|d| d.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_download_then_restarted() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Three 60 s segments of about 7.5 MB each.
    let camera = SimCamera::start(SimConfig {
        instant: true,
        fixture: Fixture::Small360p,
        ..SimConfig::new(Scenario::calm(3).with_segment_secs(60), dir.path().join("sd"))
    })
    .await
    .expect("camera");
    let card = camera.card();
    let data_dir = dir.path().join("phone");

    // The first download stalls after 3 MB: the phone is killed while it waits.
    camera.inject(Fault::Stall { after_bytes: 3_000_000, duration: Duration::from_secs(60) });
    let mut child = dashkeep(&data_dir)
        .args(["stream", "--camera", &camera.base_url()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn dashkeep");
    let deadline = Instant::now() + Duration::from_secs(30);
    while partial_len(&data_dir) < 2 << 20 {
        assert!(Instant::now() < deadline, "the download never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let kept = partial_len(&data_dir);
    let stalled = card
        .iter()
        .map(|(i, _, _)| i)
        .find(|i| camera.served_video_bytes(&i.id) > 0)
        .expect("one segment was being downloaded")
        .clone();
    let served_before = camera.served_video_bytes(&stalled.id);

    let out = dashkeep(&data_dir)
        .args(["stream", "--json", "--camera", &camera.base_url()])
        .output()
        .expect("run dashkeep again");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report["stored"], card.len());
    assert_eq!(report["refused"].as_array().map(Vec::len), Some(0));

    // Resumed: only the bytes the killed process had not written were fetched again.
    let resent = camera.served_video_bytes(&stalled.id) - served_before;
    assert_eq!(resent, stalled.size - kept, "the partial download was resumed, not restarted");

    // Nothing duplicated or lost, no leftovers, every file byte-identical.
    let out = dashkeep(&data_dir).args(["drives", "--json"]).output().expect("drives");
    let drives: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json drives");
    assert_eq!(drives.as_array().map(Vec::len), Some(1));
    assert_eq!(drives[0]["segments_on_phone"], card.len());
    assert_eq!(drives[0]["residencies"], serde_json::json!(["camera", "phone"]));
    assert_eq!(partial_len(&data_dir), 0, "no partial file is left");
    let mut videos: Vec<_> = std::fs::read_dir(data_dir.join("videos"))
        .expect("videos")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    videos.sort();
    assert_eq!(videos.len(), card.len() * 2, "one video and one telemetry file per segment");
    for (info, video, _) in &card {
        let phone = data_dir.join("videos").join(format!("c1_{}.mp4", info.id));
        assert_eq!(std::fs::read(phone).expect("phone copy"), std::fs::read(video).expect("card"));
    }
    camera.shutdown().await;
}
