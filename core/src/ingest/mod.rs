//! Ingest: pulls drives from the camera into phone storage and the catalog.
//!
//! Each segment is downloaded into a partial file (resuming with Range after a dropped link),
//! checked against the listed size and SHA-256, fsynced and renamed into place; only then does the
//! catalog name it, in one transaction with its telemetry and its `phone` residency. The commit of
//! one segment (fsync, telemetry, rename, directory fsync, catalog transaction, in that order; the
//! video's fsync and the telemetry's fetch and durable write run at the same time, both before the
//! rename) runs while the next segment downloads; a segment is reported stored only once its
//! catalog transaction committed. "Stream now"
//! pulls everything the camera has that the phone lacks, newest drive first; following the live
//! feed does the same for each segment as the camera finalizes it.

mod cleanup;
mod download;
mod files;
mod reconcile;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use cleanup::{deletes_after_copy, set_deletes_after_copy};
pub use download::RetryPolicy;
pub use files::DEFAULT_SETTLE;
pub use reconcile::{ReconcileReport, reconcile};

use crate::camera::{CameraClient, CameraError, DriverError};
use crate::catalog::{
    CameraId, Catalog, CatalogError, DriveId, PhoneFile, SegmentId, SegmentRecord, TelemetryFile,
};
use crate::protocol::{ListingError, SegmentInfo, SegmentList, Telemetry};
use crate::storage::{
    DataLayout, LoopRecorder, Reservation, StorageError, commit_rename, remove_durably,
    write_atomic,
};

/// Why ingesting failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Talking to the camera failed (after retries, for a dropped link).
    #[error(transparent)]
    Camera(#[from] CameraError),
    /// The camera listed a segment that cannot be right; nothing was written for it.
    #[error("camera listing refused: {0}")]
    Listing(#[from] ListingError),
    /// The downloaded bytes do not hash to the listed SHA-256, on every try.
    #[error("segment {segment} does not match its SHA-256; not catalogued")]
    ChecksumMismatch {
        /// The camera's segment id.
        segment: String,
    },
    /// The camera sent more bytes than it listed.
    #[error("segment {segment}: listed {listed} bytes, camera sent {received}")]
    SizeMismatch {
        /// The camera's segment id.
        segment: String,
        /// Size in the listing.
        listed: u64,
        /// Bytes received.
        received: u64,
    },
    /// The telemetry sidecar is not what the listing promised.
    #[error("telemetry of segment {segment} is invalid: {reason}")]
    BadTelemetry {
        /// The camera's segment id.
        segment: String,
        /// What is wrong.
        reason: String,
    },
    /// The catalog failed (a full disk under the catalog is [`IngestError::Storage`] instead).
    #[error(transparent)]
    Catalog(CatalogError),
    /// Phone storage failed (full disk, I/O error).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The work was cancelled (streaming stopped); partial files are kept for resuming.
    #[error("ingest cancelled")]
    Cancelled,
    /// A background task was lost.
    #[error("ingest task failed: {0}")]
    Task(String),
    /// A vendor camera's driver failed (Dashkeep's own client fails as [`IngestError::Camera`]).
    #[error(transparent)]
    Driver(DriverError),
    /// A file from a vendor camera is not a video the phone can read (checked structurally,
    /// since these cameras list no checksum); it was not catalogued.
    #[error("{file} from the camera is not a readable video: {reason}")]
    NotAVideo {
        /// The camera's file name.
        file: String,
        /// What the structural check found.
        reason: String,
    },
}

impl From<DriverError> for IngestError {
    /// The Dashkeep client's errors stay [`IngestError::Camera`], so callers that react to a
    /// dropped link keep working whichever way ingest reached the camera.
    fn from(e: DriverError) -> Self {
        match e {
            DriverError::Dashkeep(e) => Self::Camera(e),
            e => Self::Driver(e),
        }
    }
}

impl From<CatalogError> for IngestError {
    /// A catalog write refused by a full disk becomes a storage-full error, so ingest pauses on
    /// it exactly as on a video write that hit ENOSPC.
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::StorageFull { path } => Self::Storage(StorageError::Full { path }),
            e => Self::Catalog(e),
        }
    }
}

