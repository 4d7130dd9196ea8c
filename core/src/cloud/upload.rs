//! Sending clips: the queue runner, one clip's resumable multipart upload, and the
//! platform-moved-bytes mode (presigned part URLs) sharing the same queue and records.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::backend::PresignedRequest;
use super::sidecar::Sidecar;
use super::{CloudError, CloudEvent, CloudService, blocking, random_hex};
use crate::catalog::{CloudPart, UploadJob, UploadState};

/// What one run of the queue did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueReport {
    /// Clips sent and verified.
    pub uploaded: usize,
    /// Clips found in the cloud already (same SHA-256): counted as uploaded, nothing sent.
    pub already_in_cloud: usize,
    /// Clips left for later: the network forbids them, or the platform moves their bytes.
    pub deferred: usize,
    /// Clips that failed this time (retried later, or failed for good; see their state).
    pub failed: usize,
    /// Deletions applied to the cloud.
    pub deletions_applied: usize,
}

/// How one clip's upload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadOutcome {
    /// Sent and verified; `bytes_sent` counts only this run's parts (less after a resume).
    Uploaded {
        /// Bytes sent in this run.
        bytes_sent: u64,
    },
    /// The cloud had it already with the same SHA-256.
    AlreadyInCloud,
}

/// One part for the platform to send.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlatformPart {
    /// 1-based part number.
    pub part_number: u32,
    /// First byte of the part in the clip file.
    pub offset: u64,
    /// Its length.
    pub length: u64,
    /// The presigned `PUT` to send it with; `None` when the part is in the cloud already.
    pub request: Option<PresignedRequest>,
}

/// A multipart upload the platform carries out: send each part's byte range of `file` with its
/// request, report each ETag with [`CloudService::platform_part_done`], then call
/// [`CloudService::complete_platform_upload`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlatformPlan {
    /// The clip.
    pub clip_id: i64,
    /// The clip file on the phone.
    pub file: PathBuf,
    /// Its size.
    pub size: u64,
    /// The cloud has it already: nothing to send.
    pub already_uploaded: bool,
    /// Every part, with those still to send carrying a request.
    pub parts: Vec<PlatformPart>,
}

/// `d` with jitter: uniformly between half of it and all of it.
pub(crate) fn jitter(d: Duration) -> Duration {
    use rand::RngExt;
    let half = d / 2;
    let extra = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
    half + Duration::from_millis(extra)
}

/// Reads `len` bytes at `offset` and their SHA-256 (base64), on the blocking pool. Bounded: one
/// part at a time, never the whole clip.
async fn read_part(path: PathBuf, offset: u64, len: u64) -> Result<(Bytes, String), CloudError> {
    blocking(move || {
        let io = |e| CloudError::Io { path: path.clone(), source: e };
        let mut f = std::fs::File::open(&path).map_err(io)?;
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        let n = usize::try_from(len).map_err(|_| CloudError::Integrity("part too large".into()))?;
        let mut buf = vec![0u8; n];
        f.read_exact(&mut buf).map_err(io)?;
        let sha = BASE64.encode(Sha256::digest(&buf));
        Ok((Bytes::from(buf), sha))
    })
    .await
}

/// The byte range of part `n` (1-based).
fn part_range(size: u64, part_size: u64, n: u32) -> (u64, u64) {
    let offset = u64::from(n - 1) * part_size;
    (offset, part_size.min(size.saturating_sub(offset)))
}

fn part_count(size: u64, part_size: u64) -> u32 {
    u32::try_from(size.div_ceil(part_size).max(1)).unwrap_or(u32::MAX)
}

impl CloudService {
    /// Runs the queue now: applies pending deletions, then uploads every queued clip the network
    /// and policy allow, oldest first ("send now" clips first). Stops with
    /// [`CloudError::Credentials`] when the store refuses the credentials.
    pub async fn run_queue(&self) -> Result<QueueReport, CloudError> {
        let _run = self.inner.run_lock.lock().await;
        self.set_stopped(None);
        let mut report = QueueReport::default();
        if self.network().has_internet() {
            report.deletions_applied = self.stop_on_credentials(self.apply_tombstones().await)?;
        }
        for job in self.inner.catalog.pending_uploads().await? {
            if job.platform || !self.policy().allows(self.network(), job.allow_cellular) {
                report.deferred += 1;
                continue;
            }
            match self.stop_on_credentials(self.upload_clip(job.clip_id, false).await) {
                Ok(UploadOutcome::AlreadyInCloud) => report.already_in_cloud += 1,
                Ok(UploadOutcome::Uploaded { .. }) => report.uploaded += 1,
                Err(CloudError::NetworkForbidden | CloudError::Cancelled) => report.deferred += 1,
                Err(e @ CloudError::Credentials(_)) => return Err(e),
                Err(_) => report.failed += 1,
            }
        }
        Ok(report)
    }

