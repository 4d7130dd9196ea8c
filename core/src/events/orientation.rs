//! Where "up" and "forward" are in the device frame, learned while driving.
//!
//! * Up: a slow low-pass of the gravity-included acceleration, frozen while the car manoeuvres.
//! * Forward (signed), from two kinds of evidence, each a unit vector in the horizontal plane:
//!   GPS speed changes (horizontal acceleration averaged between fixes, signed by d(speed)/dt) and
//!   turns (centripetal acceleration points to the inside of the turn, which the sign of the yaw
//!   rate names: `forward = sign(yaw) · â_h × up`). Evidence is averaged under two hypotheses:
//!   the device is fixed to the car (the usual mount), or its frame is earth-fixed (platforms
//!   that rotate samples into the earth frame), in which case the car's forward axis turns with
//!   the integrated yaw rate. The more self-consistent hypothesis wins.
//! * Forward without gyro or speed: the principal axis of horizontal acceleration on straight
//!   road, signed by the skew of the longitudinal distribution (cars brake harder than they
//!   accelerate, so the long tail is deceleration).

use super::G;
use super::math::{V3, alpha, cross, dot, lerp, norm, reject, rotate, scale, unit};

/// Time constant of the gravity low-pass, seconds.
const GRAVITY_TAU: f64 = 8.0;
/// Gravity is not updated while the acceleration differs from it by more than this (m/s²).
const GRAVITY_GATE: f64 = 0.15 * G;
/// After this long without an update the gate opens anyway (the device was moved).
const GRAVITY_STUCK_S: f64 = 5.0;
/// Memory of the forward-axis evidence, seconds.
const AXIS_MEMORY_S: f64 = 240.0;
/// Yaw rate (rad/s) above which a horizontal acceleration is taken as centripetal.
const TURN_YAW: f64 = 0.12;
/// Horizontal acceleration (m/s²) needed for any axis evidence.
const MIN_EVIDENCE_ACCEL: f64 = 1.0;
/// Weight of one second of speed-change evidence relative to one second of turning.
const SPEED_WEIGHT: f64 = 4.0;
/// Evidence weight (≈ seconds of clear turning) needed before the signed axis is trusted.
const MIN_SIGNED_WEIGHT: f64 = 1.5;
/// Minimum resultant length (0..1) of the signed evidence.
const MIN_CONSISTENCY: f64 = 0.5;
/// The earth-fixed hypothesis must beat the device-fixed one by this much.
const EARTH_MARGIN: f64 = 0.1;
/// Seconds of strong straight-line acceleration needed for the unsigned principal axis.
const MIN_SCATTER_WEIGHT: f64 = 10.0;

/// Slow estimate of the gravity vector in the device frame.
#[derive(Debug, Default, Clone)]
pub(crate) struct Gravity {
    g: Option<V3>,
    elapsed: f64,
    gated_for: f64,
}

impl Gravity {
    /// Feed one gravity-included acceleration; returns the unit "up" vector.
    pub(crate) fn update(&mut self, a: V3, dt: f64) -> V3 {
        let g = match self.g {
            None => a,
            Some(g) => self.step(g, a, dt),
        };
        self.g = Some(g);
        unit(g).unwrap_or([0.0, 0.0, 1.0])
    }

    fn step(&mut self, g: V3, a: V3, dt: f64) -> V3 {
        self.elapsed += dt;
        let stuck = self.gated_for > GRAVITY_STUCK_S;
        if norm(super::math::sub(a, g)) > GRAVITY_GATE && !stuck {
            self.gated_for += dt;
            return g;
        }
        let tau = if stuck { 1.0 } else { GRAVITY_TAU.min(0.5 + self.elapsed) };
        if norm(super::math::sub(a, g)) <= GRAVITY_GATE {
            self.gated_for = 0.0;
        }
        lerp(g, a, alpha(dt, tau))
    }
}

/// Decaying average of signed forward-axis observations.
#[derive(Debug, Default, Clone)]
struct Evidence {
    sum: V3,
    weight: f64,
}

impl Evidence {
    fn decay(&mut self, k: f64) {
        self.sum = scale(self.sum, k);
        self.weight *= k;
    }

    fn observe(&mut self, f: V3, w: f64) {
        self.sum = super::math::add(self.sum, scale(f, w));
        self.weight += w;
    }

    fn consistency(&self) -> f64 {
        if self.weight > 0.0 { norm(self.sum) / self.weight } else { 0.0 }
    }
}

/// Unsigned principal axis of straight-line horizontal acceleration plus its third moment.
#[derive(Debug, Default, Clone)]
struct Scatter {
    s: [[f64; 3]; 3],
    m3: f64,
    weight: f64,
    axis: Option<V3>,
}

impl Scatter {
    fn decay(&mut self, k: f64) {
        self.s.iter_mut().flatten().for_each(|v| *v *= k);
        self.m3 *= k;
        self.weight *= k;
    }

