//! `dashkeep demo`: a simulated dash cam records a scripted drive at high speed while the phone
//! streams it; at the end, a table of drives and where each one lives.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use dashkeep_core::camera::ble::loopback::LoopbackLink;
use dashkeep_core::camera::{AlreadyJoined, CameraKey};
use dashkeep_simcam::{Fixture, Scenario, SimCamera, SimConfig};

use crate::output;

/// Options of `dashkeep demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// How many times faster than real time the camera records (60: a minute a second).
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// A scenario file instead of the built-in 5-minute drive (see tests/simcam/scenarios).
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Print the final table as JSON.
    #[arg(long)]
    json: bool,
}

/// How long the demo waits for the phone to catch up once the camera stops recording.
const CATCH_UP: Duration = Duration::from_secs(120);

/// Runs the demo. Without `--data-dir` it uses a new directory, so runs do not mix.
pub async fn run(
    args: DemoArgs,
    data_dir: Option<PathBuf>,
    cloud: &crate::cloud_cmd::CloudArgs,
    keep_free: Option<u64>,
) -> anyhow::Result<()> {
    let scenario = match &args.scenario {
        Some(path) => Scenario::from_file(path)
            .with_context(|| format!("reading scenario {}", path.display()))?,
        None => Scenario::demo(),
    };
    let work = tempfile::Builder::new().prefix("dashkeep-demo-").tempdir()?.keep();
    let data_dir = data_dir.unwrap_or_else(|| work.join("phone"));
    let camera = SimCamera::start(SimConfig {
        speed: args.speed,
        fixture: Fixture::Small360p,
        paired_mode: true,
        ..SimConfig::new(scenario, work.join("sd-card"))
    })
    .await
    .context("starting the simulated camera")?;
    eprintln!("Simulated dash cam recording at {} ({}x real time)", camera.api_url(), args.speed);

    let companion = crate::open(Some(data_dir.clone()), cloud, keep_free).await?;
    if let Some(cloud) = companion.cloud() {
        cloud.set_network(dashkeep_core::cloud::NetworkState::WIFI);
    }
    // Pair over the (loopback) BLE link with the code "on the camera's screen", then connect:
    // BLE, the camera's WiFi, and streaming over HTTPS pinned to the camera's key.
    let link = LoopbackLink::new(vec![camera.ble_addr().to_string()]);
    let paired = companion
        .pair(&link, &camera.ble_addr().to_string(), &camera.pairing_code())
        .await
        .context("pairing with the simulated camera")?;
    eprintln!(
        "Paired with {} {} (key {}); streaming over pinned HTTPS with signed requests",
        paired.model,
        paired.serial,
        CameraKey::from_hex(&paired.payload.identity_key)
            .map(|k| k.fingerprint())
            .unwrap_or_default()
    );
    let bars = output::ProgressView::start(companion.subscribe());
    companion.connect(&paired.serial, Arc::new(link), Arc::new(AlreadyJoined), true).await?;
    camera.wait_for_scenario_end().await;
    let caught_up = wait_until_phone_has_all(&companion, &camera).await;
    companion.disconnect().await;
    bars.finish();
    caught_up?;
    companion.cut_pending_clips().await?;
    if let Some(cloud) = companion.cloud() {
        cloud.run_queue().await?;
    }

    eprintln!("Drive recorded and streamed. Data directory: {}", data_dir.display());
    output::drives(&companion.drives().await?, args.json)?;
    if !args.json {
        println!();
        crate::clip_cmd::incidents(&companion, false).await?;
        println!();
        crate::clip_cmd::list(&companion, false).await?;
    }
    camera.shutdown().await;
    Ok(())
}

/// Waits until every segment on the camera's card is on the phone.
async fn wait_until_phone_has_all(
    companion: &dashkeep_core::Companion,
    camera: &SimCamera,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    let on_card = camera.card().len();
    loop {
        let on_phone: usize =
            companion.drives().await?.iter().map(|d| d.segments_on_phone as usize).sum();
        if on_phone >= on_card {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("the phone holds {on_phone} of {on_card} segments after {CATCH_UP:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
