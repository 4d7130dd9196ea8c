//! The companion: the one object an app holds. It opens a data directory, wires the domain
//! modules together, owns the long-running tasks (streaming), and emits one event stream the UI
//! listens to.
//!
//! Its shape is meant to map onto UniFFI as it is: owned arguments and results, an `Arc`-shared
//! `Send + Sync` object, async methods, and one error enum.

mod camera;
mod connection;
mod pipeline;
mod risk;
mod rules;

pub use camera::CameraStream;
pub use connection::{ConnectionState, DisconnectReason};
pub use rules::{DEFAULT_CAMERA_URL, QuotaBounds, SensitivityLevel, ShareTarget};

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{Mutex, broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::camera::secrets::{FileSecretStore, SecretStore, SecretStoreError};
use crate::camera::{CameraError, PairingError};
use crate::catalog::{
    CameraRecord, Catalog, CatalogError, ClipId, ClipReason, ClipRecord, DriveId, DriveSummary,
    EventRecord, PhoneUsage, SegmentRecord,
};
use crate::clips::{ClipMaker, ClipWindow, ClipsError};
use crate::cloud::{CloudConfig, CloudError, CloudEvent, CloudService, DeleteOutcome};
use crate::events::{MotionPipeline, MotionSample, Sensitivity};
use crate::ingest::{
    IngestError, IngestEvent, IngestReport, Ingestor, ReconcileReport, RetryPolicy, reconcile,
};
use crate::storage::{
    Budget, DataLayout, Eviction, Forecast, LoopRecorder, QuotaFraction, SafetyFloor, StatvfsProbe,
    StorageError, StorageEvent, StorageProbe, forecast, remove_clip_phone_copy, remove_phone_copy,
};
use camera::{PairedAccess, load_pairings};
use connection::{LinkRequest, StatePublisher};
use pipeline::{Pipeline, PipelineError};

/// Why a companion call failed.
#[derive(Debug, thiserror::Error)]
pub enum CompanionError {
    /// Another process has this data directory open.
    #[error("data directory {0} is in use by another Dashkeep process")]
    DataDirBusy(PathBuf),
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Ingest failed.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The camera could not be used.
    #[error(transparent)]
    Camera(#[from] CameraError),
    /// Phone storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A clip could not be planned or cut.
    #[error(transparent)]
    Clips(#[from] ClipsError),
    /// The camera is not recording a drive, so there is nothing to clip now.
    #[error("the camera is not recording a drive")]
    NotRecording,
    /// The cloud failed (or is not configured).
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// Pairing (or unpairing) with a camera failed.
    #[error(transparent)]
    Pairing(#[from] PairingError),
    /// The platform's secret store failed.
    #[error(transparent)]
    Secrets(#[from] SecretStoreError),
    /// No camera with this serial is paired with this phone.
    #[error("no camera {0} is paired with this phone")]
    NotPaired(String),
    /// A drive's summary could not be made.
    #[error(transparent)]
    Drive(#[from] crate::drive::DriveError),
    /// Nothing at the address speaks a camera protocol this app knows.
    #[error(transparent)]
    UnknownCamera(#[from] crate::camera::probe::ProbeError),
    /// A setting that can lose the user's videos was turned on without their confirmation.
    #[error("turning on \"{0}\" needs the user's confirmation")]
    NotConfirmed(&'static str),
}

impl From<PipelineError> for CompanionError {
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::Clips(e) => Self::Clips(e),
            PipelineError::Catalog(e) => Self::Catalog(e),
            PipelineError::Ingest(e) => Self::Ingest(e),
            PipelineError::Cloud(e) => Self::Cloud(e),
        }
    }
}

/// How to open a companion.
#[derive(Clone)]
pub struct CompanionConfig {
    /// The data directory: catalog, videos, partial downloads.
    pub data_dir: PathBuf,
    /// How ingest retries a dropped link.
    pub retry: RetryPolicy,
    /// Reports the phone's volume capacity (the platform may provide its own).
    pub probe: Arc<dyn StorageProbe>,
    /// Free space the phone keeps whatever the quota says.
    pub safety_floor: SafetyFloor,
    /// How sensitive the hard-brake and collision detector is.
    pub sensitivity: Sensitivity,
    /// How much of a drive an incident's clip (and "clip now") keeps around the moment.
    pub clip_window: ClipWindow,
    /// Whether clips begin exactly at the window's start (an edit list) rather than at the
    /// keyframe before it, which plays everywhere.
    pub exact_clips: bool,
    /// Where clips are uploaded; `None` keeps them on the phone only.
    pub cloud: Option<CloudConfig>,
    /// How far ahead, in hours of driving, the at-risk warnings look (default 5).
    pub at_risk_horizon_hours: f64,
    /// Where to look for a camera on the phone's WiFi before one is paired (default: each
    /// family's access-point address, [`rules::CAMERA_WIFI_ADDRESSES`]).
    pub camera_addresses: Vec<String>,
    /// Where pairings (and their secrets) are kept: the platform's keystore in an app; by
    /// default a 0600 file in the data directory.
    pub secrets: Arc<dyn SecretStore>,
}

impl CompanionConfig {
    /// The defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            retry: RetryPolicy::default(),
            probe: Arc::new(StatvfsProbe),
            safety_floor: SafetyFloor::default(),
            sensitivity: Sensitivity::default(),
            clip_window: ClipWindow::default(),
            exact_clips: false,
            cloud: None,
            at_risk_horizon_hours: DEFAULT_AT_RISK_HOURS,
            camera_addresses: rules::CAMERA_WIFI_ADDRESSES.map(String::from).to_vec(),
            secrets: Arc::new(FileSecretStore::in_dir(&data_dir)),
            data_dir,
        }
    }
}

/// Everything the UI hears about, in one stream.
#[derive(Debug, Clone, PartialEq)]
pub enum CompanionEvent {
    /// Progress and state of streaming from the camera.
    Ingest(IngestEvent),
    /// The camera connection changed state.
    Connection(ConnectionState),
    /// Automatic streaming ended: stopped by the user, or failed with `error`.
    StreamingStopped {
        /// Why it ended, when it was not asked to.
        error: Option<String>,
    },
    /// The phone's loop recorder evicted a copy, ran out of room, or found room again.
    Storage(StorageEvent),
    /// A hard brake or collision was detected (by the camera's sensor, the phone's, or both).
    IncidentDetected(EventRecord),
    /// A clip was cut and is on the phone (and queued for the cloud).
    ClipCreated(ClipRecord),
    /// Upload progress and state, deletions and downloads in the cloud.
    Cloud(CloudEvent),
    /// The drives at risk of being overwritten soon while living in one place only changed
    /// (a warning to show, or to take down when the list is empty).
    AtRiskChanged(Vec<crate::storage::AtRiskDrive>),
    /// The phone's copy of segments of a drive was removed.
    PhoneCopyRemoved {
        /// The drive.
        drive: DriveId,
        /// How many segments.
        segments: usize,
    },
}

/// What the phone holds now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PhoneStatus {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Bytes of videos and telemetry the phone holds, by the catalog.
    pub bytes_on_phone: u64,
    /// Drives known.
    pub drives: usize,
    /// Segments with a copy on the phone.
    pub segments_on_phone: u64,
    /// Whether automatic streaming runs now.
    pub streaming: bool,
    /// Cameras the phone has talked to.
    pub cameras: Vec<CameraRecord>,
}

/// Phone storage as the UI's storage bar shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StorageStatus {
    /// The quota and what it allows now.
    pub budget: Budget,
    /// What Dashkeep's files take, by kind.
    pub usage: PhoneUsage,
    /// Bytes that may still be written before the loop recorder evicts.
    pub free_quota_bytes: u64,
    /// Whether ingest is paused because nothing more can be evicted.
    pub full: bool,
    /// Whether that pause is the phone's own free space, down to the floor it keeps for itself,
    /// and not the quota: freeing space on the phone helps, raising the quota does not.
    pub phone_full: bool,
    /// Each camera's SD card, as last reported.
    pub cameras: Vec<CameraRecord>,
}

struct StreamingTask {
    cancel: CancellationToken,
    handle: JoinHandle<()>,
}

/// The dash cam companion: open one per data directory and share it.
pub struct Companion {
    layout: DataLayout,
    catalog: Catalog,
    ingestor: Ingestor,
    recorder: LoopRecorder,
    events: broadcast::Sender<CompanionEvent>,
    streaming: Mutex<Option<StreamingTask>>,
    reconciled: ReconcileReport,
    pipeline: Pipeline,
    cloud: Option<CloudService>,
    stop: CancellationToken,
    /// The paired camera whose API URL gets pinned HTTPS and signed requests.
    paired: PairedAccess,
    secrets: Arc<dyn SecretStore>,
    retry: RetryPolicy,
    connection: Mutex<Option<StreamingTask>>,
    link_requests: Mutex<Option<tokio::sync::mpsc::Sender<LinkRequest>>>,
    states: StatePublisher,
    /// How far ahead the at-risk warnings look (see `rules.rs`).
    at_risk_horizon_hours: f64,
    /// Where a camera may answer before one is paired (see `rules.rs`).
    camera_addresses: Vec<String>,
    /// The detector's sensitivity now (see `rules.rs`).
    sensitivity: std::sync::Mutex<Sensitivity>,
    _lock: File,
}

impl Drop for Companion {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(cloud) = &self.cloud {
            cloud.cancel();
        }
    }
}

/// The at-risk warnings' default horizon, in hours of driving.
pub const DEFAULT_AT_RISK_HOURS: f64 = 5.0;

/// Events kept for a slow listener before it starts missing some.
const EVENT_BUFFER: usize = 1024;

impl Companion {
    /// Opens the data directory (creating it), locks it against other processes, brings the
    /// catalog up to date and reconciles it with the files on disk.
    pub async fn open(config: CompanionConfig) -> Result<Arc<Self>, CompanionError> {
        let layout = DataLayout::new(&config.data_dir);
        let lock = lock_data_dir(layout.clone()).await?;
        let catalog = Catalog::open(&layout.catalog_path()).await?;
        let reconciled = reconcile(&catalog, &layout).await?;
        let sensitivity = rules::saved_sensitivity(&catalog).await?.unwrap_or(config.sensitivity);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let recorder = LoopRecorder::open(
            catalog.clone(),
            layout.clone(),
            config.probe,
            config.safety_floor,
            storage_observer(events.clone()),
        )
        .await?;
        finish_interrupted_eviction(&recorder).await;
        let tx = events.clone();
        let (segments_tx, segments_rx) = tokio::sync::mpsc::unbounded_channel();
        let observer = Arc::new(move |e: IngestEvent| {
            if let IngestEvent::SegmentStored { drive, segment, .. } = e {
                let _ = segments_tx.send((drive, segment));
            }
            let event = match e {
                IngestEvent::CameraIncident(record) => CompanionEvent::IncidentDetected(record),
                e => CompanionEvent::Ingest(e),
            };
            let _ = tx.send(event);
        });
        let ingestor = Ingestor::new(catalog.clone(), layout.clone(), recorder.clone(), observer)
            .with_retry(config.retry);
        let paired = PairedAccess::default();
        paired.set_known(load_pairings(&config.secrets).await?);
        let cloud = match config.cloud {
            Some(cloud_config) => {
                let tx = events.clone();
                let observer = Arc::new(move |e: CloudEvent| {
                    let _ = tx.send(CompanionEvent::Cloud(e));
                });
                let by_platform = cloud_config.uploads_by_platform;
                let service =
                    CloudService::open(catalog.clone(), layout.clone(), cloud_config, observer)
                        .await?;
                if !by_platform {
                    service.start();
                }
                Some(service)
            }
            None => None,
        };
        let pipeline = Pipeline {
            catalog: catalog.clone(),
            layout: layout.clone(),
            ingestor: ingestor.clone(),
            clips: ClipMaker::new(
                catalog.clone(),
                layout.clone(),
                recorder.clone(),
                config.exact_clips,
            ),
            window: config.clip_window,
            motion: Arc::new(std::sync::Mutex::new(MotionPipeline::new(sensitivity))),
            events: events.clone(),
            cutting: Arc::default(),
            cloud: cloud.clone(),
            paired: paired.clone(),
        };
        let stop = CancellationToken::new();
        tokio::spawn(pipeline.clone().run(segments_rx, stop.clone()));
        let watch = risk::RiskWatch {
            catalog: catalog.clone(),
            recorder: recorder.clone(),
            events: events.clone(),
            horizon_hours: config.at_risk_horizon_hours,
        };
        tokio::spawn(watch.run(events.subscribe(), stop.clone()));
        Ok(Arc::new(Self {
            layout,
            catalog,
            ingestor,
            recorder,
            streaming: Mutex::new(None),
            paired,
            secrets: config.secrets,
            retry: config.retry,
            connection: Mutex::new(None),
            link_requests: Mutex::new(None),
            states: StatePublisher {
                latest: watch::Sender::new(ConnectionState::Idle),
                events: events.clone(),
            },
            events,
            reconciled,
            pipeline,
            cloud,
            stop,
            at_risk_horizon_hours: config.at_risk_horizon_hours,
            camera_addresses: config.camera_addresses.clone(),
            sensitivity: std::sync::Mutex::new(sensitivity),
            _lock: lock,
        }))
    }

    /// A new receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CompanionEvent> {
        self.events.subscribe()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.layout.root()
    }

    /// What reconciliation fixed when the companion opened.
    pub fn reconciled_on_open(&self) -> &ReconcileReport {
        &self.reconciled
    }

    /// "Stream now": pulls everything the camera at `camera_url` has that the phone lacks,
    /// newest drive first, and returns what it did.
    pub async fn stream_now(&self, camera_url: &str) -> Result<IngestReport, CompanionError> {
        let camera = self.camera(camera_url)?;
        let cancel = CancellationToken::new();
        Ok(self.ingestor.stream_now(&camera, &cancel).await?)
    }

    /// "Stream now" from a camera that records files (Novatek), through its driver: every
    /// settled file the phone lacks, grouped into drives, newest first (`ingest::files`).
    pub async fn stream_files_now(
        &self,
        driver: &dyn crate::camera::CameraDriver,
    ) -> Result<IngestReport, CompanionError> {
        let cancel = CancellationToken::new();
        let settle = crate::ingest::DEFAULT_SETTLE;
        Ok(self.ingestor.stream_files(driver, settle, &cancel).await?)
    }

    /// Reads what the camera at `camera_url` holds (and how full its SD card is) into the catalog
    /// without downloading videos.
    pub async fn refresh_camera(&self, camera_url: &str) -> Result<IngestReport, CompanionError> {
        let camera = self.camera(camera_url)?;
        Ok(self.ingestor.refresh(&camera).await?)
    }

    /// Starts automatic streaming from the camera at `camera_url`: catch up, then follow its
    /// live feed until [`Companion::stop_streaming`]. Replaces streaming already running.
    pub async fn start_streaming(&self, camera_url: &str) -> Result<(), CompanionError> {
        let camera = self.camera(camera_url)?;
        self.stop_streaming().await;
        let cancel = CancellationToken::new();
        let (ingestor, token, events) =
            (self.ingestor.clone(), cancel.clone(), self.events.clone());
        let handle = tokio::spawn(async move {
            let error = ingestor.follow(&camera, &token).await.err().map(|e| e.to_string());
            if let Some(e) = &error {
                tracing::error!(error = %e, "automatic streaming stopped");
            }
            let _ = events.send(CompanionEvent::StreamingStopped { error });
        });
        *self.streaming.lock().await = Some(StreamingTask { cancel, handle });
        Ok(())
    }

    /// Stops automatic streaming and waits until it has stopped; partial downloads are kept.
    pub async fn stop_streaming(&self) {
        if let Some(task) = self.streaming.lock().await.take() {
            task.cancel.cancel();
            let _ = task.handle.await;
        }
    }

    /// Whether automatic streaming is running (started here, or by a camera connection).
    pub async fn is_streaming(&self) -> bool {
        let started = self.streaming.lock().await.as_ref().is_some_and(|t| !t.handle.is_finished());
        started || matches!(self.connection_state(), ConnectionState::Streaming { .. })
    }

    /// Drives, newest first, with where each one lives.
    pub async fn drives(&self) -> Result<Vec<DriveSummary>, CompanionError> {
        Ok(self.catalog.drives().await?)
    }

    /// Every file of a drive, every lens, in recording order (the lenses of one moment
    /// together).
    pub async fn drive_segments(
        &self,
        drive: DriveId,
    ) -> Result<Vec<SegmentRecord>, CompanionError> {
        Ok(self.catalog.drive_segments(drive).await?)
    }

    /// The segments of a drive's timeline (its first lens, the front nearly always), in
    /// recording order: what the player plays and clips are cut from.
    pub async fn drive_timeline(
        &self,
        drive: DriveId,
    ) -> Result<Vec<SegmentRecord>, CompanionError> {
        Ok(self.catalog.drive_timeline(drive).await?)
    }

    /// Where a segment's phone copy lives, if it has one.
    pub fn segment_path(&self, segment: &SegmentRecord) -> Option<PathBuf> {
        segment.phone_file.as_deref().map(|name| self.layout.video_path(name))
    }

    /// What the phone holds now.
    pub async fn phone_status(&self) -> Result<PhoneStatus, CompanionError> {
        let drives = self.catalog.drives().await?;
        Ok(PhoneStatus {
            data_dir: self.layout.root().to_path_buf(),
            bytes_on_phone: self.catalog.phone_bytes().await?,
            segments_on_phone: drives.iter().map(|d| u64::from(d.segments_on_phone)).sum(),
            drives: drives.len(),
            streaming: self.is_streaming().await,
            cameras: self.catalog.cameras().await?,
        })
    }

    /// Removes the phone's copy of a drive (the camera's copy is untouched). Returns how many
    /// segments were removed.
    pub async fn remove_from_phone(&self, drive: DriveId) -> Result<usize, CompanionError> {
        let mut removed = 0;
        for segment in self.catalog.drive_segments(drive).await? {
            if segment.phone_file.is_some() {
                remove_phone_copy(&self.catalog, &self.layout, &segment, "removed_by_user").await?;
                removed += 1;
            }
        }
        let _ = self.events.send(CompanionEvent::PhoneCopyRemoved { drive, segments: removed });
        self.recorder.room_changed();
        Ok(removed)
    }

    /// The user's quota: the share of the phone's storage Dashkeep may use.
    pub fn quota(&self) -> QuotaFraction {
        self.recorder.fraction()
    }

    /// Sets the quota (0.1 to 0.9) and persists it. Lowering it evicts at once, oldest first, by
    /// the loop recorder's rules; raising it resumes paused streaming. Returns what was evicted.
    pub async fn set_quota(&self, fraction: f64) -> Result<Vec<Eviction>, CompanionError> {
        let fraction = QuotaFraction::new(fraction)?;
        let protect = self.ingestor.streaming_drives();
        Ok(self.recorder.set_fraction(fraction, &protect).await?)
    }

    /// Phone storage for the storage bar: quota, usage by kind, free quota, camera SD cards.
    pub async fn storage_status(&self) -> Result<StorageStatus, CompanionError> {
        let budget = self.recorder.budget().await?;
        let full = self.recorder.is_full();
        Ok(StorageStatus {
            usage: self.catalog.phone_usage().await?,
            free_quota_bytes: budget.free_bytes(),
            phone_full: full && budget.limit_bytes < budget.quota_bytes,
            budget,
            full,
            cameras: self.catalog.cameras().await?,
        })
    }

    /// How many hours of driving each copy has before a loop recorder overwrites it, and the
    /// drives living in one place only that will be overwritten within `horizon_hours`.
    pub async fn at_risk(&self, horizon_hours: f64) -> Result<Forecast, CompanionError> {
        let budget = self.recorder.budget().await?;
        let cameras = self.catalog.cameras().await?;
        Ok(forecast(&self.catalog, &budget, &cameras, horizon_hours).await?)
    }

    /// One drive's summary for its page: times, distance and speeds, incidents and their places,
    /// where each segment lives and when each copy is due to be overwritten, the track and the
    /// speed and g-force curves (see `drive`).
    pub async fn drive_summary(
        &self,
        drive: DriveId,
    ) -> Result<crate::drive::DriveReport, CompanionError> {
        let budget = self.recorder.budget().await?;
        let cameras = self.catalog.cameras().await?;
        let overwrites =
            crate::storage::drive_overwrites(&self.catalog, &budget, &cameras, drive).await?;
        Ok(crate::drive::summarize(&self.catalog, &self.layout, overwrites, drive).await?)
    }

    /// Feeds a batch of the phone's IMU samples (time in seconds since the Unix epoch, the phone's
    /// frame, gravity included) to the detector. Returns the incidents it recorded; each one in a
    /// known drive gets a clip, cut once its segments are on the phone.
    pub async fn push_motion_samples(
        &self,
        samples: Vec<MotionSample>,
    ) -> Result<Vec<EventRecord>, CompanionError> {
        Ok(self.pipeline.phone_samples(samples).await?)
    }

    /// "Clip now" during a drive: a manual clip of the camera's last 30 s and next 10 s (the clip
    /// window), cut once the segments reach the phone.
    pub async fn clip_now(&self, camera_url: &str) -> Result<ClipRecord, CompanionError> {
        let camera = self.camera(camera_url)?;
        let status = camera.status().await?;
        let drive = status.current_drive.clone().ok_or(CompanionError::NotRecording)?;
        let camera_id =
            self.catalog.upsert_camera(status.clone(), camera.base_url().into()).await?;
        let drive = self.catalog.ensure_drive(camera_id, drive, status.clock_ms).await?;
        // Connected over BLE, the camera marks the moment itself and locks it on its SD card.
        let at_ms = match self.mark_over_ble().await {
            Some(mark) if mark.drive_id == status.current_drive.clone().unwrap_or_default() => {
                mark.at_ms
            }
            _ => status.clock_ms,
        };
        let window = self.pipeline.window.around(at_ms);
        self.make_clip(drive, window).await
    }

    /// A manual clip of any range of a drive, in seconds from the drive's start; cut at once when
    /// its segments are on the phone (fetched from the camera when only the camera has them).
    pub async fn create_clip(
        &self,
        drive: DriveId,
        from_s: f64,
        to_s: f64,
    ) -> Result<ClipRecord, CompanionError> {
        let start = self.catalog.drive(drive).await?.started_at_ms;
        // Saturating: a float cast saturates, and so must the sum (no overflow on any input).
        let at = |s: f64| start.saturating_add((s * 1000.0) as i64);
        let window = (at(from_s), at(to_s));
        self.make_clip(drive, window).await
    }

    async fn make_clip(
        &self,
        drive: DriveId,
        window: (i64, i64),
    ) -> Result<ClipRecord, CompanionError> {
        let id = self.pipeline.clips.plan(drive, None, ClipReason::Manual, window).await?;
        self.pipeline.cut_pending().await?;
        Ok(self.catalog.clip(id).await?)
    }

    /// Deletes a clip by the user's hand, whatever its state (a clip not cut yet is cancelled):
    /// from the phone at once and, with a cloud, from the cloud for good (see
    /// [`CloudService::delete_clip`]). Without a cloud only the phone held it, so that is all;
    /// a cloud copy from an earlier account stays queued for deletion until a cloud is set again.
    pub async fn delete_clip(&self, clip_id: i64) -> Result<DeleteOutcome, CompanionError> {
        if let Some(cloud) = &self.cloud {
            return Ok(cloud.delete_clip(clip_id).await?);
        }
        let (phone_file, tombstone) = self.catalog.delete_clip_by_user(clip_id).await?;
        if let Some(name) = &phone_file {
            remove_clip_phone_copy(&self.catalog, &self.layout, clip_id, name, "deleted_by_user")
                .await?;
        }
        tracing::info!(clip_id, "clip deleted by the user (no cloud)");
        Ok(DeleteOutcome {
            removed_from_phone: phone_file.is_some(),
            removed_from_cloud: tombstone.is_none(),
        })
    }

    /// The cloud: network state, upload policy and queue, share links, permanent delete, restore.
    /// `None` when no cloud is configured.
    pub fn cloud(&self) -> Option<&CloudService> {
        self.cloud.as_ref()
    }

    /// Stops streaming and uploads and waits for them (partial work is kept for resuming).
    pub async fn close(&self) {
        self.disconnect().await;
        self.stop_streaming().await;
        if let Some(cloud) = &self.cloud {
            cloud.stop().await;
        }
        self.stop.cancel();
    }

    /// Cuts pending clips whose segments are on the phone now.
    pub async fn cut_pending_clips(&self) -> Result<(), CompanionError> {
        Ok(self.pipeline.cut_pending().await?)
    }

    /// Clips, newest first, with where each one lives.
    pub async fn clips(&self) -> Result<Vec<ClipRecord>, CompanionError> {
        Ok(self.catalog.clips().await?)
    }

    /// One clip.
    pub async fn clip(&self, id: ClipId) -> Result<ClipRecord, CompanionError> {
        Ok(self.catalog.clip(id).await?)
    }

    /// Where a clip's phone copy lives, if it has one.
    pub fn clip_path(&self, clip: &ClipRecord) -> Option<PathBuf> {
        clip.phone_file.as_deref().map(|name| self.layout.video_path(name))
    }

    /// Detected incidents, newest first.
    pub async fn incidents(&self, limit: usize) -> Result<Vec<EventRecord>, CompanionError> {
        Ok(self.catalog.events(limit).await?)
    }

    /// Locks a drive so the phone's loop recorder never evicts it, or unlocks it.
    pub async fn set_drive_locked(
        &self,
        drive: DriveId,
        locked: bool,
    ) -> Result<(), CompanionError> {
        self.catalog.set_drive_locked(drive, locked).await?;
        if !locked {
            self.recorder.room_changed();
        }
        Ok(())
    }
}

