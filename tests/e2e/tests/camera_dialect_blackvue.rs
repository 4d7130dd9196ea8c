//! BlackVue cameras, legacy firmware and 1.009+, simulated over real loopback sockets: the phone
//! finds out which firmware it speaks without being told (`Companion::stream_camera`), takes the
//! sizes the listings lack from `Content-Length`, streams front and rear files into a real data
//! directory (SQLite catalog, files checked by the MP4 reader and ffprobe), resumes dropped
//! downloads with Range (or restarts them cleanly where the camera ignores Range), reads the GPS
//! from the `.gps` side files (legacy) or from inside the MP4 (1.009), and makes the camera's
//! event (`E`) files an incident with a clip.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{World, ffprobe_codec, files_below, settle};
use dashkeep_core::camera::probe::{self, Dialect};
use dashkeep_core::catalog::ClipState;
use dashkeep_core::ingest::IngestReport;
use dashkeep_core::protocol::{AccelSample, Channel, GpsFix, SegmentInfo, Telemetry};
use dashkeep_core::storage::{SafetyFloor, StorageError, StorageProbe, VolumeSpace};
use dashkeep_core::{Companion, CompanionConfig};
use dashkeep_simcam::blackvue::BlackVueOptions;
use dashkeep_simcam::{Fault, Scenario, SimConfig};

const DIALECTS: [(dashkeep_simcam::Dialect, Dialect); 2] = [
    (dashkeep_simcam::Dialect::BlackVueLegacy, Dialect::BlackVueLegacy),
    (dashkeep_simcam::Dialect::BlackVue1009, Dialect::BlackVue1009),
];

/// Two drives of three 10 s moments each, a minute apart, each moment a front and a rear file;
/// the second drive's first two moments are events (a hard brake): `E` files.
async fn blackvue_camera(
    dialect: dashkeep_simcam::Dialect,
    range_support: bool,
    options: BlackVueOptions,
) -> World {
    common::world_with(Scenario::multi_drive(2, 30, 10), |c| SimConfig {
        instant: true,
        speed: 600.0,
        dialect,
        range_support,
        blackvue: options,
        ..c
    })
    .await
}

/// Streams the camera once, without telling the phone what it is: it must find `dialect`.
async fn stream(world: &World, phone: &Companion, dialect: Dialect) -> IngestReport {
    let url = world.camera.base_url();
    let streamed = phone.stream_camera(&url).await.expect("stream the card");
    assert_eq!(streamed.dialect, dialect);
    streamed.report
}

/// The card's files by BlackVue name: the segment, its video on the card and its telemetry.
fn card_files(world: &World) -> Vec<(String, SegmentInfo, PathBuf, PathBuf)> {
    world.camera.blackvue_card()
}

/// Every file on the card is on the phone under its BlackVue name, byte-identical, and ffprobe
/// reads it as H.264 video.
async fn assert_phone_holds_the_card(phone: &Arc<Companion>, world: &World) {
    let card = card_files(world);
    let mut on_phone = 0;
    for drive in phone.drives().await.expect("drives") {
        for segment in phone.drive_segments(drive.id).await.expect("segments") {
            let path = phone.segment_path(&segment).expect("a phone copy");
            let (_, _, video, _) = card
                .iter()
                .find(|(name, ..)| name.replace('.', "_") == segment.camera_segment_id)
                .unwrap_or_else(|| panic!("{} is not on the card", segment.camera_segment_id));
            assert!(
                std::fs::read(&path).expect("phone copy") == std::fs::read(video).expect("card"),
                "{} differs from the camera's file",
                segment.camera_segment_id
            );
            assert_eq!(ffprobe_codec(&path), "h264", "{}", path.display());
            on_phone += 1;
        }
    }
    assert_eq!(on_phone, card.len(), "the phone holds every file of the card");
}

fn card_bytes(world: &World) -> u64 {
    card_files(world).iter().map(|(_, i, _, _)| i.size).sum()
}

