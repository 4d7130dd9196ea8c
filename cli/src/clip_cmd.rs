//! `dashkeep clip ...`, `dashkeep clips` and `dashkeep events ...`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use dashkeep_core::Companion;
use dashkeep_core::catalog::{ClipRecord, DriveId};
use dashkeep_core::clips::{CutRequest, cut_clip};
use dashkeep_core::events::{Sensitivity, detect_csv};

use crate::output::{bytes, timestamp};

/// What `dashkeep clip` does.
#[derive(Subcommand)]
pub enum ClipAction {
    /// Cut a clip out of consecutive MP4 segments without re-encoding (works on any files).
    Cut {
        /// Start, in seconds from the start of the first segment.
        #[arg(long)]
        from: f64,
        /// End, in seconds from the start of the first segment.
        #[arg(long)]
        to: f64,
        /// Where to write the clip.
        #[arg(long)]
        out: PathBuf,
        /// Begin exactly at --from (an edit list) instead of at the keyframe before it.
        #[arg(long)]
        exact: bool,
        /// The segments, in recording order.
        #[arg(required = true)]
        segments: Vec<PathBuf>,
    },
    /// Clip a range of a drive (seconds from the drive's start).
    Create {
        /// The drive's id (from `dashkeep drives`).
        #[arg(long)]
        drive: i64,
        /// Start, in seconds from the drive's start.
        #[arg(long)]
        from: f64,
        /// End, in seconds from the drive's start.
        #[arg(long)]
        to: f64,
    },
    /// Clip the last 30 s and the next 10 s of the drive the camera is recording now.
    Now {
        /// The camera's base URL.
        #[arg(long)]
        camera: String,
    },
}

/// Detector sensitivity on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub enum SensitivityArg {
    /// Fewer, stronger incidents.
    Low,
    /// The default.
    Normal,
    /// More, milder incidents.
    High,
}

impl From<SensitivityArg> for Sensitivity {
    fn from(s: SensitivityArg) -> Self {
        match s {
            SensitivityArg::Low => Self::Low,
            SensitivityArg::Normal => Self::Normal,
            SensitivityArg::High => Self::High,
        }
    }
}

/// What `dashkeep events` does besides listing.
#[derive(Subcommand)]
pub enum EventsAction {
    /// Run the hard-brake and collision detector over a CSV of motion samples and print the
    /// incidents as JSON. Columns (named in a header row): t,ax,ay,az (s, m/s²) required;
    /// gx,gy,gz (rad/s) and speed (m/s) optional; others ignored.
    Detect {
        /// The CSV file.
        #[arg(long)]
        csv: PathBuf,
        /// Detector sensitivity.
        #[arg(long, value_enum, default_value = "normal")]
        sensitivity: SensitivityArg,
    },
}

/// `dashkeep clip cut`: needs no data directory.
pub fn cut(
    from: f64,
    to: f64,
    out: PathBuf,
    exact: bool,
    segments: Vec<PathBuf>,
) -> anyhow::Result<()> {
    let request = CutRequest { segments, from_s: from, to_s: to, exact };
    match cut_clip(&request, &out) {
        Ok(report) => {
            println!(
                "Wrote {} ({}): {:.2} s to {:.2} s, {} video frames.",
                out.display(),
                bytes(report.bytes_written),
                report.start_s,
                report.end_s,
                report.video_frames
            );
            for gap in report.gaps {
                eprintln!(
                    "warning: skipped {} at {:.1} s: {}",
                    gap.path.display(),
                    gap.at_s,
                    gap.reason
                );
            }
            Ok(())
        }
        // The core left `out` as it was (absent or the user's old file): nothing to clean up.
        Err(e) => Err(e).context("cutting the clip"),
    }
}

/// `dashkeep events detect --csv FILE`.
pub fn detect(csv: PathBuf, sensitivity: SensitivityArg) -> anyhow::Result<()> {
    let file = std::fs::File::open(&csv).with_context(|| format!("opening {}", csv.display()))?;
    let events = detect_csv(std::io::BufReader::new(file), sensitivity.into())
        .with_context(|| format!("reading {}", csv.display()))?;
    println!("{}", serde_json::to_string_pretty(&events)?);
    Ok(())
}

/// `dashkeep clip create` and `dashkeep clip now`.
pub async fn create(companion: &Companion, action: ClipAction) -> anyhow::Result<()> {
    let clip = match action {
        ClipAction::Create { drive, from, to } => {
            companion.create_clip(DriveId(drive), from, to).await?
        }
        ClipAction::Now { camera } => companion.clip_now(&camera).await?,
        ClipAction::Cut { .. } => anyhow::bail!("`clip cut` needs no data directory"),
    };
    print_clip(companion, &clip);
    Ok(())
}

fn print_clip(companion: &Companion, clip: &ClipRecord) {
    match companion.clip_path(clip) {
        Some(path) => println!("Clip {} is ready: {}", clip.id.0, path.display()),
        None => println!(
            "Clip {} is planned ({} to {}); it is cut as soon as its segments reach the phone.",
            clip.id.0,
            timestamp(clip.start_ms),
            timestamp(clip.end_ms)
        ),
    }
}

/// `dashkeep clips`.
pub async fn list(companion: &Companion, json: bool) -> anyhow::Result<()> {
    let clips = companion.clips().await?;
    let uploads = match companion.cloud() {
        Some(cloud) => cloud.clips().await?,
        None => Vec::new(),
    };
    let upload_of = |id: i64| uploads.iter().find(|u| u.clip_id == id);
    if json {
        let rows: Vec<serde_json::Value> = clips
            .iter()
            .map(|c| {
                let mut v = serde_json::to_value(c).unwrap_or_default();
                if let (Some(u), Some(obj)) = (upload_of(c.id.0), v.as_object_mut()) {
                    obj.insert(
                        "upload_state".into(),
                        serde_json::to_value(u.upload_state).unwrap_or_default(),
                    );
                    obj.insert("bytes_uploaded".into(), u.bytes_done.into());
                }
                v
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if clips.is_empty() {
        println!("No clips yet.");
    }
    for c in &clips {
        let places: Vec<&str> = c.residencies.iter().map(|r| r.as_str()).collect();
        println!(
            "{:>4}  {:<10}  {}  {:>5.1} s  {:<8}  {:>10}  {}",
            c.id.0,
            c.reason.as_str(),
            timestamp(c.start_ms),
            (c.end_ms - c.start_ms) as f64 / 1000.0,
            format!("{:?}", c.state).to_lowercase(),
            c.size_bytes.map(bytes).unwrap_or_default(),
            places.join(", ")
        );
        if let Some(u) = upload_of(c.id.0).filter(|u| u.upload_state.is_some()) {
            let state = u.upload_state.map(|s| format!("{s:?}").to_lowercase()).unwrap_or_default();
            println!("        upload: {state}, {} of {}", bytes(u.bytes_done), bytes(u.size_bytes));
        }
    }
    Ok(())
}

/// `dashkeep events`.
pub async fn incidents(companion: &Companion, json: bool) -> anyhow::Result<()> {
    let events = companion.incidents(1000).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&events)?);
        return Ok(());
    }
    if events.is_empty() {
        println!("No incidents detected.");
    }
    for e in &events {
        println!(
            "{:>4}  {:<10}  {}  {:.2} g  {:.1} s  seen by {}",
            e.id,
            e.kind,
            timestamp(e.at_ms),
            e.peak_g,
            e.duration_ms as f64 / 1000.0,
            e.source
        );
    }
    Ok(())
}
