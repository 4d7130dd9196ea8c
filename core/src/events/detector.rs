//! The streaming detector: per-sample gravity, horizontal acceleration, forward axis, and the
//! hard-brake and collision state machines.

use std::collections::VecDeque;

use super::math::{V3, add, alpha, cross, dot, lerp, norm, reject, rotate, scale, unit};
use super::orientation::{AxisInput, Frame, Gravity, Orientation};
use super::vibration::{self, Verdict, Vibration};
use super::{DetectedEvent, EventKind, G, MotionSample, MotionSource, Sensitivity};

/// Normal hard-brake threshold: smoothed deceleration, in g.
const BRAKE_G: f64 = 0.30;
/// Minimum time the deceleration stays above the threshold, seconds.
const BRAKE_MIN_S: f64 = 0.4;
/// A brake ends when the deceleration falls below this fraction of the threshold.
const BRAKE_RELEASE: f64 = 0.7;
/// A brake is cut into pieces no longer than this (a stuck signal must not hold memory).
const BRAKE_MAX_S: f64 = 10.0;
/// After a hard brake, no new one starts for this long, seconds.
const BRAKE_COOLDOWN_S: f64 = 3.0;
/// Deceleration must exceed the lateral acceleration by this factor (within ~40° of backward).
const BRAKE_DIRECTION_RATIO: f64 = 1.2;
/// With a gyroscope, a hard brake needs the smoothed yaw rate below this (rad/s, ≈ 7°/s): the car
/// goes straight. Turns and lane changes on real drives run at 0.15–1.5 rad/s.
const MAX_BRAKE_YAW: f64 = 0.12;
/// With a gyroscope, the acceleration must point within ±72° of backward (cos 72° ≈ 0.3) when
/// the forward axis is known: a sign check that tolerates a coarse axis.
const SIGN_CONE_COS: f64 = 0.3;
/// The yaw rate's peak-hold decays with this time constant (s), so the tail of a turn, when the
/// car straightens and the driver speeds up out of it, still counts as turning.
const YAW_ENVELOPE_TAU: f64 = 1.0;
/// Time constant of the smoothing applied before the hard-brake test, seconds.
const BRAKE_SMOOTH_TAU: f64 = 0.15;
/// Time constant of the smoothing of axis evidence and of the yaw rate, seconds.
const AXIS_SMOOTH_TAU: f64 = 0.4;
/// Normal collision threshold: horizontal acceleration, gravity removed, in g.
const COLLISION_G: f64 = 3.0;
/// A collision ends after this long below half its threshold, seconds.
const COLLISION_QUIET_S: f64 = 1.0;
/// After a collision, spikes within this many seconds belong to the same incident.
const COLLISION_COOLDOWN_S: f64 = 5.0;
/// A hard brake whose span, widened by this many seconds, holds a collision onset is dropped.
const SUPPRESS_S: f64 = 3.0;
/// Gaps longer than this (seconds) restart the smoothing instead of bridging it.
const MAX_GAP_S: f64 = 1.0;
/// Gyro bias tracking: time constant (s) and the largest rate (rad/s) taken as "straight".
const YAW_BIAS_TAU: f64 = 60.0;
const YAW_BIAS_BAND: f64 = 0.03;
/// Hard brakes seen before the forward axis was known, kept until it is (their sign decides).
const MAX_UNSIGNED: usize = 16;
/// Turn evidence (≈ seconds of clear turning) after an unsigned brake that decides its sign, and
/// the consistency that evidence needs.
const LOCAL_WEIGHT: f64 = 1.0;
const LOCAL_CONSISTENCY: f64 = 0.7;
/// Yaw rate (rad/s) and horizontal acceleration (m/s²) of a clear turn (as the orientation's).
const TURN_YAW: f64 = 0.12;
const TURN_ACCEL: f64 = 1.0;
/// Road vibration decides a straight-line event's sign when after/before (its RMS after the
/// event over its RMS before) is ≥ this factor (faster: an acceleration) or ≤ its inverse
/// (slower: a brake); in between it says nothing. Chosen on physics, symmetric in log scale (see
/// `docs/events.md`): vibration RMS grows as √v to v, a hard brake takes 25–50% off the speed at
/// city speeds, and a 3 s median level varies by ~10–15% on a steady road.
const VIBRATION_RATIO: f64 = 1.3;
/// GPS fixes kept for locating events, and how far from an onset a fix may be (s).
const MAX_FIXES: usize = 64;
const FIX_MAX_AGE_S: f64 = 10.0;

