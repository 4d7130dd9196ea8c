//! How the CLI shows things: tables for people, JSON for scripts, progress bars while it works.

use dashkeep_core::companion::ConnectionState;
use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use dashkeep_core::CompanionEvent;
use dashkeep_core::catalog::{DriveSummary, Residency, SegmentId};
use dashkeep_core::companion::{PhoneStatus, StorageStatus};
use dashkeep_core::ingest::{IngestEvent, IngestReport};
use dashkeep_core::storage::Forecast;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::sync::broadcast;

/// One drive as `dashkeep drives --json` prints it. Field names are stable (docs/cli.md).
#[derive(Serialize)]
struct DriveJson<'a> {
    id: i64,
    camera_drive_id: &'a str,
    started_at: String,
    started_at_ms: i64,
    ended_at_ms: i64,
    duration_s: f64,
    segments: u32,
    segments_on_phone: u32,
    segments_on_camera: u32,
    bytes_on_phone: u64,
    bytes_total: u64,
    locked: bool,
    residencies: &'a [Residency],
}

fn drive_json(d: &DriveSummary) -> DriveJson<'_> {
    DriveJson {
        id: d.id.0,
        camera_drive_id: &d.camera_drive_id,
        started_at: timestamp(d.started_at_ms),
        started_at_ms: d.started_at_ms,
        ended_at_ms: d.ended_at_ms,
        duration_s: (d.ended_at_ms - d.started_at_ms) as f64 / 1000.0,
        segments: d.segments,
        segments_on_phone: d.segments_on_phone,
        segments_on_camera: d.segments_on_camera,
        bytes_on_phone: d.bytes_on_phone,
        bytes_total: d.bytes_total,
        locked: d.locked,
        residencies: &d.residencies,
    }
}

/// Prints drives as a table or JSON.
pub fn drives(drives: &[DriveSummary], json: bool) -> anyhow::Result<()> {
    if json {
        let rows: Vec<_> = drives.iter().map(drive_json).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if drives.is_empty() {
        println!("No drives yet. Stream from a camera with `dashkeep stream --camera URL`.");
        return Ok(());
    }
    println!(
        "{:>4}  {:<20}  {:<20}  {:>8}  {:>13}  {:>10}  LIVES ON",
        "ID", "DRIVE", "STARTED (UTC)", "LENGTH", "SEGMENTS", "ON PHONE"
    );
    for d in drives {
        let places: Vec<&str> = d.residencies.iter().map(|r| r.as_str()).collect();
        let places = if places.is_empty() { "nowhere (lost)".into() } else { places.join(", ") };
        println!(
            "{:>4}  {:<20}  {:<20}  {:>8}  {:>4} ph {:>3} cam  {:>10}  {places}{}",
            d.id.0,
            d.camera_drive_id,
            timestamp(d.started_at_ms),
            minutes(d.ended_at_ms - d.started_at_ms),
            d.segments_on_phone,
            d.segments_on_camera,
            bytes(d.bytes_on_phone),
            if d.locked { "  [locked]" } else { "" },
        );
    }
    Ok(())
}

/// Prints the phone's status with its storage bar.
pub fn status(status: &PhoneStatus, storage: &StorageStatus, json: bool) -> anyhow::Result<()> {
    if json {
        let value = serde_json::json!({ "phone": status, "storage": storage });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("Data directory: {}", status.data_dir.display());
    println!("On the phone:   {} segments of {} drives", status.segments_on_phone, status.drives);
    println!("Streaming:      {}", if status.streaming { "on" } else { "off" });
    print_storage(storage);
    for c in &status.cameras {
        println!(
            "Camera {} ({} {}), last seen {}",
            c.serial,
            c.model,
            c.firmware,
            timestamp(c.last_seen_ms)
        );
        let used = c.sd_used_bytes.min(c.sd_capacity_bytes);
        println!(
            "  SD card [{}] {} of {} used",
            bar(&[(used, '#')], c.sd_capacity_bytes, 40),
            bytes(c.sd_used_bytes),
            bytes(c.sd_capacity_bytes)
        );
    }
    Ok(())
}

/// Prints the quota.
pub fn quota(storage: &StorageStatus, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&storage.budget)?);
        return Ok(());
    }
    print_storage(storage);
    Ok(())
}

