//! Incidents and clips end to end: the simulated camera's scripted hard brakes and collisions are
//! detected from its telemetry, clips are cut around them, and manual clips work on any range.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{World, camera_with, phone_imu_from_card, probe_duration, settle};
use dashkeep_core::catalog::{ClipReason, ClipRecord, ClipState, Residency};
use dashkeep_core::cloud::{BackendConfig, CloudConfig, NetworkState};
use dashkeep_core::{Companion, CompanionConfig};
use dashkeep_e2e::invariants::{self, Expect};
use dashkeep_simcam::Scenario;

/// A 5-minute drive with a camera mounted askew, a hard brake, a turn and a collision.
const INCIDENTS: &str = r#"
name = "incidents"
start_ms = 1795000000000
segment_secs = 30
[mount]
yaw_deg = 25.0
pitch_deg = 6.0
roll_deg = -8.0
[[drive]]
at_s = 0
duration_s = 300
start = { lat = 48.85, lon = 2.35, heading_deg = 0.0 }
speed = [[0, 0.0], [15, 13.9], [70, 13.9], [72, 5.0], [80, 5.0], [95, 13.9], [300, 13.9]]
turns = [{ at_s = 120, duration_s = 6, deg = 90.0 }]
events = [{ kind = "hard_brake", at_s = 70, peak_g = 0.55, duration_s = 2.0 },
          { kind = "collision", at_s = 200, peak_g = 4.0, duration_s = 0.1 }]
"#;

fn incidents() -> Scenario {
    Scenario::from_toml_str(INCIDENTS).expect("scenario")
}