    fn stop_on_credentials<T>(&self, r: Result<T, CloudError>) -> Result<T, CloudError> {
        if let Err(CloudError::Credentials(e)) = &r {
            tracing::error!(error = %e, "cloud credentials refused; queue stopped");
            self.set_stopped(Some(e.clone()));
            self.emit(CloudEvent::QueueStopped { error: e.clone() });
        }
        r
    }

    /// "Send now": queues the clip if needed and uploads it at once. With `allow_cellular` it
    /// may use mobile data whatever the policy.
    pub async fn upload_now(
        &self,
        clip_id: i64,
        allow_cellular: bool,
    ) -> Result<UploadOutcome, CloudError> {
        self.inner.catalog.enqueue_upload(clip_id, random_hex(), allow_cellular, false).await?;
        self.stop_on_credentials(self.upload_clip(clip_id, allow_cellular).await)
    }

    /// The clip's upload job, or `None` when it is in the cloud already.
    async fn pending_job(&self, clip_id: i64) -> Result<Option<UploadJob>, CloudError> {
        let job = self
            .inner
            .catalog
            .upload_job(clip_id)
            .await?
            .ok_or(CloudError::UnknownClip(clip_id))?;
        Ok((job.state != UploadState::Uploaded).then_some(job))
    }

    /// Uploads one queued clip under the network guard, recording the outcome.
    async fn upload_clip(&self, clip_id: i64, send_now: bool) -> Result<UploadOutcome, CloudError> {
        let _one = self.inner.upload_lock.lock().await;
        let Some(job) = self.pending_job(clip_id).await? else {
            return Ok(UploadOutcome::AlreadyInCloud);
        };
        let cancel = CancellationToken::new();
        self.in_flight(clip_id, Some(cancel.clone()));
        let send_now = send_now || job.allow_cellular;
        let span = tracing::info_span!("cloud_upload", clip_id, size = job.size_bytes);
        let result = self.guarded(send_now, &cancel, self.transfer(job)).instrument(span).await;
        self.in_flight(clip_id, None);
        self.note_outcome(clip_id, &result).await?;
        result
    }

    fn in_flight(&self, clip_id: i64, token: Option<CancellationToken>) {
        let mut map = self.inner.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        match token {
            Some(t) => map.insert(clip_id, t),
            None => map.remove(&clip_id),
        };
    }

    async fn note_outcome(
        &self,
        clip_id: i64,
        result: &Result<UploadOutcome, CloudError>,
    ) -> Result<(), CloudError> {
        let Err(e) = result else { return Ok(()) };
        let Some(job) = self.inner.catalog.upload_job(clip_id).await? else { return Ok(()) };
        let resumable =
            if job.upload_id.is_some() { UploadState::Uploading } else { UploadState::Queued };
        let state = match e {
            CloudError::NetworkForbidden => {
                self.emit(CloudEvent::Paused { clip_id });
                return Ok(());
            }
            CloudError::Cancelled => return Ok(()),
            CloudError::Integrity(_) | CloudError::Io { .. } => UploadState::Failed,
            _ => resumable,
        };
        tracing::warn!(clip_id, error = %e, "upload failed");
        self.inner.catalog.set_upload_state(clip_id, state, Some(e.to_string())).await?;
        self.emit(CloudEvent::Failed { clip_id, error: e.to_string() });
        if state == UploadState::Failed {
            self.emit(CloudEvent::StateChanged { clip_id, state });
        }
        Ok(())
    }

    /// The clip file, checked against the catalog's size.
    async fn clip_file(&self, job: &UploadJob) -> Result<PathBuf, CloudError> {
        let name = job.phone_file.as_deref().ok_or_else(|| {
            CloudError::Integrity(format!("clip {} has no phone copy", job.clip_id))
        })?;
        let path = self.inner.layout.video_path(name);
        let len = tokio::fs::metadata(&path)
            .await
            .map_err(|e| CloudError::Io { path: path.clone(), source: e })?
            .len();
        if len != job.size_bytes {
            return Err(CloudError::Integrity(format!(
                "clip file is {len} bytes, catalog says {}",
                job.size_bytes
            )));
        }
        Ok(path)
    }

