//! Test-only: a large catalog built in seconds through the core's own catalog (the path a
//! camera's segment listing takes), so the apps' tests can scroll a year of driving without
//! streaming it. Never called by an app.

use std::path::PathBuf;

use dashkeep_core::catalog::Catalog;
use dashkeep_core::protocol::{CameraStatus, Channel, SegmentInfo};
use dashkeep_core::storage::DataLayout;
use dashkeep_core::{Companion as CoreCompanion, CompanionConfig, CompanionError as CoreError};

use crate::errors::CompanionError;
use crate::runtime::run;

/// One-minute segments, as the simulated camera records them.
const SEGMENT_MS: i64 = 60_000;
/// A segment's size (a minute of 1080p).
const SEGMENT_BYTES: u64 = 60_000_000;

/// Test-only: records `segments` one-minute segments of camera `serial`, `per_drive` to a drive,
/// ending now, as the camera listing them would (they live on the camera only). Call it on a data
/// directory before `openCompanion`. Returns how many were new.
#[doc(hidden)]
#[uniffi::export]
pub async fn debug_seed_catalog_for_tests(
    data_dir: String,
    serial: String,
    segments: u32,
    per_drive: u32,
) -> Result<u32, CompanionError> {
    let added = run(async move {
        let dir = PathBuf::from(data_dir);
        // Opening a companion creates the data directory and its catalog.
        drop(CoreCompanion::open(CompanionConfig::new(&dir)).await?);
        let layout = DataLayout::new(&dir);
        let catalog = Catalog::open(&layout.catalog_path()).await?;
        let start = now_ms() - i64::from(segments) * SEGMENT_MS;
        let status = CameraStatus {
            protocol_version: 1,
            model: "Dashkeep Sim".into(),
            firmware: "1".into(),
            serial,
            sd_capacity_bytes: 256 << 30,
            sd_used_bytes: u64::from(segments) * SEGMENT_BYTES,
            recording: false,
            current_drive: None,
            clock_ms: now_ms(),
            latest_seq: u64::from(segments),
        };
        let camera = catalog.upsert_camera(status, "http://127.0.0.1:9".into()).await?;
        let per_drive = per_drive.max(1);
        let list = (0..segments).map(|i| SegmentInfo {
            id: format!("S{i:07}"),
            drive_id: format!("D{:06}", i / per_drive),
            seq: u64::from(i) + 1,
            index_in_drive: i % per_drive,
            start_ms: start + i64::from(i) * SEGMENT_MS,
            duration_ms: SEGMENT_MS,
            size: SEGMENT_BYTES,
            sha256: "a".repeat(64),
            locked: false,
            telemetry_size: 200_000,
            telemetry_sha256: "b".repeat(64),
            channel: Channel::Front,
        });
        let added = catalog.note_camera_segments(camera, list.collect()).await?;
        Ok::<_, CoreError>(added)
    })
    .await?;
    Ok(u32::try_from(added).unwrap_or(u32::MAX))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
