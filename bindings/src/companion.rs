//! The `Companion` object the apps hold: a thin async adapter over `dashkeep_core::Companion`.
//! Each method converts its arguments, runs the core call on the bindings' runtime and converts
//! the result; nothing is decided here.
//!
//! Clips and incidents are here (records in `clips.rs`); the cloud's methods are in `cloud.rs`.

use std::sync::Arc;
use std::time::Duration;

use dashkeep_core::catalog::{ClipId, ClipRecord, DriveId};
use dashkeep_core::clips::ClipWindow;
use dashkeep_core::ingest::RetryPolicy;
use dashkeep_core::storage::SafetyFloor;
use dashkeep_core::{Companion as CoreCompanion, CompanionConfig};

use crate::camera::{ForeignSecretStore, SecretStore};
use crate::clips::{Clip, ClipPage, Incident, MotionSample, Sensitivity, cloud_rows};
use crate::cloud::CloudSettings;
use crate::errors::CompanionError;
use crate::events::{CompanionListener, TaskHandle, forward};
use crate::probe::{ForeignProbe, StorageProbe};
use crate::runtime::{run, runtime};
use crate::types::{
    AtRiskForecast, Drive, DrivePage, Eviction, PhoneStatus, ReconcileReport, Segment,
    StorageStatus, StreamReport,
};

/// How to open a companion. Every field is optional: `null` keeps the core's default.
#[derive(uniffi::Record)]
pub struct CompanionSettings {
    /// The platform's storage capacity probe (default: statvfs).
    #[uniffi(default)]
    pub storage_probe: Option<Arc<dyn StorageProbe>>,
    /// Least free space the phone keeps, bytes (default 1 GiB).
    #[uniffi(default)]
    pub safety_floor_min_bytes: Option<u64>,
    /// Least free space the phone keeps, share of the volume (default 0.05).
    #[uniffi(default)]
    pub safety_floor_fraction: Option<f64>,
    /// Retries of a dropped camera link per segment (default 8).
    #[uniffi(default)]
    pub max_retries: Option<u32>,
    /// First wait before retrying, ms; it doubles each retry (default 100).
    #[uniffi(default)]
    pub first_backoff_ms: Option<u64>,
    /// Longest wait between retries, ms (default 5000).
    #[uniffi(default)]
    pub max_backoff_ms: Option<u64>,
    /// How readily the hard-brake and collision detector fires (default normal).
    #[uniffi(default)]
    pub sensitivity: Option<Sensitivity>,
    /// Seconds an incident's clip (and "clip now") keeps before the moment (default 30).
    #[uniffi(default)]
    pub clip_before_secs: Option<u32>,
    /// Seconds kept after the moment (default 10).
    #[uniffi(default)]
    pub clip_after_secs: Option<u32>,
    /// Where clips are uploaded; `null` keeps them on the phone only.
    #[uniffi(default)]
    pub cloud: Option<CloudSettings>,
    /// How far ahead, in hours of driving, `AtRiskChanged` warnings look (default 5).
    #[uniffi(default)]
    pub at_risk_horizon_hours: Option<f64>,
    /// The platform's keystore for pairings (default: a 0600 file in the data directory).
    #[uniffi(default)]
    pub secret_store: Option<Arc<dyn SecretStore>>,
}

impl CompanionSettings {
    fn into_config(self, data_dir: String) -> CompanionConfig {
        let mut config = CompanionConfig::new(data_dir);
        if let Some(probe) = self.storage_probe {
            config.probe = Arc::new(ForeignProbe(probe));
        }
        let floor = SafetyFloor::default();
        config.safety_floor = SafetyFloor {
            min_bytes: self.safety_floor_min_bytes.unwrap_or(floor.min_bytes),
            fraction: self.safety_floor_fraction.unwrap_or(floor.fraction),
        };
        let retry = RetryPolicy::default();
        config.retry = RetryPolicy {
            max_retries: self.max_retries.unwrap_or(retry.max_retries),
            first_backoff: self.first_backoff_ms.map_or(retry.first_backoff, Duration::from_millis),
            max_backoff: self.max_backoff_ms.map_or(retry.max_backoff, Duration::from_millis),
        };
        if let Some(s) = self.sensitivity {
            config.sensitivity = s.into();
        }
        let window = ClipWindow::default();
        config.clip_window = ClipWindow {
            before: self.clip_before_secs.map_or(window.before, |s| Duration::from_secs(s.into())),
            after: self.clip_after_secs.map_or(window.after, |s| Duration::from_secs(s.into())),
        };
        config.cloud = self.cloud.map(Into::into);
        if let Some(hours) = self.at_risk_horizon_hours {
            config.at_risk_horizon_hours = hours;
        }
        if let Some(store) = self.secret_store {
            config.secrets = Arc::new(ForeignSecretStore(store));
        }
        config
    }
}

/// The dash cam companion: open one per data directory and share it. Closing it (Kotlin
/// `close()`, Swift deinit) releases the data directory once its running calls have finished.
#[derive(uniffi::Object)]
pub struct Companion {
    pub(crate) inner: Arc<CoreCompanion>,
}