async fn a_blackvue_card_streams_front_and_rear_into_drives(
    sim: dashkeep_simcam::Dialect,
    dialect: Dialect,
) {
    let options = BlackVueOptions::default();
    let world = blackvue_camera(sim, true, options).await;
    assert_eq!(probe::probe(&world.camera.base_url()).await.expect("probe"), dialect);
    let phone = world.phone().await;
    let report = stream(&world, &phone, dialect).await;
    let files = card_files(&world).len();
    assert_eq!(files, 12, "6 moments, front and rear");
    assert!(report.refused.is_empty(), "{dialect}: {:?}", report.refused);
    assert_eq!((report.listed, report.stored), (files, files), "{dialect}");

    // Two drives, each named by its first front file, each recorded by both lenses: its
    // timeline (what plays and is clipped) is the front's three moments, its files all six.
    let drives = phone.drives().await.expect("drives");
    assert_eq!(drives.len(), 2, "{drives:?}");
    for drive in &drives {
        assert!(drive.camera_drive_id.ends_with("F_mp4"), "named by a front file: {drive:?}");
        assert_eq!(drive.channels, [Channel::Front, Channel::Rear], "{drive:?}");
        assert_eq!(drive.ended_at_ms - drive.started_at_ms, 30_000, "{drive:?}");
        let files = phone.drive_segments(drive.id).await.expect("segments");
        let lenses: Vec<Channel> = files.iter().map(|s| s.channel).collect();
        assert_eq!(lenses, [Channel::Front, Channel::Rear].repeat(3), "{files:?}");
        let timeline = phone.drive_timeline(drive.id).await.expect("timeline");
        let front: Vec<_> = timeline.iter().map(|s| (s.index_in_drive, s.channel)).collect();
        assert_eq!(front, [(0, Channel::Front), (1, Channel::Front), (2, Channel::Front)]);
    }
    assert_phone_holds_the_card(&phone, &world).await;
    // The card holds the listed videos; BlackVue never tells its card's size, so none is made up.
    let cameras = phone.phone_status().await.expect("status").cameras;
    let sd: Vec<(u64, u64)> =
        cameras.iter().map(|c| (c.sd_used_bytes, c.sd_capacity_bytes)).collect();
    assert_eq!(sd, [(card_bytes(&world), 0)], "{dialect}");

    // A second pass fetches nothing again.
    let again = stream(&world, &phone, dialect).await;
    assert_eq!((again.stored, again.bytes_fetched), (0, 0), "{dialect}");
}

#[tokio::test]
async fn a_blackvue_card_streams_front_and_rear_into_drives_legacy() {
    let (sim, dialect) = DIALECTS[0];
    a_blackvue_card_streams_front_and_rear_into_drives(sim, dialect).await;
}

#[tokio::test]
async fn a_blackvue_card_streams_front_and_rear_into_drives_1009() {
    let (sim, dialect) = DIALECTS[1];
    a_blackvue_card_streams_front_and_rear_into_drives(sim, dialect).await;
}

async fn a_file_still_being_recorded_is_not_taken(sim: dashkeep_simcam::Dialect, dialect: Dialect) {
    let options = BlackVueOptions { rear: false, ..BlackVueOptions::default() };
    let world = blackvue_camera(sim, true, options).await;
    world.camera.blackvue_start_growing_file();
    let phone = world.phone().await;
    let report = stream(&world, &phone, dialect).await;
    let files = card_files(&world).len();
    // Listed, but its size (from HEAD) changed between the two looks: left on the camera,
    // never asked for, not refused.
    assert_eq!((report.listed, report.stored), (files + 1, files), "{dialect}");
    assert!(report.refused.is_empty(), "{dialect}: {:?}", report.refused);
    assert_phone_holds_the_card(&phone, &world).await;
}

#[tokio::test]
async fn a_file_still_being_recorded_is_not_taken_legacy() {
    let (sim, dialect) = DIALECTS[0];
    a_file_still_being_recorded_is_not_taken(sim, dialect).await;
}

