//! The phone's quota loop recorder and the at-risk forecast, against the simulated camera. The
//! phone's capacity is faked through the storage probe; every file is real.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{Tmpfs, World, camera_with, files_below, is_root};
use dashkeep_core::catalog::{DriveId, Residency};
use dashkeep_core::ingest::{IngestEvent, RetryPolicy};
use dashkeep_core::storage::{
    Eviction, SafetyFloor, StorageError, StorageEvent, StorageProbe, VolumeSpace,
};
use dashkeep_core::{Companion, CompanionConfig, CompanionError, CompanionEvent};
use dashkeep_simcam::Scenario;
use tokio::sync::broadcast::error::RecvError;

/// A phone of `total` bytes whose free space is what the data directory leaves.
struct SmallPhone {
    total: AtomicU64,
    dir: PathBuf,
}

impl StorageProbe for SmallPhone {
    fn volume_space(&self, _: &Path) -> Result<VolumeSpace, StorageError> {
        let used = disk_bytes(&self.dir);
        let total = self.total.load(Ordering::Relaxed);
        Ok(VolumeSpace { total_bytes: total, available_bytes: total.saturating_sub(used) })
    }
}

fn disk_bytes(dir: &Path) -> u64 {
    files_below(dir)
        .iter()
        .filter_map(|p| std::fs::metadata(dir.join(p)).ok())
        .map(|m| m.len())
        .sum()
}

/// Bytes of complete files (videos and telemetry) in the data directory.
fn video_bytes(data_dir: &Path) -> u64 {
    disk_bytes(&data_dir.join("videos"))
}

async fn phone_with(
    world: &World,
    total: u64,
    probe: Option<Arc<dyn StorageProbe>>,
) -> Arc<Companion> {
    let probe = probe.unwrap_or_else(|| {
        Arc::new(SmallPhone { total: AtomicU64::new(total), dir: world.data_dir() })
    });
    let config = CompanionConfig {
        probe,
        safety_floor: SafetyFloor { min_bytes: 0, fraction: 0.0 },
        retry: RetryPolicy {
            max_retries: 10,
            first_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
        },
        ..CompanionConfig::new(world.data_dir())
    };
    Companion::open(config).await.expect("companion opens")
}

