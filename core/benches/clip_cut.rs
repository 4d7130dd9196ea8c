//! Benchmark: cut a 30 s clip across two 60 s 1080p segments, ours vs `ffmpeg -c copy` in both
//! of its seek forms, compared with the faster one; first from MP4 segments, then from the same
//! segments as MPEG-TS (`.TS`, as some Novatek cameras record).
//!
//! Run with `cargo bench -p dashkeep-core --bench clip_cut`. The segments are generated once
//! into `target/clip-bench/`. Our cut runs in a child process (this binary re-executed with
//! `--child`) so its peak RSS (VmHWM) is measured alone; ffmpeg's comes from `/usr/bin/time`.
//!
//! ffmpeg seeks two ways: `-ss` before `-i` (input seeking: it jumps to the keyframe through the
//! index, the fast form) and `-ss` after `-i` (output seeking: it reads and drops everything
//! before the start). Ours is compared with the faster of the two. Ours also fsyncs the clip
//! and its directory before returning (a clip must survive a power cut); ffmpeg does not, and
//! the benchmark keeps that difference (it only makes ours slower) and prints it.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dashkeep_core::clips::{CutRequest, cut_clip};

const FROM_S: f64 = 45.0;
const TO_S: f64 = 75.0;
const RUNS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1..]);
        return;
    }
    let have = |b: &str| Command::new(b).arg("-version").output().is_ok_and(|o| o.status.success());
    assert!(have("ffmpeg"), "the clip benchmark needs ffmpeg: apt-get install ffmpeg");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/clip-bench");
    let segs = ensure_segments(&dir);
    println!("clip_cut: 30 s clip (45..75 s) over two 60 s 1080p 8 Mb/s H.264+AAC segments");
    println!("  best of {RUNS} runs after a warm-up; each in its own process");
    compare("MP4", &segs, &dir);
    // The same recording as MPEG-TS (`.TS`, as some Novatek cameras record): ours demuxes the
    // transport stream and remuxes it into an MP4, as ffmpeg does.
    let ts = ensure_ts_segments(&segs);
    compare("MPEG-TS", &ts, &dir);
    println!("  ours fsyncs the clip and its directory; ffmpeg does not (kept: it only costs us)");
    println!("  goals: time ratio <= 0.4 (MP4), <= 0.5 (MPEG-TS); our peak RSS < 8 MiB");
}

/// Runs ours and both ffmpeg forms on `segs` and prints the figures.
fn compare(label: &str, segs: &[PathBuf], dir: &Path) {
    let (ours_t, ours_rss) = best(|| run_ours(segs, &dir.join("ours.mp4")));
    let (input_t, input_rss) = best(|| run_ffmpeg(segs, dir, Seek::Input));
    let (output_t, output_rss) = best(|| run_ffmpeg(segs, dir, Seek::Output));
    let (ref_t, ref_rss, ref_name) = if input_t <= output_t {
        (input_t, input_rss, "-ss before -i")
    } else {
        (output_t, output_rss, "-ss after -i")
    };
    println!("  {label} segments:");
    let line = |name: &str, t: Duration, rss: u64| {
        println!("    {name:<24}{:>8.1} ms  peak RSS {:>8.1} MiB", ms(t), mib(rss));
    };
    line("ours (with fsync):", ours_t, ours_rss);
    line("ffmpeg -ss before -i:", input_t, input_rss);
    line("ffmpeg -ss after -i:", output_t, output_rss);
    println!(
        "    ratio ours / faster ffmpeg ({ref_name}): time {:.3}, RSS {:.3}",
        ms(ours_t) / ms(ref_t),
        ours_rss as f64 / ref_rss as f64
    );
}

/// The segments remuxed (`-c copy`) into MPEG-TS beside them, once.
fn ensure_ts_segments(segs: &[PathBuf]) -> Vec<PathBuf> {
    let ts: Vec<PathBuf> = segs.iter().map(|s| s.with_extension("ts")).collect();
    for (mp4, ts) in segs.iter().zip(&ts) {
        if ts.exists() {
            continue;
        }
        let ok = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(mp4)
            .args(["-map", "0", "-c", "copy", "-f", "mpegts"])
            .arg(ts)
            .status()
            .expect("ffmpeg");
        assert!(ok.success());
    }
    ts
}

