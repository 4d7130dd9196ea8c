//! Records and enums shaped for a UI, converted from the core's types. Timestamps are `i64` ms
//! since the Unix epoch, ids are the catalog's `i64`s, sizes are bytes.

use dashkeep_core::catalog as core_catalog;
use dashkeep_core::companion as core_companion;
use dashkeep_core::ingest as core_ingest;
use dashkeep_core::storage as core_storage;

/// A place a video can live: more places, better odds of recovering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Residency {
    /// The camera's SD card, loop-recorded.
    Camera,
    /// The phone, within the user's quota, loop-recorded.
    Phone,
    /// The cloud: clips only, kept until the user deletes them.
    Cloud,
}

impl From<core_catalog::Residency> for Residency {
    fn from(r: core_catalog::Residency) -> Self {
        match r {
            core_catalog::Residency::Camera => Self::Camera,
            core_catalog::Residency::Phone => Self::Phone,
            core_catalog::Residency::Cloud => Self::Cloud,
        }
    }
}

/// A lens of the camera: a two-channel dash cam records the front and the rear of each moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Channel {
    /// The forward camera: a drive's timeline when it has one.
    Front,
    /// The rear camera.
    Rear,
    /// The cabin camera.
    Interior,
    /// BlackVue's optional extra camera.
    Option,
    /// Viofo's telephoto lens.
    Tele,
}

impl From<dashkeep_core::protocol::Channel> for Channel {
    fn from(c: dashkeep_core::protocol::Channel) -> Self {
        use dashkeep_core::protocol::Channel as Core;
        match c {
            Core::Front => Self::Front,
            Core::Rear => Self::Rear,
            Core::Interior => Self::Interior,
            Core::Option => Self::Option,
            Core::Tele => Self::Tele,
        }
    }
}

/// A drive, for the Videos screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Drive {
    /// Catalog id.
    pub id: i64,
    /// The camera's id for it.
    pub camera_drive_id: String,
    /// When it started (ms since the epoch, camera clock).
    pub started_at_ms: i64,
    /// When its last known segment ends (ms since the epoch).
    pub ended_at_ms: i64,
    /// Segments known.
    pub segments: u32,
    /// Segments with a copy on the phone.
    pub segments_on_phone: u32,
    /// Segments still on the camera.
    pub segments_on_camera: u32,
    /// Bytes the phone holds for it.
    pub bytes_on_phone: u64,
    /// Bytes of all its known segments.
    pub bytes_total: u64,
    /// Whether the user protects it from the phone's loop recorder.
    pub locked: bool,
    /// Where its videos live now, in the order camera, phone, cloud (the residency badges).
    pub residencies: Vec<Residency>,
    /// The lenses that recorded it, front first; the first is the timeline the player plays.
    pub channels: Vec<Channel>,
}

impl From<core_catalog::DriveSummary> for Drive {
    fn from(d: core_catalog::DriveSummary) -> Self {
        Self {
            id: d.id.0,
            camera_drive_id: d.camera_drive_id,
            started_at_ms: d.started_at_ms,
            ended_at_ms: d.ended_at_ms,
            segments: d.segments,
            segments_on_phone: d.segments_on_phone,
            segments_on_camera: d.segments_on_camera,
            bytes_on_phone: d.bytes_on_phone,
            bytes_total: d.bytes_total,
            locked: d.locked,
            residencies: d.residencies.into_iter().map(Residency::from).collect(),
            channels: d.channels.into_iter().map(Channel::from).collect(),
        }
    }
}

/// One page of drives, newest first.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DrivePage {
    /// The drives of this page.
    pub drives: Vec<Drive>,
    /// The offset this page starts at.
    pub offset: u32,
    /// How many drives there are in all.
    pub total: u32,
}

/// One segment of a drive.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Segment {
    /// Catalog id.
    pub id: i64,
    /// Its drive.
    pub drive_id: i64,
    /// The camera that recorded it.
    pub camera_id: i64,
    /// The camera's id for it.
    pub camera_segment_id: String,
    /// Position in its drive.
    pub index_in_drive: u32,
    /// When its first frame was recorded (ms since the epoch, camera clock).
    pub started_at_ms: i64,
    /// Duration in ms.
    pub duration_ms: i64,
    /// Size of its MP4 file.
    pub size_bytes: u64,
    /// The phone's MP4 file (absolute path, for the player), once complete.
    pub phone_path: Option<String>,
    /// Whether the phone's copy is being deleted.
    pub phone_deleting: bool,
}

impl Segment {
    /// Converts a core segment, with the path of its phone copy from the companion.
    pub(crate) fn new(s: core_catalog::SegmentRecord, phone_path: Option<String>) -> Self {
        Self {
            id: s.id.0,
            drive_id: s.drive_id.0,
            camera_id: s.camera_id.0,
            camera_segment_id: s.camera_segment_id,
            index_in_drive: s.index_in_drive,
            started_at_ms: s.started_at_ms,
            duration_ms: s.duration_ms,
            size_bytes: s.size_bytes,
            phone_path,
            phone_deleting: s.phone_deleting,
        }
    }
}

