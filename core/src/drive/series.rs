//! The curves a drive's pictures draw: speed and g-force over the drive's time, each cut down to
//! a few hundred points so a phone draws them at once, without losing the peaks.

use serde::Serialize;

use crate::protocol::AccelSample;

/// Standard gravity, m/s².
const G: f64 = 9.806_65;

/// One point of a curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// ms since the drive's start.
    pub t_ms: i64,
    /// The value: m/s for speed, g for g-force.
    pub value: f64,
}

/// How buckets merge: speeds average, g-forces keep their peak (a hard brake must not vanish).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Merge {
    /// The mean of the bucket.
    Mean,
    /// The highest value in the bucket.
    Max,
}

/// The dynamic acceleration of one segment's samples, in g, on the drive's clock: the length of
/// each sample minus the segment's mean vector (gravity, whatever way the camera is mounted).
/// Samples that are not finite are skipped.
pub(crate) fn g_force(samples: &[AccelSample], offset_ms: i64) -> Vec<SeriesPoint> {
    let finite = |a: &&AccelSample| a.ax.is_finite() && a.ay.is_finite() && a.az.is_finite();
    let n = samples.iter().filter(finite).count();
    if n == 0 {
        return Vec::new();
    }
    let mut mean = [0.0f64; 3];
    for a in samples.iter().filter(finite) {
        mean[0] += f64::from(a.ax);
        mean[1] += f64::from(a.ay);
        mean[2] += f64::from(a.az);
    }
    let mean = mean.map(|m| m / n as f64);
    samples
        .iter()
        .filter(finite)
        .map(|a| {
            let d =
                [f64::from(a.ax) - mean[0], f64::from(a.ay) - mean[1], f64::from(a.az) - mean[2]];
            let len = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            SeriesPoint { t_ms: offset_ms + i64::from(a.t_ms), value: len / G }
        })
        .collect()
}

/// At most `max` points (time-ordered input): equal time buckets over the series' span, each
/// one point at the bucket's first time, merged by `merge`. Empty buckets (a gap) give no point,
/// so a curve does not pretend to know what happened there.
pub(crate) fn downsample(points: &[SeriesPoint], max: usize, merge: Merge) -> Vec<SeriesPoint> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else { return Vec::new() };
    if points.len() <= max || max == 0 {
        return points.to_vec();
    }
    let span = (last.t_ms - first.t_ms).max(1);
    let width = (span as f64 / max as f64).max(1.0);
    let mut out: Vec<SeriesPoint> = Vec::with_capacity(max);
    let (mut bucket, mut sum, mut count) = (None::<usize>, 0.0, 0usize);
    let flush = |out: &mut Vec<SeriesPoint>, b: Option<usize>, sum: f64, count: usize| {
        if let (Some(b), true) = (b, count > 0) {
            let value = match merge {
                Merge::Mean => sum / count as f64,
                Merge::Max => sum,
            };
            out.push(SeriesPoint { t_ms: first.t_ms + (b as f64 * width) as i64, value });
        }
    };
    for p in points {
        let b = (((p.t_ms - first.t_ms) as f64 / width) as usize).min(max - 1);
        if bucket != Some(b) {
            flush(&mut out, bucket, sum, count);
            (bucket, sum, count) = (Some(b), 0.0, 0);
        }
        match merge {
            Merge::Mean => sum += p.value,
            Merge::Max => sum = if count == 0 { p.value } else { sum.max(p.value) },
        }
        count += 1;
    }
    flush(&mut out, bucket, sum, count);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gravity_is_removed_whatever_the_mount() {
        // Camera on its side: gravity along x. One 0.5 g jolt along z.
        let mut samples: Vec<AccelSample> =
            (0..100).map(|i| AccelSample { t_ms: i * 10, ax: 9.81, ay: 0.0, az: 0.0 }).collect();
        samples[50].az = (0.5 * G) as f32;
        let g = g_force(&samples, 60_000);
        assert_eq!(g.len(), 100);
        assert_eq!(g[50].t_ms, 60_500);
        assert!((g[50].value - 0.5).abs() < 0.01, "{}", g[50].value);
        assert!(g[10].value < 0.01);
    }

    #[test]
    fn peaks_survive_downsampling_and_gaps_stay_empty() {
        let mut points: Vec<SeriesPoint> =
            (0..10_000).map(|i| SeriesPoint { t_ms: i * 10, value: 0.05 }).collect();
        points[4_321].value = 0.9;
        points.retain(|p| !(60_000..80_000).contains(&p.t_ms));
        let out = downsample(&points, 100, Merge::Max);
        assert!(out.len() <= 100 && out.len() >= 70, "{}", out.len());
        assert!(out.iter().any(|p| (p.value - 0.9).abs() < 1e-9));
        assert!(!out.iter().any(|p| (61_000..79_000).contains(&p.t_ms)));
    }

    #[test]
    fn speeds_average_in_their_bucket() {
        let points: Vec<SeriesPoint> =
            (0..1000).map(|i| SeriesPoint { t_ms: i * 1000, value: (i % 2) as f64 }).collect();
        let out = downsample(&points, 10, Merge::Mean);
        assert_eq!(out.len(), 10);
        assert!(out.iter().all(|p| (p.value - 0.5).abs() < 0.01));
        assert!(downsample(&[], 10, Merge::Mean).is_empty());
    }
}
