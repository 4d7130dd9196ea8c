//! Evaluates the hard-brake detector on the real labelled trips of the Driver Behavior Dataset
//! (Ferreira et al., PLOS ONE 2017; `tests/data/driver-behavior`), in the earth frame and rotated
//! into fixed phone orientations, against a naive "horizontal acceleration magnitude" baseline
//! (the reference, printed beside every row).
//!
//! Leave-one-trip-out: the tunable constants (hard-brake threshold, turn gate, road-vibration
//! ratio) are chosen on one trip from a grid and scored on the other, both ways; the product's constants are scored too,
//! saying which data chose them. Hard accelerations reported as hard brakes are counted.
//!
//! Run: `cargo bench -p dashkeep-core --bench events_eval [-- DATA_DIR]`.

use std::fs::File;
use std::path::{Path, PathBuf};

use dashkeep_core::events::{
    Detector, EventKind, G, MotionSample, MotionSource, Sensitivity, Tuning, read_csv,
};

/// Trips evaluated, by file stem.
const TRIPS: [&str; 2] = ["trip17", "trip20"];
/// A detection matches a label when its onset lies within [start - TOL, end + TOL].
const TOL_S: f64 = 2.0;
/// Seeds of the fixed random phone orientations.
const ROTATION_SEEDS: [u64; 3] = [1, 2, 3];
/// Baseline: horizontal magnitude threshold (g), minimum time above (s), cooldown (s).
const BASE_G: f64 = 0.30;
const BASE_MIN_S: f64 = 0.4;
const BASE_COOLDOWN_S: f64 = 3.0;
/// The leave-one-trip-out grid: hard-brake thresholds (g), turn gates (rad/s) and road-vibration
/// ratios (after/before beyond which vibration signs an event).
const GRID_BRAKE_G: [f64; 9] = [0.22, 0.24, 0.26, 0.28, 0.30, 0.32, 0.34, 0.36, 0.38];
const GRID_YAW: [f64; 6] = [0.06, 0.08, 0.10, 0.12, 0.15, 0.20];
const GRID_VIBRATION: [f64; 6] = [1.1, 1.2, 1.3, 1.5, 2.0, 3.0];

/// One trip: its name, samples, hard-brake labels and hard-acceleration labels.
type Trip = (String, Vec<MotionSample>, Vec<Label>, Vec<Label>);

#[derive(Debug, Clone, Copy)]
struct Label {
    start: f64,
    end: f64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Score {
    labels: usize,
    detections: usize,
    tp: usize,
    fp: usize,
    fne: usize,
    free_s: f64,
}

impl Score {
    fn add(&mut self, o: &Score) {
        self.labels += o.labels;
        self.detections += o.detections;
        self.tp += o.tp;
        self.fp += o.fp;
        self.fne += o.fne;
        self.free_s += o.free_s;
    }

