//! `dashkeep pair`, `unpair`, `cameras`: pairing with a camera over BLE and the pairings kept in
//! the data directory's secret store (`pairings.json`, mode 0600).
//!
//! The BLE link is the loopback transport for a `host:port` address (a simulated camera's GATT
//! service), and the machine's Bluetooth adapter (btleplug) for a Bluetooth address.

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use std::sync::Arc;

use dashkeep_core::camera::ble::BleLink;
use dashkeep_core::camera::pairing::{self, PairedCamera, PairingCode, new_phone_id};
use dashkeep_core::camera::secrets::{FileSecretStore, SecretStore};
use dashkeep_core::camera::{AlreadyJoined, PairingError};
use dashkeep_core::companion::ConnectionState;
use dashkeep_core::ingest::IngestEvent;
use dashkeep_core::{Companion, CompanionEvent};
use tokio::sync::broadcast;

fn store(data_dir: &Path) -> anyhow::Result<FileSecretStore> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    Ok(FileSecretStore::in_dir(data_dir))
}

fn read_code() -> anyhow::Result<String> {
    eprint!("Enter the pairing code shown on the camera: ");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the code")?;
    Ok(line.trim().to_string())
}

/// `dashkeep pair --camera-ble ADDR [--code CODE]`.
pub(crate) async fn pair(
    data_dir: &Path,
    address: &str,
    code: Option<String>,
) -> anyhow::Result<()> {
    let store = store(data_dir)?;
    let code = match code {
        Some(c) => c,
        None => read_code()?,
    };
    let code = PairingCode::parse(&code)?;
    // Re-pairing a camera keeps this phone's id there, so the camera replaces its old secret.
    let phone_id = store
        .list()?
        .into_iter()
        .find(|c| c.ble_address == address)
        .map_or_else(new_phone_id, |c| c.phone_id);
    let link = crate::scan_cmd::link_for(address).await?;
    let paired = match pairing::pair(link.as_ref(), address, &code, &phone_id).await {
        Ok(p) => p,
        Err(PairingError::BackingOff { retry_after }) => {
            bail!(
                "the camera is refusing attempts after wrong codes; try again in {retry_after:.0?}"
            )
        }
        Err(PairingError::ConfirmationFailed) => {
            bail!("pairing failed: wrong code (or someone is interfering)")
        }
        Err(e) => return Err(e.into()),
    };
    store.put(&paired)?;
    println!(
        "Paired with {} {}. Join WiFi {:?}; camera API at {} (requests are signed).",
        paired.model, paired.serial, paired.payload.wifi_ssid, paired.payload.api_url
    );
    Ok(())
}

fn pick(store: &FileSecretStore, serial: Option<&str>) -> anyhow::Result<PairedCamera> {
    let all = store.list()?;
    match serial {
        Some(s) => {
            all.into_iter().find(|c| c.serial == s).with_context(|| format!("no camera {s} paired"))
        }
        None if all.len() == 1 => Ok(all.into_iter().next().expect("one")),
        None if all.is_empty() => bail!("no camera is paired"),
        None => bail!("several cameras are paired: name one with --camera SERIAL"),
    }
}

/// `dashkeep unpair [--camera SERIAL] [--local-only]`.
pub(crate) async fn unpair(
    data_dir: &Path,
    serial: Option<String>,
    local_only: bool,
) -> anyhow::Result<()> {
    let store = store(data_dir)?;
    let camera = pick(&store, serial.as_deref())?;
    if !local_only {
        let link = crate::scan_cmd::link_for(&camera.ble_address).await?;
        tokio::time::timeout(Duration::from_secs(30), pairing::unpair(link.as_ref(), &camera))
            .await
            .context("the camera did not answer")?
            .context("the camera did not revoke this phone (use --local-only to forget it here)")?;
    }
    store.remove(&camera.serial)?;
    println!("Unpaired {} {}.", camera.model, camera.serial);
    Ok(())
}

/// `dashkeep cameras [--json]`: the paired cameras (no secret is printed).
pub(crate) fn cameras(data_dir: &Path, json: bool) -> anyhow::Result<()> {
    let all = FileSecretStore::in_dir(data_dir).list()?;
    if json {
        let rows: Vec<_> = all
            .iter()
            .map(|c| {
                serde_json::json!({
                    "serial": c.serial, "model": c.model, "ble_address": c.ble_address,
                    "phone_id": c.phone_id, "api_url": c.payload.api_url,
                    "wifi_ssid": c.payload.wifi_ssid, "paired_at_ms": c.paired_at_ms,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if all.is_empty() {
        println!("No camera paired. Pair one with `dashkeep pair --camera-ble ADDR`.");
    }
    for c in &all {
        println!(
            "{} {}  WiFi {:?}  API {}  BLE {}",
            c.model, c.serial, c.payload.wifi_ssid, c.payload.api_url, c.ble_address
        );
    }
    Ok(())
}

/// The paired camera serving `api_url`, if any.
pub(crate) fn paired_for(data_dir: &Path, api_url: &str) -> anyhow::Result<Option<PairedCamera>> {
    let url = api_url.trim_end_matches('/');
    Ok(FileSecretStore::in_dir(data_dir)
        .list()?
        .into_iter()
        .find(|c| c.payload.api_url.trim_end_matches('/') == url))
}

/// `dashkeep connect [--camera SERIAL] [--json]`: keeps the paired camera connected (BLE, its
/// WiFi, automatic streaming) until Ctrl-C, printing each connection state and each segment
/// stored.
pub(crate) async fn connect(
    companion: &Companion,
    serial: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let camera = pick(&FileSecretStore::in_dir(companion.data_dir()), serial.as_deref())?;
    let link: Arc<dyn BleLink> = Arc::from(crate::scan_cmd::link_for(&camera.ble_address).await?);
    let mut events = companion.subscribe();
    companion.connect(&camera.serial, link, Arc::new(AlreadyJoined), true).await?;
    let printer = async {
        loop {
            match events.recv().await {
                Ok(CompanionEvent::Connection(state)) => print_state(&state, json),
                Ok(CompanionEvent::Ingest(IngestEvent::SegmentStored {
                    drive,
                    segment,
                    bytes,
                })) => {
                    print_stored(drive.0, segment.0, bytes, json);
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    };
    tokio::select! {
        () = printer => {}
        r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
    }
    companion.disconnect().await;
    print_state(&companion.connection_state(), json);
    Ok(())
}

fn print_stored(drive: i64, segment: i64, bytes: u64, json: bool) {
    if json {
        let line = serde_json::json!({ "event": "segment_stored", "drive": drive, "segment": segment, "bytes": bytes });
        println!("{line}");
    } else {
        println!("segment {segment} of drive {drive} stored on the phone ({bytes} bytes)");
    }
}

fn print_state(state: &ConnectionState, json: bool) {
    if json {
        println!("{}", serde_json::to_string(state).unwrap_or_default());
    } else {
        println!("{}", crate::output::connection_message(state));
    }
}
