//! The `dashkeep` command as a user runs it: exit status, output, and files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use dashkeep_simcam::{Fixture, Scenario, SimCamera, SimConfig};

fn dashkeep(args: &[&str], data_dir: &Path) -> Output {
    command(args, data_dir).output().expect("run dashkeep")
}

/// The `dashkeep` command with its arguments, not yet run.
fn command(args: &[&str], data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dashkeep"));
    cmd
        // The phone here is the test machine's disk: its free space must not decide the test.
        .env("DASHKEEP_KEEP_FREE", "0")
        // The test command exports S3 settings for the cloud tests; these tests use a local cloud.
        .env_remove("DASHKEEP_S3_BUCKET")
        .env_remove("DASHKEEP_S3_ENDPOINT")
        .env_remove("DASHKEEP_S3_ACCESS_KEY")
        .env_remove("DASHKEEP_S3_SECRET_KEY")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .stdin(Stdio::null());
    cmd
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn camera(dir: &Path, minutes: u32) -> SimCamera {
    SimCamera::start(SimConfig {
        instant: true,
        fixture: Fixture::Small360p,
        ..SimConfig::new(Scenario::calm(minutes).with_segment_secs(30), dir.join("sd"))
    })
    .await
    .expect("camera")
}

fn probe_duration(path: &Path) -> f64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("duration")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clip_cut_writes_a_clip_from_any_segments_and_fails_cleanly_on_garbage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cam = camera(dir.path(), 2).await;
    let mut card = cam.card();
    card.sort_by_key(|(i, _, _)| i.seq);
    let segs: Vec<PathBuf> = card.iter().map(|(_, v, _)| v.clone()).collect();
    let out = dir.path().join("clip.mp4");
    let mut args = vec!["clip", "cut", "--from", "25", "--to", "40", "--exact", "--out"];
    let out_s = out.to_string_lossy().into_owned();
    args.push(&out_s);
    let seg_s: Vec<String> = segs.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    args.extend(seg_s.iter().map(String::as_str));
    ok(&dashkeep(&args, &dir.path().join("unused")));
    let d = probe_duration(&out);
    assert!((d - 15.0).abs() <= 2.0 / 30.0 + 0.03, "exact: within two frames of 15 s, got {d}");

    let garbage = dir.path().join("garbage.mp4");
    std::fs::write(&garbage, b"this is not an mp4 at all").expect("write");
    let bad_out = dir.path().join("bad.mp4");
    let run = dashkeep(
        &[
            "clip",
            "cut",
            "--from",
            "0",
            "--to",
            "5",
            "--out",
            &bad_out.to_string_lossy(),
            &garbage.to_string_lossy(),
        ],
        &dir.path().join("unused"),
    );
    assert!(!run.status.success(), "garbage input must not exit 0");
    assert!(!bad_out.exists(), "no clip file is left behind");
    assert!(String::from_utf8_lossy(&run.stderr).contains("error"), "a clear error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_list_lock_quota_and_clip_a_drive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cam = camera(dir.path(), 2).await;
    let data = dir.path().join("phone");
    ok(&dashkeep(&["stream", "--camera", &cam.base_url()], &data));

    let drives: serde_json::Value =
        serde_json::from_str(&ok(&dashkeep(&["drives", "--json"], &data))).expect("json");
    let id = drives[0]["id"].as_i64().expect("drive id");
    assert_eq!(drives[0]["residencies"], serde_json::json!(["camera", "phone"]));

    ok(&dashkeep(&["lock", &id.to_string()], &data));
    let drives: serde_json::Value =
        serde_json::from_str(&ok(&dashkeep(&["drives", "--json"], &data))).expect("json");
    assert_eq!(drives[0]["locked"], true);

    let quota: serde_json::Value =
        serde_json::from_str(&ok(&dashkeep(&["quota", "--json"], &data))).expect("json");
    assert_eq!(quota["fraction"], 0.5, "the default quota is half the phone");
    ok(&dashkeep(&["quota", "set", "30%"], &data));
    let quota: serde_json::Value =
        serde_json::from_str(&ok(&dashkeep(&["quota", "--json"], &data))).expect("json");
    assert_eq!(quota["fraction"], 0.3);
    assert!(!dashkeep(&["quota", "set", "95%"], &data).status.success(), "out of range refused");

    let status = ok(&dashkeep(&["status"], &data));
    assert!(status.contains("drives") && status.contains("SD card"), "{status}");
    let risk: serde_json::Value =
        serde_json::from_str(&ok(&dashkeep(&["at-risk", "--json"], &data))).expect("json");
    assert!(risk["bytes_per_hour"].as_f64().is_some_and(|r| r > 0.0), "{risk}");

    ok(&dashkeep(
        &["clip", "create", "--drive", &id.to_string(), "--from", "20", "--to", "45"],
        &data,
    ));
    let clips: serde_json::Value =
        serde_json::from_str(&ok(&dashkeep(&["clips", "--json"], &data))).expect("json");
    assert_eq!(clips[0]["state"], "ready");
    assert_eq!(clips[0]["reason"], "manual");
    assert_eq!(clips[0]["residencies"], serde_json::json!(["phone"]));
}

#[test]
fn events_detect_reads_a_motion_csv() {
    let trip =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/driver-behavior/trip17.csv");
    assert!(trip.exists(), "{} is missing from the repository", trip.display());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = ok(&dashkeep(&["events", "detect", "--csv", &trip.to_string_lossy()], dir.path()));
    let events: serde_json::Value = serde_json::from_str(&out).expect("json array");
    let brakes =
        events.as_array().expect("array").iter().filter(|e| e["kind"] == "hard_brake").count();
    // trip17 has 6 labelled hard brakes; 3 can be signed (see docs/events.md, "Limits").
    assert!(brakes >= 3, "trip17's signed hard brakes: {out}");
    assert!(events[0]["t"].as_f64().is_some() && events[0]["peak_g"].as_f64().is_some());

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "time,x\n1,2\n").expect("write");
    let run = dashkeep(&["events", "detect", "--csv", &bad.to_string_lossy()], dir.path());
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("column"), "names the missing column");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clips_reach_the_cloud_and_come_back_after_a_reinstall() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cam = camera(dir.path(), 2).await;
    let cloud = dir.path().join("cloud");
    let cloud_s = cloud.to_string_lossy().into_owned();
    let with_cloud = |args: &[&str], data: &Path| {
        let mut all = vec!["--cloud-dir", &cloud_s];
        all.extend_from_slice(args);
        dashkeep(&all, data)
    };
    let phone = dir.path().join("phone");
    ok(&with_cloud(&["stream", "--camera", &cam.base_url()], &phone));
    ok(&with_cloud(&["clip", "create", "--drive", "1", "--from", "10", "--to", "40"], &phone));
    let uploaded = ok(&with_cloud(&["upload"], &phone));
    let clips: serde_json::Value =
        serde_json::from_str(&ok(&with_cloud(&["clips", "--json"], &phone))).expect("json");
    assert_eq!(
        clips[0]["residencies"],
        serde_json::json!(["phone", "cloud"]),
        "{uploaded} {clips}"
    );
    assert_eq!(clips[0]["upload_state"], "uploaded");
    let clip_file = PathBuf::from(clips[0]["phone_file"].as_str().expect("file"));
    let clip_bytes = std::fs::read(phone.join("videos").join(&clip_file)).expect("clip");

    // The share link is a file URL on the local backend; it serves the same bytes.
    let url = ok(&with_cloud(&["share", "1", "--raw"], &phone)).trim().to_string();
    let shared = url.strip_prefix("file://").expect("a file URL");
    assert_eq!(std::fs::read(shared).expect("shared file"), clip_bytes);
    // Without --raw: the clip's page beside it, the video's URL in the fragment.
    let page = ok(&with_cloud(&["share", "1"], &phone)).trim().to_string();
    let (page_url, video) = page.split_once("#v=").expect("a page link with the video");
    let html = std::fs::read_to_string(page_url.strip_prefix("file://").expect("file"))
        .expect("the page is stored beside the clip");
    assert!(page_url.ends_with(".html") && html.contains("clip-data"), "{page}");
    assert!(video.ends_with(".mp4"), "{video}");

    // A reinstall: an empty data directory, the same cloud and account.
    let reinstalled = dir.path().join("reinstalled");
    ok(&with_cloud(&["sync"], &reinstalled));
    let clips: serde_json::Value =
        serde_json::from_str(&ok(&with_cloud(&["clips", "--json"], &reinstalled))).expect("json");
    assert_eq!(clips.as_array().map(Vec::len), Some(1), "{clips}");
    assert_eq!(clips[0]["residencies"], serde_json::json!(["cloud"]));
    let id = clips[0]["id"].to_string();
    let path = ok(&with_cloud(&["download", &id], &reinstalled)).trim().to_string();
    assert_eq!(std::fs::read(path).expect("downloaded"), clip_bytes);

    // Deleting by hand removes it from the phone and the cloud for good.
    ok(&with_cloud(&["delete", &id], &reinstalled));
    let third = dir.path().join("third");
    ok(&with_cloud(&["sync"], &third));
    let clips: serde_json::Value =
        serde_json::from_str(&ok(&with_cloud(&["clips", "--json"], &third))).expect("json");
    assert_eq!(clips.as_array().map(Vec::len), Some(0), "a deleted clip never comes back: {clips}");
    assert!(!Path::new(shared).exists(), "the cloud copy is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_over_loopback_lists_the_simulated_camera() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cam = camera(dir.path(), 1).await;
    let addr = cam.ble_addr().to_string();
    let data = dir.path().join("phone");
    let json = ok(&dashkeep(&["scan", "--camera-ble", &addr, "--timeout", "2", "--json"], &data));
    let found: serde_json::Value = serde_json::from_str(&json).expect("json");
    let serial = cam.status().serial;
    assert_eq!(
        found,
        serde_json::json!([{ "address": addr, "name": format!("Dashkeep {serial}") }]),
        "{json}"
    );
    let text = ok(&dashkeep(&["scan", "--camera-ble", &addr], &data));
    assert!(text.contains(&addr) && text.contains(&serial), "{text}");

    // A closed port is no camera, nor is one that accepts and never answers: the scan still
    // ends on time, lists the real camera, and says when it found nothing.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed = closed.local_addr().expect("addr").to_string();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_addr = silent.local_addr().expect("addr").to_string();
    let start = std::time::Instant::now();
    let args = ["scan", "--timeout", "1", "--camera-ble", &closed, "--camera-ble", &silent_addr];
    let none = ok(&dashkeep(&args, &data));
    assert!(none.contains("No Dashkeep camera found"), "{none}");
    assert!(start.elapsed() < std::time::Duration::from_secs(4), "{:?}", start.elapsed());
    let args = ["scan", "--timeout", "1", "--camera-ble", &silent_addr, "--camera-ble", &addr];
    let one = ok(&dashkeep(&args, &data));
    assert!(one.contains(&addr) && !one.contains(&silent_addr), "{one}");
    drop(silent);
    assert!(!dashkeep(&["scan", "--timeout", "0", "--camera-ble", &addr], &data).status.success());
    cam.shutdown().await;
}

