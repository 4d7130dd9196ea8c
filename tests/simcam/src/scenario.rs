//! Scenarios: what the car does (drives, speed, turns, G-sensor events), from TOML or built in.
//!
//! All times inside a `[[drive]]` (speed points, turns, events) are seconds since that drive's
//! start; `at_s` of a drive is seconds since the scenario start.

use std::path::Path;

use dashkeep_core::protocol::is_safe_id;
use serde::{Deserialize, Serialize};

use crate::SimError;

fn default_segment_secs() -> u32 {
    60
}

/// A scripted day of driving: the camera clock at the start, segment length, mount and drives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name, for logs (it also seeds the road vibration noise).
    pub name: String,
    /// The camera clock at scenario start, in ms since the Unix epoch.
    pub start_ms: i64,
    /// Nominal segment length in whole seconds (the last segment of a drive may be shorter).
    #[serde(default = "default_segment_secs")]
    pub segment_secs: u32,
    /// How the camera sits in the car.
    #[serde(default)]
    pub mount: Mount,
    /// The drives, in time order, not overlapping.
    #[serde(rename = "drive", default)]
    pub drives: Vec<DriveSpec>,
}

/// How the camera is mounted, in degrees. Telemetry is reported in the camera frame.
///
/// Vehicle frame: x forward, y left, z up. The camera frame is the vehicle frame rotated by
/// `Rz(yaw) · Ry(pitch) · Rx(roll)`: positive pitch tilts the lens down, positive yaw turns it
/// left, positive roll lifts its left side.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    /// Rotation about the vertical axis, degrees (positive: lens turned left).
    #[serde(default)]
    pub yaw_deg: f64,
    /// Rotation about the lateral axis, degrees (positive: lens tilted down).
    #[serde(default)]
    pub pitch_deg: f64,
    /// Rotation about the forward axis, degrees (positive: left side up).
    #[serde(default)]
    pub roll_deg: f64,
}

/// One drive: ignition on at `at_s`, off `duration_s` later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriveSpec {
    /// Ignition on, whole seconds since the scenario start.
    pub at_s: u64,
    /// Length of the drive in whole seconds.
    pub duration_s: u64,
    /// Where the car starts and which way it points.
    pub start: GeoStart,
    /// Target speed profile: `(t_s, m/s)` points, piecewise linear, held constant past the ends.
    pub speed: Vec<(f64, f64)>,
    /// Turns (heading changes) during the drive.
    #[serde(default)]
    pub turns: Vec<Turn>,
    /// G-sensor events during the drive.
    #[serde(default)]
    pub events: Vec<EventSpec>,
}

/// A position and heading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoStart {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Heading, degrees clockwise from north.
    #[serde(default)]
    pub heading_deg: f64,
}

/// A turn: the heading changes by `deg` (positive: to the right) evenly over `duration_s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// Start of the turn, seconds since the drive start.
    pub at_s: f64,
    /// Length of the turn, seconds.
    pub duration_s: f64,
    /// Heading change, degrees (positive: clockwise, i.e. a right turn).
    pub deg: f64,
}

/// What kind of G-sensor event happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The driver brakes hard: a longitudinal deceleration pulse (half sine) that slows the car.
    HardBrake,
    /// An impact: a short, sharp spike on all three axes.
    Collision,
}

/// A G-sensor event. Segments holding one are locked against loop recording.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// The kind of event.
    pub kind: EventKind,
    /// Start of the event, seconds since the drive start.
    pub at_s: f64,
    /// Peak acceleration of the event, in g (9.81 m/s²).
    pub peak_g: f64,
    /// Length of the event, seconds.
    pub duration_s: f64,
}

impl DriveSpec {
    /// Ignition off, seconds since the scenario start.
    pub fn end_s(&self) -> u64 {
        self.at_s + self.duration_s
    }
}

/// One segment the camera will record, planned from the scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedSegment {
    pub drive_index: usize,
    pub drive_id: String,
    pub id: String,
    pub index_in_drive: u32,
    /// Start, seconds since the drive start.
    pub drive_offset_s: u64,
    /// Start, seconds since the scenario start.
    pub start_s: u64,
    pub secs: u32,
    pub start_ms: i64,
    pub locked: bool,
    pub last_of_drive: bool,
}

impl PlannedSegment {
    pub fn end_s(&self) -> u64 {
        self.start_s + u64::from(self.secs)
    }
}

