//! `dashkeep stream --camera URL` finds out which protocol the camera speaks without being told,
//! says which, and streams it; an unknown camera gets an error listing every probe tried.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use dashkeep_simcam::{Dialect, Fixture, Scenario, SimCamera, SimConfig};

fn dashkeep(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dashkeep"))
        .env("DASHKEEP_KEEP_FREE", "0")
        .env_remove("DASHKEEP_S3_BUCKET")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run dashkeep")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_probes_a_novatek_camera_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cam = SimCamera::start(SimConfig {
        instant: true,
        fixture: Fixture::Small360p,
        dialect: Dialect::Novatek,
        ..SimConfig::new(Scenario::calm(1).with_segment_secs(20), dir.path().join("sd"))
    })
    .await
    .expect("camera");
    let data = dir.path().join("phone");
    // Deleting from the camera is off by default, and `on` without --yes is refused.
    let out = dashkeep(&["delete-from-camera", "on"], &data);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("confirmation"));
    let out = dashkeep(&["delete-from-camera"], &data);
    assert!(String::from_utf8_lossy(&out.stdout).contains(": off"));

    let out = dashkeep(&["stream", "--camera", &cam.base_url()], &data);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("speaks the novatek protocol"), "{stderr}");

    let out = dashkeep(&["drives", "--json"], &data);
    let drives: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(drives.as_array().map(Vec::len), Some(1), "{drives}");
    assert_eq!(drives[0]["residencies"], serde_json::json!(["camera", "phone"]));

    // Confirmed, the next pass deletes the verified copies from the card: the drive then lives
    // on the phone alone.
    let files = cam.card().len();
    let out = dashkeep(&["delete-from-camera", "on", "--yes"], &data);
    assert!(String::from_utf8_lossy(&out.stdout).contains(": on"));
    let out = dashkeep(&["stream", "--camera", &cam.base_url(), "--json"], &data);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["deleted_from_camera"], serde_json::json!(files), "{report}");
    assert!(cam.card().is_empty(), "the card holds nothing more");
    let out = dashkeep(&["drives", "--json"], &data);
    let drives: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(drives[0]["residencies"], serde_json::json!(["phone"]));
    cam.shutdown().await;
}

#[test]
fn an_unknown_camera_fails_with_every_probe_tried() {
    // A port nothing listens on: every probe gets no answer.
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dashkeep(&["stream", "--camera", &format!("http://{port}")], dir.path());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for probe in ["dashkeep", "blackvue-1009", "blackvue-legacy", "novatek", "/?custom=1&cmd=3012"]
    {
        assert!(stderr.contains(probe), "{probe} missing from: {stderr}");
    }
}
