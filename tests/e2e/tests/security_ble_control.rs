//! Attacks on the BLE control link and the request signatures (issue 12): spoofed answers,
//! a camera clock that drifted, replays across a camera reboot, hostile timestamps, redirects.

mod common;

use std::time::Duration;

use async_trait::async_trait;
use common::World;
use dashkeep_core::camera::auth::{SignedParts, authorization_with_nonce, now_ms};
use dashkeep_core::camera::ble::loopback::LoopbackLink;
use dashkeep_core::camera::ble::{BleConnection, BleError, BleLink, CONTROL_UUID, GattUuid};
use dashkeep_core::camera::control::{self, ControlCommand};
use dashkeep_core::camera::pairing::{self, PairedCamera, PairingCode, PairingError, new_phone_id};
use dashkeep_core::camera::{CameraClient, CameraError, CameraKey};
use dashkeep_simcam::{Scenario, SimCamera, SimConfig};

async fn paired_mode_camera(clock_skew_ms: i64) -> World {
    common::world_with(Scenario::calm(1).with_segment_secs(20), |cfg| SimConfig {
        instant: true,
        speed: 600.0,
        paired_mode: true,
        pairing_backoff: Duration::from_millis(10),
        clock_skew_ms,
        ..cfg
    })
    .await
}

fn link(camera: &SimCamera) -> LoopbackLink {
    LoopbackLink::new(vec![camera.ble_addr().to_string()])
}

async fn pair(camera: &SimCamera) -> PairedCamera {
    let code = PairingCode::parse(&camera.pairing_code()).unwrap();
    pairing::pair(&link(camera), &camera.ble_addr().to_string(), &code, &new_phone_id())
        .await
        .expect("pairs")
}

async fn connect(camera: &SimCamera) -> Box<dyn BleConnection> {
    link(camera).connect(&camera.ble_addr().to_string(), Duration::from_secs(5)).await.unwrap()
}

/// Another BLE device answering in the camera's place: every control answer becomes an
/// unsigned "refused" (what the old protocol read as a revocation).
struct Spoofer(Box<dyn BleConnection>);

#[async_trait]
impl BleConnection for Spoofer {
    async fn read(&mut self, ch: GattUuid) -> Result<Vec<u8>, BleError> {
        self.0.read(ch).await
    }
    async fn write(&mut self, ch: GattUuid, value: &[u8]) -> Result<(), BleError> {
        self.0.write(ch, value).await
    }
    async fn subscribe(&mut self, ch: GattUuid) -> Result<(), BleError> {
        self.0.subscribe(ch).await
    }
    async fn next_notification(
        &mut self,
        timeout: Duration,
    ) -> Result<(GattUuid, Vec<u8>), BleError> {
        let (ch, value) = self.0.next_notification(timeout).await?;
        if ch != CONTROL_UUID {
            return Ok((ch, value));
        }
        // One unframed chunk: [seq 0][flags 0][version][op | 0x80][refused][32 zero bytes].
        let mut forged = vec![0, 0, 1, 0x82, 1];
        forged.extend_from_slice(&[0; 32]);
        Ok((ch, forged))
    }
    async fn disconnect(&mut self) -> Result<(), BleError> {
        self.0.disconnect().await
    }
}

#[tokio::test]
async fn spoofed_ble_refusal_is_never_taken_for_a_revocation() {
    let world = paired_mode_camera(0).await;
    let paired = pair(&world.camera).await;
    let mut spoofed = Spoofer(connect(&world.camera).await);
    let err = control::status(&mut spoofed, &paired).await.unwrap_err();
    assert!(matches!(err, PairingError::Unauthenticated), "{err:?}");
    // The real camera, asked directly, still accepts the phone.
    let mut real = connect(&world.camera).await;
    control::status(real.as_mut(), &paired).await.expect("signed status");
    world.camera.shutdown().await;
}

#[tokio::test]
async fn a_real_revocation_is_an_authenticated_refusal_confirmed_over_https() {
    let world = paired_mode_camera(0).await;
    let paired = pair(&world.camera).await;
    assert!(world.camera.revoke_phone(&paired.phone_id));
    let mut real = connect(&world.camera).await;
    let err = control::send(real.as_mut(), &paired, ControlCommand::Status).await.unwrap_err();
    // The camera cannot MAC for a phone it forgot: unauthenticated over BLE...
    assert!(matches!(err, PairingError::Unauthenticated), "{err:?}");
    // ...and the pinned HTTPS answers 401, which is what confirms the revocation.
    let https = CameraClient::paired(&paired).unwrap().status().await;
    assert!(matches!(https, Err(CameraError::Status { status: 401, .. })), "{https:?}");
    world.camera.shutdown().await;
}

