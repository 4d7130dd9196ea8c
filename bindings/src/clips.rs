//! Clips and incidents: the motion samples the app feeds the detector, the incidents it records,
//! and the clips cut around them (or asked for by the user), with where each clip lives.

use std::path::Path;

use dashkeep_core::catalog as core_catalog;
use dashkeep_core::cloud as core_cloud;
use dashkeep_core::events as core_events;
use dashkeep_core::storage::DataLayout;

use crate::cloud::UploadState;
use crate::types::Residency;

/// How readily the hard-brake and collision detector fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Sensitivity {
    /// Only clear-cut events: fewer clips, fewer false alarms.
    Low,
    /// The default.
    Normal,
    /// Also milder events: more clips, more false alarms.
    High,
}

impl From<Sensitivity> for core_events::Sensitivity {
    fn from(s: Sensitivity) -> Self {
        match s {
            Sensitivity::Low => Self::Low,
            Sensitivity::Normal => Self::Normal,
            Sensitivity::High => Self::High,
        }
    }
}

/// Angular rate about the device's x, y and z axes, rad/s.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Gyro {
    /// About x.
    pub x: f64,
    /// About y.
    pub y: f64,
    /// About z.
    pub z: f64,
}

/// One sample of the phone's IMU, in the phone's own frame.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct MotionSample {
    /// Time in seconds since the Unix epoch; must increase from sample to sample.
    pub t: f64,
    /// Acceleration along x, gravity included, m/s².
    pub ax: f64,
    /// Acceleration along y, gravity included, m/s².
    pub ay: f64,
    /// Acceleration along z, gravity included, m/s².
    pub az: f64,
    /// The gyroscope, when the phone has one.
    #[uniffi(default)]
    pub gyro: Option<Gyro>,
    /// GPS ground speed, m/s, on the sample nearest each fix (about 1 Hz); `null` on the others.
    #[uniffi(default)]
    pub speed_mps: Option<f64>,
}

impl From<MotionSample> for core_events::MotionSample {
    fn from(s: MotionSample) -> Self {
        Self {
            t: s.t,
            ax: s.ax,
            ay: s.ay,
            az: s.az,
            gyro: s.gyro.map(|g| [g.x, g.y, g.z]),
            speed_mps: s.speed_mps,
        }
    }
}

/// A detected hard brake or collision.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Incident {
    /// The incident's id.
    pub id: i64,
    /// The drive it happened in, when known.
    pub drive_id: Option<i64>,
    /// `hard_brake`, `collision` (the detector) or `camera_locked` (the camera protected a file).
    pub kind: String,
    /// Its onset, ms since the Unix epoch.
    pub at_ms: i64,
    /// Its peak acceleration in g; `null` when the camera reported it by locking files.
    pub peak_g: Option<f64>,
    /// How long it lasted, ms.
    pub duration_ms: i64,
    /// Latitude, when known.
    pub lat: Option<f64>,
    /// Longitude, when known.
    pub lon: Option<f64>,
    /// Which sensors saw it: `camera`, `phone` or `both`.
    pub source: String,
}

impl From<core_catalog::EventRecord> for Incident {
    fn from(e: core_catalog::EventRecord) -> Self {
        let peak_g = e.measured_peak_g();
        Self {
            id: e.id,
            drive_id: e.drive_id.map(|d| d.0),
            kind: e.kind,
            at_ms: e.at_ms,
            peak_g,
            duration_ms: e.duration_ms,
            lat: e.lat,
            lon: e.lon,
            source: e.source,
        }
    }
}

/// Why a clip exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ClipReason {
    /// The user asked for it ("clip now", or a range of a drive).
    Manual,
    /// The camera protected the recording: it locked the file (its G-sensor) or filed it as an
    /// event (its event button).
    CameraLocked,
    /// A hard brake was detected.
    HardBrake,
    /// A collision was detected.
    Collision,
}

