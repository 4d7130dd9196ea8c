//! Live updates: the app registers a [`CompanionListener`]; a task on the bindings' runtime
//! forwards every core event to it until the returned [`TaskHandle`] is cancelled or dropped.
//! Kotlin wraps it in a `callbackFlow`, Swift in an `AsyncStream` (docs/mobile.md).

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dashkeep_core::CompanionEvent as CoreEvent;
use dashkeep_core::ingest::IngestEvent;
use dashkeep_core::storage::StorageEvent;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::camera::ConnectionState;
use crate::clips::{Clip, Incident};
use crate::cloud::CloudEvent;
use crate::types::{AtRiskDrive, Eviction};

/// One event for the UI.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum CompanionEvent {
    /// The camera answered.
    Connected {
        /// Catalog id of the camera.
        camera_id: i64,
        /// Its serial number.
        serial: String,
    },
    /// The camera stopped answering; streaming retries after `retry_in_ms`.
    Disconnected {
        /// Why, in words.
        reason: String,
        /// When the next try happens, in ms.
        retry_in_ms: u64,
    },
    /// A segment download began (or resumed).
    SegmentStarted {
        /// Its drive.
        drive_id: i64,
        /// The segment.
        segment_id: i64,
        /// Its size.
        bytes_total: u64,
        /// Bytes already on the phone from an earlier attempt.
        resumed_from: u64,
    },
    /// Bytes of a segment on the phone so far.
    SegmentProgress {
        /// The segment.
        segment_id: i64,
        /// Bytes done.
        bytes_done: u64,
        /// Its size.
        bytes_total: u64,
    },
    /// A segment is complete, verified and catalogued on the phone.
    SegmentStored {
        /// Its drive.
        drive_id: i64,
        /// The segment.
        segment_id: i64,
        /// Its size.
        bytes: u64,
    },
    /// A segment could not be ingested; the camera's copy is untouched.
    SegmentFailed {
        /// The camera's id for it (display only).
        camera_segment_id: String,
        /// Why, in words.
        reason: String,
    },
    /// The phone's loop recorder evicted a copy to make room.
    Evicted {
        /// What was evicted.
        eviction: Eviction,
    },
    /// Nothing more can be evicted and the quota is exceeded: streaming pauses.
    StorageFull {
        /// Bytes Dashkeep holds.
        owned_bytes: u64,
        /// Bytes it may hold.
        limit_bytes: u64,
        /// Bytes the next write needs.
        needed_bytes: u64,
    },
    /// Room appeared: paused streaming resumes.
    RoomAvailable,
    /// The phone's copy of a drive was removed by the user.
    PhoneCopyRemoved {
        /// The drive.
        drive_id: i64,
        /// How many segments.
        segments: u64,
    },
    /// Automatic streaming ended: stopped by the user (`error` null) or failed.
    StreamingStopped {
        /// Why it ended, when it was not asked to.
        error: Option<String>,
    },
    /// A hard brake or collision was detected.
    IncidentDetected {
        /// The incident.
        incident: Incident,
    },
    /// A clip was cut and is on the phone (and, with a cloud, queued for upload: its upload
    /// state arrives as `Cloud` events).
    ClipCreated {
        /// The clip.
        clip: Clip,
    },
    /// Upload state and progress, deletions and downloads in the cloud.
    Cloud {
        /// What happened.
        event: CloudEvent,
    },
    /// The drives at risk of being overwritten soon while living in one place only changed: show
    /// the warning (an empty list takes it down).
    AtRiskChanged {
        /// The drives at risk, soonest first.
        drives: Vec<AtRiskDrive>,
    },
    /// The camera connection changed state (the Home screen's status line).
    ConnectionChanged {
        /// The new state.
        state: ConnectionState,
    },
    /// The listener was too slow and `count` events were dropped: re-read the state.
    EventsMissed {
        /// How many.
        count: u64,
    },
}

