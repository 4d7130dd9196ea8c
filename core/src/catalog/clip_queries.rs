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
    /// The camera protected the recording: it locked the file (its G-sensor) or filed it as an
    /// event (its event button). Weightier than a manual clip, lighter than what the detector
    /// names, since a hard brake or a collision says more about the same moment.
    CameraLocked,
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
            Self::CameraLocked => "camera_locked",
            Self::HardBrake => "hard_brake",
            Self::Collision => "collision",
        }
    }

    /// The reason named `s` in the catalog or JSON; `None` for a name Dashkeep does not know.
    pub fn from_name(s: &str) -> Option<Self> {
        [Self::Manual, Self::CameraLocked, Self::HardBrake, Self::Collision]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    fn parse(s: &str) -> Self {
        Self::from_name(s).unwrap_or(Self::Manual)
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
    /// `hard_brake`, `collision` (the detector) or `camera_locked` (the camera protected a file).
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
    /// `hard_brake`, `collision` (the detector) or `camera_locked` (the camera protected a file).
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

impl EventRecord {
    /// The peak the G-sensor measured; `None` for an incident the camera reported by locking
    /// its files, which carries no reading.
    pub fn measured_peak_g(&self) -> Option<f64> {
        measured_peak_g(&self.kind, self.peak_g)
    }
}

/// `peak_g` of an incident of `kind`, unless the kind carries no reading (`camera_locked`).
pub fn measured_peak_g(kind: &str, peak_g: f64) -> Option<f64> {
    (kind != ClipReason::CameraLocked.as_str()).then_some(peak_g)
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

    /// Plans a clip of `drive` over `[start_ms, end_ms)`; returns the clip that will hold it.
    ///
    /// One moment of a drive is one clip, whoever asks and however often (the user tapping
    /// twice, "clip now" twice within the window, the detector and the user together):
    /// * a window overlapping a clip of the drive that is still **pending** (not cut yet) extends
    ///   it: one clip, the union of both windows, the weightier reason;
    /// * else a window that starts and ends within [`SAME_MOMENT_MS`] of a clip of the drive that
    ///   is already **cut** (its keyframe-aligned window; the request clamped to the drive's
    ///   recorded extent, as a cut would be) is that clip: it is returned as it is (a cut clip
    ///   never changes: it may be uploaded and shared), and it takes the incident if it had none;
    /// * else an incident the camera protected (`camera_locked`) and an incident the detector
    ///   found are one moment when the detector's lies within the camera's locked span (give or
    ///   take [`SAME_MOMENT_MS`]): the cut clip of either is returned for the other as it is;
    /// * else a new pending clip is made. A request reaching further than [`SAME_MOMENT_MS`]
    ///   past a cut clip is a new moment and gets its own clip (overlapping, never identical).
    ///
    /// A clip the user deleted is never reused: asking again makes a new one.
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
            let id = if let Some(existing) = overlapping_pending(&tx, drive, start_ms, end_ms)? {
                merge_into(&tx, &existing, event_id, reason, start_ms, end_ms)?;
                existing.id
            } else if let Some(cut) = same_moment_cut(&tx, drive, start_ms, end_ms)?
                .or(camera_moment_cut(&tx, drive, event_id)?)
            {
                tx.execute(
                    "UPDATE clips SET event_id = COALESCE(event_id, ?2) WHERE id = ?1",
                    params![cut.0, event_id],
                )?;
                cut
            } else {
                tx.execute(
                    "INSERT INTO clips (drive_id, event_id, reason, start_ms, end_ms, state,
                                        created_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
                    params![drive.0, event_id, reason.as_str(), start_ms, end_ms, now_ms()],
                )?;
                ClipId(tx.last_insert_rowid())
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
    /// `start_ms`/`end_ms` are what the cut really covers (keyframe-aligned). Returns false, and
    /// changes nothing, when the clip is no longer pending (the user deleted it meanwhile): the
    /// caller removes the file.
    pub async fn finish_clip(
        &self,
        id: ClipId,
        file: String,
        size_bytes: u64,
        sha256: String,
        covered: (i64, i64),
    ) -> Result<bool, CatalogError> {
        self.finish(id, None, CutFile { file, size_bytes, sha256, covered }).await
    }

    /// [`Catalog::finish_clip`] for a cut of `planned`: also returns false, changing nothing,
    /// when its window was extended while it was cut (the clip stays pending, to be cut again
    /// with the whole window) or it was deleted.
    pub async fn finish_planned_clip(
        &self,
        planned: &ClipRecord,
        file: String,
        size_bytes: u64,
        sha256: String,
        covered: (i64, i64),
    ) -> Result<bool, CatalogError> {
        let window = Some((planned.start_ms, planned.end_ms));
        self.finish(planned.id, window, CutFile { file, size_bytes, sha256, covered }).await
    }

    async fn finish(
        &self,
        id: ClipId,
        planned: Option<(i64, i64)>,
        cut: CutFile,
    ) -> Result<bool, CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let (from, to) = planned.map_or((None, None), |(f, t)| (Some(f), Some(t)));
            let updated = tx.execute(
                "UPDATE clips SET state = 'ready', phone_file = ?2, size_bytes = ?3, sha256 = ?4,
                     start_ms = ?5, end_ms = ?6
                 WHERE id = ?1 AND state = 'pending'
                   AND start_ms = COALESCE(?7, start_ms) AND end_ms = COALESCE(?8, end_ms)",
                params![
                    id.0,
                    cut.file,
                    i64::try_from(cut.size_bytes).unwrap_or(i64::MAX),
                    cut.sha256,
                    cut.covered.0,
                    cut.covered.1,
                    from,
                    to
                ],
            )?;
            if updated == 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT OR IGNORE INTO residencies (clip_id, place, arrived_at_ms)
                 VALUES (?1, 'phone', ?2)",
                params![id.0, now_ms()],
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    /// Names a clip's telemetry sidecar (complete and fsynced). Returns false, naming nothing,
    /// when the clip has no phone copy (deleted meanwhile): the caller removes the file.
    pub async fn set_clip_telemetry(
        &self,
        id: ClipId,
        file: String,
        bytes: u64,
    ) -> Result<bool, CatalogError> {
        self.call(move |c| {
            let n = c.execute(
                "UPDATE clips SET telemetry_file = ?2, telemetry_bytes = ?3
                 WHERE id = ?1 AND phone_file IS NOT NULL AND state = 'ready'",
                params![id.0, file, i64::try_from(bytes).unwrap_or(i64::MAX)],
            )?;
            Ok(n > 0)
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
                model::TIMELINE_SELECT
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

/// How close two windows of one drive must start and end to be one moment (one clip): a double
/// tap, plus the keyframe alignment of a cut (dash cams put a keyframe every 1 to 2 s).
pub const SAME_MOMENT_MS: i64 = 3_000;

/// A cut clip's file, as [`Catalog::finish_clip`] names it.
struct CutFile {
    file: String,
    size_bytes: u64,
    sha256: String,
    covered: (i64, i64),
}

/// The cut clip of `drive` whose window starts and ends within [`SAME_MOMENT_MS`] of
/// `[start_ms, end_ms)` clamped to what the drive recorded (its first segment's start; its last
/// segment's end once the camera has moved on to another drive), as a cut would clamp it.
fn same_moment_cut(
    c: &Connection,
    drive: DriveId,
    start_ms: i64,
    end_ms: i64,
) -> rusqlite::Result<Option<ClipId>> {
    c.query_row(
        "WITH w AS (SELECT
             MAX(?2, COALESCE((SELECT MIN(started_at_ms) FROM segments WHERE drive_id = ?1), ?2))
                 AS s,
             CASE WHEN EXISTS (SELECT 1 FROM drives later JOIN drives d ON d.id = ?1
                     WHERE later.camera_id = d.camera_id AND later.started_at_ms > d.started_at_ms)
                  THEN MIN(?3, COALESCE((SELECT MAX(started_at_ms + duration_ms) FROM segments
                                         WHERE drive_id = ?1), ?3))
                  ELSE ?3 END AS e)
         SELECT c.id FROM clips c, w
         WHERE c.drive_id = ?1 AND c.state = 'ready'
           AND ABS(c.start_ms - w.s) <= ?4 AND ABS(c.end_ms - w.e) <= ?4
         ORDER BY ABS(c.start_ms - w.s) + ABS(c.end_ms - w.e), c.id LIMIT 1",
        params![drive.0, start_ms, end_ms, SAME_MOMENT_MS],
        |r| Ok(ClipId(r.get(0)?)),
    )
    .optional()
}

/// The cut clip of `drive` whose incident is the same moment as `event`, when one of the two is
/// the camera's lock: the detector's moment lies within the camera's locked span, give or take
/// [`SAME_MOMENT_MS`] (the camera locked the file because its G-sensor felt the same jolt).
fn camera_moment_cut(
    c: &Connection,
    drive: DriveId,
    event: Option<i64>,
) -> rusqlite::Result<Option<ClipId>> {
    let Some(event) = event else { return Ok(None) };
    c.query_row(
        "SELECT c.id FROM clips c JOIN events ce ON ce.id = c.event_id
         JOIN events re ON re.id = ?2
         WHERE c.drive_id = ?1 AND c.state = 'ready'
           AND (ce.kind = 'camera_locked' OR re.kind = 'camera_locked')
           AND CASE WHEN re.kind = 'camera_locked'
                    THEN ce.at_ms BETWEEN re.at_ms - ?3 AND re.at_ms + re.duration_ms + ?3
                    ELSE re.at_ms BETWEEN ce.at_ms - ?3 AND ce.at_ms + ce.duration_ms + ?3 END
         ORDER BY c.start_ms LIMIT 1",
        params![drive.0, event, SAME_MOMENT_MS],
        |r| Ok(ClipId(r.get(0)?)),
    )
    .optional()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::{seg, status};
    use crate::catalog::{PhoneFile, TelemetryFile};
    use crate::protocol::SegmentInfo;

    /// When the drive under test starts (camera clock): its segment 1.
    const T0: i64 = 61_000;

    /// A hard brake at `at_ms` in `drive`.
    fn hard_brake(drive: DriveId, at_ms: i64) -> NewEvent {
        NewEvent {
            drive: Some(drive),
            kind: "hard_brake",
            at_ms,
            peak_g: 0.6,
            duration_ms: 500,
            location: None,
            source: "camera",
        }
    }

    /// The camera locked the file of segment 2 (`T0 + 60 s`, 60 s long).
    fn camera_locked(drive: DriveId) -> NewEvent {
        NewEvent {
            kind: "camera_locked",
            at_ms: T0 + 60_000,
            peak_g: 0.0,
            duration_ms: 60_000,
            ..hard_brake(drive, 0)
        }
    }

    /// The camera's locked span in drive D1: segment 2.
    const LOCK_SPAN: (i64, i64) = (T0 + 60_000, T0 + 120_000);

    /// Records the camera's lock of segment 2 and plans its clip over [`LOCK_SPAN`].
    async fn plan_lock(cat: &Catalog, drive: DriveId) -> (i64, ClipId) {
        let (lock, _) = cat.record_event(camera_locked(drive), 1_000).await.unwrap();
        let (from, to) = LOCK_SPAN;
        (lock, cat.plan_clip(drive, Some(lock), ClipReason::CameraLocked, from, to).await.unwrap())
    }

    /// Records a hard brake at `T0 + at_s` and plans its clip (30 s before, 10 s after).
    async fn plan_brake(cat: &Catalog, drive: DriveId, at_s: i64) -> ClipId {
        let at = T0 + at_s * 1000;
        let brake = cat.insert_event(hard_brake(drive, at)).await.unwrap();
        let (from, to) = (at - 30_000, at + 10_000);
        cat.plan_clip(drive, Some(brake), ClipReason::HardBrake, from, to).await.unwrap()
    }

    #[tokio::test]
    async fn clips_the_camera_lock_and_the_detector_in_one_moment_are_one_clip() {
        let dir = tempfile::tempdir().unwrap();
        let (cat, _, drive) = drive_on_phone(&dir).await;
        let (_, locked) = plan_lock(&cat, drive).await;
        assert!(cut(&cat, locked, LOCK_SPAN).await);

        // The detector felt the jolt the camera locked for: the camera's clip, unchanged.
        assert_eq!(plan_brake(&cat, drive, 100).await, locked);
        let clip = cat.clip(locked).await.unwrap();
        let (from, to) = LOCK_SPAN;
        assert_eq!((clip.reason, clip.start_ms, clip.end_ms), (ClipReason::CameraLocked, from, to));

        // A hard brake well after the locked span is another moment: its own clip.
        assert_ne!(plan_brake(&cat, drive, 150).await, locked);
        // A manual clip over the locked span is the user's own moment (the usual rules).
        let manual = cat.plan_clip(drive, None, ClipReason::Manual, T0 + 70_000, T0 + 80_000);
        assert_ne!(manual.await.unwrap(), locked);
        assert_eq!(cat.clips().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn clips_a_detector_clip_cut_first_takes_the_camera_lock_of_its_moment() {
        let dir = tempfile::tempdir().unwrap();
        let (cat, _, drive) = drive_on_phone(&dir).await;
        let clip = plan_brake(&cat, drive, 100).await;
        assert!(cut(&cat, clip, (T0 + 70_000, T0 + 110_000)).await);
        assert_eq!(plan_lock(&cat, drive).await.1, clip);
        assert_eq!(cat.clips().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn clips_a_pending_camera_lock_and_a_hard_brake_merge_into_the_weightier_reason() {
        let dir = tempfile::tempdir().unwrap();
        let (cat, _, drive) = drive_on_phone(&dir).await;
        let (lock, locked) = plan_lock(&cat, drive).await;
        assert_eq!(plan_brake(&cat, drive, 70).await, locked);
        let clip = cat.clip(locked).await.unwrap();
        let merged = (ClipReason::HardBrake, T0 + 40_000, LOCK_SPAN.1);
        assert_eq!((clip.reason, clip.start_ms, clip.end_ms), merged);
        assert_eq!(clip.event_id, Some(lock));
        assert!(ClipReason::Manual < ClipReason::CameraLocked);
        assert_eq!(ClipReason::from_name("camera_locked"), Some(ClipReason::CameraLocked));
        assert_eq!(ClipReason::from_name("nope"), None);
    }

    /// A catalog holding drive D1: three 60 s segments from `T0`, all on the phone.
    async fn drive_on_phone(dir: &tempfile::TempDir) -> (Catalog, CameraId, DriveId) {
        let cat = Catalog::open(&dir.path().join("c.sqlite")).await.unwrap();
        let cam = cat.upsert_camera(status(), "http://x".into()).await.unwrap();
        cat.note_camera_segments(cam, vec![seg(1), seg(2), seg(3)]).await.unwrap();
        let drive = cat.drives().await.unwrap()[0].id;
        for (i, s) in cat.drive_segments(drive).await.unwrap().into_iter().enumerate() {
            let video = PhoneFile { name: format!("v{i}.mp4") };
            let tele = TelemetryFile {
                name: format!("v{i}.json"),
                size_bytes: 10,
                accel_samples: 1,
                gps_fixes: 1,
            };
            cat.record_phone_copy(s.id, video, tele).await.unwrap();
        }
        (cat, cam, drive)
    }

    /// Records the cut of `id` covering `covered`; whether the catalog took it.
    async fn cut(cat: &Catalog, id: ClipId, covered: (i64, i64)) -> bool {
        let file = format!("clip-{}.mp4", id.0);
        cat.finish_clip(id, file, 10, "c".repeat(64), covered).await.unwrap()
    }

    async fn evictable(cat: &Catalog) -> usize {
        cat.eviction_candidates(vec![], 10).await.unwrap().len()
    }

    #[tokio::test]
    async fn clips_a_pending_clip_deleted_by_the_user_is_cancelled_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let (cat, _, drive) = drive_on_phone(&dir).await;
        let event = cat.insert_event(hard_brake(drive, T0 + 100_000)).await.unwrap();
        let window = (T0 + 70_000, T0 + 110_000);
        let id = cat.plan_clip(drive, Some(event), ClipReason::HardBrake, window.0, window.1);
        let id = id.await.unwrap();
        assert_eq!(evictable(&cat).await, 2, "the pending clip keeps the segment it needs");

        // Listed, so the user can delete it: nothing to unlink, nothing in the cloud.
        assert_eq!(cat.clips().await.unwrap().len(), 1);
        assert_eq!(cat.delete_clip_by_user(id.0).await.unwrap(), (None, None));

        assert!(cat.clips().await.unwrap().is_empty(), "no longer listed");
        assert!(cat.pending_clips().await.unwrap().is_empty(), "never cut");
        assert_eq!(evictable(&cat).await, 3, "its segments are no longer kept for it");
        assert!(cat.event_has_clip(event).await.unwrap(), "its incident is not clipped again");
        // A cut that was under way when the user deleted it is refused: no file is named.
        assert!(!cut(&cat, id, window).await);
        assert!(!cat.set_clip_telemetry(id, "t.json".into(), 2).await.unwrap());
        let clip = cat.clip(id).await.unwrap();
        assert_eq!(clip.state, ClipState::Deleted);
        assert_eq!((clip.phone_file, clip.residencies), (None, vec![]));
        // Asking again for that moment is a new clip, not the deleted one.
        let again = cat.plan_clip(drive, None, ClipReason::Manual, window.0, window.1).await;
        assert_ne!(again.unwrap(), id);
    }

    #[tokio::test]
    async fn clips_asking_twice_for_one_moment_gives_one_clip() {
        let dir = tempfile::tempdir().unwrap();
        let (cat, _, drive) = drive_on_phone(&dir).await;
        let manual = |from: i64, to: i64| cat.plan_clip(drive, None, ClipReason::Manual, from, to);
        let first = manual(T0 + 20_400, T0 + 50_000).await.unwrap();
        // Cut from the keyframe before 20.4 s to the end of the frame covering 50 s.
        assert!(cut(&cat, first, (T0 + 20_000, T0 + 50_033)).await);

        // The user taps again half a second later: the clip they have is the answer.
        assert_eq!(manual(T0 + 20_900, T0 + 50_500).await.unwrap(), first);
        // The detector finds an incident in that moment: the same clip, now holding it.
        let event = cat.insert_event(hard_brake(drive, T0 + 50_000)).await.unwrap();
        let planned =
            cat.plan_clip(drive, Some(event), ClipReason::HardBrake, T0 + 20_000, T0 + 51_000);
        assert_eq!(planned.await.unwrap(), first);
        assert!(cat.event_has_clip(event).await.unwrap());
        let clips = cat.clips().await.unwrap();
        assert_eq!(clips.len(), 1, "{clips:?}");
        let clip = &clips[0];
        assert_eq!((clip.state, clip.reason), (ClipState::Ready, ClipReason::Manual), "unchanged");
        assert_eq!((clip.start_ms, clip.end_ms), (T0 + 20_000, T0 + 50_033));

        // Five seconds further is another moment: its own clip, the first one untouched.
        let later = manual(T0 + 25_000, T0 + 55_000).await.unwrap();
        assert_ne!(later, first);
        assert_eq!(cat.clip(later).await.unwrap().state, ClipState::Pending);
    }

    #[tokio::test]
    async fn clips_clip_now_twice_at_either_end_of_a_drive_is_one_clip() {
        let dir = tempfile::tempdir().unwrap();
        let (cat, cam, drive) = drive_on_phone(&dir).await;
        let manual = |from: i64, to: i64| cat.plan_clip(drive, None, ClipReason::Manual, from, to);
        // 30 s before a moment 5 s into the drive: the cut starts where the drive does.
        let start = manual(T0 - 25_000, T0 + 15_000).await.unwrap();
        assert!(cut(&cat, start, (T0, T0 + 15_033)).await);
        assert_eq!(manual(T0 - 24_000, T0 + 15_900).await.unwrap(), start);

        // 10 s after a moment 5 s before the drive's end: the cut ends with the drive, once the
        // camera has moved on to another drive.
        let end = manual(T0 + 145_000, T0 + 185_000).await.unwrap();
        let next_drive = SegmentInfo {
            id: "D2_S0".into(),
            drive_id: "D2".into(),
            start_ms: T0 + 600_000,
            ..seg(9)
        };
        cat.note_camera_segments(cam, vec![next_drive]).await.unwrap();
        assert!(cut(&cat, end, (T0 + 145_000, T0 + 180_000)).await);
        assert_eq!(manual(T0 + 146_000, T0 + 186_000).await.unwrap(), end);
        assert_eq!(cat.clips().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn clips_a_window_extended_while_it_is_cut_is_cut_again_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (cat, _, drive) = drive_on_phone(&dir).await;
        let id = cat.plan_clip(drive, None, ClipReason::Manual, T0 + 70_000, T0 + 110_000);
        let id = id.await.unwrap();
        let being_cut = cat.clip(id).await.unwrap();
        // "Clip now" again while the first window is being cut: the pending clip grows.
        let again = cat.plan_clip(drive, None, ClipReason::Manual, T0 + 100_000, T0 + 140_000);
        assert_eq!(again.await.unwrap(), id);

        let file = || format!("clip-{}.mp4", id.0);
        let old_cut = cat.finish_planned_clip(&being_cut, file(), 10, "c".repeat(64), (0, 1));
        assert!(!old_cut.await.unwrap(), "the shorter cut is discarded");
        let clip = cat.clip(id).await.unwrap();
        assert_eq!(clip.state, ClipState::Pending);
        assert_eq!((clip.start_ms, clip.end_ms), (T0 + 70_000, T0 + 140_000));
        assert_eq!(clip.phone_file, None);
        let covered = (T0 + 70_000, T0 + 140_033);
        let whole = cat.finish_planned_clip(&clip, file(), 10, "c".repeat(64), covered);
        assert!(whole.await.unwrap());
        assert_eq!(cat.clip(id).await.unwrap().residencies, vec![Residency::Phone]);
    }
}