/// The detector's tunable constants. [`Tuning::for_sensitivity`] gives the product's values
/// (see `docs/events.md` for which were chosen on which data).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// Hard-brake threshold on the smoothed deceleration, in g.
    pub brake_g: f64,
    /// Collision threshold on the horizontal acceleration, in g.
    pub collision_g: f64,
    /// With a gyroscope, the largest yaw-rate envelope (rad/s) at which a hard brake counts.
    pub max_brake_yaw: f64,
    /// The road-vibration ratio (after/before, ≥ 1) beyond which vibration signs a
    /// straight-line event: a brake at or below its inverse, an acceleration at or above it.
    pub vibration_ratio: f64,
}

impl Tuning {
    /// The product's constants at a sensitivity (thresholds scaled, the turn gate not).
    pub fn for_sensitivity(sensitivity: Sensitivity) -> Self {
        let k = sensitivity.scale();
        Self {
            brake_g: BRAKE_G * k,
            collision_g: COLLISION_G * k,
            max_brake_yaw: MAX_BRAKE_YAW,
            vibration_ratio: VIBRATION_RATIO,
        }
    }
}

/// A hard brake in progress.
#[derive(Debug, Clone, Copy)]
struct Brake {
    onset: f64,
    above_s: f64,
    peak: f64,
    last_t: f64,
    /// Sum of the smoothed horizontal acceleration over its strong samples: its direction.
    dir: V3,
    /// Whether the forward axis was known (and confirmed deceleration) at every strong sample.
    signed: bool,
}

/// A strong straight-line acceleration seen while the forward axis was unknown: a hard brake
/// or a hard acceleration, told apart once the axis is learned, or once the turns that follow
/// it say where forward was (its own evidence: the yaw between the event and those turns is
/// small, so the earth-frame estimate does not need the long-memory average to be consistent).
/// Directions are kept under both frame hypotheses (see [`Frame`]): as seen (`device`), and
/// turned with the yaw since (`earth`).
#[derive(Debug, Clone, Copy)]
struct Unsigned {
    event: DetectedEvent,
    /// The road vibration's verdict, once due.
    vibration: Option<Verdict>,
    device: V3,
    earth: V3,
    /// Turn evidence of forward since the event, under each hypothesis, and its weight.
    ev_device: V3,
    ev_earth: V3,
    weight: f64,
}

impl Unsigned {
    fn new(event: DetectedEvent, dir: V3) -> Self {
        Self {
            event,
            vibration: None,
            device: dir,
            earth: dir,
            ev_device: [0.0; 3],
            ev_earth: [0.0; 3],
            weight: 0.0,
        }
    }

    /// Whether it was a deceleration, by the forward axis once known (compared in the frame of
    /// the hypothesis that learned it), else by the turns after it; `None` while neither knows.
    fn axis_sign(&self, global: Option<(V3, Frame)>, up: V3) -> Option<bool> {
        let Some((forward, frame)) = global else { return self.local_sign(up) };
        let dir = match frame {
            Frame::Device => self.device,
            Frame::Earth => self.earth,
        };
        Some(unit(reject(dir, up)).is_some_and(|d| -dot(d, forward) >= SIGN_CONE_COS))
    }

    /// Whether it was a deceleration, once its own turn evidence is enough: the hypothesis whose
    /// evidence is the more consistent decides.
    fn local_sign(&self, up: V3) -> Option<bool> {
        if self.weight < LOCAL_WEIGHT {
            return None;
        }
        let (cd, ce) = (norm(self.ev_device) / self.weight, norm(self.ev_earth) / self.weight);
        let (dir, ev, c) = if ce > cd {
            (self.earth, self.ev_earth, ce)
        } else {
            (self.device, self.ev_device, cd)
        };
        if c < LOCAL_CONSISTENCY {
            return None;
        }
        let f = unit(reject(ev, up))?;
        Some(unit(reject(dir, up)).is_some_and(|d| -dot(d, f) >= SIGN_CONE_COS))
    }
}

