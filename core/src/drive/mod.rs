//! A drive people can look at: when it was, how far and how fast, its incidents and where they
//! happened, where each part of it lives and when each copy is due to be overwritten, and the
//! track and curves its pictures draw (cut down to a few hundred points).
//!
//! Missing GPS is said, never zeroed: a stretch without fixes is listed with why (its telemetry
//! is not on the phone, it could not be read, the receiver had no fix, nothing was recorded),
//! and a drive without any fix has no distance or speeds at all.

mod series;
mod track;

use std::path::PathBuf;

use serde::Serialize;
use tracing::Instrument;

pub use series::SeriesPoint;
pub(crate) use series::{Merge, downsample, g_force};
pub use track::{Fix, distance_m};

use crate::catalog::{
    Catalog, CatalogError, ClipId, ClipReason, DriveId, DriveRecord, DriveSegmentRow, Residency,
    SegmentId,
};
use crate::protocol::Telemetry;
use crate::storage::{CopyOverwrite, DataLayout, StorageError};

/// Track points kept for drawing.
pub const MAX_TRACK_POINTS: usize = 1000;
/// Points kept for each curve.
pub const MAX_SERIES_POINTS: usize = 600;
/// Telemetry files larger than this are not read (a minute holds about 400 KB).
const MAX_TELEMETRY_BYTES: u64 = 32 * 1024 * 1024;

/// Why a drive's summary could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    /// The catalog failed (or has no such drive).
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The overwrite forecast failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The blocking task reading the telemetry was lost (the runtime is shutting down).
    #[error("drive telemetry task failed: {0}")]
    Task(String),
}

/// Why part of a drive has no GPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GpsMissing {
    /// The segment's telemetry is not on the phone (only the camera has it, or it is gone).
    NotOnPhone,
    /// The telemetry file is on the phone but could not be read.
    Unreadable,
    /// The telemetry holds no fix for this stretch (the receiver had none).
    NoFix,
    /// No segment of the drive covers this stretch.
    NotRecorded,
}

/// A stretch of the drive without GPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GpsGap {
    /// Start, ms since the drive's start.
    pub from_ms: i64,
    /// End, ms since the drive's start.
    pub to_ms: i64,
    /// Why there is no GPS.
    pub reason: GpsMissing,
}

/// How much of the drive the GPS covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpsCoverage {
    /// Valid fixes read.
    pub fixes: u32,
    /// Time covered by fixes, ms.
    pub covered_ms: i64,
    /// Stretches without GPS, in time order; empty when the whole drive is covered.
    pub missing: Vec<GpsGap>,
}

/// Where an incident happened.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Place {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Whether it was placed from the drive's track (the detector had no fix of its own).
    pub from_track: bool,
}

/// An incident of the drive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// The incident's catalog id.
    pub id: i64,
    /// `hard_brake`, `collision` (the detector) or `camera_locked` (the camera protected a file).
    pub kind: String,
    /// Its onset, ms since the epoch.
    pub at_ms: i64,
    /// Its onset, ms since the drive's start.
    pub offset_ms: i64,
    /// Its peak acceleration, g.
    pub peak_g: f64,
    /// How long it lasted, ms.
    pub duration_ms: i64,
    /// Which sensors saw it: `camera`, `phone` or `both`.
    pub source: String,
    /// Where, when known.
    pub place: Option<Place>,
    /// Its clip, if one was made.
    pub clip: Option<ClipId>,
}

/// When a copy is due to be overwritten.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "hours")]
pub enum Overwrite {
    /// After this many hours of driving, by the loop recorder's order.
    AfterHours(f64),
    /// Never by the loop recorder: a locked drive or segment, or a pending clip needs it.
    Protected,
    /// Kept until the user deletes it (the cloud).
    Kept,
    /// Not known yet: nothing has been recorded to measure the recording rate.
    Unknown,
}

/// One copy of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VideoCopy {
    /// Where it lives.
    pub residency: Residency,
    /// When it is due to be overwritten.
    pub overwrite: Overwrite,
}

