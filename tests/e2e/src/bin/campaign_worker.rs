//! One operation of the kill -9 campaign (`tests/campaign_kill.rs`), in its own process so the
//! campaign can kill it at a random moment: it opens a companion on a data directory, runs the
//! operation against the simulated camera and the S3 server, closes and exits.
//!
//! `campaign_worker <op> <data-dir> <camera-url> <s3-endpoint|-> <account> <seed>`
//!
//! Operations: `stream` (follow the live feed), `commit` (stream now, three times), `evict` (set
//! a random quota, three times), `cut` (three manual clips of random windows), `upload` (a clip,
//! then the upload queue), `sync`
//! (restore from the cloud), `delete` (delete a random clip for good; prints `deleted <key>`),
//! `check` (open, which reconciles, then print the invariants' violations, one per line).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dashkeep_core::cloud::{BackendConfig, CloudConfig, NetworkState, RetrySettings};
use dashkeep_core::ingest::{IngestError, RetryPolicy};
use dashkeep_core::storage::{SafetyFloor, StorageError, StorageProbe, VolumeSpace};
use dashkeep_core::{Companion, CompanionConfig, CompanionError};
use dashkeep_e2e::campaign::{Rng, s3_bucket_config};
use dashkeep_e2e::invariants::{self, Expect};

/// The phone's size in the campaign: small, so quotas of 10% to 90% really evict.
pub const PHONE_BYTES: u64 = 40_000_000;

/// How many times the short operations (commit, evict, cut) repeat, so a kill lands inside them.
const REPEAT: usize = 3;

/// A phone of [`PHONE_BYTES`] whose free space is what the data directory leaves.
struct SmallPhone(PathBuf);

impl StorageProbe for SmallPhone {
    fn volume_space(&self, _: &Path) -> Result<VolumeSpace, StorageError> {
        let used: u64 = invariants::files_below(&self.0)
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        Ok(VolumeSpace {
            total_bytes: PHONE_BYTES,
            available_bytes: PHONE_BYTES.saturating_sub(used),
        })
    }
}

fn cloud_config(endpoint: &str, account: &str) -> Option<CloudConfig> {
    (endpoint != "-").then(|| {
        let mut c = CloudConfig::new(BackendConfig::S3(s3_bucket_config(endpoint)), account);
        c.part_size = 5 * 1024 * 1024;
        c.retry = RetrySettings {
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(300),
            store_retries: 4,
            retry_timeout: Duration::from_secs(10),
            part_attempts: 3,
            request_timeout: Duration::from_secs(10),
        };
        c
    })
}

async fn open(dir: &Path, endpoint: &str, account: &str) -> anyhow::Result<Arc<Companion>> {
    let config = CompanionConfig {
        probe: Arc::new(SmallPhone(dir.to_path_buf())),
        safety_floor: SafetyFloor { min_bytes: 0, fraction: 0.0 },
        retry: RetryPolicy {
            max_retries: 5,
            first_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
        },
        cloud: cloud_config(endpoint, account),
        ..CompanionConfig::new(dir)
    };
    Ok(Companion::open(config).await?)
}

/// Lists the account's objects (keys), through the same backend the app uses.
async fn cloud_objects(endpoint: &str, account: &str) -> anyhow::Result<Option<Vec<String>>> {
    use dashkeep_core::cloud::{ObjectBackend, S3Backend};
    if endpoint == "-" {
        return Ok(None);
    }
    let backend = S3Backend::new(&s3_bucket_config(endpoint), &RetrySettings::default())?;
    let listed = backend.list(&format!("accounts/{account}/")).await?;
    Ok(Some(listed.into_iter().map(|l| l.key).collect()))
}

