//! Shared set-up for the end-to-end tests: a simulated camera on loopback and a companion on a
//! fresh data directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dashkeep_core::ingest::RetryPolicy;
use dashkeep_core::{Companion, CompanionConfig};
use dashkeep_simcam::{Fixture, Scenario, SimCamera, SimConfig};
use tempfile::TempDir;

/// A test world: a camera, a phone, and the directory holding both.
pub struct World {
    pub dir: TempDir,
    pub camera: SimCamera,
}

/// A short drive (`minutes` of calm driving, 10 s segments) recorded before the camera serves.
pub async fn recorded_camera(minutes: u32) -> World {
    camera_with(Scenario::calm(minutes).with_segment_secs(10), true, 1 << 30).await
}

/// A camera for `scenario`; `instant` records everything before serving.
pub async fn camera_with(scenario: Scenario, instant: bool, sd_capacity: u64) -> World {
    start_camera(scenario, instant, 600.0, sd_capacity).await
}

/// A camera recording live at `speed` times real time.
pub async fn camera_at_speed(scenario: Scenario, speed: f64, sd_capacity: u64) -> World {
    start_camera(scenario, false, speed, sd_capacity).await
}

async fn start_camera(scenario: Scenario, instant: bool, speed: f64, sd_capacity: u64) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let camera = SimCamera::start(SimConfig {
        instant,
        speed,
        sd_capacity_bytes: sd_capacity,
        fixture: Fixture::Small360p,
        ..SimConfig::new(scenario, dir.path().join("sd"))
    })
    .await
    .expect("camera starts");
    World { dir, camera }
}

/// A vendor camera speaking `dialect` that recorded all of `scenario` before serving.
pub async fn vendor_world(scenario: Scenario, dialect: dashkeep_simcam::Dialect) -> World {
    world_with(scenario, |c| SimConfig { instant: true, speed: 600.0, dialect, ..c }).await
}

/// A camera on the small fixture for `scenario`, configured further by `configure`.
pub async fn world_with(
    scenario: Scenario,
    configure: impl FnOnce(SimConfig) -> SimConfig,
) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = SimConfig {
        fixture: Fixture::Small360p,
        ..SimConfig::new(scenario, dir.path().join("sd"))
    };
    let camera = SimCamera::start(configure(base)).await.expect("camera starts");
    World { dir, camera }
}

impl World {
    /// The phone's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("phone")
    }

    /// Opens the phone's companion with fast retries.
    pub async fn phone(&self) -> Arc<Companion> {
        Companion::open(self.phone_config()).await.expect("companion opens")
    }

    /// The phone's companion settings: fast retries, no free-space floor.
    pub fn phone_config(&self) -> CompanionConfig {
        CompanionConfig {
            retry: RetryPolicy {
                max_retries: 10,
                first_backoff: Duration::from_millis(20),
                max_backoff: Duration::from_millis(200),
            },
            // The phone here is the test machine's disk: its free space must not decide tests.
            safety_floor: dashkeep_core::storage::SafetyFloor { min_bytes: 0, fraction: 0.0 },
            ..CompanionConfig::new(self.data_dir())
        }
    }
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).expect("read file");
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Asserts that every segment on the camera's card is on the phone, byte-identical, and that
/// the catalog names nothing else.
pub async fn assert_phone_mirrors_card(phone: &Companion, camera: &SimCamera) {
    let card = camera.card();
    let mut on_phone = 0;
    for drive in phone.drives().await.expect("drives") {
        for segment in phone.drive_segments(drive.id).await.expect("segments") {
            let Some(path) = phone.segment_path(&segment) else { continue };
            on_phone += 1;
            let (info, video, _) = card
                .iter()
                .find(|(i, _, _)| i.id == segment.camera_segment_id)
                .unwrap_or_else(|| panic!("{} is not on the card", segment.camera_segment_id));
            assert_eq!(
                std::fs::read(&path).expect("phone copy"),
                std::fs::read(video).expect("card"),
                "segment {} differs from the camera's",
                info.id
            );
        }
    }
    assert_eq!(on_phone, card.len(), "the phone holds every segment of the card");
}