#[tokio::test]
async fn a_file_still_being_recorded_is_not_taken_1009() {
    let (sim, dialect) = DIALECTS[1];
    a_file_still_being_recorded_is_not_taken(sim, dialect).await;
}

async fn dropped_downloads_resume_with_range_or_restart_cleanly(
    sim: dashkeep_simcam::Dialect,
    dialect: Dialect,
) {
    let options = BlackVueOptions { rear: false, ..BlackVueOptions::default() };
    for range in [true, false] {
        let world = blackvue_camera(sim, range, options).await;
        world.camera.inject(Fault::DropAfterBytes { bytes: 100_000, times: 2 });
        let phone = world.phone().await;
        let report = stream(&world, &phone, dialect).await;
        assert!(report.refused.is_empty(), "{dialect}: {:?}", report.refused);
        assert_phone_holds_the_card(&phone, &world).await;
        let sizes = card_bytes(&world);
        if range {
            assert_eq!(report.bytes_fetched, sizes, "{dialect}: nothing fetched twice");
            assert_eq!(world.camera.served_total_bytes(), sizes);
        } else {
            // The two cut prefixes were fetched again from byte 0, and nothing else.
            assert_eq!(world.camera.served_total_bytes(), sizes + 2 * 100_000, "{dialect}");
        }
    }
}

#[tokio::test]
async fn dropped_downloads_resume_with_range_or_restart_cleanly_legacy() {
    let (sim, dialect) = DIALECTS[0];
    dropped_downloads_resume_with_range_or_restart_cleanly(sim, dialect).await;
}

#[tokio::test]
async fn dropped_downloads_resume_with_range_or_restart_cleanly_1009() {
    let (sim, dialect) = DIALECTS[1];
    dropped_downloads_resume_with_range_or_restart_cleanly(sim, dialect).await;
}

/// The fixes the camera recorded for `infos`, on the camera's clock.
fn recorded_gps(files: &[(String, SegmentInfo, PathBuf, PathBuf)]) -> Vec<(i64, GpsFix)> {
    files
        .iter()
        .flat_map(|(_, info, _, telemetry)| {
            let tel: Telemetry =
                serde_json::from_slice(&std::fs::read(telemetry).expect("card")).expect("json");
            tel.gps.into_iter().map(move |g| (info.start_ms + i64::from(g.t_ms), g))
        })
        .collect()
}

/// The accelerometer samples the camera recorded for `files`, on the camera's clock.
fn recorded_accel(files: &[(String, SegmentInfo, PathBuf, PathBuf)]) -> Vec<(i64, AccelSample)> {
    files
        .iter()
        .flat_map(|(_, info, _, telemetry)| {
            let tel: Telemetry =
                serde_json::from_slice(&std::fs::read(telemetry).expect("card")).expect("json");
            tel.accel.into_iter().map(move |a| (info.start_ms + i64::from(a.t_ms), a))
        })
        .collect()
}

