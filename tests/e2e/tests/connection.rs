//! The camera connection as the UI sees it: pair through the companion, connect over the
//! loopback BLE link, join the camera's WiFi, stream over pinned HTTPS; lose the camera when it
//! powers off, find it again when it powers on; stop for good when the camera revokes the phone.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::{World, assert_phone_mirrors_card};
use dashkeep_core::camera::ble::loopback::LoopbackLink;
use dashkeep_core::camera::ble::{BleLink, EVENTS_UUID, Reassembler};
use dashkeep_core::camera::control::{self, CameraEvent, ControlCommand};
use dashkeep_core::camera::{PairedCamera, PairingError};
use dashkeep_core::camera::{WifiError, WifiJoiner};
use dashkeep_core::companion::{ConnectionState, DisconnectReason};
use dashkeep_core::{Companion, CompanionEvent};
use dashkeep_simcam::{Fixture, Scenario, SimCamera, SimConfig};
use tokio::sync::broadcast;

/// A WiFi joiner that records what it was asked to join (the network, never the passphrase).
#[derive(Default)]
struct RecordingWifi {
    joins: AtomicUsize,
    ssids: Mutex<Vec<String>>,
    passphrase_len: AtomicUsize,
    left: Mutex<Vec<String>>,
}

#[async_trait]
impl WifiJoiner for RecordingWifi {
    async fn join(&self, ssid: &str, passphrase: &str) -> Result<(), WifiError> {
        self.joins.fetch_add(1, Ordering::SeqCst);
        self.ssids.lock().unwrap().push(ssid.to_string());
        self.passphrase_len.store(passphrase.len(), Ordering::SeqCst);
        Ok(())
    }

    async fn leave(&self, ssid: &str) {
        self.left.lock().unwrap().push(ssid.to_string());
    }
}

/// A camera in paired mode recording live: a segment every `10 s / speed`.
async fn live_paired_camera(minutes: u32, speed: f64) -> World {
    let scenario = Scenario::calm(minutes).with_segment_secs(10);
    common::world_with(scenario, |cfg| SimConfig {
        speed,
        paired_mode: true,
        pairing_backoff: Duration::from_millis(10),
        ..cfg
    })
    .await
}

/// Waits (up to 30 s) for a connection state matching `want`, returning every state seen.
async fn wait_for(
    events: &mut broadcast::Receiver<CompanionEvent>,
    seen: &mut Vec<ConnectionState>,
    want: impl Fn(&ConnectionState) -> bool,
) -> ConnectionState {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("state not reached; seen {seen:?}"))
            .expect("event stream open");
        if let CompanionEvent::Connection(state) = event {
            seen.push(state.clone());
            if want(&state) {
                return state;
            }
        }
    }
}

/// A phone on the world's data directory, paired with its camera over the loopback link, and
/// hearing its events since before the pairing.
struct PairedPhone {
    phone: Arc<Companion>,
    link: LoopbackLink,
    paired: PairedCamera,
    events: broadcast::Receiver<CompanionEvent>,
    seen: Vec<ConnectionState>,
}

impl PairedPhone {
    async fn new(world: &World) -> Self {
        let phone = world.phone().await;
        let events = phone.subscribe();
        let addr = world.camera.ble_addr().to_string();
        let link = LoopbackLink::new(vec![addr.clone()]);
        let code = world.camera.pairing_code();
        let paired = phone.pair(&link, &addr, &code).await.expect("pairs");
        Self { phone, link, paired, events, seen: Vec::new() }
    }

    /// Connects with automatic streaming and waits until it streams.
    async fn stream(&mut self, wifi: Arc<RecordingWifi>) {
        let link = Arc::new(self.link.clone());
        self.phone.connect(&self.paired.serial, link, wifi, true).await.expect("connect");
        self.wait_for(|s| matches!(s, ConnectionState::Streaming { .. })).await;
    }

