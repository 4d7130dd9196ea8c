//! The catalog's side of the cloud: the upload queue, completed multipart parts, delete
//! tombstones, clips restored from the cloud, and the clip's cloud identity (`cloud_key`).

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::Serialize;

use super::{Catalog, CatalogError, DriveId, Residency, now_ms, to_i64};

/// A finished clip file to register in the catalog (state `ready`, with an open `phone`
/// residency). The clips module calls this when it cuts a clip; tests use it to make clips.
#[derive(Debug, Clone, PartialEq)]
pub struct NewClip {
    /// The drive it was cut from, if known on this phone.
    pub drive_id: Option<DriveId>,
    /// Why it exists: `hard_brake`, `collision`, `camera_locked` or `manual`.
    pub reason: String,
    /// First millisecond of video (ms since the epoch).
    pub start_ms: i64,
    /// End of the video (ms since the epoch), after `start_ms`.
    pub end_ms: i64,
    /// Its file name under the videos directory.
    pub phone_file: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Peak acceleration of the event, in g, if an event made it.
    pub peak_g: Option<f64>,
    /// Where it happened (latitude, longitude), if known.
    pub location: Option<(f64, f64)>,
}

/// Where a clip's upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// Waiting for a network the policy allows.
    Queued,
    /// A multipart upload is open; some parts may be in the cloud already.
    Uploading,
    /// The clip and its sidecar are in the cloud, verified.
    Uploaded,
    /// It cannot go without the user (file missing or changed); `last_error` says why.
    Failed,
}

impl UploadState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Uploading => "uploading",
            Self::Uploaded => "uploaded",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "uploading" => Self::Uploading,
            "uploaded" => Self::Uploaded,
            "failed" => Self::Failed,
            _ => Self::Queued,
        }
    }
}

/// One clip's upload job with what the uploader needs of the clip.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadJob {
    /// The clip's catalog id.
    pub clip_id: i64,
    /// Where the upload stands.
    pub state: UploadState,
    /// The platform moves the bytes (presigned part URLs) instead of the core.
    pub platform: bool,
    /// The user asked to send it now, over cellular too.
    pub allow_cellular: bool,
    /// The open multipart upload, if any.
    pub upload_id: Option<String>,
    /// The part size fixed with that upload.
    pub part_size: Option<u64>,
    /// Bytes of recorded parts.
    pub bytes_done: u64,
    /// Attempts that failed so far.
    pub attempts: u32,
    /// The last failure, for the UI.
    pub last_error: Option<String>,
    /// The clip's cloud identity.
    pub cloud_key: String,
    /// Its file under the videos directory, while the phone has it.
    pub phone_file: Option<String>,
    /// Its size.
    pub size_bytes: u64,
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// Why the clip exists.
    pub reason: String,
    /// Start (ms since the epoch).
    pub start_ms: i64,
    /// End (ms since the epoch).
    pub end_ms: i64,
    /// The drive it was cut from on this phone.
    pub drive_id: Option<i64>,
    /// When the clip was made.
    pub created_at_ms: i64,
    /// Peak acceleration (g), from the clip or its event.
    pub peak_g: Option<f64>,
    /// Latitude and longitude, from the clip or its event.
    pub location: Option<(f64, f64)>,
}

/// A part of a multipart upload the store acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudPart {
    /// 1-based, as S3 numbers parts.
    pub part_number: u32,
    /// Its length.
    pub size_bytes: u64,
    /// What completing the upload needs (the ETag, with the checksum when there is one).
    pub part_id: String,
    /// SHA-256 of the part's bytes, base64.
    pub sha256: String,
}

/// A deleted clip whose cloud objects must go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// The clip's cloud identity.
    pub cloud_key: String,
    /// Its catalog id.
    pub clip_id: Option<i64>,
    /// A multipart upload to abort.
    pub upload_id: Option<String>,
}

