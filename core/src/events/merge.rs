//! Fusing the camera's and the phone's detections of one incident into one event.

use super::{DetectedEvent, EventKind, MotionSource};

/// Merges events from several devices (camera, phone) that describe the same incident.
///
/// Both devices ride in the same car, so one hard brake or impact is usually seen twice, a
/// little apart in time. Events of the same kind whose onsets lie within `window_s` of the first
/// event of a group become one event: the earliest onset, the largest peak, the span covering
/// all of them, the first known location, and source [`MotionSource::Both`] when the group
/// spans devices. As in [`super::Detector`], a hard brake within the window of a collision is
/// dropped: the collision explains it. Timestamps must share one time base (the caller maps the
/// camera's clock onto the phone's before merging).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventMerger {
    /// Largest onset difference, in seconds, for two events to be one incident.
    pub window_s: f64,
}

impl Default for EventMerger {
    /// A 3-second window: wide enough for clock skew and filter delays between devices, narrower
    /// than the gap between two distinct hard brakes of one driver.
    fn default() -> Self {
        Self { window_s: 3.0 }
    }
}

impl EventMerger {
    /// A merger with the given window in seconds.
    pub fn new(window_s: f64) -> Self {
        Self { window_s }
    }

    /// Merge any mix of events (any order, any sources); returns them sorted by onset.
    pub fn merge(&self, events: impl IntoIterator<Item = DetectedEvent>) -> Vec<DetectedEvent> {
        let mut all: Vec<DetectedEvent> = events.into_iter().collect();
        all.sort_by(|a, b| a.t.total_cmp(&b.t));
        let mut merged: Vec<(DetectedEvent, f64)> = Vec::new();
        for ev in all {
            let group = merged
                .iter_mut()
                .rev()
                .find(|(g, first)| g.kind == ev.kind && ev.t - first <= self.window_s);
            match group {
                Some((g, _)) => absorb(g, &ev),
                None => merged.push((ev, ev.t)),
            }
        }
        let collisions: Vec<f64> = merged
            .iter()
            .filter(|(e, _)| e.kind == EventKind::Collision)
            .map(|(e, _)| e.t)
            .collect();
        merged
            .into_iter()
            .map(|(e, _)| e)
            .filter(|e| e.kind == EventKind::Collision || !near(e, &collisions, self.window_s))
            .collect()
    }
}

fn absorb(g: &mut DetectedEvent, ev: &DetectedEvent) {
    let end = (g.t + g.duration_s).max(ev.t + ev.duration_s);
    g.t = g.t.min(ev.t);
    g.duration_s = end - g.t;
    g.peak_g = g.peak_g.max(ev.peak_g);
    if g.source != ev.source {
        g.source = MotionSource::Both;
    }
    g.location = g.location.or(ev.location);
}

fn near(e: &DetectedEvent, collisions: &[f64], window: f64) -> bool {
    collisions.iter().any(|&c| c >= e.t - window && c <= e.t + e.duration_s + window)
}