/// What ingest reports while it works; the companion forwards these to the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestEvent {
    /// The camera answered; the phone knows it as `camera`.
    Connected {
        /// Catalog id of the camera.
        camera: CameraId,
        /// Its serial number.
        serial: String,
    },
    /// The camera stopped answering; ingest retries after `retry_in`.
    Disconnected {
        /// Why.
        reason: String,
        /// When the next try happens.
        retry_in: Duration,
    },
    /// A segment download began (or resumed from `resumed_from` bytes).
    SegmentStarted {
        /// Its drive.
        drive: DriveId,
        /// The segment.
        segment: SegmentId,
        /// Its size.
        bytes_total: u64,
        /// Bytes already on the phone from an earlier attempt.
        resumed_from: u64,
    },
    /// Bytes of a segment on the phone so far.
    SegmentProgress {
        /// The segment.
        segment: SegmentId,
        /// Bytes done.
        bytes_done: u64,
        /// Its size.
        bytes_total: u64,
    },
    /// A segment is complete, verified and catalogued on the phone.
    SegmentStored {
        /// Its drive.
        drive: DriveId,
        /// The segment.
        segment: SegmentId,
        /// Its size.
        bytes: u64,
    },
    /// A segment could not be ingested; the camera's copy is untouched.
    SegmentFailed {
        /// The camera's id for it (possibly unsafe: for display only).
        camera_segment_id: String,
        /// Why.
        reason: String,
    },
    /// The camera protected a moment (files it locked or filed as events): a new incident, with
    /// its clip planned. The companion announces it as `IncidentDetected`, like the detector's.
    CameraIncident(crate::catalog::EventRecord),
}

/// Receives ingest events; must return quickly.
pub type IngestObserver = Arc<dyn Fn(IngestEvent) + Send + Sync>;

/// What one "stream now" pass did.
#[derive(Debug, Default)]
pub struct IngestReport {
    /// Segments the camera listed.
    pub listed: usize,
    /// Listed segments the catalog did not know yet.
    pub new_on_camera: usize,
    /// Segments stored on the phone in this pass.
    pub stored: usize,
    /// Bytes fetched over the network in this pass.
    pub bytes_fetched: u64,
    /// Segments the camera no longer has (loop recording), noticed in this pass.
    pub overwritten_on_camera: usize,
    /// Listing entries and segments refused, each with its typed reason.
    pub refused: Vec<IngestError>,
    /// GPS records embedded in the camera's files that could not be used (cut, no fix,
    /// impossible values): skipped and counted, the files stored without them.
    pub gps_records_skipped: u64,
    /// Files deleted from the camera's card after a verified copy (the user's setting).
    pub deleted_from_camera: usize,
    /// Copied files the camera did not delete when asked (they stay on its card).
    pub camera_deletes_failed: usize,
}

/// Pulls segments from cameras into a data directory.
#[derive(Clone)]
pub struct Ingestor {
    in_flight: Arc<Mutex<HashMap<SegmentId, Streaming>>>,
    recorder: LoopRecorder,
    catalog: Catalog,
    layout: DataLayout,
    observer: IngestObserver,
    retry: RetryPolicy,
}

/// Listing pages are this long.
const PAGE: u32 = 500;
/// A segment whose bytes fail their checksum is fetched again this many times before giving up.
const INTEGRITY_ATTEMPTS: u32 = 3;
/// How long one long poll of the live feed waits.
const FEED_POLL: Duration = Duration::from_secs(20);

impl Ingestor {
    /// An ingestor writing into `layout` and recording in `catalog`, making room with `recorder`
    /// before each segment.
    pub fn new(
        catalog: Catalog,
        layout: DataLayout,
        recorder: LoopRecorder,
        observer: IngestObserver,
    ) -> Self {
        let in_flight = Arc::default();
        Self { in_flight, recorder, catalog, layout, observer, retry: RetryPolicy::default() }
    }

