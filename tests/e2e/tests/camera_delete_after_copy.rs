//! Deleting from the camera after a verified copy, against a simulated Novatek camera over real
//! loopback sockets and a real data directory: off by default, turned on only with the user's
//! confirmation, never for a file whose phone copy does not read back as downloaded, and never
//! for the files the camera locked.

mod common;

use std::collections::HashMap;

use common::World;
use dashkeep_core::camera::probe::{self, Dialect};
use dashkeep_core::catalog::Residency;
use dashkeep_core::ingest::IngestReport;
use dashkeep_core::{Companion, CompanionError};
use dashkeep_simcam::{Scenario, novatek};

/// Two drives of three 10 s files each; the second drive's first two files are locked.
async fn novatek_camera() -> World {
    common::vendor_world(Scenario::multi_drive(2, 30, 10), dashkeep_simcam::Dialect::Novatek).await
}

async fn stream(world: &World, phone: &Companion) -> IngestReport {
    let driver = probe::driver_for(Dialect::Novatek, &world.camera.base_url()).expect("driver");
    let report = phone.stream_files_now(driver.as_ref()).await.expect("stream the card");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    report
}

/// The card's files by name, with their bytes and whether the camera locked them.
fn card(world: &World) -> HashMap<String, (Vec<u8>, bool)> {
    world
        .camera
        .card()
        .into_iter()
        .map(|(info, video, _)| {
            (novatek::file_name(&info), (std::fs::read(video).expect("card file"), info.locked))
        })
        .collect()
}

/// Every file of `before` is on the phone, byte for byte.
async fn assert_phone_holds(phone: &Companion, before: &HashMap<String, (Vec<u8>, bool)>) {
    let mut held = 0;
    for drive in phone.drives().await.expect("drives") {
        for segment in phone.drive_segments(drive.id).await.expect("segments") {
            let path = phone.segment_path(&segment).expect("a phone copy");
            let (name, (bytes, _)) = before
                .iter()
                .find(|(name, _)| name.replace('.', "_") == segment.camera_segment_id)
                .expect("a file the card had");
            assert!(std::fs::read(&path).expect("phone copy") == *bytes, "{name} differs");
            held += 1;
        }
    }
    assert_eq!(held, before.len());
}

#[tokio::test]
async fn by_default_the_camera_keeps_every_file() {
    let world = novatek_camera().await;
    let phone = world.phone().await;
    assert!(!phone.deletes_from_camera().await.expect("setting"));
    let report = stream(&world, &phone).await;
    assert_eq!(report.stored, 6);
    assert_eq!((report.deleted_from_camera, world.camera.novatek_deleted()), (0, 0));
    assert_eq!(world.camera.card().len(), 6, "nothing left the card");
}

#[tokio::test]
async fn copied_files_leave_the_card_once_confirmed_and_locked_ones_stay() {
    let world = novatek_camera().await;
    let before = card(&world);
    let phone = world.phone().await;

    // Turning it on without the user's confirmation is refused and changes nothing.
    let refused = phone.set_delete_from_camera(true, false).await;
    assert!(matches!(refused, Err(CompanionError::NotConfirmed(_))), "{refused:?}");
    assert!(!phone.deletes_from_camera().await.expect("setting"));
    phone.set_delete_from_camera(true, true).await.expect("confirmed");

    let report = stream(&world, &phone).await;
    assert_eq!(report.stored, 6);
    assert_eq!((report.deleted_from_camera, report.camera_deletes_failed), (4, 0));
    assert_eq!(world.camera.novatek_deleted(), 4);
    // The phone holds the whole card; the card holds only what the camera locked.
    assert_phone_holds(&phone, &before).await;
    let left = card(&world);
    assert_eq!(left.len(), 2);
    assert!(left.values().all(|(_, locked)| *locked), "only locked files stay: {:?}", left.keys());

    // The drive with no locked file now lives on the phone alone; the other keeps the camera.
    let drives = phone.drives().await.expect("drives");
    let mut places: Vec<Vec<Residency>> = drives.iter().map(|d| d.residencies.clone()).collect();
    places.sort_by_key(Vec::len);
    assert_eq!(places[0], vec![Residency::Phone], "{drives:?}");
    assert!(places[1].contains(&Residency::Camera), "{drives:?}");

    // Deleted is not overwritten: the next pass counts no loop recording and deletes nothing more.
    let again = stream(&world, &phone).await;
    assert_eq!((again.stored, again.overwritten_on_camera, again.deleted_from_camera), (0, 0, 0));
    assert_eq!(world.camera.novatek_deleted(), 4);

    // The choice survives a restart, and can be turned off without a confirmation.
    drop(phone);
    let phone = world.phone().await;
    assert!(phone.deletes_from_camera().await.expect("setting"));
    phone.set_delete_from_camera(false, false).await.expect("off");
    assert!(!phone.deletes_from_camera().await.expect("setting"));
}

#[tokio::test]
async fn a_copy_that_does_not_read_back_as_downloaded_stays_on_the_camera() {
    let world = novatek_camera().await;
    let before = card(&world);
    let phone = world.phone().await;
    stream(&world, &phone).await;

    // One unlocked file's phone copy changes on the phone's storage after it was stored.
    let mut unlocked = Vec::new();
    for drive in phone.drives().await.expect("drives") {
        for s in phone.drive_segments(drive.id).await.expect("segments") {
            let name = before.keys().find(|n| n.replace('.', "_") == s.camera_segment_id);
            if name.is_some_and(|n| !before[n].1) {
                unlocked.push(s);
            }
        }
    }
    assert_eq!(unlocked.len(), 4);
    let segment = unlocked.remove(0);
    let path = phone.segment_path(&segment).expect("on the phone");
    let mut bytes = std::fs::read(&path).expect("phone copy");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&path, bytes).expect("flip a byte");

    phone.set_delete_from_camera(true, true).await.expect("confirmed");
    let report = stream(&world, &phone).await;
    assert_eq!(report.deleted_from_camera, 3, "every verified unlocked copy, not the changed one");
    let left = card(&world);
    let kept = segment.camera_segment_id;
    let (name, (bytes, _)) = left
        .iter()
        .find(|(name, _)| name.replace('.', "_") == kept)
        .unwrap_or_else(|| panic!("{kept} must stay on the card"));
    assert!(*bytes == before[name].0, "the camera's own copy of {name} is untouched");
    assert_eq!(left.len(), 3, "the changed file and the two locked ones");
}
