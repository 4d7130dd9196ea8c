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
    /// A built-in scenario by name (`demo`, `calm`) or a scenario TOML file (see
    /// tests/simcam/scenarios); the default is the built-in 5-minute drive.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Print the final table as JSON.
    #[arg(long)]
    json: bool,
}

/// How long the demo waits for the phone to catch up once the camera stops recording.
const CATCH_UP: Duration = Duration::from_secs(120);

/// The free space the demo's temporary phone keeps, unless `--keep-free` says otherwise. The
/// app's floor (max(1 GiB, 5% of the volume)) protects a real phone's system and other apps; the
/// demo's phone is a temporary directory on this computer's disk, which may well be more than
/// 95% full (CI machines are), and a demo that stored nothing would show nothing.
const DEMO_KEEP_FREE: u64 = 256 << 20;

/// Runs the demo. Without `--data-dir` the phone's data lives in a new temporary directory, so
/// runs do not mix; the camera's SD card always does. The temporary directory is removed when
/// the demo ends, whether it succeeds, fails or is interrupted (Ctrl-C).
pub async fn run(
    args: DemoArgs,
    data_dir: Option<PathBuf>,
    cloud: &crate::cloud_cmd::CloudArgs,
    keep_free: Option<u64>,
) -> anyhow::Result<()> {
    let scenario = scenario(args.scenario.as_deref())?;
    // Removed on drop: every return below, and the interrupt, clean up.
    let work = tempfile::Builder::new().prefix("dashkeep-demo-").tempdir()?;
    tokio::select! {
        result = drive(args, scenario, work.path(), data_dir, cloud, keep_free) => result,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted"),
    }
}

/// The demo's scenario: a built-in one by name, a TOML file, or the default drive. The built-in
/// scenarios and the camera's video fixture are embedded in the binary (no repository needed).
fn scenario(arg: Option<&std::path::Path>) -> anyhow::Result<Scenario> {
    let Some(path) = arg else { return Ok(Scenario::demo()) };
    if let Some(builtin) = path.to_str().and_then(Scenario::builtin) {
        return Ok(builtin?);
    }
    Scenario::from_file(path).with_context(|| {
        let names = Scenario::builtin_names().join(", ");
        format!("reading scenario {} (built-in scenarios: {names})", path.display())
    })
}

/// The demo's drive in `work`: the camera records, the phone pairs, streams and clips.
async fn drive(
    args: DemoArgs,
    scenario: Scenario,
    work: &std::path::Path,
    data_dir: Option<PathBuf>,
    cloud: &crate::cloud_cmd::CloudArgs,
    keep_free: Option<u64>,
) -> anyhow::Result<()> {
    let temporary = data_dir.is_none();
    let keep_free = keep_free.or(temporary.then_some(DEMO_KEEP_FREE));
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

    if temporary {
        eprintln!(
            "Drive recorded and streamed (into a temporary directory, removed at exit; pass --data-dir to keep it)."
        );
    } else {
        eprintln!("Drive recorded and streamed. Data directory: {}", data_dir.display());
    }
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
