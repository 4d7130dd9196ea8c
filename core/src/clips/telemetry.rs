//! A clip's GPS and G-sensor data: the samples of its window, taken from its segments'
//! telemetry and re-timed from the clip's first frame, written beside the clip so they are never
//! lost when a clip is cut.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::protocol::{AccelSample, GpsFix, Telemetry};

/// The sidecar of a clip: times in ms from the clip's first frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipTelemetry {
    /// The clip.
    pub clip_id: i64,
    /// When the clip's first frame was recorded (ms since the epoch, camera clock).
    pub start_ms: i64,
    /// G-sensor rate of the source, Hz.
    pub accel_hz: u32,
    /// G-sensor samples inside the clip.
    pub accel: Vec<AccelSample>,
    /// GPS fixes inside the clip.
    pub gps: Vec<GpsFix>,
}

/// Gathers the samples in `[start_ms, end_ms)` from segments given as (start ms, telemetry
/// file). A segment whose telemetry cannot be read is skipped with a warning, not silently.
pub(super) fn gather(
    clip_id: i64,
    (start_ms, end_ms): (i64, i64),
    segments: &[(i64, PathBuf)],
) -> ClipTelemetry {
    let mut out =
        ClipTelemetry { clip_id, start_ms, accel_hz: 0, accel: Vec::new(), gps: Vec::new() };
    for (segment_start, path) in segments {
        let telemetry = match std::fs::read(path).map(|b| serde_json::from_slice::<Telemetry>(&b)) {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                tracing::warn!(file = %path.display(), error = %e, "clip telemetry: unreadable sidecar");
                continue;
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "clip telemetry: missing sidecar");
                continue;
            }
        };
        out.accel_hz = out.accel_hz.max(telemetry.accel_hz);
        let rebase = |t_ms: u32| -> Option<u32> {
            let at = segment_start + i64::from(t_ms);
            (start_ms..end_ms).contains(&at).then(|| u32::try_from(at - start_ms).ok()).flatten()
        };
        out.accel.extend(
            telemetry
                .accel
                .iter()
                .filter_map(|a| rebase(a.t_ms).map(|t_ms| AccelSample { t_ms, ..*a })),
        );
        out.gps.extend(
            telemetry.gps.iter().filter_map(|g| rebase(g.t_ms).map(|t_ms| GpsFix { t_ms, ..*g })),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_window_and_retimes_it() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.json");
        let t = Telemetry {
            segment_id: "S".into(),
            accel_hz: 100,
            accel: (0..10)
                .map(|i| AccelSample { t_ms: i * 1000, ax: 0.0, ay: 0.0, az: 9.8 })
                .collect(),
            gps: vec![GpsFix { t_ms: 5000, lat: 1.0, lon: 2.0, speed_mps: 3.0 }],
        };
        std::fs::write(&path, serde_json::to_vec(&t).expect("json")).expect("write");
        let clip = gather(7, (10_000 + 3000, 10_000 + 6000), &[(10_000, path)]);
        let times: Vec<u32> = clip.accel.iter().map(|a| a.t_ms).collect();
        assert_eq!(times, vec![0, 1000, 2000]);
        assert_eq!(clip.gps[0].t_ms, 2000);
        assert_eq!(clip.accel_hz, 100);
    }
}
