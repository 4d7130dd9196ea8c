//! A drive's summary end to end: a drive streamed from the simulated camera over loopback, then
//! summarised from the phone's catalog and telemetry files.

mod common;

use std::time::Duration;

use common::camera_with;
use dashkeep_core::catalog::Residency;
use dashkeep_core::drive::{GpsGap, GpsMissing, Overwrite, distance_m};
use dashkeep_simcam::Scenario;

/// Four minutes: up to 15 m/s, a hard brake into a 40 s stop, and away again.
const STOP_AND_GO: &str = r#"
name = "stop-and-go"
start_ms = 1796000000000
segment_secs = 30
[[drive]]
at_s = 0
duration_s = 240
start = { lat = 45.76, lon = 4.83, heading_deg = 30.0 }
speed = [[0, 0.0], [10, 15.0], [100, 15.0], [110, 0.0], [150, 0.0], [160, 15.0], [240, 15.0]]
events = [{ kind = "hard_brake", at_s = 104, peak_g = 0.6, duration_s = 1.5 }]
"#;

/// The distance the speed profile integrates to (trapezoids), metres.
const PROFILE_DISTANCE_M: f64 = 75.0 + 1350.0 + 75.0 + 75.0 + 1200.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_drive_is_summarised_and_says_when_its_gps_is_gone() {
    let scenario = Scenario::from_toml_str(STOP_AND_GO).expect("scenario");
    let world = camera_with(scenario, true, 1 << 30).await;
    let phone = world.phone().await;
    phone.stream_now(&world.camera.base_url()).await.expect("stream now");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while phone.incidents(10).await.expect("incidents").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the hard brake was never detected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drive = phone.drives().await.expect("drives")[0].id;
    let report = phone.drive_summary(drive).await.expect("summary");

    assert_eq!(report.duration_ms, 240_000);
    let d = report.distance_m.expect("distance");
    assert!((d - PROFILE_DISTANCE_M).abs() / PROFILE_DISTANCE_M < 0.04, "{d} m");
    let top = report.top_speed_mps.expect("top speed");
    assert!((top - 15.0).abs() < 0.5, "{top} m/s");
    let moving = report.moving_ms.expect("moving");
    assert!((180_000..=215_000).contains(&moving), "{moving} ms moving of 240 s");
    assert!(report.gps.missing.is_empty(), "{:?}", report.gps.missing);
    assert!(report.gps.fixes >= 235, "{}", report.gps.fixes);

    assert_eq!(report.incidents.len(), 1, "{:?}", report.incidents);
    let brake = &report.incidents[0];
    assert_eq!(brake.kind, "hard_brake");
    assert!((brake.offset_ms - 104_000).abs() < 1_500, "{}", brake.offset_ms);
    assert!(brake.peak_g > 0.4, "{}", brake.peak_g);
    let place = brake.place.expect("the brake has a place");
    let nearest = report
        .track
        .iter()
        .map(|f| distance_m((f.lat, f.lon), (place.lat, place.lon)))
        .fold(f64::MAX, f64::min);
    assert!(nearest < 30.0, "the brake is on the track ({nearest} m off)");
    let g_peak = report.g_force.iter().max_by(|a, b| a.value.total_cmp(&b.value)).expect("g");
    assert!((g_peak.t_ms - 104_000).abs() < 3_000, "the g-force peak is the brake: {g_peak:?}");

    // Every segment lives on the camera and the phone, each copy with its overwrite time; the
    // camera overwrites oldest first, except the segment it locked around the brake.
    assert_eq!(report.segments.len(), 8);
    let mut last_camera = 0.0;
    let mut protected = Vec::new();
    for s in &report.segments {
        let places: Vec<Residency> = s.copies.iter().map(|c| c.residency).collect();
        assert_eq!(places, vec![Residency::Camera, Residency::Phone], "{s:?}");
        for c in &s.copies {
            match (c.residency, c.overwrite) {
                (Residency::Camera, Overwrite::Protected) => protected.push(s.offset_ms),
                (Residency::Camera, Overwrite::AfterHours(h)) => {
                    assert!(h > last_camera, "{s:?}");
                    last_camera = h;
                }
                (_, Overwrite::AfterHours(h)) => assert!(h > 0.0),
                _ => panic!("{s:?}"),
            }
        }
    }
    assert_eq!(protected, vec![90_000], "the camera locked the brake's segment");
    assert!(report.track.len() <= 1000 && report.speed.len() <= 600);

    // The phone's copy removed: the summary says the GPS is not on the phone, not zero km.
    phone.remove_from_phone(drive).await.expect("remove");
    let report = phone.drive_summary(drive).await.expect("summary");
    assert_eq!(report.distance_m, None);
    assert_eq!(report.top_speed_mps, None);
    assert_eq!(
        report.gps.missing,
        vec![GpsGap { from_ms: 0, to_ms: 240_000, reason: GpsMissing::NotOnPhone }]
    );
    assert!(report.segments.iter().all(|s| s.copies.len() == 1));
    assert!(report.incidents[0].place.is_some(), "the detector's own fix is kept");
}
