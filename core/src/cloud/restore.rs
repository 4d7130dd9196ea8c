//! Restore, download, share and delete: the cloud's copies as the user sees them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::sidecar::{MAX_SIDECAR_BYTES, Sidecar};
use super::{CloudError, CloudEvent, CloudService, blocking};
use crate::storage::{commit_rename, remove_clip_phone_copy};

/// What a sync from the cloud found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Clips added to the catalog (cloud residency, no phone copy).
    pub added: usize,
    /// Clips the catalog knew, or the user deleted (never brought back).
    pub skipped: usize,
    /// Objects whose sidecar was missing, unreadable or did not match the video.
    pub invalid: usize,
}

/// What deleting a clip did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DeleteOutcome {
    /// The phone's copy was removed.
    pub removed_from_phone: bool,
    /// The cloud's copy is gone now; false while its deletion waits for a network.
    pub removed_from_cloud: bool,
}

impl CloudService {
    /// After a reinstall (or on another phone of the same account): lists the account's clips in
    /// the cloud and adds those the catalog lacks, each with an open `cloud` residency and no
    /// phone copy. Clips the user deleted are never brought back.
    pub async fn sync_from_cloud(&self) -> Result<SyncReport, CloudError> {
        let span = tracing::info_span!("cloud_sync", account = %self.inner.config.account);
        async {
            let listed = self.inner.backend.list(&self.clips_prefix()).await?;
            let videos: HashMap<String, u64> =
                listed.iter().filter_map(|l| Some((key_stem(&l.key, ".mp4")?, l.size))).collect();
            let mut report = SyncReport::default();
            for l in &listed {
                let Some(cloud_key) = key_stem(&l.key, ".json") else { continue };
                match self.restore_one(&cloud_key, videos.get(&cloud_key).copied()).await {
                    Ok(true) => report.added += 1,
                    Ok(false) => report.skipped += 1,
                    Err(CloudError::Integrity(why) | CloudError::NotFound(why)) => {
                        tracing::warn!(%cloud_key, %why, "cloud clip not restored");
                        report.invalid += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
            tracing::info!(?report, "sync from cloud done");
            Ok(report)
        }
        .instrument(span)
        .await
    }

    async fn restore_one(
        &self,
        cloud_key: &str,
        video_size: Option<u64>,
    ) -> Result<bool, CloudError> {
        let bytes =
            self.inner.backend.get_small(&self.sidecar_key(cloud_key), MAX_SIDECAR_BYTES).await?;
        let sidecar = Sidecar::parse(&bytes, cloud_key)?;
        if video_size != Some(sidecar.size) {
            return Err(CloudError::Integrity(format!(
                "video is {video_size:?} bytes, sidecar says {}",
                sidecar.size
            )));
        }
        Ok(self.inner.catalog.insert_restored_clip(sidecar.to_restored()).await?.is_some())
    }

    /// Downloads a clip from the cloud to the phone: resumable (a partial file in `tmp/` is
    /// continued with a ranged read), SHA-256 verified, fsynced and renamed into place, then the
    /// `phone` residency is opened. Returns where it is. Any network with internet will do.
    pub async fn download(&self, clip_id: i64) -> Result<PathBuf, CloudError> {
        let (cloud_key, size, sha256) = self
            .inner
            .catalog
            .clip_cloud_identity(clip_id)
            .await?
            .ok_or(CloudError::UnknownClip(clip_id))?;
        let name = format!("clip_{cloud_key}.mp4");
        let dest = self.inner.layout.video_path(&name);
        let partial = self.inner.layout.partial_path(&name);
        let cancel = CancellationToken::new();
        let span = tracing::info_span!("cloud_download", clip_id, size);
        let key = self.object_key(&cloud_key);
        let fetch = self.fetch(&key, partial.clone(), size, sha256);
        self.guarded(true, &cancel, fetch).instrument(span).await?;
        let (from, to) = (partial, dest.clone());
        blocking(move || Ok(commit_rename(&from, &to)?)).await?;
        self.inner.catalog.record_clip_phone_copy(clip_id, name).await?;
        self.emit(CloudEvent::Downloaded { clip_id });
        Ok(dest)
    }

    /// Fetches the object into `partial`, continuing what is there, and checks it whole.
    async fn fetch(
        &self,
        key: &str,
        partial: PathBuf,
        size: u64,
        sha256: String,
    ) -> Result<(), CloudError> {
        let io = |p: &PathBuf| {
            let p = p.clone();
            move |e| CloudError::Io { path: p, source: e }
        };
        if let Some(dir) = partial.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io(&dir.to_path_buf()))?;
        }
        let (mut hasher, have) = hash_prefix(partial.clone(), size).await?;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&partial)
            .await
            .map_err(io(&partial))?;
        let mut got = have;
        if have < size {
            let mut stream = self.inner.backend.get_from(key, have).await?;
            while let Some(chunk) = stream.try_next().await? {
                got += chunk.len() as u64;
                if got > size {
                    drop(file);
                    let _ = tokio::fs::remove_file(&partial).await;
                    return Err(CloudError::Integrity(format!(
                        "{key} is longer than {size} bytes"
                    )));
                }
                hasher.update(&chunk);
                file.write_all(&chunk).await.map_err(io(&partial))?;
            }
        }
        file.sync_all().await.map_err(io(&partial))?;
        drop(file);
        if got != size || hex::encode(hasher.finalize()) != sha256 {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(CloudError::Integrity(format!("{key} does not match its SHA-256")));
        }
        Ok(())
    }