#[tokio::test]
async fn camera_clock_ten_minutes_off_is_corrected_not_read_as_revoked() {
    let world = paired_mode_camera(10 * 60 * 1000).await;
    let paired = pair(&world.camera).await;
    let mut ble = connect(&world.camera).await;
    let status = control::status(ble.as_mut(), &paired).await.expect("status despite the skew");
    assert!(status.wifi_on);
    // The offset learnt over BLE (from the camera's signed clock) serves HTTPS too.
    let https = CameraClient::paired(&paired).unwrap().status().await.expect("https status");
    assert_eq!(https.serial, paired.serial);
    world.camera.shutdown().await;
}

#[tokio::test]
async fn camera_clock_minutes_off_is_learnt_from_its_signed_https_answer_not_read_as_revoked() {
    // No BLE at all: the first HTTPS request is stale on the camera's clock; the camera answers
    // 401 with its time under the phone's secret, the phone learns the offset and signs again.
    let world = paired_mode_camera(-7 * 60 * 1000).await;
    let paired = pair(&world.camera).await;
    let client = CameraClient::paired(&paired).unwrap();
    let status = client.status().await.expect("https status despite a camera 7 minutes behind");
    assert_eq!(status.serial, paired.serial);
    assert!(client.status().await.is_ok(), "later requests carry the learnt offset");
    world.camera.shutdown().await;
}

#[tokio::test]
async fn a_stale_request_gets_the_camera_time_signed_for_its_nonce_only() {
    use dashkeep_core::camera::auth::{
        CAMERA_MAC_HEADER, CAMERA_TIME_HEADER, verified_camera_time,
    };
    let world = paired_mode_camera(0).await;
    let paired = pair(&world.camera).await;
    let creds = paired.credentials().unwrap();
    let nonce = "0123456789abcdef0123456789abcdef";
    let stale = authorization_with_nonce(&creds, &STATUS, now_ms() - 3_600_000, nonce);
    let resp = pinned_raw(&world.camera)
        .get(format!("{}/api/v1/status", paired.payload.api_url))
        .header("authorization", stale)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let text = |h| resp.headers().get(h).unwrap().to_str().unwrap().to_string();
    let (time, mac) = (text(CAMERA_TIME_HEADER), text(CAMERA_MAC_HEADER));
    let camera_ms = verified_camera_time(&creds.api_secret, nonce, &time, &mac).expect("signed");
    assert!((camera_ms - now_ms()).abs() < 60_000);
    // Replayed for another request (another nonce), or with a forged time: not accepted.
    assert!(verified_camera_time(&creds.api_secret, "ffff0000ffff0000", &time, &mac).is_none());
    let forged = (camera_ms + 600_000).to_string();
    assert!(verified_camera_time(&creds.api_secret, nonce, &forged, &mac).is_none());
    world.camera.shutdown().await;
}

#[tokio::test]
async fn a_learnt_camera_clock_offset_is_kept_with_the_pairing_across_an_app_restart() {
    use dashkeep_core::camera::secrets::{FileSecretStore, SecretStore};
    let world = paired_mode_camera(0).await;
    let phone = world.phone().await;
    let addr = world.camera.ble_addr().to_string();
    let code = world.camera.pairing_code();
    let paired = phone.pair(&link(&world.camera), &addr, &code).await.expect("pairs");
    // The app learnt that the camera runs 9 minutes ahead and saved it with the pairing...
    let mut learnt = paired.clone();
    learnt.clock_offset_ms = 9 * 60 * 1000;
    FileSecretStore::in_dir(&world.data_dir()).put(&learnt).unwrap();
    drop(phone);
    // ...then restarted: the offset is back before any request is signed.
    let _phone = world.phone().await;
    assert_eq!(dashkeep_core::camera::auth::clock::offset(&paired.phone_id), 9 * 60 * 1000);
    world.camera.shutdown().await;
}

/// A WiFi joiner that joins whatever it is asked (the loopback camera needs no real network).
struct AnyWifi;

