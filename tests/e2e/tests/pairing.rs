//! Pairing over the loopback BLE link, then signed requests to a camera in paired mode.

mod common;

use std::time::Duration;

use async_trait::async_trait;
use common::{World, assert_phone_mirrors_card};
use dashkeep_core::camera::auth::{
    PhoneCredentials, SignedParts, authorization, authorization_with_nonce, now_ms,
};
use dashkeep_core::camera::ble::loopback::{LoopbackLink, Tap};
use dashkeep_core::camera::ble::{
    BleError, BleLink, GattChannel, MessageChannel, PAIRING_UUID, SERVICE_UUID,
};
use dashkeep_core::camera::pairing::{
    self, PairedCamera, PairingCode, PairingError, new_phone_id, pair_over,
};
use dashkeep_core::camera::{CameraClient, CameraError, CameraKey};
use dashkeep_simcam::{Scenario, SimCamera, SimConfig};

/// A camera in paired mode with a short back-off, its drive recorded before it serves.
async fn paired_mode_camera(backoff: Duration) -> World {
    let scenario = Scenario::calm(1).with_segment_secs(20);
    common::world_with(scenario, |cfg| SimConfig {
        instant: true,
        speed: 600.0,
        paired_mode: true,
        pairing_backoff: backoff,
        ..cfg
    })
    .await
}

fn link(camera: &SimCamera) -> LoopbackLink {
    LoopbackLink::new(vec![camera.ble_addr().to_string()])
}

async fn pair_phone(camera: &SimCamera, phone_id: &str) -> PairedCamera {
    let code = PairingCode::parse(&camera.pairing_code()).unwrap();
    pairing::pair(&link(camera), &camera.ble_addr().to_string(), &code, phone_id)
        .await
        .expect("pairing succeeds")
}

fn key(camera: &SimCamera) -> CameraKey {
    CameraKey::from_bytes(camera.identity_key())
}

/// A client over HTTPS pinned to the camera's key (public, so an intruder can pin it too).
fn client(camera: &SimCamera, creds: Option<PhoneCredentials>) -> CameraClient {
    let c = CameraClient::new(&camera.api_url()).unwrap().pinned(key(camera)).unwrap();
    c.with_credentials(creds)
}

/// A raw HTTPS client pinned to the camera's key, for hand-made requests.
fn raw_https(camera: &SimCamera) -> reqwest::Client {
    let tls = dashkeep_core::camera::pinned::phone_client_config(key(camera)).unwrap();
    reqwest::Client::builder().tls_backend_preconfigured(tls).build().unwrap()
}

fn is_401(r: Result<impl std::fmt::Debug, CameraError>) -> bool {
    matches!(r, Err(CameraError::Status { status: 401, .. }))
}

#[tokio::test]
async fn scan_finds_the_camera_by_its_service() {
    let world = paired_mode_camera(Duration::from_millis(50)).await;
    let found = link(&world.camera).scan(SERVICE_UUID, Duration::from_secs(2)).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].address, world.camera.ble_addr().to_string());
    let other = dashkeep_core::camera::ble::GattUuid(42);
    assert!(link(&world.camera).scan(other, Duration::from_secs(2)).await.unwrap().is_empty());
    world.camera.shutdown().await;
}

#[tokio::test]
async fn pairing_over_ble_then_streaming_with_signed_requests() {
    let world = paired_mode_camera(Duration::from_millis(50)).await;
    let paired = pair_phone(&world.camera, &new_phone_id()).await;
    assert_eq!(paired.serial, world.camera.status().serial);
    assert_eq!(paired.payload.api_url, world.camera.api_url());
    assert_eq!(CameraKey::from_hex(&paired.payload.identity_key), Some(key(&world.camera)));
    assert!(paired.payload.wifi_passphrase.len() >= 16);
    assert_eq!(world.camera.paired_phones(), vec![paired.phone_id.clone()]);

    let phone = world.phone().await;
    // Without the pairing the same companion is refused: over plain HTTP (403), and over HTTPS
    // it has no pinned key to trust.
    let refused = phone.stream_now(&world.camera.base_url()).await;
    assert!(refused.is_err(), "unsigned streaming must fail: {refused:?}");
    assert!(phone.stream_now(&paired.payload.api_url).await.is_err());
    phone.use_paired_camera(Some(paired.clone()));
    let report = phone.stream_now(&paired.payload.api_url).await.expect("stream now");
    assert_eq!(report.stored, world.camera.card().len());
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_phone_mirrors_card(&phone, &world.camera).await;
    assert!(world.camera.request_counts().unauthorized >= 1);
    phone.close().await;
    world.camera.shutdown().await;
}

