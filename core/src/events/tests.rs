//! Synthetic drives in arbitrary mount orientations, the CSV reader, the merger, real trips.

use std::path::PathBuf;

use super::math::{V3, rotate, unit};
use super::*;

/// One scripted manoeuvre in the car frame (x forward, y left, z up).
#[derive(Clone, Copy)]
enum Man {
    /// Longitudinal acceleration in g (negative = braking), ramped over 0.2 s.
    Long(f64),
    /// Lateral acceleration in g (positive = left turn) with the matching yaw rate.
    Turn(f64),
    /// Lane change: one lateral sine period of this amplitude in g.
    Lane(f64),
    /// Vertical spike in g (pothole, speed bump).
    Bump(f64),
    /// Horizontal impact in g along -x (a frontal collision).
    Impact(f64),
}

/// `(start, duration, manoeuvre)`.
type Script = Vec<(f64, f64, Man)>;

fn full_drive() -> Script {
    vec![
        (5.0, 8.0, Man::Long(0.15)),
        (25.0, 1.5, Man::Long(-0.6)),
        (40.0, 4.0, Man::Turn(0.35)),
        (55.0, 4.0, Man::Turn(-0.35)),
        (70.0, 3.0, Man::Lane(0.3)),
        (80.0, 0.05, Man::Bump(1.5)),
        (90.0, 4.0, Man::Long(0.2)),
        (100.0, 1.2, Man::Long(-0.5)),
        (110.0, 4.0, Man::Turn(-0.4)),
        (120.0, 0.08, Man::Impact(4.0)),
        (135.0, 1.5, Man::Long(-0.7)),
        (150.0, 0.05, Man::Bump(2.0)),
    ]
}

fn ramp(t: f64, start: f64, dur: f64) -> f64 {
    let r = 0.2_f64.min(dur / 2.0);
    ((t - start) / r).min((start + dur - t) / r).clamp(0.0, 1.0)
}

/// Car-frame specific force (gravity included) and yaw rate at `t` for speed `v`.
fn car_frame(script: &Script, t: f64, v: f64) -> (V3, f64, f64) {
    let (mut a, mut yaw, mut along) = ([0.0, 0.0, G], 0.0, 0.0);
    for &(s, d, m) in script.iter().filter(|(s, d, _)| t >= *s && t <= s + d) {
        let k = ramp(t, s, d);
        match m {
            Man::Long(g) => {
                a[0] += g * G * k;
                along += g * G * k;
            }
            Man::Turn(g) => {
                a[1] += g * G * k;
                yaw += g * G * k / v;
            }
            Man::Lane(g) => {
                let w = (std::f64::consts::TAU * (t - s) / d).sin();
                a[1] += g * G * w;
                yaw += 0.3 * g * G * w / v;
            }
            Man::Bump(g) => a[2] += g * G,
            Man::Impact(g) => a[0] -= g * G,
        }
    }
    (a, yaw, along)
}

/// Deterministic noise in [-0.5, 0.5).
fn noise(seed: &mut u64) -> f64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
}

/// Samples of a drive mounted with rotation `(axis, angle)`, ~100 Hz, uneven spacing, with no
/// road vibration beyond the sensor noise.
fn drive(
    script: &Script,
    end: f64,
    mount: (V3, f64),
    gyro: bool,
    speed: bool,
) -> Vec<MotionSample> {
    drive_on_road(script, end, mount, (gyro, speed), |_, _| 0.0)
}

/// Road vibration that grows with speed: vertical noise of amplitude 0.06 m/s² per m/s
/// (std ≈ 0.2 m/s² at 12 m/s, as on the real trips).
fn road(_t: f64, v: f64) -> f64 {
    0.06 * v
}

