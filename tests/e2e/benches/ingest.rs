//! Ingest benchmark: stream 20 segments of about 60 MB (a minute of 1080p at 8 Mbps) from the
//! simulated camera on loopback, and compare with `curl` downloading the same files in the same
//! run. Prints throughput, CPU seconds per GB, peak RSS, and the ratio to curl for 5 alternating
//! rounds and their median (the machine is noisy); repeats with 15-second segments to show that
//! memory does not grow with segment size.
//!
//! With `--dialect novatek` the simulated camera speaks the Novatek dialect: curl fetches the
//! same `.MP4` files by their Novatek paths, and the phone finds the protocol by probing and
//! streams through the Novatek driver (listing twice, stopping and restarting the recording).
//!
//! Run: `cargo bench -p dashkeep-e2e --bench ingest` (add `-- --segments N` to change the count,
//! `-- --dialect novatek` for a Novatek camera). The phone side runs in a child process (this
//! binary re-executed) so its peak RSS is its own.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use dashkeep_core::{Companion, CompanionConfig};
use dashkeep_simcam::{Dialect, Fixture, Scenario, SimCamera, SimConfig, novatek};

const CHILD_FLAG: &str = "--phone-child";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == CHILD_FLAG) {
        let (url, dir) = (&args[i + 1], &args[i + 2]);
        phone_child(url, Path::new(dir));
        return;
    }
    let segments: u64 = args
        .iter()
        .position(|a| a == "--segments")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let dialect = match args.iter().position(|a| a == "--dialect").and_then(|i| args.get(i + 1)) {
        Some(d) if d == "novatek" => Dialect::Novatek,
        Some(d) if d == "dashkeep" => Dialect::Dashkeep,
        None => Dialect::Dashkeep,
        Some(other) => panic!("--dialect dashkeep|novatek, not {other}"),
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    println!("ingest benchmark: {segments} segments, simulated {dialect:?} camera on loopback\n");
    for segment_secs in [60u32, 15] {
        rt.block_on(run(segments, segment_secs, dialect));
    }
}