impl From<core_catalog::ClipReason> for ClipReason {
    fn from(r: core_catalog::ClipReason) -> Self {
        match r {
            core_catalog::ClipReason::Manual => Self::Manual,
            core_catalog::ClipReason::CameraLocked => Self::CameraLocked,
            core_catalog::ClipReason::HardBrake => Self::HardBrake,
            core_catalog::ClipReason::Collision => Self::Collision,
        }
    }
}

/// Where a clip is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ClipState {
    /// Planned: it waits for the segments it needs to reach the phone.
    Pending,
    /// Cut: the file exists on the phone, in the cloud, or both.
    Ready,
    /// Deleted by the user.
    Deleted,
}

impl From<core_catalog::ClipState> for ClipState {
    fn from(s: core_catalog::ClipState) -> Self {
        match s {
            core_catalog::ClipState::Pending => Self::Pending,
            core_catalog::ClipState::Ready => Self::Ready,
            core_catalog::ClipState::Deleted => Self::Deleted,
        }
    }
}

/// A clip, for the Clips tab and the Clip screen.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Clip {
    /// Catalog id.
    pub id: i64,
    /// The drive it was cut from.
    pub drive_id: Option<i64>,
    /// The incident that made it, if any.
    pub incident_id: Option<i64>,
    /// Why it exists.
    pub reason: ClipReason,
    /// Pending, ready or deleted.
    pub state: ClipState,
    /// Start of what it covers, ms since the epoch (camera clock).
    pub start_ms: i64,
    /// End of what it covers.
    pub end_ms: i64,
    /// Its size once cut.
    pub size_bytes: Option<u64>,
    /// Its SHA-256 (hex) once cut.
    pub sha256: Option<String>,
    /// When it was planned, ms since the epoch (phone clock).
    pub created_at_ms: i64,
    /// Where it lives now, in the order camera, phone, cloud.
    pub residencies: Vec<Residency>,
    /// The phone's MP4 file (absolute path, for the player), while the phone has it.
    pub phone_path: Option<String>,
    /// Its upload, when a cloud is configured and it was queued; `null` otherwise.
    pub upload_state: Option<UploadState>,
    /// Bytes of it in the cloud so far.
    pub upload_bytes_done: u64,
    /// The last upload failure, for the UI.
    pub upload_error: Option<String>,
}

impl Clip {
    /// Converts a core clip; its phone file is resolved under `data_dir`, and its upload comes
    /// from the cloud's row for it when there is one.
    pub(crate) fn new(
        c: core_catalog::ClipRecord,
        data_dir: &Path,
        upload: Option<&core_catalog::CloudClipRow>,
    ) -> Self {
        let phone_path = c
            .phone_file
            .as_deref()
            .map(|name| DataLayout::new(data_dir).video_path(name).display().to_string());
        Self {
            id: c.id.0,
            drive_id: c.drive_id.map(|d| d.0),
            incident_id: c.event_id,
            reason: c.reason.into(),
            state: c.state.into(),
            start_ms: c.start_ms,
            end_ms: c.end_ms,
            size_bytes: c.size_bytes,
            sha256: c.sha256,
            created_at_ms: c.created_at_ms,
            residencies: c.residencies.into_iter().map(Residency::from).collect(),
            phone_path,
            upload_state: upload.and_then(|u| u.upload_state).map(UploadState::from),
            upload_bytes_done: upload.map_or(0, |u| u.bytes_done),
            upload_error: upload.and_then(|u| u.last_error.clone()),
        }
    }
}

/// The cloud's rows for clips, when a cloud is configured (for [`Clip::new`]).
pub(crate) async fn cloud_rows(
    cloud: Option<&core_cloud::CloudService>,
) -> Result<Vec<core_catalog::CloudClipRow>, core_cloud::CloudError> {
    match cloud {
        Some(cloud) => cloud.clips().await,
        None => Ok(vec![]),
    }
}

/// One page of clips.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ClipPage {
    /// The clips of this page, newest first.
    pub clips: Vec<Clip>,
    /// The offset this page starts at.
    pub offset: u32,
    /// How many clips there are in all.
    pub total: u32,
}
