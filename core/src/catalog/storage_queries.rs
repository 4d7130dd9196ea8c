//! The catalog's side of phone storage: usage, settings, locks, eviction order, and the inputs of
//! the at-risk forecast.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Catalog, CatalogError, model, to_i64};
use crate::catalog::{CameraId, DriveId, SegmentId, SegmentRecord};

/// Bytes of Dashkeep's files on the phone, by kind, as the catalog records them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PhoneUsage {
    /// Drive segments' videos.
    pub segment_bytes: u64,
    /// Segments' telemetry sidecars.
    pub telemetry_bytes: u64,
    /// Clips.
    pub clip_bytes: u64,
}

impl PhoneUsage {
    /// Everything Dashkeep holds on the phone.
    pub fn total(&self) -> u64 {
        self.segment_bytes + self.telemetry_bytes + self.clip_bytes
    }

    /// What drives take (videos and telemetry).
    pub fn drive_bytes(&self) -> u64 {
        self.segment_bytes + self.telemetry_bytes
    }
}

/// A video in the order a loop recorder overwrites it, with the bytes overwritten before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverwriteRow {
    /// The segment.
    pub segment: SegmentId,
    /// Its drive.
    pub drive: DriveId,
    /// Its bytes (video and telemetry).
    pub bytes: u64,
    /// Bytes the recorder overwrites before it.
    pub bytes_before: u64,
    /// When it was recorded (ms since the epoch).
    pub started_at_ms: i64,
}

/// A clip copy on the phone that is safe in the cloud, and so may be evicted from the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvictableClip {
    /// The clip's catalog id.
    pub clip_id: i64,
    /// Its file name under the videos directory.
    pub phone_file: String,
    /// Its size.
    pub size_bytes: u64,
}

/// A clip's files as the catalog names them on the phone, for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipFiles {
    /// The clip's catalog id.
    pub clip_id: i64,
    /// Its video under the videos directory.
    pub phone_file: String,
    /// Its telemetry sidecar, when one was written.
    pub telemetry_file: Option<String>,
}

/// Segments protected from the phone's loop recorder: on a locked drive, or inside the window of
/// a clip not cut yet.
const EVICTABLE_SEGMENT: &str = "s.phone_state = 'present' AND d.locked = 0
    AND NOT EXISTS (SELECT 1 FROM clips c WHERE c.drive_id = s.drive_id AND c.state = 'pending'
        AND c.start_ms < s.started_at_ms + s.duration_ms AND c.end_ms > s.started_at_ms)";

impl Catalog {
    /// What Dashkeep's files take on the phone.
    pub async fn phone_usage(&self) -> Result<PhoneUsage, CatalogError> {
        self.call(|c| {
            let mut st = c.prepare_cached(
                "SELECT segment_bytes, telemetry_bytes, clip_bytes FROM phone_usage WHERE id = 1",
            )?;
            Ok(st.query_row([], |r| {
                let get = |i| r.get::<_, i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
                Ok(PhoneUsage {
                    segment_bytes: get(0)?,
                    telemetry_bytes: get(1)?,
                    clip_bytes: get(2)?,
                })
            })?)
        })
        .await
    }