/// Like [`drive`], with `(gyro, speed)` sensors and a vertical road vibration whose amplitude
/// (m/s², uniform noise) is `vibration(t, speed)`.
fn drive_on_road(
    script: &Script,
    end: f64,
    mount: (V3, f64),
    (gyro, speed): (bool, bool),
    vibration: impl Fn(f64, f64) -> f64,
) -> Vec<MotionSample> {
    let axis = unit(mount.0).unwrap_or([0.0, 0.0, 1.0]);
    let rot = |v: V3| rotate(v, axis, mount.1);
    let (mut t, mut v, mut seed, mut next_fix) = (0.0, 12.0, 7u64, 0.0);
    let mut out = Vec::new();
    while t < end {
        let (a, yaw, along) = car_frame(script, t, v);
        let n = [noise(&mut seed), noise(&mut seed), noise(&mut seed)];
        // Drawn only with a vibration, so that drives without one keep their noise sequence.
        let vib = vibration(t, v);
        let z = 0.4 * n[2] + if vib > 0.0 { vib * noise(&mut seed) } else { 0.0 };
        let a = rot([a[0] + 0.4 * n[0], a[1] + 0.4 * n[1], a[2] + z]);
        let fix = speed && t >= next_fix;
        if fix {
            next_fix += 1.0;
        }
        out.push(MotionSample {
            t,
            ax: a[0],
            ay: a[1],
            az: a[2],
            gyro: gyro.then(|| rot([0.01 * n[0], 0.01 * n[1], yaw + 0.01 * n[2]])),
            speed_mps: fix.then_some(v),
        });
        let dt = 0.01 + 0.004 * noise(&mut seed);
        v = (v + along * dt).max(3.0);
        t += dt;
    }
    out
}

fn mounts() -> Vec<(V3, f64)> {
    vec![
        ([0.0, 0.0, 1.0], 0.0),
        ([1.0, 0.0, 0.0], std::f64::consts::FRAC_PI_2),
        ([0.3, -0.8, 0.5], 2.1),
        ([-0.6, 0.2, 0.77], -2.8),
        ([0.0, 1.0, 0.0], std::f64::consts::PI),
    ]
}

fn run(samples: &[MotionSample]) -> Vec<DetectedEvent> {
    let mut d = Detector::new(Sensitivity::Normal);
    let mut out = Vec::new();
    for chunk in samples.chunks(53) {
        out.extend(d.push(chunk));
    }
    out.extend(d.finish());
    out
}

fn onsets(events: &[DetectedEvent], kind: EventKind) -> Vec<f64> {
    events.iter().filter(|e| e.kind == kind).map(|e| e.t).collect()
}

fn assert_near(found: &[f64], expected: &[f64], what: &str) {
    assert_eq!(found.len(), expected.len(), "{what}: found {found:?}, expected {expected:?}");
    for (f, e) in found.iter().zip(expected) {
        assert!((f - e).abs() <= 0.5, "{what}: onset {f} not within 0.5 s of {e}");
    }
}

#[test]
fn phone_with_gyro_finds_every_brake_and_collision_in_any_mount() {
    for (mount, road) in mounts().into_iter().flat_map(|m| ROADS.map(|r| (m, r))) {
        let events = run(&drive_on_road(&full_drive(), 160.0, mount, (true, false), road));
        let what = format!("mount {mount:?}");
        assert_near(&onsets(&events, EventKind::HardBrake), &[25.0, 100.0, 135.0], &what);
        assert_near(&onsets(&events, EventKind::Collision), &[120.0], &what);
    }
}

#[test]
fn camera_without_gyro_uses_gps_speed_for_the_axis() {
    for (mount, road) in mounts().into_iter().flat_map(|m| ROADS.map(|r| (m, r))) {
        let events = run(&drive_on_road(&full_drive(), 160.0, mount, (false, true), road));
        let what = format!("mount {mount:?}");
        assert_near(&onsets(&events, EventKind::HardBrake), &[25.0, 100.0, 135.0], &what);
        assert_near(&onsets(&events, EventKind::Collision), &[120.0], &what);
        assert!(events.iter().all(|e| e.source == MotionSource::Phone));
    }
}

#[test]
fn calm_drive_and_turns_fire_nothing() {
    let turns: Script = vec![
        (10.0, 4.0, Man::Turn(0.4)),
        (20.0, 4.0, Man::Turn(-0.35)),
        (30.0, 3.0, Man::Lane(0.35)),
        (40.0, 0.05, Man::Bump(2.0)),
        (50.0, 5.0, Man::Turn(0.3)),
    ];
    for mount in mounts() {
        assert!(run(&drive(&vec![], 60.0, mount, true, true)).is_empty(), "calm {mount:?}");
        let events = run(&drive(&turns, 60.0, mount, true, false));
        assert!(events.is_empty(), "turns {mount:?}: {events:?}");
    }
}

/// Hard accelerations of 0.3, 0.4 and 0.5 g, three seconds each, starting at `at`.
fn hard_accelerations(at: f64) -> Script {
    vec![
        (at, 3.0, Man::Long(0.3)),
        (at + 15.0, 3.0, Man::Long(0.4)),
        (at + 30.0, 3.0, Man::Long(0.5)),
    ]
}