#[tokio::test]
async fn wrong_codes_back_off_then_the_right_code_pairs() {
    let base = Duration::from_millis(100);
    let world = paired_mode_camera(base).await;
    let (cam, addr) = (&world.camera, world.camera.ble_addr().to_string());
    let right = cam.pairing_code();
    let wrong =
        PairingCode::parse(if right == "00000000" { "11111111" } else { "00000000" }).unwrap();
    let phone_id = new_phone_id();
    for attempt in 0..3u32 {
        let err = pairing::pair(&link(cam), &addr, &wrong, &phone_id).await.unwrap_err();
        assert!(matches!(err, PairingError::ConfirmationFailed), "{err:?}");
        // Straight away, the camera refuses to even try: it is backing off, exponentially.
        let err = pairing::pair(&link(cam), &addr, &wrong, &phone_id).await.unwrap_err();
        let PairingError::BackingOff { retry_after } = err else { panic!("{err:?}") };
        assert!(retry_after <= base * 2u32.pow(attempt), "{retry_after:?}");
        assert!(retry_after > base * 2u32.pow(attempt) / 2, "{retry_after:?} at {attempt}");
        if attempt < 2 {
            tokio::time::sleep(retry_after + Duration::from_millis(20)).await;
        }
    }
    // The right code is refused too while backing off (no oracle), then accepted.
    let code = PairingCode::parse(&right).unwrap();
    let err = pairing::pair(&link(cam), &addr, &code, &phone_id).await.unwrap_err();
    let PairingError::BackingOff { retry_after } = err else { panic!("{err:?}") };
    tokio::time::sleep(retry_after + Duration::from_millis(20)).await;
    let paired = pairing::pair(&link(cam), &addr, &code, &phone_id).await.expect("pairs");
    assert!(client(cam, Some(paired.credentials().unwrap())).status().await.is_ok());
    world.camera.shutdown().await;
}

#[tokio::test]
async fn a_passive_observer_learns_no_secret() {
    let world = paired_mode_camera(Duration::from_millis(50)).await;
    let tap = Tap::default();
    let observed = link(&world.camera).with_tap(tap.clone());
    let code = PairingCode::parse(&world.camera.pairing_code()).unwrap();
    let addr = world.camera.ble_addr().to_string();
    let paired = pairing::pair(&observed, &addr, &code, &new_phone_id()).await.unwrap();
    let frames = tap.lock().unwrap().clone();
    assert!(frames.len() >= 6, "the tap saw the exchange: {} frames", frames.len());
    let wire: Vec<u8> = frames.concat();
    let secret = hex::decode(&paired.payload.api_secret).unwrap();
    for needle in [
        paired.payload.wifi_passphrase.as_bytes(),
        paired.payload.api_secret.as_bytes(),
        &secret,
        code.reveal().as_bytes(),
    ] {
        assert!(!wire.windows(needle.len()).any(|w| w == needle), "a secret is on the air");
    }
    world.camera.shutdown().await;
}

/// An active attacker between phone and camera without the code: it runs its own SPAKE2 with
/// each side (a guessed code) and relays everything else.
struct ManInTheMiddle<C> {
    camera: C,
    guess: spake2::Password,
    phone_id: String,
    serial: String,
}

#[async_trait]
impl<C: MessageChannel> MessageChannel for ManInTheMiddle<C> {
    async fn send(&mut self, msg: &[u8]) -> Result<(), BleError> {
        let mut msg = msg.to_vec();
        if msg.get(1) == Some(&0x01) {
            let (_, element) = spake2::Spake2::<spake2::Ed25519Group>::start_a(
                &self.guess,
                &spake2::Identity::new(self.phone_id.as_bytes()),
                &spake2::Identity::new(self.serial.as_bytes()),
            );
            let at = msg.len() - element.len();
            msg[at..].copy_from_slice(&element);
        }
        self.camera.send(&msg).await
    }

    async fn recv(&mut self, timeout: Duration) -> Result<Vec<u8>, BleError> {
        let mut msg = self.camera.recv(timeout).await?;
        if msg.get(1) == Some(&0x02) {
            let (_, element) = spake2::Spake2::<spake2::Ed25519Group>::start_b(
                &self.guess,
                &spake2::Identity::new(self.phone_id.as_bytes()),
                &spake2::Identity::new(self.serial.as_bytes()),
            );
            msg.truncate(2);
            msg.extend_from_slice(&element);
        }
        Ok(msg)
    }
}