/// One segment of the drive, where it lives and for how long.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentLife {
    /// The segment's catalog id.
    pub id: SegmentId,
    /// Position in the drive.
    pub index_in_drive: u32,
    /// Its start, ms since the drive's start.
    pub offset_ms: i64,
    /// Its duration, ms.
    pub duration_ms: i64,
    /// Its video's size.
    pub size_bytes: u64,
    /// Its copies (camera, phone order); empty once overwritten everywhere.
    pub copies: Vec<VideoCopy>,
}

/// A clip of the drive and where it lives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClipLife {
    /// The clip's catalog id.
    pub id: ClipId,
    /// Why it exists.
    pub reason: ClipReason,
    /// Its start, ms since the drive's start.
    pub offset_ms: i64,
    /// Its duration, ms.
    pub duration_ms: i64,
    /// Where it lives (a clip is cut on the phone and kept in the cloud).
    pub residencies: Vec<Residency>,
}

/// The summary of one drive, as the drive page, the CLI and the pictures show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriveReport {
    /// The drive's catalog id.
    pub drive: DriveId,
    /// The camera that recorded it.
    pub camera_serial: String,
    /// The camera's id for it.
    pub camera_drive_id: String,
    /// Start, ms since the epoch (camera clock).
    pub started_at_ms: i64,
    /// End of its last known segment, ms since the epoch.
    pub ended_at_ms: i64,
    /// `ended_at_ms - started_at_ms`.
    pub duration_ms: i64,
    /// Whether the user protects it from the phone's loop recorder.
    pub locked: bool,
    /// Distance driven over the time the GPS covers, metres; `None` without any fix.
    pub distance_m: Option<f64>,
    /// Time spent moving within the GPS coverage, ms; `None` without any fix.
    pub moving_ms: Option<i64>,
    /// Distance over the covered time (stops included), m/s; `None` without any fix.
    pub average_speed_mps: Option<f64>,
    /// Top speed (a single wild fix ignored), m/s; `None` without any fix.
    pub top_speed_mps: Option<f64>,
    /// What the GPS covers and what is missing.
    pub gps: GpsCoverage,
    /// Incidents in time order.
    pub incidents: Vec<Incident>,
    /// Segments in recording order with their copies.
    pub segments: Vec<SegmentLife>,
    /// The drive's clips.
    pub clips: Vec<ClipLife>,
    /// The GPS track, at most `MAX_TRACK_POINTS` fixes.
    pub track: Vec<Fix>,
    /// Speed over time (m/s), at most `MAX_SERIES_POINTS` points, none across gaps.
    pub speed: Vec<SeriesPoint>,
    /// Dynamic acceleration over time (g, gravity removed), each point the peak of its stretch.
    pub g_force: Vec<SeriesPoint>,
    /// Bytes recorded per hour of driving, the overwrite forecast's rate; `None` before any.
    pub bytes_per_hour: Option<f64>,
}

/// What a segment's telemetry gave.
struct SegmentSensors {
    fixes: Vec<Fix>,
    g: Vec<SeriesPoint>,
    missing: Option<GpsMissing>,
}

/// Summarises `drive` from the catalog and the telemetry files on the phone, with the overwrite
/// forecast's `overwrites` (from `storage::drive_overwrites`).
pub async fn summarize(
    catalog: &Catalog,
    layout: &DataLayout,
    overwrites: (Option<f64>, Vec<CopyOverwrite>),
    drive: DriveId,
) -> Result<DriveReport, DriveError> {
    let span = tracing::debug_span!("drive_summary", drive = drive.0);
    async move {
        let record = catalog.drive_record(drive).await?;
        let files: Vec<Option<PathBuf>> = record
            .segments
            .iter()
            .map(|s| s.telemetry_file.as_deref().map(|n| layout.video_path(n)))
            .collect();
        let sensors = read_sensors(&record, files).await?;
        Ok(build(record, sensors, overwrites))
    }
    .instrument(span)
    .await
}