async fn stream_and_settle(world: &World) -> std::sync::Arc<Companion> {
    let phone = world.phone().await;
    phone.stream_now(&world.camera.base_url()).await.expect("stream now");
    settle(&phone).await;
    phone
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scripted_incident_is_found_once_and_clipped() {
    let world = camera_with(incidents(), true, 1 << 30).await;
    let phone = stream_and_settle(&world).await;
    // Clips are cut while streaming goes on: still, every segment crossed the link once.
    let card = world.camera.card();
    let served: u64 = card.iter().map(|(i, _, _)| world.camera.served_video_bytes(&i.id)).sum();
    assert_eq!(
        served,
        card.iter().map(|(i, _, _)| i.size).sum::<u64>(),
        "no segment fetched twice"
    );
    let start = incidents().start_ms;
    let mut found = phone.incidents(100).await.expect("incidents");
    found.sort_by_key(|e| e.at_ms);
    let kinds: Vec<(&str, f64)> =
        found.iter().map(|e| (e.kind.as_str(), (e.at_ms - start) as f64 / 1000.0)).collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert_eq!(kinds[0].0, "hard_brake");
    assert!((kinds[0].1 - 70.0).abs() < 1.5, "{kinds:?}");
    assert_eq!(kinds[1].0, "collision");
    assert!((kinds[1].1 - 200.0).abs() < 1.0, "{kinds:?}");
    assert!(found[0].lat.is_some(), "the incident carries a location");

    let clips = phone.clips().await.expect("clips");
    assert_eq!(clips.len(), 2, "{clips:?}");
    for (clip, event) in clips.iter().rev().zip(&found) {
        assert_eq!(clip.state, ClipState::Ready);
        assert_eq!(clip.residencies, vec![Residency::Phone]);
        assert!(
            clip.start_ms <= event.at_ms - 29_000 && clip.end_ms >= event.at_ms + 9_000,
            "{clip:?}"
        );
        let path = phone.clip_path(clip).expect("on the phone");
        let d = probe_duration(&path);
        assert!((39.0..=42.5).contains(&d), "a 40 s clip, starting at the keyframe before: {d}");
        assert_decodes(&path);
        // The clip carries its window's GPS and G-sensor data, timed from its first frame.
        let sidecar = path.with_file_name(clip.telemetry_file.as_deref().expect("telemetry"));
        let t: dashkeep_core::clips::ClipTelemetry =
            serde_json::from_slice(&std::fs::read(sidecar).expect("sidecar")).expect("json");
        assert!(
            t.accel.len() >= 3900 && t.gps.len() >= 39,
            "{} samples, {} fixes",
            t.accel.len(),
            t.gps.len()
        );
        let onset = (event.at_ms - t.start_ms) as u32;
        let peak = t
            .accel
            .iter()
            .filter(|a| a.t_ms.abs_diff(onset) < 3000)
            .map(|a| {
                let (x, y, z) = (f64::from(a.ax), f64::from(a.ay), f64::from(a.az) - 9.81);
                (x * x + y * y + z * z).sqrt()
            })
            .fold(0.0, f64::max);
        assert!(peak > 3.0, "the incident shows in the clip's G-sensor data ({peak:.1} m/s²)");
    }
    assert_eq!(
        clips.iter().find(|c| c.reason == ClipReason::Collision).map(|c| c.id),
        Some(clips[0].id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calm_drive_makes_no_incident() {
    let world = camera_with(Scenario::calm(4).with_segment_secs(30), true, 1 << 30).await;
    let phone = stream_and_settle(&world).await;
    assert!(phone.incidents(10).await.expect("incidents").is_empty());
    assert!(phone.clips().await.expect("clips").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phones_own_sensor_and_the_camera_agree_on_one_incident() {
    let world = camera_with(incidents(), true, 1 << 30).await;
    let phone = world.phone().await;
    // The phone, in a cup holder (another orientation), feels the same drive: its IMU batches
    // are the camera's telemetry seen from a different frame.
    // 90° about z: the phone lies sideways.
    let samples = phone_imu_from_card(&world, |[x, y, z]| [-y, x, z]);
    for batch in samples.chunks(500) {
        phone.push_motion_samples(batch.to_vec()).await.expect("push");
    }
    phone.stream_now(&world.camera.base_url()).await.expect("stream now");
    settle(&phone).await;
    let found = phone.incidents(100).await.expect("incidents");
    assert_eq!(found.len(), 2, "one event per incident, not two: {found:?}");
    assert!(found.iter().all(|e| e.source == "both"), "{found:?}");
    assert_eq!(phone.clips().await.expect("clips").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_clip_across_segments_and_one_fetched_back_from_the_camera() {
    let world = camera_with(Scenario::calm(3).with_segment_secs(30), true, 1 << 30).await;
    let phone = stream_and_settle(&world).await;
    let drive = phone.drives().await.expect("drives")[0].clone();

    // 20 s to 50 s crosses the boundary at 30 s.
    let clip = phone.create_clip(drive.id, 20.0, 50.0).await.expect("clip");
    assert_eq!(clip.state, ClipState::Ready, "{clip:?}");
    assert_eq!(clip.reason, ClipReason::Manual);
    let d = probe_duration(&phone.clip_path(&clip).expect("file"));
    assert!((30.0..=31.5).contains(&d), "{d}");

    // The drive is removed from the phone; a clip of it fetches just the segments it needs.
    phone.remove_from_phone(drive.id).await.expect("remove");
    let before: u64 =
        world.camera.card().iter().map(|(i, _, _)| world.camera.served_video_bytes(&i.id)).sum();
    let clip = phone.create_clip(drive.id, 100.0, 110.0).await.expect("clip");
    assert_eq!(clip.state, ClipState::Ready, "{clip:?}");
    let card = world.camera.card();
    let after: u64 = card.iter().map(|(i, _, _)| world.camera.served_video_bytes(&i.id)).sum();
    let needed = card
        .iter()
        .find(|(i, _, _)| i.index_in_drive == 3)
        .map(|(i, _, _)| i.size)
        .expect("segment 3");
    assert_eq!(after - before, needed, "only the segment holding 100-110 s was fetched");
    assert_decodes(&phone.clip_path(&clip).expect("file"));
}

fn assert_clip_is_one(clips: &[ClipRecord]) {
    assert_eq!(clips.len(), 1, "{clips:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_windows_merge_into_one_clip() {
    let world = camera_with(Scenario::calm(3).with_segment_secs(30), false, 1 << 30).await;
    let phone = world.phone().await;
    phone.refresh_camera(&world.camera.base_url()).await.ok();
    world.camera.wait_for_seq(1).await;
    phone.refresh_camera(&world.camera.base_url()).await.expect("refresh");
    let drive = phone.drives().await.expect("drives")[0].id;
    // Two overlapping manual windows before the segments reach the phone: one pending clip.
    phone.create_clip(drive, 100.0, 140.0).await.expect("clip");
    phone.create_clip(drive, 120.0, 160.0).await.expect("clip");
    assert_clip_is_one(&phone.clips().await.expect("clips"));
    world.camera.wait_for_scenario_end().await;
    phone.stream_now(&world.camera.base_url()).await.expect("stream");
    settle(&phone).await;
    let clips = phone.clips().await.expect("clips");
    assert_clip_is_one(&clips);
    let d = probe_duration(&phone.clip_path(&clips[0]).expect("file"));
    assert!((60.0..=61.5).contains(&d), "100-160 s: {d}");
}

/// The phone of `world` with a cloud in a local directory (deleting goes through the cloud
/// service, as in the app).
async fn phone_with_cloud(world: &World, store: &Path) -> std::sync::Arc<Companion> {
    let cloud = CloudConfig::new(BackendConfig::Local { root: store.into() }, "me");
    let config = CompanionConfig { cloud: Some(cloud), ..world.phone_config() };
    let phone = Companion::open(config).await.expect("companion opens");
    phone.cloud().expect("cloud").set_network(NetworkState::WIFI);
    phone
}

/// The clip videos in the phone's videos directory.
fn clip_files(world: &World) -> Vec<std::path::PathBuf> {
    let videos = world.data_dir().join("videos");
    common::files_below(&videos)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("clip_")))
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_clip_not_cut_yet_cancels_it_for_good() {
    let world = camera_with(Scenario::calm(3).with_segment_secs(30), false, 1 << 30).await;
    let store = tempfile::tempdir().expect("tempdir");
    let phone = phone_with_cloud(&world, store.path()).await;
    world.camera.wait_for_seq(1).await;
    phone.refresh_camera(&world.camera.base_url()).await.expect("refresh");
    let drive = phone.drives().await.expect("drives")[0].id;
    // A window whose segments have not reached the phone: listed, pending.
    let clip = phone.create_clip(drive, 100.0, 140.0).await.expect("clip");
    assert_eq!(clip.state, ClipState::Pending);
    assert_eq!(phone.clips().await.expect("clips").len(), 1);

    let cloud = phone.cloud().expect("cloud");
    let outcome = cloud.delete_clip(clip.id.0).await.expect("a listed clip can be deleted");
    assert!(!outcome.removed_from_phone, "it had no file yet");
    assert!(phone.clips().await.expect("clips").is_empty(), "no longer listed");

    // Its segments arrive: it is never cut, no file appears, nothing goes to the cloud.
    world.camera.wait_for_scenario_end().await;
    phone.stream_now(&world.camera.base_url()).await.expect("stream");
    settle(&phone).await;
    cloud.run_queue().await.expect("queue");
    assert!(phone.clips().await.expect("clips").is_empty());
    assert_eq!(phone.clip(clip.id).await.expect("row").state, ClipState::Deleted);
    assert!(clip_files(&world).is_empty(), "{:?}", clip_files(&world));
    assert!(common::files_below(store.path()).is_empty(), "nothing uploaded");
    phone.close().await;
    let expect = Expect { deleted_clips: [clip.id.0].into(), ..Expect::default() };
    let violations = invariants::check(&world.data_dir(), &expect);
    assert!(violations.is_empty(), "{violations:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_twice_for_one_moment_gives_one_clip() {
    let world = camera_with(Scenario::calm(3).with_segment_secs(30), true, 1 << 30).await;
    let phone = stream_and_settle(&world).await;
    let drive = phone.drives().await.expect("drives")[0].id;
    let first = phone.create_clip(drive, 20.4, 50.0).await.expect("clip");
    assert_eq!(first.state, ClipState::Ready, "{first:?}");

    // The user taps again half a second later: the clip they have, not a copy of it.
    let again = phone.create_clip(drive, 20.9, 50.5).await.expect("clip");
    assert_eq!(again, first);
    assert_eq!(phone.clips().await.expect("clips").len(), 1);
    assert_eq!(clip_files(&world).len(), 1, "one file");

    // Ten seconds on is another moment: its own clip, the first one untouched.
    let later = phone.create_clip(drive, 30.4, 60.0).await.expect("clip");
    assert_ne!(later.id, first.id);
    assert_eq!(later.state, ClipState::Ready, "{later:?}");
    assert_eq!(phone.clip(first.id).await.expect("first"), first);
    assert_eq!(clip_files(&world).len(), 2);
    phone.close().await;
    let violations = invariants::check(&world.data_dir(), &Expect::default());
    assert!(violations.is_empty(), "{violations:?}");
}

/// The camera's telemetry from the card, rotated into another frame, on the epoch time base.
fn assert_decodes(path: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clip_now_during_a_drive_waits_for_the_next_seconds() {
    // A live camera (a 10 s segment every half second) and a phone following it.
    let world =
        common::camera_at_speed(Scenario::calm(3).with_segment_secs(10), 20.0, 1 << 30).await;
    world.camera.wait_for_seq(6).await;
    let phone = world.phone().await;
    let mut events = phone.subscribe();
    let clip = phone.clip_now(&world.camera.base_url()).await.expect("clip now");
    let asked_at = world.camera.status().clock_ms;
    assert_eq!(clip.reason, ClipReason::Manual);
    assert_eq!(clip.state, ClipState::Pending, "the next 10 s are not recorded yet");
    assert!(
        clip.end_ms - clip.start_ms == 40_000 && (clip.end_ms - asked_at).abs() < 11_000,
        "{clip:?}"
    );

    phone.start_streaming(&world.camera.base_url()).await.expect("stream");
    let created = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(dashkeep_core::CompanionEvent::ClipCreated(c)) = events.recv().await {
                return c;
            }
        }
    })
    .await
    .expect("the clip is cut once its segments arrive");
    phone.stop_streaming().await;
    assert_eq!(created.id, clip.id);
    let d = probe_duration(&phone.clip_path(&created).expect("file"));
    assert!((40.0..=41.5).contains(&d), "{d}");
    assert_decodes(&phone.clip_path(&created).expect("file"));
}

/// A phone set up without a cloud (the apps' default until the user signs in) deletes its clips
/// too: only the phone held them, so the file and the sidecar go and the list is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_without_a_cloud_deletes_its_clips_too() {
    let world = camera_with(Scenario::calm(3).with_segment_secs(30), true, 1 << 30).await;
    let phone = stream_and_settle(&world).await;
    assert!(phone.cloud().is_none(), "this phone has no cloud");
    let drive = phone.drives().await.expect("drives")[0].id;
    let clip = phone.create_clip(drive, 20.0, 50.0).await.expect("clip");
    assert_eq!(clip.state, ClipState::Ready, "{clip:?}");
    assert_eq!(clip_files(&world).len(), 1);

    let outcome = phone.delete_clip(clip.id.0).await.expect("deleted without a cloud");
    assert!(outcome.removed_from_phone && outcome.removed_from_cloud, "{outcome:?}");
    assert!(phone.clips().await.expect("clips").is_empty(), "no longer listed");
    let left: Vec<_> = common::files_below(&world.data_dir().join("videos"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("clip_")))
        .collect();
    assert!(left.is_empty(), "the clip and its sidecar are gone: {left:?}");
    phone.close().await;
    let expect = Expect { deleted_clips: [clip.id.0].into(), ..Expect::default() };
    let violations = invariants::check(&world.data_dir(), &expect);
    assert!(violations.is_empty(), "{violations:?}");
}