    /// Replaces the retry policy (tests shorten it).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    fn emit(&self, event: IngestEvent) {
        (self.observer)(event);
    }

    /// The drives being streamed now: the loop recorder must not evict them.
    pub fn streaming_drives(&self) -> Vec<DriveId> {
        let map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let mut drives: Vec<DriveId> = map.values().map(|s| s.drive).collect();
        drives.sort_unstable_by_key(|d| d.0);
        drives.dedup();
        drives
    }

    /// Keeps `room` with the claim on `segment`, so it is given back when the claim is.
    fn hold_room(&self, segment: SegmentId, room: Reservation) {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(streaming) = map.get_mut(&segment) {
            streaming.room = Some(room);
        }
    }

    /// Runs a camera request, retrying transient failures (a dropped link, a 5xx) with backoff.
    async fn retrying<T, E, F, Fut>(&self, mut request: F) -> Result<T, E>
    where
        E: Transient,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let mut failures = 0;
        loop {
            match request().await {
                Err(e) if e.is_transient() && failures < self.retry.max_retries => {
                    failures += 1;
                    tracing::debug!(error = %e, failures, "camera request failed; retrying");
                    tokio::time::sleep(self.retry.backoff(failures)).await;
                }
                result => return result,
            }
        }
    }

    /// Asks the camera who it is and records it.
    pub async fn connect(&self, camera: &CameraClient) -> Result<CameraId, IngestError> {
        let status = self.retrying(|| camera.status()).await?;
        let serial = status.serial.clone();
        let id = self.catalog.upsert_camera(status, camera.base_url().to_string()).await?;
        self.emit(IngestEvent::Connected { camera: id, serial });
        Ok(id)
    }

    /// Pulls everything the camera has that the phone lacks, newest drive first.
    pub async fn stream_now(
        &self,
        camera: &CameraClient,
        cancel: &CancellationToken,
    ) -> Result<IngestReport, IngestError> {
        let span = tracing::info_span!("stream_now", camera = camera.base_url());
        async {
            let camera_id = self.connect(camera).await?;
            let report = self.catch_up(camera, camera_id, cancel).await?;
            tracing::info!(
                stored = report.stored,
                bytes = report.bytes_fetched,
                refused = report.refused.len(),
                "stream now finished"
            );
            Ok(report)
        }
        .instrument(span)
        .await
    }

    /// Reads what the camera holds into the catalog without downloading anything: the camera's
    /// residencies and SD usage become current, for the storage forecast and the UI.
    pub async fn refresh(&self, camera: &CameraClient) -> Result<IngestReport, IngestError> {
        let camera_id = self.connect(camera).await?;
        self.sync_listing(camera, camera_id).await
    }

    /// Syncs the listing, then fetches every segment the phone lacks.
    async fn catch_up(
        &self,
        camera: &CameraClient,
        camera_id: CameraId,
        cancel: &CancellationToken,
    ) -> Result<IngestReport, IngestError> {
        let mut report = self.sync_listing(camera, camera_id).await?;
        self.fetch_missing(camera, camera_id, cancel, &mut report).await?;
        Ok(report)
    }

    /// Reads the camera's whole listing into the catalog and notes what it overwrote.
    async fn sync_listing(
        &self,
        camera: &CameraClient,
        camera_id: CameraId,
    ) -> Result<IngestReport, IngestError> {
        let mut report = IngestReport::default();
        let mut since = 0;
        let mut present = Vec::new();
        let mut latest = 0;
        loop {
            let page = self.retrying(|| camera.segments(since, PAGE)).await?;
            present.extend(page.segments.iter().map(|s| s.seq));
            latest = latest.max(page.segments.iter().map(|s| s.seq).max().unwrap_or(0));
            report.listed += page.segments.len();
            report.new_on_camera +=
                self.note_listing(camera_id, &page, &mut report.refused).await?;
            if !page.more || page.next_cursor <= since {
                break;
            }
            since = page.next_cursor;
        }
        report.overwritten_on_camera =
            self.catalog.note_camera_overwrites(camera_id, present).await?;
        self.catalog.set_feed_cursor(camera_id, latest).await?;
        Ok(report)
    }

    /// Validates a listing page and records its good entries; bad ones go to `refused`.
    async fn note_listing(
        &self,
        camera_id: CameraId,
        page: &SegmentList,
        refused: &mut Vec<IngestError>,
    ) -> Result<usize, IngestError> {
        let mut good: Vec<SegmentInfo> = Vec::with_capacity(page.segments.len());
        for s in &page.segments {
            match s.validate() {
                Ok(()) => good.push(s.clone()),
                Err(e) => {
                    tracing::warn!(error = %e, "refusing a camera listing entry");
                    self.emit(IngestEvent::SegmentFailed {
                        camera_segment_id: s.id.clone(),
                        reason: e.to_string(),
                    });
                    refused.push(e.into());
                }
            }
        }
        Ok(self.catalog.note_camera_segments(camera_id, good).await?)
    }

    /// Fetches every segment the phone lacks. Each segment's durable commit (fsync, telemetry,
    /// rename, catalog) runs while the next one downloads, so disk flushes overlap the network.
    async fn fetch_missing(
        &self,
        camera: &CameraClient,
        camera_id: CameraId,
        cancel: &CancellationToken,
        report: &mut IngestReport,
    ) -> Result<(), IngestError> {
        let mut committing: Option<Committing> = None;
        for segment in self.catalog.segments_missing_on_phone(camera_id).await? {
            let Some(claim) = InFlight::claim(&self.in_flight, &segment) else { continue };
            if self.already_on_phone(&segment).await? {
                continue;
            }
            let downloaded = self.download_on_worker(camera, &segment, cancel).await;
            if let Some(previous) = committing.take() {
                self.settle(previous.await.map_err(|e| IngestError::Task(e.to_string()))?, report)?;
            }
            match downloaded {
                Ok(fetched) => {
                    let (this, camera) = (self.clone(), camera.clone());
                    let span = tracing::info_span!(
                        "commit_segment",
                        segment = %segment.camera_segment_id
                    );
                    committing = Some(tokio::spawn(
                        async move {
                            let result =
                                this.commit_segment(&camera, &segment).await.map(|()| fetched);
                            drop(claim);
                            (segment, result)
                        }
                        .instrument(span),
                    ));
                }
                Err(e) => self.settle((segment, Err(e)), report)?,
            }
        }
        if let Some(previous) = committing.take() {
            self.settle(previous.await.map_err(|e| IngestError::Task(e.to_string()))?, report)?;
        }
        Ok(())
    }

    /// Counts a segment's outcome: stored, refused (this segment only), or a failure that stops
    /// the pass.
    fn settle(
        &self,
        (segment, result): (SegmentRecord, Result<u64, IngestError>),
        report: &mut IngestReport,
    ) -> Result<(), IngestError> {
        match result {
            Ok(bytes) => {
                report.stored += 1;
                report.bytes_fetched += bytes;
                Ok(())
            }
            Err(e) if is_segment_specific(&e) => {
                self.emit(IngestEvent::SegmentFailed {
                    camera_segment_id: segment.camera_segment_id.clone(),
                    reason: e.to_string(),
                });
                report.refused.push(e);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Downloads one catalogued segment and its telemetry onto the phone. Returns the bytes
    /// fetched over the network (less than its size when a partial download was resumed).
    pub async fn fetch_segment(
        &self,
        camera: &CameraClient,
        segment: &SegmentRecord,
        cancel: &CancellationToken,
    ) -> Result<u64, IngestError> {
        let Some(_claim) = InFlight::claim(&self.in_flight, segment) else {
            // Another task (automatic streaming, or "stream now") is fetching it already.
            return Ok(0);
        };
        if self.already_on_phone(segment).await? {
            return Ok(0);
        }
        let span = tracing::info_span!("fetch_segment", segment = %segment.camera_segment_id);
        async {
            let fetched = self.download_segment(camera, segment, cancel).await?;
            self.commit_segment(camera, segment).await?;
            Ok(fetched)
        }
        .instrument(span)
        .await
    }

    /// Whether another task stored the segment since `segment` was read (checked under the claim,
    /// so a segment is never downloaded twice).
    async fn already_on_phone(&self, segment: &SegmentRecord) -> Result<bool, IngestError> {
        let now = self
            .catalog
            .segment_by_camera_id(segment.camera_id, segment.camera_segment_id.clone())
            .await?;
        Ok(now.is_some_and(|s| s.phone_file.is_some()))
    }

    /// Runs [`Self::download_segment`] as a task on the runtime's workers, next to the connection
    /// task that reads the socket, whatever thread polls the caller (`block_on` polls on the
    /// caller's own thread): body chunks then pass between tasks without waking another thread.
    /// The task is aborted if the caller stops waiting, like the future it replaces.
    async fn download_on_worker(
        &self,
        camera: &CameraClient,
        segment: &SegmentRecord,
        cancel: &CancellationToken,
    ) -> Result<u64, IngestError> {
        let span = tracing::info_span!("fetch_segment", segment = %segment.camera_segment_id);
        let (this, camera, segment, cancel) =
            (self.clone(), camera.clone(), segment.clone(), cancel.clone());
        let mut task = AbortOnDrop(tokio::spawn(
            async move { this.download_segment(&camera, &segment, &cancel).await }.instrument(span),
        ));
        (&mut task.0).await.map_err(|e| IngestError::Task(e.to_string()))?
    }

    /// Makes room, then downloads the video into its partial file until it matches the listing.
    /// Returns the bytes fetched over the network.
    async fn download_segment(
        &self,
        camera: &CameraClient,
        segment: &SegmentRecord,
        cancel: &CancellationToken,
    ) -> Result<u64, IngestError> {
        let name = DataLayout::segment_file_name(segment.camera_id, &segment.camera_segment_id);
        let partial = self.layout.partial_path(&name);
        let expected = download::Expected {
            camera_segment_id: &segment.camera_segment_id,
            size: segment.size_bytes,
            listed: Some(&segment.content_hash),
        };
        let remote = crate::camera::segment_file(&segment.camera_segment_id, segment.size_bytes);
        // Room for this segment, kept with its claim until the catalog counts it (the loop
        // recorder counts every other write under way: the previous segment still committing,
        // a clip being cut).
        let mut protect = self.streaming_drives();
        protect.push(segment.drive_id);
        let bytes = segment.size_bytes + segment.telemetry_size;
        let room = self.recorder.reserve(bytes, Some(segment.started_at_ms), &protect).await?;
        self.hold_room(segment.id, room);
        let progress = Progress { ingestor: self, segment };
        let mut fetched = 0;
        let mut tries = 0;
        loop {
            tries += 1;
            let download = download::download_video(
                camera,
                &remote,
                &expected,
                &partial,
                self.retry,
                Some(&progress),
                cancel,
            );
            // Checked against the listed digest before anything else happens to it.
            let written = async {
                let done = download.await?;
                let bytes = done.bytes;
                done.written().await.map(|_| bytes)
            };
            match written.await {
                Err(IngestError::Storage(e)) if e.is_full() => {
                    // Nothing half-written stays: the partial file goes, the catalog is untouched.
                    let path = partial.clone();
                    let _ = tokio::task::spawn_blocking(move || std::fs::remove_file(path)).await;
                    return Err(IngestError::Storage(e));
                }
                Ok(bytes) => return Ok(fetched + bytes),
                Err(IngestError::ChecksumMismatch { segment: id })
                    if tries < INTEGRITY_ATTEMPTS =>
                {
                    tracing::warn!(segment = %id, "checksum mismatch; downloading again");
                    fetched += segment.size_bytes;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Makes a downloaded, verified video durable and names it in the catalog: fsync it while its
    /// telemetry is fetched and stored (durably, under its final name), then rename the video into
    /// place (fsyncing the directory), then commit the catalog row.
    async fn commit_segment(
        &self,
        camera: &CameraClient,
        segment: &SegmentRecord,
    ) -> Result<(), IngestError> {
        let name = DataLayout::segment_file_name(segment.camera_id, &segment.camera_segment_id);
        let partial = self.layout.partial_path(&name);
        let (synced, telemetry) =
            tokio::join!(sync_file(partial.clone()), self.fetch_telemetry(camera, segment));
        let committed = match (synced, telemetry) {
            (Ok(()), Ok(telemetry)) => self.rename_and_record(segment, name, telemetry).await,
            (Err(e), Ok(telemetry)) => {
                self.forget(&[&telemetry.name]).await;
                Err(e)
            }
            (_, Err(e)) => Err(e),
        };
        if let Err(e) = committed {
            // The verified download stays in tmp/ to be committed on the next try, unless the
            // disk is full: then it goes, like a partial download, and is fetched again later.
            if matches!(&e, IngestError::Storage(s) if s.is_full()) {
                let path = partial.clone();
                let _ = tokio::task::spawn_blocking(move || remove_durably(&path)).await;
            }
            return Err(e);
        }
        self.emit(IngestEvent::SegmentStored {
            drive: segment.drive_id,
            segment: segment.id,
            bytes: segment.size_bytes,
        });
        Ok(())
    }

    /// Renames the verified video into place and names it, with its telemetry, in the catalog.
    /// On failure neither file stays under its final name (the video goes back to tmp/).
    async fn rename_and_record(
        &self,
        segment: &SegmentRecord,
        name: String,
        telemetry: TelemetryFile,
    ) -> Result<(), IngestError> {
        let (partial, video) = (self.layout.partial_path(&name), self.layout.video_path(&name));
        let renamed = tokio::task::spawn_blocking(move || commit_rename(&partial, &video))
            .await
            .map_err(|e| IngestError::Task(e.to_string()))
            .and_then(|r| r.map_err(IngestError::from));
        if let Err(e) = renamed {
            self.forget(&[&telemetry.name]).await;
            return Err(e);
        }
        let names = [name.clone(), telemetry.name.clone()];
        let recorded = self.catalog.record_phone_copy(segment.id, PhoneFile { name }, telemetry);
        if let Err(e) = recorded.await {
            // Back to a verified download in tmp/, so nothing under its final name is unnamed.
            let (partial, video) =
                (self.layout.partial_path(&names[0]), self.layout.video_path(&names[0]));
            let back = tokio::task::spawn_blocking(move || commit_rename(&video, &partial)).await;
            if !matches!(back, Ok(Ok(()))) {
                self.forget(&[&names[0]]).await;
            }
            self.forget(&[&names[1]]).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// Removes files written under their final names for a segment the catalog did not take,
    /// so disk and catalog keep agreeing (best effort: reconciliation catches what is left).
    async fn forget(&self, names: &[&str]) {
        let paths: Vec<std::path::PathBuf> =
            names.iter().map(|n| self.layout.video_path(n)).collect();
        let removed = tokio::task::spawn_blocking(move || {
            paths.iter().try_for_each(|p| remove_durably(p)).map_err(|e| e.to_string())
        });
        if let Err(error) = removed.await.map_err(|e| e.to_string()).and_then(|r| r) {
            tracing::warn!(%error, "could not remove an uncatalogued file");
        }
    }

    /// Downloads, checks and stores a segment's telemetry sidecar.
    async fn fetch_telemetry(
        &self,
        camera: &CameraClient,
        segment: &SegmentRecord,
    ) -> Result<TelemetryFile, IngestError> {
        let id = &segment.camera_segment_id;
        let bad = |reason: String| IngestError::BadTelemetry { segment: id.clone(), reason };
        let bytes = self.retrying(|| camera.telemetry(id, segment.telemetry_size)).await?;
        if bytes.len() as u64 != segment.telemetry_size {
            return Err(bad(format!("{} bytes, listed {}", bytes.len(), segment.telemetry_size)));
        }
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        if digest != segment.telemetry_sha256 {
            return Err(bad("SHA-256 does not match the listing".into()));
        }
        let parsed: Telemetry = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if parsed.segment_id != *id {
            return Err(bad(format!("it names segment {:?}", parsed.segment_id)));
        }
        let name = DataLayout::telemetry_file_name(segment.camera_id, id);
        let accel_samples = u32::try_from(parsed.accel.len()).unwrap_or(u32::MAX);
        let gps_fixes = u32::try_from(parsed.gps.len()).unwrap_or(u32::MAX);
        self.write_sidecar(name, bytes, (accel_samples, gps_fixes)).await
    }

    /// Writes a file's telemetry sidecar durably under its final name.
    async fn write_sidecar(
        &self,
        name: String,
        telemetry: impl AsRef<[u8]> + Send + 'static,
        (accel_samples, gps_fixes): (u32, u32),
    ) -> Result<TelemetryFile, IngestError> {
        let (tmp, path) = (self.layout.tmp_dir(), self.layout.video_path(&name));
        let size_bytes = telemetry.as_ref().len() as u64;
        tokio::task::spawn_blocking(move || write_atomic(&tmp, &path, telemetry.as_ref()))
            .await
            .map_err(|e| IngestError::Task(e.to_string()))??;
        Ok(TelemetryFile { name, size_bytes, accel_samples, gps_fixes })
    }

    /// Follows the camera's live feed until cancelled: catches up with "stream now", then fetches
    /// each segment as the camera finalizes it. A dropped link is retried with backoff forever
    /// (the camera may be switched off and on); only cancellation or a non-transient error ends it.
    pub async fn follow(
        &self,
        camera: &CameraClient,
        cancel: &CancellationToken,
    ) -> Result<(), IngestError> {
        let span = tracing::info_span!("follow", camera = camera.base_url());
        async {
            let mut failures = 0u32;
            loop {
                let room_seen = self.recorder.room_version();
                match self.follow_once(camera, cancel).await {
                    Err(IngestError::Cancelled) => return Ok(()),
                    Err(IngestError::Storage(e)) if e.is_full() => {
                        if let StorageError::Full { .. } = e {
                            self.recorder.report_volume_full(0).await;
                        }
                        tracing::warn!(error = %e, "phone storage full; streaming paused");
                        if self.wait_for_room(room_seen, camera, cancel).await.is_err() {
                            return Ok(());
                        }
                    }
                    Err(IngestError::Camera(e)) if e.is_transient() => {
                        failures = failures.saturating_add(1);
                        let retry_in = self.retry.backoff(failures);
                        self.emit(IngestEvent::Disconnected { reason: e.to_string(), retry_in });
                        if download::sleep_or_cancel(retry_in, cancel).await.is_err() {
                            return Ok(());
                        }
                    }
                    Err(e) => return Err(e),
                    Ok(()) => failures = 0,
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Waits until room may have appeared: the quota changed or videos were deleted or unlocked;
    /// the camera finalized a new segment (a new drive makes the one just streamed evictable); or
    /// a minute passed (other apps may have freed space).
    async fn wait_for_room(
        &self,
        seen: u64,
        camera: &CameraClient,
        cancel: &CancellationToken,
    ) -> Result<(), IngestError> {
        let news = async {
            match camera.status().await {
                Ok(status) => {
                    let _ = camera.feed(status.latest_seq, FEED_POLL).await;
                }
                Err(_) => tokio::time::sleep(FEED_POLL).await,
            }
        };
        tokio::select! {
            () = cancel.cancelled() => Err(IngestError::Cancelled),
            () = self.recorder.wait_for_room(seen) => Ok(()),
            () = news => Ok(()),
            () = tokio::time::sleep(Duration::from_secs(60)) => Ok(()),
        }
    }

    async fn follow_once(
        &self,
        camera: &CameraClient,
        cancel: &CancellationToken,
    ) -> Result<(), IngestError> {
        let camera_id = self.connect(camera).await?;
        let report = self.catch_up(camera, camera_id, cancel).await?;
        let mut cursor = self
            .catalog
            .cameras()
            .await?
            .into_iter()
            .find(|c| c.id == camera_id)
            .map_or(0, |c| c.feed_cursor);
        tracing::debug!(cursor, stored = report.stored, "following the live feed");
        loop {
            let page = tokio::select! {
                () = cancel.cancelled() => return Err(IngestError::Cancelled),
                page = camera.feed(cursor, FEED_POLL) => page?,
            };
            let mut refused = Vec::new();
            self.note_listing(camera_id, &page, &mut refused).await?;
            let mut report = IngestReport::default();
            self.fetch_missing(camera, camera_id, cancel, &mut report).await?;
            cursor = cursor.max(page.next_cursor);
            self.catalog.set_feed_cursor(camera_id, cursor).await?;
        }
    }
}

/// A camera error that may go away by itself (a dropped link, a server error).
trait Transient: std::fmt::Display {
    fn is_transient(&self) -> bool;
}

impl Transient for CameraError {
    fn is_transient(&self) -> bool {
        CameraError::is_transient(self)
    }
}

impl Transient for DriverError {
    fn is_transient(&self) -> bool {
        DriverError::is_transient(self)
    }
}

/// Flushes a file's bytes and metadata to disk, on the blocking pool.
async fn sync_file(path: std::path::PathBuf) -> Result<(), IngestError> {
    tokio::task::spawn_blocking(move || {
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| StorageError::from_io(&path, e))
    })
    .await
    .map_err(|e| IngestError::Task(e.to_string()))?
    .map_err(IngestError::from)
}

/// Errors that concern one segment only: skip it and go on with the others.
fn is_segment_specific(e: &IngestError) -> bool {
    match e {
        IngestError::ChecksumMismatch { .. }
        | IngestError::SizeMismatch { .. }
        | IngestError::BadTelemetry { .. }
        | IngestError::Listing(_)
        | IngestError::NotAVideo { .. }
        | IngestError::Storage(StorageError::OlderThanKept) => true,
        IngestError::Driver(DriverError::Novatek(e)) => matches!(
            e,
            crate::camera::novatek::NovatekError::Status(404)
                | crate::camera::novatek::NovatekError::UnsafePath(_)
        ),
        IngestError::Driver(DriverError::BlackVue(e)) => matches!(
            e,
            crate::camera::blackvue::BlackVueError::Status(404)
                | crate::camera::blackvue::BlackVueError::UnsafePath(_)
        ),
        IngestError::Camera(CameraError::Status { status, .. }) => *status == 404,
        _ => false,
    }
}

/// Reports one segment's download progress, at most every 1 MiB.
pub(crate) struct Progress<'a> {
    ingestor: &'a Ingestor,
    segment: &'a SegmentRecord,
}

impl Progress<'_> {
    fn started(&self, resumed_from: u64) {
        self.ingestor.emit(IngestEvent::SegmentStarted {
            drive: self.segment.drive_id,
            segment: self.segment.id,
            bytes_total: self.segment.size_bytes,
            resumed_from,
        });
    }

    fn advanced(&self, before: u64, bytes_done: u64) {
        const STEP: u64 = 1 << 20;
        let total = self.segment.size_bytes;
        if before / STEP != bytes_done / STEP || bytes_done == total {
            self.ingestor.emit(IngestEvent::SegmentProgress {
                segment: self.segment.id,
                bytes_done,
                bytes_total: total,
            });
        }
    }
}

/// A segment's commit running while the next segment downloads.
type Committing = tokio::task::JoinHandle<(SegmentRecord, Result<u64, IngestError>)>;

/// A spawned task, aborted when dropped (its caller stopped waiting for it).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A segment being streamed: its drive, and the room made for it once its download starts.
struct Streaming {
    drive: DriveId,
    room: Option<Reservation>,
}

/// A claim on one segment, so two tasks never write the same partial file.
struct InFlight {
    set: Arc<Mutex<HashMap<SegmentId, Streaming>>>,
    segment: SegmentId,
}

impl InFlight {
    fn claim(
        set: &Arc<Mutex<HashMap<SegmentId, Streaming>>>,
        segment: &SegmentRecord,
    ) -> Option<Self> {
        let mut map = set.lock().unwrap_or_else(|p| p.into_inner());
        let std::collections::hash_map::Entry::Vacant(entry) = map.entry(segment.id) else {
            return None;
        };
        entry.insert(Streaming { drive: segment.drive_id, room: None });
        Some(Self { set: Arc::clone(set), segment: segment.id })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.set.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.segment);
    }
}
