//! The car's physics and the G-sensor / GPS data recorded with each segment.
//!
//! The car is integrated at 100 Hz. Longitudinal acceleration is what makes the speed change, so
//! the G-sensor and the GPS speed always agree: a speed controller follows the scenario's profile
//! (its scripted slope, plus a catch-up term limited to ±0.2 g, below the detector's lowest
//! hard-brake threshold of 0.24 g at High sensitivity), so a scenario never brakes harder than
//! its script: where the profile drops faster than 0.2 g, the car decelerates exactly as steeply
//! as scripted, and no harder. A hard brake replaces
//! the controller by a half-sine deceleration pulse of the given peak, and a collision adds a
//! sharp half-sine spike on all axes (its longitudinal part also slows the car). Turns give a
//! lateral acceleration `v·ω`. Road vibration is seeded, deterministic noise.
//!
//! The accelerometer reports specific force (gravity included): at rest on level ground a level
//! camera reads `(0, 0, +9.81)`. Axes are the camera's (see [`crate::Mount`]).

use dashkeep_core::protocol::{AccelSample, GpsFix, Telemetry};

use crate::scenario::{DriveSpec, EventKind, Mount};

/// Standard gravity, m/s².
pub(crate) const G: f64 = 9.81;
const HZ: u32 = 100;
const DT: f64 = 1.0 / HZ as f64;
const EARTH_R: f64 = 6_371_000.0;
/// The speed controller's largest correction beyond the scripted slope, m/s² (0.2 g): gentler
/// than any hard-brake threshold (0.3 g Normal, 0.24 g High), so only scripted hard brakes and
/// scripted steep slopes decelerate harder.
const CATCH_UP: f64 = 0.2 * G;

