//! The drive page's data: `Companion.driveSummary(driveId)` and its records, converted one to one
//! from `dashkeep_core::drive`; nothing is decided here.

use std::sync::Arc;

use dashkeep_core::catalog::DriveId;
use dashkeep_core::drive as core_drive;

use crate::clips::ClipReason;
use crate::companion::Companion;
use crate::errors::CompanionError;
use crate::runtime::run;
use crate::types::Residency;

/// Why part of a drive has no GPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum GpsMissing {
    /// The segment's telemetry is not on the phone (only the camera has it, or it is gone).
    NotOnPhone,
    /// The telemetry file is on the phone but could not be read.
    Unreadable,
    /// The receiver had no fix.
    NoFix,
    /// No segment of the drive covers this stretch.
    NotRecorded,
}

/// A stretch of the drive without GPS.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GpsGap {
    /// Start, ms since the drive's start.
    pub from_ms: i64,
    /// End, ms since the drive's start.
    pub to_ms: i64,
    /// Why there is no GPS.
    pub reason: GpsMissing,
}

/// One GPS fix of the track.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TrackPoint {
    /// ms since the drive's start.
    pub t_ms: i64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Ground speed, m/s.
    pub speed_mps: f64,
}

/// One point of a curve.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SeriesPoint {
    /// ms since the drive's start.
    pub t_ms: i64,
    /// m/s for speed, g for g-force.
    pub value: f64,
}

/// Where an incident happened.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IncidentPlace {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Whether it was placed from the drive's track rather than by the detector's own fix.
    pub from_track: bool,
}

/// An incident on the drive page.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DriveIncident {
    /// The incident's id.
    pub id: i64,
    /// `hard_brake`, `collision` (the detector) or `camera_locked` (the camera protected a file).
    pub kind: String,
    /// Onset, ms since the epoch.
    pub at_ms: i64,
    /// Onset, ms since the drive's start.
    pub offset_ms: i64,
    /// Peak acceleration, g; `null` when the camera reported it by locking files.
    pub peak_g: Option<f64>,
    /// Duration, ms.
    pub duration_ms: i64,
    /// `camera`, `phone` or `both`.
    pub source: String,
    /// Where, when known.
    pub place: Option<IncidentPlace>,
    /// Its clip's id, if one was made.
    pub clip_id: Option<i64>,
}

/// When a copy is due to be overwritten.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum OverwriteDue {
    /// After this many hours of driving.
    AfterHours {
        /// Hours of driving.
        hours: f64,
    },
    /// Never by the loop recorder (locked, or a pending clip needs it).
    Protected,
    /// Kept until the user deletes it (the cloud).
    Kept,
    /// Not known before anything was recorded.
    Unknown,
}

/// One copy of a segment.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VideoCopy {
    /// Where it lives.
    pub residency: Residency,
    /// When it is due to be overwritten.
    pub overwrite: OverwriteDue,
}

/// One segment on the drive page.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DriveSegment {
    /// The segment's id.
    pub id: i64,
    /// Position in the drive.
    pub index_in_drive: u32,
    /// Start, ms since the drive's start.
    pub offset_ms: i64,
    /// Duration, ms.
    pub duration_ms: i64,
    /// Video size.
    pub size_bytes: u64,
    /// Its copies; empty once overwritten everywhere.
    pub copies: Vec<VideoCopy>,
}

/// A clip on the drive page.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DriveClip {
    /// The clip's id.
    pub id: i64,
    /// Why it exists.
    pub reason: ClipReason,
    /// Start, ms since the drive's start.
    pub offset_ms: i64,
    /// Duration, ms.
    pub duration_ms: i64,
    /// Where it lives.
    pub residencies: Vec<Residency>,
}

/// The drive page: summary, incidents, where each part lives, the track and the curves.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DriveReport {
    /// The drive's id.
    pub drive_id: i64,
    /// The camera that recorded it.
    pub camera_serial: String,
    /// The camera's id for it.
    pub camera_drive_id: String,
    /// Start, ms since the epoch.
    pub started_at_ms: i64,
    /// End, ms since the epoch.
    pub ended_at_ms: i64,
    /// Duration, ms.
    pub duration_ms: i64,
    /// Whether the user locked it.
    pub locked: bool,
    /// Distance over the time the GPS covers, metres; `null` without any fix.
    pub distance_m: Option<f64>,
    /// Time moving within the GPS coverage, ms; `null` without any fix.
    pub moving_ms: Option<i64>,
    /// Average speed over the covered time, m/s; `null` without any fix.
    pub average_speed_mps: Option<f64>,
    /// Top speed, m/s; `null` without any fix.
    pub top_speed_mps: Option<f64>,
    /// Valid GPS fixes.
    pub gps_fixes: u32,
    /// Time the GPS covers, ms.
    pub gps_covered_ms: i64,
    /// Stretches without GPS and why; empty when the GPS covers the drive.
    pub gps_missing: Vec<GpsGap>,
    /// Incidents in time order.
    pub incidents: Vec<DriveIncident>,
    /// Segments in recording order.
    pub segments: Vec<DriveSegment>,
    /// Its clips.
    pub clips: Vec<DriveClip>,
    /// The GPS track (at most 1000 points).
    pub track: Vec<TrackPoint>,
    /// Speed, m/s (at most 600 points).
    pub speed: Vec<SeriesPoint>,
    /// Dynamic acceleration, g (at most 600 points, each the peak of its stretch).
    pub g_force: Vec<SeriesPoint>,
}

