//! The catalog's records, in the product's words, and the row mapping behind them.

use rusqlite::{Connection, Row, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{CatalogError, now_ms, to_i64};
use crate::protocol::{Channel, SegmentInfo};
use crate::storage::{ContentHash, HashAlgorithm};

/// The catalog's id of a camera the phone has talked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CameraId(pub i64);

/// The catalog's id of a drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DriveId(pub i64);

/// The catalog's id of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SegmentId(pub i64);

/// A place a video can live. More residencies mean better odds of recovering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Residency {
    /// The camera's SD card, loop-recorded.
    Camera,
    /// The phone, within the user's storage quota, loop-recorded.
    Phone,
    /// The cloud: clips only, kept until the user deletes them.
    Cloud,
}

impl Residency {
    /// The name used in the catalog and in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Camera => "camera",
            Self::Phone => "phone",
            Self::Cloud => "cloud",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "camera" => Some(Self::Camera),
            "phone" => Some(Self::Phone),
            "cloud" => Some(Self::Cloud),
            _ => None,
        }
    }
}

/// A camera the phone has talked to, as last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CameraRecord {
    /// Catalog id.
    pub id: CameraId,
    /// The camera's serial number.
    pub serial: String,
    /// Model name.
    pub model: String,
    /// Firmware version.
    pub firmware: String,
    /// Where the phone reached its HTTP API.
    pub base_url: String,
    /// How far the phone has read the camera's live feed.
    pub feed_cursor: u64,
    /// SD card capacity, as the camera last reported it.
    pub sd_capacity_bytes: u64,
    /// SD card usage, as the camera last reported it.
    pub sd_used_bytes: u64,
    /// When the phone last talked to the camera (ms since the epoch).
    pub last_seen_ms: i64,
}

/// One segment as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentRecord {
    /// Catalog id.
    pub id: SegmentId,
    /// The camera it was recorded by.
    pub camera_id: CameraId,
    /// The drive it belongs to.
    pub drive_id: DriveId,
    /// The camera's id for it (validated safe as a file name).
    pub camera_segment_id: String,
    /// The camera's sequence number for it.
    pub camera_seq: u64,
    /// Position in its drive.
    pub index_in_drive: u32,
    /// When its first frame was recorded (ms since the epoch, camera clock).
    pub started_at_ms: i64,
    /// Duration in ms.
    pub duration_ms: i64,
    /// Size of the MP4 file.
    pub size_bytes: u64,
    /// The digest that vouches for the MP4 file: the SHA-256 a Dashkeep camera listed, or the
    /// phone's own digest (CRC-64, BLAKE3 before it) of a vendor camera's file, computed
    /// while downloading it.
    pub content_hash: ContentHash,
    /// Size of the telemetry sidecar.
    pub telemetry_size: u64,
    /// SHA-256 of the telemetry sidecar, lowercase hex.
    pub telemetry_sha256: String,
    /// The phone's file for it, once complete.
    pub phone_file: Option<String>,
    /// Whether the phone's copy is being deleted.
    pub phone_deleting: bool,
    /// The lens that recorded it.
    pub channel: Channel,
}

/// A complete video file on the phone, named relative to the videos directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneFile {
    /// File name relative to the videos directory.
    pub name: String,
}

/// A complete telemetry file on the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryFile {
    /// File name relative to the videos directory.
    pub name: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// G-sensor samples it holds.
    pub accel_samples: u32,
    /// GPS fixes it holds.
    pub gps_fixes: u32,
}

/// A drive, with what the phone holds of it and where its videos live now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriveSummary {
    /// Catalog id.
    pub id: DriveId,
    /// The camera's id for it.
    pub camera_drive_id: String,
    /// When it started (ms since the epoch, camera clock).
    pub started_at_ms: i64,
    /// When its last known segment ends.
    pub ended_at_ms: i64,
    /// Segments known (on any residency, or gone).
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
    /// Where at least one of its segments lives now, in the order camera, phone, cloud.
    pub residencies: Vec<Residency>,
    /// The lenses that recorded it, front first (the first is its timeline).
    pub channels: Vec<Channel>,
}

