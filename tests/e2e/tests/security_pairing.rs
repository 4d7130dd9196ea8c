//! Attacks on pairing (issue 12): a pairing window opened on the camera, closed by one success
//! or time, a fresh code per window, back-off that survives reboots but not a new press, and
//! re-pairing a phone id only with its current secret. Threat model: docs/camera-protocol.md.

mod common;

use std::time::Duration;

use common::World;
use dashkeep_core::camera::ble::loopback::LoopbackLink;
use dashkeep_core::camera::pairing::{self, PairedCamera, PairingCode, PairingError, new_phone_id};
use dashkeep_core::camera::{CameraClient, CameraError};
use dashkeep_simcam::{Scenario, SimCamera, SimConfig};

/// A paired-mode camera with no pairing window open, `backoff` after a failed attempt.
async fn camera(backoff: Duration, window: Duration) -> World {
    common::world_with(Scenario::calm(1).with_segment_secs(20), |cfg| SimConfig {
        instant: true,
        speed: 600.0,
        paired_mode: true,
        pairing_backoff: backoff,
        pairing_window: window,
        ..cfg
    })
    .await
}

async fn pair_with(
    camera: &SimCamera,
    code: &str,
    phone_id: &str,
    current: Option<&PairedCamera>,
) -> Result<PairedCamera, PairingError> {
    let link = LoopbackLink::new(vec![camera.ble_addr().to_string()]);
    let code = PairingCode::parse(code)?;
    let creds = current.map(|c| c.credentials().unwrap());
    let secret = creds.as_ref().map(|c| &c.api_secret);
    pairing::pair_as(&link, &camera.ble_addr().to_string(), &code, phone_id, secret).await
}

/// Some code other than `code`.
fn wrong(code: &str) -> String {
    let last = code.as_bytes()[code.len() - 1];
    format!("{}{}", &code[..code.len() - 1], if last == b'0' { '1' } else { '0' })
}

async fn works(paired: &PairedCamera) -> bool {
    CameraClient::paired(paired).unwrap().status().await.is_ok()
}

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn pairing_is_refused_until_the_cameras_button_opens_a_window() {
    let world = camera(Duration::from_millis(10), MINUTE).await;
    assert_eq!(world.camera.shown_pairing_code(), None, "no window at power-on");
    // Any code, even a right one from a window yet to come, gets "not pairing".
    let err = pair_with(&world.camera, "12345678", &new_phone_id(), None).await.unwrap_err();
    assert!(matches!(err, PairingError::NotPairing), "{err:?}");
    let code = world.camera.press_pairing_button();
    let paired = pair_with(&world.camera, &code, &new_phone_id(), None).await.expect("pairs");
    assert!(works(&paired).await);
    world.camera.shutdown().await;
}

#[tokio::test]
async fn one_success_closes_the_window_so_a_glimpsed_code_is_worthless() {
    let world = camera(Duration::from_millis(10), MINUTE).await;
    let code = world.camera.press_pairing_button();
    pair_with(&world.camera, &code, &new_phone_id(), None).await.expect("the owner pairs");
    // Someone who read the same code over the owner's shoulder comes second.
    let err = pair_with(&world.camera, &code, &new_phone_id(), None).await.unwrap_err();
    assert!(matches!(err, PairingError::NotPairing), "{err:?}");
    assert_eq!(world.camera.paired_phones().len(), 1);
    world.camera.shutdown().await;
}

#[tokio::test]
async fn an_unused_window_closes_after_its_time() {
    let world = camera(Duration::from_millis(10), Duration::from_millis(300)).await;
    let code = world.camera.press_pairing_button();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(world.camera.shown_pairing_code(), None);
    let err = pair_with(&world.camera, &code, &new_phone_id(), None).await.unwrap_err();
    assert!(matches!(err, PairingError::NotPairing), "{err:?}");
    world.camera.shutdown().await;
}

#[tokio::test]
async fn each_window_has_a_fresh_code_and_the_old_one_opens_nothing() {
    let world = camera(Duration::from_millis(10), MINUTE).await;
    let old = world.camera.press_pairing_button();
    let new = world.camera.press_pairing_button();
    assert_ne!(old, new);
    let err = pair_with(&world.camera, &old, &new_phone_id(), None).await.unwrap_err();
    assert!(matches!(err, PairingError::ConfirmationFailed), "{err:?}");
    world.camera.shutdown().await;
}

#[tokio::test]
async fn backoff_survives_a_reboot_but_a_new_press_lets_the_owner_in() {
    let world = camera(MINUTE, MINUTE).await;
    let code = world.camera.press_pairing_button();
    // A nearby device guesses once: the window locks for a minute.
    let err = pair_with(&world.camera, &wrong(&code), &new_phone_id(), None).await.unwrap_err();
    assert!(matches!(err, PairingError::ConfirmationFailed), "{err:?}");
    // Turning the camera off and on does not reset the lock (flash, wall clock).
    world.camera.power_off().await;
    world.camera.power_on().await.expect("power on");
    assert_eq!(world.camera.shown_pairing_code().as_deref(), Some(code.as_str()));
    let err = pair_with(&world.camera, &code, &new_phone_id(), None).await.unwrap_err();
    assert!(
        matches!(err, PairingError::BackingOff { retry_after } if retry_after > Duration::from_secs(30)),
        "{err:?}"
    );
    // The owner presses the button again: a new window, no back-off.
    let fresh = world.camera.press_pairing_button();
    let paired = pair_with(&world.camera, &fresh, &new_phone_id(), None).await.expect("pairs");
    assert!(works(&paired).await);
    world.camera.shutdown().await;
}

#[tokio::test]
async fn repairing_a_phone_id_without_its_secret_cannot_lock_the_owner_out() {
    let world = camera(Duration::from_millis(10), MINUTE).await;
    let owner_id = new_phone_id();
    let code = world.camera.press_pairing_button();
    let owner = pair_with(&world.camera, &code, &owner_id, None).await.expect("owner pairs");
    // An attacker saw the owner's phone id (it travels in clear) and a later window's code.
    let code = world.camera.press_pairing_button();
    let err = pair_with(&world.camera, &code, &owner_id, None).await.unwrap_err();
    assert!(matches!(err, PairingError::PhoneIdTaken), "{err:?}");
    assert!(works(&owner).await, "the owner's secret still works");
    // The owner re-pairs with proof of the current secret (once the window's 10 ms back-off
    // after the refused attempt has passed): the old secret is replaced.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let code = world.camera.pairing_code();
    let again = pair_with(&world.camera, &code, &owner_id, Some(&owner)).await.expect("re-pairs");
    assert!(works(&again).await);
    let old = CameraClient::paired(&owner).unwrap().status().await;
    assert!(matches!(old, Err(CameraError::Status { status: 401, .. })), "{old:?}");
    world.camera.shutdown().await;
}