impl Scenario {
    /// Parses and validates a scenario from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Scenario, SimError> {
        let s: Scenario =
            toml::from_str(text).map_err(|e| SimError::Scenario(format!("bad TOML: {e}")))?;
        s.validate()?;
        Ok(s)
    }

    /// Reads, parses and validates a scenario TOML file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Scenario, SimError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| SimError::Scenario(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml_str(&text)
    }

    /// A scenario shipped in `tests/simcam/scenarios/` by name (`demo`, `calm`), embedded in the
    /// binary so that an installed `dashkeep demo --scenario calm` needs no repository.
    pub fn builtin(name: &str) -> Option<Result<Scenario, SimError>> {
        BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, text)| Self::from_toml_str(text))
    }

    /// The names [`Scenario::builtin`] knows.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// A 5-minute drive with a turn, a hard brake at 95 s, two stops, and a camera tilted 8° down.
    pub fn demo() -> Scenario {
        Scenario {
            name: "demo".into(),
            start_ms: 1_795_000_000_000,
            segment_secs: 60,
            mount: Mount { yaw_deg: 0.0, pitch_deg: 8.0, roll_deg: 0.0 },
            drives: vec![DriveSpec {
                at_s: 0,
                duration_s: 300,
                start: GeoStart { lat: 48.8566, lon: 2.3522, heading_deg: 90.0 },
                speed: vec![
                    (0.0, 0.0),
                    (15.0, 13.9),
                    (95.0, 13.9),
                    (97.0, 6.4),
                    (100.0, 0.0),
                    (110.0, 0.0),
                    (130.0, 16.7),
                    (280.0, 16.7),
                    (295.0, 0.0),
                ],
                turns: vec![Turn { at_s: 60.0, duration_s: 6.0, deg: 90.0 }],
                events: vec![EventSpec {
                    kind: EventKind::HardBrake,
                    at_s: 95.0,
                    peak_g: 0.6,
                    duration_s: 2.0,
                }],
            }],
        }
    }

    /// One uneventful drive of `minutes` minutes: gentle acceleration, cruising, two soft turns,
    /// a stop at the end. No G-sensor events.
    pub fn calm(minutes: u32) -> Scenario {
        let secs = u64::from(minutes.max(1)) * 60;
        let end = secs as f64;
        let mut speed = vec![(0.0, 0.0), (20.0, 13.9)];
        // Gentle speed changes every 40 s (at most ~0.2 m/s²).
        let mut t = 60.0;
        let mut high = true;
        while t < end - 30.0 {
            speed.push((t, if high { 16.7 } else { 13.9 }));
            high = !high;
            t += 40.0;
        }
        speed.push(((end - 20.0).max(21.0), 13.9));
        speed.push((end, 0.0));
        Scenario {
            name: format!("calm-{minutes}"),
            start_ms: 1_795_000_000_000,
            segment_secs: 60,
            mount: Mount::default(),
            drives: vec![DriveSpec {
                at_s: 0,
                duration_s: secs,
                start: GeoStart { lat: 45.764, lon: 4.8357, heading_deg: 0.0 },
                speed,
                turns: vec![
                    Turn { at_s: (end * 0.3).max(25.0), duration_s: 8.0, deg: 45.0 },
                    Turn { at_s: (end * 0.6).max(40.0), duration_s: 8.0, deg: -45.0 },
                ],
                events: vec![],
            }],
        }
    }

    /// `drives` drives of `drive_secs` seconds each, 60 s apart, with `segment_secs` segments:
    /// for loop recording tests. Drive 1 (the second, when there are two or more) has a hard
    /// brake 1 s into its first segment, so that segment and the next are locked.
    pub fn multi_drive(drives: u32, drive_secs: u64, segment_secs: u32) -> Scenario {
        let drive_secs = drive_secs.max(1);
        let d = drive_secs as f64;
        let drives = (0..u64::from(drives.max(1)))
            .map(|i| {
                let brake = i == 1;
                let mut speed = vec![(0.0, 8.0), (d, 8.0)];
                if brake {
                    // The hard brake (0.5 g half sine over 1 s) takes ~3.1 m/s off; follow it.
                    speed = vec![(0.0, 8.0), (1.0, 8.0), (2.0, 4.9), (d, 4.9)];
                }
                DriveSpec {
                    at_s: i * (drive_secs + 60),
                    duration_s: drive_secs,
                    start: GeoStart { lat: 52.52, lon: 13.405 + 0.01 * i as f64, heading_deg: 0.0 },
                    speed,
                    turns: vec![],
                    events: if brake {
                        vec![EventSpec {
                            kind: EventKind::HardBrake,
                            at_s: 1.0,
                            peak_g: 0.5,
                            duration_s: 1.0,
                        }]
                    } else {
                        vec![]
                    },
                }
            })
            .collect();
        Scenario {
            name: "multi-drive".into(),
            start_ms: 1_795_000_000_000,
            segment_secs,
            mount: Mount::default(),
            drives,
        }
    }

    /// The same scenario with another segment length (whole seconds).
    pub fn with_segment_secs(mut self, segment_secs: u32) -> Scenario {
        self.segment_secs = segment_secs;
        self
    }

    /// Checks that the scenario makes sense (times ordered, values finite and in range).
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Scenario(m));
        if self.segment_secs == 0 || self.segment_secs > 30 * 60 {
            return bad(format!("segment_secs {} is outside 1..=1800", self.segment_secs));
        }
        for a in [self.mount.yaw_deg, self.mount.pitch_deg, self.mount.roll_deg] {
            if !a.is_finite() || a.abs() > 360.0 {
                return bad(format!("mount angle {a} is not a sane angle"));
            }
        }
        let mut prev_end = 0u64;
        for (i, d) in self.drives.iter().enumerate() {
            let n = i + 1;
            if d.duration_s == 0 {
                return bad(format!("drive {n}: duration_s must be at least 1"));
            }
            if i > 0 && d.at_s < prev_end {
                return bad(format!("drive {n} starts before the previous drive ends"));
            }
            prev_end = d.end_s();
            let g = d.start;
            if !(-90.0..=90.0).contains(&g.lat)
                || !(-180.0..=180.0).contains(&g.lon)
                || !g.heading_deg.is_finite()
            {
                return bad(format!("drive {n}: bad start position"));
            }
            if d.speed.is_empty() {
                return bad(format!("drive {n}: speed needs at least one point"));
            }
            let mut last_t = f64::NEG_INFINITY;
            for &(t, v) in &d.speed {
                if !t.is_finite() || !(0.0..=100.0).contains(&v) || t <= last_t {
                    return bad(format!(
                        "drive {n}: speed point ({t}, {v}) is out of order or range"
                    ));
                }
                last_t = t;
            }
            for t in &d.turns {
                if !t.at_s.is_finite()
                    || !t.deg.is_finite()
                    || t.duration_s.is_nan()
                    || t.duration_s <= 0.0
                {
                    return bad(format!("drive {n}: bad turn {t:?}"));
                }
            }
            for e in &d.events {
                if !e.at_s.is_finite()
                    || e.at_s < 0.0
                    || e.at_s >= d.duration_s as f64
                    || !(e.peak_g > 0.0 && e.peak_g <= 50.0)
                    || !(e.duration_s > 0.0 && e.duration_s <= 10.0)
                {
                    return bad(format!("drive {n}: bad event {e:?}"));
                }
            }
        }
        let ids: Vec<String> = (0..self.drives.len()).map(|i| self.drive_id(i)).collect();
        for (i, id) in ids.iter().enumerate() {
            if !is_safe_id(id) || ids[..i].contains(id) {
                return bad(format!("drive {} gets a duplicate or unsafe id {id}", i + 1));
            }
        }
        Ok(())
    }

    /// When the last drive ends, seconds since the scenario start.
    pub fn end_s(&self) -> u64 {
        self.drives.iter().map(DriveSpec::end_s).max().unwrap_or(0)
    }

    /// The camera's id of drive `index`: `D<yyyymmdd>_<hhmmss>` of its start (UTC).
    pub fn drive_id(&self, index: usize) -> String {
        let at = self.drives.get(index).map_or(0, |d| d.at_s);
        let ms = self.start_ms.saturating_add(i64::try_from(at).unwrap_or(i64::MAX / 2) * 1000);
        format!("D{}", format_utc_compact(ms))
    }

    /// Every segment the scenario will produce, in recording order.
    pub(crate) fn plan(&self) -> Vec<PlannedSegment> {
        let seg = u64::from(self.segment_secs);
        let mut out = Vec::new();
        for (di, d) in self.drives.iter().enumerate() {
            let drive_id = self.drive_id(di);
            let n = d.duration_s.div_ceil(seg);
            for i in 0..n {
                let off = i * seg;
                let secs = seg.min(d.duration_s - off) as u32;
                let (s0, s1) = (off as f64, (off + u64::from(secs)) as f64);
                let locked = d.events.iter().any(|e| {
                    let overlaps = e.at_s < s1 && e.at_s + e.duration_s >= s0;
                    // In the previous segment, within 10 s of its end: lock this one too.
                    let just_before =
                        e.at_s < s0 && e.at_s >= s0 - seg as f64 && e.at_s >= s0 - 10.0;
                    overlaps || just_before
                });
                let start_s = d.at_s + off;
                out.push(PlannedSegment {
                    drive_index: di,
                    drive_id: drive_id.clone(),
                    id: format!("{drive_id}_S{i:04}"),
                    index_in_drive: i as u32,
                    drive_offset_s: off,
                    start_s,
                    secs,
                    start_ms: self.start_ms + start_s as i64 * 1000,
                    locked,
                    last_of_drive: i + 1 == n,
                });
            }
        }
        out
    }
}