/// The lenses named by a `GROUP_CONCAT` of channels, front first.
fn channels_from_names(names: Option<String>) -> Vec<Channel> {
    let mut channels: Vec<Channel> =
        names.unwrap_or_default().split(',').filter_map(Channel::parse).collect();
    channels.sort();
    channels.dedup();
    channels
}

/// The residencies named by a `GROUP_CONCAT` of places, in the order camera, phone, cloud.
pub(super) fn residencies_from_places(places: Option<String>) -> Vec<Residency> {
    let mut residencies: Vec<Residency> =
        places.unwrap_or_default().split(',').filter_map(Residency::parse).collect();
    residencies.sort();
    residencies.dedup();
    residencies
}

/// The columns [`segment_from_row`] reads, from `segments` or one of its views, as `s`.
macro_rules! segment_select {
    ($table:literal) => {
        concat!(
            "SELECT s.id, s.camera_id, s.drive_id, s.camera_segment_id, s.camera_seq,
                s.index_in_drive, s.started_at_ms, s.duration_ms, s.size_bytes, s.content_hash,
                s.telemetry_size, s.telemetry_sha256, s.phone_file, s.phone_state, s.channel,
                s.hash_algorithm
             FROM ",
            $table,
            " s JOIN drives d ON d.id = s.drive_id"
        )
    };
}

/// Every segment, every lens.
pub(super) const SEGMENT_SELECT: &str = segment_select!("segments");

/// The segments of each drive's timeline (its first lens): the view of migration 0007.
pub(super) const TIMELINE_SELECT: &str = segment_select!("timeline_segments");

/// Orders the lenses of one moment as [`Channel`] does (front first).
pub(super) const CHANNEL_ORDER: &str = "CASE s.channel WHEN 'front' THEN 0 WHEN 'rear' THEN 1
    WHEN 'interior' THEN 2 WHEN 'option' THEN 3 ELSE 4 END";

fn u64_col(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
}

pub(super) fn segment_from_row(r: &Row<'_>) -> rusqlite::Result<SegmentRecord> {
    let state: Option<String> = r.get(13)?;
    Ok(SegmentRecord {
        id: SegmentId(r.get(0)?),
        camera_id: CameraId(r.get(1)?),
        drive_id: DriveId(r.get(2)?),
        camera_segment_id: r.get(3)?,
        camera_seq: u64_col(r, 4)?,
        index_in_drive: r.get(5)?,
        started_at_ms: r.get(6)?,
        duration_ms: r.get(7)?,
        size_bytes: u64_col(r, 8)?,
        content_hash: ContentHash { algorithm: algorithm_col(r, 15)?, hex: r.get(9)? },
        telemetry_size: u64_col(r, 10)?,
        telemetry_sha256: r.get(11)?,
        phone_file: r.get(12)?,
        phone_deleting: state.as_deref() == Some("deleting"),
        channel: Channel::parse(&r.get::<_, String>(14)?).unwrap_or_default(),
    })
}

/// A digest's algorithm as the catalog names it (the schema's CHECK allows no other name).
fn algorithm_col(r: &Row<'_>, i: usize) -> rusqlite::Result<HashAlgorithm> {
    let name: String = r.get(i)?;
    HashAlgorithm::parse(&name).ok_or_else(|| {
        let unknown = format!("unknown hash algorithm {name:?}");
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, unknown.into())
    })
}

pub(super) fn camera_from_row(r: &Row<'_>) -> rusqlite::Result<CameraRecord> {
    Ok(CameraRecord {
        id: CameraId(r.get(0)?),
        serial: r.get(1)?,
        model: r.get(2)?,
        firmware: r.get(3)?,
        base_url: r.get(4)?,
        feed_cursor: u64_col(r, 5)?,
        sd_capacity_bytes: u64_col(r, 6)?,
        sd_used_bytes: u64_col(r, 7)?,
        last_seen_ms: r.get(8)?,
    })
}