    fn row(&self, variant: &str, trip: &str, detector: &str) -> String {
        let p = ratio(self.tp, self.tp + self.fp);
        let r = ratio(self.tp, self.tp + self.fne);
        let f1 = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
        let fah = self.fp as f64 / (self.free_s / 3600.0);
        format!(
            "| {variant:<12} | {trip:<7} | {detector:<15} | {:>6} | {:>4} | {:>3} | {:>3} | {:>3} | {p:>5.2} | {r:>5.2} | {f1:>5.2} | {fah:>6.1} |",
            self.labels, self.detections, self.tp, self.fp, self.fne
        )
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

fn main() {
    // `cargo bench` passes `--bench`; the first argument that is not a flag is the data path.
    let dir = std::env::args().skip(1).find(|a| !a.starts_with('-')).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/driver-behavior"),
        PathBuf::from,
    );
    let trips: Vec<Trip> = TRIPS.iter().map(|&n| load(&dir, n)).collect();
    println!("Hard-brake evaluation, Sensitivity::Normal, data: {}", dir.display());
    println!("Reference: the baseline row under each dashkeep row (same data, same scoring).");
    println!(
        "| frame        | trip    | detector        | labels | det  | TP  | FP  | FN  | prec  | rec   | F1    | FA/h   |"
    );
    println!(
        "|--------------|---------|-----------------|--------|------|-----|-----|-----|-------|-------|-------|--------|"
    );
    let mut variants = vec![("earth".to_string(), None, true)];
    variants
        .extend(ROTATION_SEEDS.iter().map(|&s| (format!("rotated#{s}"), Some(rotation(s)), true)));
    variants.push(("rot#1 nogyro".to_string(), Some(rotation(1)), false));
    for (name, rot, gyro) in &variants {
        for (label, run) in [
            ("dashkeep", run_detector as fn(&[MotionSample]) -> Vec<f64>),
            ("baseline", run_baseline),
        ] {
            let mut total = Score::default();
            for (trip, samples, labels, _) in &trips {
                let s = variant(samples, rot.as_ref(), *gyro);
                let score = evaluate(&run(&s), labels, &s);
                println!("{}", score.row(name, trip, label));
                total.add(&score);
            }
            println!("{}", total.row(name, "overall", label));
        }
    }
    for sens in [Sensitivity::Low, Sensitivity::High] {
        let mut total = Score::default();
        for (_, samples, labels, _) in &trips {
            total.add(&evaluate(&onsets(samples, Tuning::for_sensitivity(sens)), labels, samples));
        }
        println!("{}", total.row("earth", "overall", &format!("{sens:?}")));
    }
    accelerations_as_brakes(&trips);
    vibration_sweep(&trips);
    for (name, rot) in [("earth", None), ("rotated#1", Some(rotation(1)))] {
        leave_one_trip_out(&trips, name, rot.as_ref());
    }
}

fn variant(samples: &[MotionSample], rot: Option<&[[f64; 3]; 3]>, gyro: bool) -> Vec<MotionSample> {
    let mut s = rot.map_or_else(|| samples.to_vec(), |r| rotate_all(samples, r));
    if !gyro {
        s.iter_mut().for_each(|x| x.gyro = None);
    }
    s
}

/// Hard-brake detections whose onset falls in a labelled hard acceleration (±TOL_S), per trip.
fn accelerations_as_brakes(trips: &[Trip]) {
    println!(
        "\nHard accelerations reported as hard brakes (onset within a hard-acceleration label ±{TOL_S} s):"
    );
    for (trip, samples, _, accels) in trips {
        let found = onsets(samples, Tuning::for_sensitivity(Sensitivity::Normal));
        println!("  {trip}: {} of {} hard accelerations", hits(&found, accels), accels.len());
    }
}

/// How many labels have a detection whose onset lies within them (±TOL_S).
fn hits(found: &[f64], labels: &[Label]) -> usize {
    labels
        .iter()
        .filter(|l| found.iter().any(|&t| t >= l.start - TOL_S && t <= l.end + TOL_S))
        .count()
}

/// The product's constants with each road-vibration ratio of the grid (earth frame): how much
/// the result hangs on that constant.
fn vibration_sweep(trips: &[Trip]) {
    println!("\nRoad-vibration ratio sweep (product constants otherwise, earth frame):");
    for &vibration_ratio in &GRID_VIBRATION {
        let tuning = Tuning { vibration_ratio, ..Tuning::for_sensitivity(Sensitivity::Normal) };
        let parts: Vec<String> = trips
            .iter()
            .map(|(name, samples, labels, accels)| {
                let found = onsets(samples, tuning);
                let sc = evaluate(&found, labels, samples);
                let wrong = hits(&found, accels);
                format!("{name} {} TP, {} FP, {wrong} hard accelerations as brakes", sc.tp, sc.fp)
            })
            .collect();
        println!("  {vibration_ratio:.2}: {}", parts.join("; "));
    }
}

/// Tunes (brake threshold, turn gate, vibration ratio) on each trip in turn and scores on the
/// other.
fn leave_one_trip_out(trips: &[Trip], frame: &str, rot: Option<&[[f64; 3]; 3]>) {
    println!(
        "\nLeave-one-trip-out ({frame}): constants chosen on one trip (grid: brake {GRID_BRAKE_G:?} g, turn gate {GRID_YAW:?} rad/s, vibration ratio {GRID_VIBRATION:?}; criterion TP - FP, ties: the median tied point), scored on the other"
    );
    println!(
        "| frame        | trip    | detector        | labels | det  | TP  | FP  | FN  | prec  | rec   | F1    | FA/h   |"
    );
    let data: Vec<(&str, Vec<MotionSample>, &[Label])> = trips
        .iter()
        .map(|(n, s, l, _)| (n.as_str(), variant(s, rot, true), l.as_slice()))
        .collect();
    let mut held_out = Score::default();
    for (i, (tune_name, tune_samples, tune_labels)) in data.iter().enumerate() {
        let mut scored: Vec<(i64, Tuning)> = Vec::new();
        for tuning in grid() {
            let sc = evaluate(&onsets(tune_samples, tuning), tune_labels, tune_samples);
            scored.push((sc.tp as i64 - sc.fp as i64, tuning));
        }
        let best = scored.iter().map(|s| s.0).max().unwrap_or(0);
        let tied: Vec<Tuning> = scored.iter().filter(|s| s.0 == best).map(|s| s.1).collect();
        let chosen = tied[tied.len() / 2];
        for (j, (name, samples, labels)) in data.iter().enumerate() {
            let sc = evaluate(&onsets(samples, chosen), labels, samples);
            let role = if i == j { "in-sample" } else { "held-out" };
            let constants = format!(
                "{:.2}g/{:.2}/{:.2}",
                chosen.brake_g, chosen.max_brake_yaw, chosen.vibration_ratio
            );
            println!("{}", sc.row(role, name, &constants));
            if i != j {
                held_out.add(&sc);
            }
        }
        println!(
            "  (tuned on {tune_name}: brake {:.2} g, turn gate {:.2} rad/s, vibration ratio {:.2}; {} of {} grid points tied)",
            chosen.brake_g,
            chosen.max_brake_yaw,
            chosen.vibration_ratio,
            tied.len(),
            scored.len()
        );
    }
    println!("{}", held_out.row("held-out", "both", "LOTO"));
}

/// Every point of the leave-one-trip-out grid, in a fixed order (brake, turn gate, vibration).
fn grid() -> Vec<Tuning> {
    let normal = Tuning::for_sensitivity(Sensitivity::Normal);
    let mut out = Vec::new();
    for &brake_g in &GRID_BRAKE_G {
        for &max_brake_yaw in &GRID_YAW {
            for &vibration_ratio in &GRID_VIBRATION {
                out.push(Tuning { brake_g, max_brake_yaw, vibration_ratio, ..normal });
            }
        }
    }
    out
}

fn load(dir: &Path, name: &str) -> Trip {
    let csv = dir.join(format!("{name}.csv"));
    let file = File::open(&csv).unwrap_or_else(|e| panic!("open {}: {e}", csv.display()));
    let samples = read_csv(file).unwrap_or_else(|e| panic!("parse {}: {e}", csv.display()));
    let lpath = dir.join(format!("{name}.labels.csv"));
    let text =
        std::fs::read_to_string(&lpath).unwrap_or_else(|e| panic!("read {}: {e}", lpath.display()));
    let labels = |kind: &str| -> Vec<Label> {
        text.lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f.first() == Some(&kind)).then(|| Label {
                    start: f[1].trim().parse().unwrap_or(f64::NAN),
                    end: f[2].trim().parse().unwrap_or(f64::NAN),
                })
            })
            .collect()
    };
    (name.to_string(), samples, labels("hard_brake"), labels("hard_acceleration"))
}

