//! A Novatek-based camera (Viofo, YI and clones), simulated over real loopback sockets: the phone
//! finds out which protocol it speaks, stops its recording to list the card, streams its files
//! into a real data directory (SQLite catalog, files checked by the MP4 reader and ffprobe),
//! resumes dropped downloads with Range (or restarts them cleanly where the camera ignores
//! Range), and hands the camera back recording.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::World;
use dashkeep_core::Companion;
use dashkeep_core::camera::probe::{self, Dialect};
use dashkeep_core::ingest::IngestReport;
use dashkeep_simcam::{Fault, Scenario, SimConfig, novatek};

/// Two drives of three 10 s files each, a minute apart; the second drive's first two files
/// are locked (a hard brake), so the camera keeps them in its `RO` folder.
async fn novatek_camera(range_support: bool) -> World {
    common::world_with(Scenario::multi_drive(2, 30, 10), |c| SimConfig {
        instant: true,
        speed: 600.0,
        dialect: dashkeep_simcam::Dialect::Novatek,
        range_support,
        ..c
    })
    .await
}

/// Probes the camera (it must say Novatek) and streams it once.
async fn stream(world: &World, phone: &Companion) -> IngestReport {
    let url = world.camera.base_url();
    assert_eq!(probe::probe(&url).await.expect("probe"), Dialect::Novatek);
    let driver = probe::driver_for(Dialect::Novatek, &url).expect("driver");
    phone.stream_files_now(driver.as_ref()).await.expect("stream the card")
}

/// Every file on the card is on the phone under its Novatek name, byte-identical, and ffprobe
/// reads it as H.264 video; returns how many locked files came from the `RO` folder.
async fn assert_phone_holds_the_card(phone: &Arc<Companion>, world: &World) -> usize {
    let card = world.camera.card();
    let mut on_phone = 0;
    let mut locked = 0;
    for drive in phone.drives().await.expect("drives") {
        for segment in phone.drive_segments(drive.id).await.expect("segments") {
            let path = phone.segment_path(&segment).expect("a phone copy");
            let (info, video, _) = card
                .iter()
                .find(|(i, _, _)| {
                    novatek::file_name(i).replace('.', "_") == segment.camera_segment_id
                })
                .unwrap_or_else(|| panic!("{} is not on the card", segment.camera_segment_id));
            assert!(
                std::fs::read(&path).expect("phone copy") == std::fs::read(video).expect("card"),
                "{} differs from the camera's file",
                segment.camera_segment_id
            );
            assert_eq!(ffprobe_codec(&path), "h264", "{}", path.display());
            on_phone += 1;
            locked += usize::from(info.locked);
        }
    }
    assert_eq!(on_phone, card.len(), "the phone holds every file of the card");
    locked
}

fn ffprobe_codec(path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name"])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe must be installed (scripts/test-all installs ffmpeg)");
    assert!(out.status.success(), "ffprobe: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn a_novatek_card_streams_into_drives_and_the_camera_records_again() {
    let world = novatek_camera(true).await;
    let phone = world.phone().await;
    let report = stream(&world, &phone).await;
    let files = world.camera.card().len();
    assert_eq!(files, 6);
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!((report.listed, report.stored), (files, files));

    // Two drives, grouped from the files' times; the locked ones came from the RO folder.
    assert_eq!(phone.drives().await.expect("drives").len(), 2);
    assert_eq!(assert_phone_holds_the_card(&phone, &world).await, 2);
    // The camera refused to list while recording: the phone stopped it once and restarted it.
    assert_eq!(world.camera.novatek_recording(), (true, 1, 1));

    // A second pass fetches nothing again (and still hands the camera back recording).
    let again = stream(&world, &phone).await;
    assert_eq!((again.stored, again.bytes_fetched), (0, 0));
    assert_eq!(world.camera.novatek_recording(), (true, 2, 2));
}

#[tokio::test]
async fn a_file_still_being_recorded_is_not_taken() {
    let world = novatek_camera(true).await;
    world.camera.novatek_start_growing_file();
    let phone = world.phone().await;
    let report = stream(&world, &phone).await;
    let files = world.camera.card().len();
    // Listed, but its size changed between the two looks: left on the camera, not refused.
    assert_eq!((report.listed, report.stored), (files + 1, files));
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_phone_holds_the_card(&phone, &world).await;
}

#[tokio::test]
async fn a_dropped_download_resumes_with_range() {
    let world = novatek_camera(true).await;
    world.camera.inject(Fault::DropAfterBytes { bytes: 100_000, times: 3 });
    let phone = world.phone().await;
    let report = stream(&world, &phone).await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_phone_holds_the_card(&phone, &world).await;
    let sizes: u64 = world.camera.card().iter().map(|(i, _, _)| i.size).sum();
    assert_eq!(report.bytes_fetched, sizes, "no byte before a drop was fetched again");
    assert_eq!(world.camera.served_total_bytes(), sizes);
}

#[tokio::test]
async fn without_range_a_dropped_download_restarts_cleanly() {
    let world = novatek_camera(false).await;
    world.camera.inject(Fault::DropAfterBytes { bytes: 100_000, times: 2 });
    let phone = world.phone().await;
    let report = stream(&world, &phone).await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_phone_holds_the_card(&phone, &world).await;
    let sizes: u64 = world.camera.card().iter().map(|(i, _, _)| i.size).sum();
    // The two cut prefixes were fetched again from byte 0, and nothing else.
    assert_eq!(world.camera.served_total_bytes(), sizes + 2 * 100_000);
}

#[tokio::test]
async fn an_unknown_camera_is_told_with_every_probe_tried() {
    // Something that answers HTTP but speaks none of the dialects: the Dashkeep simcam's
    // `/sim` port is not it, so use a Novatek camera's port with a path prefix nobody serves.
    let world = novatek_camera(true).await;
    let err = probe::probe(&format!("{}/elsewhere", world.camera.base_url()))
        .await
        .expect_err("nothing there speaks a known protocol");
    let text = err.to_string();
    for dialect in ["dashkeep", "blackvue-1009", "blackvue-legacy", "novatek"] {
        assert!(text.contains(dialect), "{dialect} missing from: {text}");
    }
    assert_eq!(err.tried.len(), 4);
}
