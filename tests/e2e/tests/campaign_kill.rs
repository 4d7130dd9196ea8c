//! The kill -9 campaign: a worker process (`campaign_worker`) streams, commits, evicts, cuts,
//! uploads, syncs or deletes against the simulated camera and the S3 server (moto) and is killed
//! with SIGKILL after a random delay; then a fresh process opens the data directory (which
//! reconciles) and checks every invariant (`dashkeep_e2e::invariants`).
//!
//! Short form (in `cargo test`): 7 kills (the count is of kills; runs the worker let finish
//! are checked too). Long form (at least 100 kills):
//! `DASHKEEP_CAMPAIGN=long cargo test -p dashkeep-e2e --test campaign_kill -- --nocapture`.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dashkeep_e2e::campaign::{Counts, Plan, Rng, s3_endpoint};
use dashkeep_simcam::Scenario;

const OPS: [&str; 7] = ["commit", "stream", "cut", "upload", "sync", "delete", "evict"];

/// How one worker run ended.
struct Run {
    /// Whether the campaign killed it.
    killed: bool,
    /// Whether it had opened its companion (reconciled) before it ended.
    opened: bool,
    /// Its exit status, when it was not killed.
    status: Option<std::process::ExitStatus>,
    /// How long it ran.
    elapsed: Duration,
    /// Its standard output and error.
    stdout: String,
    stderr: String,
}

/// Runs the worker with `args`; SIGKILLs it after `kill_after` (None: lets it finish, within
/// two minutes).
fn run_worker(args: &[String], kill_after: Option<Duration>) -> Run {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_campaign_worker"))
        .args(args)
        .env("RUST_LOG", "off")
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the worker starts");
    let deadline = started + kill_after.unwrap_or(Duration::from_secs(120));
    let mut killed = false;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() >= deadline {
            child.kill().expect("SIGKILL");
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = started.elapsed();
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        killed,
        opened: stdout.contains("OPENED"),
        status: (!killed).then_some(out.status),
        elapsed,
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_points_keeps_every_invariant() {
    let plan = Plan::from_env((7, 120), (140, 3600));
    let started = Instant::now();
    // Three drives recorded live at 20x, on a card small enough that the camera overwrites too.
    let drives = if plan.long { 12 } else { 3 };
    let world =
        common::camera_at_speed(Scenario::multi_drive(drives, 600, 10), 20.0, 60_000_000).await;
    // Some recorded driving first, so every operation has something to work on.
    world.camera.wait_for_seq(6).await;
    let endpoint = s3_endpoint();
    // A fresh account every run (a replayed seed must not meet the objects of its first run).
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let account = format!("kill{:016x}{nonce:08x}", Rng::new(plan.seed).next_u64());
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
    let (mut killed_by_op, mut finished, mut killed_opening) = ([0u64; OPS.len()], 0u64, 0u64);
    // How long each operation ran when it was let finish: kills are drawn over that span (first
    // guess 1.5 s), so they land from start-up (opening reconciles) to deep inside the operation.
    let mut typical = [Duration::from_millis(1500); OPS.len()];
    let mut i = 0;
    while counts.faults < plan.count && started.elapsed() < plan.bound {
        let op_index = (i as usize) % OPS.len();
        let op = OPS[op_index];
        let span = typical[op_index].as_millis() as u64 * 11 / 10;
        let delay = Duration::from_millis(10 + rng.below(span.max(50)));
        let worker_args = args(op, rng.next_u64());
        let run = tokio::task::spawn_blocking(move || run_worker(&worker_args, Some(delay)))
            .await
            .expect("worker task");
        if run.killed {
            counts.faults += 1;
            killed_by_op[op_index] += 1;
            killed_opening += u64::from(!run.opened);
        } else {
            finished += 1;
            typical[op_index] = run.elapsed;
            if run.status.is_some_and(|s| !s.success()) {
                counts.checked(
                    &format!("#{i} {op}"),
                    vec![format!("the worker failed: {}", run.stderr.trim())],
                );
            }
        }
        let check_args = args("check", 0);
        let check = tokio::task::spawn_blocking(move || run_worker(&check_args, None))
            .await
            .expect("check task");
        counts.restarts += 1;
        assert!(
            check.stdout.contains("CHECKED"),
            "the check process did not finish: {}{}",
            check.stdout,
            check.stderr
        );
        let violations = check
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("VIOLATION "))
            .map(str::to_string)
            .collect();
        counts.checked(&format!("#{i} {op} (killed: {})", run.killed), violations);
        i += 1;
    }
    println!(
        "kills by operation: {}; finished before the kill: {finished}; \
         killed while opening (reconciling): {killed_opening}",
        OPS.iter()
            .zip(killed_by_op)
            .map(|(o, n)| format!("{o} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "last run time of each operation let finish: {}",
        OPS.iter()
            .zip(typical)
            .map(|(o, d)| format!("{o} {} ms", d.as_millis()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    counts.finish("kill -9", &plan, started);
    assert!(counts.faults > 0, "no worker was killed: the delays are too long");
}
