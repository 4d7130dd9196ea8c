//! The catalog's side of events and clips: detected incidents, clip windows waiting for their
//! segments, and cut clips with their residencies.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::{Catalog, CatalogError, model, now_ms};
use crate::catalog::{CameraId, DriveId, Residency, SegmentId, SegmentRecord};

/// The catalog's id of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ClipId(pub i64);

/// Why a clip exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClipReason {
    /// The user asked for it.
    Manual,
    /// The app detected a hard brake.
    HardBrake,
    /// The app detected a collision.
    Collision,
}

impl ClipReason {
    /// The name used in the catalog and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::HardBrake => "hard_brake",
            Self::Collision => "collision",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "hard_brake" => Self::HardBrake,
            "collision" => Self::Collision,
            _ => Self::Manual,
        }
    }
}

/// Where a clip is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClipState {
    /// Its window is known; it waits for the segments it needs to be on the phone.
    Pending,
    /// Cut: the file exists (on the phone, the cloud, or both).
    Ready,
    /// Deleted by the user.
    Deleted,
}

/// A clip as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClipRecord {
    /// Catalog id.
    pub id: ClipId,
    /// The drive it was cut from.
    pub drive_id: Option<DriveId>,
    /// The incident that made it, if any.
    pub event_id: Option<i64>,
    /// Why it exists.
    pub reason: ClipReason,
    /// Start of its window (ms since the epoch, camera clock).
    pub start_ms: i64,
    /// End of its window.
    pub end_ms: i64,
    /// Pending, ready or deleted.
    pub state: ClipState,
    /// The phone's file, under the videos directory.
    pub phone_file: Option<String>,
    /// Its size once cut.
    pub size_bytes: Option<u64>,
    /// Its SHA-256 once cut.
    pub sha256: Option<String>,
    /// When it was planned (phone clock).
    pub created_at_ms: i64,
    /// Where it lives now.
    pub residencies: Vec<Residency>,
    /// Its GPS and G-sensor data (clip-relative), under the videos directory.
    pub telemetry_file: Option<String>,
}

/// An incident to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The drive it happened in, when known.
    pub drive: Option<DriveId>,
    /// `hard_brake` or `collision`.
    pub kind: &'static str,
    /// Its onset (ms since the epoch).
    pub at_ms: i64,
    /// Its peak acceleration in g.
    pub peak_g: f64,
    /// How long it lasted.
    pub duration_ms: i64,
    /// Where, when known.
    pub location: Option<(f64, f64)>,
    /// `camera`, `phone` or `both`.
    pub source: &'static str,
}

/// A recorded incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    /// Catalog id.
    pub id: i64,
    /// The drive it happened in.
    pub drive_id: Option<DriveId>,
    /// `hard_brake` or `collision`.
    pub kind: String,
    /// Its onset (ms since the epoch).
    pub at_ms: i64,
    /// Its peak acceleration in g.
    pub peak_g: f64,
    /// How long it lasted, in ms.
    pub duration_ms: i64,
    /// Latitude, when known.
    pub lat: Option<f64>,
    /// Longitude, when known.
    pub lon: Option<f64>,
    /// Which sensors saw it: `camera`, `phone` or `both`.
    pub source: String,
}

/// The columns `event_from_row` reads.
pub(super) const EVENT_SELECT: &str =
    "SELECT id, drive_id, kind, at_ms, peak_g, duration_ms, lat, lon, source FROM events";

/// An incident from a row of `EVENT_SELECT`.
pub(super) fn event_from_row(r: &Row<'_>) -> rusqlite::Result<EventRecord> {
    Ok(EventRecord {
        id: r.get(0)?,
        drive_id: r.get::<_, Option<i64>>(1)?.map(DriveId),
        kind: r.get(2)?,
        at_ms: r.get(3)?,
        peak_g: r.get(4)?,
        duration_ms: r.get(5)?,
        lat: r.get(6)?,
        lon: r.get(7)?,
        source: r.get(8)?,
    })
}

pub(super) const CLIP_SELECT: &str =
    "SELECT c.id, c.drive_id, c.event_id, c.reason, c.start_ms, c.end_ms,
        c.state, c.phone_file, c.size_bytes, c.sha256, c.created_at_ms,
        (SELECT GROUP_CONCAT(r.place) FROM residencies r
          WHERE r.clip_id = c.id AND r.left_at_ms IS NULL),
        c.telemetry_file
    FROM clips c";

pub(super) fn clip_from_row(r: &Row<'_>) -> rusqlite::Result<ClipRecord> {
    let state: String = r.get(6)?;
    let residencies = super::model::residencies_from_places(r.get(11)?);
    Ok(ClipRecord {
        id: ClipId(r.get(0)?),
        drive_id: r.get::<_, Option<i64>>(1)?.map(DriveId),
        event_id: r.get(2)?,
        reason: ClipReason::parse(&r.get::<_, String>(3)?),
        start_ms: r.get(4)?,
        end_ms: r.get(5)?,
        state: match state.as_str() {
            "pending" => ClipState::Pending,
            "deleted" => ClipState::Deleted,
            _ => ClipState::Ready,
        },
        phone_file: r.get(7)?,
        size_bytes: r.get::<_, Option<i64>>(8)?.map(|v| u64::try_from(v).unwrap_or(0)),
        sha256: r.get(9)?,
        created_at_ms: r.get(10)?,
        residencies,
        telemetry_file: r.get(12)?,
    })
}