async fn read_sensors(
    record: &DriveRecord,
    files: Vec<Option<PathBuf>>,
) -> Result<Vec<SegmentSensors>, DriveError> {
    let start = record.drive.started_at_ms;
    let offsets: Vec<(i64, i64)> =
        record.segments.iter().map(|s| (s.started_at_ms - start, s.duration_ms)).collect();
    tokio::task::spawn_blocking(move || {
        files
            .iter()
            .zip(offsets)
            .map(|(f, (off, dur))| read_segment(f.as_ref(), off, dur))
            .collect()
    })
    .await
    .map_err(|e| DriveError::Task(e.to_string()))
}

fn read_segment(file: Option<&PathBuf>, offset_ms: i64, duration_ms: i64) -> SegmentSensors {
    let empty =
        |missing| SegmentSensors { fixes: Vec::new(), g: Vec::new(), missing: Some(missing) };
    let Some(path) = file else { return empty(GpsMissing::NotOnPhone) };
    let telemetry = match read_telemetry(path) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "drive summary: unreadable telemetry");
            return empty(GpsMissing::Unreadable);
        }
    };
    let fixes = telemetry
        .gps
        .iter()
        .map(|g| Fix {
            t_ms: offset_ms + i64::from(g.t_ms),
            lat: g.lat,
            lon: g.lon,
            speed_mps: f64::from(g.speed_mps),
        })
        .filter(|f| track::is_valid(f) && f.t_ms <= offset_ms + duration_ms)
        .collect();
    // One point a second per segment before the drive-wide cut: the peaks stay, memory stays low.
    let per_second = usize::try_from(duration_ms / 1000).unwrap_or(0).max(1);
    let g =
        series::downsample(&series::g_force(&telemetry.accel, offset_ms), per_second, Merge::Max);
    SegmentSensors { fixes, g, missing: None }
}

