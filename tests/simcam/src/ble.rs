//! The camera's BLE GATT service (docs/camera-protocol.md), served over the loopback transport of
//! `dashkeep_core::camera::ble::loopback`: the same characteristics, byte formats and MTU framing
//! a real camera serves over the air, carried by a local TCP socket.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use dashkeep_core::camera::auth::now_ms;
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

use crate::camera::{Inner, lock};

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
        pairing: lock(&inner.pairing).is_pairing(),
    };
    serde_json::to_vec(&info).unwrap_or_default()
}

async fn connection(inner: Arc<Inner>, stream: TcpStream) -> std::io::Result<()> {
    let (mut r, mut w) = stream.into_split();
    let mut session = PairingSession::default();
    let mut subscribed: HashSet<GattUuid> = HashSet::new();
    let mut pairing_in = Reassembler::default();
    let mut control_in = Reassembler::default();
    loop {
        let f = tokio::time::timeout(IDLE, read_frame(&mut r))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
        if !inner.powered.load(Ordering::SeqCst) {
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "power off"));
        }
        let answer =
            |status: u8, value: Vec<u8>| Frame { op: f.op | RESPONSE, uuid: f.uuid, status, value };
        let mut notify: Option<(GattUuid, Vec<u8>)> = None;
        let resp = match f.op {
            OP_ADVERTISEMENT => {
                let mut v = SERVICE_UUID.0.to_be_bytes().to_vec();
                v.extend_from_slice(format!("Dashkeep {}", inner.cfg.serial).as_bytes());
                answer(0, v)
            }
            OP_READ if f.uuid == DEVICE_INFO_UUID => answer(0, device_info(&inner)),
            OP_READ if f.uuid == WIFI_UUID => answer(ATT_NOT_SUPPORTED, Vec::new()),
            OP_SUBSCRIBE if [PAIRING_UUID, CONTROL_UUID, EVENTS_UUID].contains(&f.uuid) => {
                subscribed.insert(f.uuid);
                answer(0, Vec::new())
            }
            OP_WRITE if f.uuid == PAIRING_UUID || f.uuid == CONTROL_UUID => {
                let reasm = if f.uuid == PAIRING_UUID { &mut pairing_in } else { &mut control_in };
                match reasm.push(&f.value) {
                    Err(_) => answer(ATT_UNLIKELY, Vec::new()),
                    Ok(None) => answer(0, Vec::new()),
                    Ok(Some(msg)) => {
                        let out = if f.uuid == PAIRING_UUID {
                            lock(&inner.pairing).handle(&mut session, &msg, Instant::now())
                        } else {
                            lock(&inner.pairing).handle_control(&msg, now_ms())
                        };
                        notify = Some((f.uuid, out));
                        answer(0, Vec::new())
                    }
                }
            }
            OP_READ | OP_SUBSCRIBE | OP_WRITE => answer(ATT_NOT_FOUND, Vec::new()),
            _ => answer(ATT_NOT_SUPPORTED, Vec::new()),
        };
        write_frame(&mut w, &resp).await?;
        if let Some((uuid, msg)) = notify
            && subscribed.contains(&uuid)
        {
            for chunk in frame_message(&msg) {
                write_frame(&mut w, &Frame { op: OP_NOTIFY, uuid, status: 0, value: chunk })
                    .await?;
            }
        }
    }
}