/// A clip found in the cloud that this catalog does not know (after a reinstall).
#[derive(Debug, Clone, PartialEq)]
pub struct RestoredClip {
    /// Its cloud identity.
    pub cloud_key: String,
    /// Why it exists.
    pub reason: String,
    /// Start (ms since the epoch).
    pub start_ms: i64,
    /// End (ms since the epoch).
    pub end_ms: i64,
    /// Size of the video.
    pub size_bytes: u64,
    /// SHA-256 of the video (hex).
    pub sha256: String,
    /// When it was made.
    pub created_at_ms: i64,
    /// Peak acceleration (g).
    pub peak_g: Option<f64>,
    /// Latitude and longitude.
    pub location: Option<(f64, f64)>,
}

/// A clip as the cloud screen lists it: where it lives and how its upload goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloudClipRow {
    /// Catalog id.
    pub clip_id: i64,
    /// Cloud identity, once it has one.
    pub cloud_key: Option<String>,
    /// Why it exists.
    pub reason: String,
    /// Start (ms since the epoch).
    pub start_ms: i64,
    /// End (ms since the epoch).
    pub end_ms: i64,
    /// Size of the video.
    pub size_bytes: u64,
    /// Where it lives now.
    pub residencies: Vec<Residency>,
    /// Its upload, if it was ever queued.
    pub upload_state: Option<UploadState>,
    /// Bytes in the cloud so far.
    pub bytes_done: u64,
    /// The last upload failure.
    pub last_error: Option<String>,
}

const JOB_SELECT: &str = "SELECT u.clip_id, u.state, u.mode, u.allow_cellular, u.upload_id,
        u.part_size, u.bytes_done, u.attempts, u.last_error, c.cloud_key, c.phone_file,
        COALESCE(c.size_bytes, 0), COALESCE(c.sha256, ''), c.reason, c.start_ms, c.end_ms,
        c.drive_id, c.created_at_ms, COALESCE(c.peak_g, e.peak_g), COALESCE(c.lat, e.lat),
        COALESCE(c.lon, e.lon)
    FROM cloud_uploads u JOIN clips c ON c.id = u.clip_id LEFT JOIN events e ON e.id = c.event_id";

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn location(lat: Option<f64>, lon: Option<f64>) -> Option<(f64, f64)> {
    lat.zip(lon)
}

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<UploadJob> {
    Ok(UploadJob {
        clip_id: r.get(0)?,
        state: UploadState::parse(&r.get::<_, String>(1)?),
        platform: r.get::<_, String>(2)? == "platform",
        allow_cellular: r.get(3)?,
        upload_id: r.get(4)?,
        part_size: r.get::<_, Option<i64>>(5)?.map(u64_of),
        bytes_done: u64_of(r.get(6)?),
        attempts: u32::try_from(r.get::<_, i64>(7)?).unwrap_or(u32::MAX),
        last_error: r.get(8)?,
        cloud_key: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
        phone_file: r.get(10)?,
        size_bytes: u64_of(r.get(11)?),
        sha256: r.get(12)?,
        reason: r.get(13)?,
        start_ms: r.get(14)?,
        end_ms: r.get(15)?,
        drive_id: r.get(16)?,
        created_at_ms: r.get(17)?,
        peak_g: r.get(18)?,
        location: location(r.get(19)?, r.get(20)?),
    })
}

fn job(c: &Connection, clip_id: i64) -> Result<Option<UploadJob>, CatalogError> {
    let sql = format!("{JOB_SELECT} WHERE u.clip_id = ?1");
    Ok(c.query_row(&sql, [clip_id], job_from_row).optional()?)
}

fn open_residency(tx: &Transaction<'_>, clip_id: i64, place: &str) -> rusqlite::Result<usize> {
    tx.execute(
        "INSERT OR IGNORE INTO residencies (clip_id, place, arrived_at_ms) VALUES (?1, ?2, ?3)",
        params![clip_id, place, now_ms()],
    )
}