/// Roads without and with a speed-dependent vibration.
const ROADS: [fn(f64, f64) -> f64; 2] = [|_, _| 0.0, road];

#[test]
fn hard_accelerations_are_not_hard_brakes_with_the_forward_axis_unknown() {
    // The drive starts with them: no turn, no speed, nothing has told the detector where
    // forward is yet.
    for mount in mounts() {
        for (gyro, speed) in [(true, false), (false, false)] {
            for (vib, road) in ROADS.iter().enumerate() {
                let script = hard_accelerations(2.0);
                let events = run(&drive_on_road(&script, 40.0, mount, (gyro, speed), road));
                let brakes = onsets(&events, EventKind::HardBrake);
                assert!(brakes.is_empty(), "{mount:?} gyro {gyro} road {vib}: brakes {brakes:?}");
            }
        }
    }
}

#[test]
fn hard_accelerations_are_not_hard_brakes_with_the_forward_axis_known() {
    // Turns first (the gyroscope learns forward from them), or GPS speed all along.
    let mut script: Script = vec![(3.0, 4.0, Man::Turn(0.35)), (10.0, 4.0, Man::Turn(-0.35))];
    script.extend(hard_accelerations(20.0));
    for mount in mounts() {
        for (gyro, speed) in [(true, false), (true, true), (false, true)] {
            for (vib, road) in ROADS.iter().enumerate() {
                let events = run(&drive_on_road(&script, 60.0, mount, (gyro, speed), road));
                let brakes = onsets(&events, EventKind::HardBrake);
                assert!(
                    brakes.is_empty(),
                    "{mount:?} gyro {gyro} speed {speed} road {vib}: brakes at {brakes:?}"
                );
            }
        }
    }
}

/// One straight-line manoeuvre of `g` (negative: a brake) for 1.5 s, 20 s into a drive with
/// nothing else: no turn and no speed, so the forward axis stays unknown.
fn lone(g: f64) -> Script {
    vec![(20.0, 1.5, Man::Long(g))]
}

#[test]
fn road_vibration_signs_a_brake_with_the_forward_axis_unknown() {
    for mount in mounts() {
        let events = run(&drive_on_road(&lone(-0.6), 40.0, mount, (true, false), road));
        assert_near(&onsets(&events, EventKind::HardBrake), &[20.0], &format!("{mount:?}"));
        // Without a vibration model the cue says nothing: the brake stays unsigned.
        let events = run(&drive(&lone(-0.6), 40.0, mount, true, false));
        assert!(events.is_empty(), "{mount:?}, no vibration: {events:?}");
    }
}

#[test]
fn road_vibration_rising_is_not_a_brake() {
    // The same profile as an acceleration: the vibration rises with the speed.
    for mount in mounts() {
        for g in [0.3, 0.4, 0.5, 0.6] {
            let events = run(&drive_on_road(&lone(g), 40.0, mount, (true, false), road));
            assert!(events.is_empty(), "{mount:?}, {g} g: {events:?}");
        }
    }
}

#[test]
fn a_brake_at_the_end_of_a_recording_is_decided_from_what_is_there() {
    // The recording stops 2 s after the brake, before its whole window after has passed.
    for mount in mounts() {
        let events = run(&drive_on_road(&lone(-0.6), 23.5, mount, (true, false), road));
        assert_near(&onsets(&events, EventKind::HardBrake), &[20.0], &format!("{mount:?}"));
    }
}

#[test]
fn a_brake_the_axis_signs_is_vetoed_only_when_vibration_clearly_rises() {
    // Turns teach the axis, then a hard brake at 25 s: reported on a road whose vibration
    // follows the speed. If the road turns rough just as the brake ends, the vibration says
    // "faster" and vetoes it (the price of the veto; see docs/events.md, Limits).
    let script: Script = vec![
        (3.0, 4.0, Man::Turn(0.35)),
        (10.0, 4.0, Man::Turn(-0.35)),
        (25.0, 1.5, Man::Long(-0.6)),
    ];
    let rough = |t: f64, v: f64| if t > 26.5 { 1.5 } else { road(t, v) };
    for mount in mounts() {
        let events = run(&drive_on_road(&script, 40.0, mount, (true, false), road));
        assert_near(&onsets(&events, EventKind::HardBrake), &[25.0], &format!("{mount:?}"));
        let events = run(&drive_on_road(&script, 40.0, mount, (true, false), rough));
        assert!(events.is_empty(), "{mount:?}, rough after the brake: {events:?}");
    }
}