/// A collision in progress.
#[derive(Debug, Clone, Copy)]
struct Crash {
    onset: f64,
    peak: f64,
    last_strong: f64,
}

/// Streaming hard-brake and collision detector for one device (camera or phone).
///
/// Feed samples in time order with [`Detector::push`]; events come back once they are final
/// (a hard brake about [`SUPPRESS_S`] seconds after it ends, so that a collision in the same
/// incident can replace it). Call [`Detector::finish`] at the end of a drive. Memory is bounded:
/// the detector keeps a fixed-size state whatever the drive length.
#[derive(Debug, Clone)]
pub struct Detector {
    source: MotionSource,
    brake_thr: f64,
    collision_thr: f64,
    max_brake_yaw: f64,
    vibration_ratio: f64,
    last_t: Option<f64>,
    skipped: u64,
    gravity: Gravity,
    up: V3,
    orientation: Orientation,
    vibration: Vibration,
    ah_fast: V3,
    ah_slow: V3,
    yaw_slow: f64,
    yaw_envelope: f64,
    yaw_bias: f64,
    prev_mag: f64,
    rise_t: f64,
    brake: Option<Brake>,
    brake_cooldown_until: f64,
    crash: Option<Crash>,
    crash_cooldown_until: f64,
    /// Hard brakes awaiting release, with the road vibration's verdict once due.
    held: VecDeque<(DetectedEvent, Option<Verdict>)>,
    unsigned: VecDeque<Unsigned>,
    crashes: VecDeque<f64>,
    fixes: VecDeque<(f64, f64, f64)>,
}

impl Detector {
    /// A detector for the phone's IMU with the given sensitivity.
    pub fn new(sensitivity: Sensitivity) -> Self {
        Self::with_source(sensitivity, MotionSource::Phone)
    }

    /// A detector whose events are labelled with `source` (use `Camera` for G-sensor telemetry).
    pub fn with_source(sensitivity: Sensitivity, source: MotionSource) -> Self {
        Self::with_tuning(Tuning::for_sensitivity(sensitivity), source)
    }

    /// A detector with explicit constants: for evaluating the detector (leave-one-trip-out
    /// tuning in `core/benches/events_eval.rs`); products use [`Detector::with_source`].
    pub fn with_tuning(tuning: Tuning, source: MotionSource) -> Self {
        Self {
            source,
            brake_thr: tuning.brake_g * G,
            collision_thr: tuning.collision_g * G,
            max_brake_yaw: tuning.max_brake_yaw,
            vibration_ratio: tuning.vibration_ratio,
            last_t: None,
            skipped: 0,
            gravity: Gravity::default(),
            up: [0.0, 0.0, 1.0],
            orientation: Orientation::default(),
            vibration: Vibration::default(),
            ah_fast: [0.0; 3],
            ah_slow: [0.0; 3],
            yaw_slow: 0.0,
            yaw_envelope: 0.0,
            yaw_bias: 0.0,
            prev_mag: 0.0,
            rise_t: 0.0,
            brake: None,
            brake_cooldown_until: f64::NEG_INFINITY,
            crash: None,
            crash_cooldown_until: f64::NEG_INFINITY,
            held: VecDeque::new(),
            unsigned: VecDeque::new(),
            crashes: VecDeque::new(),
            fixes: VecDeque::new(),
        }
    }