    /// A link to the clip: on S3 a presigned GET valid for `expires_in` (default 7 days, allowed
    /// 1 minute to 7 days: [`CloudError::ShareExpiry`] outside); on the local backend a `file://`
    /// URL. A link cannot be revoked: it works until it expires or the clip is deleted.
    pub async fn share_url(
        &self,
        clip_id: i64,
        expires_in: Option<Duration>,
    ) -> Result<String, CloudError> {
        let expiry = checked_share_expiry(expires_in.unwrap_or(self.inner.config.share_expiry))?;
        let job = self.inner.catalog.upload_job(clip_id).await?;
        let Some(job) = job.filter(|j| j.state == crate::catalog::UploadState::Uploaded) else {
            return Err(CloudError::UnknownClip(clip_id));
        };
        self.inner.backend.share_url(&self.object_key(&job.cloud_key), expiry).await
    }

    /// Deletes a clip for good, by the user's hand (also the only way to revoke its share
    /// links): from the phone at once, and from the cloud now if the network allows, else by a
    /// tombstone applied when it returns. A later sync never brings it back. (The phone's loop
    /// recorder never calls this: evictions leave the cloud be.) Any listed clip can be deleted:
    /// one not cut yet (pending) is cancelled for good (never cut, no file appears, its drive's
    /// segments are no longer kept for it, its incident is not clipped again), even while it is
    /// being cut (that cut is discarded); the outcome says nothing was removed from the phone.
    pub async fn delete_clip(&self, clip_id: i64) -> Result<DeleteOutcome, CloudError> {
        self.cancel_upload(clip_id).await;
        let (phone_file, tomb) = self.inner.catalog.delete_clip_by_user(clip_id).await?;
        let removed_from_phone = phone_file.is_some();
        if let Some(name) = phone_file {
            let (catalog, layout) = (&self.inner.catalog, &self.inner.layout);
            remove_clip_phone_copy(catalog, layout, clip_id, &name, "deleted_by_user").await?;
        }
        let mut removed_from_cloud = tomb.is_none();
        if tomb.is_some() && self.network().has_internet() {
            match self.apply_tombstones().await {
                Ok(_) => {}
                Err(e) => tracing::warn!(clip_id, error = %e, "cloud delete deferred"),
            }
            removed_from_cloud = self
                .inner
                .catalog
                .pending_tombstones()
                .await?
                .iter()
                .all(|t| t.clip_id != Some(clip_id));
        }
        self.emit(CloudEvent::Deleted { clip_id, cloud_removed: removed_from_cloud });
        Ok(DeleteOutcome { removed_from_phone, removed_from_cloud })
    }

