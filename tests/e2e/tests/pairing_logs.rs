//! No secret reaches the logs: a full pairing and streaming session at TRACE level, phone and
//! camera in one process, and the captured output searched for the passphrase, the API secret
//! and the pairing code. One test per binary: it installs the global subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::World;
use dashkeep_core::camera::ble::loopback::LoopbackLink;
use dashkeep_core::camera::pairing::{self, PairingCode, new_phone_id};
use dashkeep_simcam::{Fixture, Scenario, SimCamera, SimConfig};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pairing_and_streaming_session_logs_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let dir = tempfile::tempdir().unwrap();
    let camera = SimCamera::start(SimConfig {
        instant: true,
        speed: 600.0,
        fixture: Fixture::Small360p,
        paired_mode: true,
        pairing_backoff: Duration::from_millis(10),
        ..SimConfig::new(Scenario::calm(1).with_segment_secs(20), dir.path().join("sd"))
    })
    .await
    .unwrap();
    let world = World { dir, camera };
    let addr = world.camera.ble_addr().to_string();
    let link = LoopbackLink::new(vec![addr.clone()]);
    let right = world.camera.pairing_code();
    let wrong = PairingCode::parse(if right == "99999999" { "88888888" } else { "99999999" });
    let _ = pairing::pair(&link, &addr, &wrong.unwrap(), &new_phone_id()).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let code = PairingCode::parse(&right).unwrap();
    let paired = pairing::pair(&link, &addr, &code, &new_phone_id()).await.unwrap();
    tracing::debug!(?paired, ?code, "the phone's view (Debug must redact)");

    let phone = world.phone().await;
    phone.use_paired_camera(Some(paired.clone()));
    let report = phone.stream_now(&paired.payload.api_url).await.unwrap();
    assert!(report.stored > 0);
    // An unsigned request too, so the camera logs a refusal.
    let anon = dashkeep_core::camera::CameraClient::new(&world.camera.base_url()).unwrap();
    assert!(anon.status().await.is_err());
    // The connection too: BLE status and WiFi commands, the WiFi join, pinned HTTPS, clip now.
    // One success closes a pairing window: the companion pairs in the next one.
    let again = world.camera.press_pairing_button();
    let phone_paired = phone.pair(&link, &addr, &again).await.unwrap();
    let wifi = Arc::new(dashkeep_core::camera::AlreadyJoined);
    let mut events = phone.subscribe();
    phone.connect(&phone_paired.serial, Arc::new(link.clone()), wifi, true).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Ok(dashkeep_core::CompanionEvent::Connection(
                dashkeep_core::companion::ConnectionState::Streaming { .. },
            )) = events.recv().await
            {
                break;
            }
        }
    })
    .await
    .expect("streaming");
    let _ = phone.clip_now(&phone_paired.payload.api_url).await;
    phone.disconnect().await;
    pairing::unpair(&link, &paired).await.unwrap();
    phone.unpair(&link, &phone_paired.serial, false).await.unwrap();
    phone.close().await;
    world.camera.shutdown().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("phone paired"), "the capture works");
    assert!(logs.contains("unauthorized request"));
    let second = &phone_paired.payload.api_secret;
    assert!(!logs.contains(second.as_str()), "the second pairing's secret is in the logs");
    let secret = &paired.payload.api_secret;
    for (what, needle) in [
        ("passphrase", paired.payload.wifi_passphrase.as_str()),
        ("secret hex", secret.as_str()),
        ("secret hex prefix", &secret[..16]),
        ("code", code.reveal()),
        ("second window's code", again.as_str()),
    ] {
        assert!(!logs.contains(needle), "the {what} is in the logs");
    }
    // The raw secret bytes, as Rust would print an array.
    let bytes = hex::decode(secret).unwrap();
    let as_debug = format!("{:?}", &bytes[..4]).trim_end_matches(']').to_string();
    assert!(!logs.contains(&as_debug), "the secret's bytes are in the logs");
}