fn run_detector(samples: &[MotionSample]) -> Vec<f64> {
    onsets(samples, Tuning::for_sensitivity(Sensitivity::Normal))
}

fn onsets(samples: &[MotionSample], tuning: Tuning) -> Vec<f64> {
    let mut d = Detector::with_tuning(tuning, MotionSource::Phone);
    let mut events = Vec::new();
    // Uneven batch sizes, as a platform would deliver them.
    for chunk in samples.chunks(37) {
        events.extend(d.push(chunk));
    }
    events.extend(d.finish());
    events.iter().filter(|e| e.kind == EventKind::HardBrake).map(|e| e.t).collect()
}

/// Naive baseline: gravity by a 5 s low-pass, horizontal magnitude smoothed like the detector,
/// an event when it stays above BASE_G for BASE_MIN_S. No forward axis, no sign, no turn logic.
fn run_baseline(samples: &[MotionSample]) -> Vec<f64> {
    let mut g = [0.0; 3];
    let mut h = 0.0;
    let mut prev_t: Option<f64> = None;
    let (mut above, mut onset, mut cooldown) = (0.0, None::<f64>, f64::NEG_INFINITY);
    let mut out = Vec::new();
    for s in samples {
        let a = [s.ax, s.ay, s.az];
        let dt = prev_t.map_or(0.0, |p| s.t - p);
        if prev_t.is_none() {
            g = a;
        }
        prev_t = Some(s.t);
        let k = 1.0 - (-dt / 5.0f64).exp();
        (0..3).for_each(|i| g[i] += k * (a[i] - g[i]));
        let gn = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
        let along = (a[0] * g[0] + a[1] * g[1] + a[2] * g[2]) / gn;
        let hmag = ((a[0] * a[0] + a[1] * a[1] + a[2] * a[2]) - along * along).max(0.0).sqrt();
        h += (1.0 - (-dt / 0.15f64).exp()) * (hmag - h);
        if h >= BASE_G * G {
            if onset.is_none() && s.t >= cooldown {
                onset = Some(s.t);
                above = 0.0;
            }
            above += dt;
        } else if let Some(o) = onset.take()
            && above >= BASE_MIN_S
        {
            out.push(o);
            cooldown = s.t + BASE_COOLDOWN_S;
        }
    }
    out
}

