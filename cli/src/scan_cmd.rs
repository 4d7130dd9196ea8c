//! `dashkeep scan`: the Dashkeep cameras in BLE range (advertising the camera service).
//!
//! With `--camera-ble ADDR` the scan runs over the loopback link (simulated cameras at
//! `host:port`, as `pair` takes them); without it, over the machine's Bluetooth adapter with
//! btleplug (the `btleplug` feature, off by default so the default build links no system
//! library), failing at once with a typed "no Bluetooth adapter" error where there is none.

use std::time::Duration;

use clap::Args;
use dashkeep_core::camera::ble::loopback::LoopbackLink;
use dashkeep_core::camera::ble::{BleDevice, BleLink, SERVICE_UUID};

/// `dashkeep scan [--timeout SECS] [--json] [--camera-ble ADDR]...`.
#[derive(Args)]
pub(crate) struct ScanArgs {
    /// How long to listen for advertisements, in seconds.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_secs)]
    timeout: Duration,
    /// Print as JSON: an array of `{address, name}`.
    #[arg(long)]
    json: bool,
    /// Scan these loopback BLE addresses (`host:port` of simulated cameras) instead of the
    /// machine's Bluetooth adapter; repeat for several.
    #[arg(long = "camera-ble", value_name = "ADDR")]
    camera_ble: Vec<String>,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.trim().parse().map_err(|_| format!("not a number of seconds: {s:?}"))?;
    if !(secs > 0.0 && secs <= 600.0) {
        return Err(format!("the timeout must be more than 0 and at most 600 s, not {s}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Runs the scan and prints what it found.
pub(crate) async fn scan(args: ScanArgs) -> anyhow::Result<()> {
    let found = if args.camera_ble.is_empty() {
        adapter_scan(args.timeout).await?
    } else {
        LoopbackLink::new(args.camera_ble).scan(SERVICE_UUID, args.timeout).await?
    };
    print(&found, args.timeout, args.json)
}

#[cfg(feature = "btleplug")]
async fn adapter_scan(timeout: Duration) -> anyhow::Result<Vec<BleDevice>> {
    use dashkeep_core::camera::btle::{BtleLink, OPEN_TIMEOUT};
    let link = BtleLink::open(OPEN_TIMEOUT).await?;
    Ok(link.scan(SERVICE_UUID, timeout).await?)
}

#[cfg(not(feature = "btleplug"))]
async fn adapter_scan(_timeout: Duration) -> anyhow::Result<Vec<BleDevice>> {
    anyhow::bail!("{NO_BLUETOOTH}; or scan a simulated camera with --camera-ble ADDR")
}

/// What a build without the `btleplug` feature says when asked for the Bluetooth adapter.
#[cfg(not(feature = "btleplug"))]
const NO_BLUETOOTH: &str = "this dashkeep was built without Bluetooth: rebuild it with \
     `cargo install --path cli --features btleplug` (on Linux this needs libdbus-1-dev and \
     pkg-config: `apt-get install libdbus-1-dev pkg-config`)";

/// The BLE link that reaches `address`: a `host:port` is a simulated camera's loopback GATT
/// service; anything else is a Bluetooth address, reached through the adapter (btleplug).
pub(crate) async fn link_for(address: &str) -> anyhow::Result<Box<dyn BleLink>> {
    if address.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(Box::new(LoopbackLink::new(vec![address.to_string()])));
    }
    adapter_link().await
}

#[cfg(feature = "btleplug")]
async fn adapter_link() -> anyhow::Result<Box<dyn BleLink>> {
    use dashkeep_core::camera::btle::{BtleLink, OPEN_TIMEOUT};
    Ok(Box::new(BtleLink::open(OPEN_TIMEOUT).await?))
}

#[cfg(not(feature = "btleplug"))]
async fn adapter_link() -> anyhow::Result<Box<dyn BleLink>> {
    anyhow::bail!("{NO_BLUETOOTH}")
}

fn print(found: &[BleDevice], timeout: Duration, json: bool) -> anyhow::Result<()> {
    if json {
        let rows: Vec<_> = found
            .iter()
            .map(|d| serde_json::json!({ "address": d.address, "name": d.name }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if found.is_empty() {
        println!("No Dashkeep camera found in {:.1} s.", timeout.as_secs_f64());
    }
    for d in found {
        // Names come from the air: no control characters reach the terminal.
        let name: String = d.name.chars().filter(|c| !c.is_control()).collect();
        println!("{}  {}", d.address, name);
    }
    Ok(())
}