/// Converts a core result.
fn map<T, U: From<T>>(r: Result<T, dashkeep_core::CompanionError>) -> Result<U, CompanionError> {
    r.map(U::from).map_err(CompanionError::from)
}

/// Opens the data directory (creating it), locks it against other processes, migrates the
/// catalog and reconciles it with the files on disk. A top-level function rather than a
/// constructor: in Kotlin, `Companion.open` inside the class's own `companion object` would name
/// the companion object, not the class.
#[uniffi::export]
pub async fn open_companion(
    data_dir: String,
    settings: CompanionSettings,
) -> Result<Arc<Companion>, CompanionError> {
    let config = settings.into_config(data_dir);
    let inner = run(CoreCompanion::open(config)).await?;
    Ok(Arc::new(Companion { inner }))
}

#[uniffi::export]
impl Companion {
    /// The data directory.
    pub fn data_dir(&self) -> String {
        self.inner.data_dir().display().to_string()
    }

    /// What reconciliation fixed when the companion opened.
    pub fn reconciled_on_open(&self) -> ReconcileReport {
        self.inner.reconciled_on_open().into()
    }

    /// Registers `listener` for every event from now on, until the handle is cancelled.
    pub fn subscribe(&self, listener: Arc<dyn CompanionListener>) -> Arc<TaskHandle> {
        let rx = self.inner.subscribe();
        let data_dir = self.inner.data_dir().to_path_buf();
        Arc::new(TaskHandle::new(runtime().spawn(forward(rx, listener, data_dir))))
    }

    /// "Stream now": pulls everything the camera at `camera_url` has that the phone lacks,
    /// newest drive first. A camera that is not paired is asked which protocol it speaks
    /// (Dashkeep, Novatek, ...); the report names it.
    pub async fn stream_now(&self, camera_url: String) -> Result<StreamReport, CompanionError> {
        let inner = Arc::clone(&self.inner);
        map(run(async move { inner.stream_camera(&camera_url).await }).await)
    }

    /// Starts automatic streaming from the camera (catch up, then follow its live feed) until
    /// [`Companion::stop_streaming`]; replaces streaming already running. Failures arrive as a
    /// `StreamingStopped` event.
    pub async fn start_streaming(&self, camera_url: String) -> Result<(), CompanionError> {
        let inner = Arc::clone(&self.inner);
        Ok(run(async move { inner.start_streaming(&camera_url).await }).await?)
    }

    /// Stops automatic streaming and waits until it has stopped; partial downloads are kept.
    pub async fn stop_streaming(&self) {
        let inner = Arc::clone(&self.inner);
        run(async move { inner.stop_streaming().await }).await;
    }

    /// Whether automatic streaming is running.
    pub async fn is_streaming(&self) -> bool {
        let inner = Arc::clone(&self.inner);
        run(async move { inner.is_streaming().await }).await
    }

