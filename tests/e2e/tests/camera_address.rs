//! Before any camera is paired, the app finds the camera on the phone's WiFi by asking each
//! camera family's address at once (`Companion::camera_url`): a Novatek camera is found where it
//! answers and "Stream now" streams it through its driver; with no camera answering, the app
//! names Dashkeep's default address (whose error then says what was tried).

mod common;

use dashkeep_core::camera::probe::Dialect;
use dashkeep_core::companion::DEFAULT_CAMERA_URL;
use dashkeep_core::{Companion, CompanionConfig};
use dashkeep_simcam::Scenario;

/// A loopback address where nothing listens.
fn nobody() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("http://{}", listener.local_addr().expect("addr"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_camera_on_this_wifi_is_found_by_asking_each_familys_address() {
    let world =
        common::vendor_world(Scenario::multi_drive(1, 30, 10), dashkeep_simcam::Dialect::Novatek)
            .await;
    let camera = world.camera.base_url();
    let phone = Companion::open(CompanionConfig {
        camera_addresses: vec![nobody(), camera.clone()],
        ..world.phone_config()
    })
    .await
    .expect("open");

    let url = phone.camera_url().await.expect("camera url");
    assert_eq!(url, camera, "the address where a camera answered");
    let stream = phone.stream_camera(&url).await.expect("stream now");
    assert_eq!(stream.dialect, Dialect::Novatek);
    assert!(stream.report.stored > 0, "the card's files came over: {:?}", stream.report);
    let drives = phone.drives().await.expect("drives");
    assert!(!drives.is_empty(), "the files make a drive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_camera_answering_the_default_address_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let phone = Companion::open(CompanionConfig {
        camera_addresses: vec![nobody(), nobody()],
        ..CompanionConfig::new(dir.path())
    })
    .await
    .expect("open");
    assert_eq!(phone.camera_url().await.expect("camera url"), DEFAULT_CAMERA_URL);
}