    /// A persisted setting.
    pub async fn setting(&self, key: &'static str) -> Result<Option<String>, CatalogError> {
        self.call(move |c| {
            Ok(c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    /// Persists a setting.
    pub async fn set_setting(&self, key: &'static str, value: String) -> Result<(), CatalogError> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = ?2",
                params![key, value],
            )?;
            Ok(())
        })
        .await
    }

    /// Locks a drive (the phone's loop recorder never evicts it) or unlocks it.
    pub async fn set_drive_locked(&self, drive: DriveId, locked: bool) -> Result<(), CatalogError> {
        self.call(move |c| {
            match c
                .execute("UPDATE drives SET locked = ?2 WHERE id = ?1", params![drive.0, locked])?
            {
                0 => Err(CatalogError::NotFound { what: "drive", id: drive.0 }),
                _ => Ok(()),
            }
        })
        .await
    }

    /// The next segments the phone's loop recorder may evict, oldest drive first, skipping the
    /// `protect`ed drives (the one being streamed now), locked drives, and segments a pending
    /// clip still needs.
    pub async fn eviction_candidates(
        &self,
        protect: Vec<DriveId>,
        limit: usize,
    ) -> Result<Vec<SegmentRecord>, CatalogError> {
        self.call(move |c| {
            let protected = protect.iter().map(|d| d.0.to_string()).collect::<Vec<_>>().join(",");
            let sql = format!(
                "{} WHERE {EVICTABLE_SEGMENT} AND s.drive_id NOT IN ({protected})
                 ORDER BY d.started_at_ms, s.drive_id, s.index_in_drive LIMIT ?1",
                model::SEGMENT_SELECT
            );
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map([to_i64(limit as u64)], model::segment_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Clips on the phone that are also in the cloud, oldest first: evicted from the phone only
    /// when no drive segment is left to evict.
    pub async fn evictable_clips(&self, limit: usize) -> Result<Vec<EvictableClip>, CatalogError> {
        self.call(move |c| {
            let mut st = c.prepare_cached(
                "SELECT c.id, c.phone_file, COALESCE(c.size_bytes, 0) FROM clips c
                 WHERE c.phone_file IS NOT NULL AND c.state = 'ready' AND EXISTS (
                     SELECT 1 FROM residencies r WHERE r.clip_id = c.id AND r.place = 'cloud'
                       AND r.left_at_ms IS NULL)
                 ORDER BY c.start_ms LIMIT ?1",
            )?;
            let rows = st.query_map([to_i64(limit as u64)], |r| {
                Ok(EvictableClip {
                    clip_id: r.get(0)?,
                    phone_file: r.get(1)?,
                    size_bytes: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Forgets the phone's copy of a clip (its file is unlinked) and closes its `phone` residency.
    pub async fn forget_clip_phone_copy(
        &self,
        clip_id: i64,
        reason: &'static str,
    ) -> Result<(), CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE clips SET phone_file = NULL, telemetry_file = NULL WHERE id = ?1",
                [clip_id],
            )?;
            tx.execute(
                "UPDATE residencies SET left_at_ms = ?2, left_reason = ?3
                 WHERE clip_id = ?1 AND place = 'phone' AND left_at_ms IS NULL",
                params![clip_id, super::now_ms(), reason],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Every clip the catalog says the phone holds, with its files.
    pub async fn clip_files_on_phone(&self) -> Result<Vec<ClipFiles>, CatalogError> {
        self.call(|c| {
            let mut st = c.prepare(
                "SELECT id, phone_file, telemetry_file FROM clips WHERE phone_file IS NOT NULL",
            )?;
            let rows = st.query_map([], |r| {
                Ok(ClipFiles {
                    clip_id: r.get(0)?,
                    phone_file: r.get(1)?,
                    telemetry_file: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Forgets a clip's telemetry sidecar found missing; the clip itself stands.
    pub async fn forget_clip_telemetry(&self, clip_id: i64) -> Result<(), CatalogError> {
        self.call(move |c| {
            c.execute(
                "UPDATE clips SET telemetry_file = NULL, telemetry_bytes = 0 WHERE id = ?1",
                [clip_id],
            )?;
            Ok(())
        })
        .await
    }

    /// Bytes recorded per hour of driving, from the most recent `window` segments known (video
    /// and telemetry, every lens; the hours are the timeline's, so a rear lens adds bytes, not
    /// hours). `None` before anything was recorded.
    pub async fn recording_rate(&self, window: usize) -> Result<Option<f64>, CatalogError> {
        self.call(move |c| {
            let (bytes, ms): (i64, i64) = c.query_row(
                "SELECT COALESCE(SUM(size_bytes + telemetry_size), 0), COALESCE(SUM(timeline_ms), 0)
                 FROM (SELECT s.size_bytes, s.telemetry_size,
                              CASE WHEN EXISTS (SELECT 1 FROM timeline_segments t WHERE t.id = s.id)
                                   THEN s.duration_ms ELSE 0 END AS timeline_ms
                       FROM segments s ORDER BY s.started_at_ms DESC LIMIT ?1)",
                [to_i64(window as u64)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok((ms > 0).then(|| bytes as f64 * 3_600_000.0 / ms as f64))
        })
        .await
    }

    /// Phone copies in the order the phone's loop recorder would evict them, with the bytes
    /// evicted before each, up to `bytes_before <= limit`; only those with no copy elsewhere
    /// (`single_residency`) when asked.
    pub async fn phone_overwrite_order(
        &self,
        limit: u64,
        single_residency: bool,
    ) -> Result<Vec<OverwriteRow>, CatalogError> {
        let sql = format!(
            "WITH ordered AS (
                SELECT s.id, s.drive_id, s.started_at_ms,
                       s.size_bytes + COALESCE(t.size_bytes, 0) AS bytes,
                       SUM(s.size_bytes + COALESCE(t.size_bytes, 0)) OVER (
                           ORDER BY d.started_at_ms, s.drive_id, s.index_in_drive
                           ROWS UNBOUNDED PRECEDING) AS upto
                FROM segments s JOIN drives d ON d.id = s.drive_id
                LEFT JOIN telemetry t ON t.segment_id = s.id
                WHERE {EVICTABLE_SEGMENT})
             SELECT id, drive_id, bytes, upto - bytes, started_at_ms FROM ordered
             WHERE upto - bytes <= ?1 AND (?2 = 0 OR NOT EXISTS (
                 SELECT 1 FROM residencies r WHERE r.segment_id = ordered.id
                   AND r.place <> 'phone' AND r.left_at_ms IS NULL))"
        );
        self.overwrite_rows(sql, limit, single_residency, None).await
    }

    /// A camera's segments in the order its loop recorder overwrites them (oldest unlocked first),
    /// with the bytes overwritten before each, up to `bytes_before <= limit`; only those not on
    /// the phone when `single_residency`.
    pub async fn camera_overwrite_order(
        &self,
        camera: CameraId,
        limit: u64,
        single_residency: bool,
    ) -> Result<Vec<OverwriteRow>, CatalogError> {
        let sql = "WITH ordered AS (
                SELECT s.id, s.drive_id, s.started_at_ms,
                       s.size_bytes + s.telemetry_size AS bytes,
                       SUM(s.size_bytes + s.telemetry_size) OVER (
                           ORDER BY s.camera_seq ROWS UNBOUNDED PRECEDING) AS upto,
                       s.phone_state
                FROM residencies r JOIN segments s ON s.id = r.segment_id
                WHERE r.place = 'camera' AND r.left_at_ms IS NULL AND r.segment_id IS NOT NULL
                  AND s.camera_id = ?3 AND s.camera_locked = 0)
             SELECT id, drive_id, bytes, upto - bytes, started_at_ms FROM ordered
             WHERE upto - bytes <= ?1 AND (?2 = 0 OR phone_state IS NULL)"
            .to_string();
        self.overwrite_rows(sql, limit, single_residency, Some(camera)).await
    }

    async fn overwrite_rows(
        &self,
        sql: String,
        limit: u64,
        single_residency: bool,
        camera: Option<CameraId>,
    ) -> Result<Vec<OverwriteRow>, CatalogError> {
        self.call(move |c| {
            let mut st = c.prepare_cached(&sql)?;
            let limit = to_i64(limit);
            let mut rows = match camera {
                Some(cam) => st.query(params![limit, single_residency, cam.0])?,
                None => st.query(params![limit, single_residency])?,
            };
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let u = |v: i64| u64::try_from(v).unwrap_or(0);
                out.push(OverwriteRow {
                    segment: SegmentId(r.get(0)?),
                    drive: DriveId(r.get(1)?),
                    bytes: u(r.get(2)?),
                    bytes_before: u(r.get(3)?),
                    started_at_ms: r.get(4)?,
                });
            }
            Ok(out)
        })
        .await
    }
}