/// Forwards storage events and remembers whether ingest is paused for room.
fn storage_observer(events: broadcast::Sender<CompanionEvent>) -> crate::storage::StorageObserver {
    Arc::new(move |e: StorageEvent| {
        let _ = events.send(CompanionEvent::Storage(e));
    })
}

/// A kill while the quota was being lowered (found by the kill -9 campaign) leaves the phone
/// above its quota until the next video arrives: the eviction is finished on open. What cannot
/// be evicted (locked drives) stays, as when the quota was set.
async fn finish_interrupted_eviction(recorder: &LoopRecorder) {
    match recorder.make_room(0, None, &[]).await {
        Ok(_) => {}
        Err(e) if e.is_full() => {}
        Err(e) => tracing::warn!(error = %e, "the quota could not be enforced on open"),
    }
}

/// Takes an exclusive lock on the data directory for the life of the companion.
async fn lock_data_dir(layout: DataLayout) -> Result<File, CompanionError> {
    tokio::task::spawn_blocking(move || {
        layout.create_dirs()?;
        let path = layout.root().join(".lock");
        let file = File::create(&path).map_err(|e| StorageError::from_io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => {
                Err(CompanionError::DataDirBusy(layout.root().to_path_buf()))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(StorageError::from_io(&path, e).into()),
        }
    })
    .await
    .map_err(|e| CompanionError::Ingest(IngestError::Task(e.to_string())))?
}