fn print_storage(s: &StorageStatus) {
    let b = &s.budget;
    println!(
        "Quota:          {:.0}% of {} = {}{}",
        b.fraction * 100.0,
        bytes(b.volume.total_bytes),
        bytes(b.quota_bytes),
        if b.limit_bytes < b.quota_bytes {
            format!(
                " (only {} while the phone keeps {} free)",
                bytes(b.limit_bytes),
                bytes(b.floor_bytes)
            )
        } else {
            String::new()
        }
    );
    let parts = [(s.usage.drive_bytes(), '#'), (s.usage.clip_bytes, '*')];
    println!("  phone   [{}]", bar(&parts, b.limit_bytes, 40));
    println!(
        "          # drives {}   * clips {}   . free {}{}",
        bytes(s.usage.drive_bytes()),
        bytes(s.usage.clip_bytes),
        bytes(s.free_quota_bytes),
        match (s.full, s.phone_full) {
            (true, true) =>
                "   FULL: the phone itself is nearly full; streaming paused until space is freed",
            (true, false) => "   FULL: streaming paused until room appears",
            _ => "",
        }
    );
}

/// Prints the at-risk forecast.
pub fn at_risk(f: &Forecast, drives: &[DriveSummary], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(f)?);
        return Ok(());
    }
    let Some(rate) = f.bytes_per_hour else {
        println!("Nothing recorded yet: no forecast.");
        return Ok(());
    };
    println!("Recording rate: {} per hour of driving", bytes(rate as u64));
    if let Some(h) = f.phone_hours_left {
        println!("Phone: the oldest drive is overwritten after {h:.1} hours of driving");
    }
    for (serial, h) in &f.camera_hours_left {
        println!(
            "Camera {serial}: the oldest segment is overwritten after {h:.1} hours of driving"
        );
    }
    if f.at_risk.is_empty() {
        println!(
            "No video living in one place only is overwritten within {} hours.",
            f.horizon_hours
        );
        return Ok(());
    }
    println!(
        "At risk within {} hours of driving (save these as clips before they are gone):",
        f.horizon_hours
    );
    for a in &f.at_risk {
        let name = drives.iter().find(|d| d.id == a.drive).map_or_else(String::new, |d| {
            format!("{} ({})", d.camera_drive_id, timestamp(d.started_at_ms))
        });
        println!(
            "  drive {:>4} {name}: {} segments ({}) only on the {}, overwritten in {:.1} h",
            a.drive.0,
            a.segments,
            bytes(a.bytes),
            a.residency.as_str(),
            a.hours_until_overwrite
        );
    }
    Ok(())
}

/// A text bar of `width` cells: each part fills its share of `total` with its character.
fn bar(parts: &[(u64, char)], total: u64, width: usize) -> String {
    let mut out = String::with_capacity(width);
    for (n, c) in parts {
        let cells =
            if total == 0 { 0 } else { (*n as f64 / total as f64 * width as f64).round() as usize };
        for _ in 0..cells.min(width - out.chars().count()) {
            out.push(*c);
        }
    }
    while out.chars().count() < width {
        out.push('.');
    }
    out
}

