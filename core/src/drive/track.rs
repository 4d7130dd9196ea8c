//! The GPS side of a drive: distance with receiver jitter and stops handled, moving time,
//! average and top speed, gaps, and a track short enough to draw.
//!
//! Written here rather than with a geo crate: a great-circle distance, a median filter and an
//! anchor rule are a few lines, and `geo` would bring a heavy dependency tree for them.

use serde::Serialize;

/// A GPS fix placed on the drive's clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fix {
    /// ms since the drive's start.
    pub t_ms: i64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Ground speed the receiver reported, m/s.
    pub speed_mps: f64,
}

/// Movement shorter than this from the last counted position is receiver jitter, not driving.
const JITTER_M: f64 = 8.0;
/// Reported speeds below this are a stop.
const STOPPED_MPS: f64 = 0.8;
/// No car goes faster: a fix implying more from the last counted one is a jump, skipped.
const MAX_PLAUSIBLE_MPS: f64 = 90.0;
/// Fixes further apart than this leave a gap in the track (the receiver lost its fix).
pub(crate) const GAP_MS: i64 = 5_000;

/// What the fixes say about the drive.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct GpsStats {
    /// Distance driven over the covered time, metres.
    pub distance_m: f64,
    /// Time with fixes no further than `GAP_MS` apart, ms.
    pub covered_ms: i64,
    /// Covered time spent moving, ms.
    pub moving_ms: i64,
    /// The highest speed, after a 3-fix median filter (one wild fix is not a top speed), m/s.
    pub top_speed_mps: f64,
    /// Stretches between fixes further apart than `GAP_MS`: (from ms, to ms).
    pub gaps: Vec<(i64, i64)>,
}

/// Great-circle distance in metres (haversine on a spherical Earth of radius 6,371,008.8 m).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    const R: f64 = 6_371_008.8;
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let dla = la2 - la1;
    let dlo = (b.1 - a.1).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().min(1.0).asin()
}

/// Whether a fix is a position at all (finite, on the globe, not the 0,0 "no fix" placeholder).
pub(crate) fn is_valid(f: &Fix) -> bool {
    f.lat.is_finite()
        && f.lon.is_finite()
        && f.lat.abs() <= 90.0
        && f.lon.abs() <= 180.0
        && !(f.lat == 0.0 && f.lon == 0.0)
        && f.speed_mps.is_finite()
        && f.speed_mps >= 0.0
}

/// Analyses fixes in time order (invalid ones must be filtered out already).
///
/// Distance counts the path between "anchors": a fix becomes the next anchor once it is more
/// than `JITTER_M` from the last one while the car moves, so a parked receiver wandering a few
/// metres adds nothing, and a fix implying more than `MAX_PLAUSIBLE_MPS` is skipped as a jump.
/// Nothing is counted across a gap: the distance is what the fixes show, and the gaps say what
/// is missing.
pub(crate) fn analyse(fixes: &[Fix]) -> GpsStats {
    let mut out = GpsStats::default();
    let mut anchor: Option<Fix> = None;
    for (i, f) in fixes.iter().enumerate() {
        if let Some(prev) = i.checked_sub(1).map(|j| fixes[j]) {
            let dt = f.t_ms - prev.t_ms;
            if dt > GAP_MS {
                out.gaps.push((prev.t_ms, f.t_ms));
                anchor = Some(*f);
                continue;
            }
            out.covered_ms += dt.max(0);
            if f.speed_mps >= STOPPED_MPS || prev.speed_mps >= STOPPED_MPS {
                out.moving_ms += dt.max(0);
            }
        }
        let Some(a) = anchor else {
            anchor = Some(*f);
            continue;
        };
        let d = distance_m((a.lat, a.lon), (f.lat, f.lon));
        let dt_s = (f.t_ms - a.t_ms).max(1) as f64 / 1000.0;
        if d / dt_s > MAX_PLAUSIBLE_MPS {
            continue;
        }
        if d > JITTER_M && f.speed_mps >= STOPPED_MPS {
            out.distance_m += d;
            anchor = Some(*f);
        }
    }
    out.top_speed_mps = median3_max(fixes);
    out
}

/// The highest 3-fix median of the reported speed.
fn median3_max(fixes: &[Fix]) -> f64 {
    let speeds: Vec<f64> = fixes.iter().map(|f| f.speed_mps).collect();
    if speeds.len() < 3 {
        return speeds.iter().copied().fold(0.0, f64::max);
    }
    speeds
        .windows(3)
        .map(|w| {
            let mut w = [w[0], w[1], w[2]];
            w.sort_by(f64::total_cmp);
            w[1]
        })
        .fold(0.0, f64::max)
}