/// Inserts one listed segment (and its drive) unless known, vouched for by `hash`. Returns
/// whether it was new.
pub(super) fn insert_camera_segment(
    tx: &Transaction<'_>,
    camera: CameraId,
    s: &SegmentInfo,
    hash: &ContentHash,
) -> Result<bool, CatalogError> {
    tx.prepare_cached(
        "INSERT INTO drives (camera_id, camera_drive_id, started_at_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (camera_id, camera_drive_id)
         DO UPDATE SET started_at_ms = MIN(started_at_ms, ?3)",
    )?
    .execute(params![camera.0, s.drive_id, s.start_ms])?;
    let drive: i64 = tx
        .prepare_cached("SELECT id FROM drives WHERE camera_id = ?1 AND camera_drive_id = ?2")?
        .query_row(params![camera.0, s.drive_id], |r| r.get(0))?;
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO segments (camera_id, drive_id, camera_segment_id, camera_seq,
                 index_in_drive, started_at_ms, duration_ms, size_bytes, content_hash,
                 camera_locked, telemetry_size, telemetry_sha256, channel, hash_algorithm)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(params![
            camera.0,
            drive,
            s.id,
            to_i64(s.seq),
            s.index_in_drive,
            s.start_ms,
            s.duration_ms,
            to_i64(s.size),
            hash.hex,
            s.locked,
            to_i64(s.telemetry_size),
            s.telemetry_sha256,
            s.channel.as_str(),
            hash.algorithm.as_str()
        ])?;
    if inserted == 0 {
        return Ok(false);
    }
    let segment = tx.last_insert_rowid();
    let end = s.start_ms.saturating_add(s.duration_ms);
    tx.prepare_cached(
        "UPDATE drives SET ended_at_ms = MAX(COALESCE(ended_at_ms, 0), ?2) WHERE id = ?1",
    )?
    .execute(params![drive, end])?;
    tx.prepare_cached(
        "INSERT INTO residencies (segment_id, place, arrived_at_ms) VALUES (?1, 'camera', ?2)",
    )?
    .execute(params![segment, end.min(now_ms())])?;
    Ok(true)
}

/// Summaries of all drives (or one), newest first.
pub(super) fn drive_summaries(
    c: &Connection,
    only: Option<DriveId>,
) -> Result<Vec<DriveSummary>, CatalogError> {
    // CROSS JOIN fixes SQLite's join order in the per-drive subqueries: the drive's segments
    // first (by index), then their open residencies. Left to itself the planner walked every
    // open `camera` residency for each drive, quadratic in a year of driving (100,000 segments
    // listed in minutes; android/ui BigCatalogTest).
    let mut st = c.prepare(
        "SELECT d.id, d.camera_drive_id, d.started_at_ms, COALESCE(d.ended_at_ms, d.started_at_ms),
                d.locked, COUNT(s.id),
                COUNT(s.phone_state),
                COALESCE(SUM(CASE WHEN s.phone_state IS NOT NULL THEN s.size_bytes END), 0),
                COALESCE(SUM(s.size_bytes), 0),
                (SELECT COUNT(DISTINCT r.segment_id) FROM segments s2 CROSS JOIN residencies r
                   ON r.segment_id = s2.id
                 WHERE s2.drive_id = d.id AND r.place = 'camera' AND r.left_at_ms IS NULL),
                (SELECT GROUP_CONCAT(DISTINCT r.place) FROM segments s3 CROSS JOIN residencies r
                   ON r.segment_id = s3.id
                 WHERE s3.drive_id = d.id AND r.left_at_ms IS NULL),
                GROUP_CONCAT(DISTINCT s.channel)
         FROM drives d LEFT JOIN segments s ON s.drive_id = d.id
         WHERE ?1 IS NULL OR d.id = ?1
         GROUP BY d.id ORDER BY d.started_at_ms DESC",
    )?;
    let rows = st.query_map([only.map(|d| d.0)], |r| {
        let residencies = residencies_from_places(r.get(10)?);
        Ok(DriveSummary {
            id: DriveId(r.get(0)?),
            camera_drive_id: r.get(1)?,
            started_at_ms: r.get(2)?,
            ended_at_ms: r.get(3)?,
            locked: r.get(4)?,
            segments: r.get(5)?,
            segments_on_phone: r.get(6)?,
            bytes_on_phone: u64_col(r, 7)?,
            bytes_total: u64_col(r, 8)?,
            segments_on_camera: r.get(9)?,
            residencies,
            channels: channels_from_names(r.get(11)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