fn evaluate(onsets: &[f64], labels: &[Label], samples: &[MotionSample]) -> Score {
    let mut used = vec![false; labels.len()];
    let mut tp = 0;
    for &t in onsets {
        let hit = (0..labels.len())
            .find(|&i| !used[i] && t >= labels[i].start - TOL_S && t <= labels[i].end + TOL_S);
        if let Some(i) = hit {
            used[i] = true;
            tp += 1;
        }
    }
    let span = samples.last().map_or(0.0, |s| s.t) - samples.first().map_or(0.0, |s| s.t);
    let labelled: f64 = labels.iter().map(|l| l.end - l.start).sum();
    Score {
        labels: labels.len(),
        detections: onsets.len(),
        tp,
        fp: onsets.len() - tp,
        fne: labels.len() - tp,
        free_s: span - labelled,
    }
}

/// A fixed random rotation matrix from a seed (uniform random unit quaternion, Shoemake).
fn rotation(seed: u64) -> [[f64; 3]; 3] {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let (u1, u2, u3) = (next(), next(), next());
    let tau = std::f64::consts::TAU;
    let (a, b) = ((1.0 - u1).sqrt(), u1.sqrt());
    let (w, xq, y, z) =
        (a * (tau * u2).sin(), a * (tau * u2).cos(), b * (tau * u3).sin(), b * (tau * u3).cos());
    [
        [1.0 - 2.0 * (y * y + z * z), 2.0 * (xq * y - z * w), 2.0 * (xq * z + y * w)],
        [2.0 * (xq * y + z * w), 1.0 - 2.0 * (xq * xq + z * z), 2.0 * (y * z - xq * w)],
        [2.0 * (xq * z - y * w), 2.0 * (y * z + xq * w), 1.0 - 2.0 * (xq * xq + y * y)],
    ]
}

fn apply(r: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|i| r[i][0] * v[0] + r[i][1] * v[1] + r[i][2] * v[2])
}

fn rotate_all(samples: &[MotionSample], r: &[[f64; 3]; 3]) -> Vec<MotionSample> {
    samples
        .iter()
        .map(|s| {
            let [ax, ay, az] = apply(r, [s.ax, s.ay, s.az]);
            MotionSample { ax, ay, az, gyro: s.gyro.map(|g| apply(r, g)), ..*s }
        })
        .collect()
}
