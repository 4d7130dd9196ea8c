//! The phone's loop recorder on a real catalog and real files: what it may evict, and in what
//! order, for the rules the end-to-end tests cannot stage precisely.

use std::path::Path;
use std::sync::Arc;

use dashkeep_core::catalog::{
    CameraId, Catalog, ClipReason, DriveId, NewClip, PhoneFile, TelemetryFile,
};
use dashkeep_core::protocol::{CameraStatus, Channel, SegmentInfo};
use dashkeep_core::storage::{
    DataLayout, Eviction, LoopRecorder, SafetyFloor, StorageError, StorageProbe, VolumeSpace,
};

const SEG: u64 = 1_000_000;

/// A phone of `total` bytes with plenty free: the quota (half of it) is what binds.
struct Phone(u64);

impl StorageProbe for Phone {
    fn volume_space(&self, _: &Path) -> Result<VolumeSpace, StorageError> {
        Ok(VolumeSpace { total_bytes: self.0, available_bytes: self.0 })
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    catalog: Catalog,
    layout: DataLayout,
    camera: CameraId,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = DataLayout::new(dir.path());
    layout.create_dirs().expect("dirs");
    let catalog = Catalog::open(&layout.catalog_path()).await.expect("catalog");
    let status = CameraStatus {
        protocol_version: 1,
        model: "t".into(),
        firmware: "1".into(),
        serial: "SN".into(),
        sd_capacity_bytes: 1 << 30,
        sd_used_bytes: 0,
        recording: false,
        current_drive: None,
        clock_ms: 0,
        latest_seq: 0,
    };
    let camera = catalog.upsert_camera(status, "http://x".into()).await.expect("camera");
    Fixture { _dir: dir, catalog, layout, camera }
}

impl Fixture {
    /// Stores a 1 MB segment `index` of drive `drive` (drives start an hour apart) on the phone.
    async fn segment(&self, drive: u32, index: u32) -> DriveId {
        let id = format!("D{drive}_S{index}");
        let start = 1_000_000 + i64::from(drive) * 3_600_000 + i64::from(index) * 60_000;
        let info = SegmentInfo {
            id: id.clone(),
            drive_id: format!("D{drive}"),
            seq: u64::from(drive * 100 + index),
            index_in_drive: index,
            start_ms: start,
            duration_ms: 60_000,
            size: SEG,
            sha256: "a".repeat(64),
            locked: false,
            telemetry_size: 0,
            telemetry_sha256: "b".repeat(64),
            channel: Channel::Front,
        };
        self.catalog.note_camera_segments(self.camera, vec![info]).await.expect("note");
        let rec = self
            .catalog
            .segment_by_camera_id(self.camera, id.clone())
            .await
            .expect("get")
            .expect("row");
        let name = DataLayout::segment_file_name(self.camera, &id);
        std::fs::write(self.layout.video_path(&name), vec![0u8; SEG as usize]).expect("file");
        let tname = DataLayout::telemetry_file_name(self.camera, &id);
        std::fs::write(self.layout.video_path(&tname), b"").expect("file");
        let tele = TelemetryFile { name: tname, size_bytes: 0, accel_samples: 0, gps_fixes: 0 };
        self.catalog.record_phone_copy(rec.id, PhoneFile { name }, tele).await.expect("record");
        rec.drive_id
    }

    /// A 1 MB clip of `drive` on the phone, uploaded or not.
    async fn clip(&self, drive: DriveId, n: u32, uploaded: bool) -> i64 {
        let file = format!("clip_test_{n}.mp4");
        std::fs::write(self.layout.video_path(&file), vec![0u8; SEG as usize]).expect("file");
        let id = self
            .catalog
            .insert_ready_clip(NewClip {
                drive_id: Some(drive),
                reason: "manual".into(),
                start_ms: i64::from(n) * 1000,
                end_ms: i64::from(n) * 1000 + 500,
                phone_file: file,
                size_bytes: SEG,
                sha256: "c".repeat(64),
                peak_g: None,
                location: None,
            })
            .await
            .expect("clip");
        if uploaded {
            self.catalog.enqueue_upload(id, format!("k{n}"), false, false).await.expect("queue");
            self.catalog.mark_uploaded(id).await.expect("uploaded");
        }
        id
    }