/// The typed "no adapter" failure, and how long it took.
#[cfg(feature = "btleplug")]
fn scan_without_adapter(bus: &str, data: &Path) -> (Output, std::time::Duration) {
    let start = std::time::Instant::now();
    let out = command(&["scan", "--timeout", "30"], data)
        .env("DBUS_SYSTEM_BUS_ADDRESS", bus)
        .output()
        .expect("run dashkeep");
    (out, start.elapsed())
}

#[cfg(feature = "btleplug")]
#[test]
fn scan_without_a_bluetooth_adapter_fails_fast_with_a_typed_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No system bus at all (this machine, CI, a container): whatever the host has, the child is
    // pointed at a socket that does not exist.
    let bus = format!("unix:path={}", dir.path().join("no-system-bus").display());
    let (out, took) = scan_without_adapter(&bus, &dir.path().join("phone"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "no adapter must not exit 0: {stderr}");
    assert!(
        stderr.contains("error: no Bluetooth adapter (BlueZ not reachable over D-Bus"),
        "{stderr}"
    );
    assert!(took < std::time::Duration::from_secs(5), "fails fast, not after the scan: {took:?}");
    assert!(out.stdout.is_empty(), "nothing listed");
}

#[cfg(feature = "btleplug")]
#[test]
fn scan_with_a_system_bus_but_no_bluez_fails_fast_with_a_typed_error() {
    // A private bus stands in for a system bus without bluetoothd on it.
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("bus");
    let daemon = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--nopidfile"])
        .arg(format!("--address=unix:path={}", socket.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let daemon = daemon.expect(
        "this test needs dbus-daemon: install it (`apt-get install dbus-daemon`), or run \
         scripts/test-all, which does",
    );
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _daemon = Kill(daemon);
    let ready = std::time::Instant::now();
    while !socket.exists() && ready.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(socket.exists(), "the private bus came up");
    let bus = format!("unix:path={}", socket.display());
    let (out, took) = scan_without_adapter(&bus, &dir.path().join("phone"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "no BlueZ must not exit 0: {stderr}");
    assert!(stderr.contains("error: no Bluetooth adapter (BlueZ not reachable over D-Bus"));
    assert!(stderr.contains("org.bluez"), "names what is missing: {stderr}");
    assert!(took < std::time::Duration::from_secs(6), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_connect_and_unpair_from_the_command_line() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let cam = SimCamera::start(SimConfig {
        instant: true,
        fixture: Fixture::Small360p,
        paired_mode: true,
        pairing_code: Some("31415926".into()),
        ..SimConfig::new(Scenario::calm(2).with_segment_secs(30), dir.path().join("sd"))
    })
    .await
    .expect("camera");
    let (addr, serial) = (cam.ble_addr().to_string(), cam.status().serial);
    let data = dir.path().join("phone");
    let wrong = dashkeep(&["pair", "--camera-ble", &addr, "--code", "27182818"], &data);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong code"));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    ok(&dashkeep(&["pair", "--camera-ble", &addr, "--code", "31415926"], &data));
    let cameras: serde_json::Value =
        serde_json::from_str(&ok(&dashkeep(&["cameras", "--json"], &data))).expect("json");
    assert_eq!(cameras[0]["serial"], serial.as_str());
    assert!(!cameras.to_string().contains("passphrase"), "no secret is listed: {cameras}");

    // `connect` reports each state as a JSON line and streams until interrupted.
    let mut child = command(&["connect", "--json"], &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("connect");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut states, mut stored) = (Vec::new(), 0);
    while stored < cam.card().len() {
        let line = lines.next().expect("a line").expect("utf-8");
        let value: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        if value["event"] == "segment_stored" {
            stored += 1;
        } else {
            states.push(value);
        }
    }
    let names: Vec<_> =
        states.iter().map(|s| s["state"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(names, ["scanning", "ble_connected", "wifi_joined", "streaming"], "{states:?}");
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().expect("kill").success());
    let last = lines.next().expect("the final state").expect("utf-8");
    assert!(last.contains("\"stopped\""), "{last}");
    assert!(child.wait().expect("exit").success());

    let drives: serde_json::Value =
        serde_json::from_str(&ok(&dashkeep(&["drives", "--json"], &data))).expect("json");
    let on_phone: u64 = drives
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["segments_on_phone"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(on_phone as usize, cam.card().len(), "{drives}");
    ok(&dashkeep(&["unpair"], &data));
    assert!(cam.paired_phones().is_empty(), "the camera revoked the phone");
    cam.shutdown().await;
}

/// `dashkeep clip cut` with `args` before the output and segments; the run's output.
fn clip_cut(window: &[&str], out: &Path, segments: &[&Path], data: &Path) -> Output {
    let mut args: Vec<String> = ["clip", "cut"].iter().map(|s| s.to_string()).collect();
    args.extend(window.iter().map(|s| s.to_string()));
    args.extend(["--out".to_owned(), out.to_string_lossy().into_owned()]);
    args.extend(segments.iter().map(|p| p.to_string_lossy().into_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    dashkeep(&args, data)
}

/// A copy of the 1 s fixture GOP (a real MP4) under `dir`.
fn fixture_segment(dir: &Path, name: &str) -> PathBuf {
    let dst = dir.join(name);
    std::fs::write(&dst, Fixture::Small360p.bytes()).expect("write the fixture");
    dst
}

#[test]
fn clip_cut_never_touches_a_file_it_was_not_asked_to_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let unused = dir.path().join("unused");
    let seg = fixture_segment(dir.path(), "seg.mp4");
    let original = std::fs::read(&seg).expect("read");
    // An existing --out survives a failed cut (a bad --from, then a window past the recording).
    let out = dir.path().join("mine.mp4");
    std::fs::write(&out, b"the user's own file").expect("write");
    for window in [["--from", "x", "--to", "1"], ["--from", "5", "--to", "6"]] {
        let run = clip_cut(&window, &out, &[&seg], &unused);
        assert!(!run.status.success(), "{window:?} must fail");
        assert_eq!(std::fs::read(&out).expect("read"), b"the user's own file", "{window:?}");
    }
    // --out is the input itself: refused with a clear error, the segment intact.
    let run = clip_cut(&["--from", "0", "--to", "1"], &seg, &[&seg], &unused);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "out = input must fail: {stderr}");
    assert!(stderr.contains("the output is the input segment"), "{stderr}");
    assert_eq!(std::fs::read(&seg).expect("read"), original, "the source is not destroyed");
    // A good cut replaces --out, and leaves no temp file beside it.
    ok(&clip_cut(&["--from", "0", "--to", "1"], &out, &[&seg], &unused));
    assert!(probe_duration(&out) > 0.9, "a playable clip replaced the old file");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["mine.mp4", "seg.mp4"], "only the segment and the clip");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_not_cut_yet_can_be_deleted_and_one_moment_is_one_clip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cam = camera(dir.path(), 2).await;
    let cloud = dir.path().join("cloud").to_string_lossy().into_owned();
    let phone = dir.path().join("phone");
    let run = |args: &[&str]| ok(&dashkeep(&[&["--cloud-dir", &cloud][..], args].concat(), &phone));
    let clips =
        || -> serde_json::Value { serde_json::from_str(&run(&["clips", "--json"])).expect("json") };
    run(&["stream", "--camera", &cam.base_url()]);

    // 110 s to 150 s of a drive the camera has recorded 120 s of: listed, waiting.
    run(&["clip", "create", "--drive", "1", "--from", "110", "--to", "150"]);
    let listed = clips();
    assert_eq!(listed[0]["state"], "pending", "{listed}");
    let id = listed[0]["id"].to_string();
    let deleted = run(&["delete", &id]);
    assert!(deleted.contains("removed_from_phone: false"), "{deleted}");
    assert_eq!(clips(), serde_json::json!([]), "cancelled for good");

    // The user asks twice for nearly the same moment: one clip.
    run(&["clip", "create", "--drive", "1", "--from", "20.4", "--to", "45"]);
    run(&["clip", "create", "--drive", "1", "--from", "20.9", "--to", "45.5"]);
    let listed = clips();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["state"], "ready");
}
