//! The catalog: the phone's SQLite record of cameras, drives, segments, telemetry, events, clips, and
//! where every video lives (its residencies).
//!
//! This is the only module that writes SQL. The database runs in WAL mode with `synchronous=FULL`,
//! since a lost state costs bandwidth or privacy and the writes are small. Every call runs on
//! tokio's blocking pool, never on the async runtime.

mod clip_queries;
mod cloud_queries;
mod drive_queries;
mod model;
mod storage_queries;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};

use crate::protocol::{CameraStatus, SegmentInfo};
use crate::storage::ContentHash;
pub use clip_queries::{
    ClipId, ClipReason, ClipRecord, ClipState, EventRecord, NewEvent, SAME_MOMENT_MS,
    measured_peak_g,
};
pub use cloud_queries::{
    CloudClipRow, CloudPart, NewClip, RestoredClip, Tombstone, UploadJob, UploadState,
};
pub use drive_queries::{DriveRecord, DriveSegmentRow};
pub use model::{
    CameraId, CameraRecord, DriveId, DriveSummary, PhoneFile, Residency, SegmentId, SegmentRecord,
    TelemetryFile,
};
pub use storage_queries::{ClipFiles, EvictableClip, OverwriteRow, PhoneUsage};

/// Why a catalog operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// SQLite refused the operation (corrupt file, full disk, constraint).
    #[error("catalog database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("catalog migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// A row the caller named does not exist.
    #[error("no {what} with id {id} in the catalog")]
    NotFound {
        /// What kind of row.
        what: &'static str,
        /// Its id.
        id: i64,
    },
    /// The blocking task running the query was lost (the runtime is shutting down).
    #[error("catalog task failed: {0}")]
    Task(String),
    /// The volume holding the catalog (or its WAL) is full: SQLite answered SQLITE_FULL, or an
    /// I/O error while the volume has no room left. Nothing was committed; a pause, not a failure.
    #[error("phone storage is full while writing the catalog {path}")]
    StorageFull {
        /// The database file.
        path: PathBuf,
    },
}

impl CatalogError {
    /// Whether the write failed only because the volume is full (ingest pauses until room
    /// appears, as for a full disk while writing a video).
    pub fn is_storage_full(&self) -> bool {
        matches!(self, Self::StorageFull { .. })
    }

    /// Tells a full disk apart: SQLITE_FULL always, and SQLITE_IOERR (a write, fsync, truncate or
    /// WAL-index growth refused by the OS) when the catalog's volume has less than
    /// [`FULL_VOLUME_BYTES`] free, as SQLite reports some ENOSPC failures only as I/O errors.
    fn full_disk(self, path: &Path) -> Self {
        let Self::Sqlite(rusqlite::Error::SqliteFailure(e, _)) = &self else { return self };
        let full = match e.code {
            rusqlite::ErrorCode::DiskFull => true,
            rusqlite::ErrorCode::SystemIoFailure => volume_nearly_full(path),
            _ => false,
        };
        if full { Self::StorageFull { path: path.to_path_buf() } } else { self }
    }
}

/// Below this much free space, an SQLite I/O error on the catalog's volume counts as a full disk.
const FULL_VOLUME_BYTES: u64 = 1 << 20;

fn volume_nearly_full(db: &Path) -> bool {
    let dir = db.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    rustix::fs::statvfs(dir)
        .is_ok_and(|st| st.f_bavail.saturating_mul(st.f_frsize) < FULL_VOLUME_BYTES)
}

/// A handle on the catalog database. Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct Catalog {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("migrations/0001_foundation.sql")),
        M::up(include_str!("migrations/0002_storage.sql")),
        M::up(include_str!("migrations/0003_cloud.sql")),
        M::up(include_str!("migrations/0004_clip_telemetry.sql")),
        M::up(include_str!("migrations/0005_forecast_indexes.sql")),
        M::up(include_str!("migrations/0006_camera_incidents.sql")).foreign_key_check(),
        M::up(include_str!("migrations/0007_segment_channels.sql")),
        M::up(include_str!("migrations/0008_segment_digest.sql")),
        M::up(include_str!("migrations/0009_crc64_digest.sql")),
    ])
}

