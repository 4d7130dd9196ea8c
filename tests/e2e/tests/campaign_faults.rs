//! Fault campaigns on a live phone, each with a seed, a count and a time bound (short in
//! `cargo test`, long with `DASHKEEP_CAMPAIGN=long`; see `dashkeep_e2e::campaign`):
//! - the camera: link drops mid-download, stalls, 500s, corrupt bytes, power cycles and a lying
//!   camera, while the phone follows the live feed;
//! - the disk: ENOSPC at random points on a small tmpfs (video, telemetry, the catalog and its
//!   WAL), which must pause streaming and resume by itself when room appears;
//! - the cloud: S3 503 SlowDown storms, connection resets and slow responses from a fault proxy
//!   in front of moto, while clips upload, sync and are deleted.
//!
//! After every fault the phone is stopped (or reopened) and every invariant is checked
//! (`dashkeep_e2e::invariants`); the counts are printed at the end.

mod cloud_support;
mod common;

use common::{Tmpfs, is_root};

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashkeep_core::cloud::{NetworkState, ObjectBackend, RetrySettings, S3Backend};
use dashkeep_core::companion::CompanionEvent;
use dashkeep_core::ingest::{IngestEvent, RetryPolicy};
use dashkeep_core::storage::{SafetyFloor, StorageError, StorageEvent, StorageProbe, VolumeSpace};
use dashkeep_core::{Companion, CompanionConfig};
use dashkeep_e2e::campaign::{Counts, Plan, Rng, s3_bucket_config, s3_endpoint};
use dashkeep_e2e::invariants::{self, Expect};
use dashkeep_simcam::{Fault, Lie, Scenario};
use tokio::sync::broadcast;

/// Waits up to `limit` for an event matching `f`; false when none came.
async fn wait_for(
    events: &mut broadcast::Receiver<CompanionEvent>,
    limit: Duration,
    f: impl Fn(&CompanionEvent) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(e)) if f(&e) => return true,
            Ok(Ok(CompanionEvent::StreamingStopped { error: Some(e) })) => {
                panic!("streaming stopped with an error: {e}")
            }
            Ok(Ok(_) | Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return false,
        }
    }
}

fn stored(e: &CompanionEvent) -> bool {
    matches!(e, CompanionEvent::Ingest(IngestEvent::SegmentStored { .. }))
}

async fn phone_on(dir: &Path, probe: Option<Arc<dyn StorageProbe>>) -> Arc<Companion> {
    let mut config = CompanionConfig {
        retry: RetryPolicy {
            max_retries: 10,
            first_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
        },
        safety_floor: SafetyFloor { min_bytes: 0, fraction: 0.0 },
        ..CompanionConfig::new(dir)
    };
    if let Some(p) = probe {
        config.probe = p;
    }
    Companion::open(config).await.expect("companion opens")
}