    async fn recorder(&self, phone_bytes: u64) -> LoopRecorder {
        LoopRecorder::open(
            self.catalog.clone(),
            self.layout.clone(),
            Arc::new(Phone(phone_bytes)),
            SafetyFloor { min_bytes: 0, fraction: 0.0 },
            Arc::new(|_| {}),
        )
        .await
        .expect("recorder")
    }
}

#[tokio::test]
async fn segments_a_pending_clip_needs_are_kept() {
    let f = fixture().await;
    let old = f.segment(1, 0).await;
    f.segment(1, 1).await;
    f.segment(1, 2).await;
    f.segment(2, 0).await;
    // A clip of drive 1's second minute is planned but not cut yet.
    let start = 1_000_000 + 3_600_000 + 60_000;
    f.catalog
        .plan_clip(old, None, ClipReason::HardBrake, start + 10_000, start + 50_000)
        .await
        .expect("plan");
    // 4 MB held, a quota of 4 MB (half of 8): one more segment needs about 1 MB.
    let evicted = f.recorder(8 * SEG).await.make_room(SEG, None, &[]).await.expect("room");
    let segments = f.catalog.drive_segments(old).await.expect("segments");
    assert!(segments[1].phone_file.is_some(), "the pending clip's segment stays");
    assert!(segments[0].phone_file.is_none(), "the oldest other segment went first");
    assert!(evicted.iter().all(|e| matches!(e, Eviction::Segment { .. })));
}

#[tokio::test]
async fn clips_go_last_and_only_once_uploaded() {
    let f = fixture().await;
    let drive = f.segment(1, 0).await;
    f.segment(1, 1).await;
    let kept = f.clip(drive, 1, false).await;
    let uploaded = f.clip(drive, 2, true).await;
    // 4 MB held, a quota of 1.5 MB: both segments go, then the uploaded clip; the clip not yet
    // in the cloud stays, so room for 1 MB more cannot be made.
    let result = f.recorder(3 * SEG).await.make_room(SEG, None, &[]).await;
    assert!(matches!(result, Err(StorageError::QuotaExceeded { .. })), "{result:?}");
    let segments = f.catalog.drive_segments(drive).await.expect("segments");
    assert!(segments.iter().all(|s| s.phone_file.is_none()), "segments are evicted before clips");
    let clips = f.catalog.clips().await.expect("clips");
    let by_id = |id: i64| clips.iter().find(|c| c.id.0 == id).expect("clip");
    assert!(by_id(uploaded).phone_file.is_none(), "the uploaded clip left the phone");
    assert_eq!(
        by_id(uploaded).residencies,
        vec![dashkeep_core::catalog::Residency::Cloud],
        "and stays in the cloud"
    );
    assert!(by_id(kept).phone_file.is_some(), "a clip not yet uploaded is never evicted");
    let usage = f.catalog.phone_usage().await.expect("usage");
    assert_eq!(usage.total(), SEG, "only the clip waiting for upload is left");
}

#[tokio::test]
async fn a_locked_drive_and_the_drive_being_streamed_are_kept() {
    let f = fixture().await;
    let locked = f.segment(1, 0).await;
    let streaming = f.segment(2, 0).await;
    let free = f.segment(3, 0).await;
    f.catalog.set_drive_locked(locked, true).await.expect("lock");
    // 3 MB held, quota 2 MB: only drive 3 may go (drive 2 is being streamed).
    let evicted = f.recorder(4 * SEG).await.make_room(0, None, &[streaming]).await.expect("room");
    assert_eq!(evicted.len(), 1);
    assert!(matches!(evicted[0], Eviction::Segment { drive, .. } if drive == free));
}

/// A phone of 100 MB with only `free` bytes free: its own floor, not the quota, binds.
struct NearlyFullPhone(u64);

impl StorageProbe for NearlyFullPhone {
    fn volume_space(&self, _: &Path) -> Result<VolumeSpace, StorageError> {
        Ok(VolumeSpace { total_bytes: 100 * SEG, available_bytes: self.0 })
    }
}

#[tokio::test]
async fn a_nearly_full_phone_is_told_apart_from_a_full_quota() {
    let f = fixture().await;
    let locked = f.segment(1, 0).await;
    f.catalog.set_drive_locked(locked, true).await.expect("lock");
    // 1 MB held of a 50 MB quota, but the phone has 1.5 MB free and keeps 1 MB for itself: one
    // more segment does not fit, and only freeing space on the phone would help.
    let recorder = LoopRecorder::open(
        f.catalog.clone(),
        f.layout.clone(),
        Arc::new(NearlyFullPhone(3 * SEG / 2)),
        SafetyFloor { min_bytes: SEG, fraction: 0.0 },
        Arc::new(|_| {}),
    )
    .await
    .expect("recorder");
    let result = recorder.make_room(SEG, None, &[]).await;
    assert!(result.as_ref().is_err_and(StorageError::is_full), "ingest pauses: {result:?}");
    let Err(StorageError::PhoneNearlyFull { available_bytes, floor_bytes, needed_bytes }) = result
    else {
        panic!("expected PhoneNearlyFull, got {result:?}");
    };
    assert_eq!((available_bytes, floor_bytes, needed_bytes), (3 * SEG / 2, SEG, SEG));
    // Half a segment still fits under the floor.
    assert!(recorder.make_room(SEG / 2, None, &[]).await.expect("room").is_empty());
}

#[tokio::test]
async fn room_reserved_for_a_write_under_way_counts_for_every_other_writer() {
    let f = fixture().await;
    let old = f.segment(1, 0).await;
    f.segment(2, 0).await;
    // 2 MB held of a 4 MB quota: a download reserves 1.5 MB, no eviction needed yet.
    let recorder = f.recorder(8 * SEG).await;
    let download = recorder.reserve(3 * SEG / 2, None, &[]).await.expect("room");
    assert_eq!(recorder.reserved_bytes(), 3 * SEG / 2);
    // A clip of 1 MB cut meanwhile would take the quota to 4.5 MB: the oldest drive goes.
    let evicted = recorder.make_room(SEG, None, &[]).await.expect("room");
    assert!(
        matches!(evicted[..], [Eviction::Segment { drive, .. }] if drive == old),
        "{evicted:?}"
    );
    // Once the download is catalogued (its reservation dropped), nothing more is needed.
    drop(download);
    assert_eq!(recorder.reserved_bytes(), 0);
    assert!(recorder.make_room(2 * SEG, None, &[]).await.expect("room").is_empty());
}