async fn run(segments: u64, segment_secs: u32, dialect: Dialect) {
    let dir = tempfile::tempdir().expect("tempdir");
    let minutes = u32::try_from(segments * u64::from(segment_secs) / 60).expect("small");
    let scenario = Scenario::calm(minutes.max(1)).with_segment_secs(segment_secs);
    let camera = SimCamera::start(SimConfig {
        instant: true,
        fixture: Fixture::Hd1080p,
        sd_capacity_bytes: 64 << 30,
        dialect,
        ..SimConfig::new(scenario, dir.path().join("sd"))
    })
    .await
    .expect("camera");
    let card = camera.card();
    // A Novatek camera keeps its telemetry inside the video: there is no side file to fetch.
    let side_files = dialect == Dialect::Dashkeep;
    let total: u64 =
        card.iter().map(|(i, _, _)| i.size + if side_files { i.telemetry_size } else { 0 }).sum();
    let video_total: u64 = card.iter().map(|(i, _, _)| i.size).sum();

    let gb = total as f64 / 1e9;
    println!(
        "{} segments x {} s ({:.1} MB each), {:.2} GB in all; {ROUNDS} rounds, curl then dashkeep",
        card.len(),
        segment_secs,
        video_total as f64 / card.len() as f64 / 1e6,
        gb
    );
    let mut rounds = Vec::new();
    for round in 1..=ROUNDS {
        let curl_s = run_curl(&camera, &card, dialect, &dir.path().join("curl")).await;
        let ours = run_phone(&camera, &dir.path().join(format!("phone-{round}"))).await;
        assert_eq!(ours.stored, card.len(), "every segment stored");
        let mbps = |s: f64| total as f64 / s / 1e6;
        println!(
            "  round {round}: curl {:>5.0} MB/s  dashkeep {:>5.0} MB/s  {:.2} CPU s/GB  peak RSS {:.1} MiB  ratio {:.2}",
            mbps(curl_s),
            mbps(ours.wall_s),
            ours.cpu_s / gb,
            ours.rss_kib / 1024.0,
            curl_s / ours.wall_s
        );
        rounds.push((curl_s / ours.wall_s, ours.cpu_s / gb, ours.rss_kib / 1024.0));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ratios: Vec<f64> = rounds.iter().map(|r| r.0).collect();
    println!(
        "  median ratio dashkeep/curl {:.2} (min {:.2}, max {:.2}); median {:.2} CPU s/GB; peak RSS at most {:.1} MiB\n",
        median(ratios.clone()),
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
        median(rounds.iter().map(|r| r.1).collect()),
        rounds.iter().map(|r| r.2).fold(0.0, f64::max),
    );
    camera.shutdown().await;
}

/// Rounds per segment size: the machine is noisy, so each figure is a median of alternating runs.
const ROUNDS: usize = 5;

/// The reference: curl fetching the same files, one process, one connection (a Novatek camera
/// lists only while it does not record, so curl gets its recording stopped first, as the phone
/// does).
async fn run_curl(
    camera: &SimCamera,
    card: &[(dashkeep_core::protocol::SegmentInfo, std::path::PathBuf, std::path::PathBuf)],
    dialect: Dialect,
    curl_dir: &Path,
) -> f64 {
    std::fs::create_dir_all(curl_dir).expect("mkdir");
    let mut curl = Command::new("curl");
    curl.arg("-sS").arg("--fail");
    let base = camera.base_url();
    for (info, _, _) in card {
        if dialect == Dialect::Novatek {
            curl.arg("-o").arg(curl_dir.join(novatek::file_name(info)));
            curl.arg(format!("{base}{}", novatek::url_path(info, false)));
            continue;
        }
        for kind in ["video", "telemetry"] {
            curl.arg("-o").arg(curl_dir.join(format!("{}.{kind}", info.id)));
            curl.arg(format!("{base}/api/v1/segments/{}/{kind}", info.id));
        }
    }
    if dialect == Dialect::Novatek {
        novatek_record(&base, false);
    }
    let start = Instant::now();
    let status = tokio::task::spawn_blocking(move || curl.status()).await.expect("join");
    let seconds = start.elapsed().as_secs_f64();
    assert!(status.is_ok_and(|s| s.success()), "curl failed");
    if dialect == Dialect::Novatek {
        novatek_record(&base, true);
    }
    std::fs::remove_dir_all(curl_dir).expect("rm");
    seconds
}

/// Stops (or restarts) a Novatek camera's recording, as its own app does around a download.
fn novatek_record(base: &str, on: bool) {
    let url = format!("{base}/?custom=1&cmd=2001&par={}", u8::from(on));
    let status = Command::new("curl").args(["-sS", "--fail", "-o", "/dev/null"]).arg(url).status();
    assert!(status.is_ok_and(|s| s.success()), "curl could not switch the recording");
}

/// What one phone run measured.
struct PhoneRun {
    wall_s: f64,
    cpu_s: f64,
    rss_kib: f64,
    stored: usize,
}

/// Dashkeep: a fresh phone (a child process, so its peak RSS is its own) streams everything.
async fn run_phone(camera: &SimCamera, phone_dir: &Path) -> PhoneRun {
    let mut child = Command::new(std::env::current_exe().expect("exe"));
    child.arg(CHILD_FLAG).arg(camera.base_url()).arg(phone_dir);
    let start = Instant::now();
    let out =
        tokio::task::spawn_blocking(move || child.output()).await.expect("join").expect("child");
    let wall_s = start.elapsed().as_secs_f64();
    assert!(out.status.success(), "phone child failed: {}", String::from_utf8_lossy(&out.stderr));
    let report = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> f64 {
        report
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(f64::NAN)
    };
    let run = PhoneRun {
        wall_s,
        cpu_s: field("cpu_s="),
        rss_kib: field("peak_rss_kib="),
        stored: field("stored=") as usize,
    };
    std::fs::remove_dir_all(phone_dir).expect("rm");
    run
}

/// The phone side: open a fresh data directory, stream everything, print figures.
fn phone_child(url: &str, dir: &Path) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let report = rt.block_on(async {
        let config = CompanionConfig {
            safety_floor: dashkeep_core::storage::SafetyFloor { min_bytes: 0, fraction: 0.0 },
            ..CompanionConfig::new(dir)
        };
        let phone = Companion::open(config).await.expect("open");
        phone.stream_camera(url).await.expect("stream now").report
    });
    drop(rt);
    println!("stored={}", report.stored);
    println!("cpu_s={}", cpu_seconds());
    println!("peak_rss_kib={}", status_field("VmHWM:"));
}

/// User + system CPU time of this process, from /proc/self/stat (clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn status_field(name: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN)
}