    /// Record a GPS fix so events near it carry a location. Invalid fixes are ignored.
    pub fn push_fix(&mut self, t: f64, lat: f64, lon: f64) {
        let valid =
            t.is_finite() && (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
        if valid {
            self.fixes.push_back((t, lat, lon));
            while self.fixes.len() > MAX_FIXES {
                self.fixes.pop_front();
            }
        }
    }

    /// Feed a batch of samples (any size, in time order); returns the events that became final.
    ///
    /// Samples with a non-finite value, a negative speed, or a time not after the previous
    /// sample are skipped (see [`Detector::skipped`]), never fatal.
    pub fn push(&mut self, samples: &[MotionSample]) -> Vec<DetectedEvent> {
        let mut out = Vec::new();
        for s in samples {
            self.step(s, &mut out);
        }
        if let Some(t) = self.last_t {
            self.release_held(t, &mut out);
        }
        out.sort_by(|a, b| a.t.total_cmp(&b.t));
        out
    }

    /// End of the drive: close events in progress and return everything still pending.
    pub fn finish(&mut self) -> Vec<DetectedEvent> {
        let mut out = Vec::new();
        if let Some(c) = self.crash.take() {
            self.emit_crash(c, &mut out);
        }
        if let Some(b) = self.brake.take() {
            self.close_brake(b);
        }
        self.vibration.flush();
        self.judge_pending(f64::INFINITY);
        self.resolve_unsigned(self.up);
        self.release_held(f64::INFINITY, &mut out);
        out.sort_by(|a, b| a.t.total_cmp(&b.t));
        out
    }

    /// How many samples were skipped as invalid or out of order.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    fn step(&mut self, s: &MotionSample, out: &mut Vec<DetectedEvent>) {
        if !s.is_finite() || self.last_t.is_some_and(|p| s.t <= p) {
            self.skipped += 1;
            return;
        }
        let prev_t = self.last_t.unwrap_or(s.t);
        let dt = s.t - prev_t;
        self.last_t = Some(s.t);
        let a = [s.ax, s.ay, s.az];
        let up = self.gravity.update(a, dt.min(MAX_GAP_S));
        self.up = up;
        self.vibration.update(s.t, dt, dot(a, up), dt > MAX_GAP_S || dt <= 0.0);
        let ah = reject(a, up);
        let yaw = s.gyro.map(|g| self.yaw_rate(dot(g, up), dt));
        self.smooth(ah, yaw, dt);
        self.orientation.update(&AxisInput {
            t: s.t,
            dt: dt.min(MAX_GAP_S),
            up,
            ah: self.ah_slow,
            yaw: yaw.map(|raw| (raw, self.yaw_slow)),
            speed: s.speed_mps,
        });
        if let Some(raw) = yaw {
            self.turn_unsigned(up, raw * dt.min(MAX_GAP_S), dt.min(MAX_GAP_S));
        }
        self.judge_pending(s.t);
        self.resolve_unsigned(up);
        self.collision_step(s.t, prev_t, norm(ah), out);
        self.brake_step(s.t, dt, up, yaw.is_some());
    }

    /// Keeps the unsigned brakes' earth-frame directions fixed to the car, and adds the turn
    /// evidence of forward (`sign(yaw) · â_h × up`, as the orientation's) to each.
    fn turn_unsigned(&mut self, up: V3, angle: f64, dt: f64) {
        let turn = (self.yaw_slow.abs() >= TURN_YAW && norm(self.ah_slow) >= TURN_ACCEL)
            .then(|| unit(self.ah_slow))
            .flatten()
            .map(|inside| {
                let w = dt * ((self.yaw_slow.abs() - TURN_YAW) / 0.2).min(1.0);
                (cross(scale(inside, self.yaw_slow.signum()), up), w)
            });
        for u in &mut self.unsigned {
            u.earth = rotate(u.earth, up, angle);
            u.ev_earth = rotate(u.ev_earth, up, angle);
            if let Some((f, w)) = turn {
                u.ev_device = add(u.ev_device, scale(f, w));
                u.ev_earth = add(u.ev_earth, scale(f, w));
                u.weight += w;
            }
        }
    }

    /// Records the road vibration's verdict on each pending brake once it is due (`now`
    /// infinite at the end of a drive: decided from what is there).
    fn judge_pending(&mut self, now: f64) {
        let (vib, ratio) = (&self.vibration, self.vibration_ratio);
        let judge = |ev: &DetectedEvent, verdict: &mut Option<Verdict>| {
            if verdict.is_none() {
                *verdict = vib.verdict_due(ev.t, ev.t + ev.duration_s, ratio, now);
            }
        };
        self.held.iter_mut().for_each(|(ev, v)| judge(ev, v));
        self.unsigned.iter_mut().for_each(|u| judge(&u.event, &mut u.vibration));
    }

