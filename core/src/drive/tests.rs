//! The drive summary on synthetic telemetry in a real catalog file.

use super::*;
use crate::catalog::{NewEvent, PhoneFile, TelemetryFile};
use crate::protocol::{AccelSample, CameraStatus, Channel, GpsFix, SegmentInfo};
use crate::storage::{Budget, QuotaFraction, SafetyFloor, VolumeSpace, drive_overwrites};

const T0: i64 = 1_780_000_000_000;
const DEG_PER_M: f64 = 1.0 / 111_195.0;

fn status() -> CameraStatus {
    CameraStatus {
        protocol_version: 1,
        model: "m".into(),
        firmware: "f".into(),
        serial: "SIM1".into(),
        sd_capacity_bytes: 10_000_000,
        sd_used_bytes: 1_000_000,
        recording: false,
        current_drive: None,
        clock_ms: T0,
        latest_seq: 3,
    }
}

fn segment(i: u32) -> SegmentInfo {
    SegmentInfo {
        id: format!("s{i}"),
        drive_id: "d1".into(),
        seq: u64::from(i) + 1,
        index_in_drive: i,
        start_ms: T0 + i64::from(i) * 60_000,
        duration_ms: 60_000,
        size: 1_000_000,
        sha256: "a".repeat(64),
        locked: false,
        telemetry_size: 1000,
        telemetry_sha256: "b".repeat(64),
        channel: Channel::Front,
    }
}

/// A minute northbound at 15 m/s from `lat0`, fixes from second `first_fix` on, a 100 Hz
/// G-sensor with gravity along z and a 0.8 g brake at 30 s when `brake`.
fn minute(id: &str, lat0: f64, first_fix: u32, brake: bool) -> Telemetry {
    let gps = (first_fix..60)
        .map(|s| GpsFix {
            t_ms: s * 1000,
            lat: lat0 + f64::from(s) * 15.0 * DEG_PER_M,
            lon: 2.0,
            speed_mps: 15.0,
        })
        .collect();
    let accel = (0..6000u32)
        .map(|i| {
            let jolt = if brake && (3000..3050).contains(&i) { -0.8 * 9.806_65 } else { 0.0 };
            AccelSample { t_ms: i * 10, ax: jolt as f32, ay: 0.0, az: 9.81 }
        })
        .collect();
    Telemetry { segment_id: id.into(), accel_hz: 100, accel, gps }
}

struct Fixture {
    _dir: tempfile::TempDir,
    catalog: Catalog,
    layout: DataLayout,
    drive: DriveId,
}

/// Three one-minute segments: the first and last on the phone (the last without a fix for its
/// first 20 s), the middle one only on the camera; a hard brake without a position at 0:30.
async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let layout = DataLayout::new(dir.path());
    layout.create_dirs().expect("dirs");
    let catalog = Catalog::open(&layout.catalog_path()).await.expect("catalog");
    let camera = catalog.upsert_camera(status(), "http://cam".into()).await.expect("camera");
    catalog.note_camera_segments(camera, (0..3).map(segment).collect()).await.expect("note");
    let drive = catalog.drives().await.expect("drives")[0].id;
    let segments = catalog.drive_segments(drive).await.expect("segments");
    let lat2 = 48.0 + 120.0 * 15.0 * DEG_PER_M;
    for (i, telemetry) in [(0, minute("s0", 48.0, 0, true)), (2, minute("s2", lat2, 20, false))] {
        let name = format!("t{i}.json");
        std::fs::write(layout.video_path(&name), serde_json::to_vec(&telemetry).expect("json"))
            .expect("write");
        let file = TelemetryFile { name, size_bytes: 1000, accel_samples: 6000, gps_fixes: 60 };
        let video = PhoneFile { name: format!("v{i}.mp4") };
        catalog.record_phone_copy(segments[i].id, video, file).await.expect("phone copy");
    }
    catalog
        .insert_event(NewEvent {
            drive: Some(drive),
            kind: "hard_brake",
            at_ms: T0 + 30_000,
            peak_g: 0.8,
            duration_ms: 500,
            location: None,
            source: "camera",
        })
        .await
        .expect("event");
    Fixture { _dir: dir, catalog, layout, drive }
}

