//! Attacks on the camera link (issue 12): each test is one attack and what the phone must do.
//!
//! Threat model: a paired camera is reached only over HTTPS pinned to its identity key, with
//! requests signed by the phone's secret. Anyone else on the camera's WiFi (or at its address
//! once it is off) is an impostor: nothing it serves may land in the catalog.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::World;
use dashkeep_core::camera::ble::loopback::LoopbackLink;
use dashkeep_core::catalog::Catalog;
use dashkeep_core::storage::DataLayout;
use dashkeep_core::{Companion, CompanionError};
use dashkeep_simcam::{Scenario, SimCamera, SimConfig};

/// A paired-mode camera with a recorded drive.
async fn paired_mode_camera() -> World {
    common::world_with(Scenario::calm(1).with_segment_secs(20), |cfg| SimConfig {
        instant: true,
        speed: 600.0,
        paired_mode: true,
        pairing_backoff: std::time::Duration::from_millis(10),
        ..cfg
    })
    .await
}

/// Pairs `phone` with `camera` over the loopback BLE link.
async fn pair(phone: &Companion, camera: &SimCamera) {
    let ble = LoopbackLink::new(vec![camera.ble_addr().to_string()]);
    phone
        .pair(&ble, &camera.ble_addr().to_string(), &camera.pairing_code())
        .await
        .expect("pairing succeeds");
}

/// An impostor: an unpaired (open) simulated camera claiming `serial`, listening at `listen`.
async fn impostor(world: &World, serial: &str, listen: SocketAddr) -> SimCamera {
    SimCamera::start(SimConfig {
        instant: true,
        speed: 600.0,
        serial: serial.into(),
        listen,
        ..SimConfig::new(Scenario::calm(1).with_segment_secs(20), world.dir.path().join("fake"))
    })
    .await
    .expect("impostor starts")
}

/// The cameras in the phone's catalog (the companion must be closed).
async fn catalogued(world: &World) -> Vec<(String, String)> {
    let layout = DataLayout::new(world.data_dir());
    let catalog = Catalog::open(&layout.catalog_path()).await.expect("catalog");
    let cameras = catalog.cameras().await.expect("cameras");
    cameras.into_iter().map(|c| (c.serial, c.base_url)).collect()
}

fn refused_as_not_our_camera(r: Result<impl std::fmt::Debug, CompanionError>) -> bool {
    let text = format!("{r:?}");
    r.is_err() && (text.contains("UnprovenSerial") || text.contains("WrongKey"))
}

fn addr_of(url: &str) -> SocketAddr {
    let rest = url.split("://").nth(1).expect("scheme");
    rest.trim_end_matches('/').parse().expect("ip:port")
}

#[tokio::test]
async fn impostor_on_paired_url_is_never_catalogued() {
    let world = paired_mode_camera().await;
    let phone = world.phone().await;
    pair(&phone, &world.camera).await;
    let api_url = world.camera.api_url();
    let serial = world.camera.status().serial;
    let address = addr_of(&api_url);
    world.camera.power_off().await;
    let fake = impostor(&world, &serial, address).await;

    // Whatever URL names the paired camera's address, the pinned client is used: the impostor
    // (plain HTTP, no key) is refused before anything is listed.
    for url in [format!("http://{address}"), api_url.clone(), format!("http://{address}/")] {
        assert!(refused_as_not_our_camera(phone.stream_now(&url).await), "{url}");
        assert!(refused_as_not_our_camera(phone.refresh_camera(&url).await), "{url}");
    }
    // Another name for the same host: a plain client, which refuses the paired serial.
    let other = format!("http://localhost:{}", address.port());
    assert!(refused_as_not_our_camera(phone.stream_now(&other).await));
    assert!(refused_as_not_our_camera(phone.clip_now(&other).await));
    assert!(phone.drives().await.expect("drives").is_empty(), "nothing the impostor served");
    phone.close().await;
    drop(phone);
    assert!(catalogued(&world).await.is_empty(), "the impostor was filed as the paired camera");
    fake.shutdown().await;
}

#[tokio::test]
async fn impostor_claiming_a_paired_serial_cannot_rewrite_its_address() {
    let world = paired_mode_camera().await;
    let phone = world.phone().await;
    pair(&phone, &world.camera).await;
    let api_url = world.camera.api_url();
    let serial = world.camera.status().serial;
    phone.stream_now(&api_url).await.expect("the paired camera streams over pinned HTTPS");
    let before = phone.drives().await.expect("drives").len();
    assert!(before > 0);

    // Elsewhere on the WiFi, a camera claims the paired serial over plain HTTP.
    let fake = impostor(&world, &serial, "127.0.0.1:0".parse().unwrap()).await;
    assert!(refused_as_not_our_camera(phone.stream_now(&fake.base_url()).await));
    assert!(refused_as_not_our_camera(phone.clip_now(&fake.base_url()).await));
    assert_eq!(phone.drives().await.expect("drives").len(), before);
    phone.close().await;
    drop(phone);
    assert_eq!(catalogued(&world).await, vec![(serial, api_url.trim_end_matches('/').into())]);
    fake.shutdown().await;
    world.camera.shutdown().await;
}

#[tokio::test]
async fn pairing_survives_a_restart_of_the_phone_and_still_refuses_the_impostor() {
    let world = paired_mode_camera().await;
    let phone = world.phone().await;
    pair(&phone, &world.camera).await;
    let serial = world.camera.status().serial;
    phone.close().await;
    drop(phone);
    // A fresh companion knows the pairing from the secret store before any pairing call.
    let phone: Arc<Companion> = world.phone().await;
    let fake = impostor(&world, &serial, "127.0.0.1:0".parse().unwrap()).await;
    assert!(refused_as_not_our_camera(phone.stream_now(&fake.base_url()).await));
    phone.close().await;
    drop(phone);
    assert!(catalogued(&world).await.is_empty());
    fake.shutdown().await;
    world.camera.shutdown().await;
}

#[tokio::test]
async fn unpaired_camera_of_another_serial_is_filed_as_itself() {
    let world = paired_mode_camera().await;
    let phone = world.phone().await;
    pair(&phone, &world.camera).await;
    let other = impostor(&world, "OTHER00001", "127.0.0.1:0".parse().unwrap()).await;
    phone.stream_now(&other.base_url()).await.expect("an unpaired camera still streams");
    phone.close().await;
    drop(phone);
    let cams = catalogued(&world).await;
    assert_eq!(cams.len(), 1);
    assert_eq!(cams[0].0, "OTHER00001");
    other.shutdown().await;
    world.camera.shutdown().await;
}
