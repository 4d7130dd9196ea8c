//! Automatic event detection from motion: hard brakes and collisions, for any mounting.
//!
//! The camera's G-sensor and the phone's IMU both deliver gravity-included acceleration in their
//! own frame, mounted in any orientation. [`Detector`] learns where "up" and "forward" are while
//! the car drives (gravity low-pass, GPS speed changes, turns seen by the gyroscope, the skew of
//! longitudinal acceleration), tells a brake from an acceleration by the road vibration (lower
//! after a brake than before it) where the forward axis cannot, and reports [`DetectedEvent`]s
//! as a stream. [`EventMerger`] fuses the camera's and the phone's reports of one incident into
//! one event. [`detect_csv`] runs the detector over a motion CSV. The method, thresholds and
//! their sources are in `docs/events.md`.

mod csv;
mod detector;
mod math;
mod merge;
mod orientation;
mod pipeline;
#[cfg(test)]
mod tests;
mod vibration;

pub use csv::{detect_csv, read_csv};
pub use detector::{Detector, Tuning};
pub use merge::EventMerger;
pub use pipeline::MotionPipeline;

use serde::{Deserialize, Serialize};

/// Standard gravity in m/s², the unit of every `g` figure in this module.
pub const G: f64 = 9.80665;

/// One motion sample from the camera's G-sensor or the phone's IMU, in the device's own frame.
///
/// GPS speed is carried on the sample (`speed_mps`) rather than fed separately so one time base
/// serves both: set it on the sample nearest each GPS fix (about 1 Hz) and leave it `None` on the
/// others. The detector uses speed changes to find the forward axis and its sign.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MotionSample {
    /// Time in seconds on any monotonic clock; must increase from sample to sample.
    pub t: f64,
    /// Acceleration along the device x axis, gravity included, in m/s².
    pub ax: f64,
    /// Acceleration along the device y axis, gravity included, in m/s².
    pub ay: f64,
    /// Acceleration along the device z axis, gravity included, in m/s².
    pub az: f64,
    /// Angular rate about the device x, y, z axes in rad/s, when the device has a gyroscope.
    pub gyro: Option<[f64; 3]>,
    /// GPS ground speed in m/s at this time, when a fix arrived with this sample.
    pub speed_mps: Option<f64>,
}

impl MotionSample {
    /// An accelerometer-only sample (no gyroscope, no speed).
    pub fn accel(t: f64, ax: f64, ay: f64, az: f64) -> Self {
        Self { t, ax, ay, az, gyro: None, speed_mps: None }
    }

    /// Whether every present value is finite (NaN and infinities are never used).
    pub fn is_finite(&self) -> bool {
        let gyro_ok = self.gyro.is_none_or(|g| g.iter().all(|v| v.is_finite()));
        let speed_ok = self.speed_mps.is_none_or(|v| v.is_finite() && v >= 0.0);
        [self.t, self.ax, self.ay, self.az].iter().all(|v| v.is_finite()) && gyro_ok && speed_ok
    }
}

/// How readily events fire: a user setting that scales every threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Only clear-cut events (thresholds × 1.25): fewer clips, fewer false alarms.
    Low,
    /// The default, tuned on real labelled drives (see `docs/events.md`).
    #[default]
    Normal,
    /// Also milder events (thresholds × 0.8): more clips, more false alarms.
    High,
}

impl Sensitivity {
    /// The factor applied to the Normal thresholds.
    pub fn scale(self) -> f64 {
        match self {
            Sensitivity::Low => 1.25,
            Sensitivity::Normal => 1.0,
            Sensitivity::High => 0.8,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A sustained strong deceleration along the car's forward axis.
    HardBrake,
    /// A very short, very strong horizontal acceleration spike (an impact).
    Collision,
}

/// Which device saw an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MotionSource {
    /// The dash cam's G-sensor.
    Camera,
    /// The phone's own IMU.
    #[default]
    Phone,
    /// Both devices, fused by [`EventMerger`].
    Both,
}

/// One detected incident, the trigger for cutting a clip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetectedEvent {
    /// What happened.
    pub kind: EventKind,
    /// Onset of the event, in the samples' time base (seconds).
    pub t: f64,
    /// Peak acceleration in g: smoothed deceleration for a hard brake, horizontal impact
    /// acceleration (gravity removed) for a collision.
    pub peak_g: f64,
    /// How long the event lasted, in seconds.
    pub duration_s: f64,
    /// Which device saw it.
    pub source: MotionSource,
    /// `(latitude, longitude)` of the GPS fix nearest the onset, when fixes were pushed with
    /// [`Detector::push_fix`]; otherwise `None` and the caller attaches a location.
    pub location: Option<(f64, f64)>,
}

/// Why motion input could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// The CSV input could not be read.
    #[error("reading motion CSV: {0}")]
    Io(#[from] std::io::Error),
    /// The CSV input has no header row.
    #[error("motion CSV is empty: expected a header row naming t,ax,ay,az")]
    Empty,
    /// A required column is absent from the header.
    #[error("motion CSV header lacks the required column {0:?}")]
    MissingColumn(String),
    /// Only some of the gyroscope columns `gx,gy,gz` are present.
    #[error("motion CSV header has only some of gx,gy,gz; give all three or none")]
    PartialGyro,
    /// A row has fewer fields than the header needs.
    #[error("line {line}: {found} fields, the header needs at least {needed}")]
    ShortRow {
        /// 1-based line number.
        line: usize,
        /// Fields found on the line.
        found: usize,
        /// Fields needed to reach every used column.
        needed: usize,
    },
    /// A field is not a finite number (text, NaN or an infinity), or a speed is negative.
    #[error("line {line}: column {column:?} holds {value:?}, not a finite number")]
    BadNumber {
        /// 1-based line number.
        line: usize,
        /// Column name from the header.
        column: String,
        /// The offending text.
        value: String,
    },
    /// Time does not increase from one row to the next.
    #[error("line {line}: time {t} does not increase (previous {prev})")]
    NonIncreasingTime {
        /// 1-based line number.
        line: usize,
        /// Time on this line.
        t: f64,
        /// Time on the previous data line.
        prev: f64,
    },
}