    /// Drives, newest first, `limit` from `offset` on.
    pub async fn drives(&self, offset: u32, limit: u32) -> Result<DrivePage, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let all = run(async move { inner.drives().await }).await?;
        let total = u32::try_from(all.len()).unwrap_or(u32::MAX);
        let drives =
            all.into_iter().skip(offset as usize).take(limit as usize).map(Drive::from).collect();
        Ok(DrivePage { drives, offset, total })
    }

    /// The segments of a drive's timeline (its first lens; a rear lens's files are counted in
    /// the drive's storage, not played), in recording order, with their phone files.
    pub async fn drive_segments(&self, drive_id: i64) -> Result<Vec<Segment>, CompanionError> {
        let inner = Arc::clone(&self.inner);
        run(async move {
            let segments = inner.drive_timeline(DriveId(drive_id)).await?;
            Ok(segments
                .into_iter()
                .map(|s| {
                    let path = inner.segment_path(&s).map(|p| p.display().to_string());
                    Segment::new(s, path)
                })
                .collect())
        })
        .await
        .map_err(|e: dashkeep_core::CompanionError| e.into())
    }

    /// Locks a drive so the phone's loop recorder never evicts it.
    pub async fn lock_drive(&self, drive_id: i64) -> Result<(), CompanionError> {
        self.set_drive_locked(drive_id, true).await
    }

    /// Unlocks a drive: the loop recorder may evict it again, oldest first.
    pub async fn unlock_drive(&self, drive_id: i64) -> Result<(), CompanionError> {
        self.set_drive_locked(drive_id, false).await
    }

    /// Removes the phone's copy of a drive (the camera's copy is untouched). Returns how many
    /// segments were removed.
    pub async fn remove_from_phone(&self, drive_id: i64) -> Result<u64, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let removed = run(async move { inner.remove_from_phone(DriveId(drive_id)).await }).await?;
        Ok(removed as u64)
    }

    /// The user's quota: the share of the phone's storage Dashkeep may use (0.1 to 0.9).
    pub fn quota(&self) -> f64 {
        self.inner.quota().get()
    }

    /// Sets the quota (0.1 to 0.9; otherwise a `Storage` error with `QuotaOutOfRange`). Lowering
    /// it evicts at once, oldest first. Returns what was evicted.
    pub async fn set_quota(&self, fraction: f64) -> Result<Vec<Eviction>, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let evicted = run(async move { inner.set_quota(fraction).await }).await?;
        Ok(evicted.into_iter().map(Eviction::from).collect())
    }

    /// Phone storage for the storage bar: quota, usage by kind, free quota, camera SD cards.
    pub async fn storage_status(&self) -> Result<StorageStatus, CompanionError> {
        let inner = Arc::clone(&self.inner);
        map(run(async move { inner.storage_status().await }).await)
    }

    /// Hours of driving left on each loop recorder, and the drives living in one place only that
    /// will be overwritten within `horizon_hours` of driving.
    pub async fn at_risk(&self, horizon_hours: f64) -> Result<AtRiskForecast, CompanionError> {
        let inner = Arc::clone(&self.inner);
        map(run(async move { inner.at_risk(horizon_hours).await }).await)
    }

    /// Feeds a batch of the phone's IMU samples to the incident detector. Returns the incidents
    /// it recorded; each one in a known drive gets a clip, cut once its segments are on the phone.
    pub async fn push_motion_samples(
        &self,
        samples: Vec<MotionSample>,
    ) -> Result<Vec<Incident>, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let samples = samples.into_iter().map(Into::into).collect();
        let found = run(async move { inner.push_motion_samples(samples).await }).await?;
        Ok(found.into_iter().map(Incident::from).collect())
    }

    /// Detected incidents, newest first, at most `limit`.
    pub async fn incidents(&self, limit: u32) -> Result<Vec<Incident>, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let found = run(async move { inner.incidents(limit as usize).await }).await?;
        Ok(found.into_iter().map(Incident::from).collect())
    }

    /// "Clip now" during a drive: a manual clip around the camera's current moment (the clip
    /// window), cut once its segments reach the phone. `NotRecording` when no drive records.
    pub async fn clip_now(&self, camera_url: String) -> Result<Clip, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let clip = run(async move { inner.clip_now(&camera_url).await }).await?;
        self.with_upload(clip).await
    }

    /// A manual clip of any range of a drive, in seconds from the drive's start.
    pub async fn create_clip(
        &self,
        drive_id: i64,
        from_s: f64,
        to_s: f64,
    ) -> Result<Clip, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let clip =
            run(async move { inner.create_clip(DriveId(drive_id), from_s, to_s).await }).await?;
        self.with_upload(clip).await
    }

    /// Cuts pending clips whose segments are on the phone now.
    pub async fn cut_pending_clips(&self) -> Result<(), CompanionError> {
        let inner = Arc::clone(&self.inner);
        Ok(run(async move { inner.cut_pending_clips().await }).await?)
    }

    /// Clips, newest first, with where each lives, its phone file and its upload.
    pub async fn clips(&self) -> Result<Vec<Clip>, CompanionError> {
        let inner = Arc::clone(&self.inner);
        run(async move {
            let clips = inner.clips().await?;
            let rows = cloud_rows(inner.cloud()).await?;
            let dir = inner.data_dir();
            Ok(clips
                .into_iter()
                .map(|c| {
                    let row = rows.iter().find(|r| r.clip_id == c.id.0);
                    Clip::new(c, dir, row)
                })
                .collect())
        })
        .await
        .map_err(|e: dashkeep_core::CompanionError| e.into())
    }

    /// Clips, newest first, `limit` from `offset` on (the Clips tab's pages).
    pub async fn clip_page(&self, offset: u32, limit: u32) -> Result<ClipPage, CompanionError> {
        let all = self.clips().await?;
        let total = u32::try_from(all.len()).unwrap_or(u32::MAX);
        let clips = all.into_iter().skip(offset as usize).take(limit as usize).collect();
        Ok(ClipPage { clips, offset, total })
    }

    /// One clip (a `Catalog` `NotFound` error when there is none).
    pub async fn clip(&self, clip_id: i64) -> Result<Clip, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let clip = run(async move { inner.clip(ClipId(clip_id)).await }).await?;
        self.with_upload(clip).await
    }

    /// What the phone holds now.
    pub async fn status(&self) -> Result<PhoneStatus, CompanionError> {
        let inner = Arc::clone(&self.inner);
        map(run(async move { inner.phone_status().await }).await)
    }
}

impl Companion {
    /// Converts a clip, with its upload when a cloud is configured.
    async fn with_upload(&self, clip: ClipRecord) -> Result<Clip, CompanionError> {
        let inner = Arc::clone(&self.inner);
        run(async move {
            let rows = cloud_rows(inner.cloud()).await?;
            let row = rows.iter().find(|r| r.clip_id == clip.id.0);
            Ok(Clip::new(clip, inner.data_dir(), row))
        })
        .await
        .map_err(|e: dashkeep_core::cloud::CloudError| e.into())
    }

    async fn set_drive_locked(&self, drive_id: i64, locked: bool) -> Result<(), CompanionError> {
        let inner = Arc::clone(&self.inner);
        Ok(run(async move { inner.set_drive_locked(DriveId(drive_id), locked).await }).await?)
    }
}