/// Stops streaming, checks the invariants, and starts again (one restart).
async fn pause_and_check(
    phone: &Companion,
    dir: &Path,
    camera: &str,
    counts: &mut Counts,
    after: &str,
) {
    assert!(phone.is_streaming().await, "streaming stopped after {after}");
    phone.stop_streaming().await;
    counts.checked(after, invariants::check(dir, &Expect::default()));
    phone.start_streaming(camera).await.expect("restart streaming");
    counts.restarts += 1;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_faults_campaign_loses_nothing() {
    let plan = Plan::from_env((6, 60), (200, 1800));
    let started = Instant::now();
    // Enough driving for every fault to be followed by a new segment (a 10 s segment every 1/3 s).
    let drives = if plan.long { 40 } else { 4 };
    let world =
        common::camera_at_speed(Scenario::multi_drive(drives, 900, 10), 30.0, 1 << 30).await;
    let (dir, url) = (world.data_dir(), world.camera.base_url());
    let phone = phone_on(&dir, None).await;
    let mut events = phone.subscribe();
    phone.start_streaming(&url).await.expect("start");
    let mut rng = Rng::new(plan.seed);
    let mut counts = Counts::default();
    let lies = [Lie::PathId, Lie::AbsurdSize, Lie::NegativeDuration, Lie::WrongChecksum];
    let mut i = 0;
    while i < plan.count && started.elapsed() < plan.bound {
        let kind = i % 6;
        let what = match kind {
            0 => {
                let bytes = 1 + rng.below(200_000);
                world
                    .camera
                    .inject(Fault::DropAfterBytes { bytes, times: 1 + rng.below(3) as u32 });
                format!("link drop after {bytes} bytes")
            }
            1 => {
                world.camera.power_off().await;
                tokio::time::sleep(Duration::from_millis(100 + rng.below(900))).await;
                world.camera.power_on().await.expect("power on");
                "power cycle".to_string()
            }
            2 => {
                let lie = lies[rng.below(4) as usize];
                world.camera.inject(Fault::Lie(lie));
                tokio::time::sleep(Duration::from_millis(200 + rng.below(800))).await;
                world.camera.clear_faults();
                format!("lying camera ({lie:?})")
            }
            3 => {
                world.camera.inject(Fault::Http500 { times: 1 + rng.below(5) as u32 });
                "HTTP 500s".to_string()
            }
            4 => {
                world.camera.inject(Fault::CorruptByte { times: 1 + rng.below(2) as u32 });
                "corrupt byte".to_string()
            }
            _ => {
                let duration = Duration::from_millis(100 + rng.below(1500));
                world.camera.inject(Fault::Stall { after_bytes: rng.below(100_000), duration });
                format!("stall {duration:?}")
            }
        };
        counts.faults += 1;
        // Streaming carries on after the fault: a new segment arrives.
        assert!(
            wait_for(&mut events, Duration::from_secs(30), stored).await,
            "no segment stored after {what}"
        );
        pause_and_check(&phone, &dir, &url, &mut counts, &format!("#{i} {what}")).await;
        i += 1;
    }
    // With the faults cleared, the phone catches up with every segment the card still holds.
    world.camera.clear_faults();
    phone.stop_streaming().await;
    phone.stream_now(&url).await.expect("a final catch-up");
    common::assert_phone_copies_match(&phone, &world.camera).await;
    counts.checked("the final catch-up", invariants::check(&dir, &Expect::default()));
    counts.finish("camera faults", &plan, started);
}

/// A probe that believes the phone is huge, so only the real volume says no (ENOSPC).
struct HugePhone;

impl StorageProbe for HugePhone {
    fn volume_space(&self, _: &Path) -> Result<VolumeSpace, StorageError> {
        Ok(VolumeSpace { total_bytes: 1 << 40, available_bytes: 1 << 39 })
    }
}

/// Fills the volume at `dir` leaving about `room` bytes free; returns the ballast's path.
fn fill_leaving(dir: &Path, room: u64) -> std::path::PathBuf {
    let st = free_bytes(dir);
    let ballast = dir.join("ballast.bin");
    let size = st.saturating_sub(room);
    let f = std::fs::File::create(&ballast).expect("ballast");
    // Written, not sparse: tmpfs counts only written pages.
    let chunk = vec![0x5au8; 1 << 20];
    let mut left = size;
    let mut w = std::io::BufWriter::new(f);
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        if std::io::Write::write_all(&mut w, &chunk[..n]).is_err() {
            break;
        }
        left -= n as u64;
    }
    let _ = std::io::Write::flush(&mut w);
    ballast
}