/// Prints what a "stream now" pass did.
pub fn report(report: &IngestReport, json: bool) -> anyhow::Result<()> {
    let refused: Vec<String> = report.refused.iter().map(ToString::to_string).collect();
    if json {
        let value = serde_json::json!({
            "listed": report.listed,
            "new_on_camera": report.new_on_camera,
            "stored": report.stored,
            "bytes_fetched": report.bytes_fetched,
            "overwritten_on_camera": report.overwritten_on_camera,
            "gps_records_skipped": report.gps_records_skipped,
            "deleted_from_camera": report.deleted_from_camera,
            "camera_deletes_failed": report.camera_deletes_failed,
            "refused": refused,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "Camera lists {} segments ({} new); stored {} on the phone ({} fetched).",
        report.listed,
        report.new_on_camera,
        report.stored,
        bytes(report.bytes_fetched)
    );
    for r in refused {
        println!("  refused: {r}");
    }
    if report.deleted_from_camera + report.camera_deletes_failed > 0 {
        println!(
            "  {} deleted from the camera after a verified copy ({} it refused to delete)",
            report.deleted_from_camera, report.camera_deletes_failed
        );
    }
    if report.gps_records_skipped > 0 {
        println!(
            "  {} GPS records in the camera's files skipped (cut or no fix)",
            report.gps_records_skipped
        );
    }
    Ok(())
}

/// Progress bars fed by the companion's events, until [`ProgressView::finish`].
pub struct ProgressView {
    task: tokio::task::JoinHandle<()>,
    multi: MultiProgress,
}

impl ProgressView {
    /// Starts showing progress from `events`.
    pub fn start(mut events: broadcast::Receiver<CompanionEvent>) -> Self {
        let multi = MultiProgress::new();
        let total = multi.add(ProgressBar::new_spinner());
        total.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or(ProgressStyle::default_spinner()),
        );
        total.enable_steady_tick(Duration::from_millis(120));
        let m = multi.clone();
        let task = tokio::spawn(async move {
            let mut bars: HashMap<SegmentId, ProgressBar> = HashMap::new();
            let (mut stored, mut stored_bytes) = (0u64, 0u64);
            total.set_message("waiting for the camera");
            loop {
                let event = match events.recv().await {
                    Ok(e) => e,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                let event = match event {
                    CompanionEvent::Ingest(event) => event,
                    CompanionEvent::Connection(state) => {
                        total.set_message(connection_message(&state));
                        continue;
                    }
                    CompanionEvent::IncidentDetected(incident) => {
                        let by =
                            if incident.source == "camera" { "the camera" } else { "Dashkeep" };
                        let _ = m.println(format!("incident: {} (found by {by})", incident.kind));
                        continue;
                    }
                    _ => continue,
                };
                match event {
                    IngestEvent::Connected { serial, .. } => {
                        total.set_message(format!("connected to camera {serial}"));
                    }
                    IngestEvent::Disconnected { reason, retry_in } => total.set_message(format!(
                        "camera unreachable ({reason}); retrying in {retry_in:.1?}"
                    )),
                    IngestEvent::SegmentStarted { segment, bytes_total, resumed_from, .. } => {
                        let bar = m.add(ProgressBar::new(bytes_total));
                        bar.set_style(segment_style());
                        bar.set_position(resumed_from);
                        bars.insert(segment, bar);
                    }
                    IngestEvent::SegmentProgress { segment, bytes_done, .. } => {
                        if let Some(bar) = bars.get(&segment) {
                            bar.set_position(bytes_done);
                        }
                    }
                    IngestEvent::SegmentStored { segment, bytes: n, .. } => {
                        if let Some(bar) = bars.remove(&segment) {
                            bar.finish_and_clear();
                        }
                        stored += 1;
                        stored_bytes += n;
                        total.set_message(format!(
                            "{stored} segments stored on the phone ({})",
                            bytes(stored_bytes)
                        ));
                    }
                    IngestEvent::SegmentFailed { camera_segment_id, reason } => {
                        let _ =
                            m.println(format!("segment {camera_segment_id:?} refused: {reason}"));
                    }
                    // The companion announces it as an incident (above).
                    IngestEvent::CameraIncident(_) => {}
                }
            }
        });
        Self { task, multi }
    }

    /// Stops showing progress.
    pub fn finish(self) {
        self.task.abort();
        let _ = self.multi.clear();
    }
}

/// One line for the camera connection's state.
pub fn connection_message(state: &ConnectionState) -> String {
    match state {
        ConnectionState::Idle => "not connected".into(),
        ConnectionState::Scanning => "looking for the camera over BLE".into(),
        ConnectionState::Pairing => "pairing with the camera".into(),
        ConnectionState::Paired { serial } => format!("paired with camera {serial}"),
        ConnectionState::BleConnected { serial } => format!("connected to {serial} over BLE"),
        ConnectionState::WifiJoined { ssid, .. } => format!("joined the camera's WiFi {ssid:?}"),
        ConnectionState::Streaming { serial } => format!("streaming from camera {serial}"),
        ConnectionState::Disconnected { reason, retry_in_ms } => match retry_in_ms {
            Some(ms) => format!("camera disconnected ({reason:?}); retrying in {ms} ms"),
            None => format!("camera disconnected ({reason:?})"),
        },
    }
}

fn segment_style() -> ProgressStyle {
    ProgressStyle::with_template("  {bar:30.cyan/blue} {bytes:>9}/{total_bytes:<9} {bytes_per_sec}")
        .unwrap_or(ProgressStyle::default_bar())
}

/// An RFC 3339 UTC time, to the second.
pub fn timestamp(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A byte count for people.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[unit]) }
}

fn minutes(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}