impl Catalog {
    /// Records an incident; returns its id.
    pub async fn insert_event(&self, event: NewEvent) -> Result<i64, CatalogError> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO events (drive_id, kind, at_ms, peak_g, duration_ms, lat, lon, source,
                                     created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    event.drive.map(|d| d.0),
                    event.kind,
                    event.at_ms,
                    event.peak_g,
                    event.duration_ms,
                    event.location.map(|l| l.0),
                    event.location.map(|l| l.1),
                    event.source,
                    now_ms()
                ],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    /// Records an incident unless the same kind was recorded within `window_ms` of it (the
    /// camera's and the phone's sensors, or a re-run over the same segment, saw one incident): then
    /// the existing one keeps the higher peak and, if the other device saw it, source `both`.
    /// Returns the event's id and whether it is new.
    pub async fn record_event(
        &self,
        event: NewEvent,
        window_ms: i64,
    ) -> Result<(i64, bool), CatalogError> {
        let found = self
            .call(move |c| {
                Ok(c.query_row(
                    "SELECT id, source FROM events WHERE kind = ?1 AND ABS(at_ms - ?2) <= ?3
                     ORDER BY ABS(at_ms - ?2) LIMIT 1",
                    params![event.kind, event.at_ms, window_ms],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
                )
                .optional()?)
            })
            .await?;
        let Some((id, source)) = found else {
            return Ok((self.insert_event(event).await?, true));
        };
        let both = if source == event.source { source } else { "both".to_string() };
        self.call(move |c| {
            c.execute(
                "UPDATE events SET peak_g = MAX(peak_g, ?2), source = ?3,
                     lat = COALESCE(lat, ?4), lon = COALESCE(lon, ?5),
                     drive_id = COALESCE(drive_id, ?6) WHERE id = ?1",
                params![
                    id,
                    event.peak_g,
                    both,
                    event.location.map(|l| l.0),
                    event.location.map(|l| l.1),
                    event.drive.map(|d| d.0)
                ],
            )?;
            Ok((id, false))
        })
        .await
    }

