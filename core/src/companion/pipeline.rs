//! The companion's background pipeline: every stored segment's telemetry and every batch of the
//! phone's IMU goes through the hard-brake and collision detector; each incident is recorded and
//! planned as a clip; pending clips are cut once their segments are on the phone (fetching the
//! ones only the camera still has).

use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use super::CompanionEvent;
use crate::catalog::{Catalog, ClipReason, DriveId, EventRecord, NewEvent, SegmentId};
use crate::clips::{ClipMaker, ClipWindow, ClipsError, Readiness};
use crate::events::{DetectedEvent, EventKind, MotionPipeline, MotionSample, MotionSource};
use crate::ingest::{IngestError, Ingestor};
use crate::protocol::Telemetry;
use crate::storage::DataLayout;

/// Incidents of one kind closer than this are one incident (the camera's and the phone's
/// sensors, or one incident seen twice).
const MERGE_WINDOW_MS: i64 = 3_000;

/// What the pipeline needs, shared with the companion.
#[derive(Clone)]
pub(super) struct Pipeline {
    pub catalog: Catalog,
    pub layout: DataLayout,
    pub ingestor: Ingestor,
    pub clips: ClipMaker,
    pub window: ClipWindow,
    pub motion: Arc<Mutex<MotionPipeline>>,
    pub events: broadcast::Sender<CompanionEvent>,
    /// Cutting is one at a time: two passes never cut the same clip.
    pub cutting: Arc<tokio::sync::Mutex<()>>,
    /// Where cut clips are queued for upload.
    pub cloud: Option<crate::cloud::CloudService>,
    /// The paired camera, whose segments are fetched over pinned, signed HTTPS.
    pub paired: super::PairedAccess,
}

/// Why the pipeline could not finish a step.
#[derive(Debug, thiserror::Error)]
pub(super) enum PipelineError {
    #[error(transparent)]
    Clips(#[from] ClipsError),
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Cloud(#[from] crate::cloud::CloudError),
}

impl Pipeline {
    /// Runs until cancelled: each stored segment feeds the detector and may complete a clip.
    pub async fn run(
        self,
        mut stored: UnboundedReceiver<(DriveId, SegmentId)>,
        stop: CancellationToken,
    ) {
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => return,
                next = stored.recv() => next,
            };
            let Some((drive, segment)) = next else { return };
            if let Err(e) = self.segment_stored(drive, segment).await {
                tracing::warn!(error = %e, "motion or clip pipeline step failed");
            }
        }
    }

    async fn segment_stored(
        &self,
        drive: DriveId,
        segment: SegmentId,
    ) -> Result<(), PipelineError> {
        let record =
            self.catalog.drive_timeline(drive).await?.into_iter().find(|s| s.id == segment);
        let telemetry = match &record {
            Some(r) => self.read_telemetry(r).await.map(|t| (r.started_at_ms, t)),
            None => None,
        };
        if let Some((started_at_ms, telemetry)) = telemetry {
            let detected = lock(&self.motion).camera_segment(drive, started_at_ms, &telemetry);
            self.record(detected, Some(drive)).await?;
        }
        self.cut_pending().await
    }