    fn observe(&mut self, a: V3, dt: f64) {
        for (i, row) in self.s.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v += dt * a[i] * a[j];
            }
        }
        self.weight += dt;
        // One power-iteration step per sample tracks the slowly changing principal axis.
        let start = self.axis.unwrap_or(a);
        let p = [dot(self.s[0], start), dot(self.s[1], start), dot(self.s[2], start)];
        self.axis = unit(p).or(self.axis);
        if let Some(p) = self.axis {
            self.m3 += dt * dot(a, p).powi(3);
        }
    }

    /// The forward axis: the principal axis signed so that the long tail is deceleration.
    fn forward(&self, up: V3) -> Option<V3> {
        let p = unit(reject(self.axis?, up))?;
        if self.weight < MIN_SCATTER_WEIGHT {
            return None;
        }
        let sp = [dot(self.s[0], p), dot(self.s[1], p), dot(self.s[2], p)];
        let l1 = dot(p, sp);
        let trace = self.s[0][0] + self.s[1][1] + self.s[2][2];
        let elongated = l1 > 1.5 * (trace - l1).max(0.0);
        let skew = (self.m3 / self.weight) / (l1 / self.weight).powf(1.5);
        (elongated && skew.abs() > 0.3).then(|| if skew < 0.0 { p } else { scale(p, -1.0) })
    }
}

/// Which hypothesis about the device's frame the forward axis was learned under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    /// The device is fixed to the car: a direction seen earlier is still valid as it was.
    Device,
    /// The samples are in an earth-fixed frame: a direction seen earlier must be turned with
    /// the yaw integrated since, to stay fixed to the car.
    Earth,
}

/// Running estimate of the car's forward axis in the device frame.
#[derive(Debug, Default, Clone)]
pub(crate) struct Orientation {
    fixed: Evidence,
    earth: Evidence,
    scatter: Scatter,
    has_gyro: bool,
    last_speed: Option<(f64, f64)>,
    ah_sum: V3,
    ah_time: f64,
}

/// What one sample tells the orientation estimator.
pub(crate) struct AxisInput {
    pub t: f64,
    pub dt: f64,
    pub up: V3,
    /// Smoothed horizontal acceleration (m/s²).
    pub ah: V3,
    /// Bias-corrected yaw rate about up (rad/s): raw for integration, smoothed for turns.
    pub yaw: Option<(f64, f64)>,
    pub speed: Option<f64>,
}

impl Orientation {
    /// Feed one sample's evidence.
    pub(crate) fn update(&mut self, x: &AxisInput) {
        let k = (-x.dt / AXIS_MEMORY_S).exp();
        self.fixed.decay(k);
        self.earth.decay(k);
        self.scatter.decay(k);
        if let Some((raw, _)) = x.yaw {
            self.has_gyro = true;
            self.earth.sum = rotate(self.earth.sum, x.up, raw * x.dt);
        }
        self.observe_turn(x);
        self.observe_speed(x);
        self.observe_straight(x);
    }

    fn observe_turn(&mut self, x: &AxisInput) {
        let Some((_, yaw)) = x.yaw else { return };
        if yaw.abs() < TURN_YAW || norm(x.ah) < MIN_EVIDENCE_ACCEL {
            return;
        }
        let Some(inside) = unit(x.ah) else { return };
        let f = cross(scale(inside, yaw.signum()), x.up);
        let w = x.dt * ((yaw.abs() - TURN_YAW) / 0.2).min(1.0);
        self.fixed.observe(f, w);
        self.earth.observe(f, w);
    }

    fn observe_speed(&mut self, x: &AxisInput) {
        self.ah_sum = super::math::add(self.ah_sum, scale(x.ah, x.dt));
        self.ah_time += x.dt;
        let Some(v) = x.speed else { return };
        if let Some((t0, v0)) = self.last_speed {
            let span = x.t - t0;
            if (0.5..=3.0).contains(&span) && self.ah_time > 0.0 {
                self.speed_evidence((v - v0) / span, scale(self.ah_sum, 1.0 / self.ah_time), span);
            }
        }
        self.last_speed = Some((x.t, v));
        self.ah_sum = [0.0; 3];
        self.ah_time = 0.0;
    }

    fn speed_evidence(&mut self, dvdt: f64, mean_ah: V3, span: f64) {
        if dvdt.abs() < 0.5 || norm(mean_ah) < 0.5 {
            return;
        }
        let Some(dir) = unit(mean_ah) else { return };
        let f = scale(dir, dvdt.signum());
        let w = SPEED_WEIGHT * span * dvdt.abs().min(2.0);
        self.fixed.observe(f, w);
        self.earth.observe(f, w);
    }

    fn observe_straight(&mut self, x: &AxisInput) {
        let straight = x.yaw.is_none_or(|(_, w)| w.abs() < 0.08);
        if straight && norm(x.ah) >= 0.8 * MIN_EVIDENCE_ACCEL {
            self.scatter.observe(x.ah, x.dt);
        }
    }

    /// The current forward unit vector (horizontal), or `None` while it is not yet known.
    pub(crate) fn forward(&self, up: V3) -> Option<V3> {
        self.forward_in(up).map(|(f, _)| f)
    }

    /// The forward unit vector and the hypothesis it comes from: a direction observed earlier
    /// can be compared with it only in that hypothesis' frame (see [`Frame`]).
    pub(crate) fn forward_in(&self, up: V3) -> Option<(V3, Frame)> {
        let use_earth =
            self.has_gyro && self.earth.consistency() > self.fixed.consistency() + EARTH_MARGIN;
        let ev = if use_earth { &self.earth } else { &self.fixed };
        if ev.weight >= MIN_SIGNED_WEIGHT && ev.consistency() >= MIN_CONSISTENCY {
            let frame = if use_earth { Frame::Earth } else { Frame::Device };
            return unit(reject(ev.sum, up)).map(|f| (f, frame));
        }
        self.scatter.forward(up).map(|f| (f, Frame::Device))
    }
}