fn points(v: Vec<core_drive::SeriesPoint>) -> Vec<SeriesPoint> {
    v.into_iter().map(|p| SeriesPoint { t_ms: p.t_ms, value: p.value }).collect()
}

impl From<core_drive::GpsMissing> for GpsMissing {
    fn from(m: core_drive::GpsMissing) -> Self {
        match m {
            core_drive::GpsMissing::NotOnPhone => Self::NotOnPhone,
            core_drive::GpsMissing::Unreadable => Self::Unreadable,
            core_drive::GpsMissing::NoFix => Self::NoFix,
            core_drive::GpsMissing::NotRecorded => Self::NotRecorded,
        }
    }
}

impl From<core_drive::Overwrite> for OverwriteDue {
    fn from(o: core_drive::Overwrite) -> Self {
        match o {
            core_drive::Overwrite::AfterHours(hours) => Self::AfterHours { hours },
            core_drive::Overwrite::Protected => Self::Protected,
            core_drive::Overwrite::Kept => Self::Kept,
            core_drive::Overwrite::Unknown => Self::Unknown,
        }
    }
}

impl From<core_drive::Incident> for DriveIncident {
    fn from(i: core_drive::Incident) -> Self {
        let peak_g = dashkeep_core::catalog::measured_peak_g(&i.kind, i.peak_g);
        Self {
            id: i.id,
            kind: i.kind,
            at_ms: i.at_ms,
            offset_ms: i.offset_ms,
            peak_g,
            duration_ms: i.duration_ms,
            source: i.source,
            place: i.place.map(|p| IncidentPlace {
                lat: p.lat,
                lon: p.lon,
                from_track: p.from_track,
            }),
            clip_id: i.clip.map(|c| c.0),
        }
    }
}

impl From<core_drive::SegmentLife> for DriveSegment {
    fn from(s: core_drive::SegmentLife) -> Self {
        Self {
            id: s.id.0,
            index_in_drive: s.index_in_drive,
            offset_ms: s.offset_ms,
            duration_ms: s.duration_ms,
            size_bytes: s.size_bytes,
            copies: s
                .copies
                .into_iter()
                .map(|c| VideoCopy { residency: c.residency.into(), overwrite: c.overwrite.into() })
                .collect(),
        }
    }
}

impl From<core_drive::DriveReport> for DriveReport {
    fn from(r: core_drive::DriveReport) -> Self {
        Self {
            drive_id: r.drive.0,
            camera_serial: r.camera_serial,
            camera_drive_id: r.camera_drive_id,
            started_at_ms: r.started_at_ms,
            ended_at_ms: r.ended_at_ms,
            duration_ms: r.duration_ms,
            locked: r.locked,
            distance_m: r.distance_m,
            moving_ms: r.moving_ms,
            average_speed_mps: r.average_speed_mps,
            top_speed_mps: r.top_speed_mps,
            gps_fixes: r.gps.fixes,
            gps_covered_ms: r.gps.covered_ms,
            gps_missing: r
                .gps
                .missing
                .into_iter()
                .map(|g| GpsGap { from_ms: g.from_ms, to_ms: g.to_ms, reason: g.reason.into() })
                .collect(),
            incidents: r.incidents.into_iter().map(DriveIncident::from).collect(),
            segments: r.segments.into_iter().map(DriveSegment::from).collect(),
            clips: r
                .clips
                .into_iter()
                .map(|c| DriveClip {
                    id: c.id.0,
                    reason: c.reason.into(),
                    offset_ms: c.offset_ms,
                    duration_ms: c.duration_ms,
                    residencies: c.residencies.into_iter().map(Residency::from).collect(),
                })
                .collect(),
            track: r
                .track
                .into_iter()
                .map(|f| TrackPoint {
                    t_ms: f.t_ms,
                    lat: f.lat,
                    lon: f.lon,
                    speed_mps: f.speed_mps,
                })
                .collect(),
            speed: points(r.speed),
            g_force: points(r.g_force),
        }
    }
}

#[uniffi::export]
impl Companion {
    /// One drive's page: start, end, distance and speeds, incidents with their places, where
    /// each segment lives and when each copy is due to be overwritten, the track and the speed
    /// and g-force curves. Missing GPS is listed in `gps_missing`, never zeroed.
    pub async fn drive_summary(&self, drive_id: i64) -> Result<DriveReport, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let report = run(async move { inner.drive_summary(DriveId(drive_id)).await }).await?;
        Ok(report.into())
    }
}
