//! `dashkeep drive ID`: one drive's summary as text or JSON, its picture (`--picture`) and its
//! track as GPX (`--gpx`). The numbers come from `dashkeep_core::drive`; this only formats.

use std::path::PathBuf;

use anyhow::Context;
use dashkeep_core::Companion;
use dashkeep_core::catalog::DriveId;
use dashkeep_core::drive::{DriveReport, GpsMissing, Overwrite};

use crate::output::{bytes, timestamp};

mod gpx_out;
mod picture;

/// What `dashkeep drive` was asked for.
pub struct DriveArgs {
    /// The drive's id (as `dashkeep drives` lists it).
    pub id: i64,
    /// Print JSON instead of text.
    pub json: bool,
    /// Draw the drive into this `.svg` or `.png` file.
    pub picture: Option<PathBuf>,
    /// Write the track as GPX 1.1 into this file.
    pub gpx: Option<PathBuf>,
}

/// Runs `dashkeep drive`.
pub async fn run(companion: &Companion, args: DriveArgs) -> anyhow::Result<()> {
    let report = companion.drive_summary(DriveId(args.id)).await?;
    if let Some(path) = &args.picture {
        picture::draw(&report, path).with_context(|| format!("drawing {}", path.display()))?;
    }
    if let Some(path) = &args.gpx {
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        gpx_out::write(&report, file).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
        for path in args.picture.iter().chain(&args.gpx) {
            println!("Wrote {}", path.display());
        }
    }
    Ok(())
}

/// km/h from m/s, for people.
pub(crate) fn kmh(mps: f64) -> f64 {
    mps * 3.6
}

/// `h:mm:ss` from ms.
pub(crate) fn clock(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// What a missing stretch of GPS is called.
pub(crate) fn missing_words(reason: GpsMissing) -> &'static str {
    match reason {
        GpsMissing::NotOnPhone => "telemetry not on the phone",
        GpsMissing::Unreadable => "telemetry unreadable",
        GpsMissing::NoFix => "no GPS fix",
        GpsMissing::NotRecorded => "not recorded",
    }
}

fn print_text(r: &DriveReport) {
    println!("Drive {} ({} on camera {})", r.drive.0, r.camera_drive_id, r.camera_serial);
    println!(
        "  {} to {}, {}{}",
        timestamp(r.started_at_ms),
        timestamp(r.ended_at_ms),
        clock(r.duration_ms),
        if r.locked { "  [locked]" } else { "" }
    );
    match (r.distance_m, r.average_speed_mps, r.top_speed_mps) {
        (Some(d), avg, Some(top)) => println!(
            "  {:.2} km, average {} km/h, top {:.0} km/h, moving {}",
            d / 1000.0,
            avg.map_or("?".into(), |a| format!("{:.0}", kmh(a))),
            kmh(top),
            clock(r.moving_ms.unwrap_or(0))
        ),
        _ => println!("  Distance and speed unknown: no GPS fix on the phone for this drive."),
    }
    if r.gps.missing.is_empty() {
        println!("  GPS: {} fixes, the whole drive", r.gps.fixes);
    } else {
        println!(
            "  GPS: {} fixes covering {} of {}; missing:",
            r.gps.fixes,
            clock(r.gps.covered_ms),
            clock(r.duration_ms)
        );
        for g in &r.gps.missing {
            println!("    {} to {}: {}", clock(g.from_ms), clock(g.to_ms), missing_words(g.reason));
        }
    }
    print_incidents(r);
    print_segments(r);
}

fn print_incidents(r: &DriveReport) {
    if r.incidents.is_empty() {
        println!("  No incidents.");
        return;
    }
    println!("  Incidents:");
    for i in &r.incidents {
        let place = i.place.map_or("place unknown".to_string(), |p| {
            format!("{:.5}, {:.5}{}", p.lat, p.lon, if p.from_track { " (from track)" } else { "" })
        });
        let clip = i.clip.map_or(String::new(), |c| format!(", clip {}", c.0));
        println!(
            "    {} {} {:.2} g at {} ({}){clip}",
            clock(i.offset_ms),
            i.kind.replace('_', " "),
            i.peak_g,
            place,
            timestamp(i.at_ms)
        );
    }
}

fn print_segments(r: &DriveReport) {
    println!("  Segments:");
    for s in &r.segments {
        let copies: Vec<String> = s
            .copies
            .iter()
            .map(|c| {
                let due = match c.overwrite {
                    Overwrite::AfterHours(h) => format!("overwritten after {h:.1} h of driving"),
                    Overwrite::Protected => "protected".into(),
                    Overwrite::Kept => "kept".into(),
                    Overwrite::Unknown => "overwrite time unknown".into(),
                };
                format!("{} ({due})", c.residency.as_str())
            })
            .collect();
        let lives = if copies.is_empty() { "lost".to_string() } else { copies.join(", ") };
        println!(
            "    #{:<3} {} +{:<5} {:>9}  {lives}",
            s.index_in_drive,
            clock(s.offset_ms),
            format!("{}s", s.duration_ms / 1000),
            bytes(s.size_bytes)
        );
    }
    for c in &r.clips {
        let places: Vec<&str> = c.residencies.iter().map(|p| p.as_str()).collect();
        println!(
            "  Clip {} ({}) {} +{}s: {}",
            c.id.0,
            c.reason.as_str(),
            clock(c.offset_ms),
            c.duration_ms / 1000,
            if places.is_empty() { "nowhere".into() } else { places.join(", ") }
        );
    }
}