#[tokio::test]
async fn summarises_distance_speed_incidents_and_what_gps_is_missing() {
    let f = fixture().await;
    let report =
        summarize(&f.catalog, &f.layout, (None, Vec::new()), f.drive).await.expect("report");

    assert_eq!(report.duration_ms, 180_000);
    assert_eq!(report.camera_serial, "SIM1");
    // 59 s of fixes in the first minute, 39 s in the last: 98 s at 15 m/s.
    let d = report.distance_m.expect("distance");
    assert!((d - 1_470.0).abs() < 40.0, "{d}");
    assert!((report.top_speed_mps.expect("top") - 15.0).abs() < 1e-6);
    let avg = report.average_speed_mps.expect("average");
    assert!((avg - 15.0).abs() < 0.6, "{avg}");
    assert_eq!(report.gps.fixes, 100);
    assert_eq!(
        report.gps.missing,
        vec![
            GpsGap { from_ms: 60_000, to_ms: 120_000, reason: GpsMissing::NotOnPhone },
            GpsGap { from_ms: 120_000, to_ms: 140_000, reason: GpsMissing::NoFix },
        ]
    );

    let incident = &report.incidents[0];
    assert_eq!(incident.offset_ms, 30_000);
    let place = incident.place.expect("placed from the track");
    assert!(place.from_track);
    assert!((place.lat - (48.0 + 450.0 * DEG_PER_M)).abs() < 1e-6, "{}", place.lat);

    // The brake survives downsampling at its time; the curves skip the missing minute.
    let peak = report.g_force.iter().max_by(|a, b| a.value.total_cmp(&b.value)).expect("g");
    assert!((peak.value - 0.8).abs() < 0.05, "{}", peak.value);
    assert!((peak.t_ms - 30_000).abs() <= 1_000, "{}", peak.t_ms);
    assert!(report.g_force.len() <= MAX_SERIES_POINTS);
    assert!(!report.speed.iter().any(|p| (61_000..139_000).contains(&p.t_ms)));
    assert_eq!(report.track.first().map(|p| p.t_ms), Some(0));
    assert_eq!(report.track.last().map(|p| p.t_ms), Some(179_000));

    // Without a recording rate nothing can be forecast, and the summary says so.
    let copies = &report.segments[1].copies;
    assert_eq!(
        copies,
        &vec![VideoCopy { residency: Residency::Camera, overwrite: Overwrite::Unknown }]
    );
}

#[tokio::test]
async fn each_copy_gets_its_overwrite_time_from_the_forecast() {
    let f = fixture().await;
    let volume = VolumeSpace { total_bytes: 100_000_000, available_bytes: 50_000_000 };
    let floor = SafetyFloor { min_bytes: 0, fraction: 0.0 };
    let budget = Budget::new(QuotaFraction::new(0.5).expect("q"), floor, volume, 2_002_000);
    let cameras = f.catalog.cameras().await.expect("cameras");
    let overwrites =
        drive_overwrites(&f.catalog, &budget, &cameras, f.drive).await.expect("forecast");
    let report = summarize(&f.catalog, &f.layout, overwrites, f.drive).await.expect("report");

    let hours = |seg: usize, place: Residency| {
        report.segments[seg].copies.iter().find(|c| c.residency == place).map(|c| c.overwrite)
    };
    let (Some(Overwrite::AfterHours(p0)), Some(Overwrite::AfterHours(p2))) =
        (hours(0, Residency::Phone), hours(2, Residency::Phone))
    else {
        panic!("phone copies: {:?}", report.segments);
    };
    assert!(p0 < p2, "oldest first: {p0} {p2}");
    let (Some(Overwrite::AfterHours(c0)), Some(Overwrite::AfterHours(c1))) =
        (hours(0, Residency::Camera), hours(1, Residency::Camera))
    else {
        panic!("camera copies: {:?}", report.segments);
    };
    assert!(c0 < c1);
    // 9 MB free on the card at ~60 MB an hour: the oldest segment goes after ~0.15 h.
    assert!((c0 - 9_000_000.0 / report.bytes_per_hour.expect("rate")).abs() < 1e-9, "{c0}");
    f.catalog.set_drive_locked(f.drive, true).await.expect("lock");
    let cameras = f.catalog.cameras().await.expect("cameras");
    let overwrites =
        drive_overwrites(&f.catalog, &budget, &cameras, f.drive).await.expect("forecast");
    let report = summarize(&f.catalog, &f.layout, overwrites, f.drive).await.expect("report");
    let phone = report.segments[0].copies.iter().find(|c| c.residency == Residency::Phone);
    assert_eq!(phone.map(|c| c.overwrite), Some(Overwrite::Protected));
}

#[tokio::test]
async fn a_drive_without_any_fix_has_no_distance_not_zero() {
    let f = fixture().await;
    for i in [0, 2] {
        let mut t = minute("x", 48.0, 60, false);
        t.gps.clear();
        std::fs::write(
            f.layout.video_path(&format!("t{i}.json")),
            serde_json::to_vec(&t).expect("json"),
        )
        .expect("write");
    }
    let report =
        summarize(&f.catalog, &f.layout, (None, Vec::new()), f.drive).await.expect("report");
    assert_eq!(report.distance_m, None);
    assert_eq!(report.average_speed_mps, None);
    assert_eq!(report.top_speed_mps, None);
    assert_eq!(report.gps.covered_ms, 0);
    assert_eq!(report.gps.missing.len(), 3);
    assert_eq!(report.incidents[0].place, None);

    std::fs::write(f.layout.video_path("t0.json"), b"{ not json").expect("write");
    let report =
        summarize(&f.catalog, &f.layout, (None, Vec::new()), f.drive).await.expect("report");
    assert_eq!(
        report.gps.missing[0],
        GpsGap { from_ms: 0, to_ms: 60_000, reason: GpsMissing::Unreadable }
    );
    assert!(matches!(
        summarize(&f.catalog, &f.layout, (None, Vec::new()), DriveId(42)).await,
        Err(DriveError::Catalog(CatalogError::NotFound { .. }))
    ));
}
