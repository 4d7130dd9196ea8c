//! A vendor camera's file half-downloaded when the app stopped is resumed by the next run, over
//! real loopback sockets and a real data directory: the partial download survives the restart,
//! the bytes it holds are not fetched again, and a partial that is not the camera's file any
//! more (a Novatek or BlackVue camera lists no checksum) is noticed and fetched afresh, so no
//! video is ever spliced from two recordings.

mod common;

use std::path::PathBuf;

use common::World;
use dashkeep_core::camera::probe::{self, Dialect};
use dashkeep_core::ingest::RetryPolicy;
use dashkeep_core::{Companion, CompanionConfig};
use dashkeep_simcam::{Fault, Scenario, novatek};

/// Where the first run's link drops, in bytes of the first file.
const DROP_AT: u64 = 300_000;

async fn novatek_camera() -> World {
    common::vendor_world(Scenario::multi_drive(1, 30, 10), dashkeep_simcam::Dialect::Novatek).await
}

/// A first run of the app whose link drops mid-file and which gives up (no retries), as when
/// the phone leaves the camera's WiFi and the app is closed. Returns the partial download left.
async fn first_run_cut_short(world: &World) -> (PathBuf, u64) {
    world.camera.inject(Fault::DropAfterBytes { bytes: DROP_AT, times: 1 });
    let config = CompanionConfig {
        retry: RetryPolicy { max_retries: 0, ..world.phone_config().retry },
        ..world.phone_config()
    };
    let phone = Companion::open(config).await.expect("open");
    let driver = probe::driver_for(Dialect::Novatek, &world.camera.base_url()).expect("driver");
    phone.stream_files_now(driver.as_ref()).await.expect_err("the link dropped");
    phone.close().await;
    drop(phone);
    let partials: Vec<PathBuf> = std::fs::read_dir(world.data_dir().join("tmp"))
        .expect("tmp")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "part"))
        .collect();
    assert_eq!(partials.len(), 1, "{partials:?}");
    let len = std::fs::metadata(&partials[0]).expect("partial").len();
    assert_eq!(len, DROP_AT, "the partial holds what arrived before the drop");
    (partials[0].clone(), len)
}

/// The next run streams the card; every file ends up on the phone byte for byte.
async fn next_run(world: &World) -> (dashkeep_core::ingest::IngestReport, usize) {
    let phone = world.phone().await;
    let kept = phone.reconciled_on_open().partials_kept;
    let driver = probe::driver_for(Dialect::Novatek, &world.camera.base_url()).expect("driver");
    let report = phone.stream_files_now(driver.as_ref()).await.expect("stream");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let card = world.camera.card();
    assert_eq!(report.stored, card.len());
    for drive in phone.drives().await.expect("drives") {
        for segment in phone.drive_segments(drive.id).await.expect("segments") {
            let (_, video, _) = card
                .iter()
                .find(|(i, _, _)| {
                    novatek::file_name(i).replace('.', "_") == segment.camera_segment_id
                })
                .expect("on the card");
            let ours = std::fs::read(phone.segment_path(&segment).expect("copy")).expect("read");
            assert!(
                ours == std::fs::read(video).expect("card"),
                "{} differs",
                segment.camera_segment_id
            );
        }
    }
    (report, kept)
}

fn card_bytes(world: &World) -> u64 {
    world.camera.card().iter().map(|(i, _, _)| i.size).sum()
}

#[tokio::test]
async fn a_file_cut_short_when_the_app_stopped_resumes_after_a_restart() {
    let world = novatek_camera().await;
    let (_, partial) = first_run_cut_short(&world).await;
    let (report, kept) = next_run(&world).await;
    assert_eq!(kept, 1, "the partial download survived the restart");
    assert_eq!(
        report.bytes_fetched,
        card_bytes(&world) - partial,
        "the bytes on the phone were not fetched again"
    );
}

#[tokio::test]
async fn a_partial_that_is_not_the_cameras_file_is_fetched_afresh() {
    let world = novatek_camera().await;
    let (path, partial) = first_run_cut_short(&world).await;
    // Another recording's bytes under the same name (a camera whose clock was reset repeats
    // names): the partial's end no longer matches the camera's file.
    let mut bytes = std::fs::read(&path).expect("partial");
    let len = bytes.len();
    bytes[len - 1000..].fill(0x5a);
    std::fs::write(&path, bytes).expect("write");
    let (report, kept) = next_run(&world).await;
    assert_eq!(kept, 1);
    assert_eq!(report.bytes_fetched, card_bytes(&world), "started over: {partial} bytes discarded");
}
