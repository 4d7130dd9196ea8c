//! Ingest benchmark: stream 20 segments of about 60 MB (a minute of 1080p at 8 Mbps) from the
//! simulated camera on loopback, and compare with `curl` downloading the same files in the same
//! run. Prints throughput, CPU seconds per GB, peak RSS, and the ratio to curl for 5 alternating
//! rounds and their median (the machine is noisy); repeats with 15-second segments to show that
//! memory does not grow with segment size.
//!
//! curl leaves its files in the page cache; the phone makes each one durable before naming it.
//! So each round also times the fsync of curl's files, and `dd` writing as many bytes durably
//! (direct 4 MiB writes): the disk's ceiling, which bounds any durable ingest where the disk is
//! slower than loopback.
//!
//! With `--dialect novatek` the simulated camera speaks the Novatek dialect: curl fetches the
//! same `.MP4` files by their Novatek paths, and the phone finds the protocol by probing and
//! streams through the Novatek driver (listing twice, stopping and restarting the recording).
//!
//! Run: `cargo bench -p dashkeep-e2e --bench ingest` (add `-- --segments N` to change the count,
//! `-- --dialect novatek` for a Novatek camera, `-- --segment-secs 15` for one segment length
//! only). The phone side runs in a child process (this binary re-executed) so its peak RSS is
//! its own.

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
    // One segment length only (`--segment-secs 15`), for alternating runs of two builds.
    let lengths: Vec<u32> = match args.iter().position(|a| a == "--segment-secs") {
        Some(i) => vec![args.get(i + 1).and_then(|n| n.parse().ok()).expect("--segment-secs N")],
        None => vec![60, 15],
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    println!("ingest benchmark: {segments} segments, simulated {dialect:?} camera on loopback\n");
    for segment_secs in lengths {
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
        let curl = run_curl(&camera, &card, dialect, &dir.path().join("curl")).await;
        let ours = run_phone(&camera, &dir.path().join(format!("phone-{round}"))).await;
        let disk_s = disk_ceiling(dir.path(), total).await;
        assert_eq!(ours.stored, card.len(), "every segment stored");
        let mbps = |s: f64| total as f64 / s / 1e6;
        println!(
            "  round {round}: curl {:>5.0} MB/s ({:>4.0} with fsync)  dashkeep {:>5.0} MB/s \
             (open {:.0} ms, stream {:.0} ms)  {:.2} CPU s/GB  peak RSS {:.1} MiB  \
             ratio {:.2} ({:.2} to curl with fsync; {:.2} of the disk's {:.0} MB/s)",
            mbps(curl.fetch_s),
            mbps(curl.fetch_s + curl.fsync_s),
            mbps(ours.wall_s),
            ours.open_s * 1e3,
            ours.stream_s * 1e3,
            ours.cpu_s / gb,
            ours.rss_kib / 1024.0,
            curl.fetch_s / ours.wall_s,
            (curl.fetch_s + curl.fsync_s) / ours.wall_s,
            disk_s / ours.wall_s,
            mbps(disk_s),
        );
        rounds.push(Round {
            ratio: curl.fetch_s / ours.wall_s,
            durable_ratio: (curl.fetch_s + curl.fsync_s) / ours.wall_s,
            of_disk: disk_s / ours.wall_s,
            cpu_s_per_gb: ours.cpu_s / gb,
            rss_mib: ours.rss_kib / 1024.0,
        });
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ratios: Vec<f64> = rounds.iter().map(|r| r.ratio).collect();
    println!(
        "  median ratio dashkeep/curl {:.2} (min {:.2}, max {:.2}); to curl with fsync {:.2}; \
         of the disk's ceiling {:.2} (where a durable ingest's ratio to curl tops out: {:.2}); \
         median {:.2} CPU s/GB; peak RSS at most {:.1} MiB\n",
        median(ratios.clone()),
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
        median(rounds.iter().map(|r| r.durable_ratio).collect()),
        median(rounds.iter().map(|r| r.of_disk).collect()),
        median(rounds.iter().map(|r| r.ratio / r.of_disk).collect()),
        median(rounds.iter().map(|r| r.cpu_s_per_gb).collect()),
        rounds.iter().map(|r| r.rss_mib).fold(0.0, f64::max),
    );
    camera.shutdown().await;
}

/// Rounds per segment size: the machine is noisy, so each figure is a median of alternating runs.
const ROUNDS: usize = 5;

/// One round's figures.
struct Round {
    /// curl's time over the phone's.
    ratio: f64,
    /// curl's time, with the fsync of what it wrote, over the phone's.
    durable_ratio: f64,
    /// The disk's time to take as many bytes durably, over the phone's.
    of_disk: f64,
    cpu_s_per_gb: f64,
    rss_mib: f64,
}

/// How long curl took: to fetch everything into the page cache, then to make it durable.
struct CurlRun {
    fetch_s: f64,
    fsync_s: f64,
}

/// The reference: curl fetching the same files, one process, one connection (a Novatek camera
/// lists only while it does not record, so curl gets its recording stopped first, as the phone
/// does). curl leaves its files in the page cache, to reach the disk later, or never if they
/// are deleted first; the phone makes every file durable before it catalogues it. So the time
/// to fsync what curl wrote (`sync FILE...`, once curl is done) is measured too: curl's time
/// with the same durability as the phone's.
async fn run_curl(
    camera: &SimCamera,
    card: &[(dashkeep_core::protocol::SegmentInfo, std::path::PathBuf, std::path::PathBuf)],
    dialect: Dialect,
    curl_dir: &Path,
) -> CurlRun {
    std::fs::create_dir_all(curl_dir).expect("mkdir");
    let mut curl = Command::new("curl");
    curl.arg("-sS").arg("--fail");
    let mut written = Vec::new();
    let base = camera.base_url();
    for (info, _, _) in card {
        if dialect == Dialect::Novatek {
            written.push(curl_dir.join(novatek::file_name(info)));
            curl.arg("-o").arg(written.last().expect("pushed"));
            curl.arg(format!("{base}{}", novatek::url_path(info, false)));
            continue;
        }
        for kind in ["video", "telemetry"] {
            written.push(curl_dir.join(format!("{}.{kind}", info.id)));
            curl.arg("-o").arg(written.last().expect("pushed"));
            curl.arg(format!("{base}/api/v1/segments/{}/{kind}", info.id));
        }
    }
    if dialect == Dialect::Novatek {
        novatek_record(&base, false);
    }
    let start = Instant::now();
    let status = tokio::task::spawn_blocking(move || curl.status()).await.expect("join");
    let fetch_s = start.elapsed().as_secs_f64();
    assert!(status.is_ok_and(|s| s.success()), "curl failed");
    let mut sync = Command::new("sync");
    sync.args(&written);
    let start = Instant::now();
    let status = tokio::task::spawn_blocking(move || sync.status()).await.expect("join");
    let fsync_s = start.elapsed().as_secs_f64();
    assert!(status.is_ok_and(|s| s.success()), "sync failed");
    if dialect == Dialect::Novatek {
        novatek_record(&base, true);
    }
    std::fs::remove_dir_all(curl_dir).expect("rm");
    CurlRun { fetch_s, fsync_s }
}

/// The disk's ceiling: the time `dd` takes to write `bytes` to the same file system with direct
/// 4 MiB writes and an fsync, nothing else running. Ingest writes every byte durably, so it
/// cannot finish sooner; where loopback is faster than the disk, this (not the network) bounds
/// its ratio to curl, which only fills the page cache.
async fn disk_ceiling(dir: &Path, bytes: u64) -> f64 {
    let path = dir.join("ceiling");
    let mut dd = Command::new("dd");
    dd.args(["if=/dev/zero", "bs=4M", "oflag=direct", "conv=fsync", "status=none"])
        .arg(format!("of={}", path.display()))
        .arg(format!("count={}", bytes.div_ceil(4 << 20)));
    let start = Instant::now();
    let status = tokio::task::spawn_blocking(move || dd.status()).await.expect("join");
    let seconds = start.elapsed().as_secs_f64();
    assert!(status.is_ok_and(|s| s.success()), "dd failed");
    std::fs::remove_file(path).expect("rm");
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
    /// From the child's start to an open catalog, and from there to the end of the pass.
    open_s: f64,
    stream_s: f64,
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
    if std::env::var_os("DASHKEEP_BENCH_TRACE").is_some() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
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
        open_s: field("open_s="),
        stream_s: field("stream_s="),
    };
    std::fs::remove_dir_all(phone_dir).expect("rm");
    run
}

/// The phone side: open a fresh data directory, stream everything, print figures.
fn phone_child(url: &str, dir: &Path) {
    if std::env::var_os("DASHKEEP_BENCH_TRACE").is_some() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_env_filter("dashkeep_core=debug")
            .init();
    }
    let start = Instant::now();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (report, open_s) = rt.block_on(async {
        let config = CompanionConfig {
            safety_floor: dashkeep_core::storage::SafetyFloor { min_bytes: 0, fraction: 0.0 },
            ..CompanionConfig::new(dir)
        };
        let phone = Companion::open(config).await.expect("open");
        let open_s = start.elapsed().as_secs_f64();
        (phone.stream_camera(url).await.expect("stream now").report, open_s)
    });
    drop(rt);
    println!("open_s={open_s}");
    println!("stream_s={}", start.elapsed().as_secs_f64() - open_s);
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
