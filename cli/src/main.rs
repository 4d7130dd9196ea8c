//! `dashkeep`: the desktop front end of the Dashkeep core, and its demo.
//!
//! Every listing command takes `--json`; the field names are stable and documented in
//! `docs/cli.md`.

mod clip_cmd;
mod cloud_cmd;
mod demo;
mod drive_cmd;
mod output;
mod pair_cmd;
mod scan_cmd;
mod share_cmd;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use dashkeep_core::camera::probe::Dialect;
use dashkeep_core::{Companion, CompanionConfig};

/// Dashkeep: keep your dash cam's drives safe on your phone and in the cloud.
#[derive(Parser)]
#[command(name = "dashkeep", version, about)]
struct Cli {
    /// The data directory (catalog and videos). Default: the platform's data directory, or
    /// `./dashkeep-data` when run from the Dashkeep repository.
    #[arg(long, global = true, env = "DASHKEEP_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Free space (bytes) the phone must keep whatever the quota says; default max(1 GiB, 5%).
    #[arg(long, global = true, env = "DASHKEEP_KEEP_FREE")]
    keep_free: Option<u64>,
    #[command(flatten)]
    cloud: cloud_cmd::CloudArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a simulated dash cam, record a scripted 5-minute drive at high speed, stream it to
    /// the phone's storage, and show where each drive lives.
    Demo(demo::DemoArgs),
    /// Pull everything the camera has that the phone lacks ("stream now"), newest drive first.
    Stream {
        /// The camera's base URL, e.g. http://192.168.42.1
        #[arg(long)]
        camera: String,
        /// Keep following the camera's live feed until interrupted (automatic streaming).
        #[arg(long)]
        follow: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Find cameras over BLE: the machine's Bluetooth adapter, or loopback with --camera-ble.
    Scan(scan_cmd::ScanArgs),
    /// Pair with a camera over BLE using the code on its screen (once per camera).
    Pair {
        /// The camera's BLE address, as `dashkeep scan` lists it: a Bluetooth address (through
        /// the adapter), or `host:port` of a simulated camera's loopback GATT service.
        #[arg(long = "camera-ble")]
        camera_ble: String,
        /// The code the camera shows (asked for when missing; better than in shell history).
        #[arg(long)]
        code: Option<String>,
    },
    /// Make the camera revoke this phone, and forget the pairing.
    Unpair {
        /// The camera's serial (needed when several are paired).
        #[arg(long)]
        camera: Option<String>,
        /// Forget the pairing here even if the camera cannot be reached.
        #[arg(long)]
        local_only: bool,
    },
    /// Stay connected to a paired camera until Ctrl-C: BLE, its WiFi, automatic streaming over
    /// pinned HTTPS, reconnecting by itself; prints each connection state.
    Connect {
        /// The camera's serial (needed when several are paired).
        #[arg(long)]
        camera: Option<String>,
        /// Print each state as a JSON line.
        #[arg(long)]
        json: bool,
    },
    /// List the paired cameras (no secret is shown).
    Cameras {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// One drive: times, distance, speeds, incidents, where each part lives and until when;
    /// `--picture` draws it, `--gpx` exports its track.
    Drive {
        /// The drive's id, as `dashkeep drives` lists it.
        id: i64,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// Draw the drive (speed, g-force, where it lives, track) into FILE.svg or FILE.png.
        #[arg(long, value_name = "FILE")]
        picture: Option<PathBuf>,
        /// Write the track as GPX 1.1, incidents as waypoints.
        #[arg(long, value_name = "FILE")]
        gpx: Option<PathBuf>,
    },
    /// List drives, newest first, with where each one lives.
    Drives {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show phone storage (a bar: drives, clips, free quota), the cameras' SD cards, streaming.
    Status {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the share of the phone's storage Dashkeep may use, or set it (`quota set 30%`).
    Quota {
        #[command(subcommand)]
        action: Option<QuotaAction>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show whether files are deleted from the camera's card once the phone holds a verified
    /// copy (off by default), or set it; `on` needs `--yes`, since the card then stops being a
    /// second copy. Locked files always stay on the camera.
    DeleteFromCamera {
        /// `on` or `off`; without it, shows the setting.
        #[arg(value_parser = ["on", "off"])]
        set: Option<String>,
        /// Confirms turning it on.
        #[arg(long)]
        yes: bool,
    },
    /// List drives living in one place only that a loop recorder will overwrite soon.
    AtRisk {
        /// Hours of driving to look ahead.
        #[arg(long, default_value_t = 5.0)]
        hours: f64,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cut clips: from any MP4 segments, from a drive's range, or "now" during a drive.
    Clip {
        #[command(subcommand)]
        action: clip_cmd::ClipAction,
    },
    /// List clips with where each one lives.
    Clips {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List detected incidents (hard brakes, collisions), or run the detector on a CSV.
    Events {
        #[command(subcommand)]
        action: Option<clip_cmd::EventsAction>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The cloud: status, and the upload policy (WiFi only, or WiFi and cellular).
    Cloud {
        #[command(subcommand)]
        action: cloud_cmd::CloudAction,
    },
    /// Run the upload queue now, or send one clip now (over cellular too) with --clip.
    Upload {
        /// Send this clip now, whatever the policy.
        #[arg(long)]
        clip: Option<i64>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a link to a clip's page in the cloud (presigned on S3), or with --raw to its MP4.
    Share {
        /// The clip's id (from `dashkeep clips`).
        clip: i64,
        /// How long the link works (default 7 days).
        #[arg(long)]
        expires_hours: Option<u64>,
        /// Print the bare MP4 link instead of the clip's page.
        #[arg(long)]
        raw: bool,
        /// Draw a map under the page's track from this tile URL template
        /// (`https://host/{z}/{x}/{y}.png`); off by default, so the page requests nothing else.
        #[arg(long, value_name = "TEMPLATE")]
        map_tiles: Option<String>,
    },
    /// Delete a clip from the phone and the cloud, for good (queued while offline).
    Delete {
        /// The clip's id.
        clip: i64,
    },
    /// List the account's clips from the cloud (after a reinstall).
    Sync {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Download a clip from the cloud onto the phone.
    Download {
        /// The clip's id.
        clip: i64,
    },
    /// Protect a drive from the phone's loop recorder.
    Lock {
        /// The drive's id (from `dashkeep drives`).
        drive: i64,
    },
    /// Let the phone's loop recorder overwrite a drive again.
    Unlock {
        /// The drive's id (from `dashkeep drives`).
        drive: i64,
    },
}

#[derive(Subcommand)]
enum QuotaAction {
    /// Set the quota: a percentage (`30%`) or a fraction (`0.3`), from 10% to 90%.
    Set {
        /// The new quota.
        value: String,
    },
}

fn main() -> std::process::ExitCode {
    init_logging();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DASHKEEP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(args) => {
            return demo::run(args, cli.data_dir, &cli.cloud, cli.keep_free).await;
        }
        Command::Clip { action: clip_cmd::ClipAction::Cut { from, to, out, exact, segments } } => {
            return clip_cmd::cut(from, to, out, exact, segments);
        }
        Command::Events {
            action: Some(clip_cmd::EventsAction::Detect { csv, sensitivity }),
            ..
        } => {
            return clip_cmd::detect(csv, sensitivity);
        }
        Command::Scan(args) => return scan_cmd::scan(args).await,
        Command::Pair { camera_ble, code } => {
            let dir = cli.data_dir.unwrap_or_else(default_data_dir);
            return pair_cmd::pair(&dir, &camera_ble, code).await;
        }
        Command::Unpair { camera, local_only } => {
            let dir = cli.data_dir.unwrap_or_else(default_data_dir);
            return pair_cmd::unpair(&dir, camera, local_only).await;
        }
        Command::Cameras { json } => {
            let dir = cli.data_dir.unwrap_or_else(default_data_dir);
            return pair_cmd::cameras(&dir, json);
        }
        _ => {}
    }
    let needs_network = matches!(
        cli.command,
        Command::Stream { .. }
            | Command::Upload { .. }
            | Command::Delete { .. }
            | Command::Sync { .. }
            | Command::Download { .. }
    );
    let companion = open(cli.data_dir, &cli.cloud, cli.keep_free).await?;
    let follows =
        matches!(cli.command, Command::Stream { follow: true, .. } | Command::Connect { .. });
    if let Some(cloud) = companion.cloud() {
        if !follows {
            // One-shot commands do their cloud work in the foreground: no background worker
            // races them, nor is cut short when the process exits.
            cloud.stop().await;
        }
        if needs_network {
            cloud.set_network(cli.cloud.network.into());
        }
    }
    match cli.command {
        Command::Demo(_)
        | Command::Clip { action: clip_cmd::ClipAction::Cut { .. } }
        | Command::Events { action: Some(_), .. }
        | Command::Scan(_)
        | Command::Pair { .. }
        | Command::Unpair { .. }
        | Command::Cameras { .. } => unreachable!("handled above"),
        Command::Clip { action } => clip_cmd::create(&companion, action).await,
        Command::Clips { json } => clip_cmd::list(&companion, json).await,
        Command::Events { action: None, json } => clip_cmd::incidents(&companion, json).await,
        Command::Cloud { action } => cloud_cmd::cloud_cmd(&companion, action).await,
        Command::Upload { clip, json } => cloud_cmd::upload(&companion, clip, json).await,
        Command::Share { clip, expires_hours, raw: true, .. } => {
            cloud_cmd::share(&companion, clip, expires_hours).await
        }
        Command::Share { clip, expires_hours, raw: false, map_tiles } => {
            share_cmd::share_page(&companion, clip, expires_hours, map_tiles).await
        }
        Command::Delete { clip } => cloud_cmd::delete(&companion, clip).await,
        Command::Sync { json } => cloud_cmd::sync(&companion, json).await,
        Command::Download { clip } => cloud_cmd::download(&companion, clip).await,
        Command::Stream { camera, follow, json } => stream(&companion, &camera, follow, json).await,
        Command::Connect { camera, json } => pair_cmd::connect(&companion, camera, json).await,
        Command::Drives { json } => output::drives(&companion.drives().await?, json),
        Command::Drive { id, json, picture, gpx } => {
            drive_cmd::run(&companion, drive_cmd::DriveArgs { id, json, picture, gpx }).await
        }
        Command::Status { json } => {
            let phone = companion.phone_status().await?;
            output::status(&phone, &companion.storage_status().await?, json)
        }
        Command::Quota { action: None, json } => {
            output::quota(&companion.storage_status().await?, json)
        }
        Command::Quota { action: Some(QuotaAction::Set { value }), json } => {
            let evicted = companion.set_quota(parse_quota(&value)?).await?;
            if !json {
                println!("Quota set to {value}; {} videos evicted to fit.", evicted.len());
            }
            output::quota(&companion.storage_status().await?, json)
        }
        Command::AtRisk { hours, json } => {
            output::at_risk(&companion.at_risk(hours).await?, &companion.drives().await?, json)
        }
        Command::DeleteFromCamera { set, yes } => {
            if let Some(set) = set {
                companion.set_delete_from_camera(set == "on", yes).await?;
            }
            let on = companion.deletes_from_camera().await?;
            println!(
                "Delete from the camera after copying: {}.",
                if on { "on (locked files stay)" } else { "off (the camera keeps its files)" }
            );
            Ok(())
        }
        Command::Lock { drive } => lock(&companion, drive, true).await,
        Command::Unlock { drive } => lock(&companion, drive, false).await,
    }
}

async fn lock(companion: &Companion, drive: i64, locked: bool) -> anyhow::Result<()> {
    companion.set_drive_locked(dashkeep_core::catalog::DriveId(drive), locked).await?;
    println!("Drive {drive} {}.", if locked { "locked: the phone keeps it" } else { "unlocked" });
    Ok(())
}

/// `30%` or `0.3`.
fn parse_quota(value: &str) -> anyhow::Result<f64> {
    let v = value.trim();
    let fraction = match v.strip_suffix('%') {
        Some(pct) => pct.trim().parse::<f64>().map(|p| p / 100.0),
        None => v.parse::<f64>(),
    };
    fraction.map_err(|_| anyhow::anyhow!("not a quota: {value:?} (try 30% or 0.3)"))
}

/// Opens the companion on the chosen data directory, with its cloud.
pub(crate) async fn open(
    data_dir: Option<PathBuf>,
    cloud: &cloud_cmd::CloudArgs,
    keep_free: Option<u64>,
) -> anyhow::Result<std::sync::Arc<Companion>> {
    let dir = data_dir.unwrap_or_else(default_data_dir);
    let mut config =
        CompanionConfig { cloud: Some(cloud.config(&dir)?), ..CompanionConfig::new(&dir) };
    if let Some(bytes) = keep_free {
        config.safety_floor =
            dashkeep_core::storage::SafetyFloor { min_bytes: bytes, fraction: 0.0 };
    }
    Companion::open(config)
        .await
        .with_context(|| format!("opening data directory {}", dir.display()))
}

async fn stream(
    companion: &Companion,
    camera: &str,
    follow: bool,
    json: bool,
) -> anyhow::Result<()> {
    // A paired camera is reached over HTTPS pinned to its key, every request signed; any other
    // is asked which protocol it speaks (by the core, as the apps do).
    companion.use_paired_camera(pair_cmd::paired_for(companion.data_dir(), camera)?);
    if follow {
        let dialect = companion.identify_camera(camera).await?;
        anyhow::ensure!(
            dialect == Dialect::Dashkeep,
            "--follow needs a camera with a live feed; a {dialect} camera is streamed one pass at a time"
        );
        let bars = output::ProgressView::start(companion.subscribe());
        companion.start_streaming(camera).await?;
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
        companion.stop_streaming().await;
        bars.finish();
        return output::drives(&companion.drives().await?, json);
    }
    let bars = output::ProgressView::start(companion.subscribe());
    let stream = companion.stream_camera(camera).await;
    bars.finish();
    let stream = stream.with_context(|| format!("camera at {camera}"))?;
    eprintln!("The camera at {camera} speaks the {} protocol.", stream.dialect);
    output::report(&stream.report, json)
}

/// The platform's data directory, or `./dashkeep-data` inside the Dashkeep repository.
fn default_data_dir() -> PathBuf {
    let in_repo = std::fs::read_to_string("Cargo.toml").is_ok_and(|t| t.contains("dashkeep"));
    if in_repo {
        return PathBuf::from("dashkeep-data");
    }
    let base = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share"))
    });
    base.map_or_else(|| PathBuf::from("dashkeep-data"), |b| b.join("dashkeep"))
}