    /// Signs the unsigned brakes: by road vibration once its window after the event has passed,
    /// else (vibration undecided) by the forward axis once known, or by the turns after the
    /// event. Reports the decelerations and forgets the accelerations.
    fn resolve_unsigned(&mut self, up: V3) {
        if self.unsigned.is_empty() {
            return;
        }
        let global = self.orientation.forward_in(up);
        let mut pending = VecDeque::new();
        for u in std::mem::take(&mut self.unsigned) {
            let sign = match u.vibration {
                None => None,
                Some(Verdict::Slower) => Some(true),
                Some(Verdict::Faster) => Some(false),
                Some(Verdict::Undecided) => u.axis_sign(global, up),
            };
            match sign {
                Some(true) => self.held.push_back((u.event, u.vibration)),
                Some(false) => {}
                None => pending.push_back(u),
            }
        }
        self.unsigned = pending;
    }

    /// Bias-corrected yaw rate; the bias is learned while the car goes straight.
    fn yaw_rate(&mut self, raw: f64, dt: f64) -> f64 {
        if (raw - self.yaw_bias).abs() < YAW_BIAS_BAND {
            self.yaw_bias += alpha(dt, YAW_BIAS_TAU) * (raw - self.yaw_bias);
        }
        raw - self.yaw_bias
    }

    fn smooth(&mut self, ah: V3, yaw: Option<f64>, dt: f64) {
        let restart = dt > MAX_GAP_S || dt <= 0.0;
        let kf = if restart { 1.0 } else { alpha(dt, BRAKE_SMOOTH_TAU) };
        let ks = if restart { 1.0 } else { alpha(dt, AXIS_SMOOTH_TAU) };
        self.ah_fast = lerp(self.ah_fast, ah, kf);
        self.ah_slow = lerp(self.ah_slow, ah, ks);
        if let Some(w) = yaw {
            self.yaw_slow += ks * (w - self.yaw_slow);
            let decayed = self.yaw_envelope * (-dt / YAW_ENVELOPE_TAU).exp();
            self.yaw_envelope = decayed.max(self.yaw_slow.abs());
        }
    }

    /// The hard-brake test value and whether this sample may count towards a hard brake.
    ///
    /// With a gyroscope, turns are rejected by the yaw rate (a hard brake goes straight) and the
    /// forward axis, when known, only has to confirm the sign (deceleration, not acceleration):
    /// that tolerates a coarse axis. Without a gyroscope the axis must also reject turns, so the
    /// deceleration along it is tested and must dominate the lateral acceleration; until the
    /// axis is learned no sample counts (like commercial trackers' "uncalibrated" state).
    ///
    /// The third value says whether the sign was checked: with a gyroscope and no forward axis
    /// yet, a strong straight-line acceleration may be a brake or a hard acceleration, and is
    /// kept unsigned until the axis is learned (never reported as a brake on its magnitude).
    fn brake_metric(&self, up: V3, has_gyro: bool) -> (f64, bool, bool) {
        let ah = self.ah_fast;
        let forward = self.orientation.forward(up);
        if has_gyro {
            let mag = norm(ah);
            let straight = self.yaw_envelope <= self.max_brake_yaw;
            let backward = forward.is_none_or(|f| -dot(ah, f) >= SIGN_CONE_COS * mag);
            return (mag, straight && backward, forward.is_some());
        }
        match forward {
            Some(f) => {
                let decel = -dot(ah, f);
                let lateral = norm(reject(reject(ah, up), f));
                (decel, decel >= BRAKE_DIRECTION_RATIO * lateral, true)
            }
            // Uncalibrated and blind to turns: no hard brakes until the axis is learned.
            None => (norm(ah), false, true),
        }
    }

