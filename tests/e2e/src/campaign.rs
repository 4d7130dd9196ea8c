//! What every fault campaign shares: a seeded random source, its size (seed, count and time
//! bound, short by default and long on demand through environment variables), the counts it
//! prints, and the S3 settings of the servers `scripts/s3-servers` starts.
//!
//! Long forms (see `docs/reliability.md`):
//! `DASHKEEP_CAMPAIGN=long cargo test -p dashkeep-e2e --test campaign_kill -- --nocapture`;
//! `DASHKEEP_CAMPAIGN_SEED`, `DASHKEEP_CAMPAIGN_COUNT` and `DASHKEEP_CAMPAIGN_SECS` override the
//! seed, the number of faults and the time bound of any form.

use std::path::Path;
use std::time::{Duration, Instant};

use dashkeep_core::cloud::{S3Config, Secret};

/// A small, seeded random source (SplitMix64): a campaign replays exactly from its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A source for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// A campaign's size: its seed, how many faults, and the wall-clock bound it stops at.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// The seed (printed, so a failure replays).
    pub seed: u64,
    /// How many faults to inject.
    pub count: u64,
    /// Stop injecting once this much time has passed.
    pub bound: Duration,
    /// Whether this is the long form.
    pub long: bool,
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

impl Plan {
    /// The plan from the environment: the short form (`short` faults within `short_secs`) unless
    /// `DASHKEEP_CAMPAIGN=long` (then `long` faults within `long_secs`); each overridable.
    pub fn from_env(short: (u64, u64), long: (u64, u64)) -> Self {
        let is_long = std::env::var("DASHKEEP_CAMPAIGN").is_ok_and(|v| v == "long");
        let (count, secs) = if is_long { long } else { short };
        let seed = env_u64("DASHKEEP_CAMPAIGN_SEED").unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
        Self {
            seed,
            count: env_u64("DASHKEEP_CAMPAIGN_COUNT").unwrap_or(count),
            bound: Duration::from_secs(env_u64("DASHKEEP_CAMPAIGN_SECS").unwrap_or(secs)),
            long: is_long,
        }
    }
}

/// What a campaign did, printed at its end.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    /// Faults injected.
    pub faults: u64,
    /// Restarts (a process or a companion reopened).
    pub restarts: u64,
    /// Invariant checks run.
    pub checks: u64,
    /// Violations found (each also printed).
    pub violations: Vec<String>,
}

impl Counts {
    /// Records one invariant check's violations, printing each.
    pub fn checked(&mut self, after: &str, violations: Vec<String>) {
        self.checks += 1;
        for v in violations {
            eprintln!("VIOLATION after {after}: {v}");
            self.violations.push(format!("after {after}: {v}"));
        }
    }

    /// Prints the counts in one line and fails if any invariant was violated.
    pub fn finish(&self, name: &str, plan: &Plan, started: Instant) {
        println!(
            "campaign {name}: seed {} ({} form), {:.1} s: faults injected {}, restarts {}, \
             invariant checks {}, violations: {}",
            plan.seed,
            if plan.long { "long" } else { "short" },
            started.elapsed().as_secs_f64(),
            self.faults,
            self.restarts,
            self.checks,
            self.violations.len()
        );
        assert!(self.violations.is_empty(), "{name}: {:#?}", self.violations);
    }
}

fn env_file_value(name: &str) -> Option<String> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/s3-servers.env");
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let l = l.trim_start_matches("export ");
        l.strip_prefix(&format!("{name}=")).map(str::to_string)
    })
}

/// A setting from the environment or `target/s3-servers.env`.
pub fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty()).or_else(|| env_file_value(name))
}

/// The moto S3 server's endpoint; panics saying how to start it when unset.
pub fn s3_endpoint() -> String {
    setting("DASHKEEP_MOTO_ENDPOINT").unwrap_or_else(|| {
        panic!(
            "DASHKEEP_MOTO_ENDPOINT is not set and target/s3-servers.env has no value: run \
             `scripts/s3-servers` (it installs and starts the S3 servers on loopback) first"
        )
    })
}

/// The S3 settings of the test servers for `endpoint` (a server, or a fault proxy before one).
pub fn s3_bucket_config(endpoint: &str) -> S3Config {
    S3Config {
        endpoint: Some(endpoint.to_string()),
        region: "us-east-1".into(),
        bucket: setting("DASHKEEP_S3_BUCKET").unwrap_or_else(|| "dashkeep".into()),
        access_key: Secret::new(
            setting("DASHKEEP_S3_ACCESS_KEY").unwrap_or_else(|| "dashkeeptestkey".into()),
        ),
        secret_key: Secret::new(
            setting("DASHKEEP_S3_SECRET_KEY").unwrap_or_else(|| "dashkeeptestsecret".into()),
        ),
        session_token: None,
        path_style: true,
        part_checksums: true,
        credential_source: None,
    }
}