    /// Stops an upload of the clip in flight and waits until it has stopped.
    async fn cancel_upload(&self, clip_id: i64) {
        let token =
            self.inner.in_flight.lock().unwrap_or_else(|p| p.into_inner()).get(&clip_id).cloned();
        if let Some(t) = token {
            t.cancel();
        }
        drop(self.inner.upload_lock.lock().await);
    }

    /// Removes the cloud objects of every pending tombstone (video, sidecar, open upload).
    /// Returns how many were applied; stops at the first failure, which is kept for later.
    pub async fn apply_tombstones(&self) -> Result<usize, CloudError> {
        let mut applied = 0;
        for t in self.inner.catalog.pending_tombstones().await? {
            let result = async {
                let video = self.object_key(&t.cloud_key);
                if let Some(id) = &t.upload_id {
                    self.inner.backend.abort_multipart(&video, id).await?;
                }
                self.inner.backend.delete(&video).await?;
                self.inner.backend.delete(&self.page_key(&t.cloud_key)).await?;
                self.inner.backend.delete(&self.sidecar_key(&t.cloud_key)).await
            }
            .await;
            match result {
                Ok(()) => {
                    self.inner.catalog.tombstone_applied(t.cloud_key).await?;
                    applied += 1;
                }
                Err(e) => {
                    self.inner.catalog.tombstone_failed(t.cloud_key, e.to_string()).await?;
                    return Err(e);
                }
            }
        }
        Ok(applied)
    }
}

/// The name of `key` without its directory and `suffix`, if it is a valid cloud key.
fn key_stem(key: &str, suffix: &str) -> Option<String> {
    let name = key.rsplit('/').next()?.strip_suffix(suffix)?;
    (name.len() == 32 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| name.to_string())
}

/// Hashes what a partial download holds (truncating it if longer than `size`).
async fn hash_prefix(path: PathBuf, size: u64) -> Result<(Sha256, u64), CloudError> {
    blocking(move || {
        let io = |e| CloudError::Io { path: path.clone(), source: e };
        let mut hasher = Sha256::new();
        let f = match std::fs::OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((hasher, 0)),
            Err(e) => return Err(io(e)),
        };
        if f.metadata().map_err(io)?.len() > size {
            f.set_len(0).map_err(io)?;
            return Ok((hasher, 0));
        }
        let total = super::hash_into(f, &mut hasher).map_err(io)?;
        Ok((hasher, total))
    })
    .await
}

/// The shortest share link: shorter is useless to the person it is sent to.
pub const MIN_SHARE_EXPIRY: Duration = Duration::from_secs(60);
/// The longest share link: the most an S3 presigned URL (SigV4) allows, 7 days.
pub const MAX_SHARE_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// `expiry` when it is a share link's lifetime (1 minute to 7 days), else
/// [`CloudError::ShareExpiry`].
pub fn checked_share_expiry(expiry: Duration) -> Result<Duration, CloudError> {
    if (MIN_SHARE_EXPIRY..=MAX_SHARE_EXPIRY).contains(&expiry) {
        Ok(expiry)
    } else {
        Err(CloudError::ShareExpiry(expiry.as_secs()))
    }
}

#[cfg(test)]
mod share_tests {
    use super::*;

    #[test]
    fn share_expiry_is_one_minute_to_seven_days() {
        for ok in [60, 3600, 7 * 24 * 3600] {
            assert_eq!(checked_share_expiry(Duration::from_secs(ok)).unwrap().as_secs(), ok);
        }
        for bad in [0, 59, 7 * 24 * 3600 + 1, u64::MAX] {
            let err = checked_share_expiry(Duration::from_secs(bad)).unwrap_err();
            assert!(matches!(err, CloudError::ShareExpiry(s) if s == bad), "{bad}");
        }
    }
}