    /// Whether a clip (of any state) was made for the incident.
    pub async fn event_has_clip(&self, event_id: i64) -> Result<bool, CatalogError> {
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM clips WHERE event_id = ?1)",
                [event_id],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Incidents, newest first.
    pub async fn events(&self, limit: usize) -> Result<Vec<EventRecord>, CatalogError> {
        self.call(move |c| {
            let mut st =
                c.prepare_cached(&format!("{EVENT_SELECT} ORDER BY at_ms DESC LIMIT ?1"))?;
            let rows = st.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], event_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Plans a clip of `drive` over `[start_ms, end_ms)`. A window overlapping a clip of the same
    /// drive that is still pending merges into it (one clip, the union of both windows, the
    /// weightier reason); otherwise a new pending clip is made. Returns the clip's id.
    pub async fn plan_clip(
        &self,
        drive: DriveId,
        event_id: Option<i64>,
        reason: ClipReason,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<ClipId, CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let id = match overlapping_pending(&tx, drive, start_ms, end_ms)? {
                Some(existing) => {
                    merge_into(&tx, &existing, event_id, reason, start_ms, end_ms)?;
                    existing.id
                }
                None => {
                    tx.execute(
                        "INSERT INTO clips (drive_id, event_id, reason, start_ms, end_ms, state,
                                            created_at_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
                        params![drive.0, event_id, reason.as_str(), start_ms, end_ms, now_ms()],
                    )?;
                    ClipId(tx.last_insert_rowid())
                }
            };
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    /// Clips waiting for their segments, oldest first.
    pub async fn pending_clips(&self) -> Result<Vec<ClipRecord>, CatalogError> {
        self.call(|c| {
            let sql = format!("{CLIP_SELECT} WHERE c.state = 'pending' ORDER BY c.start_ms");
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map([], clip_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Clips that are not deleted, newest first.
    pub async fn clips(&self) -> Result<Vec<ClipRecord>, CatalogError> {
        self.call(|c| {
            let sql = format!("{CLIP_SELECT} WHERE c.state <> 'deleted' ORDER BY c.start_ms DESC");
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map([], clip_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// One clip.
    pub async fn clip(&self, id: ClipId) -> Result<ClipRecord, CatalogError> {
        self.call(move |c| {
            let sql = format!("{CLIP_SELECT} WHERE c.id = ?1");
            c.query_row(&sql, [id.0], clip_from_row)
                .optional()?
                .ok_or(CatalogError::NotFound { what: "clip", id: id.0 })
        })
        .await
    }

    /// Names a clip's complete, fsynced file and opens its `phone` residency, in one transaction.
    /// `start_ms`/`end_ms` are what the cut really covers (keyframe-aligned).
    pub async fn finish_clip(
        &self,
        id: ClipId,
        file: String,
        size_bytes: u64,
        sha256: String,
        covered: (i64, i64),
    ) -> Result<(), CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE clips SET state = 'ready', phone_file = ?2, size_bytes = ?3, sha256 = ?4,
                     start_ms = ?5, end_ms = ?6
                 WHERE id = ?1 AND state = 'pending'",
                params![
                    id.0,
                    file,
                    i64::try_from(size_bytes).unwrap_or(i64::MAX),
                    sha256,
                    covered.0,
                    covered.1
                ],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO residencies (clip_id, place, arrived_at_ms)
                 VALUES (?1, 'phone', ?2)",
                params![id.0, now_ms()],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Names a clip's telemetry sidecar (complete and fsynced).
    pub async fn set_clip_telemetry(
        &self,
        id: ClipId,
        file: String,
        bytes: u64,
    ) -> Result<(), CatalogError> {
        self.call(move |c| {
            c.execute(
                "UPDATE clips SET telemetry_file = ?2, telemetry_bytes = ?3
                 WHERE id = ?1 AND phone_file IS NOT NULL",
                params![id.0, file, i64::try_from(bytes).unwrap_or(i64::MAX)],
            )?;
            Ok(())
        })
        .await
    }

    /// Segments of `drive` whose time overlaps `[start_ms, end_ms)`, in recording order.
    pub async fn segments_overlapping(
        &self,
        drive: DriveId,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<SegmentRecord>, CatalogError> {
        self.call(move |c| {
            let sql = format!(
                "{} WHERE s.drive_id = ?1 AND s.started_at_ms < ?3
                   AND s.started_at_ms + s.duration_ms > ?2
                 ORDER BY s.index_in_drive",
                model::SEGMENT_SELECT
            );
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(params![drive.0, start_ms, end_ms], model::segment_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// The drive `camera_drive_id` of `camera`, made if the phone has not seen a segment of it yet
    /// (a clip asked for during a drive's first minute).
    pub async fn ensure_drive(
        &self,
        camera: CameraId,
        camera_drive_id: String,
        started_at_ms: i64,
    ) -> Result<DriveId, CatalogError> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO drives (camera_id, camera_drive_id, started_at_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (camera_id, camera_drive_id) DO NOTHING",
                params![camera.0, camera_drive_id, started_at_ms],
            )?;
            Ok(DriveId(c.query_row(
                "SELECT id FROM drives WHERE camera_id = ?1 AND camera_drive_id = ?2",
                params![camera.0, camera_drive_id],
                |r| r.get(0),
            )?))
        })
        .await
    }

    /// Whether the camera that recorded `drive` has recorded a later drive since: no more
    /// segments of `drive` will come.
    pub async fn camera_moved_on(&self, drive: DriveId) -> Result<bool, CatalogError> {
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM drives later JOIN drives d ON d.id = ?1
                   WHERE later.camera_id = d.camera_id AND later.started_at_ms > d.started_at_ms)",
                [drive.0],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Whether the camera still holds a segment (its `camera` residency is open).
    pub async fn is_on_camera(&self, segment: SegmentId) -> Result<bool, CatalogError> {
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM residencies WHERE segment_id = ?1
                   AND place = 'camera' AND left_at_ms IS NULL)",
                [segment.0],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// The drive being recorded at `at_ms` (or that ended less than a minute before).
    pub async fn drive_at(&self, at_ms: i64) -> Result<Option<DriveId>, CatalogError> {
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT id FROM drives WHERE started_at_ms <= ?1
                   AND COALESCE(ended_at_ms, started_at_ms) + 60000 >= ?1
                 ORDER BY started_at_ms DESC LIMIT 1",
                [at_ms],
                |r| r.get(0),
            )
            .optional()?
            .map(DriveId))
        })
        .await
    }
}

fn overlapping_pending(
    c: &Connection,
    drive: DriveId,
    start_ms: i64,
    end_ms: i64,
) -> rusqlite::Result<Option<ClipRecord>> {
    let sql = format!(
        "{CLIP_SELECT} WHERE c.drive_id = ?1 AND c.state = 'pending'
           AND c.start_ms <= ?3 AND c.end_ms >= ?2 ORDER BY c.start_ms LIMIT 1"
    );
    c.query_row(&sql, params![drive.0, start_ms, end_ms], clip_from_row).optional()
}

fn merge_into(
    c: &Connection,
    existing: &ClipRecord,
    event_id: Option<i64>,
    reason: ClipReason,
    start_ms: i64,
    end_ms: i64,
) -> rusqlite::Result<()> {
    let reason = existing.reason.max(reason);
    c.execute(
        "UPDATE clips SET start_ms = MIN(start_ms, ?2), end_ms = MAX(end_ms, ?3), reason = ?4,
             event_id = COALESCE(event_id, ?5)
         WHERE id = ?1",
        params![existing.id.0, start_ms, end_ms, reason.as_str(), event_id],
    )?;
    Ok(())
}