/// Where ffmpeg's `-ss` goes.
#[derive(Clone, Copy)]
enum Seek {
    /// Before `-i`: input seeking through the index.
    Input,
    /// After `-i`: output seeking, decoding-free but reading from the start.
    Output,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Best wall time and the peak RSS (KiB) of that run, after one warm-up.
fn best(mut f: impl FnMut() -> (Duration, u64)) -> (Duration, u64) {
    f();
    (0..RUNS).map(|_| f()).min_by_key(|r| r.0).unwrap_or_default()
}

fn child(args: &[String]) {
    let [out, segs @ ..] = args else { panic!("--child OUT SEG...") };
    let req = CutRequest {
        segments: segs.iter().map(PathBuf::from).collect(),
        from_s: FROM_S,
        to_s: TO_S,
        exact: false,
    };
    let report = cut_clip(&req, Path::new(out)).expect("cut");
    assert!(report.duration_s > 29.0, "{report:?}");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap_or("0 kB");
    println!("{}", hwm.trim().trim_end_matches("kB").trim());
}

fn run_ours(segs: &[PathBuf], out: &Path) -> (Duration, u64) {
    let exe = std::env::current_exe().expect("current_exe");
    let start = Instant::now();
    let o = Command::new(exe).arg("--child").arg(out).args(segs).output().expect("spawn child");
    let t = start.elapsed();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (t, String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(0))
}

fn run_ffmpeg(segs: &[PathBuf], dir: &Path, seek: Seek) -> (Duration, u64) {
    let list = dir.join("list.txt");
    let body: String = segs.iter().map(|s| format!("file '{}'\n", s.display())).collect();
    std::fs::write(&list, body).expect("list");
    let (from, len) = (FROM_S.to_string(), (TO_S - FROM_S).to_string());
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "%M", "ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0"]);
    match seek {
        Seek::Input => cmd.args(["-ss", &from, "-i"]).arg(&list).args(["-t", &len]),
        Seek::Output => cmd.arg("-i").arg(&list).args(["-ss", &from, "-t", &len]),
    };
    cmd.args(["-c", "copy", "-movflags", "+faststart"]).arg(dir.join("ffmpeg.mp4"));
    let start = Instant::now();
    let o = cmd.output().expect("spawn /usr/bin/time (apt-get install time)");
    let t = start.elapsed();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    (t, err.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0))
}

/// Two consecutive 60 s segments, generated once.
fn ensure_segments(dir: &Path) -> Vec<PathBuf> {
    let segs: Vec<PathBuf> = (0..2).map(|i| dir.join(format!("seg{i:03}.mp4"))).collect();
    if segs.iter().all(|s| s.exists()) {
        return segs;
    }
    std::fs::create_dir_all(dir).expect("mkdir");
    eprintln!("generating 2 x 60 s 1080p segments (once) in {}", dir.display());
    let whole = dir.join("whole.mp4");
    let ok = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30",
            "-f",
            "lavfi",
        ])
        .args([
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "120",
            "-vf",
            "noise=alls=20:allf=t",
        ])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "8M",
            "-minrate",
            "8M",
            "-maxrate",
            "8M",
        ])
        .args(["-bufsize", "8M", "-g", "30", "-c:a", "aac", "-b:a", "128k"])
        .arg(&whole)
        .status()
        .expect("ffmpeg");
    assert!(ok.success());
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&whole)
        .args([
            "-map",
            "0",
            "-c",
            "copy",
            "-f",
            "segment",
            "-segment_time",
            "60",
            "-reset_timestamps",
            "1",
        ])
        .arg(dir.join("seg%03d.mp4"))
        .status()
        .expect("ffmpeg");
    assert!(ok.success());
    let _ = std::fs::remove_file(whole);
    segs
}
