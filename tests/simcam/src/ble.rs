//! The camera's BLE GATT service (docs/camera-protocol.md), served over the loopback transport of
//! `dashkeep_core::camera::ble::loopback`: the same characteristics, byte formats and MTU framing
//! a real camera serves over the air, carried by a local TCP socket.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dashkeep_core::camera::ble::loopback::{
    ATT_NOT_FOUND, ATT_NOT_SUPPORTED, Frame, OP_ADVERTISEMENT, OP_NOTIFY, OP_READ, OP_SUBSCRIBE,
    OP_WRITE, RESPONSE, read_frame, write_frame,
};
use dashkeep_core::camera::ble::{
    CONTROL_UUID, DEVICE_INFO_UUID, DeviceInfo, EVENTS_UUID, GattUuid, PAIRING_UUID, Reassembler,
    SERVICE_UUID, WIFI_UUID, frame_message,
};
use dashkeep_core::camera::pairing::PairingSession;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};

use crate::SimCamera;
use crate::camera::{Inner, lock};
use dashkeep_core::camera::control::{CameraEvent, ControlCommand};

/// ATT error "unlikely error": a write that breaks the framing.
const ATT_UNLIKELY: u8 = 0x0e;
/// A central silent this long is disconnected.
const IDLE: Duration = Duration::from_secs(120);

