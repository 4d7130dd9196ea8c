//! Upload benchmark: 200 MiB of clips (8 × 25 MiB) to a local S3 server (s3s-fs from
//! `scripts/s3-servers`, or `--moto`), by the cloud queue (8 MiB parts, 4 in flight) in a child
//! process, and by boto3's `upload_file` (TransferConfig with 8 MiB parts) on the same files to
//! the same server in the same run. The two alternate for 5 rounds (boto3 first, then ours, each
//! into a fresh account) and the figures are the rounds' medians (the machine is noisy). Prints
//! throughput, the child's peak RSS (VmHWM), and the ratio of our throughput to boto3's per
//! round and as the median.
//!
//! Run: `scripts/s3-servers start && cargo bench -p dashkeep-e2e --bench upload`
//! (`-- --clips N --mib M --rounds R` to change the set).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use dashkeep_core::catalog::{Catalog, NewClip};
use dashkeep_core::cloud::{
    BackendConfig, CloudConfig, CloudService, NetworkState, S3Config, Secret,
};
use dashkeep_core::storage::DataLayout;
use sha2::{Digest, Sha256};

const CHILD_FLAG: &str = "--upload-child";
const MIB: u64 = 1024 * 1024;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn setting(name: &str) -> Option<String> {
    if let Ok(v) = std::env::var(name) {
        return Some(v);
    }
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/s3-servers.env");
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        l.trim_start_matches("export ").strip_prefix(&format!("{name}=")).map(str::to_string)
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == CHILD_FLAG) {
        let (endpoint, dir, account) = (&args[i + 1], &args[i + 2], &args[i + 3]);
        upload_child(endpoint, Path::new(dir), account);
        return;
    }
    let clips: u64 = arg(&args, "--clips", 8);
    let mib: u64 = arg(&args, "--mib", 25);
    let var = if args.iter().any(|a| a == "--moto") {
        "DASHKEEP_MOTO_ENDPOINT"
    } else {
        "DASHKEEP_S3S_ENDPOINT"
    };
    let Some(endpoint) = setting(var) else {
        eprintln!("{var} is not set: run scripts/s3-servers first");
        std::process::exit(1);
    };
    ensure_boto3();
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = DataLayout::new(dir.path().join("phone"));
    layout.create_dirs().expect("dirs");
    let files = make_clips(&layout, clips, mib * MIB);
    let total: u64 = files.iter().map(|f| f.1).sum();
    println!("uploading {clips} clips, {} MiB in all, to {endpoint}", total / MIB);

    let rounds: usize = arg(&args, "--rounds", 5);
    let mbps = |secs: f64| total as f64 / MIB as f64 / secs;
    let (mut ours, mut boto, mut ratios, mut hwm_max) =
        (Vec::new(), Vec::new(), Vec::new(), 0.0f64);
    for round in 1..=rounds {
        let tag = format!("{}r{round}", std::process::id());
        let boto_s = boto3_upload(&endpoint, &layout.videos_dir(), &files, &format!("boto{tag}"));
        let (ours_s, hwm_kib) = ours_upload(&endpoint, dir.path(), &layout, &files, &tag);
        println!(
            "  round {round}: boto3 {boto_s:.2} s ({:.1} MiB/s), dashkeep {ours_s:.2} s ({:.1} MiB/s), ratio {:.2}",
            mbps(boto_s),
            mbps(ours_s),
            boto_s / ours_s
        );
        ours.push(ours_s);
        boto.push(boto_s);
        ratios.push(boto_s / ours_s);
        hwm_max = hwm_max.max(hwm_kib);
    }
    let (ours_s, boto_s) = (median(ours), median(boto));
    println!(
        "dashkeep: median {ours_s:.2} s, {:.1} MiB/s, peak RSS at most {:.1} MiB",
        mbps(ours_s),
        hwm_max / 1024.0
    );
    println!("boto3 (reference): median {boto_s:.2} s, {:.1} MiB/s", mbps(boto_s));
    println!(
        "median ratio (dashkeep throughput / boto3, per round): {:.2} (goal >= 0.9)",
        median(ratios)
    );
    println!("peak RSS goal < 64 MiB: {}", if hwm_max / 1024.0 < 64.0 { "met" } else { "MISSED" });
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One round of ours: a fresh phone directory whose clips are hard links to the same files, a
/// fresh account, the queue run in a child process. Returns (seconds, peak RSS in KiB).
fn ours_upload(
    endpoint: &str,
    work: &Path,
    source: &DataLayout,
    files: &[(String, u64, String)],
    tag: &str,
) -> (f64, f64) {
    let layout = DataLayout::new(work.join(format!("phone-{tag}")));
    layout.create_dirs().expect("dirs");
    for (name, _, _) in files {
        std::fs::hard_link(source.video_path(name), layout.video_path(name)).expect("link");
    }
    let exe = std::env::current_exe().expect("exe");
    let account = format!("bench{tag}");
    let out = Command::new(exe)
        .args([CHILD_FLAG, endpoint, &layout.root().display().to_string(), &account])
        .output()
        .expect("child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
        std::process::exit(1);
    }
    let field = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(f64::NAN)
    };
    let _ = std::fs::remove_dir_all(layout.root());
    (field("seconds"), field("vmhwm_kib"))
}

