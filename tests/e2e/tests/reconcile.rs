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
    phone.stream_now(&world.camera.base_url()).await.expect("stream");
    let drive = phone.drives().await.expect("drives")[0].clone();
    let segments = phone.drive_segments(drive.id).await.expect("segments");
    let victim = segments[0].clone();
    let path = phone.segment_path(&victim).expect("on phone");
    let copy = std::fs::read(&path).expect("read");
    // Remove the drive from the phone, then put one complete file back as if the process died
    // after renaming it into place and before committing the catalog row.
    assert_eq!(phone.remove_from_phone(drive.id).await.expect("remove"), segments.len());
    assert!(!path.exists());
    std::fs::write(&path, copy).expect("write");
    drop(phone);

    let phone = world.phone().await;
    assert_eq!(phone.reconciled_on_open().orphans_resumable, 1);
    let report = phone.stream_now(&world.camera.base_url()).await.expect("stream");
    assert_eq!(report.stored, segments.len());
    let all: u64 = segments.iter().map(|s| s.size_bytes).sum();
    assert_eq!(report.bytes_fetched, all - victim.size_bytes, "the adopted file is not fetched");
    assert_phone_mirrors_card(&phone, &world.camera).await;
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_data_directory() {
    let world = recorded_camera(1).await;
    let _phone = world.phone().await;
    let second = dashkeep_core::Companion::open(dashkeep_core::CompanionConfig::new(world.data_dir())).await;
    assert!(matches!(second, Err(dashkeep_core::CompanionError::DataDirBusy(_))));
}