/// Asserts that every phone copy is byte-identical to the camera's file.
pub async fn assert_phone_copies_match(phone: &Companion, camera: &SimCamera) {
    let card = camera.card();
    for drive in phone.drives().await.expect("drives") {
        for segment in phone.drive_segments(drive.id).await.expect("segments") {
            let Some(path) = phone.segment_path(&segment) else { continue };
            let (_, video, _) = card
                .iter()
                .find(|(i, _, _)| i.id == segment.camera_segment_id)
                .expect("on the card");
            assert_eq!(std::fs::read(path).expect("phone"), std::fs::read(video).expect("card"));
        }
    }
}

/// Every file below `dir`, relative to it.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).expect("below").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Polls `condition` every 50 ms until it holds; fails the test after 60 s.
pub async fn wait_until<F, Fut>(mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "condition not met within 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the tests run as root (mounting a tmpfs needs it).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// A size-limited tmpfs mounted for the life of the value.
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it) on `dir`, creating it.
    pub fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).expect("mkdir");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mount tmpfs on {}", dir.display());
        Self(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Waits until the phone's background pipeline has no clip left to cut.
pub async fn settle(phone: &Companion) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        phone.cut_pending_clips().await.expect("cut");
        let clips = phone.clips().await.expect("clips");
        if clips.iter().all(|c| c.state != dashkeep_core::catalog::ClipState::Pending) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "clips still pending: {clips:?}");
    }
}

/// What the phone's own IMU would have felt in the car: the card's G-sensor data (each sample
/// turned into the phone's frame by `to_phone`) with each GPS speed on the sample before it.
pub fn phone_imu_from_card(
    world: &World,
    to_phone: impl Fn([f64; 3]) -> [f64; 3],
) -> Vec<dashkeep_core::events::MotionSample> {
    let mut card = world.camera.card();
    card.sort_by_key(|(i, _, _)| i.seq);
    let mut out = Vec::new();
    for (info, _, telemetry) in card {
        let t: dashkeep_core::protocol::Telemetry =
            serde_json::from_slice(&std::fs::read(telemetry).expect("telemetry")).expect("json");
        for a in &t.accel {
            let [x, y, z] = to_phone([f64::from(a.ax), f64::from(a.ay), f64::from(a.az)]);
            let at = (info.start_ms as f64 + f64::from(a.t_ms)) / 1000.0;
            out.push(dashkeep_core::events::MotionSample::accel(at, x, y, z));
        }
        for fix in &t.gps {
            let at = (info.start_ms as f64 + f64::from(fix.t_ms)) / 1000.0;
            if let Some(s) = out.iter_mut().rev().find(|s| s.t <= at) {
                s.speed_mps = Some(f64::from(fix.speed_mps));
            }
        }
    }
    out
}

/// The duration ffprobe reads from a video file, in seconds.
pub fn probe_duration(path: &Path) -> f64 {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe must be installed (scripts/test-all installs ffmpeg)");
    assert!(out.status.success(), "ffprobe: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a duration")
}