    async fn wait_for(&mut self, want: impl Fn(&ConnectionState) -> bool) -> ConnectionState {
        wait_for(&mut self.events, &mut self.seen, want).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_streams_and_comes_back_after_a_power_cycle() {
    let world = live_paired_camera(4, 40.0).await;
    let camera = &world.camera;
    let mut p = PairedPhone::new(&world).await;
    let (phone, serial) = (p.phone.clone(), p.paired.serial.clone());
    assert_eq!(phone.connection_state(), ConnectionState::Paired { serial: serial.clone() });

    let wifi = Arc::new(RecordingWifi::default());
    p.stream(wifi.clone()).await;
    let expected = [
        ConnectionState::Pairing,
        ConnectionState::Paired { serial: serial.clone() },
        ConnectionState::Scanning,
        ConnectionState::BleConnected { serial: serial.clone() },
        ConnectionState::WifiJoined { serial: serial.clone(), ssid: format!("Dashkeep-{serial}") },
        ConnectionState::Streaming { serial: serial.clone() },
    ];
    assert_eq!(p.seen, expected);
    assert!(phone.is_streaming().await);
    assert_eq!(wifi.ssids.lock().unwrap().as_slice(), [format!("Dashkeep-{serial}")]);
    assert!(wifi.passphrase_len.load(Ordering::SeqCst) >= 16);

    // Power off mid-drive: the phone says the camera is gone, and that it will try again.
    camera.wait_for_seq(3).await;
    camera.power_off().await;
    let down = p
        .wait_for(|s| matches!(s, ConnectionState::Disconnected { retry_in_ms: Some(_), .. }))
        .await;
    let ConnectionState::Disconnected { reason, .. } = down else { unreachable!() };
    assert!(
        matches!(reason, DisconnectReason::CameraUnreachable(_) | DisconnectReason::BleLost(_)),
        "{reason:?}"
    );
    // While it is off, BLE scans do not find it.
    p.wait_for(|s| {
        matches!(s, ConnectionState::Disconnected { reason: DisconnectReason::NotInRange, .. })
    })
    .await;

    // Power on: it is found again by itself and streaming resumes until the drive ends.
    camera.power_on().await.expect("power on");
    p.wait_for(|s| matches!(s, ConnectionState::Streaming { .. })).await;
    assert!(wifi.joins.load(Ordering::SeqCst) >= 2, "the WiFi was joined again");
    camera.wait_for_scenario_end().await;
    wait_until_stored(&phone, camera.card().len()).await;
    assert_phone_mirrors_card(&phone, camera).await;

    assert!(wifi.left.lock().unwrap().is_empty(), "the WiFi is kept across reconnects");
    phone.disconnect().await;
    assert_eq!(
        wifi.left.lock().unwrap().as_slice(),
        [format!("Dashkeep-{serial}")],
        "disconnecting gives the phone its usual network back"
    );
    let stopped =
        ConnectionState::Disconnected { reason: DisconnectReason::Stopped, retry_in_ms: None };
    assert_eq!(phone.connection_state(), stopped);
    assert!(!phone.is_streaming().await);
    phone.close().await;
    world.camera.shutdown().await;
}

/// Waits (up to 30 s) until the phone holds `count` segments.
async fn wait_until_stored(phone: &Companion, count: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while stored_segments(phone).await < count {
        assert!(tokio::time::Instant::now() < deadline, "phone did not catch up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn stored_segments(phone: &Companion) -> usize {
    let mut n = 0;
    for drive in phone.drives().await.expect("drives") {
        let segments = phone.drive_segments(drive.id).await.expect("segments");
        n += segments.iter().filter(|s| s.phone_file.is_some()).count();
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_phone_stops_trying_and_says_why() {
    let world = live_paired_camera(10, 20.0).await;
    let camera = &world.camera;
    let mut p = PairedPhone::new(&world).await;
    let (phone, phone_id) = (p.phone.clone(), p.paired.phone_id.clone());
    p.stream(Arc::new(RecordingWifi::default())).await;
    camera.wait_for_seq(2).await;
    assert!(camera.revoke_phone(&phone_id), "the camera's menu revokes the phone");
    let down = p.wait_for(|s| matches!(s, ConnectionState::Disconnected { .. })).await;
    assert_eq!(
        down,
        ConnectionState::Disconnected { reason: DisconnectReason::Revoked, retry_in_ms: None }
    );
    assert!(!phone.is_streaming().await);
    phone.close().await;
    world.camera.shutdown().await;
}

#[tokio::test]
async fn connecting_to_a_camera_that_is_not_paired_is_a_typed_error() {
    let world = live_paired_camera(1, 1.0).await;
    let phone = world.phone().await;
    let link = LoopbackLink::new(vec![world.camera.ble_addr().to_string()]);
    let wifi = Arc::new(RecordingWifi::default());
    let err = phone.connect("NOPE123", Arc::new(link), wifi, true).await.unwrap_err();
    assert!(matches!(err, dashkeep_core::CompanionError::NotPaired(_)), "{err:?}");
    assert_eq!(phone.connection_state(), ConnectionState::Idle);
    phone.close().await;
    world.camera.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_with_its_wifi_off_turns_it_on_for_its_paired_phone() {
    let world = common::world_with(Scenario::calm(1).with_segment_secs(20), |cfg| SimConfig {
        instant: true,
        speed: 600.0,
        paired_mode: true,
        wifi_starts_on: false,
        ..cfg
    })
    .await;
    let camera = &world.camera;
    assert!(!camera.wifi_on());
    let mut p = PairedPhone::new(&world).await;
    let (phone, link, paired) = (p.phone.clone(), p.link.clone(), p.paired.clone());

    // An unsigned or forged command is refused and changes nothing.
    let mut conn = link.connect(&paired.ble_address, Duration::from_secs(5)).await.unwrap();
    let mut forged = paired.clone();
    forged.payload.api_secret = hex::encode([9u8; 32]);
    let err = control::send(conn.as_mut(), &forged, ControlCommand::WifiOn).await.unwrap_err();
    // The camera cannot sign an answer for a secret it does not hold.
    assert!(matches!(err, PairingError::Unauthenticated), "{err:?}");
    assert!(!camera.wifi_on());
    let status = control::status(conn.as_mut(), &paired).await.expect("signed status");
    assert!(!status.wifi_on);
    assert_eq!(status.sd_capacity_bytes, camera.status().sd_capacity_bytes);
    conn.disconnect().await.unwrap();

    // Connecting turns it on (a signed command), then streams everything.
    p.stream(Arc::new(RecordingWifi::default())).await;
    assert!(camera.wifi_on());
    wait_until_stored(&phone, camera.card().len()).await;
    phone.close().await;
    world.camera.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_camera_notifies_recording_sd_usage_g_sensor_and_power_over_ble() {
    let dir = tempfile::tempdir().expect("tempdir");
    let camera = SimCamera::start(SimConfig {
        speed: 120.0,
        fixture: Fixture::Small360p,
        ..SimConfig::new(Scenario::demo(), dir.path().join("sd"))
    })
    .await
    .expect("camera starts");
    let link = LoopbackLink::new(vec![camera.ble_addr().to_string()]);
    let mut conn =
        link.connect(&camera.ble_addr().to_string(), Duration::from_secs(5)).await.unwrap();
    conn.subscribe(EVENTS_UUID).await.unwrap();
    let mut reasm = Reassembler::default();
    let mut heard = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !heard.iter().any(|e| matches!(e, CameraEvent::GSensor { .. })) {
        assert!(tokio::time::Instant::now() < deadline, "no G-sensor event; heard {heard:?}");
        let (uuid, chunk) = conn.next_notification(Duration::from_secs(30)).await.unwrap();
        assert_eq!(uuid, EVENTS_UUID);
        if let Some(message) = reasm.push(&chunk).unwrap() {
            heard.extend(CameraEvent::decode(&message));
        }
    }
    assert!(matches!(heard[0], CameraEvent::Recording { recording: true, .. }), "{heard:?}");
    let usage: Vec<u64> = heard
        .iter()
        .filter_map(|e| match e {
            CameraEvent::SdUsage { used_bytes, .. } => Some(*used_bytes),
            _ => None,
        })
        .collect();
    assert!(usage.windows(2).all(|w| w[0] < w[1]), "SD usage grows: {usage:?}");
    let Some(CameraEvent::GSensor { peak_g, .. }) = heard.last() else { unreachable!() };
    assert!(*peak_g > 0.3, "the demo's hard brake: {peak_g}");
    camera.power_off().await;
    loop {
        let (_, chunk) = conn.next_notification(Duration::from_secs(10)).await.unwrap();
        if let Some(message) = reasm.push(&chunk).unwrap()
            && CameraEvent::decode(&message) == Some(CameraEvent::Power { on: false })
        {
            break;
        }
    }
    camera.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clip_now_while_connected_locks_the_moment_on_the_camera() {
    let world = live_paired_camera(6, 20.0).await;
    let camera = &world.camera;
    let mut p = PairedPhone::new(&world).await;
    let (phone, api_url) = (p.phone.clone(), p.paired.payload.api_url.clone());
    p.stream(Arc::new(RecordingWifi::default())).await;
    camera.wait_for_seq(3).await;
    let locked_before = camera.card().iter().filter(|(i, _, _)| i.locked).count();
    assert_eq!(locked_before, 0, "a calm drive locks nothing by itself");
    let before = camera.status().latest_seq;
    let clip = phone.clip_now(&api_url).await.expect("clip now");
    assert_eq!(clip.reason, dashkeep_core::catalog::ClipReason::Manual);
    let after = camera.status().latest_seq;
    camera.wait_for_seq(after + 3).await;
    let locked: Vec<u64> =
        camera.card().iter().filter(|(i, _, _)| i.locked).map(|(i, _, _)| i.seq).collect();
    // The segment being recorded when the camera marked the moment, and the next one.
    assert_eq!(locked.len(), 2, "{locked:?}");
    assert_eq!(locked[1], locked[0] + 1);
    assert!(before < locked[0] && locked[0] <= after + 1, "{before} < {locked:?} <= {after} + 1");
    phone.close().await;
    world.camera.shutdown().await;
}