/// Where the car was at `t_ms`: interpolated between the fixes around it, `None` if no fix is
/// within `GAP_MS` of it.
pub(crate) fn position_at(fixes: &[Fix], t_ms: i64) -> Option<(f64, f64)> {
    let after = fixes.partition_point(|f| f.t_ms < t_ms);
    let next = fixes.get(after);
    let prev = after.checked_sub(1).and_then(|i| fixes.get(i));
    match (prev, next) {
        (Some(p), Some(n)) if n.t_ms - p.t_ms <= GAP_MS && n.t_ms > p.t_ms => {
            let k = (t_ms - p.t_ms) as f64 / (n.t_ms - p.t_ms) as f64;
            Some((p.lat + (n.lat - p.lat) * k, p.lon + (n.lon - p.lon) * k))
        }
        (_, Some(n)) if (n.t_ms - t_ms).abs() <= GAP_MS => Some((n.lat, n.lon)),
        (Some(p), _) if (t_ms - p.t_ms).abs() <= GAP_MS => Some((p.lat, p.lon)),
        _ => None,
    }
}

/// At most `max` fixes, evenly taken, always keeping the first and the last.
pub(crate) fn thin(fixes: &[Fix], max: usize) -> Vec<Fix> {
    if fixes.len() <= max || max < 2 {
        return fixes.to_vec();
    }
    let step = (fixes.len() - 1) as f64 / (max - 1) as f64;
    (0..max).map(|i| fixes[((i as f64 * step).round() as usize).min(fixes.len() - 1)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A straight drive north at `speed` m/s from (48, 2), one fix a second.
    fn straight(seconds: i64, speed: f64) -> Vec<Fix> {
        let deg_per_m = 1.0 / 111_195.0;
        (0..=seconds)
            .map(|s| Fix {
                t_ms: s * 1000,
                lat: 48.0 + s as f64 * speed * deg_per_m,
                lon: 2.0,
                speed_mps: speed,
            })
            .collect()
    }

    #[test]
    fn haversine_matches_a_known_distance() {
        // Paris (Notre-Dame) to London (Trafalgar Square): about 343.5 km.
        let d = distance_m((48.853, 2.3499), (51.508, -0.128));
        assert!((d - 343_500.0).abs() < 1_500.0, "{d}");
    }

    #[test]
    fn a_steady_drive_measures_its_length() {
        let stats = analyse(&straight(600, 20.0));
        assert!((stats.distance_m - 12_000.0).abs() < 50.0, "{}", stats.distance_m);
        assert_eq!(stats.covered_ms, 600_000);
        assert_eq!(stats.moving_ms, 600_000);
        assert!((stats.top_speed_mps - 20.0).abs() < 1e-9);
        assert!(stats.gaps.is_empty());
    }

    #[test]
    fn a_parked_receiver_wandering_adds_nothing() {
        // Ten minutes stopped, the fix wandering ±5 m around one place.
        let fixes: Vec<Fix> = (0..600)
            .map(|s| Fix {
                t_ms: s * 1000,
                lat: 48.0 + ((s * 7919) % 11 - 5) as f64 * 0.9e-5 / 2.0,
                lon: 2.0 + ((s * 104_729) % 9 - 4) as f64 * 1.3e-5 / 2.0,
                speed_mps: 0.2,
            })
            .collect();
        let stats = analyse(&fixes);
        assert_eq!(stats.distance_m, 0.0);
        assert_eq!(stats.moving_ms, 0);
        // A naive sum of every step would report hundreds of metres.
        let naive: f64 =
            fixes.windows(2).map(|w| distance_m((w[0].lat, w[0].lon), (w[1].lat, w[1].lon))).sum();
        assert!(naive > 500.0, "{naive}");
    }

    #[test]
    fn one_wild_fix_is_neither_distance_nor_top_speed() {
        let mut fixes = straight(120, 15.0);
        fixes[60].lat += 0.05; // 5.5 km away for one second
        fixes[60].speed_mps = 80.0;
        let stats = analyse(&fixes);
        assert!((stats.distance_m - 1_800.0).abs() < 30.0, "{}", stats.distance_m);
        assert!((stats.top_speed_mps - 15.0).abs() < 1e-9, "{}", stats.top_speed_mps);
    }

    #[test]
    fn a_lost_fix_is_a_gap_not_a_straight_line() {
        let mut fixes = straight(300, 10.0);
        fixes.drain(100..200); // 100 s without a fix
        let stats = analyse(&fixes);
        assert_eq!(stats.gaps, vec![(99_000, 200_000)]);
        assert_eq!(stats.covered_ms, 199_000);
        assert!((stats.distance_m - 1_990.0).abs() < 30.0, "{}", stats.distance_m);
    }

    #[test]
    fn positions_interpolate_and_stop_at_gaps() {
        let fixes = straight(10, 10.0);
        let (lat, _) = position_at(&fixes, 4_500).expect("inside");
        assert!((lat - (fixes[4].lat + fixes[5].lat) / 2.0).abs() < 1e-9);
        assert!(position_at(&fixes, 60_000).is_none());
        assert_eq!(thin(&fixes, 3).len(), 3);
        assert_eq!(thin(&fixes, 3)[2], fixes[10]);
    }

    #[test]
    fn placeholders_are_not_positions() {
        let f = Fix { t_ms: 0, lat: 0.0, lon: 0.0, speed_mps: 0.0 };
        assert!(!is_valid(&f));
        assert!(!is_valid(&Fix { lat: f64::NAN, ..f }));
        assert!(!is_valid(&Fix { lat: 91.0, lon: 1.0, ..f }));
        assert!(is_valid(&Fix { lat: 48.0, lon: 2.0, ..f }));
    }
}