/// The codec ffprobe reads in a file's first video stream.
pub fn ffprobe_codec(path: &Path) -> String {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name"])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe must be installed (scripts/test-all installs ffmpeg)");
    assert!(out.status.success(), "ffprobe: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Asserts the phone holds exactly one incident, the camera's (`camera_locked`) at `span`'s start,
/// with one ready clip on the phone covering `span` (ffprobe reads it as H.264 of about the
/// span's length); returns the clip and its telemetry sidecar.
pub async fn assert_one_camera_clip(
    phone: &Companion,
    span: (i64, i64),
) -> (dashkeep_core::catalog::ClipRecord, dashkeep_core::clips::ClipTelemetry) {
    use dashkeep_core::catalog::{ClipReason, ClipState, Residency};
    let incidents = phone.incidents(10).await.expect("incidents");
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let incident = &incidents[0];
    assert_eq!((incident.kind.as_str(), incident.source.as_str()), ("camera_locked", "camera"));
    assert_eq!(incident.at_ms, span.0);
    let clips = phone.clips().await.expect("clips");
    assert_eq!(clips.len(), 1, "{clips:?}");
    let clip = clips[0].clone();
    assert_eq!((clip.reason, clip.state), (ClipReason::CameraLocked, ClipState::Ready));
    assert_eq!(clip.event_id, Some(incident.id));
    assert_eq!(clip.residencies, vec![Residency::Phone]);
    assert!(clip.start_ms <= span.0 + 2_000 && clip.end_ms >= span.1 - 500, "{clip:?} {span:?}");
    let path = phone.clip_path(&clip).expect("on the phone");
    assert_eq!(ffprobe_codec(&path), "h264");
    let seconds = probe_duration(&path);
    let wanted = (span.1 - span.0) as f64 / 1000.0;
    assert!((wanted - 2.0..=wanted + 2.0).contains(&seconds), "{seconds} s for {wanted} s");
    let sidecar = path.with_file_name(clip.telemetry_file.as_deref().expect("telemetry"));
    let t = serde_json::from_slice(&std::fs::read(sidecar).expect("sidecar")).expect("json");
    (clip, t)
}

/// Asserts a clip's sidecar has about one GPS fix a second, each one the camera recorded
/// (`recorded`: the fixes at their time on the camera's clock).
pub fn assert_clip_gps_recorded(
    clip: &dashkeep_core::catalog::ClipRecord,
    t: &dashkeep_core::clips::ClipTelemetry,
    recorded: &[(i64, dashkeep_core::protocol::GpsFix)],
) {
    let seconds_in_clip = ((clip.end_ms - clip.start_ms) / 1000) as usize;
    assert!(t.gps.len() + 1 >= seconds_in_clip, "{} fixes in {seconds_in_clip} s", t.gps.len());
    for fix in &t.gps {
        let at = t.start_ms + i64::from(fix.t_ms);
        let (_, truth) = recorded.iter().find(|(t, _)| *t == at).expect("a fix the camera made");
        assert!((fix.lat - truth.lat).abs() < 1e-5 && (fix.lon - truth.lon).abs() < 1e-5);
        assert!((fix.speed_mps - truth.speed_mps).abs() < 0.01, "{fix:?} {truth:?}");
    }
}

/// A 100 s drive in 10 s files: the car speeds up (so the phone learns which way is forward),
/// cruises, and brakes hard at 60 s; the camera locks the files around the brake.
pub const BRAKE: &str = r#"
name = "novatek-brake"
start_ms = 1795000000000
segment_secs = 10
[[drive]]
at_s = 0
duration_s = 100
start = { lat = 52.52, lon = 13.405, heading_deg = 0.0 }
speed = [[0, 0.0], [15, 13.9], [60, 13.9], [62, 5.0], [100, 5.0]]
events = [{ kind = "hard_brake", at_s = 60, peak_g = 0.55, duration_s = 2.0 }]
"#;

/// The one-moment rule with a camera's evidence: the detector found [`BRAKE`]'s hard brake (60 s
/// into the drive), the camera's own incident of that moment is recorded too, and the two make a
/// single clip. Returns the brake and that clip.
pub async fn assert_brake_and_camera_incident_are_one_clip(
    phone: &Companion,
) -> (dashkeep_core::catalog::EventRecord, dashkeep_core::catalog::ClipRecord) {
    let incidents = phone.incidents(10).await.expect("incidents");
    let brake = incidents.iter().find(|e| e.kind == "hard_brake");
    let brake = brake.unwrap_or_else(|| panic!("the detector found the brake: {incidents:?}"));
    let at_s = (brake.at_ms - 1_795_000_000_000) as f64 / 1000.0;
    assert!((at_s - 60.0).abs() < 1.5, "{brake:?}");
    assert!(incidents.iter().any(|e| e.kind == "camera_locked"), "{incidents:?}");
    let mut clips = phone.clips().await.expect("clips");
    assert_eq!(clips.len(), 1, "one moment, one clip: {clips:?}");
    (brake.clone(), clips.remove(0))
}