pub(crate) async fn serve(inner: Arc<Inner>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            // A camera that is switched off neither advertises nor accepts connections.
            Ok(_) if !inner.powered.load(Ordering::SeqCst) => {}
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let inner = inner.clone();
                tokio::spawn(async move {
                    if let Err(e) = connection(inner, stream).await {
                        tracing::debug!(error = %e, "BLE connection closed");
                    }
                });
            }
            Err(e) => {
                tracing::debug!(error = %e, "BLE accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn device_info(inner: &Inner) -> Vec<u8> {
    let info = DeviceInfo {
        version: 1,
        model: inner.cfg.model.clone(),
        serial: inner.cfg.serial.clone(),
        firmware: inner.cfg.firmware.clone(),
        pairing: lock(&inner.pairing).is_pairing(inner.wall_ms()),
    };
    serde_json::to_vec(&info).unwrap_or_default()
}

async fn connection(inner: Arc<Inner>, stream: TcpStream) -> std::io::Result<()> {
    let (mut r, w) = stream.into_split();
    // Responses and notifications go through one writer task, so events can be notified while
    // the loop below waits for the next request (a read cancelled mid-frame would lose bytes).
    let (out, rx) = mpsc::unbounded_channel::<Frame>();
    let writer = tokio::spawn(write_frames(w, rx));
    let events_on = Arc::new(AtomicBool::new(false));
    let notifier =
        tokio::spawn(notify_events(inner.events_tx.subscribe(), events_on.clone(), out.clone()));
    let result = serve_requests(&inner, &mut r, &out, &events_on).await;
    notifier.abort();
    drop(out);
    let _ = writer.await;
    result
}

async fn write_frames(
    mut w: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Frame>,
) -> std::io::Result<()> {
    while let Some(frame) = rx.recv().await {
        write_frame(&mut w, &frame).await?;
    }
    Ok(())
}

/// Notifies camera events to a central subscribed to the events characteristic.
async fn notify_events(
    mut events: broadcast::Receiver<CameraEvent>,
    subscribed: Arc<AtomicBool>,
    out: mpsc::UnboundedSender<Frame>,
) {
    loop {
        let event = match events.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if !subscribed.load(Ordering::SeqCst) {
            continue;
        }
        for chunk in frame_message(&event.encode()) {
            let frame = Frame { op: OP_NOTIFY, uuid: EVENTS_UUID, status: 0, value: chunk };
            if out.send(frame).is_err() {
                return;
            }
        }
    }
}

async fn serve_requests(
    inner: &Arc<Inner>,
    r: &mut tokio::net::tcp::OwnedReadHalf,
    out: &mpsc::UnboundedSender<Frame>,
    events_on: &AtomicBool,
) -> std::io::Result<()> {
    let gone = || std::io::Error::new(std::io::ErrorKind::BrokenPipe, "writer gone");
    let mut session = PairingSession::default();
    let mut subscribed: HashSet<GattUuid> = HashSet::new();
    let mut pairing_in = Reassembler::default();
    let mut control_in = Reassembler::default();
    loop {
        let f = tokio::time::timeout(IDLE, read_frame(r))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
        if !inner.powered.load(Ordering::SeqCst) {
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "power off"));
        }
        let answer =
            |status: u8, value: Vec<u8>| Frame { op: f.op | RESPONSE, uuid: f.uuid, status, value };
        let mut notify: Option<(GattUuid, Vec<u8>)> = None;
        let mut wifi: Option<bool> = None;
        let resp = match f.op {
            OP_ADVERTISEMENT => {
                let mut v = SERVICE_UUID.0.to_be_bytes().to_vec();
                v.extend_from_slice(format!("Dashkeep {}", inner.cfg.serial).as_bytes());
                answer(0, v)
            }
            OP_READ if f.uuid == DEVICE_INFO_UUID => answer(0, device_info(inner)),
            OP_READ if f.uuid == WIFI_UUID => answer(ATT_NOT_SUPPORTED, Vec::new()),
            OP_SUBSCRIBE if [PAIRING_UUID, CONTROL_UUID, EVENTS_UUID].contains(&f.uuid) => {
                subscribed.insert(f.uuid);
                events_on.store(subscribed.contains(&EVENTS_UUID), Ordering::SeqCst);
                answer(0, Vec::new())
            }
            OP_WRITE if f.uuid == PAIRING_UUID || f.uuid == CONTROL_UUID => {
                let reasm = if f.uuid == PAIRING_UUID { &mut pairing_in } else { &mut control_in };
                match reasm.push(&f.value) {
                    Err(_) => answer(ATT_UNLIKELY, Vec::new()),
                    Ok(None) => answer(0, Vec::new()),
                    Ok(Some(msg)) => {
                        let out = if f.uuid == PAIRING_UUID {
                            lock(&inner.pairing).handle(&mut session, &msg, inner.wall_ms())
                        } else {
                            control(inner, &msg, &mut wifi)
                        };
                        notify = Some((f.uuid, out));
                        answer(0, Vec::new())
                    }
                }
            }
            OP_READ | OP_SUBSCRIBE | OP_WRITE => answer(ATT_NOT_FOUND, Vec::new()),
            _ => answer(ATT_NOT_SUPPORTED, Vec::new()),
        };
        out.send(resp).map_err(|_| gone())?;
        // The command takes effect before its answer goes out: a phone told "WiFi on" finds it on.
        if let Some(on) = wifi
            && let Err(e) = SimCamera::from_inner(inner.clone()).set_wifi(on).await
        {
            tracing::error!(error = %e, "WiFi switch failed");
        }
        if let Some((uuid, msg)) = notify
            && subscribed.contains(&uuid)
        {
            for chunk in frame_message(&msg) {
                out.send(Frame { op: OP_NOTIFY, uuid, status: 0, value: chunk })
                    .map_err(|_| gone())?;
            }
        }
    }
}

/// Runs a signed control command; a WiFi switch is returned in `wifi` for the caller to apply.
fn control(inner: &Inner, msg: &[u8], wifi: &mut Option<bool>) -> Vec<u8> {
    let status = inner.ble_status();
    lock(&inner.pairing).handle_control(msg, inner.wall_ms(), |command| match command {
        ControlCommand::Status => serde_json::to_vec(&status).ok(),
        ControlCommand::WifiOn | ControlCommand::WifiOff => {
            *wifi = Some(command == ControlCommand::WifiOn);
            Some(Vec::new())
        }
        ControlCommand::ClipNow => inner.mark_clip().and_then(|m| serde_json::to_vec(&m).ok()),
        ControlCommand::Unpair => None,
    })
}