fn close_residency(
    tx: &Transaction<'_>,
    clip_id: i64,
    place: &str,
    reason: &str,
) -> rusqlite::Result<usize> {
    tx.execute(
        "UPDATE residencies SET left_at_ms = ?3, left_reason = ?4
         WHERE clip_id = ?1 AND place = ?2 AND left_at_ms IS NULL",
        params![clip_id, place, now_ms(), reason],
    )
}

impl Catalog {
    /// Registers a finished clip file: a `ready` clips row with an open `phone` residency.
    pub async fn insert_ready_clip(&self, clip: NewClip) -> Result<i64, CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO clips (drive_id, reason, start_ms, end_ms, state, phone_file,
                                    size_bytes, sha256, created_at_ms, peak_g, lat, lon)
                 VALUES (?1, ?2, ?3, ?4, 'ready', ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    clip.drive_id.map(|d| d.0),
                    clip.reason,
                    clip.start_ms,
                    clip.end_ms,
                    clip.phone_file,
                    to_i64(clip.size_bytes),
                    clip.sha256,
                    now_ms(),
                    clip.peak_g,
                    clip.location.map(|l| l.0),
                    clip.location.map(|l| l.1),
                ],
            )?;
            let id = tx.last_insert_rowid();
            open_residency(&tx, id, "phone")?;
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    /// Queues a `ready` clip for upload, giving it `cloud_key` if it has no cloud identity yet.
    /// An existing job keeps its progress; a failed one is queued again. `allow_cellular` marks
    /// it "send now" (it may then go over cellular whatever the policy). Returns the job.
    pub async fn enqueue_upload(
        &self,
        clip_id: i64,
        cloud_key: String,
        allow_cellular: bool,
        platform: bool,
    ) -> Result<UploadJob, CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE clips SET cloud_key = COALESCE(cloud_key, ?2)
                 WHERE id = ?1 AND state = 'ready'",
                params![clip_id, cloud_key],
            )?;
            if n == 0 {
                return Err(CatalogError::NotFound { what: "ready clip", id: clip_id });
            }
            let now = now_ms();
            let mode = if platform { "platform" } else { "core" };
            tx.execute(
                "INSERT INTO cloud_uploads (clip_id, state, mode, allow_cellular, queued_at_ms,
                                            updated_at_ms)
                 VALUES (?1, 'queued', ?2, ?3, ?4, ?4)
                 ON CONFLICT (clip_id) DO UPDATE SET
                     state = CASE WHEN state = 'failed' THEN 'queued' ELSE state END,
                     allow_cellular = MAX(allow_cellular, ?3), mode = ?2, updated_at_ms = ?4",
                params![clip_id, mode, allow_cellular, now],
            )?;
            tx.commit()?;
            job(c, clip_id)?.ok_or(CatalogError::NotFound { what: "upload", id: clip_id })
        })
        .await
    }

    /// One clip's upload job.
    pub async fn upload_job(&self, clip_id: i64) -> Result<Option<UploadJob>, CatalogError> {
        self.call(move |c| job(c, clip_id)).await
    }

    /// Jobs still to send (queued or uploading), oldest first.
    pub async fn pending_uploads(&self) -> Result<Vec<UploadJob>, CatalogError> {
        self.call(|c| {
            let sql = format!(
                "{JOB_SELECT} WHERE u.state IN ('queued', 'uploading')
                 ORDER BY u.allow_cellular DESC, u.queued_at_ms, u.clip_id"
            );
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map([], job_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Sets a job's state, counting a failure when `error` is given.
    pub async fn set_upload_state(
        &self,
        clip_id: i64,
        state: UploadState,
        error: Option<String>,
    ) -> Result<(), CatalogError> {
        self.call(move |c| {
            c.execute(
                "UPDATE cloud_uploads SET state = ?2, last_error = ?3,
                     attempts = attempts + (?3 IS NOT NULL), updated_at_ms = ?4
                 WHERE clip_id = ?1",
                params![clip_id, state.as_str(), error, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    /// Records a new multipart upload for the clip (forgetting parts of any earlier one).
    pub async fn start_multipart(
        &self,
        clip_id: i64,
        upload_id: String,
        part_size: u64,
    ) -> Result<(), CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM cloud_parts WHERE clip_id = ?1", [clip_id])?;
            tx.execute(
                "UPDATE cloud_uploads SET upload_id = ?2, part_size = ?3, bytes_done = 0,
                     state = 'uploading', updated_at_ms = ?4 WHERE clip_id = ?1",
                params![clip_id, upload_id, to_i64(part_size), now_ms()],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Forgets the clip's multipart upload and its parts (it was aborted or went stale).
    pub async fn reset_multipart(&self, clip_id: i64) -> Result<(), CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM cloud_parts WHERE clip_id = ?1", [clip_id])?;
            tx.execute(
                "UPDATE cloud_uploads SET upload_id = NULL, part_size = NULL, bytes_done = 0,
                     updated_at_ms = ?2 WHERE clip_id = ?1",
                params![clip_id, now_ms()],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Records a part the store acknowledged, if `upload_id` is still the clip's upload.
    /// Returns the bytes recorded for that upload so far.
    pub async fn record_part(
        &self,
        clip_id: i64,
        upload_id: String,
        part: CloudPart,
    ) -> Result<u64, CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT OR REPLACE INTO cloud_parts
                     (clip_id, upload_id, part_number, size_bytes, part_id, sha256)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6 FROM cloud_uploads
                 WHERE clip_id = ?1 AND upload_id = ?2",
                params![
                    clip_id,
                    upload_id,
                    part.part_number,
                    to_i64(part.size_bytes),
                    part.part_id,
                    part.sha256
                ],
            )?;
            let done: i64 = tx.query_row(
                "SELECT COALESCE(SUM(size_bytes), 0) FROM cloud_parts
                 WHERE clip_id = ?1 AND upload_id = ?2",
                params![clip_id, upload_id],
                |r| r.get(0),
            )?;
            tx.execute(
                "UPDATE cloud_uploads SET bytes_done = ?2, updated_at_ms = ?3 WHERE clip_id = ?1",
                params![clip_id, done, now_ms()],
            )?;
            tx.commit()?;
            Ok(u64_of(done))
        })
        .await
    }

    /// The recorded parts of the clip's current upload, by part number.
    pub async fn recorded_parts(&self, clip_id: i64) -> Result<Vec<CloudPart>, CatalogError> {
        self.call(move |c| {
            let mut st = c.prepare(
                "SELECT p.part_number, p.size_bytes, p.part_id, p.sha256 FROM cloud_parts p
                 JOIN cloud_uploads u ON u.clip_id = p.clip_id AND u.upload_id = p.upload_id
                 WHERE p.clip_id = ?1 ORDER BY p.part_number",
            )?;
            let rows = st.query_map([clip_id], |r| {
                Ok(CloudPart {
                    part_number: r.get(0)?,
                    size_bytes: u64_of(r.get(1)?),
                    part_id: r.get(2)?,
                    sha256: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// The clip is in the cloud, verified: job `uploaded`, parts forgotten, `cloud` residency open.
    pub async fn mark_uploaded(&self, clip_id: i64) -> Result<(), CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM cloud_parts WHERE clip_id = ?1", [clip_id])?;
            let n = tx.execute(
                "UPDATE cloud_uploads SET state = 'uploaded', upload_id = NULL, last_error = NULL,
                     bytes_done = (SELECT COALESCE(size_bytes, 0) FROM clips WHERE id = ?1),
                     updated_at_ms = ?2
                 WHERE clip_id = ?1",
                params![clip_id, now_ms()],
            )?;
            // A clip deleted meanwhile has no job: its tombstone removes the objects.
            if n > 0 {
                open_residency(&tx, clip_id, "cloud")?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// First step of the user deleting a clip: marks it `deleted`, drops its upload job, and
    /// queues a tombstone for its cloud objects (when it has a cloud identity). Returns the
    /// phone file to unlink and the tombstone. Any clip the user sees can be deleted: one still
    /// pending (not cut yet) is cancelled for good, as it has no file nor cloud object yet (it is
    /// never cut, its segments are no longer kept for it, and its incident is not clipped again).
    pub async fn delete_clip_by_user(
        &self,
        clip_id: i64,
    ) -> Result<(Option<String>, Option<Tombstone>), CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let row: Option<(Option<String>, Option<String>)> = tx
                .query_row(
                    "SELECT phone_file, cloud_key FROM clips WHERE id = ?1",
                    [clip_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((phone_file, cloud_key)) = row else {
                return Err(CatalogError::NotFound { what: "clip", id: clip_id });
            };
            let upload_id: Option<String> = tx
                .query_row(
                    "SELECT upload_id FROM cloud_uploads WHERE clip_id = ?1",
                    [clip_id],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            tx.execute("UPDATE clips SET state = 'deleted' WHERE id = ?1", [clip_id])?;
            tx.execute("DELETE FROM cloud_parts WHERE clip_id = ?1", [clip_id])?;
            tx.execute("DELETE FROM cloud_uploads WHERE clip_id = ?1", [clip_id])?;
            let tomb = cloud_key.map(|key| Tombstone {
                cloud_key: key,
                clip_id: Some(clip_id),
                upload_id,
            });
            if let Some(t) = &tomb {
                tx.execute(
                    "INSERT INTO cloud_tombstones (cloud_key, clip_id, upload_id, created_at_ms)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (cloud_key) DO UPDATE SET applied_at_ms = NULL",
                    params![t.cloud_key, clip_id, t.upload_id, now_ms()],
                )?;
            }
            tx.commit()?;
            Ok((phone_file, tomb))
        })
        .await
    }

    /// Tombstones whose cloud objects are not removed yet.
    pub async fn pending_tombstones(&self) -> Result<Vec<Tombstone>, CatalogError> {
        self.call(|c| {
            let mut st = c.prepare(
                "SELECT cloud_key, clip_id, upload_id FROM cloud_tombstones
                 WHERE applied_at_ms IS NULL ORDER BY created_at_ms",
            )?;
            let rows = st.query_map([], |r| {
                Ok(Tombstone { cloud_key: r.get(0)?, clip_id: r.get(1)?, upload_id: r.get(2)? })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// The cloud objects of a tombstone are gone: closes the clip's `cloud` residency.
    pub async fn tombstone_applied(&self, cloud_key: String) -> Result<(), CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let clip: Option<Option<i64>> = tx
                .query_row(
                    "SELECT clip_id FROM cloud_tombstones WHERE cloud_key = ?1",
                    [&cloud_key],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute(
                "UPDATE cloud_tombstones SET applied_at_ms = ?2, last_error = NULL
                 WHERE cloud_key = ?1",
                params![cloud_key, now_ms()],
            )?;
            if let Some(Some(clip_id)) = clip {
                close_residency(&tx, clip_id, "cloud", "deleted_by_user")?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Notes why a tombstone could not be applied yet.
    pub async fn tombstone_failed(
        &self,
        cloud_key: String,
        error: String,
    ) -> Result<(), CatalogError> {
        self.call(move |c| {
            c.execute(
                "UPDATE cloud_tombstones SET last_error = ?2 WHERE cloud_key = ?1",
                params![cloud_key, error],
            )?;
            Ok(())
        })
        .await
    }

    /// Adds a clip found in the cloud: a `ready` clip with no phone file, an `uploaded` job and an
    /// open `cloud` residency. Returns `None` when the clip is known or was deleted by the user.
    pub async fn insert_restored_clip(
        &self,
        clip: RestoredClip,
    ) -> Result<Option<i64>, CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let known: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM clips WHERE cloud_key = ?1)
                     OR EXISTS (SELECT 1 FROM cloud_tombstones WHERE cloud_key = ?1)",
                [&clip.cloud_key],
                |r| r.get(0),
            )?;
            if known {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO clips (reason, start_ms, end_ms, state, size_bytes, sha256,
                                    created_at_ms, cloud_key, peak_g, lat, lon)
                 VALUES (?1, ?2, ?3, 'ready', ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    clip.reason,
                    clip.start_ms,
                    clip.end_ms,
                    to_i64(clip.size_bytes),
                    clip.sha256,
                    clip.created_at_ms,
                    clip.cloud_key,
                    clip.peak_g,
                    clip.location.map(|l| l.0),
                    clip.location.map(|l| l.1),
                ],
            )?;
            let id = tx.last_insert_rowid();
            let now = now_ms();
            tx.execute(
                "INSERT INTO cloud_uploads (clip_id, state, bytes_done, queued_at_ms, updated_at_ms)
                 VALUES (?1, 'uploaded', ?2, ?3, ?3)",
                params![id, to_i64(clip.size_bytes), now],
            )?;
            open_residency(&tx, id, "cloud")?;
            tx.commit()?;
            Ok(Some(id))
        })
        .await
    }

    /// Names the phone's copy of a clip (downloaded, fsynced in place) and opens its `phone`
    /// residency.
    pub async fn record_clip_phone_copy(
        &self,
        clip_id: i64,
        phone_file: String,
    ) -> Result<(), CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE clips SET phone_file = ?2 WHERE id = ?1 AND state = 'ready'",
                params![clip_id, phone_file],
            )?;
            if n == 0 {
                return Err(CatalogError::NotFound { what: "ready clip", id: clip_id });
            }
            open_residency(&tx, clip_id, "phone")?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Every clip not deleted, newest first, with its residencies and upload progress.
    pub async fn cloud_clips(&self) -> Result<Vec<CloudClipRow>, CatalogError> {
        self.call(|c| {
            let mut st = c.prepare(
                "SELECT c.id, c.cloud_key, c.reason, c.start_ms, c.end_ms,
                        COALESCE(c.size_bytes, 0), u.state, COALESCE(u.bytes_done, 0), u.last_error,
                        (SELECT group_concat(place) FROM residencies r
                          WHERE r.clip_id = c.id AND r.left_at_ms IS NULL)
                 FROM clips c LEFT JOIN cloud_uploads u ON u.clip_id = c.id
                 WHERE c.state = 'ready' ORDER BY c.start_ms DESC, c.id DESC",
            )?;
            let rows = st.query_map([], |r| {
                let residencies = super::model::residencies_from_places(r.get(9)?);
                Ok(CloudClipRow {
                    clip_id: r.get(0)?,
                    cloud_key: r.get(1)?,
                    reason: r.get(2)?,
                    start_ms: r.get(3)?,
                    end_ms: r.get(4)?,
                    size_bytes: u64_of(r.get(5)?),
                    upload_state: r.get::<_, Option<String>>(6)?.map(|s| UploadState::parse(&s)),
                    bytes_done: u64_of(r.get(7)?),
                    last_error: r.get(8)?,
                    residencies,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// The clip's cloud identity and size and SHA-256, if it has one and is not deleted.
    pub async fn clip_cloud_identity(
        &self,
        clip_id: i64,
    ) -> Result<Option<(String, u64, String)>, CatalogError> {
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT cloud_key, COALESCE(size_bytes, 0), COALESCE(sha256, '') FROM clips
                 WHERE id = ?1 AND state = 'ready' AND cloud_key IS NOT NULL",
                [clip_id],
                |r| Ok((r.get(0)?, u64_of(r.get(1)?), r.get(2)?)),
            )
            .optional()?)
        })
        .await
    }
}