/// A tiny deterministic PRNG (xorshift64*), so telemetry is reproducible without `rand`.
#[derive(Debug, Clone)]
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> Self {
        XorShift(seed | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly standard normal (Irwin–Hall of 4 uniforms).
    fn gauss(&mut self) -> f64 {
        let s: f64 = (0..4).map(|_| self.uniform()).sum();
        (s - 2.0) * 3f64.sqrt()
    }
}

/// FNV-1a, to seed the noise from the scenario name and the drive index.
pub(crate) fn seed(name: &str, drive_index: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes().chain((drive_index as u64).to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Rotation matrix vehicle -> camera (the transpose of the mount rotation).
fn camera_from_vehicle(m: &Mount) -> [[f64; 3]; 3] {
    let (y, p, r) = (m.yaw_deg.to_radians(), m.pitch_deg.to_radians(), m.roll_deg.to_radians());
    let rz = [[y.cos(), -y.sin(), 0.0], [y.sin(), y.cos(), 0.0], [0.0, 0.0, 1.0]];
    let ry = [[p.cos(), 0.0, p.sin()], [0.0, 1.0, 0.0], [-p.sin(), 0.0, p.cos()]];
    let rx = [[1.0, 0.0, 0.0], [0.0, r.cos(), -r.sin()], [0.0, r.sin(), r.cos()]];
    let mul = |a: [[f64; 3]; 3], b: [[f64; 3]; 3]| {
        let mut c = [[0.0; 3]; 3];
        for (i, row) in c.iter_mut().enumerate() {
            for (j, cell) in row.iter_mut().enumerate() {
                *cell = (0..3).map(|k| a[i][k] * b[k][j]).sum();
            }
        }
        c
    };
    let r = mul(mul(rz, ry), rx);
    // Transpose: camera coordinates of a vehicle-frame vector.
    let mut t = [[0.0; 3]; 3];
    for (i, row) in t.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = r[j][i];
        }
    }
    t
}

/// Linear interpolation of the speed profile, held constant past its ends.
fn profile(points: &[(f64, f64)], t: f64) -> f64 {
    let Some(&(t0, v0)) = points.first() else { return 0.0 };
    if t <= t0 {
        return v0;
    }
    for w in points.windows(2) {
        let ((ta, va), (tb, vb)) = (w[0], w[1]);
        if t <= tb {
            return va + (vb - va) * (t - ta) / (tb - ta);
        }
    }
    points.last().map_or(0.0, |p| p.1)
}

fn half_sine(t: f64, at: f64, dur: f64) -> f64 {
    if t >= at && t <= at + dur { (std::f64::consts::PI * (t - at) / dur).sin() } else { 0.0 }
}

/// The state of one car during one drive, stepped forward segment by segment.
#[derive(Debug, Clone)]
pub(crate) struct DriveSim {
    drive: DriveSpec,
    rot: [[f64; 3]; 3],
    rng: XorShift,
    /// Steps of 10 ms since the drive start.
    step: u64,
    v: f64,
    heading: f64,
    lat: f64,
    lon: f64,
}

impl DriveSim {
    pub(crate) fn new(drive: &DriveSpec, mount: &Mount, seed: u64) -> Self {
        DriveSim {
            rot: camera_from_vehicle(mount),
            rng: XorShift::new(seed),
            step: 0,
            v: profile(&drive.speed, 0.0),
            heading: drive.start.heading_deg.to_radians(),
            lat: drive.start.lat,
            lon: drive.start.lon,
            drive: drive.clone(),
        }
    }

    /// Advances to `from_s` (drive time) without recording, if behind.
    fn skip_to(&mut self, from_s: u64) {
        while self.step < from_s * u64::from(HZ) {
            self.tick();
        }
    }

    /// One 10 ms step; returns (vehicle-frame specific force, speed at the start of the step).
    fn tick(&mut self) -> [f64; 3] {
        let t = self.step as f64 * DT;
        let d = &self.drive;
        // Longitudinal: a hard brake overrides the speed controller.
        let mut braking = 0.0;
        for e in d.events.iter().filter(|e| e.kind == EventKind::HardBrake) {
            braking += e.peak_g * G * half_sine(t, e.at_s, e.duration_s);
        }
        let in_brake = d
            .events
            .iter()
            .any(|e| e.kind == EventKind::HardBrake && t >= e.at_s && t <= e.at_s + e.duration_s);
        let mut a_long = if in_brake {
            -braking
        } else {
            let target = profile(&d.speed, t);
            let slope = (profile(&d.speed, t + DT) - target) / DT;
            (slope + 1.0 * (target - self.v)).clamp(slope.min(-CATCH_UP), slope.max(CATCH_UP))
        };
        // Collision spike: backwards, to the side and up.
        let mut spike = [0.0; 3];
        for e in d.events.iter().filter(|e| e.kind == EventKind::Collision) {
            let s = e.peak_g * G * half_sine(t, e.at_s, e.duration_s);
            spike = [spike[0] - 0.85 * s, spike[1] + 0.45 * s, spike[2] + 0.27 * s];
        }
        a_long += spike[0];
        if self.v + a_long * DT < 0.0 {
            a_long = -self.v / DT; // the car stops; it does not roll backwards
        }
        // Lateral: yaw rate of the turns in progress (positive = right turn).
        let omega: f64 = d
            .turns
            .iter()
            .filter(|tu| t >= tu.at_s && t < tu.at_s + tu.duration_s)
            .map(|tu| tu.deg.to_radians() / tu.duration_s)
            .sum();
        let a_lat = -self.v * omega + spike[1]; // y points left
        let moving = (self.v / 15.0).min(1.0);
        let nx = (0.02 + 0.06 * moving) * self.rng.gauss();
        let ny = (0.02 + 0.06 * moving) * self.rng.gauss();
        let nz = (0.02 + 0.25 * moving) * self.rng.gauss();
        let f = [a_long + nx, a_lat + ny, G + spike[2] + nz];
        // Integrate position with the speed at the start of the step.
        let dist = self.v * DT;
        self.lat += (dist * self.heading.cos() / EARTH_R).to_degrees();
        let coslat = self.lat.to_radians().cos().max(1e-6);
        self.lon += (dist * self.heading.sin() / (EARTH_R * coslat)).to_degrees();
        if self.lon > 180.0 {
            self.lon -= 360.0;
        } else if self.lon < -180.0 {
            self.lon += 360.0;
        }
        self.heading += omega * DT;
        self.v = (self.v + a_long * DT).max(0.0);
        self.step += 1;
        f
    }

    /// Records the telemetry of the segment `[from_s, from_s + secs)` (drive time).
    pub(crate) fn segment(&mut self, segment_id: &str, from_s: u64, secs: u32) -> Telemetry {
        self.skip_to(from_s);
        let n = u64::from(secs) * u64::from(HZ);
        let mut accel = Vec::with_capacity(n as usize);
        let mut gps = Vec::with_capacity(secs as usize);
        for i in 0..n {
            let t_ms = (i * 10) as u32;
            if i % u64::from(HZ) == 0 {
                gps.push(GpsFix { t_ms, lat: self.lat, lon: self.lon, speed_mps: self.v as f32 });
            }
            let f = self.tick();
            let r = &self.rot;
            let c = |k: usize| (r[k][0] * f[0] + r[k][1] * f[1] + r[k][2] * f[2]) as f32;
            accel.push(AccelSample { t_ms, ax: c(0), ay: c(1), az: c(2) });
        }
        Telemetry { segment_id: segment_id.to_string(), accel_hz: HZ, accel, gps }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;

    fn run(s: &Scenario) -> Vec<Telemetry> {
        let mut sim = DriveSim::new(&s.drives[0], &s.mount, seed(&s.name, 0));
        s.plan()
            .iter()
            .filter(|p| p.drive_index == 0)
            .map(|p| sim.segment(&p.id, p.drive_offset_s, p.secs))
            .collect()
    }

    #[test]
    fn demo_hard_brake_is_visible_and_consistent() {
        let mut s = Scenario::demo();
        s.mount = Mount::default();
        let t = run(&s);
        assert_eq!(t.len(), 5);
        assert_eq!(t[0].accel.len(), 6000);
        assert_eq!(t[0].gps.len(), 60);
        // Peak deceleration in segment 1 around 96 s (36 s into it) is about 0.6 g.
        let min_ax = t[1].accel.iter().map(|a| a.ax).fold(f32::MAX, f32::min);
        assert!((-6.5..-5.3).contains(&min_ax), "{min_ax}");
        let peak = t[1].accel.iter().min_by(|a, b| a.ax.total_cmp(&b.ax)).unwrap();
        assert!((35_500..36_500).contains(&peak.t_ms), "{}", peak.t_ms);
        // Everywhere else, nothing near a hard brake.
        for seg in [&t[0], &t[2], &t[3], &t[4]] {
            assert!(seg.accel.iter().all(|a| a.ax > -4.0 && a.ax < 4.0));
        }
        // Speed before the brake ~13.9, after it much lower.
        let v = |sec: usize| t[1].gps[sec].speed_mps;
        assert!((v(34) - 13.9).abs() < 0.5, "{}", v(34));
        assert!(v(37) < 8.0, "{}", v(37));
        // Stopped at 100..110 s.
        assert!(v(45) < 0.1);
        // Gravity on z at rest.
        assert!((t[0].accel[0].az - 9.81).abs() < 0.3);
    }

    #[test]
    fn mount_pitch_moves_gravity_to_x() {
        let t = run(&Scenario::demo());
        // Stopped at 105 s (45 s into segment 1).
        let a = t[1].accel[4500];
        let expect = -(8f64.to_radians().sin() * G) as f32;
        assert!((a.ax - expect).abs() < 0.2, "{}", a.ax);
        assert!((a.az - (8f64.to_radians().cos() * G) as f32).abs() < 0.2);
    }

    #[test]
    fn turn_gives_lateral_accel_and_gps_moves_east() {
        let mut s = Scenario::demo();
        s.mount = Mount::default();
        let t = run(&s);
        // Segment 1 starts at 60 s: the 90° right turn over 6 s at 13.9 m/s: -v*omega ≈ -3.6.
        let ay: f32 = t[1].accel[100..500].iter().map(|a| a.ay).sum::<f32>() / 400.0;
        assert!((ay + 3.64).abs() < 0.3, "{ay}");
        // Heading 90° (east) at first: longitude grows, latitude stays.
        let (g0, g1) = (t[0].gps[20], t[0].gps[50]);
        assert!(g1.lon > g0.lon && (g1.lat - g0.lat).abs() < 1e-6);
    }

    #[test]
    fn the_car_never_brakes_harder_than_scripted() {
        // A stop scripted over 2 s (1 g), a hard brake event on a flat profile (the car then
        // lags the profile and catches up), and a gentle slowdown: outside the hard brake, the
        // deceleration never exceeds the scripted slope or the 0.2 g catch-up, whichever is
        // steeper. The old controller braked at 0.36 g for seconds after the scripted stop.
        let text = r#"
name = "steep"
start_ms = 0
[[drive]]
at_s = 0
duration_s = 120
start = { lat = 1.0, lon = 1.0 }
speed = [[0, 20.0], [20, 20.0], [22, 0.0], [30, 0.0], [40, 25.0], [80, 25.0], [100, 15.0], [120, 15.0]]
events = [{ kind = "hard_brake", at_s = 60, peak_g = 0.5, duration_s = 1.5 }]
"#;
        let s = Scenario::from_toml_str(text).unwrap();
        let d = &s.drives[0];
        let mut sim = DriveSim::new(d, &Mount::default(), 1);
        let noise = 0.5; // road vibration on x is at most ~0.1 m/s² (σ); 0.5 is five σ
        while sim.step < 120 * u64::from(HZ) {
            let t = sim.step as f64 * DT;
            let f = sim.tick();
            if (60.0..=61.5).contains(&t) {
                continue;
            }
            let slope = (profile(&d.speed, t + DT) - profile(&d.speed, t)) / DT;
            let limit = slope.min(-CATCH_UP);
            assert!(f[0] >= limit - noise, "t {t:.2}: {:.2} m/s² beyond {limit:.2}", f[0]);
        }
    }

    #[test]
    fn deterministic() {
        let s = Scenario::demo();
        assert_eq!(run(&s), run(&s));
    }

    #[test]
    fn collision_spike() {
        let text = r#"
name = "c"
start_ms = 0
[[drive]]
at_s = 0
duration_s = 60
start = { lat = 1.0, lon = 1.0 }
speed = [[0, 10.0], [60, 10.0]]
events = [{ kind = "collision", at_s = 30, peak_g = 4.0, duration_s = 0.1 }]
"#;
        let s = Scenario::from_toml_str(text).unwrap();
        let t = run(&s);
        let peak = t[0]
            .accel
            .iter()
            .map(|a| ((a.ax * a.ax + a.ay * a.ay + (a.az - 9.81).powi(2)) as f64).sqrt())
            .fold(0.0, f64::max);
        assert!((3.5 * G..4.3 * G).contains(&peak), "{peak}");
    }
}