impl CompanionEvent {
    /// Converts a core event; clip files are resolved under `data_dir`.
    pub(crate) fn new(e: CoreEvent, data_dir: &Path) -> Self {
        match e {
            CoreEvent::Ingest(e) => e.into(),
            CoreEvent::Connection(state) => Self::ConnectionChanged { state: state.into() },
            CoreEvent::AtRiskChanged(drives) => {
                Self::AtRiskChanged { drives: drives.into_iter().map(Into::into).collect() }
            }
            CoreEvent::Storage(e) => e.into(),
            CoreEvent::StreamingStopped { error } => Self::StreamingStopped { error },
            CoreEvent::PhoneCopyRemoved { drive, segments } => {
                Self::PhoneCopyRemoved { drive_id: drive.0, segments: segments as u64 }
            }
            CoreEvent::IncidentDetected(e) => Self::IncidentDetected { incident: e.into() },
            CoreEvent::Cloud(e) => Self::Cloud { event: e.into() },
            CoreEvent::ClipCreated(c) => Self::ClipCreated { clip: Clip::new(c, data_dir, None) },
        }
    }
}

impl From<IngestEvent> for CompanionEvent {
    fn from(e: IngestEvent) -> Self {
        match e {
            IngestEvent::Connected { camera, serial } => {
                Self::Connected { camera_id: camera.0, serial }
            }
            IngestEvent::Disconnected { reason, retry_in } => Self::Disconnected {
                reason,
                retry_in_ms: u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX),
            },
            IngestEvent::SegmentStarted { drive, segment, bytes_total, resumed_from } => {
                Self::SegmentStarted {
                    drive_id: drive.0,
                    segment_id: segment.0,
                    bytes_total,
                    resumed_from,
                }
            }
            IngestEvent::SegmentProgress { segment, bytes_done, bytes_total } => {
                Self::SegmentProgress { segment_id: segment.0, bytes_done, bytes_total }
            }
            IngestEvent::SegmentStored { drive, segment, bytes } => {
                Self::SegmentStored { drive_id: drive.0, segment_id: segment.0, bytes }
            }
            IngestEvent::SegmentFailed { camera_segment_id, reason } => {
                Self::SegmentFailed { camera_segment_id, reason }
            }
            IngestEvent::CameraIncident(e) => Self::IncidentDetected { incident: e.into() },
        }
    }
}

impl From<StorageEvent> for CompanionEvent {
    fn from(e: StorageEvent) -> Self {
        match e {
            StorageEvent::Evicted(e) => Self::Evicted { eviction: e.into() },
            StorageEvent::Full { owned_bytes, limit_bytes, needed_bytes } => {
                Self::StorageFull { owned_bytes, limit_bytes, needed_bytes }
            }
            StorageEvent::RoomAvailable => Self::RoomAvailable,
        }
    }
}

/// Receives the companion's events. Implemented by the app; called on a Rust thread, so it must
/// return quickly (hand the event to a channel: `trySend` in a Kotlin `callbackFlow`,
/// `continuation.yield` in a Swift `AsyncStream`).
#[uniffi::export(with_foreign)]
pub trait CompanionListener: Send + Sync {
    /// One event, in the order the core emitted them.
    fn on_event(&self, event: CompanionEvent);
}

/// A background task the app can cancel (the subscription of a listener).
/// Dropping the handle (Kotlin `close()`/GC, Swift deinit) cancels the task too.
#[derive(uniffi::Object)]
pub struct TaskHandle {
    handle: JoinHandle<()>,
}

impl TaskHandle {
    pub(crate) fn new(handle: JoinHandle<()>) -> Self {
        Self { handle }
    }
}

#[uniffi::export]
impl TaskHandle {
    /// Cancels the task: its listener is called no more (a call already running finishes).
    pub fn cancel(&self) {
        self.handle.abort();
    }

    /// Whether the task has ended (cancelled, or the companion was closed).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Forwards events from `rx` to `listener` until cancelled or the channel closes. A listener that
/// throws is logged and kept; a listener that lags gets [`CompanionEvent::EventsMissed`].
pub(crate) async fn forward(
    mut rx: broadcast::Receiver<CoreEvent>,
    listener: Arc<dyn CompanionListener>,
    data_dir: PathBuf,
) {
    loop {
        let event = match rx.recv().await {
            Ok(e) => CompanionEvent::new(e, &data_dir),
            Err(broadcast::error::RecvError::Lagged(count)) => {
                CompanionEvent::EventsMissed { count }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let call = std::panic::catch_unwind(AssertUnwindSafe(|| listener.on_event(event)));
        if call.is_err() {
            tracing::warn!("the app's CompanionListener failed on an event; it stays subscribed");
        }
    }
}