#[tokio::test]
async fn an_active_man_in_the_middle_without_the_code_fails_key_confirmation() {
    let world = paired_mode_camera(Duration::from_millis(10)).await;
    let code = PairingCode::parse(&world.camera.pairing_code()).unwrap();
    let serial = world.camera.status().serial;
    let phone_id = new_phone_id();
    let l = link(&world.camera);
    let addr = world.camera.ble_addr().to_string();
    let mut conn = l.connect(&addr, Duration::from_secs(2)).await.unwrap();
    let chan = GattChannel::open(conn.as_mut(), PAIRING_UUID).await.unwrap();
    let mut mitm = ManInTheMiddle {
        camera: chan,
        guess: spake2::Password::new(b"12345678"),
        phone_id: phone_id.clone(),
        serial: serial.clone(),
    };
    let err = pair_over(&mut mitm, &serial, &code, &phone_id).await.unwrap_err();
    assert!(matches!(err, PairingError::ConfirmationFailed), "{err:?}");
    assert!(world.camera.paired_phones().is_empty());
    world.camera.shutdown().await;
}

#[tokio::test]
async fn an_unpaired_or_wrongly_signed_client_gets_401_on_every_endpoint() {
    let world = paired_mode_camera(Duration::from_millis(10)).await;
    let cam = &world.camera;
    let seg = cam.card()[0].0.clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = raw_https(cam);
    let forged = PhoneCredentials {
        phone_id: "intruder".into(),
        api_secret: dashkeep_core::camera::ApiSecret([9; 32]),
    };
    let paired = pair_phone(cam, "phone-a").await;
    let wrong_secret = PhoneCredentials {
        phone_id: paired.phone_id.clone(),
        api_secret: dashkeep_core::camera::ApiSecret([9; 32]),
    };
    for path in [
        "/api/v1/status".to_string(),
        "/api/v1/drives".into(),
        "/api/v1/segments".into(),
        "/api/v1/feed?timeout_ms=0".into(),
        format!("/api/v1/segments/{}/video", seg.id),
        format!("/api/v1/segments/{}/telemetry", seg.id),
        "/api/v1/nope".into(),
    ] {
        let (p, q) = path.split_once('?').unwrap_or((&path, ""));
        let parts = SignedParts { method: "GET", path: p, query: q, range: "", body: b"" };
        let url = format!("{}{path}", cam.api_url());
        for auth in [
            None,
            Some("DK1-HMAC-SHA256 garbage".to_string()),
            Some(authorization(&forged, &parts, now_ms())),
            Some(authorization(&wrong_secret, &parts, now_ms())),
        ] {
            let mut req = http.get(&url);
            if let Some(a) = &auth {
                req = req.header("authorization", a);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 401, "{path} with {auth:?}");
            let body: dashkeep_core::protocol::ApiError = resp.json().await.unwrap();
            assert_eq!(body.code, "unauthorized");
        }
    }
    assert_eq!(cam.served_total_bytes(), 0, "no video byte left the camera");
    let c = cam.request_counts();
    assert_eq!((c.status, c.drives, c.segments, c.video), (0, 0, 0, 0), "{c:?}");
    assert!(is_401(client(cam, None).status().await));
    // The paired phone's own client passes, Range requests included.
    let ok = client(cam, Some(paired.credentials().unwrap()));
    assert!(ok.status().await.is_ok());
    let dl = ok.video(&seg.id, 100).await.unwrap().unwrap();
    assert_eq!(dl.offset, 100);
    world.camera.shutdown().await;
}