#[async_trait]
impl dashkeep_core::camera::WifiJoiner for AnyWifi {
    async fn join(&self, _: &str, _: &str) -> Result<(), dashkeep_core::camera::WifiError> {
        Ok(())
    }
    async fn leave(&self, _: &str) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_offset_learnt_while_connecting_is_saved_and_back_after_a_restart() {
    use dashkeep_core::CompanionEvent;
    use dashkeep_core::camera::auth::clock;
    use dashkeep_core::camera::secrets::{FileSecretStore, SecretStore};
    use dashkeep_core::companion::ConnectionState;
    let ahead_ms = 9 * 60 * 1000;
    let world = paired_mode_camera(ahead_ms).await;
    let phone = world.phone().await;
    let mut events = phone.subscribe();
    let addr = world.camera.ble_addr().to_string();
    let paired = phone.pair(&link(&world.camera), &addr, &world.camera.pairing_code()).await;
    let paired = paired.expect("pairs");
    // Connecting over BLE meets the camera's clock nine minutes ahead: the first signed command
    // is stale there, the camera's signed clock answer teaches the phone the offset...
    let (ble, wifi) = (std::sync::Arc::new(link(&world.camera)), std::sync::Arc::new(AnyWifi));
    phone.connect(&paired.serial, ble, wifi, true).await.expect("connects");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv()).await.expect("streams");
        if let Ok(CompanionEvent::Connection(ConnectionState::Streaming { .. })) = event {
            break;
        }
    }
    // ...which the connection saved with the pairing, without being told.
    let store = FileSecretStore::in_dir(&world.data_dir());
    let saved = store.get(&paired.serial).unwrap().expect("still paired").clock_offset_ms;
    assert!(
        (saved - ahead_ms).abs() < 5_000,
        "saved offset {saved} ms, camera {ahead_ms} ms ahead"
    );
    phone.disconnect().await;
    drop(phone);
    // A restarted app (the process-wide clock forgotten) starts on the saved offset.
    clock::restore(&paired.phone_id, 0);
    let _phone = world.phone().await;
    let restored = clock::offset(&paired.phone_id);
    assert!((restored - ahead_ms).abs() < 5_000, "restored offset {restored} ms");
    world.camera.shutdown().await;
}

fn pinned_raw(camera: &SimCamera) -> reqwest::Client {
    let key = CameraKey::from_bytes(camera.identity_key());
    let tls = dashkeep_core::camera::pinned::phone_client_config(key).unwrap();
    reqwest::Client::builder().tls_backend_preconfigured(tls).build().unwrap()
}

const STATUS: SignedParts<'static> =
    SignedParts { method: "GET", path: "/api/v1/status", query: "", range: "", body: b"" };

#[tokio::test]
async fn request_replayed_after_a_camera_reboot_is_refused() {
    let world = paired_mode_camera(0).await;
    let paired = pair(&world.camera).await;
    let creds = paired.credentials().unwrap();
    let header =
        authorization_with_nonce(&creds, &STATUS, now_ms(), "00112233445566778899aabbccddeeff");
    let http = pinned_raw(&world.camera);
    let url = format!("{}/api/v1/status", world.camera.api_url());
    let send = || http.get(&url).header("Authorization", &header).send();
    assert_eq!(send().await.unwrap().status(), 200);
    assert_eq!(send().await.unwrap().status(), 401, "a replay before the reboot");
    // The camera reboots: its RAM (the nonces seen) is lost.
    world.camera.power_off().await;
    world.camera.power_on().await.unwrap();
    let after = send().await.unwrap().status();
    assert_eq!(after, 503, "the replay is refused after the reboot (retry later)");
    // A fresh request passes once the persisted high-water mark is behind it.
    tokio::time::sleep(Duration::from_millis(5500)).await;
    CameraClient::paired(&paired).unwrap().status().await.expect("fresh request");
    world.camera.shutdown().await;
}

#[tokio::test]
async fn extreme_timestamps_are_refused_without_harm() {
    let world = paired_mode_camera(0).await;
    let paired = pair(&world.camera).await;
    let creds = paired.credentials().unwrap();
    let http = pinned_raw(&world.camera);
    let url = format!("{}/api/v1/status", world.camera.api_url());
    for (i, ts) in [i64::MIN, i64::MAX, i64::MIN + 1, -1].into_iter().enumerate() {
        let nonce = format!("{i:032x}");
        let header = authorization_with_nonce(&creds, &STATUS, ts, &nonce);
        let code = http.get(&url).header("Authorization", header).send().await.unwrap().status();
        assert_eq!(code, 401, "ts {ts}");
    }
    // The camera is still serving.
    CameraClient::paired(&paired).unwrap().status().await.expect("still up");
    world.camera.shutdown().await;
}

#[tokio::test]
async fn camera_redirects_are_never_followed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Elsewhere: counts whoever the redirect would send there.
    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}/api/v1/status", elsewhere.local_addr().unwrap());
    let visits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = visits.clone();
    tokio::spawn(async move {
        while let Ok((_s, _)) = elsewhere.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let redirector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let camera_url = format!("http://{}", redirector.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = redirector.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let answer =
                format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n");
            let _ = s.write_all(answer.as_bytes()).await;
        }
    });
    let err = CameraClient::new(&camera_url).unwrap().status().await.unwrap_err();
    assert!(matches!(err, CameraError::Status { status: 302, .. }), "{err:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(visits.load(std::sync::atomic::Ordering::SeqCst), 0, "the redirect was followed");
}