const MB: u64 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_recorder_keeps_every_rule_after_every_segment() {
    // Four 2-minute drives of 10 s segments (about 1.6 MB each): about 77 MB in all, for a quota
    // of 50 MB (half of a 100 MB phone), of which the drive locked below takes 19 MB.
    let world = camera_with(Scenario::multi_drive(4, 120, 10), false, 1 << 30).await;
    let phone = phone_with(&world, 100 * MB, None).await;
    let mut events = phone.subscribe();
    phone.start_streaming(&world.camera.base_url()).await.expect("start");

    let mut locked: Option<DriveId> = None;
    let mut last_evicted: Option<(i64, u32)> = None;
    let mut pending_evictions: Vec<DriveId> = Vec::new();
    let (mut stored, mut evicted) = (0usize, 0usize);
    let expected = world.camera.wait_for_scenario_end();
    tokio::pin!(expected);
    let mut camera_done = false;
    loop {
        let event = tokio::select! {
            () = &mut expected, if !camera_done => { camera_done = true; continue; }
            e = tokio::time::timeout(Duration::from_secs(5), events.recv()) => e,
        };
        let event = match event {
            Ok(Ok(e)) => e,
            Ok(Err(RecvError::Lagged(n))) => panic!("missed {n} events"),
            Ok(Err(RecvError::Closed)) => break,
            // Quiet for 5 s after the camera finished: the phone has caught up.
            Err(_) if camera_done => break,
            Err(_) => continue,
        };
        match event {
            CompanionEvent::Ingest(IngestEvent::SegmentStarted { drive, .. }) => {
                // Nothing evicted for this segment came from the drive being streamed.
                for d in pending_evictions.drain(..) {
                    assert_ne!(d, drive, "evicted a segment of the drive being streamed");
                }
            }
            CompanionEvent::Ingest(IngestEvent::SegmentStored { drive, .. }) => {
                stored += 1;
                if locked.is_none() {
                    phone.set_drive_locked(drive, true).await.expect("lock");
                    locked = Some(drive);
                }
                let s = phone.storage_status().await.expect("status");
                assert!(s.usage.total() <= s.budget.limit_bytes, "over quota: {s:?}");
            }
            CompanionEvent::Storage(StorageEvent::Evicted(Eviction::Segment {
                drive,
                segment,
                ..
            })) => {
                evicted += 1;
                assert_ne!(Some(drive), locked, "evicted a segment of a locked drive");
                pending_evictions.push(drive);
                // Oldest first: drives in start order, segments in recording order.
                let seg = phone
                    .drive_segments(drive)
                    .await
                    .expect("segments")
                    .into_iter()
                    .find(|s| s.id == segment)
                    .expect("evicted segment is still catalogued");
                let key = (
                    phone
                        .drives()
                        .await
                        .expect("drives")
                        .iter()
                        .find(|d| d.id == drive)
                        .expect("drive")
                        .started_at_ms,
                    seg.index_in_drive,
                );
                if let Some(prev) = last_evicted {
                    assert!(prev <= key, "evicted {key:?} after {prev:?}");
                }
                last_evicted = Some(key);
                assert!(seg.phone_file.is_none(), "an evicted segment has no phone file");
            }
            _ => {}
        }
    }
    phone.stop_streaming().await;
    assert!(stored >= 40, "stored {stored}");
    assert!(evicted >= 10, "the quota overflowed and the recorder evicted ({evicted})");

    // The catalog's sum equals what is on disk, and stays under the quota.
    let status = phone.storage_status().await.expect("status");
    assert_eq!(status.usage.total(), video_bytes(&world.data_dir()));
    assert!(status.usage.total() <= status.budget.limit_bytes);
    // The locked drive is whole on the phone; evicted drives still live on the camera.
    let drives = phone.drives().await.expect("drives");
    let first = drives.iter().find(|d| Some(d.id) == locked).expect("locked drive");
    assert_eq!(first.segments_on_phone, first.segments);
    for d in &drives {
        if d.segments_on_phone < d.segments {
            assert!(
                d.residencies.contains(&Residency::Camera),
                "eviction never touches the camera"
            );
        }
    }
    assert!(files_below(&world.data_dir().join("tmp")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowering_the_quota_mid_stream_evicts_at_once() {
    let world = camera_with(Scenario::multi_drive(3, 120, 10), false, 1 << 30).await;
    let phone = phone_with(&world, 200 * MB, None).await;
    phone.start_streaming(&world.camera.base_url()).await.expect("start");
    common::wait_until(|| async {
        phone.storage_status().await.expect("status").usage.total() > 20 * MB
    })
    .await;

    // 10% of 200 MB: 20 MB at most, now.
    let evicted = phone.set_quota(0.1).await.expect("set quota");
    assert!(!evicted.is_empty(), "lowering the quota evicted at once");
    let s = phone.storage_status().await.expect("status");
    assert!((s.budget.fraction - 0.1).abs() < 1e-9);
    assert!(s.usage.total() <= s.budget.limit_bytes, "{s:?}");

    world.camera.wait_for_scenario_end().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    phone.stop_streaming().await;
    let s = phone.storage_status().await.expect("status");
    assert!(s.usage.total() <= s.budget.limit_bytes);
    assert_eq!(s.usage.total(), video_bytes(&world.data_dir()));

    // The quota persists across restarts, and out-of-range values are refused.
    drop(phone);
    let phone = phone_with(&world, 200 * MB, None).await;
    assert!((phone.quota().get() - 0.1).abs() < 1e-9);
    assert!(matches!(
        phone.set_quota(0.95).await,
        Err(CompanionError::Storage(StorageError::QuotaOutOfRange(_)))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_full_pauses_then_resumes_when_room_appears() {
    // The user locks every drive as it arrives: once the quota is full, nothing may be evicted,
    // so streaming pauses with a typed state instead of failing or deleting a locked drive.
    // The camera records live (a 10 s segment every 1/6 s): the phone follows in order.
    let world = common::camera_at_speed(Scenario::multi_drive(3, 120, 10), 60.0, 1 << 30).await;
    let phone = phone_with(&world, 20 * MB, None).await;
    let mut events = phone.subscribe();
    phone.start_streaming(&world.camera.base_url()).await.expect("start");
    let mut full = false;
    while !full {
        match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
            Ok(Ok(CompanionEvent::Ingest(IngestEvent::SegmentStored { drive, .. }))) => {
                phone.set_drive_locked(drive, true).await.expect("lock");
            }
            Ok(Ok(CompanionEvent::Storage(StorageEvent::Full { .. }))) => full = true,
            Ok(Ok(CompanionEvent::Storage(StorageEvent::Evicted(e)))) => {
                panic!("evicted {e:?} although every drive is locked")
            }
            Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
            other => panic!("no storage-full state: {other:?}"),
        }
    }
    let s = phone.storage_status().await.expect("status");
    assert!(s.full, "the UI can show that streaming is paused");
    assert!(s.usage.total() <= s.budget.limit_bytes);
    assert!(phone.is_streaming().await, "paused, not stopped");

    // Unlocking the drives lets the recorder evict them: streaming resumes by itself.
    for d in phone.drives().await.expect("drives") {
        phone.set_drive_locked(d.id, false).await.expect("unlock");
    }
    let s = phone.storage_status().await.expect("status");
    assert!(!s.full, "room may have appeared: the UI stops saying paused");
    let resumed = wait_for_event(&mut events, |e| {
        matches!(e, CompanionEvent::Ingest(IngestEvent::SegmentStored { .. }))
    })
    .await;
    assert!(resumed, "streaming resumed once room appeared");
    phone.stop_streaming().await;
    // (It may be full again: the drive being streamed, which is never evicted, can fill a
    // quota this small.)
    let s = phone.storage_status().await.expect("status");
    assert_eq!(s.usage.total(), video_bytes(&world.data_dir()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root (mounts a size-limited tmpfs): scripts/test-all runs it as root"]
async fn a_full_volume_mid_segment_leaves_nothing_half_written() {
    assert!(is_root(), "mounting a size-limited tmpfs needs root: run this test as root");
    let world = camera_with(Scenario::calm(2).with_segment_secs(10), true, 1 << 30).await;
    let mount = Tmpfs::mount(&world.dir.path().join("phone"), "9m");
    // A probe that believes the phone is huge, so only the real volume says no (ENOSPC).
    let generous: Arc<dyn StorageProbe> =
        Arc::new(SmallPhone { total: AtomicU64::new(1 << 40), dir: world.data_dir() });
    let phone = phone_with(&world, 0, Some(generous)).await;
    let result = phone.stream_now(&world.camera.base_url()).await;
    assert!(
        matches!(&result, Err(CompanionError::Ingest(dashkeep_core::ingest::IngestError::Storage(e))) if e.is_full()),
        "{result:?}"
    );
    // Nothing half-written stays; the catalog names exactly the complete files on disk.
    let left = files_below(&world.data_dir().join("tmp"));
    assert!(left.is_empty(), "a partial file was left: {left:?}");
    let status = phone.storage_status().await.expect("status");
    assert_eq!(status.usage.total(), video_bytes(&world.data_dir()));
    assert!(status.usage.total() > 0, "some segments fit before the volume filled");
    common::assert_phone_copies_match(&phone, &world.camera).await;
    drop(phone);
    drop(mount);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forecast_matches_what_the_camera_really_overwrites() {
    // A 30 MB SD card and 10 s segments of about 1.3 MB: the card holds about 20 segments.
    // The camera records live (a 10 s segment every 0.25 s) while the phone reads its listing.
    let world = common::camera_at_speed(Scenario::multi_drive(2, 200, 10), 40.0, 30 * MB).await;
    world.camera.wait_for_seq(30).await;
    let phone = phone_with(&world, 1 << 40, None).await;
    // Listing only: the phone holds nothing, so every camera segment lives in one place.
    phone.refresh_camera(&world.camera.base_url()).await.expect("refresh");
    let at = world.camera.status();
    let forecast = phone.at_risk(1.0).await.expect("forecast");
    let rate = forecast.bytes_per_hour.expect("a rate");
    assert!(!forecast.at_risk.is_empty(), "{forecast:?}");

    world.camera.wait_for_scenario_end().await;
    let card_hours = |seq: u64| -> f64 {
        // Hours recorded after the refresh, up to and including segment `seq`.
        let recorded: i64 = world
            .camera
            .overwritten()
            .iter()
            .chain(world.camera.card().iter().map(|(i, _, _)| i))
            .filter(|i| i.seq > at.latest_seq && i.seq <= seq)
            .map(|i| i.duration_ms)
            .sum();
        recorded as f64 / 3_600_000.0
    };
    let segment_hours = 10.0 / 3600.0;
    let drives = phone.drives().await.expect("drives");
    let mut checked = 0;
    for risk in forecast.at_risk.iter().filter(|r| r.residency == Residency::Camera) {
        let camera_drive =
            &drives.iter().find(|d| d.id == risk.drive).expect("drive").camera_drive_id;
        let Some((_, by)) = world
            .camera
            .overwritten_by()
            .into_iter()
            .find(|(i, by)| &i.drive_id == camera_drive && *by > at.latest_seq)
        else {
            continue;
        };
        let actual = card_hours(by);
        let error = (actual - risk.hours_until_overwrite).abs();
        assert!(
            error <= segment_hours * 1.5 + actual * 0.05,
            "drive {camera_drive}: forecast {:.4} h, camera overwrote after {actual:.4} h (rate {rate:.0} B/h)",
            risk.hours_until_overwrite
        );
        checked += 1;
    }
    assert!(checked >= 2, "compared {checked} forecasts with real overwrites");
}

async fn wait_for_event(
    events: &mut tokio::sync::broadcast::Receiver<CompanionEvent>,
    matches: impl Fn(&CompanionEvent) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(e)) if matches(&e) => return true,
            Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) | Err(_) => return false,
        }
    }
}

/// The next at-risk warning the UI hears (within 30 s).
async fn next_at_risk(
    events: &mut tokio::sync::broadcast::Receiver<CompanionEvent>,
) -> Vec<dashkeep_core::storage::AtRiskDrive> {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await {
                Ok(CompanionEvent::AtRiskChanged(drives)) => return drives,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => panic!("events closed"),
            }
        }
    })
    .await
    .expect("an at-risk warning")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_is_warned_when_drives_become_at_risk_and_when_they_are_safe() {
    // A 30 MB SD card that is full: what the phone does not hold is overwritten soon.
    let world = camera_with(Scenario::multi_drive(2, 200, 10), true, 30 * MB).await;
    let phone = phone_with(&world, 1 << 40, None).await;
    let mut events = phone.subscribe();
    phone.refresh_camera(&world.camera.base_url()).await.expect("refresh");
    let warned = next_at_risk(&mut events).await;
    assert!(!warned.is_empty(), "videos on the camera only, on a full card, are at risk");
    assert!(warned.iter().all(|d| d.residency == Residency::Camera), "{warned:?}");
    assert_eq!(
        warned.iter().map(|d| d.drive).collect::<Vec<_>>(),
        phone.at_risk(5.0).await.unwrap().at_risk.iter().map(|d| d.drive).collect::<Vec<_>>(),
        "the warning is the forecast"
    );
    // Streamed to the phone, they live in two places: the warning goes away.
    phone.stream_now(&world.camera.base_url()).await.expect("stream");
    // (Warnings may shrink on the way while segments arrive; the last one is empty.)
    while !next_at_risk(&mut events).await.is_empty() {}
    drop(phone);
}

/// A phone of 100 MB on which other apps take `others` bytes: what is free is what they and
/// the data directory leave.
struct CrowdedPhone {
    others: u64,
    dir: PathBuf,
}

impl StorageProbe for CrowdedPhone {
    fn volume_space(&self, _: &Path) -> Result<VolumeSpace, StorageError> {
        let total = 100 * MB;
        let available = total.saturating_sub(self.others + disk_bytes(&self.dir));
        Ok(VolumeSpace { total_bytes: total, available_bytes: available })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_filled_by_other_apps_says_so_and_not_raise_the_quota() {
    // A 2-minute drive of about 19 MB; a 50 MB quota, but other apps leave only 12 MB free.
    let world = camera_with(Scenario::calm(2).with_segment_secs(10), true, 1 << 30).await;
    let crowded: Arc<dyn StorageProbe> =
        Arc::new(CrowdedPhone { others: 88 * MB, dir: world.data_dir() });
    let phone = phone_with(&world, 0, Some(crowded)).await;
    let result = phone.stream_now(&world.camera.base_url()).await;
    assert!(
        matches!(
            &result,
            Err(CompanionError::Ingest(dashkeep_core::ingest::IngestError::Storage(
                StorageError::PhoneNearlyFull { .. }
            )))
        ),
        "{result:?}"
    );
    let status = phone.storage_status().await.expect("status");
    assert!(status.full && status.phone_full, "the UI says: free space on the phone: {status:?}");
    assert!(status.budget.limit_bytes < status.budget.quota_bytes);
    assert!(status.usage.total() <= 12 * MB, "nothing past the phone's free space was written");
    assert!(status.usage.total() > 0, "what fit was kept");
}