/// A random drive with segments on the phone, and a window inside them (seconds from its start).
async fn clip_window(phone: &Companion, rng: &mut Rng) -> anyhow::Result<Option<(i64, f64, f64)>> {
    let drives: Vec<_> =
        phone.drives().await?.into_iter().filter(|d| d.segments_on_phone > 0).collect();
    if drives.is_empty() {
        return Ok(None);
    }
    let d = &drives[rng.below(drives.len() as u64) as usize];
    let segs: Vec<_> = phone
        .drive_segments(d.id)
        .await?
        .into_iter()
        .filter(|s| s.phone_file.is_some() && !s.phone_deleting)
        .collect();
    let Some(s) = segs.get(rng.below(segs.len() as u64) as usize) else { return Ok(None) };
    let from = (s.started_at_ms - d.started_at_ms) as f64 / 1000.0;
    let len = (s.duration_ms as f64 / 1000.0).min(8.0);
    // A random start to the millisecond: a second request of nearly the same window (the user
    // asking twice) must give back the first clip, never a second one.
    let start = from + 0.1 + rng.below(3000) as f64 / 1000.0;
    Ok(Some((d.id.0, start, from + len)))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, op, dir, camera, endpoint, account, seed] = &args[..] else {
        anyhow::bail!(
            "usage: campaign_worker <op> <data-dir> <camera-url> <s3|-> <account> <seed>"
        );
    };
    let dir = PathBuf::from(dir);
    let mut rng = Rng::new(seed.parse()?);
    let phone = open(&dir, endpoint, account).await?;
    if let Some(cloud) = phone.cloud() {
        cloud.set_network(NetworkState::WIFI);
    }
    // Marks the end of opening (which reconciles), so the campaign knows where a kill landed.
    println!("OPENED");
    match op.as_str() {
        "stream" => {
            phone.start_streaming(camera).await?;
            tokio::time::sleep(Duration::from_secs(20)).await;
        }
        "commit" => {
            for _ in 0..REPEAT {
                match phone.stream_now(camera).await {
                    // A small quota with clips or locked drives: "full" is the answer, not a fault.
                    Err(e) if is_full(&e) => break,
                    other => {
                        other?;
                    }
                }
            }
        }
        "evict" => {
            for _ in 0..REPEAT {
                phone.set_quota(0.1 + 0.1 * rng.below(9) as f64).await?;
            }
        }
        "cut" => {
            for _ in 0..REPEAT {
                if let Some((drive, from, to)) = clip_window(&phone, &mut rng).await? {
                    let drive = dashkeep_core::catalog::DriveId(drive);
                    phone.create_clip(drive, from, to).await?;
                }
            }
        }
        "upload" => {
            // A fresh clip, so a kill can land while it uploads (earlier ones went up already).
            if let Some((drive, from, to)) = clip_window(&phone, &mut rng).await? {
                let drive = dashkeep_core::catalog::DriveId(drive);
                phone.create_clip(drive, from, to).await?;
            }
            if let Some(cloud) = phone.cloud() {
                cloud.run_queue().await?;
            }
        }
        "sync" => {
            if let Some(cloud) = phone.cloud() {
                cloud.sync_from_cloud().await?;
            }
        }
        "delete" => delete_one(&phone, &dir, &mut rng).await?,
        "check" => {
            // A quota below what must be kept (clips not in the cloud yet, locked drives) is
            // "full" once everything evictable went: the quota is then checked as unreachable.
            let status = phone.storage_status().await?;
            let limit = (!status.full).then_some(status.budget.limit_bytes);
            phone.close().await;
            let expect = Expect {
                cloud_objects: cloud_objects(endpoint, account).await?,
                deleted_cloud_keys: read_deleted(&dir, "deleted"),
                deleted_clips: read_deleted(&dir, "deleted-ids")
                    .iter()
                    .filter_map(|id| id.parse().ok())
                    .collect(),
                quota_bytes: limit,
            };
            for v in invariants::check(&dir, &expect) {
                println!("VIOLATION {v}");
            }
            println!("CHECKED");
            return Ok(());
        }
        other => anyhow::bail!("unknown op {other}"),
    }
    phone.close().await;
    Ok(())
}

/// Whether `e` is the storage-full answer (a pause for streaming, an answer for "stream now").
fn is_full(e: &CompanionError) -> bool {
    match e {
        CompanionError::Ingest(IngestError::Storage(s)) | CompanionError::Storage(s) => s.is_full(),
        _ => false,
    }
}

/// The campaign's records of clips deleted for good, beside the data dir: by cloud key
/// (`deleted`) and by catalog id (`deleted-ids`).
fn deleted_log(dir: &Path, kind: &str) -> PathBuf {
    dir.with_extension(kind)
}

fn read_deleted(dir: &Path, kind: &str) -> std::collections::BTreeSet<String> {
    std::fs::read_to_string(deleted_log(dir, kind))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Appends `line` to a record of deleted clips, durably.
fn log_deleted(dir: &Path, kind: &str, line: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f =
        std::fs::OpenOptions::new().create(true).append(true).open(deleted_log(dir, kind))?;
    writeln!(f, "{line}")?;
    f.sync_all()?;
    Ok(())
}

async fn delete_one(phone: &Companion, dir: &Path, rng: &mut Rng) -> anyhow::Result<()> {
    let Some(cloud) = phone.cloud() else { return Ok(()) };
    // Any listed clip, pending ones too (a cut interrupted by a kill, waiting to be cut again):
    // deleting one cancels it for good.
    let clips = phone.clips().await?;
    let Some(clip) = clips.get(rng.below(clips.len() as u64) as usize) else { return Ok(()) };
    let key: Option<String> = rusqlite::Connection::open(dir.join("catalog.sqlite"))?.query_row(
        "SELECT cloud_key FROM clips WHERE id = ?1",
        [clip.id.0],
        |r| r.get(0),
    )?;
    cloud.delete_clip(clip.id.0).await?;
    log_deleted(dir, "deleted-ids", &clip.id.0.to_string())?;
    if let Some(key) = key {
        log_deleted(dir, "deleted", &key)?;
    }
    Ok(())
}