/// A camera the phone has talked to, as last seen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CameraInfo {
    /// Catalog id.
    pub id: i64,
    /// Serial number.
    pub serial: String,
    /// Model name.
    pub model: String,
    /// Firmware version.
    pub firmware: String,
    /// Where the phone reached its API.
    pub base_url: String,
    /// SD card capacity, as last reported.
    pub sd_capacity_bytes: u64,
    /// SD card usage, as last reported.
    pub sd_used_bytes: u64,
    /// When the phone last talked to it (ms since the epoch).
    pub last_seen_ms: i64,
}

impl From<core_catalog::CameraRecord> for CameraInfo {
    fn from(c: core_catalog::CameraRecord) -> Self {
        Self {
            id: c.id.0,
            serial: c.serial,
            model: c.model,
            firmware: c.firmware,
            base_url: c.base_url,
            sd_capacity_bytes: c.sd_capacity_bytes,
            sd_used_bytes: c.sd_used_bytes,
            last_seen_ms: c.last_seen_ms,
        }
    }
}

fn cameras(c: Vec<core_catalog::CameraRecord>) -> Vec<CameraInfo> {
    c.into_iter().map(CameraInfo::from).collect()
}

/// What one "stream now" pass did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StreamReport {
    /// Segments the camera listed.
    pub listed: u64,
    /// Listed segments the phone did not know yet.
    pub new_on_camera: u64,
    /// Segments stored on the phone.
    pub stored: u64,
    /// Bytes fetched.
    pub bytes_fetched: u64,
    /// Segments the camera no longer has (its loop recorder overwrote them).
    pub overwritten_on_camera: u64,
    /// Entries and segments refused, each with its reason in words.
    pub refused: Vec<String>,
    /// The protocol the camera speaks (`dashkeep`, `novatek`, ...), found by asking it.
    pub camera_protocol: String,
    /// Files deleted from the camera's card after a verified copy (the user's setting).
    pub deleted_from_camera: u64,
}

impl From<dashkeep_core::companion::CameraStream> for StreamReport {
    fn from(s: dashkeep_core::companion::CameraStream) -> Self {
        let r = s.report;
        Self {
            listed: r.listed as u64,
            new_on_camera: r.new_on_camera as u64,
            stored: r.stored as u64,
            bytes_fetched: r.bytes_fetched,
            overwritten_on_camera: r.overwritten_on_camera as u64,
            refused: r.refused.iter().map(ToString::to_string).collect(),
            camera_protocol: s.dialect.as_str().to_string(),
            deleted_from_camera: r.deleted_from_camera as u64,
        }
    }
}

/// What the phone holds now (the Home screen).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PhoneStatus {
    /// The data directory.
    pub data_dir: String,
    /// Bytes of videos and telemetry on the phone.
    pub bytes_on_phone: u64,
    /// Drives known.
    pub drives: u64,
    /// Segments with a copy on the phone.
    pub segments_on_phone: u64,
    /// Whether automatic streaming runs now.
    pub streaming: bool,
    /// Cameras the phone has talked to.
    pub cameras: Vec<CameraInfo>,
}

impl From<core_companion::PhoneStatus> for PhoneStatus {
    fn from(s: core_companion::PhoneStatus) -> Self {
        Self {
            data_dir: s.data_dir.display().to_string(),
            bytes_on_phone: s.bytes_on_phone,
            drives: s.drives as u64,
            segments_on_phone: s.segments_on_phone,
            streaming: s.streaming,
            cameras: cameras(s.cameras),
        }
    }
}

/// The quota and what it allows now.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Budget {
    /// The user's share of the phone's storage (0.1 to 0.9).
    pub fraction: f64,
    /// The share in bytes.
    pub quota_bytes: u64,
    /// Free space the phone keeps for itself.
    pub floor_bytes: u64,
    /// What Dashkeep may hold now.
    pub limit_bytes: u64,
    /// What Dashkeep holds.
    pub owned_bytes: u64,
    /// The volume's capacity.
    pub volume_total_bytes: u64,
    /// The volume's free bytes.
    pub volume_available_bytes: u64,
}

impl From<core_storage::Budget> for Budget {
    fn from(b: core_storage::Budget) -> Self {
        Self {
            fraction: b.fraction,
            quota_bytes: b.quota_bytes,
            floor_bytes: b.floor_bytes,
            limit_bytes: b.limit_bytes,
            owned_bytes: b.owned_bytes,
            volume_total_bytes: b.volume.total_bytes,
            volume_available_bytes: b.volume.available_bytes,
        }
    }
}

/// What Dashkeep's files take, by kind.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PhoneUsage {
    /// Drive segments' videos.
    pub segment_bytes: u64,
    /// Telemetry sidecars.
    pub telemetry_bytes: u64,
    /// Clips.
    pub clip_bytes: u64,
}

impl From<core_catalog::PhoneUsage> for PhoneUsage {
    fn from(u: core_catalog::PhoneUsage) -> Self {
        Self {
            segment_bytes: u.segment_bytes,
            telemetry_bytes: u.telemetry_bytes,
            clip_bytes: u.clip_bytes,
        }
    }
}

