//! `simcam`: a simulated dash cam serving the camera API (protocol v1) until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use dashkeep_simcam::{Dialect, Fixture, Scenario, SimCamera, SimConfig};

/// A simulated dash cam: records real MP4 segments on a virtual clock and serves them over HTTP.
#[derive(Debug, Parser)]
#[command(name = "simcam", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Scenario TOML file (default: the built-in 5-minute demo).
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// SD card capacity: bytes, or with a KiB/MiB/GiB/KB/MB/GB suffix (e.g. 8GiB, 500MiB).
    #[arg(long, default_value = "8GiB", value_parser = parse_size)]
    sd_capacity: u64,
    /// Scenario seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Override the scenario's segment length, seconds.
    #[arg(long)]
    segment_secs: Option<u32>,
    /// Directory playing the SD card (default: a temporary directory, deleted at exit).
    #[arg(long)]
    sd_dir: Option<PathBuf>,
    /// Fixture clip: 360p (small) or 1080p (~8 Mbit/s).
    #[arg(long, default_value = "360p", value_parser = parse_fixture)]
    fixture: Fixture,
    /// Record the whole scenario before serving.
    #[arg(long)]
    instant: bool,
    /// Paired mode, the default: every API request not signed by a paired phone is refused (401,
    /// or 403 over plain HTTP). Kept so older scripts that pass it still run.
    #[arg(long, conflicts_with = "open")]
    paired_mode: bool,
    /// Open mode, for tests only: serve the API to anyone, unsigned and over plain HTTP, as an
    /// unpaired v1 camera does. Never the default.
    #[arg(long)]
    open: bool,
    /// Open a pairing window at start with this code (8 to 12 digits), as if the pairing button
    /// had been pressed at power-on. Without it, pairing stays closed until the button is
    /// pressed: `POST /sim/pairing-button` (a fresh random code per press, printed here).
    #[arg(long)]
    pairing_code: Option<String>,
    /// How long a pairing window stays open without a success, seconds.
    #[arg(long, default_value_t = 180)]
    pairing_window_secs: u64,
    /// Wait after a failed pairing attempt, ms; doubles with each further failure.
    #[arg(long, default_value_t = 1000)]
    pairing_backoff_ms: u64,
    /// The protocol to speak: dashkeep (the default), novatek, blackvue-legacy or blackvue-1009.
    #[arg(long, default_value = "dashkeep", value_parser = parse_dialect)]
    dialect: Dialect,
    /// Ignore Range requests (every download is the whole file), as some cameras do.
    #[arg(long)]
    no_range: bool,
    /// Record MPEG-TS (`.TS`) files instead of MP4, as some Novatek models do (novatek only).
    #[arg(long)]
    ts: bool,
    /// BlackVue dialects: no rear lens (front files only).
    #[arg(long)]
    no_rear: bool,
    /// BlackVue dialects: the camera's clock was never set (names count from 1970).
    #[arg(long)]
    clock_unset: bool,
    /// Where the BLE GATT service (loopback transport) listens.
    #[arg(long, default_value = "127.0.0.1:8081")]
    ble_listen: SocketAddr,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("bad size {s:?}"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return Err(format!("unknown size unit in {s:?}")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("size {s:?} is too large"))
}

fn parse_dialect(s: &str) -> Result<Dialect, String> {
    match s {
        "dashkeep" => Ok(Dialect::Dashkeep),
        "novatek" => Ok(Dialect::Novatek),
        "blackvue-legacy" => Ok(Dialect::BlackVueLegacy),
        "blackvue-1009" => Ok(Dialect::BlackVue1009),
        _ => Err(format!(
            "unknown dialect {s:?} (dashkeep, novatek, blackvue-legacy or blackvue-1009)"
        )),
    }
}

fn parse_fixture(s: &str) -> Result<Fixture, String> {
    match s {
        "360p" => Ok(Fixture::Small360p),
        "1080p" => Ok(Fixture::Hd1080p),
        _ => Err(format!("unknown fixture {s:?} (360p or 1080p)")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let mut scenario = match &args.scenario {
        Some(p) => Scenario::from_file(p)?,
        None => Scenario::demo(),
    };
    if let Some(s) = args.segment_secs {
        scenario.segment_secs = s;
    }
    if !(args.speed > 0.0 && args.speed.is_finite()) {
        bail!("--speed must be positive");
    }
    let (_tmp, sd_dir) = match args.sd_dir {
        Some(d) => (None, d),
        None => {
            let t = tempfile::tempdir().context("creating a temporary SD card directory")?;
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let mut cfg = SimConfig::new(scenario, &sd_dir);
    cfg.listen = args.listen;
    cfg.sd_capacity_bytes = args.sd_capacity;
    cfg.speed = args.speed;
    cfg.instant = args.instant;
    cfg.fixture = args.fixture;
    cfg.paired_mode = !args.open;
    cfg.pairing_code = args.pairing_code;
    cfg.ble_listen = args.ble_listen;
    cfg.dialect = args.dialect;
    cfg.range_support = !args.no_range;
    if args.ts && args.dialect != Dialect::Novatek {
        anyhow::bail!("--ts is for --dialect novatek (Novatek models record MPEG-TS)");
    }
    cfg.novatek_ts = args.ts;
    cfg.blackvue = dashkeep_simcam::blackvue::BlackVueOptions {
        rear: !args.no_rear,
        clock_unset: args.clock_unset,
    };
    cfg.pairing_backoff = std::time::Duration::from_millis(args.pairing_backoff_ms);
    cfg.pairing_window = std::time::Duration::from_secs(args.pairing_window_secs);
    let cam = SimCamera::start(cfg).await?;
    tracing::info!(url = %cam.base_url(), ble = %cam.ble_addr(), sd_dir = %sd_dir.display(), "simcam ready");
    // The camera's screen (stdout, never the logs).
    match cam.shown_pairing_code() {
        Some(code) => println!("Pairing code on the camera's screen: {code}"),
        None => println!(
            "Pairing is closed: press the pairing button with POST {}/sim/pairing-button",
            cam.base_url()
        ),
    }
    let done = cam.clone();
    tokio::spawn(async move {
        done.wait_for_scenario_end().await;
        tracing::info!("scenario finished; still serving (Ctrl-C to stop)");
    });
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down");
    cam.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_nothing_unsigned_unless_opened() {
        let closed = Args::try_parse_from(["simcam", "--listen", "127.0.0.1:0"]).unwrap();
        assert!(!closed.open);
        assert!(Args::try_parse_from(["simcam", "--open"]).unwrap().open);
        assert!(Args::try_parse_from(["simcam", "--open", "--paired-mode"]).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("8GiB"), Ok(8 << 30));
        assert_eq!(parse_size("500MiB"), Ok(500 << 20));
        assert_eq!(parse_size("123456"), Ok(123_456));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("GiB").is_err());
    }
}
