//! The motion pipeline: turns what the phone receives (the camera's telemetry, segment by
//! segment, and the phone's own IMU batches) into detector input on one time base, seconds since
//! the Unix epoch, so the camera's and the phone's detections of one incident line up.

use std::collections::HashMap;

use super::{DetectedEvent, Detector, MotionSample, MotionSource, Sensitivity};
use crate::catalog::DriveId;
use crate::protocol::Telemetry;

/// Drives whose camera detectors are kept at once (older ones are finished and dropped).
const MAX_DRIVES: usize = 4;

/// Detectors for the camera's G-sensor (one per drive) and the phone's IMU.
#[derive(Debug)]
pub struct MotionPipeline {
    sensitivity: Sensitivity,
    camera: HashMap<DriveId, Detector>,
    phone: Detector,
}

impl MotionPipeline {
    /// A pipeline at `sensitivity`.
    pub fn new(sensitivity: Sensitivity) -> Self {
        Self {
            sensitivity,
            camera: HashMap::new(),
            phone: Detector::with_source(sensitivity, MotionSource::Phone),
        }
    }

    /// Feeds one segment's camera telemetry (segments of a drive in recording order) and returns
    /// the events that became final, plus the ones still pending at the segment's end (a drive
    /// may end there); the catalog merges an event reported twice.
    pub fn camera_segment(
        &mut self,
        drive: DriveId,
        segment_start_ms: i64,
        telemetry: &Telemetry,
    ) -> Vec<DetectedEvent> {
        if !self.camera.contains_key(&drive) && self.camera.len() >= MAX_DRIVES {
            self.camera.clear();
        }
        let sensitivity = self.sensitivity;
        let detector = self
            .camera
            .entry(drive)
            .or_insert_with(|| Detector::with_source(sensitivity, MotionSource::Camera));
        let base = segment_start_ms as f64 / 1000.0;
        for fix in &telemetry.gps {
            detector.push_fix(base + f64::from(fix.t_ms) / 1000.0, fix.lat, fix.lon);
        }
        let samples = camera_samples(base, telemetry);
        let mut events = detector.push(&samples);
        events.extend(detector.clone().finish());
        events
    }

    /// Feeds a batch of the phone's IMU samples (time in seconds since the Unix epoch).
    pub fn phone_samples(&mut self, samples: &[MotionSample]) -> Vec<DetectedEvent> {
        let mut events = self.phone.push(samples);
        events.extend(self.phone.clone().finish());
        events
    }
}

/// The camera's G-sensor samples on the epoch time base, with each GPS speed on the sample
/// nearest its fix.
fn camera_samples(base: f64, telemetry: &Telemetry) -> Vec<MotionSample> {
    let mut samples: Vec<MotionSample> = telemetry
        .accel
        .iter()
        .map(|a| {
            let t = base + f64::from(a.t_ms) / 1000.0;
            MotionSample::accel(t, f64::from(a.ax), f64::from(a.ay), f64::from(a.az))
        })
        .collect();
    for fix in &telemetry.gps {
        let at = base + f64::from(fix.t_ms) / 1000.0;
        let nearest = samples.partition_point(|s| s.t < at).min(samples.len().saturating_sub(1));
        if let Some(s) = samples.get_mut(nearest) {
            s.speed_mps = Some(f64::from(fix.speed_mps));
        }
    }
    samples
}