    /// Whether the cloud holds this clip already, whole and with the same SHA-256.
    async fn in_cloud(&self, job: &UploadJob) -> Result<bool, CloudError> {
        let info = self.inner.backend.head(&self.object_key(&job.cloud_key)).await?;
        Ok(info
            .is_some_and(|i| i.size == job.size_bytes && i.sha256.as_deref() == Some(&job.sha256)))
    }

    async fn transfer(&self, job: UploadJob) -> Result<UploadOutcome, CloudError> {
        let path = self.clip_file(&job).await?;
        if self.in_cloud(&job).await? {
            self.finish(&job).await?;
            return Ok(UploadOutcome::AlreadyInCloud);
        }
        self.set_state(job.clip_id, UploadState::Uploading).await?;
        let bytes_sent = if job.size_bytes <= self.inner.config.part_size && job.upload_id.is_none()
        {
            let (data, _) = read_part(path, 0, job.size_bytes).await?;
            self.inner
                .backend
                .put(&self.object_key(&job.cloud_key), data, Some(&job.sha256))
                .await?;
            job.size_bytes
        } else {
            self.multipart(&job, &path).await?
        };
        self.verify(&job).await?;
        self.finish(&job).await?;
        Ok(UploadOutcome::Uploaded { bytes_sent })
    }

    async fn set_state(&self, clip_id: i64, state: UploadState) -> Result<(), CloudError> {
        self.inner.catalog.set_upload_state(clip_id, state, None).await?;
        self.emit(CloudEvent::StateChanged { clip_id, state });
        Ok(())
    }

    /// Sends the parts not yet recorded and completes; a stale upload id is replaced once.
    async fn multipart(&self, job: &UploadJob, path: &Path) -> Result<u64, CloudError> {
        let mut job = job.clone();
        let mut sent = 0;
        for attempt in 0..2 {
            let (upload_id, part_size) = self.open_multipart(&job).await?;
            match self.send_parts(&job, path, &upload_id, part_size, &mut sent).await {
                Err(CloudError::UploadGone(why)) if attempt == 0 => {
                    tracing::warn!(clip_id = job.clip_id, %why, "stale multipart upload; restarting");
                    self.drop_multipart(job.clip_id, &job.cloud_key, &upload_id).await?;
                    job.upload_id = None;
                }
                r => return r.map(|()| sent),
            }
        }
        Err(CloudError::UploadGone("upload restarted twice".into()))
    }

    /// Aborts an upload (best effort) and forgets it and its parts.
    async fn drop_multipart(
        &self,
        clip_id: i64,
        cloud_key: &str,
        upload_id: &str,
    ) -> Result<(), CloudError> {
        if let Err(e) =
            self.inner.backend.abort_multipart(&self.object_key(cloud_key), upload_id).await
        {
            tracing::warn!(clip_id, error = %e, "could not abort a stale upload");
        }
        Ok(self.inner.catalog.reset_multipart(clip_id).await?)
    }

    /// The job's open upload, or a new one recorded before any part is sent.
    async fn open_multipart(&self, job: &UploadJob) -> Result<(String, u64), CloudError> {
        if let (Some(id), Some(size)) = (&job.upload_id, job.part_size) {
            return Ok((id.clone(), size));
        }
        let part_size = self.inner.config.part_size;
        let key = self.object_key(&job.cloud_key);
        let id = self.inner.backend.create_multipart(&key, &job.sha256).await?;
        self.inner.catalog.start_multipart(job.clip_id, id.clone(), part_size).await?;
        Ok((id, part_size))
    }

    async fn send_parts(
        &self,
        job: &UploadJob,
        path: &Path,
        upload_id: &str,
        part_size: u64,
        sent: &mut u64,
    ) -> Result<(), CloudError> {
        let count = part_count(job.size_bytes, part_size);
        let recorded = self.inner.catalog.recorded_parts(job.clip_id).await?;
        let done: HashSet<u32> = recorded
            .iter()
            .filter(|p| p.size_bytes == part_range(job.size_bytes, part_size, p.part_number).1)
            .map(|p| p.part_number)
            .collect();
        if done.len() != recorded.len() {
            return Err(CloudError::UploadGone("recorded parts do not fit the file".into()));
        }
        let todo: Vec<u32> = (1..=count).filter(|n| !done.contains(n)).collect();
        tracing::info!(
            clip_id = job.clip_id,
            parts = count,
            resuming = done.len(),
            "sending parts"
        );
        self.emit_progress(job, recorded.iter().map(|p| p.size_bytes).sum());
        let mut results = futures_util::stream::iter(todo)
            .map(|n| self.send_part(job, path, upload_id, part_size, n))
            .buffer_unordered(self.inner.config.concurrency);
        while let Some((len, bytes_done)) = results.try_next().await? {
            *sent += len;
            self.emit_progress(job, bytes_done);
        }
        drop(results);
        self.complete(job, upload_id, count).await
    }