fn read_telemetry(path: &PathBuf) -> Result<Telemetry, String> {
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > MAX_TELEMETRY_BYTES {
        return Err(format!("{len} bytes is more than a telemetry file holds"));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

fn build(
    record: DriveRecord,
    sensors: Vec<SegmentSensors>,
    (rate, overwrites): (Option<f64>, Vec<CopyOverwrite>),
) -> DriveReport {
    let start = record.drive.started_at_ms;
    let duration_ms = (record.drive.ended_at_ms - start).max(0);
    let missing = gaps(&record.segments, &sensors, start, duration_ms);
    let mut fixes: Vec<Fix> = sensors.iter().flat_map(|s| s.fixes.iter().copied()).collect();
    fixes.sort_by_key(|f| f.t_ms);
    let g: Vec<SeriesPoint> = sensors.iter().flat_map(|s| s.g.iter().copied()).collect();
    let stats = (!fixes.is_empty()).then(|| track::analyse(&fixes));
    let speed: Vec<SeriesPoint> =
        fixes.iter().map(|f| SeriesPoint { t_ms: f.t_ms, value: f.speed_mps }).collect();
    let incidents = incidents(&record, &fixes);
    let segments =
        record.segments.iter().map(|s| segment_life(s, start, rate, &overwrites)).collect();
    let clips = record
        .clips
        .iter()
        .map(|c| ClipLife {
            id: c.id,
            reason: c.reason,
            offset_ms: c.start_ms - start,
            duration_ms: c.end_ms - c.start_ms,
            residencies: c.residencies.clone(),
        })
        .collect();
    DriveReport {
        drive: record.drive.id,
        camera_serial: record.camera_serial,
        camera_drive_id: record.drive.camera_drive_id,
        started_at_ms: start,
        ended_at_ms: record.drive.ended_at_ms,
        duration_ms,
        locked: record.drive.locked,
        distance_m: stats.as_ref().map(|s| s.distance_m),
        moving_ms: stats.as_ref().map(|s| s.moving_ms),
        average_speed_mps: stats
            .as_ref()
            .filter(|s| s.covered_ms > 0)
            .map(|s| s.distance_m * 1000.0 / s.covered_ms as f64),
        top_speed_mps: stats.as_ref().map(|s| s.top_speed_mps),
        gps: GpsCoverage {
            fixes: u32::try_from(fixes.len()).unwrap_or(u32::MAX),
            covered_ms: stats.as_ref().map_or(0, |s| s.covered_ms),
            missing,
        },
        incidents,
        segments,
        clips,
        track: track::thin(&fixes, MAX_TRACK_POINTS),
        speed: series::downsample(&speed, MAX_SERIES_POINTS, Merge::Mean),
        g_force: series::downsample(&g, MAX_SERIES_POINTS, Merge::Max),
        bytes_per_hour: rate,
    }
}

/// The stretches of the drive without GPS, merged when adjacent with the same reason.
fn gaps(
    segments: &[DriveSegmentRow],
    sensors: &[SegmentSensors],
    start: i64,
    duration_ms: i64,
) -> Vec<GpsGap> {
    let mut out: Vec<GpsGap> = Vec::new();
    let mut add = |from_ms: i64, to_ms: i64, reason| {
        if to_ms - from_ms <= track::GAP_MS {
            return;
        }
        match out.last_mut() {
            Some(last) if last.reason == reason && from_ms - last.to_ms <= track::GAP_MS => {
                last.to_ms = last.to_ms.max(to_ms);
            }
            _ => out.push(GpsGap { from_ms, to_ms, reason }),
        }
    };
    let mut cursor = 0;
    for (seg, s) in segments.iter().zip(sensors) {
        let (from, to) = (seg.started_at_ms - start, seg.started_at_ms - start + seg.duration_ms);
        add(cursor, from, GpsMissing::NotRecorded);
        cursor = cursor.max(from);
        if let Some(reason) = s.missing {
            add(from, to, reason);
        } else {
            for f in &s.fixes {
                add(cursor, f.t_ms, GpsMissing::NoFix);
                cursor = cursor.max(f.t_ms);
            }
            add(cursor, to, GpsMissing::NoFix);
        }
        cursor = cursor.max(to);
    }
    add(cursor, duration_ms, GpsMissing::NotRecorded);
    out
}

fn incidents(record: &DriveRecord, fixes: &[Fix]) -> Vec<Incident> {
    let start = record.drive.started_at_ms;
    record
        .incidents
        .iter()
        .map(|e| {
            let own = e.lat.zip(e.lon).map(|(lat, lon)| Place { lat, lon, from_track: false });
            let place = own.or_else(|| {
                track::position_at(fixes, e.at_ms - start).map(|(lat, lon)| Place {
                    lat,
                    lon,
                    from_track: true,
                })
            });
            Incident {
                id: e.id,
                kind: e.kind.clone(),
                at_ms: e.at_ms,
                offset_ms: e.at_ms - start,
                peak_g: e.peak_g,
                duration_ms: e.duration_ms,
                source: e.source.clone(),
                place,
                clip: record.clips.iter().find(|c| c.event_id == Some(e.id)).map(|c| c.id),
            }
        })
        .collect()
}

fn segment_life(
    s: &DriveSegmentRow,
    start: i64,
    rate: Option<f64>,
    overwrites: &[CopyOverwrite],
) -> SegmentLife {
    let copies = s
        .residencies
        .iter()
        .map(|&residency| {
            let due = overwrites.iter().find(|o| o.segment == s.id && o.residency == residency);
            let overwrite = match (residency, due, rate) {
                (Residency::Cloud, _, _) => Overwrite::Kept,
                (_, Some(o), _) => Overwrite::AfterHours(o.hours),
                (_, None, None) => Overwrite::Unknown,
                (_, None, Some(_)) => Overwrite::Protected,
            };
            VideoCopy { residency, overwrite }
        })
        .collect();
    SegmentLife {
        id: s.id,
        index_in_drive: s.index_in_drive,
        offset_ms: s.started_at_ms - start,
        duration_ms: s.duration_ms,
        size_bytes: s.size_bytes,
        copies,
    }
}

#[cfg(test)]
mod tests;
