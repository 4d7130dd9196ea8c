//! The kill -9 campaign: a worker process (`campaign_worker`) streams, commits, evicts, cuts,
//! uploads, syncs or deletes against the simulated camera and the S3 server (moto) and is killed
//! with SIGKILL after a random delay; then a fresh process opens the data directory (which
//! reconciles) and checks every invariant (`dashkeep_e2e::invariants`).
//!
//! Short form (in `cargo test`): 7 kills, one per operation. Long form (at least 100 kills):
//! `DASHKEEP_CAMPAIGN=long cargo test -p dashkeep-e2e --test campaign_kill -- --nocapture`.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dashkeep_e2e::campaign::{Counts, Plan, Rng, s3_endpoint};
use dashkeep_simcam::Scenario;

const OPS: [&str; 7] = ["commit", "stream", "cut", "upload", "sync", "delete", "evict"];

/// Runs the worker for `op`; kills it after `kill_after` (None: lets it finish). Returns
/// whether it was killed, and its stdout.
fn run_worker(args: &[String], kill_after: Option<Duration>) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_campaign_worker"))
        .args(args)
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the worker starts");
    let deadline = Instant::now() + kill_after.unwrap_or(Duration::from_secs(120));
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() >= deadline {
            child.kill().expect("SIGKILL");
            let _ = child.wait();
            return (true, String::new());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().expect("output");
    (false, String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_points_keeps_every_invariant() {
    let plan = Plan::from_env((7, 120), (140, 3600));
    let started = Instant::now();
    // Three drives recorded live at 20x, on a card small enough that the camera overwrites too.
    let drives = if plan.long { 12 } else { 3 };
    let world =
        common::camera_at_speed(Scenario::multi_drive(drives, 600, 10), 20.0, 60_000_000).await;
    let endpoint = s3_endpoint();
    let account = format!("kill{:016x}", Rng::new(plan.seed).next_u64());
    let dir = world.data_dir();
    let mut rng = Rng::new(plan.seed);
    let mut counts = Counts::default();
    let args = |op: &str, seed: u64| -> Vec<String> {
        [op, &dir.display().to_string(), &world.camera.base_url(), &endpoint, &account]
            .iter()
            .map(|s| s.to_string())
            .chain([seed.to_string()])
            .collect()
    };
    let (mut killed_by_op, mut finished) = ([0u64; OPS.len()], 0u64);
    let mut i = 0;
    while i < plan.count && started.elapsed() < plan.bound {
        let op_index = (i as usize) % OPS.len();
        let op = OPS[op_index];
        // Killed anywhere from start-up to deep inside the operation.
        let delay = Duration::from_millis(20 + rng.below(1500));
        let worker_args = args(op, rng.next_u64());
        let (killed, _) =
            tokio::task::spawn_blocking(move || run_worker(&worker_args, Some(delay)))
                .await
                .expect("worker task");
        if killed {
            counts.faults += 1;
            killed_by_op[op_index] += 1;
        } else {
            finished += 1;
        }
        let check_args = args("check", 0);
        let (_, out) = tokio::task::spawn_blocking(move || run_worker(&check_args, None))
            .await
            .expect("check task");
        counts.restarts += 1;
        assert!(out.contains("CHECKED"), "the check process did not finish: {out}");
        let violations =
            out.lines().filter_map(|l| l.strip_prefix("VIOLATION ")).map(str::to_string).collect();
        counts.checked(&format!("#{i} {op} (killed: {killed})"), violations);
        i += 1;
    }
    println!(
        "kills by operation: {}; finished before the kill: {finished}",
        OPS.iter()
            .zip(killed_by_op)
            .map(|(o, n)| format!("{o} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    counts.finish("kill -9", &plan, started);
    assert!(counts.faults > 0, "no worker was killed: the delays are too long");
}