/// Writes the clips (random bytes) and returns (file name, size, sha256).
fn make_clips(layout: &DataLayout, count: u64, size: u64) -> Vec<(String, u64, String)> {
    let mut x: u64 = 0x1234_5678_9abc_def1;
    (0..count)
        .map(|i| {
            let name = format!("bench_{i:03}.mp4");
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(layout.video_path(&name)).expect("create"),
            );
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            let mut left = size;
            while left > 0 {
                for c in buf.chunks_mut(8) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
                }
                let n = left.min(buf.len() as u64) as usize;
                hasher.update(&buf[..n]);
                f.write_all(&buf[..n]).expect("write");
                left -= n as u64;
            }
            f.flush().expect("flush");
            (name, size, hex::encode(hasher.finalize()))
        })
        .collect()
}

fn s3_config(endpoint: &str, account: &str) -> CloudConfig {
    let s3 = S3Config {
        endpoint: Some(endpoint.into()),
        region: "us-east-1".into(),
        bucket: setting("DASHKEEP_S3_BUCKET").unwrap_or_else(|| "dashkeep".into()),
        access_key: Secret::new(setting("DASHKEEP_S3_ACCESS_KEY").unwrap_or_default()),
        secret_key: Secret::new(setting("DASHKEEP_S3_SECRET_KEY").unwrap_or_default()),
        session_token: None,
        credential_source: None,
        path_style: true,
        part_checksums: true,
    };
    CloudConfig::new(BackendConfig::S3(s3), account)
}

/// The phone side, in its own process so VmHWM is its own: registers the clips, then times one
/// run of the queue.
fn upload_child(endpoint: &str, root: &Path, account: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let layout = DataLayout::new(root);
        let catalog = Catalog::open(&layout.catalog_path()).await.expect("catalog");
        let cloud = CloudService::open(
            catalog.clone(),
            layout.clone(),
            s3_config(endpoint, account),
            Arc::new(|_| {}),
        )
        .await
        .expect("cloud");
        let mut names: Vec<PathBuf> = std::fs::read_dir(layout.videos_dir())
            .expect("videos")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        names.sort();
        for path in names {
            let bytes = std::fs::metadata(&path).expect("meta").len();
            let sha = hash_file(&path);
            let id = catalog
                .insert_ready_clip(NewClip {
                    drive_id: None,
                    reason: "manual".into(),
                    start_ms: 1,
                    end_ms: 2,
                    phone_file: path.file_name().unwrap().to_string_lossy().into_owned(),
                    size_bytes: bytes,
                    sha256: sha,
                    peak_g: None,
                    location: None,
                })
                .await
                .expect("clip");
            cloud.enqueue(id).await.expect("enqueue");
        }
        cloud.set_network(NetworkState::WIFI);
        let start = Instant::now();
        let report = cloud.run_queue().await.expect("queue");
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(report.failed, 0, "{report:?}");
        println!("uploaded {}", report.uploaded);
        println!("seconds {secs}");
        println!("vmhwm_kib {}", vm_hwm_kib());
    });
}

fn hash_file(path: &Path) -> String {
    let mut f = std::fs::File::open(path).expect("open");
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).expect("hash");
    hex::encode(h.finalize())
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn ensure_boto3() {
    let ok =
        Command::new("python3").args(["-c", "import boto3"]).status().is_ok_and(|s| s.success());
    if !ok {
        let _ = Command::new("python3").args(["-m", "pip", "install", "--quiet", "boto3"]).status();
    }
}

/// boto3's managed multipart upload of the same files; returns seconds.
fn boto3_upload(endpoint: &str, root: &Path, files: &[(String, u64, String)], prefix: &str) -> f64 {
    let script = r#"
import sys, time, os, boto3
from boto3.s3.transfer import TransferConfig
endpoint, bucket, prefix, root = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
    aws_access_key_id=os.environ["AK"], aws_secret_access_key=os.environ["SK"])
cfg = TransferConfig(multipart_threshold=8*1024*1024, multipart_chunksize=8*1024*1024)
start = time.perf_counter()
for name in sys.argv[5:]:
    s3.upload_file(os.path.join(root, name), bucket, prefix + "/" + name, Config=cfg)
print(time.perf_counter() - start)
"#;
    let root = root.display().to_string();
    let mut cmd = Command::new("python3");
    cmd.args([
        "-c",
        script,
        endpoint,
        &setting("DASHKEEP_S3_BUCKET").unwrap_or_else(|| "dashkeep".into()),
        prefix,
        &root,
    ]);
    for f in files {
        cmd.arg(&f.0);
    }
    cmd.env("AK", setting("DASHKEEP_S3_ACCESS_KEY").unwrap_or_default());
    cmd.env("SK", setting("DASHKEEP_S3_SECRET_KEY").unwrap_or_default());
    let out = cmd.output().expect("python3 runs");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|_| {
        eprintln!("boto3 failed: {}", String::from_utf8_lossy(&out.stderr));
        f64::NAN
    })
}