#[test]
fn a_brake_before_the_axis_is_known_is_reported_once_it_is() {
    // A hard brake 5 s into the drive, a hard acceleration, then turns that teach the axis: the
    // brake is reported (late), the acceleration is not.
    let script: Script = vec![
        (5.0, 1.5, Man::Long(-0.6)),
        (12.0, 3.0, Man::Long(0.45)),
        (25.0, 4.0, Man::Turn(0.35)),
        (35.0, 4.0, Man::Turn(-0.35)),
    ];
    for mount in mounts() {
        let events = run(&drive(&script, 60.0, mount, true, false));
        assert_near(&onsets(&events, EventKind::HardBrake), &[5.0], &format!("{mount:?}"));
    }
}

#[test]
fn collision_suppresses_the_brake_of_the_same_incident() {
    let script: Script = vec![(20.0, 2.0, Man::Long(-0.6)), (20.8, 0.08, Man::Impact(4.0))];
    let events = run(&drive(&script, 40.0, mounts()[2], true, false));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, EventKind::Collision);
}

#[test]
fn invalid_samples_are_skipped_not_fatal() {
    let mut d = Detector::new(Sensitivity::High);
    let mut s = MotionSample::accel(1.0, 0.0, 0.0, G);
    let bad = MotionSample { ax: f64::NAN, ..s };
    assert!(d.push(&[s, bad, s]).is_empty());
    s.t = 2.0;
    s.speed_mps = Some(f64::INFINITY);
    d.push(&[s]);
    assert_eq!(d.skipped(), 3);
    assert!(d.finish().is_empty());
}

#[test]
fn fixes_locate_events() {
    // The turn after the brake tells the detector where forward is, so the brake's sign.
    let script: Script = vec![(30.0, 1.5, Man::Long(-0.6)), (34.0, 4.0, Man::Turn(0.35))];
    let mut samples = drive(&script, 45.0, mounts()[3], true, false);
    samples.iter_mut().filter(|s| s.t < 1.0).for_each(|s| s.gyro = None);
    let mut d = Detector::with_source(Sensitivity::Normal, MotionSource::Camera);
    d.push_fix(29.5, 48.85, 2.35);
    d.push_fix(f64::NAN, 1.0, 1.0);
    let mut events = d.push(&samples);
    events.extend(d.finish());
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].location, Some((48.85, 2.35)));
    assert_eq!(events[0].source, MotionSource::Camera);
}

fn ev(kind: EventKind, t: f64, peak_g: f64, source: MotionSource) -> DetectedEvent {
    DetectedEvent { kind, t, peak_g, duration_s: 1.0, source, location: None }
}

#[test]
fn merger_fuses_camera_and_phone_views_of_one_incident() {
    let m = EventMerger::default();
    let merged = m.merge([
        ev(EventKind::HardBrake, 10.0, 0.5, MotionSource::Camera),
        ev(EventKind::HardBrake, 11.2, 0.6, MotionSource::Phone),
        ev(EventKind::HardBrake, 40.0, 0.4, MotionSource::Phone),
        ev(EventKind::Collision, 60.5, 3.5, MotionSource::Phone),
        ev(EventKind::HardBrake, 60.0, 0.7, MotionSource::Camera),
        ev(EventKind::Collision, 60.0, 4.1, MotionSource::Camera),
    ]);
    assert_eq!(merged.len(), 3, "{merged:?}");
    assert_eq!((merged[0].t, merged[0].peak_g, merged[0].source), (10.0, 0.6, MotionSource::Both));
    assert!((merged[0].duration_s - 2.2).abs() < 1e-9);
    assert_eq!(merged[1].source, MotionSource::Phone);
    assert_eq!((merged[2].kind, merged[2].peak_g), (EventKind::Collision, 4.1));
    assert_eq!(merged[2].source, MotionSource::Both);
}