/// Formats ms since the epoch as `yyyymmdd_hhmmss` (UTC).
fn format_utc_compact(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}_{:02}{:02}{:02}", sod / 3600, sod % 3600 / 60, sod % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(format_utc_compact(0), "19700101_000000");
        assert_eq!(format_utc_compact(1_795_000_000_000), "20261118_110640");
        assert_eq!(format_utc_compact(951_782_400_000), "20000229_000000");
    }

    #[test]
    fn builtins_validate_and_plan() {
        for s in [Scenario::demo(), Scenario::calm(3), Scenario::multi_drive(3, 10, 2)] {
            s.validate().unwrap();
            assert!(!s.plan().is_empty());
        }
        let plan = Scenario::demo().plan();
        assert_eq!(plan.len(), 5);
        assert_eq!(plan[1].id, format!("{}_S0001", Scenario::demo().drive_id(0)));
        // Hard brake at 95 s: segment 1 (60..120) is locked, and no other.
        let locked: Vec<bool> = plan.iter().map(|p| p.locked).collect();
        assert_eq!(locked, [false, true, false, false, false]);
        let m = Scenario::multi_drive(3, 10, 2).plan();
        assert_eq!(m.iter().filter(|p| p.locked).count(), 2);
    }

    #[test]
    fn last_segment_is_shorter() {
        let mut s = Scenario::calm(1);
        s.segment_secs = 25;
        let p = s.plan();
        assert_eq!(p.iter().map(|p| p.secs).collect::<Vec<_>>(), [25, 25, 10]);
        assert!(p[2].last_of_drive);
    }

    #[test]
    fn parses_toml() {
        let text = r#"
name = "commute"
start_ms = 1795000000000
segment_secs = 60
[mount]
yaw_deg = 0.0
pitch_deg = 8.0
roll_deg = 0.0
[[drive]]
at_s = 0
duration_s = 300
start = { lat = 48.8566, lon = 2.3522, heading_deg = 90.0 }
speed = [[0, 0.0], [15, 13.9], [90, 13.9], [100, 0.0], [110, 0.0], [130, 16.7], [300, 16.7]]
turns = [{ at_s = 60, duration_s = 6, deg = 90.0 }]
events = [{ kind = "hard_brake", at_s = 95, peak_g = 0.6, duration_s = 2.0 }, { kind = "collision", at_s = 200, peak_g = 4.0, duration_s = 0.1 }]
"#;
        let s = Scenario::from_toml_str(text).unwrap();
        assert_eq!(s.drives[0].events[1].kind, EventKind::Collision);
        assert_eq!(s.drives[0].speed[1], (15.0, 13.9));
        assert!(Scenario::from_toml_str("name = 1").is_err());
        let overlapping = text.replace("duration_s = 300", "duration_s = 0");
        assert!(Scenario::from_toml_str(&overlapping).is_err());
    }
}

/// The committed scenario files, by name.
const BUILTIN: [(&str, &str); 2] = [
    ("demo", include_str!("../scenarios/demo.toml")),
    ("calm", include_str!("../scenarios/calm.toml")),
];

#[cfg(test)]
mod files {
    use super::*;

    #[test]
    fn committed_scenarios_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let demo = Scenario::from_file(dir.join("demo.toml")).unwrap();
        assert_eq!(demo, Scenario::demo());
        let calm = Scenario::from_file(dir.join("calm.toml")).unwrap();
        assert_eq!(calm.drives.len(), 2);
        assert!(calm.drives.iter().all(|d| d.events.is_empty()));
        assert_eq!(Scenario::builtin("demo").unwrap().unwrap(), demo);
        assert_eq!(Scenario::builtin("calm").unwrap().unwrap(), calm);
        assert!(Scenario::builtin("nope").is_none());
    }
}