    async fn read_telemetry(&self, s: &crate::catalog::SegmentRecord) -> Option<Telemetry> {
        let path = self
            .layout
            .video_path(&DataLayout::telemetry_file_name(s.camera_id, &s.camera_segment_id));
        let bytes = tokio::task::spawn_blocking(move || std::fs::read(path)).await.ok()?.ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Feeds the phone's IMU and records what it detects.
    pub async fn phone_samples(
        &self,
        samples: Vec<MotionSample>,
    ) -> Result<Vec<EventRecord>, PipelineError> {
        let detected = lock(&self.motion).phone_samples(&samples);
        let events = self.record(detected, None).await?;
        self.cut_pending().await?;
        Ok(events)
    }

    /// Records incidents (merging repeats) and plans a clip around each new one.
    async fn record(
        &self,
        detected: Vec<DetectedEvent>,
        drive: Option<DriveId>,
    ) -> Result<Vec<EventRecord>, PipelineError> {
        let mut new = Vec::new();
        for e in detected {
            let at_ms = (e.t * 1000.0) as i64;
            let drive = match drive {
                Some(d) => Some(d),
                None => self.catalog.drive_at(at_ms).await?,
            };
            let (id, fresh) =
                self.catalog.record_event(new_event(&e, drive), MERGE_WINDOW_MS).await?;
            if fresh {
                let record = self.catalog.events(64).await?.into_iter().find(|r| r.id == id);
                if let Some(record) = record {
                    tracing::info!(kind = %record.kind, at_ms, peak_g = record.peak_g, "incident detected");
                    let _ = self.events.send(CompanionEvent::IncidentDetected(record.clone()));
                    new.push(record);
                }
            } else if self.catalog.event_has_clip(id).await? {
                // Seen before (by the other device, or in an earlier pass) and clipped already.
                continue;
            }
            if let Some(drive) = drive {
                let reason = match e.kind {
                    EventKind::HardBrake => ClipReason::HardBrake,
                    EventKind::Collision => ClipReason::Collision,
                };
                self.clips.plan(drive, Some(id), reason, self.window.around(at_ms)).await?;
            }
        }
        Ok(new)
    }

    /// Cuts every pending clip whose segments are on the phone, fetching from the camera the
    /// segments the phone no longer has.
    pub async fn cut_pending(&self) -> Result<(), PipelineError> {
        let _one_at_a_time = self.cutting.lock().await;
        for clip in self.catalog.pending_clips().await? {
            let mut readiness = self.clips.readiness(&clip).await?;
            if let Readiness::Fetch(missing) = &readiness {
                self.fetch_for_clip(missing).await;
                readiness = self.clips.readiness(&clip).await?;
            }
            if let Readiness::Ready(segments) = readiness {
                match self.clips.cut(&clip, &segments).await {
                    Ok(ready) => {
                        if let Some(cloud) = &self.cloud {
                            cloud.enqueue(ready.id.0).await?;
                        }
                        let _ = self.events.send(CompanionEvent::ClipCreated(ready));
                    }
                    Err(e) => tracing::warn!(clip = clip.id.0, error = %e, "could not cut clip"),
                }
            }
        }
        Ok(())
    }

    /// Fetches segments a clip needs from their camera; a camera out of reach is tried later.
    async fn fetch_for_clip(&self, missing: &[crate::catalog::SegmentRecord]) {
        let cameras = match self.catalog.cameras().await {
            Ok(c) => c,
            Err(e) => return tracing::warn!(error = %e, "cannot read cameras"),
        };
        let cancel = CancellationToken::new();
        for segment in missing {
            let Some(camera) = cameras.iter().find(|c| c.id == segment.camera_id) else { continue };
            let Ok(client) = self.paired.client_for_camera(&camera.serial, &camera.base_url) else {
                continue;
            };
            if let Err(e) = self.ingestor.fetch_segment(&client, segment, &cancel).await {
                tracing::info!(segment = %segment.camera_segment_id, error = %e,
                    "segment for a clip not fetched; will try again");
            }
        }
    }
}

fn new_event(e: &DetectedEvent, drive: Option<DriveId>) -> NewEvent {
    NewEvent {
        drive,
        kind: match e.kind {
            EventKind::HardBrake => "hard_brake",
            EventKind::Collision => "collision",
        },
        at_ms: (e.t * 1000.0) as i64,
        peak_g: e.peak_g,
        duration_ms: (e.duration_s * 1000.0) as i64,
        location: e.location,
        source: match e.source {
            MotionSource::Camera => "camera",
            MotionSource::Phone => "phone",
            MotionSource::Both => "both",
        },
    }
}

fn lock(m: &Mutex<MotionPipeline>) -> std::sync::MutexGuard<'_, MotionPipeline> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