#[test]
fn serde_names() {
    let json = serde_json::to_string(&[EventKind::HardBrake, EventKind::Collision]).ok();
    assert_eq!(json.as_deref(), Some(r#"["hard_brake","collision"]"#));
}

#[test]
fn csv_reads_any_column_order_and_optional_fields() {
    let text = "speed, az,t,ax,ay,extra\n\n12.5,9.8,0.0,0.1,0.2,x\n,9.7,0.01,0.0,0.0,y\n";
    let samples = read_csv(text.as_bytes()).unwrap_or_default();
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[0].speed_mps, Some(12.5));
    assert_eq!((samples[1].t, samples[1].az, samples[1].speed_mps), (0.01, 9.7, None));
    assert_eq!(samples[0].gyro, None);
    let events = detect_csv("t,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0\n".as_bytes(), Sensitivity::Low);
    assert!(events.is_ok_and(|e| e.is_empty()));
}

#[test]
fn csv_errors_are_typed() {
    let err =
        |text: &str| read_csv(text.as_bytes()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(matches!(read_csv("".as_bytes()), Err(EventsError::Empty)));
    assert!(
        matches!(read_csv("t,ax,ay\n".as_bytes()), Err(EventsError::MissingColumn(c)) if c == "az")
    );
    assert!(matches!(read_csv("t,ax,ay,az,gx\n".as_bytes()), Err(EventsError::PartialGyro)));
    assert!(matches!(
        read_csv("t,ax,ay,az\n0,1,2\n".as_bytes()),
        Err(EventsError::ShortRow { line: 2, found: 3, needed: 4 })
    ));
    for bad in ["abc", "NaN", "inf", "-inf", ""] {
        let text = format!("t,ax,ay,az\n0,1,{bad},3\n");
        assert!(
            matches!(read_csv(text.as_bytes()), Err(EventsError::BadNumber { line: 2, ref column, .. }) if column == "ay"),
            "{bad}: {}",
            err(&text)
        );
    }
    assert!(matches!(
        read_csv("t,ax,ay,az,speed\n0,1,2,3,-1\n".as_bytes()),
        Err(EventsError::BadNumber { .. })
    ));
    assert!(matches!(
        read_csv("t,ax,ay,az\n1,0,0,9.8\n1,0,0,9.8\n".as_bytes()),
        Err(EventsError::NonIncreasingTime { line: 3, .. })
    ));
}

fn trip(name: &str) -> Vec<DetectedEvent> {
    let path: PathBuf =
        [env!("CARGO_MANIFEST_DIR"), "../tests/data/driver-behavior", name].iter().collect();
    let file = std::fs::File::open(&path).unwrap_or_else(|e| {
        panic!(
            "real-data test needs {} (the driver-behavior data set in the repository): {e}",
            path.display()
        )
    });
    match detect_csv(file, Sensitivity::Normal) {
        Ok(events) => events,
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

#[test]
fn real_trip20_turns_raise_at_most_one_hard_brake() {
    let brakes = onsets(&trip("trip20.csv"), EventKind::HardBrake);
    assert!(brakes.len() <= 1, "false hard brakes on trip20: {brakes:?}");
}

#[test]
fn real_trip17_finds_hard_brakes_without_false_alarms() {
    let labels = [
        (141.0, 143.3),
        (151.3, 153.2),
        (165.9, 168.0),
        (220.6, 222.6),
        (234.0, 236.2),
        (248.1, 250.8),
    ];
    let brakes = onsets(&trip("trip17.csv"), EventKind::HardBrake);
    let found =
        labels.iter().filter(|(s, e)| brakes.iter().any(|&t| t >= s - 2.0 && t <= e + 2.0)).count();
    // The last three come after turns that leave the forward axis unknown, with no turn after
    // them: the road vibration, lower after each than before, signs them (docs/events.md).
    assert_eq!(found, 6, "found {found} of 6 labelled brakes; detections {brakes:?}");
    assert_eq!(brakes.len(), found, "no false alarm on trip17: {brakes:?}");
}

/// The real hard accelerations of trip17 (0.3 g and more at their peaks) are not hard brakes.
#[test]
fn real_trip17_hard_accelerations_are_not_hard_brakes() {
    let accelerations = [
        (288.0, 290.6),
        (304.6, 308.2),
        (324.8, 329.1),
        (361.0, 364.7),
        (379.6, 384.5),
        (395.7, 400.2),
    ];
    let brakes = onsets(&trip("trip17.csv"), EventKind::HardBrake);
    let wrong: Vec<f64> = brakes
        .iter()
        .copied()
        .filter(|&t| accelerations.iter().any(|(s, e)| t >= s - 2.0 && t <= e + 2.0))
        .collect();
    assert!(
        wrong.is_empty(),
        "hard accelerations reported as hard brakes at {wrong:?} (all: {brakes:?})"
    );
}