/// The current time in ms since the Unix epoch, by the phone's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, CatalogError> {
        let path = path.to_path_buf();
        let p = path.clone();
        let conn =
            tokio::task::spawn_blocking(move || open_connection(&p).map_err(|e| e.full_disk(&p)))
                .await
                .map_err(|e| CatalogError::Task(e.to_string()))??;
        Ok(Self { conn: Arc::new(Mutex::new(conn)), path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn call<R, F>(&self, f: F) -> Result<R, CatalogError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, CatalogError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            // A poisoned lock only means another query panicked; the connection is still sound.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard).map_err(|e| e.full_disk(&path))
        })
        .await
        .map_err(|e| CatalogError::Task(e.to_string()))?
    }

    /// Records that the phone talked to this camera, returning its catalog id.
    pub async fn upsert_camera(
        &self,
        status: CameraStatus,
        base_url: String,
    ) -> Result<CameraId, CatalogError> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO cameras (serial, model, firmware, base_url, sd_capacity_bytes,
                                      sd_used_bytes, last_seen_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (serial) DO UPDATE SET model = ?2, firmware = ?3, base_url = ?4,
                     sd_capacity_bytes = ?5, sd_used_bytes = ?6, last_seen_ms = ?7",
                params![
                    status.serial,
                    status.model,
                    status.firmware,
                    base_url,
                    to_i64(status.sd_capacity_bytes),
                    to_i64(status.sd_used_bytes),
                    now_ms()
                ],
            )?;
            let id =
                c.query_row("SELECT id FROM cameras WHERE serial = ?1", [&status.serial], |r| {
                    r.get(0)
                })?;
            Ok(CameraId(id))
        })
        .await
    }

    /// The cameras the phone knows, most recently seen first.
    pub async fn cameras(&self) -> Result<Vec<CameraRecord>, CatalogError> {
        self.call(|c| {
            let mut st = c.prepare(
                "SELECT id, serial, model, firmware, base_url, feed_cursor, sd_capacity_bytes,
                        sd_used_bytes, last_seen_ms FROM cameras ORDER BY last_seen_ms DESC",
            )?;
            let rows = st.query_map([], model::camera_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Saves how far the live feed of `camera` has been read.
    pub async fn set_feed_cursor(&self, camera: CameraId, cursor: u64) -> Result<(), CatalogError> {
        self.call(move |c| {
            c.execute(
                "UPDATE cameras SET feed_cursor = MAX(feed_cursor, ?2) WHERE id = ?1",
                params![camera.0, to_i64(cursor)],
            )?;
            Ok(())
        })
        .await
    }

    /// Records segments a Dashkeep camera lists (already validated), with their drives and an
    /// open `camera` residency, each vouched for by the SHA-256 the camera listed. Segments
    /// already known are left as they are. Returns how many were new.
    pub async fn note_camera_segments(
        &self,
        camera: CameraId,
        segments: Vec<SegmentInfo>,
    ) -> Result<usize, CatalogError> {
        let listed = segments.into_iter().map(|s| {
            let hash = ContentHash::sha256(s.sha256.clone());
            (s, hash)
        });
        self.note_segments(camera, listed.collect()).await
    }

    /// Records a file a vendor camera holds (validated, and already downloaded and checked), with
    /// its drive and an open `camera` residency, vouched for by the digest the phone computed
    /// while downloading it (the camera lists none; the `sha256` of `segment` is not read).
    /// Returns whether it was new.
    pub async fn note_camera_file(
        &self,
        camera: CameraId,
        segment: SegmentInfo,
        hash: ContentHash,
    ) -> Result<bool, CatalogError> {
        Ok(self.note_segments(camera, vec![(segment, hash)]).await? == 1)
    }

    async fn note_segments(
        &self,
        camera: CameraId,
        segments: Vec<(SegmentInfo, ContentHash)>,
    ) -> Result<usize, CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let mut added = 0;
            for (s, hash) in &segments {
                if model::insert_camera_segment(&tx, camera, s, hash)? {
                    added += 1;
                }
            }
            tx.commit()?;
            Ok(added)
        })
        .await
    }

    /// Closes the `camera` residency of every segment of `camera` whose sequence number is not in
    /// `present` (a full listing): the camera's loop recorder overwrote them. Returns how many.
    pub async fn note_camera_overwrites(
        &self,
        camera: CameraId,
        present: Vec<u64>,
    ) -> Result<usize, CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "CREATE TEMP TABLE IF NOT EXISTS present_seq (seq INTEGER PRIMARY KEY)",
                [],
            )?;
            tx.execute("DELETE FROM present_seq", [])?;
            {
                let mut ins = tx.prepare("INSERT OR IGNORE INTO present_seq (seq) VALUES (?1)")?;
                for seq in &present {
                    ins.execute([to_i64(*seq)])?;
                }
            }
            let closed = tx.execute(
                "UPDATE residencies SET left_at_ms = ?2, left_reason = 'camera_loop_recording'
                 WHERE place = 'camera' AND left_at_ms IS NULL AND segment_id IN (
                     SELECT id FROM segments WHERE camera_id = ?1
                       AND camera_seq NOT IN (SELECT seq FROM present_seq))",
                params![camera.0, now_ms()],
            )?;
            tx.commit()?;
            Ok(closed)
        })
        .await
    }

    /// Ends a segment's camera residency because the phone deleted it from the card after a
    /// verified copy (the user's setting), so the app no longer counts the camera as a place
    /// it lives.
    pub async fn note_deleted_from_camera(&self, segment: SegmentId) -> Result<(), CatalogError> {
        self.call(move |c| {
            c.execute(
                "UPDATE residencies SET left_at_ms = ?2, left_reason = 'deleted_from_camera'
                 WHERE place = 'camera' AND left_at_ms IS NULL AND segment_id = ?1",
                params![segment.0, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    /// Segments of `camera` that are on the camera but not on the phone, newest drive first and in
    /// recording order within a drive: what "stream now" fetches. Copies the phone's loop recorder
    /// evicted or the user removed are not fetched again by themselves.
    pub async fn segments_missing_on_phone(
        &self,
        camera: CameraId,
    ) -> Result<Vec<SegmentRecord>, CatalogError> {
        self.call(move |c| {
            let sql = format!(
                "{} WHERE s.camera_id = ?1 AND s.phone_state IS NULL AND EXISTS (
                     SELECT 1 FROM residencies r WHERE r.segment_id = s.id
                       AND r.place = 'camera' AND r.left_at_ms IS NULL)
                   AND NOT EXISTS (
                     SELECT 1 FROM residencies r WHERE r.segment_id = s.id AND r.place = 'phone'
                       AND r.left_reason IN ('evicted', 'removed_by_user'))
                 ORDER BY d.started_at_ms DESC, s.index_in_drive ASC",
                model::SEGMENT_SELECT
            );
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map([camera.0], model::segment_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// One segment by the camera's id for it.
    pub async fn segment_by_camera_id(
        &self,
        camera: CameraId,
        camera_segment_id: String,
    ) -> Result<Option<SegmentRecord>, CatalogError> {
        self.call(move |c| {
            let sql = format!(
                "{} WHERE s.camera_id = ?1 AND s.camera_segment_id = ?2",
                model::SEGMENT_SELECT
            );
            let mut st = c.prepare_cached(&sql)?;
            Ok(st
                .query_row(params![camera.0, camera_segment_id], model::segment_from_row)
                .optional()?)
        })
        .await
    }

    /// Every segment that has (or is losing) a copy on the phone: what reconciliation checks.
    pub async fn segments_on_phone(&self) -> Result<Vec<SegmentRecord>, CatalogError> {
        self.call(|c| {
            let sql =
                format!("{} WHERE s.phone_state IS NOT NULL ORDER BY s.id", model::SEGMENT_SELECT);
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map([], model::segment_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Names the phone's complete copy of a segment (and its telemetry) and opens its `phone`
    /// residency, in one transaction. Call only once the files are fsynced in place.
    pub async fn record_phone_copy(
        &self,
        segment: SegmentId,
        video: PhoneFile,
        telemetry: TelemetryFile,
    ) -> Result<(), CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let n = tx
                .prepare_cached(
                    "UPDATE segments SET phone_file = ?2, phone_state = 'present' WHERE id = ?1",
                )?
                .execute(params![segment.0, video.name])?;
            if n == 0 {
                return Err(CatalogError::NotFound { what: "segment", id: segment.0 });
            }
            tx.prepare_cached(
                "INSERT INTO telemetry
                     (segment_id, phone_file, size_bytes, accel_samples, gps_fixes)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (segment_id) DO UPDATE SET phone_file = ?2, size_bytes = ?3,
                     accel_samples = ?4, gps_fixes = ?5",
            )?
            .execute(params![
                segment.0,
                telemetry.name,
                to_i64(telemetry.size_bytes),
                telemetry.accel_samples,
                telemetry.gps_fixes
            ])?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO residencies (segment_id, place, arrived_at_ms)
                 VALUES (?1, 'phone', ?2)",
            )?
            .execute(params![segment.0, now_ms()])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// First step of deleting the phone's copy of a segment: mark it, and note `reason` on its
    /// open `phone` residency, so a kill before the file is gone is finished on the next open with
    /// the same reason (an interrupted eviction stays an eviction: not fetched again).
    pub async fn mark_phone_copy_deleting(
        &self,
        segment: SegmentId,
        reason: &'static str,
    ) -> Result<(), CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE segments SET phone_state = 'deleting' WHERE id = ?1 AND phone_file IS NOT NULL",
                [segment.0],
            )?;
            tx.execute(
                "UPDATE residencies SET left_reason = ?2
                 WHERE segment_id = ?1 AND place = 'phone' AND left_at_ms IS NULL",
                params![segment.0, reason],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Last step of deleting the phone's copy (its files are unlinked): forget the files and close
    /// the `phone` residency with the reason noted when it was marked, else `reason`.
    pub async fn forget_phone_copy(
        &self,
        segment: SegmentId,
        reason: &'static str,
    ) -> Result<(), CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE segments SET phone_file = NULL, phone_state = NULL WHERE id = ?1",
                [segment.0],
            )?;
            tx.execute("DELETE FROM telemetry WHERE segment_id = ?1", [segment.0])?;
            tx.execute(
                "UPDATE residencies SET left_at_ms = ?2, left_reason = COALESCE(left_reason, ?3)
                 WHERE segment_id = ?1 AND place = 'phone' AND left_at_ms IS NULL",
                params![segment.0, now_ms(), reason],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// The phone's file names of every segment, telemetry and clip it holds, for reconciliation.
    pub async fn phone_file_names(&self) -> Result<Vec<String>, CatalogError> {
        self.call(|c| {
            let mut st = c.prepare(
                "SELECT phone_file FROM segments WHERE phone_file IS NOT NULL
                 UNION ALL SELECT phone_file FROM telemetry
                 UNION ALL SELECT phone_file FROM clips WHERE phone_file IS NOT NULL
                 UNION ALL SELECT telemetry_file FROM clips WHERE telemetry_file IS NOT NULL",
            )?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Drives, newest first, with what the phone holds of each and where its videos live.
    pub async fn drives(&self) -> Result<Vec<DriveSummary>, CatalogError> {
        self.call(|c| model::drive_summaries(c, None)).await
    }

    /// One drive's summary.
    pub async fn drive(&self, drive: DriveId) -> Result<DriveSummary, CatalogError> {
        self.call(move |c| {
            model::drive_summaries(c, Some(drive))?
                .pop()
                .ok_or(CatalogError::NotFound { what: "drive", id: drive.0 })
        })
        .await
    }

    /// Every file of one drive, every lens, in recording order (the lenses of one moment
    /// together): what removing the drive from the phone removes.
    pub async fn drive_segments(&self, drive: DriveId) -> Result<Vec<SegmentRecord>, CatalogError> {
        self.drive_files(model::SEGMENT_SELECT, drive).await
    }

    /// The segments of one drive's timeline (its first lens, the front nearly always), in
    /// recording order: what its clips are cut from and its story is told from.
    pub async fn drive_timeline(&self, drive: DriveId) -> Result<Vec<SegmentRecord>, CatalogError> {
        self.drive_files(model::TIMELINE_SELECT, drive).await
    }

    async fn drive_files(
        &self,
        select: &'static str,
        drive: DriveId,
    ) -> Result<Vec<SegmentRecord>, CatalogError> {
        self.call(move |c| {
            let sql = format!(
                "{select} WHERE s.drive_id = ?1 ORDER BY s.index_in_drive, {}",
                model::CHANNEL_ORDER
            );
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map([drive.0], model::segment_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Total bytes of files the phone holds according to the catalog (videos and telemetry).
    pub async fn phone_bytes(&self) -> Result<u64, CatalogError> {
        self.call(|c| {
            let n: i64 = c.query_row(
                "SELECT (SELECT COALESCE(SUM(size_bytes), 0) FROM segments
                          WHERE phone_state IS NOT NULL)
                      + (SELECT COALESCE(SUM(size_bytes), 0) FROM telemetry)",
                [],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }
}

fn open_connection(path: &Path) -> Result<Connection, CatalogError> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Room for every statement a stream runs per file, so none is parsed again for each.
    conn.set_prepared_statement_cache_capacity(64);
    // Off while migrating: a migration that rebuilds a table (SQLite cannot alter a CHECK) drops
    // the old one, which foreign keys would refuse; such a migration checks them after itself.
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    create_if_new(&mut conn)?;
    migrations().to_latest(&mut conn)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// The schema as the migrations up to [`SCHEMA_VERSION`] leave it, tables to views, with the
/// rows they add.
const SCHEMA: &str = include_str!("schema.sql");

/// How many migrations [`SCHEMA`] stands for.
const SCHEMA_VERSION: i64 = 9;

/// Gives a catalog created from nothing (the app's first launch) [`SCHEMA`] in one script
/// instead of replaying every migration: the migrations that rebuild tables and rename columns
/// each re-read the whole schema, 13 to 19 ms in all against 2 to 4 for the script. Migrations
/// after [`SCHEMA_VERSION`] then apply on top as on any older catalog. True when it gave it.
fn create_if_new(conn: &mut Connection) -> Result<bool, CatalogError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let objects: i64 = tx.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))?;
    if version != 0 || objects != 0 {
        return Ok(false);
    }
    tx.execute_batch(SCHEMA)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(true)
}

/// SQLite stores integers as i64; sizes and sequence numbers from a camera are u64 and already
/// bounded by validation, so saturating is only a guard.
fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocol::Channel;

    #[test]
    fn migrations_are_valid() {
        assert!(migrations().validate().is_ok());
    }

    /// Everything a catalog holds that a migration makes: each table's, index's, trigger's and
    /// view's definition (whitespace and comments aside) and each table's rows.
    fn definitions_and_rows(conn: &Connection) -> Vec<String> {
        let mut st = conn
            .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
            .unwrap();
        let objects: Vec<(String, String, String, Option<String>)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut held = Vec::new();
        for (kind, name, table, sql) in objects {
            held.push(format!("{kind} {name} on {table}: {}", tokens(sql.as_deref())));
            if kind == "table" {
                let mut rows = conn.prepare(&format!("SELECT * FROM \"{name}\"")).unwrap();
                let width = rows.column_count();
                let rows = rows.query_map([], |r| {
                    (0..width).map(|i| r.get::<_, rusqlite::types::Value>(i)).collect()
                });
                let rows: Vec<Vec<rusqlite::types::Value>> =
                    rows.unwrap().collect::<Result<_, _>>().unwrap();
                held.push(format!("rows of {name}: {rows:?}"));
            }
        }
        held
    }

    /// `sql` without its comments, its words separated by single spaces.
    fn tokens(sql: Option<&str>) -> String {
        let lines = sql.unwrap_or_default().lines();
        let code = lines.map(|l| l.split_once("--").map_or(l, |(code, _)| code));
        let words = code.flat_map(str::split_whitespace).collect::<Vec<_>>().join(" ");
        words.replace("( ", "(").replace(" )", ")").replace(" ,", ",")
    }

    /// A new catalog gets the schema script (`schema.sql`), and it is what replaying every
    /// migration makes: the same definitions, constraints included, and the same rows.
    #[test]
    fn a_new_catalog_has_the_schema_its_migrations_make() {
        let dir = tempfile::tempdir().unwrap();
        let mut scripted = Connection::open(dir.path().join("scripted.sqlite")).unwrap();
        assert!(create_if_new(&mut scripted).unwrap(), "a new catalog takes the script");
        assert!(!create_if_new(&mut scripted).unwrap(), "once only");
        migrations().to_latest(&mut scripted).unwrap();
        let mut replayed = Connection::open(dir.path().join("replayed.sqlite")).unwrap();
        migrations().to_latest(&mut replayed).unwrap();

        let (scripted_schema, replayed_schema) =
            (definitions_and_rows(&scripted), definitions_and_rows(&replayed));
        assert!(replayed_schema.len() > 40, "tables, indexes, triggers, a view and their rows");
        for (scripted, replayed) in scripted_schema.iter().zip(&replayed_schema) {
            assert_eq!(scripted, replayed, "schema.sql is not what the migrations make");
        }
        assert_eq!(scripted_schema.len(), replayed_schema.len());
        let version = |c: &Connection| -> i64 {
            c.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap()
        };
        assert_eq!(version(&scripted), version(&replayed));
    }

    /// A catalog of the schema before incidents from the camera (version 5), with an incident,
    /// a cut, uploading clip, its residency and upload part in it.
    fn catalog_of_version_5(path: &Path) {
        let mut conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        migrations().to_version(&mut conn, 5).unwrap();
        conn.execute_batch(
            "INSERT INTO cameras VALUES (1, 'SIM', 'Sim', '1.0', 'http://x', 0, 0, 0, 1);
             INSERT INTO drives VALUES (1, 1, 'D1', 1000, NULL, 0);
             INSERT INTO events VALUES (7, 1, 'collision', 5000, 2.5, 300, 1.5, 2.5, 'both', 9);
             INSERT INTO clips (id, drive_id, event_id, reason, start_ms, end_ms, state,
                                phone_file, size_bytes, sha256, created_at_ms, cloud_key, peak_g,
                                lat, lon, telemetry_file, telemetry_bytes)
                 VALUES (3, 1, 7, 'collision', 1000, 9000, 'ready', 'clip-3.mp4', 500, 'ab', 9,
                         'k3', 2.5, 1.5, 2.5, NULL, 0);
             UPDATE clips SET telemetry_file = 'clip-3.json', telemetry_bytes = 40 WHERE id = 3;
             INSERT INTO residencies (clip_id, place, arrived_at_ms) VALUES (3, 'phone', 9);
             INSERT INTO cloud_uploads (clip_id, state, queued_at_ms, updated_at_ms)
                 VALUES (3, 'uploading', 9, 9);
             INSERT INTO cloud_parts VALUES (3, 'u1', 1, 100, 'etag', 'sha');",
        )
        .unwrap();
    }

    fn schema_of(conn: &Connection, kind: &str) -> Vec<String> {
        let mut st =
            conn.prepare("SELECT name FROM sqlite_master WHERE type = ?1 ORDER BY name").unwrap();
        st.query_map([kind], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }

    #[tokio::test]
    async fn catalog_migration_to_camera_incidents_keeps_every_row_index_and_trigger() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        catalog_of_version_5(&path);
        let before = Connection::open(&path).unwrap();
        let (indexes, triggers) = (schema_of(&before, "index"), schema_of(&before, "trigger"));
        drop(before);

        let cat = Catalog::open(&path).await.unwrap();
        let clip = cat.clip(ClipId(3)).await.unwrap();
        assert_eq!(
            (clip.reason, clip.event_id, clip.size_bytes),
            (ClipReason::Collision, Some(7), Some(500))
        );
        assert_eq!(clip.telemetry_file.as_deref(), Some("clip-3.json"));
        assert_eq!(clip.residencies, vec![Residency::Phone]);
        let event = &cat.events(10).await.unwrap()[0];
        assert_eq!(
            (event.id, event.kind.as_str(), event.source.as_str()),
            (7, "collision", "both")
        );
        assert_eq!(cat.phone_usage().await.unwrap().clip_bytes, 540);

        let conn = Connection::open(&path).unwrap();
        assert_eq!(schema_of(&conn, "index"), indexes);
        assert_eq!(schema_of(&conn, "trigger"), triggers);
        let cloud: (String, i64) = conn
            .query_row(
                "SELECT u.state, (SELECT COUNT(*) FROM cloud_parts p WHERE p.clip_id = u.clip_id)
                 FROM cloud_uploads u WHERE clip_id = 3",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(cloud, ("uploading".to_string(), 1));
        drop(conn);

        // The new reason and kind are accepted; foreign keys are enforced again.
        let lock = NewEvent {
            drive: Some(DriveId(1)),
            kind: "camera_locked",
            at_ms: 20_000,
            peak_g: 0.0,
            duration_ms: 60_000,
            location: None,
            source: "camera",
        };
        let lock = cat.insert_event(lock).await.unwrap();
        let id = cat.plan_clip(DriveId(1), Some(lock), ClipReason::CameraLocked, 20_000, 80_000);
        let id = id.await.unwrap();
        assert_eq!(cat.clip(id).await.unwrap().reason, ClipReason::CameraLocked);
        let orphan = cat.plan_clip(DriveId(99), None, ClipReason::Manual, 1, 2).await;
        assert!(orphan.is_err(), "a clip of a drive that does not exist is refused");
        // Usage triggers still count clip files.
        assert!(
            cat.finish_clip(id, "clip-4.mp4".into(), 60, "cd".into(), (20_000, 80_000))
                .await
                .unwrap()
        );
        assert_eq!(cat.phone_usage().await.unwrap().clip_bytes, 600);
    }

    /// A new catalog at `path` brought to schema `version` only (an older app's catalog).
    fn catalog_at_version(path: &Path, version: usize) -> Connection {
        let mut conn = Connection::open(path).unwrap();
        migrations().to_version(&mut conn, version).unwrap();
        conn
    }

    /// A catalog at schema `version` holding one camera, one drive of it and `segments` (an
    /// INSERT into `segments` as that schema has it).
    fn old_catalog_with(path: &Path, version: usize, segments: &str) {
        let conn = catalog_at_version(path, version);
        conn.execute_batch(&format!(
            "INSERT INTO cameras VALUES (1, 'SIM', 'Sim', '1.0', 'http://x', 0, 0, 0, 1);
             INSERT INTO drives VALUES (1, 1, 'D1', 1000, NULL, 0);
             {segments}"
        ))
        .unwrap();
    }

    /// The schema refuses a digest algorithm it does not know.
    fn assert_unknown_algorithm_refused(path: &Path) {
        let conn = Connection::open(path).unwrap();
        let unknown = conn.execute("UPDATE segments SET hash_algorithm = 'md5' WHERE id = 5", []);
        assert!(unknown.is_err(), "the schema refuses an algorithm it does not know");
    }

    /// A catalog of the schema before segment digests (version 6: before the lenses of
    /// `0007_segment_channels` and the digests of `0008_segment_digest`), with a segment on the
    /// phone: it opens with the segment's hash kept
    /// and said to be SHA-256 (all there was), its phone copy and the usage it counts intact; a
    /// vendor file's BLAKE3 is recorded as such, and an algorithm the schema does not know is
    /// refused.
    #[tokio::test]
    async fn catalog_migration_to_segment_digests_keeps_each_segments_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let (video, telemetry) = ("c".repeat(64), "b".repeat(64));
        let segment = format!(
            "INSERT INTO segments (id, camera_id, drive_id, camera_segment_id, camera_seq,
                                   index_in_drive, started_at_ms, duration_ms, size_bytes, sha256,
                                   camera_locked, telemetry_size, telemetry_sha256, phone_file,
                                   phone_state)
                 VALUES (5, 1, 1, 'D1_S0001', 1, 0, 1000, 60000, 100, '{video}', 0, 10,
                         '{telemetry}', 'v.mp4', 'present');"
        );
        old_catalog_with(&path, 6, &segment);

        let cat = Catalog::open(&path).await.unwrap();
        let cam = CameraId(1);
        let old = cat.segment_by_camera_id(cam, "D1_S0001".into()).await.unwrap().unwrap();
        assert_eq!(old.content_hash, ContentHash::sha256(video));
        assert_eq!((old.id, old.size_bytes), (SegmentId(5), 100));
        assert_eq!(old.phone_file.as_deref(), Some("v.mp4"));
        assert_eq!(old.telemetry_sha256, telemetry);
        assert_eq!(cat.phone_bytes().await.unwrap(), 100);

        // A vendor file: the camera listed no checksum, the phone's BLAKE3 vouches for it.
        let blake3 =
            ContentHash { algorithm: crate::storage::HashAlgorithm::Blake3, hex: "d".repeat(64) };
        let file = SegmentInfo { sha256: String::new(), ..seg(2) };
        assert!(cat.note_camera_file(cam, file.clone(), blake3.clone()).await.unwrap());
        assert!(!cat.note_camera_file(cam, file, blake3.clone()).await.unwrap(), "known already");
        let new = cat.segment_by_camera_id(cam, seg(2).id).await.unwrap().unwrap();
        assert_eq!(new.content_hash, blake3);
        assert_unknown_algorithm_refused(&path);
    }

    /// A catalog of the schema before CRC-64 digests (version 8) holding a SHA-256 and a BLAKE3
    /// segment: both keep their digest and algorithm, a vendor file's CRC-64 is recorded as
    /// such, and an algorithm the schema does not know is still refused.
    #[tokio::test]
    async fn catalog_migration_to_crc64_digests_keeps_older_digests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let (sha, b3) = ("c".repeat(64), "d".repeat(64));
        let segments = format!(
            "INSERT INTO segments (id, camera_id, drive_id, camera_segment_id, camera_seq,
                                   index_in_drive, started_at_ms, duration_ms, size_bytes,
                                   content_hash, camera_locked, telemetry_size, telemetry_sha256,
                                   phone_file, phone_state, hash_algorithm)
                 VALUES (5, 1, 1, 'D1_S0001', 1, 0, 1000, 60000, 100, '{sha}', 0, 10, '', 'v.mp4',
                         'present', 'sha256'),
                        (6, 1, 1, 'F_MP4', 2, 1, 61000, 60000, 200, '{b3}', 0, 0, '', 'w.mp4',
                         'present', 'blake3');"
        );
        old_catalog_with(&path, 8, &segments);

        let cat = Catalog::open(&path).await.unwrap();
        let cam = CameraId(1);
        let old = cat.segment_by_camera_id(cam, "D1_S0001".into()).await.unwrap().unwrap();
        assert_eq!(old.content_hash, ContentHash::sha256(sha));
        let vendor = cat.segment_by_camera_id(cam, "F_MP4".into()).await.unwrap().unwrap();
        let blake3 = ContentHash { algorithm: crate::storage::HashAlgorithm::Blake3, hex: b3 };
        assert_eq!(vendor.content_hash, blake3);
        assert_eq!(cat.phone_bytes().await.unwrap(), 300);

        let crc = ContentHash {
            algorithm: crate::storage::HashAlgorithm::Crc64Nvme,
            hex: "ae8b14860a799888".into(),
        };
        let file = SegmentInfo { sha256: String::new(), ..seg(3) };
        assert!(cat.note_camera_file(cam, file, crc.clone()).await.unwrap());
        let new = cat.segment_by_camera_id(cam, seg(3).id).await.unwrap().unwrap();
        assert_eq!(new.content_hash, crc);
        assert_unknown_algorithm_refused(&path);
    }

    /// A simulated camera's status, for tests across the crate.
    pub(crate) fn status() -> CameraStatus {
        CameraStatus {
            protocol_version: 1,
            model: "Sim".into(),
            firmware: "1.0".into(),
            serial: "SN1".into(),
            sd_capacity_bytes: 1 << 30,
            sd_used_bytes: 0,
            recording: true,
            current_drive: Some("D1".into()),
            clock_ms: 0,
            latest_seq: 2,
        }
    }

    pub(super) fn seg(seq: u64) -> SegmentInfo {
        SegmentInfo {
            id: format!("D1_S{seq:04}"),
            drive_id: "D1".into(),
            seq,
            index_in_drive: u32::try_from(seq).unwrap_or(0),
            start_ms: 1_000 + i64::try_from(seq).unwrap_or(0) * 60_000,
            duration_ms: 60_000,
            size: 100,
            sha256: "a".repeat(64),
            locked: false,
            telemetry_size: 10,
            telemetry_sha256: "b".repeat(64),
            channel: Channel::Front,
        }
    }

    /// A segment of lens `channel` at `seq`, of drive `drive`, numbered `index` in its lens.
    fn lens(drive: &str, seq: u64, index: u32, channel: Channel) -> SegmentInfo {
        let at = seg(u64::from(index));
        SegmentInfo {
            id: format!("{drive}_{}_{index}", channel.as_str()),
            drive_id: drive.into(),
            seq,
            channel,
            ..at
        }
    }

    #[tokio::test]
    async fn the_lenses_of_a_moment_are_one_drive_whose_timeline_is_the_front() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        // A catalog of the last version without lenses, with a segment in it: it becomes front.
        let conn = catalog_at_version(&path, 6);
        conn.execute_batch(
            "INSERT INTO cameras VALUES (1, 'SIM', 'Sim', '1.0', 'http://x', 0, 0, 0, 1);
             INSERT INTO drives VALUES (1, 1, 'OLD', 1000, 61000, 0);
             INSERT INTO segments (id, camera_id, drive_id, camera_segment_id, camera_seq,
                 index_in_drive, started_at_ms, duration_ms, size_bytes, sha256, camera_locked,
                 telemetry_size, telemetry_sha256)
             VALUES (1, 1, 1, 'OLD_S0', 1, 0, 1000, 60000, 100, 'aa', 0, 10, 'bb');",
        )
        .unwrap();
        drop(conn);
        let cat = Catalog::open(&path).await.unwrap();
        let old = cat.drive_timeline(DriveId(1)).await.unwrap();
        assert_eq!(old.iter().map(|s| s.channel).collect::<Vec<_>>(), [Channel::Front]);

        // Front and rear of two moments, and a drive only the rear lens recorded.
        let cam = cat.upsert_camera(status(), "http://x".into()).await.unwrap();
        let files = vec![
            lens("D2", 10, 0, Channel::Front),
            lens("D2", 11, 0, Channel::Rear),
            lens("D2", 12, 1, Channel::Front),
            lens("D2", 13, 1, Channel::Rear),
            lens("D3", 14, 0, Channel::Rear),
        ];
        assert_eq!(cat.note_camera_segments(cam, files).await.unwrap(), 5);
        let drives = cat.drives().await.unwrap();
        let two = drives.iter().find(|d| d.camera_drive_id == "D2").unwrap();
        assert_eq!(two.channels, [Channel::Front, Channel::Rear]);
        assert_eq!(two.ended_at_ms - two.started_at_ms, 120_000, "two minutes, not four");
        let every: Vec<_> = cat.drive_segments(two.id).await.unwrap();
        let order: Vec<_> = every.iter().map(|s| (s.index_in_drive, s.channel)).collect();
        assert_eq!(
            order,
            [(0, Channel::Front), (0, Channel::Rear), (1, Channel::Front), (1, Channel::Rear)]
        );
        let timeline = cat.drive_timeline(two.id).await.unwrap();
        assert!(timeline.iter().all(|s| s.channel == Channel::Front) && timeline.len() == 2);
        let cut = cat.segments_overlapping(two.id, 0, i64::MAX).await.unwrap();
        assert_eq!(cut, timeline, "clips are cut from the timeline");
        let rear_only = drives.iter().find(|d| d.camera_drive_id == "D3").unwrap();
        let timeline = cat.drive_timeline(rear_only.id).await.unwrap();
        assert_eq!(timeline.iter().map(|s| s.channel).collect::<Vec<_>>(), [Channel::Rear]);

        // Bytes per hour: every lens's bytes over the timeline's hours (110 bytes a minute a
        // lens: two lenses of D2, one of the others).
        let rate = cat.recording_rate(100).await.unwrap().unwrap();
        assert!((rate - 6.0 * 110.0 * 60.0 / 4.0).abs() < 1e-6, "{rate}");
    }

    #[tokio::test]
    async fn residencies_follow_the_video() {
        let dir = tempfile::tempdir().unwrap();
        let cat = Catalog::open(&dir.path().join("c.sqlite")).await.unwrap();
        let cam = cat.upsert_camera(status(), "http://x".into()).await.unwrap();
        assert_eq!(cat.note_camera_segments(cam, vec![seg(1), seg(2)]).await.unwrap(), 2);
        assert_eq!(cat.note_camera_segments(cam, vec![seg(2)]).await.unwrap(), 0);
        let missing = cat.segments_missing_on_phone(cam).await.unwrap();
        assert_eq!(missing.len(), 2);
        // A Dashkeep camera's segment is vouched for by the SHA-256 it listed.
        assert_eq!(missing[0].content_hash, ContentHash::sha256("a".repeat(64)));

        let video = PhoneFile { name: "a.mp4".into() };
        let tele =
            TelemetryFile { name: "a.json".into(), size_bytes: 10, accel_samples: 1, gps_fixes: 1 };
        cat.record_phone_copy(missing[0].id, video, tele).await.unwrap();
        assert_eq!(cat.phone_bytes().await.unwrap(), 110);

        // The camera overwrote segment 1.
        assert_eq!(cat.note_camera_overwrites(cam, vec![2]).await.unwrap(), 1);
        let drives = cat.drives().await.unwrap();
        assert_eq!(drives.len(), 1);
        assert_eq!(drives[0].residencies, vec![Residency::Camera, Residency::Phone]);

        cat.mark_phone_copy_deleting(missing[0].id, "test").await.unwrap();
        cat.forget_phone_copy(missing[0].id, "test").await.unwrap();
        assert_eq!(cat.phone_bytes().await.unwrap(), 0);
        let drives = cat.drives().await.unwrap();
        assert_eq!(drives[0].residencies, vec![Residency::Camera]);
    }
}