fn free_bytes(dir: &Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(dir)
        .output()
        .expect("df");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root (mounts a size-limited tmpfs): scripts/test-all runs it as root"]
async fn enospc_campaign_pauses_and_resumes_by_itself() {
    assert!(
        is_root(),
        "the ENOSPC campaign mounts a small tmpfs and needs root (CI runs as root): run it as root"
    );
    let plan = Plan::from_env((4, 90), (60, 1800));
    let started = Instant::now();
    let drives = if plan.long { 30 } else { 3 };
    let world =
        common::camera_at_speed(Scenario::multi_drive(drives, 900, 10), 30.0, 1 << 30).await;
    let dir = world.data_dir();
    std::fs::create_dir_all(&dir).expect("phone dir");
    let mount = Tmpfs::mount(&dir, "24m");
    let url = world.camera.base_url();
    let phone = phone_on(&dir, Some(Arc::new(HugePhone))).await;
    let mut events = phone.subscribe();
    phone.start_streaming(&url).await.expect("start");
    let mut rng = Rng::new(plan.seed);
    let mut counts = Counts::default();
    let mut i = 0;
    while i < plan.count && started.elapsed() < plan.bound {
        assert!(wait_for(&mut events, Duration::from_secs(30), stored).await, "streaming");
        // Make room for the next round: the campaign's eviction (the app's loop recorder is
        // blind to the volume here by design).
        phone.stop_streaming().await;
        for d in phone.drives().await.expect("drives") {
            if d.segments_on_phone > 2 {
                phone.remove_from_phone(d.id).await.expect("remove");
            }
        }
        counts
            .checked(&format!("#{i} before filling"), invariants::check(&dir, &Expect::default()));
        phone.start_streaming(&url).await.expect("restart");
        counts.restarts += 1;
        // Leave 0 to 1.5 MB: the next write to fail may be a video, its telemetry or the WAL.
        let room = rng.below(1_500_000);
        let ballast = fill_leaving(&dir, room);
        counts.faults += 1;
        let full = wait_for(&mut events, Duration::from_secs(60), |e| {
            matches!(e, CompanionEvent::Storage(StorageEvent::Full { .. }))
        })
        .await;
        assert!(full, "#{i}: no storage-full pause with {room} bytes left");
        assert!(phone.is_streaming().await, "#{i}: a full disk stopped streaming");
        let s = phone.storage_status().await.expect("status");
        assert!(s.full, "#{i}: the UI is told streaming is paused");
        // Room appears: streaming resumes by itself.
        std::fs::remove_file(&ballast).expect("remove ballast");
        assert!(
            wait_for(&mut events, Duration::from_secs(60), stored).await,
            "#{i}: streaming did not resume by itself once room appeared"
        );
        pause_and_check(&phone, &dir, &url, &mut counts, &format!("#{i} ENOSPC leaving {room}"))
            .await;
        i += 1;
    }
    phone.stop_streaming().await;
    phone.close().await;
    drop(phone);
    counts.finish("ENOSPC", &plan, started);
    drop(mount);
}

async fn objects(account: &str) -> Vec<String> {
    let backend =
        S3Backend::new(&s3_bucket_config(&s3_endpoint()), &RetrySettings::default()).expect("s3");
    let listed = backend.list(&format!("accounts/{account}/")).await.expect("list");
    listed.into_iter().map(|l| l.key).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_storm_campaign_uploads_everything_once() {
    let plan = Plan::from_env((6, 90), (120, 1800));
    let started = Instant::now();
    let proxy = cloud_support::FaultProxy::start(&s3_endpoint()).await;
    let account = cloud_support::fresh_account();
    let config = || cloud_support::s3_config(&proxy.url, &account);
    let mut phone = cloud_support::Phone::open(config()).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let mut rng = Rng::new(plan.seed);
    let mut counts = Counts::default();
    let mut expect = Expect::default();
    let mut i = 0;
    while i < plan.count && started.elapsed() < plan.bound {
        let what = match i % 3 {
            0 => {
                let n = 1 + rng.below(12);
                proxy.set(|f| f.slowdowns = n);
                format!("{n} x 503 SlowDown")
            }
            1 => {
                let after = rng.below(6 * cloud_support::MIB);
                proxy.set(|f| f.reset_after = Some(after));
                format!("reset after {after} bytes")
            }
            _ => {
                let ms = 1 + rng.below(20);
                proxy.set(|f| f.throttle = Some(Duration::from_millis(ms)));
                format!("slow responses ({ms} ms per 64 KiB)")
            }
        };
        counts.faults += 1;
        // One small and one multipart clip per round; some rounds delete an earlier one.
        phone.clip(100_000 + rng.below(400_000)).await;
        phone.clip(5 * cloud_support::MIB + rng.below(3 * cloud_support::MIB)).await;
        let _ = tokio::time::timeout(Duration::from_secs(60), phone.cloud.run_queue()).await;
        if rng.below(3) == 0 {
            let clips = phone.catalog.clips().await.expect("clips");
            if let Some(c) = clips.get(rng.below(clips.len() as u64) as usize) {
                let key: Option<String> = rusqlite_key(phone.dir.path(), c.id.0);
                if phone.cloud.delete_clip(c.id.0).await.is_ok()
                    && let Some(k) = key
                {
                    expect.deleted_cloud_keys.insert(k);
                }
            }
        }
        proxy.set(|f| *f = Default::default());
        // A restarted app, as after a crash in the storm.
        phone = phone.reopen(config()).await;
        phone.cloud.set_network(NetworkState::WIFI);
        counts.restarts += 1;
        expect.cloud_objects = Some(objects(&account).await);
        counts.checked(&format!("#{i} {what}"), invariants::check(phone.dir.path(), &expect));
        i += 1;
    }
    // Calm weather: everything left uploads, once.
    let report = phone.cloud.run_queue().await.expect("queue in calm weather");
    assert_eq!(report.failed, 0, "{report:?}");
    phone.cloud.sync_from_cloud().await.expect("sync");
    expect.cloud_objects = Some(objects(&account).await);
    counts.checked("calm weather", invariants::check(phone.dir.path(), &expect));
    counts.finish("S3 storms", &plan, started);
}

fn rusqlite_key(dir: &Path, clip: i64) -> Option<String> {
    let c = rusqlite::Connection::open(dir.join("catalog.sqlite")).ok()?;
    c.query_row("SELECT cloud_key FROM clips WHERE id = ?1", [clip], |r| r.get(0)).ok().flatten()
}