    fn emit_progress(&self, job: &UploadJob, bytes_done: u64) {
        self.emit(CloudEvent::Progress {
            clip_id: job.clip_id,
            bytes_done,
            bytes_total: job.size_bytes,
        });
    }

    /// Sends one part (retrying transient failures with backoff and jitter) and records it.
    /// Returns its length and the bytes recorded so far.
    async fn send_part(
        &self,
        job: &UploadJob,
        path: &Path,
        upload_id: &str,
        part_size: u64,
        n: u32,
    ) -> Result<(u64, u64), CloudError> {
        let (offset, len) = part_range(job.size_bytes, part_size, n);
        let (data, sha256) = read_part(path.to_path_buf(), offset, len).await?;
        let key = self.object_key(&job.cloud_key);
        let retry = &self.inner.config.retry;
        let mut backoff = retry.initial_backoff;
        let mut attempt = 1;
        let part_id = loop {
            match self.inner.backend.put_part(&key, upload_id, n, data.clone()).await {
                Ok(id) => break id,
                Err(CloudError::Transient(e)) if attempt < retry.part_attempts => {
                    tracing::warn!(clip_id = job.clip_id, part = n, attempt, error = %e, "part failed; retrying");
                    tokio::time::sleep(jitter(backoff)).await;
                    backoff = (backoff * 2).min(retry.max_backoff);
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let part = CloudPart { part_number: n, size_bytes: len, part_id, sha256 };
        let done = self.inner.catalog.record_part(job.clip_id, upload_id.to_string(), part).await?;
        Ok((len, done))
    }

    /// Completes the upload from the recorded parts.
    async fn complete(
        &self,
        job: &UploadJob,
        upload_id: &str,
        count: u32,
    ) -> Result<(), CloudError> {
        let parts = self.inner.catalog.recorded_parts(job.clip_id).await?;
        let in_order = parts.iter().zip(1..=count).all(|(p, n)| p.part_number == n);
        if parts.len() != count as usize || !in_order {
            return Err(CloudError::Transient(format!(
                "{} of {count} parts recorded",
                parts.len()
            )));
        }
        let ids = parts.into_iter().map(|p| p.part_id).collect();
        self.inner
            .backend
            .complete_multipart(&self.object_key(&job.cloud_key), upload_id, ids)
            .await
    }

    /// Checks the object the store holds now: size and recorded SHA-256.
    async fn verify(&self, job: &UploadJob) -> Result<(), CloudError> {
        let key = self.object_key(&job.cloud_key);
        let info = self
            .inner
            .backend
            .head(&key)
            .await?
            .ok_or_else(|| CloudError::NotFound(key.clone()))?;
        if info.size != job.size_bytes || info.sha256.as_deref() != Some(&job.sha256) {
            return Err(CloudError::Integrity(format!(
                "{key} is {} bytes with SHA-256 {:?}; expected {} and {}",
                info.size, info.sha256, job.size_bytes, job.sha256
            )));
        }
        Ok(())
    }

    /// Writes the sidecar and records the clip as in the cloud.
    async fn finish(&self, job: &UploadJob) -> Result<(), CloudError> {
        let sidecar = serde_json::to_vec(&Sidecar::from_job(job))
            .map_err(|e| CloudError::Integrity(e.to_string()))?;
        self.inner
            .backend
            .put(&self.sidecar_key(&job.cloud_key), Bytes::from(sidecar), None)
            .await?;
        self.inner.catalog.mark_uploaded(job.clip_id).await?;
        self.emit_progress(job, job.size_bytes);
        self.emit(CloudEvent::StateChanged { clip_id: job.clip_id, state: UploadState::Uploaded });
        tracing::info!(clip_id = job.clip_id, "clip in the cloud");
        Ok(())
    }

    /// Platform mode, step 1: queues the clip for the platform to send, opens (or reuses) its
    /// multipart upload, and returns every part's byte range with a presigned `UploadPart` request
    /// for those not in the cloud yet. Call again to get fresh URLs after they expire or after
    /// [`CloudError::UploadGone`].
    pub async fn plan_platform_upload(&self, clip_id: i64) -> Result<PlatformPlan, CloudError> {
        let job = self.inner.catalog.enqueue_upload(clip_id, random_hex(), false, true).await?;
        let path = self.clip_file(&job).await?;
        let mut plan = PlatformPlan {
            clip_id,
            file: path.clone(),
            size: job.size_bytes,
            already_uploaded: true,
            parts: vec![],
        };
        if job.state == UploadState::Uploaded {
            return Ok(plan);
        }
        if self.in_cloud(&job).await? {
            self.finish(&job).await?;
            return Ok(plan);
        }
        plan.already_uploaded = false;
        let (upload_id, part_size) = self.open_multipart(&job).await?;
        self.set_state(clip_id, UploadState::Uploading).await?;
        let done: HashSet<u32> = self
            .inner
            .catalog
            .recorded_parts(clip_id)
            .await?
            .iter()
            .map(|p| p.part_number)
            .collect();
        let key = self.object_key(&job.cloud_key);
        for n in 1..=part_count(job.size_bytes, part_size) {
            let (offset, length) = part_range(job.size_bytes, part_size, n);
            let request = if done.contains(&n) {
                None
            } else {
                let sha = part_sha256(path.clone(), offset, length).await?;
                let expiry = self.inner.config.part_url_expiry;
                Some(self.inner.backend.presign_part(&key, &upload_id, n, &sha, expiry).await?)
            };
            plan.parts.push(PlatformPart { part_number: n, offset, length, request });
        }
        Ok(plan)
    }

    /// Platform mode, step 2: the platform sent part `part_number` and got `etag`. Recorded at
    /// once, so a later plan does not hand the part out again.
    pub async fn platform_part_done(
        &self,
        clip_id: i64,
        part_number: u32,
        etag: String,
    ) -> Result<(), CloudError> {
        let job = self
            .inner
            .catalog
            .upload_job(clip_id)
            .await?
            .ok_or(CloudError::UnknownClip(clip_id))?;
        let (Some(upload_id), Some(part_size)) = (job.upload_id.clone(), job.part_size) else {
            return Err(CloudError::UploadGone(format!("clip {clip_id} has no open upload")));
        };
        if part_number == 0 || part_number > part_count(job.size_bytes, part_size) {
            return Err(CloudError::Integrity(format!("no part {part_number}")));
        }
        let path = self.clip_file(&job).await?;
        let (offset, len) = part_range(job.size_bytes, part_size, part_number);
        let sha256 = part_sha256(path, offset, len).await?;
        let part_id = self.inner.backend.part_id_from_etag(&etag, &sha256);
        let part = CloudPart { part_number, size_bytes: len, part_id, sha256 };
        let done = self.inner.catalog.record_part(clip_id, upload_id, part).await?;
        self.emit_progress(&job, done);
        Ok(())
    }

    /// Platform mode, step 3: completes the upload once every part is recorded, verifies the
    /// object and writes the sidecar. On [`CloudError::UploadGone`] the upload was reset: plan
    /// again.
    pub async fn complete_platform_upload(
        &self,
        clip_id: i64,
    ) -> Result<UploadOutcome, CloudError> {
        let Some(job) = self.pending_job(clip_id).await? else {
            return Ok(UploadOutcome::AlreadyInCloud);
        };
        let (Some(upload_id), Some(part_size)) = (job.upload_id.clone(), job.part_size) else {
            return Err(CloudError::UploadGone(format!("clip {clip_id} has no open upload")));
        };
        let count = part_count(job.size_bytes, part_size);
        match self.complete(&job, &upload_id, count).await {
            Err(CloudError::UploadGone(why)) => {
                self.drop_multipart(clip_id, &job.cloud_key, &upload_id).await?;
                return Err(CloudError::UploadGone(why));
            }
            r => r?,
        }
        self.verify(&job).await?;
        self.finish(&job).await?;
        Ok(UploadOutcome::Uploaded { bytes_sent: job.size_bytes })
    }
}

async fn part_sha256(path: PathBuf, offset: u64, len: u64) -> Result<String, CloudError> {
    blocking(move || {
        let io = |e| CloudError::Io { path: path.clone(), source: e };
        let mut f = std::fs::File::open(&path).map_err(io)?;
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut hasher = Sha256::new();
        let total = super::hash_into(f.take(len), &mut hasher).map_err(io)?;
        if total != len {
            return Err(CloudError::Integrity("clip file shorter than planned".into()));
        }
        Ok(BASE64.encode(hasher.finalize()))
    })
    .await
}