#[tokio::test]
async fn replayed_and_stale_requests_get_401() {
    let world = paired_mode_camera(Duration::from_millis(10)).await;
    let cam = &world.camera;
    let creds = pair_phone(cam, "phone-r").await.credentials().unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = raw_https(cam);
    let url = format!("{}/api/v1/status", cam.api_url());
    let parts =
        SignedParts { method: "GET", path: "/api/v1/status", query: "", range: "", body: b"" };
    let send = |auth: String| {
        let req = http.get(&url).header("authorization", auth);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let fresh =
        authorization_with_nonce(&creds, &parts, now_ms(), "00112233445566778899aabbccddeeff");
    assert_eq!(send(fresh.clone()).await, 200);
    // The same request again, inside the window: a replay.
    assert_eq!(send(fresh).await, 401);
    // Outside the window (either way), even with a fresh nonce.
    for skew in [-31_000, 31_000] {
        assert_eq!(send(authorization(&creds, &parts, now_ms() + skew)).await, 401);
    }
    // A request captured long ago and replayed now: stale.
    let old = authorization_with_nonce(
        &creds,
        &parts,
        now_ms() - 60_000,
        "ffeeddccbbaa99887766554433221100",
    );
    assert_eq!(send(old).await, 401);
    // A signature for another path does not pass for this one.
    let other = SignedParts { path: "/api/v1/drives", ..parts };
    assert_eq!(send(authorization(&creds, &other, now_ms())).await, 401);
    assert_eq!(send(authorization(&creds, &parts, now_ms())).await, 200);
    world.camera.shutdown().await;
}

#[tokio::test]
async fn unpair_revokes_the_phone() {
    let world = paired_mode_camera(Duration::from_millis(10)).await;
    let cam = &world.camera;
    let paired = pair_phone(cam, "phone-u").await;
    let c = client(cam, Some(paired.credentials().unwrap()));
    assert!(c.status().await.is_ok());
    pairing::unpair(&link(cam), &paired).await.expect("unpair");
    assert!(cam.paired_phones().is_empty());
    assert!(is_401(c.status().await));
    // Unpairing again is refused: the secret no longer exists on the camera, so its answer
    // cannot carry a MAC under it.
    let again = pairing::unpair(&link(cam), &paired).await;
    assert!(matches!(again, Err(PairingError::Unauthenticated)), "{again:?}");
    // The camera's own menu revokes too.
    let again = pair_phone(cam, "phone-u").await;
    let c = client(cam, Some(again.credentials().unwrap()));
    assert!(c.status().await.is_ok());
    assert!(cam.revoke_phone("phone-u"));
    assert!(is_401(c.status().await));
    world.camera.shutdown().await;
}

#[tokio::test]
async fn two_phones_have_separate_secrets_and_re_pairing_replaces_one() {
    let world = paired_mode_camera(Duration::from_millis(10)).await;
    let cam = &world.camera;
    let a = pair_phone(cam, "phone-a").await;
    let b = pair_phone(cam, "phone-b").await;
    assert_ne!(a.payload.api_secret, b.payload.api_secret);
    assert_eq!(a.payload.wifi_passphrase, b.payload.wifi_passphrase);
    assert_eq!(cam.paired_phones(), vec!["phone-a".to_string(), "phone-b".into()]);
    let (ca, cb) = (a.credentials().unwrap(), b.credentials().unwrap());
    assert!(client(cam, Some(ca.clone())).status().await.is_ok());
    assert!(client(cam, Some(cb.clone())).status().await.is_ok());
    // A's secret does not sign for B.
    let crossed =
        PhoneCredentials { phone_id: cb.phone_id.clone(), api_secret: ca.api_secret.clone() };
    assert!(is_401(client(cam, Some(crossed)).status().await));
    // Revoking A leaves B working.
    pairing::unpair(&link(cam), &a).await.unwrap();
    assert!(is_401(client(cam, Some(ca)).status().await));
    assert!(client(cam, Some(cb.clone())).status().await.is_ok());
    // Re-pairing B (proven with its current secret) gives it a new secret; the old one stops
    // working.
    let code = PairingCode::parse(&cam.pairing_code()).unwrap();
    let addr = cam.ble_addr().to_string();
    let b2 = pairing::pair_as(&link(cam), &addr, &code, "phone-b", Some(&cb.api_secret))
        .await
        .expect("re-pairs with proof");
    assert_ne!(b2.payload.api_secret, b.payload.api_secret);
    assert!(is_401(client(cam, Some(cb)).status().await));
    assert!(client(cam, Some(b2.credentials().unwrap())).status().await.is_ok());
    world.camera.shutdown().await;
}

#[tokio::test]
async fn paired_mode_off_keeps_the_v1_behaviour() {
    let world = common::recorded_camera(1).await;
    assert!(client(&world.camera, None).status().await.is_ok());
    world.camera.shutdown().await;
}

#[tokio::test]
async fn the_api_needs_https_with_the_pinned_key() {
    let world = paired_mode_camera(Duration::from_millis(10)).await;
    let cam = &world.camera;
    let paired = pair_phone(cam, "phone-tls").await;
    let creds = paired.credentials().unwrap();
    // Signed but in plain HTTP: refused before anything is read or served.
    let plain = CameraClient::new(&cam.base_url()).unwrap().with_credentials(Some(creds.clone()));
    let err = plain.status().await.unwrap_err();
    assert!(matches!(err, CameraError::Status { status: 403, .. }), "{err:?}");
    // A paired client refuses to speak plain HTTP at all.
    let err = CameraClient::new(&cam.base_url()).unwrap().pinned(key(cam)).unwrap_err();
    assert!(matches!(err, CameraError::NotHttps(_)), "{err:?}");
    // Something answering with another key (an impostor on the camera's WiFi) is refused before
    // a signed request leaves the phone.
    let impostor = CameraKey::from_bytes([7; 32]);
    let c = CameraClient::new(&cam.api_url()).unwrap().pinned(impostor).unwrap();
    let err = c.with_credentials(Some(creds.clone())).status().await.unwrap_err();
    assert!(matches!(err, CameraError::WrongKey), "{err:?}");
    assert!(!err.is_transient());
    assert_eq!(cam.request_counts().status, 0, "no request reached the API");
    // The paired phone's client, built from the pairing alone, gets through.
    let status = CameraClient::paired(&paired).unwrap().status().await.unwrap();
    assert_eq!(status.serial, paired.serial);
    world.camera.shutdown().await;
}