/// Phone storage for the storage bar.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StorageStatus {
    /// The quota and what it allows now.
    pub budget: Budget,
    /// What Dashkeep's files take.
    pub usage: PhoneUsage,
    /// Bytes that may still be written before the loop recorder evicts.
    pub free_quota_bytes: u64,
    /// Whether streaming is paused because nothing more can be evicted.
    pub full: bool,
    /// Whether that pause is the phone's own free space, not the quota (say "free space on the
    /// phone", not "raise the quota").
    pub phone_full: bool,
    /// Each camera's SD card, as last reported.
    pub cameras: Vec<CameraInfo>,
}

impl From<core_companion::StorageStatus> for StorageStatus {
    fn from(s: core_companion::StorageStatus) -> Self {
        Self {
            budget: s.budget.into(),
            usage: s.usage.into(),
            free_quota_bytes: s.free_quota_bytes,
            full: s.full,
            phone_full: s.phone_full,
            cameras: cameras(s.cameras),
        }
    }
}

/// A phone copy the loop recorder removed to make room.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Eviction {
    /// A drive segment (video and telemetry).
    Segment {
        /// Its drive.
        drive_id: i64,
        /// The segment.
        segment_id: i64,
        /// Bytes freed.
        bytes: u64,
    },
    /// A clip that stays in the cloud.
    Clip {
        /// The clip.
        clip_id: i64,
        /// Bytes freed.
        bytes: u64,
    },
}

impl From<core_storage::Eviction> for Eviction {
    fn from(e: core_storage::Eviction) -> Self {
        match e {
            core_storage::Eviction::Segment { drive, segment, bytes } => {
                Self::Segment { drive_id: drive.0, segment_id: segment.0, bytes }
            }
            core_storage::Eviction::Clip { clip_id, bytes } => Self::Clip { clip_id, bytes },
        }
    }
}

/// A drive whose videos live in one place only and will be overwritten soon.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AtRiskDrive {
    /// The drive.
    pub drive_id: i64,
    /// The one place its at-risk videos live.
    pub residency: Residency,
    /// How many of its segments are at risk.
    pub segments: u32,
    /// Their bytes.
    pub bytes: u64,
    /// Hours of driving until the first of them is overwritten.
    pub hours_until_overwrite: f64,
}

/// Hours of driving until a camera overwrites its oldest unlocked segment.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CameraHoursLeft {
    /// The camera's serial number.
    pub serial: String,
    /// Hours of driving.
    pub hours: f64,
}

/// How long each loop recorder's oldest video has, and what is at risk (the at-risk warning).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AtRiskForecast {
    /// Bytes recorded per hour of driving; `null` before any drive.
    pub bytes_per_hour: Option<f64>,
    /// Hours of driving until the phone overwrites its oldest evictable video.
    pub phone_hours_left: Option<f64>,
    /// Each camera's hours left.
    pub camera_hours_left: Vec<CameraHoursLeft>,
    /// The horizon asked for, in hours of driving.
    pub horizon_hours: f64,
    /// Drives at risk within the horizon, soonest first.
    pub at_risk: Vec<AtRiskDrive>,
}

impl From<core_storage::Forecast> for AtRiskForecast {
    fn from(f: core_storage::Forecast) -> Self {
        Self {
            bytes_per_hour: f.bytes_per_hour,
            phone_hours_left: f.phone_hours_left,
            camera_hours_left: f
                .camera_hours_left
                .into_iter()
                .map(|(serial, hours)| CameraHoursLeft { serial, hours })
                .collect(),
            horizon_hours: f.horizon_hours,
            at_risk: f.at_risk.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<core_storage::AtRiskDrive> for AtRiskDrive {
    fn from(d: core_storage::AtRiskDrive) -> Self {
        Self {
            drive_id: d.drive.0,
            residency: d.residency.into(),
            segments: d.segments,
            bytes: d.bytes,
            hours_until_overwrite: d.hours_until_overwrite,
        }
    }
}

/// What reconciliation fixed when the companion opened.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReconcileReport {
    /// Interrupted deletions finished.
    pub deletes_finished: u64,
    /// Phone copies whose file was missing or truncated.
    pub missing_files: u64,
    /// Complete files the catalog did not name, kept to resume.
    pub orphans_resumable: u64,
    /// Files nobody needs, removed.
    pub orphans_removed: u64,
    /// Partial downloads kept.
    pub partials_kept: u64,
    /// Partial downloads removed.
    pub partials_removed: u64,
}

impl From<&core_ingest::ReconcileReport> for ReconcileReport {
    fn from(r: &core_ingest::ReconcileReport) -> Self {
        Self {
            deletes_finished: r.deletes_finished as u64,
            missing_files: r.missing_files as u64,
            orphans_resumable: r.orphans_resumable as u64,
            orphans_removed: r.orphans_removed as u64,
            partials_kept: r.partials_kept as u64,
            partials_removed: r.partials_removed as u64,
        }
    }
}