    fn brake_step(&mut self, t: f64, dt: f64, up: V3, has_gyro: bool) {
        let (d, aligned, signed) = self.brake_metric(up, has_gyro);
        if d < 0.5 * self.brake_thr {
            self.rise_t = t;
        }
        let strong = d >= self.brake_thr && aligned;
        match self.brake {
            None if strong && t >= self.brake_cooldown_until => {
                self.brake = Some(Brake {
                    onset: self.rise_t,
                    above_s: 0.0,
                    peak: d,
                    last_t: t,
                    dir: self.ah_fast,
                    signed,
                });
            }
            None => {}
            Some(mut b) => {
                if strong {
                    b.above_s += dt.min(MAX_GAP_S);
                    b.dir = add(b.dir, self.ah_fast);
                    b.signed &= signed;
                }
                b.peak = b.peak.max(d);
                let ended = d < BRAKE_RELEASE * self.brake_thr || t - b.onset > BRAKE_MAX_S;
                if ended {
                    self.brake = None;
                    self.close_brake(b);
                } else {
                    b.last_t = t;
                    self.brake = Some(b);
                }
            }
        }
    }

    fn close_brake(&mut self, b: Brake) {
        if b.above_s < BRAKE_MIN_S {
            return;
        }
        self.brake_cooldown_until = b.last_t + BRAKE_COOLDOWN_S;
        let event = self.event(EventKind::HardBrake, b.onset, b.peak, b.last_t - b.onset);
        if b.signed {
            self.held.push_back((event, None));
            return;
        }
        self.unsigned.push_back(Unsigned::new(event, b.dir));
        while self.unsigned.len() > MAX_UNSIGNED {
            self.unsigned.pop_front();
        }
    }

    fn collision_step(&mut self, t: f64, prev_t: f64, mag: f64, out: &mut Vec<DetectedEvent>) {
        let both = mag.min(self.prev_mag);
        self.prev_mag = mag;
        match self.crash {
            None if both >= self.collision_thr && t >= self.crash_cooldown_until => {
                self.crash = Some(Crash { onset: prev_t, peak: mag, last_strong: t });
                self.crashes.push_back(prev_t);
                while self.crashes.len() > 8 {
                    self.crashes.pop_front();
                }
            }
            None => {}
            Some(mut c) => {
                c.peak = c.peak.max(mag);
                if mag >= 0.5 * self.collision_thr {
                    c.last_strong = t;
                }
                if t - c.last_strong > COLLISION_QUIET_S {
                    self.crash = None;
                    self.emit_crash(c, out);
                } else {
                    self.crash = Some(c);
                }
            }
        }
    }

    fn emit_crash(&mut self, c: Crash, out: &mut Vec<DetectedEvent>) {
        self.crash_cooldown_until = c.last_strong + COLLISION_COOLDOWN_S;
        out.push(self.event(EventKind::Collision, c.onset, c.peak, c.last_strong - c.onset));
    }

    /// Emit held hard brakes that are old enough, dropping those a collision explains and
    /// those after which the road vibration clearly rose (the car sped up: not a brake, whatever
    /// the forward axis said).
    fn release_held(&mut self, now: f64, out: &mut Vec<DetectedEvent>) {
        while let Some((ev, verdict)) = self.held.front().copied() {
            let end = ev.t + ev.duration_s;
            if end + SUPPRESS_S.max(vibration::DUE_S) > now {
                break;
            }
            self.held.pop_front();
            let lo = ev.t - SUPPRESS_S;
            let crash = self.crashes.iter().any(|&c| (lo..=end + SUPPRESS_S).contains(&c));
            if !crash && verdict != Some(Verdict::Faster) {
                out.push(ev);
            }
        }
    }

    fn event(&self, kind: EventKind, t: f64, peak: f64, duration_s: f64) -> DetectedEvent {
        DetectedEvent {
            kind,
            t,
            peak_g: peak / G,
            duration_s: duration_s.max(0.0),
            source: self.source,
            location: self.location_at(t),
        }
    }

    fn location_at(&self, t: f64) -> Option<(f64, f64)> {
        self.fixes
            .iter()
            .filter(|f| (f.0 - t).abs() <= FIX_MAX_AGE_S)
            .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
            .map(|f| (f.1, f.2))
    }
}
