//! Opening a data directory makes disk and catalog agree after files went missing or a process
//! died between writing a file and cataloguing it.

mod common;

use common::{assert_phone_mirrors_card, recorded_camera};

#[tokio::test]
async fn a_missing_file_is_noticed_and_fetched_again() {
    let world = recorded_camera(1).await;
    let phone = world.phone().await;
    phone.stream_now(&world.camera.base_url()).await.expect("stream");
    let drive = phone.drives().await.expect("drives")[0].clone();
    let segments = phone.drive_segments(drive.id).await.expect("segments");
    let victim = &segments[1];
    std::fs::remove_file(phone.segment_path(victim).expect("on phone")).expect("rm");
    drop(phone);

    let phone = world.phone().await;
    assert_eq!(phone.reconciled_on_open().missing_files, 1);
    let drive = phone.drives().await.expect("drives")[0].clone();
    assert_eq!(drive.segments_on_phone as usize, segments.len() - 1);

    let report = phone.stream_now(&world.camera.base_url()).await.expect("stream");
    assert_eq!(report.stored, 1);
    assert_eq!(report.bytes_fetched, victim.size_bytes);
    assert_phone_mirrors_card(&phone, &world.camera).await;
}

#[tokio::test]
async fn a_complete_file_the_catalog_never_named_is_adopted_without_downloading() {
    let world = recorded_camera(1).await;
    let phone = world.phone().await;
    // The phone knows the listing but holds nothing yet.
    phone.refresh_camera(&world.camera.base_url()).await.expect("refresh");
    let card = world.camera.card();
    let (victim, video, _) = card.first().expect("a segment").clone();
    // As if the process died after renaming the complete file into place and before committing
    // the catalog row.
    let name = format!("c1_{}.mp4", victim.id);
    std::fs::copy(&video, world.data_dir().join("videos").join(&name)).expect("copy");
    drop(phone);

    let phone = world.phone().await;
    assert_eq!(phone.reconciled_on_open().orphans_resumable, 1);
    let report = phone.stream_now(&world.camera.base_url()).await.expect("stream");
    assert_eq!(report.stored, card.len());
    let all: u64 = card.iter().map(|(i, _, _)| i.size).sum();
    assert_eq!(report.bytes_fetched, all - victim.size, "the adopted file is not fetched");
    assert_eq!(world.camera.served_video_bytes(&victim.id), 0);
    assert_phone_mirrors_card(&phone, &world.camera).await;
}

#[tokio::test]
async fn a_drive_removed_from_the_phone_is_not_fetched_again_by_itself() {
    let world = recorded_camera(1).await;
    let phone = world.phone().await;
    phone.stream_now(&world.camera.base_url()).await.expect("stream");
    let drive = phone.drives().await.expect("drives")[0].clone();
    assert_eq!(phone.remove_from_phone(drive.id).await.expect("remove"), drive.segments as usize);
    let report = phone.stream_now(&world.camera.base_url()).await.expect("stream");
    assert_eq!((report.stored, report.bytes_fetched), (0, 0));
    let drive = phone.drives().await.expect("drives")[0].clone();
    assert_eq!(drive.segments_on_phone, 0);
    assert_eq!(drive.residencies, vec![dashkeep_core::catalog::Residency::Camera]);
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_data_directory() {
    let world = recorded_camera(1).await;
    let _phone = world.phone().await;
    let second =
        dashkeep_core::Companion::open(dashkeep_core::CompanionConfig::new(world.data_dir())).await;
    assert!(matches!(second, Err(dashkeep_core::CompanionError::DataDirBusy(_))));
}

/// A phone of 20 MB: quotas are fractions of it.
struct SmallPhone;

impl dashkeep_core::storage::StorageProbe for SmallPhone {
    fn volume_space(
        &self,
        _: &std::path::Path,
    ) -> Result<dashkeep_core::storage::VolumeSpace, dashkeep_core::storage::StorageError> {
        Ok(dashkeep_core::storage::VolumeSpace {
            total_bytes: 20_000_000,
            available_bytes: 10_000_000,
        })
    }
}

/// Found by the kill -9 campaign: killed while a lowered quota was evicting, the phone stayed
/// above its quota after the restart until a new video came. Opening finishes the eviction.
#[tokio::test]
async fn a_quota_lowered_by_a_killed_process_is_enforced_on_open() {
    let world = recorded_camera(1).await;
    let config = || dashkeep_core::CompanionConfig {
        probe: std::sync::Arc::new(SmallPhone),
        safety_floor: dashkeep_core::storage::SafetyFloor { min_bytes: 0, fraction: 0.0 },
        ..dashkeep_core::CompanionConfig::new(world.data_dir())
    };
    let phone = dashkeep_core::Companion::open(config()).await.expect("open");
    phone.stream_now(&world.camera.base_url()).await.expect("stream");
    let held = phone.storage_status().await.expect("status").budget.owned_bytes;
    assert!(held > 2_000_000, "the drive fills more than a 10% quota: {held} bytes");
    phone.close().await;
    drop(phone);
    // The quota was saved, then the process died before evicting anything.
    let db = rusqlite::Connection::open(world.data_dir().join("catalog.sqlite")).expect("db");
    db.execute(
        "INSERT INTO settings (key, value) VALUES ('quota_fraction', '0.1')
         ON CONFLICT (key) DO UPDATE SET value = '0.1'",
        [],
    )
    .expect("quota row");
    drop(db);

    let phone = dashkeep_core::Companion::open(config()).await.expect("reopen");
    let budget = phone.storage_status().await.expect("status").budget;
    assert!(
        budget.owned_bytes <= budget.limit_bytes,
        "{} bytes held over a limit of {}",
        budget.owned_bytes,
        budget.limit_bytes
    );
}