async fn event_files_become_one_incident_clip_with_the_cameras_gps(
    sim: dashkeep_simcam::Dialect,
    dialect: Dialect,
) {
    let options = BlackVueOptions::default();
    let world = blackvue_camera(sim, true, options).await;
    let phone = world.phone().await;
    let report = stream(&world, &phone, dialect).await;
    assert!(report.refused.is_empty(), "{dialect}: {:?}", report.refused);
    assert_eq!(report.gps_records_skipped, 0, "{dialect}");
    settle(&phone).await;

    // The camera filed the second drive's first two moments as events, front and rear:
    // one incident of the camera, one clip over the front files, cut from the phone's copies.
    let mut events: Vec<_> =
        card_files(&world).into_iter().filter(|(name, ..)| name.ends_with("_EF.mp4")).collect();
    events.sort_by_key(|(_, i, _, _)| i.start_ms);
    assert_eq!(events.len(), 2, "{dialect}");
    let span = (events[0].1.start_ms, events[1].1.start_ms + events[1].1.duration_ms);
    let (clip, t) = common::assert_one_camera_clip(&phone, span).await;

    // The camera's GPS (legacy: `.gps` side files; 1.009: inside the MP4) is in the clip's
    // sidecar, one fix a second, where the simulation drove.
    common::assert_clip_gps_recorded(&clip, &t, &recorded_gps(&events));
    let seconds_in_clip = ((clip.end_ms - clip.start_ms) / 1000) as usize;

    // The accelerometer records the camera embedded (`3gf `) are in the sidecar too, each
    // the recorded sample within the records' resolution (1/128 g).
    assert!(t.accel.len() >= seconds_in_clip * 90, "{} samples", t.accel.len());
    assert_eq!(t.accel_hz, 100);
    let samples = recorded_accel(&events);
    for a in t.accel.iter().step_by(37) {
        let at = t.start_ms + i64::from(a.t_ms);
        let (_, truth) = samples.iter().find(|(t, _)| *t == at).expect("a sample it made");
        for (got, want) in [(a.ax, truth.ax), (a.ay, truth.ay), (a.az, truth.az)] {
            assert!((got - want).abs() <= 0.04, "{a:?} {truth:?}");
        }
    }

    // Streaming again finds nothing new: no second incident, no second clip.
    stream(&world, &phone, dialect).await;
    settle(&phone).await;
    assert_eq!(phone.incidents(10).await.expect("incidents").len(), 1);
    assert_eq!(phone.clips().await.expect("clips").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_files_become_one_incident_clip_with_the_cameras_gps_legacy() {
    let (sim, dialect) = DIALECTS[0];
    event_files_become_one_incident_clip_with_the_cameras_gps(sim, dialect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_files_become_one_incident_clip_with_the_cameras_gps_1009() {
    let (sim, dialect) = DIALECTS[1];
    event_files_become_one_incident_clip_with_the_cameras_gps(sim, dialect).await;
}

#[tokio::test]
async fn an_unset_clock_still_gives_ordered_drives_with_gps() {
    let options = BlackVueOptions { rear: false, clock_unset: true };
    let (sim, dialect) = DIALECTS[1];
    let world = blackvue_camera(sim, true, options).await;
    let phone = world.phone().await;
    let report = stream(&world, &phone, dialect).await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.stored, 6);
    let mut drives = phone.drives().await.expect("drives");
    drives.sort_by_key(|d| d.started_at_ms);
    assert_eq!(drives.len(), 2, "{drives:?}");
    assert!(drives[0].camera_drive_id.starts_with("F19700101_000000_NF"), "{drives:?}");
    // The GPS is timed from each file's first fix: every stored file has its fixes.
    for drive in drives {
        for segment in phone.drive_segments(drive.id).await.expect("segments") {
            let path = phone.segment_path(&segment).expect("on the phone");
            let sidecar = std::fs::read_dir(path.parent().expect("dir"))
                .expect("videos")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| {
                    p.extension().is_some_and(|e| e == "json")
                        && p.to_string_lossy().contains(&segment.camera_segment_id)
                })
                .expect("a telemetry sidecar");
            let t: Telemetry =
                serde_json::from_slice(&std::fs::read(sidecar).expect("sidecar")).expect("json");
            assert!(t.gps.len() >= 9, "{}: {} fixes", segment.camera_segment_id, t.gps.len());
            assert_eq!(t.gps[0].t_ms, 0);
            assert!(
                t.accel.len() >= 900,
                "{}: {} samples",
                segment.camera_segment_id,
                t.accel.len()
            );
        }
    }
}

/// A phone of `total` bytes whose free space is what the data directory leaves.
struct SmallPhone {
    total: u64,
    dir: PathBuf,
    peak: AtomicU64,
}

impl StorageProbe for SmallPhone {
    fn volume_space(&self, _: &Path) -> Result<VolumeSpace, StorageError> {
        let used: u64 = files_below(&self.dir)
            .iter()
            .filter_map(|p| std::fs::metadata(self.dir.join(p)).ok())
            .map(|m| m.len())
            .sum();
        self.peak.fetch_max(used, Ordering::Relaxed);
        Ok(VolumeSpace {
            total_bytes: self.total,
            available_bytes: self.total.saturating_sub(used),
        })
    }
}

#[tokio::test]
async fn the_loop_recorder_keeps_a_blackvue_card_within_the_quota() {
    let options = BlackVueOptions::default();
    let (sim, dialect) = DIALECTS[0];
    let world = blackvue_camera(sim, true, options).await;
    let card = card_bytes(&world);
    // A quota (half the phone) of three quarters of the card: the newest drive (front and rear,
    // kept whole while it streams) and its incident clip fit, the older drive cannot all stay.
    let total = card * 3 / 2;
    let probe = Arc::new(SmallPhone { total, dir: world.data_dir(), peak: 0.into() });
    let config = CompanionConfig {
        probe: probe.clone(),
        safety_floor: SafetyFloor { min_bytes: 0, fraction: 0.0 },
        ..world.phone_config()
    };
    let phone = Companion::open(config).await.expect("companion opens");
    let report = stream(&world, &phone, dialect).await;
    let status = phone.storage_status().await.expect("status");
    assert!(status.usage.total() <= status.budget.limit_bytes, "over quota: {status:?}");
    assert!(probe.peak.load(Ordering::Relaxed) <= total, "the phone never overflowed");
    // The newest drive (streamed first, with its event) is whole on the phone, front and rear;
    // the older drive's files are refused as older than what the quota keeps, not fatal.
    assert_eq!(report.stored, 6, "{report:?}");
    assert_eq!(report.refused.len(), 6, "{report:?}");
    assert!(
        report.refused.iter().all(|e| matches!(
            e,
            dashkeep_core::ingest::IngestError::Storage(StorageError::OlderThanKept)
        )),
        "{report:?}"
    );
    let newest = card_files(&world).iter().map(|(_, i, _, _)| i.start_ms).max().expect("files");
    // The camera's event in the newest drive still became its incident clip (cutting it may
    // evict a file of that drive the clip does not need: the quota holds the clip too).
    settle(&phone).await;
    let clips = phone.clips().await.expect("clips");
    assert_eq!(clips.len(), 1, "{clips:?}");
    assert_eq!(clips[0].state, ClipState::Ready);
    let mut on_phone = 0;
    for drive in phone.drives().await.expect("drives") {
        for s in phone.drive_segments(drive.id).await.expect("segments") {
            if s.phone_file.is_some() {
                on_phone += 1;
                assert!(newest - s.started_at_ms < 60_000, "{} is of the older drive", s.id.0);
            }
        }
    }
    assert!(on_phone >= 4, "{on_phone} files of the newest drive kept");
    let status = phone.storage_status().await.expect("status");
    assert!(status.usage.total() <= status.budget.limit_bytes, "over quota: {status:?}");
    assert!(probe.peak.load(Ordering::Relaxed) <= total, "the phone never overflowed");
}

/// A hostile 1.009 camera on loopback, speaking raw HTTP: its listing holds traversal,
/// absolute, non-ASCII and duplicate names, one file whose size is absurd and one that is not a
/// video. Returns its URL and the request lines it saw.
async fn hostile_camera() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let line =
                    String::from_utf8_lossy(&request).lines().next().unwrap_or("").to_string();
                log.lock().expect("log").push(line.clone());
                let (status, length, body): (&str, String, Vec<u8>) = if line
                    .contains("/accessible")
                {
                    let body = br#"{"accessible":"OK","message":"Access possible."}"#.to_vec();
                    ("200 OK", body.len().to_string(), body)
                } else if line.contains("/vodList") {
                    let body = br#"{"filelist":[{"filename":"../../../escape_NF.mp4"},
                        {"filename":"/etc/passwd"},{"filename":"..\\..\\20230101_115900_NF.mp4"},
                        {"filename":"20230101_115800_NF.mp4\u0000.sh"},{"filename":"\u00e9t\u00e9.mp4"},
                        {"filename":"20230101_120000_NF.mp4"},{"filename":"20230101_120100_NF.mp4"},
                        {"filename":"20230101_120100_nf.MP4"},{"filename":"20230101_120200_NF.mp4"}]}"#
                        .to_vec();
                    ("200 OK", body.len().to_string(), body)
                } else if line.contains("/20230101_120000_NF.mp4") {
                    // An absurd size: 1 PiB.
                    ("200 OK", (1u64 << 50).to_string(), Vec::new())
                } else if line.contains("/20230101_120100_NF.mp4") {
                    // Not a video at all.
                    let body = vec![0x5a; 4096];
                    (
                        "200 OK",
                        body.len().to_string(),
                        if line.starts_with("HEAD") { Vec::new() } else { body },
                    )
                } else {
                    ("404 Not Found", "0".into(), Vec::new())
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn a_hostile_blackvue_camera_gets_nothing_written_outside_the_data_directory() {
    let (url, seen) = hostile_camera().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("phone");
    let config = CompanionConfig {
        safety_floor: SafetyFloor { min_bytes: 0, fraction: 0.0 },
        retry: dashkeep_core::ingest::RetryPolicy {
            max_retries: 2,
            first_backoff: std::time::Duration::from_millis(10),
            max_backoff: std::time::Duration::from_millis(20),
        },
        ..CompanionConfig::new(&data)
    };
    let phone = Companion::open(config).await.expect("companion opens");
    let streamed = phone.stream_camera(&url).await.expect("a hostile listing is not fatal");
    assert_eq!(streamed.dialect, Dialect::BlackVue1009);
    let report = streamed.report;
    // Three names survive the listing's checks; the absurd size is never believed (the file
    // waits), the one that is not a video is refused, and nothing is stored.
    assert_eq!((report.listed, report.stored), (3, 0), "{report:?}");
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert!(
        matches!(report.refused[0], dashkeep_core::ingest::IngestError::NotAVideo { .. }),
        "{report:?}"
    );
    // No request left the card's root, the absurd file was never downloaded, and nothing
    // landed outside the data directory.
    let seen = seen.lock().expect("log").clone();
    assert!(!seen.iter().any(|l| l.starts_with("GET /20230101_120000_NF.mp4")), "{seen:?}");
    for line in &seen {
        let path = line.split(' ').nth(1).unwrap_or("");
        assert!(!path.contains("..") && !path.contains("etc") && !path.contains('%'), "{line}");
        if path != "/api/v1/status" {
            assert_eq!(path.matches('/').count(), 1, "{line}");
        }
    }
    for file in files_below(dir.path()) {
        assert!(file.starts_with("phone"), "{} written outside the data directory", file.display());
        assert!(!file.to_string_lossy().contains("escape"), "{}", file.display());
    }
    assert!(
        phone
            .drives()
            .await
            .expect("drives")
            .iter()
            .all(|d| d.camera_drive_id.starts_with("F2023"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cameras_own_g_sensor_and_its_event_files_make_one_clip() {
    // A hard brake at 60 s: the camera files the moment as events, front and rear, and its
    // accelerometer records (`3gf `) feel the brake.
    let scenario = Scenario::from_toml_str(common::BRAKE).expect("scenario");
    let world = common::vendor_world(scenario, dashkeep_simcam::Dialect::BlackVue1009).await;
    let phone = world.phone().await;
    let report = stream(&world, &phone, Dialect::BlackVue1009).await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    settle(&phone).await;

    // The detector found the brake in the camera's own accelerometer data (the front files'),
    // and it is the moment the camera filed as events: one clip, not one per lens or finder.
    let (brake, clip) = common::assert_brake_and_camera_incident_are_one_clip(&phone).await;
    assert_eq!(clip.state, ClipState::Ready);
    assert!(clip.start_ms <= brake.at_ms && brake.at_ms < clip.end_ms, "{clip:?}");
}
