//! The phone's loop recorder: before a new segment is written, make room under the quota by
//! evicting the oldest drives' segments; uploaded clips only when no segment is left to evict.
//!
//! Never evicted: the drive being streamed now, drives the user locked, segments a pending clip
//! still needs, and clips not yet in the cloud. Eviction only frees phone storage: the camera's
//! and the cloud's copies are untouched.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::watch;
use tracing::Instrument;

use super::{
    Budget, DataLayout, QuotaFraction, SafetyFloor, StorageError, StorageProbe, remove_durably,
};
use crate::catalog::{Catalog, DriveId, SegmentId, SegmentRecord};

/// Where the setting is kept in the catalog.
const QUOTA_KEY: &str = "quota_fraction";

/// One phone copy the loop recorder removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Eviction {
    /// A drive segment (video and telemetry).
    Segment {
        /// Its drive.
        drive: DriveId,
        /// The segment.
        segment: SegmentId,
        /// Bytes freed.
        bytes: u64,
    },
    /// A clip that stays in the cloud.
    Clip {
        /// The clip's catalog id.
        clip_id: i64,
        /// Bytes freed.
        bytes: u64,
    },
}

impl Eviction {
    /// Bytes freed.
    pub fn bytes(&self) -> u64 {
        match self {
            Self::Segment { bytes, .. } | Self::Clip { bytes, .. } => *bytes,
        }
    }
}

/// What the loop recorder reports for the UI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum StorageEvent {
    /// A phone copy was evicted to make room.
    Evicted(Eviction),
    /// Nothing more can be evicted and the quota is still exceeded: ingest pauses.
    Full {
        /// Bytes Dashkeep holds.
        owned_bytes: u64,
        /// What it may hold.
        limit_bytes: u64,
        /// Bytes the next write needs.
        needed_bytes: u64,
    },
    /// Room appeared (quota raised, videos deleted or unlocked): paused ingest resumes.
    RoomAvailable,
}

/// Receives storage events; must return quickly.
pub type StorageObserver = Arc<dyn Fn(StorageEvent) + Send + Sync>;

/// The phone's loop recorder over one data directory.
#[derive(Clone)]
pub struct LoopRecorder {
    catalog: Catalog,
    layout: DataLayout,
    probe: Arc<dyn StorageProbe>,
    floor: SafetyFloor,
    observer: StorageObserver,
    fraction: Arc<Mutex<QuotaFraction>>,
    room: watch::Sender<u64>,
    /// Bytes of room made for writes still under way (downloads, clips being cut): counted
    /// against the quota by every writer, as the catalog does not count those files yet.
    reserved: Arc<AtomicU64>,
    /// One writer makes room at a time, so two never admit into the same free bytes.
    admitting: Arc<tokio::sync::Mutex<()>>,
    /// Whether the last try to make room failed (ingest is paused), until room is made or may
    /// have appeared.
    full: Arc<AtomicBool>,
}

/// Room the loop recorder made for one write still under way (a download, a clip being cut).
/// Its bytes count against the quota for every other writer until it is dropped, which the
/// writer does once its file is in the catalog (which then counts it) or abandoned.
#[must_use = "the room is given back when the reservation is dropped"]
#[derive(Debug)]
pub struct Reservation {
    reserved: Arc<AtomicU64>,
    bytes: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.reserved.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

impl LoopRecorder {
    /// A recorder reading the persisted quota from the catalog (the default when unset).
    pub async fn open(
        catalog: Catalog,
        layout: DataLayout,
        probe: Arc<dyn StorageProbe>,
        floor: SafetyFloor,
        observer: StorageObserver,
    ) -> Result<Self, StorageError> {
        let fraction = match catalog.setting(QUOTA_KEY).await? {
            Some(v) => v.parse().ok().and_then(|f| QuotaFraction::new(f).ok()).unwrap_or_default(),
            None => QuotaFraction::default(),
        };
        let fraction = Arc::new(Mutex::new(fraction));
        let room = watch::Sender::new(0);
        let (reserved, admitting, full) = (Arc::default(), Arc::default(), Arc::default());
        Ok(Self {
            catalog,
            layout,
            probe,
            floor,
            observer,
            fraction,
            room,
            reserved,
            admitting,
            full,
        })
    }

    /// The user's quota.
    pub fn fraction(&self) -> QuotaFraction {
        *self.fraction.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The budget now: quota, floor, limit and what Dashkeep holds.
    pub async fn budget(&self) -> Result<Budget, StorageError> {
        let (probe, root) = (Arc::clone(&self.probe), self.layout.root().to_path_buf());
        let volume = tokio::task::spawn_blocking(move || probe.volume_space(&root))
            .await
            .map_err(|e| StorageError::Task(e.to_string()))??;
        let owned = self.catalog.phone_usage().await?.total();
        Ok(Budget::new(self.fraction(), self.floor, volume, owned))
    }

    /// Sets and persists the quota. Lowering it evicts at once down to the new limit (by the same
    /// rules), keeping the room reserved for writes under way; raising it wakes paused ingest.
    /// Returns what was evicted.
    pub async fn set_fraction(
        &self,
        fraction: QuotaFraction,
        protect: &[DriveId],
    ) -> Result<Vec<Eviction>, StorageError> {
        // No other writer makes room between the new quota and this eviction (it would evict
        // for itself, and the user would be told nothing was).
        let admitting = self.admitting.lock().await;
        self.catalog.set_setting(QUOTA_KEY, fraction.get().to_string()).await?;
        *self.fraction.lock().unwrap_or_else(|p| p.into_inner()) = fraction;
        let evicted = match self.make_room_now(0, None, protect).await {
            Ok(evicted) => evicted,
            // Everything left is protected: the state is "full", which make_room reported.
            Err(e) if e.is_full() => Vec::new(),
            Err(e) => return Err(e),
        };
        drop(admitting);
        self.room_changed();
        Ok(evicted)
    }

    /// Whether the last try to make room failed: ingest is paused for room (the UI says so),
    /// until room is made, or may have appeared ([`LoopRecorder::room_changed`]).
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// Tells paused ingest that room may have appeared.
    pub fn room_changed(&self) {
        self.full.store(false, Ordering::Relaxed);
        (self.observer)(StorageEvent::RoomAvailable);
        self.room.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// How many times room appeared so far: read it before trying, then wait with
    /// [`LoopRecorder::wait_for_room`], so a change in between is never missed.
    pub fn room_version(&self) -> u64 {
        *self.room.borrow()
    }

    /// Reports that the volume itself is full (a write failed with ENOSPC): ingest pauses.
    pub async fn report_volume_full(&self, needed_bytes: u64) {
        self.full.store(true, Ordering::Relaxed);
        let (owned_bytes, limit_bytes) = match self.budget().await {
            Ok(b) => (b.owned_bytes, b.limit_bytes),
            Err(_) => (0, 0),
        };
        (self.observer)(StorageEvent::Full { owned_bytes, limit_bytes, needed_bytes });
    }

    /// Waits until room appeared after `seen` (a [`LoopRecorder::room_version`]).
    pub async fn wait_for_room(&self, seen: u64) {
        let mut rx = self.room.subscribe();
        let _ = rx.wait_for(|v| *v != seen).await;
    }

    /// Makes room for `incoming` bytes, evicting oldest first, on top of the room reserved for
    /// writes under way. `incoming_started_at_ms` is when the incoming video was recorded:
    /// nothing newer than it is evicted for it (it would be the first to go). `protect` lists
    /// drives never to evict now (the one being streamed).
    /// Fails with [`StorageError::QuotaExceeded`] (or [`StorageError::PhoneNearlyFull`]) when not
    /// enough can be evicted.
    pub async fn make_room(
        &self,
        incoming: u64,
        incoming_started_at_ms: Option<i64>,
        protect: &[DriveId],
    ) -> Result<Vec<Eviction>, StorageError> {
        let _admitting = self.admitting.lock().await;
        self.make_room_now(incoming, incoming_started_at_ms, protect).await
    }

    /// Makes room for `incoming` bytes like [`LoopRecorder::make_room`] and keeps it: until the
    /// returned reservation is dropped, every other writer counts these bytes as used. A writer
    /// holds it while its file is written and drops it once the catalog counts the file.
    pub async fn reserve(
        &self,
        incoming: u64,
        incoming_started_at_ms: Option<i64>,
        protect: &[DriveId],
    ) -> Result<Reservation, StorageError> {
        let _admitting = self.admitting.lock().await;
        self.make_room_now(incoming, incoming_started_at_ms, protect).await?;
        self.reserved.fetch_add(incoming, Ordering::Relaxed);
        Ok(Reservation { reserved: Arc::clone(&self.reserved), bytes: incoming })
    }

    /// The bytes reserved now for writes under way.
    pub fn reserved_bytes(&self) -> u64 {
        self.reserved.load(Ordering::Relaxed)
    }

    async fn make_room_now(
        &self,
        incoming: u64,
        incoming_started_at_ms: Option<i64>,
        protect: &[DriveId],
    ) -> Result<Vec<Eviction>, StorageError> {
        let budget = self.budget().await?;
        let incoming = incoming.saturating_add(self.reserved_bytes());
        if budget.owned_bytes.saturating_add(incoming) <= budget.limit_bytes {
            self.full.store(false, Ordering::Relaxed);
            return Ok(Vec::new());
        }
        let span = tracing::info_span!(
            "make_room",
            incoming,
            owned = budget.owned_bytes,
            limit = budget.limit_bytes
        );
        let made = self.evict_down_to(budget, incoming, incoming_started_at_ms, protect);
        let made = made.instrument(span).await;
        self.full.store(made.as_ref().is_err_and(StorageError::is_full), Ordering::Relaxed);
        made
    }

    async fn evict_down_to(
        &self,
        budget: Budget,
        incoming: u64,
        incoming_started_at_ms: Option<i64>,
        protect: &[DriveId],
    ) -> Result<Vec<Eviction>, StorageError> {
        let target = budget.limit_bytes.saturating_sub(incoming + budget.hysteresis_bytes());
        let mut owned = budget.owned_bytes;
        let mut evicted = Vec::new();
        let mut stopped_by_age = false;
        while owned > target {
            match self.next_victim(incoming_started_at_ms, protect).await? {
                Victim::Evicted(next) => {
                    owned = owned.saturating_sub(next.bytes());
                    (self.observer)(StorageEvent::Evicted(next.clone()));
                    evicted.push(next);
                }
                Victim::NewerThanIncoming => {
                    stopped_by_age = true;
                    break;
                }
                Victim::None => break,
            }
        }
        let fits = owned.saturating_add(incoming) <= budget.limit_bytes;
        if !fits && stopped_by_age {
            return Err(StorageError::OlderThanKept);
        }
        if !fits {
            (self.observer)(StorageEvent::Full {
                owned_bytes: owned,
                limit_bytes: budget.limit_bytes,
                needed_bytes: incoming,
            });
            return Err(no_room(&budget, owned, incoming));
        }
        tracing::info!(evicted = evicted.len(), owned, "made room");
        Ok(evicted)
    }

    /// Evicts the next victim: the oldest evictable segment, else the oldest uploaded clip.
    async fn next_victim(
        &self,
        newer_than_limit: Option<i64>,
        protect: &[DriveId],
    ) -> Result<Victim, StorageError> {
        let segments = self.catalog.eviction_candidates(protect.to_vec(), 1).await?;
        if let Some(segment) = segments.into_iter().next() {
            if newer_than_limit.is_some_and(|t| segment.started_at_ms > t) {
                return Ok(Victim::NewerThanIncoming);
            }
            // The catalog counts the telemetry it stored, whose size is the listed one.
            let bytes = segment.size_bytes + segment.telemetry_size;
            remove_phone_copy(&self.catalog, &self.layout, &segment, "evicted").await?;
            let eviction =
                Eviction::Segment { drive: segment.drive_id, segment: segment.id, bytes };
            return Ok(Victim::Evicted(eviction));
        }
        let clips = self.catalog.evictable_clips(1).await?;
        let Some(clip) = clips.into_iter().next() else { return Ok(Victim::None) };
        // Safe in the cloud: only the phone's copy goes.
        remove_clip_phone_copy(
            &self.catalog,
            &self.layout,
            clip.clip_id,
            &clip.phone_file,
            "evicted",
        )
        .await?;
        Ok(Victim::Evicted(Eviction::Clip { clip_id: clip.clip_id, bytes: clip.size_bytes }))
    }
}

/// Why `incoming` bytes do not fit once `owned` are left: the quota, or, when the quota alone
/// would let them in, the phone's own free space (raising the quota would not help).
fn no_room(budget: &Budget, owned: u64, incoming: u64) -> StorageError {
    if owned.saturating_add(incoming) <= budget.quota_bytes {
        return StorageError::PhoneNearlyFull {
            available_bytes: budget.volume.available_bytes,
            floor_bytes: budget.floor_bytes,
            needed_bytes: incoming,
        };
    }
    StorageError::QuotaExceeded {
        owned_bytes: owned,
        limit_bytes: budget.limit_bytes,
        needed_bytes: incoming,
    }
}

/// What the recorder found to evict next.
enum Victim {
    Evicted(Eviction),
    NewerThanIncoming,
    None,
}

/// Removes the phone's copy of a segment, the other way round from storing it: mark the row,
/// unlink the files, fsync the directory, then forget the files and close the `phone` residency.
/// The camera's copy and any cloud copy are untouched.
pub async fn remove_phone_copy(
    catalog: &Catalog,
    layout: &DataLayout,
    segment: &SegmentRecord,
    reason: &'static str,
) -> Result<(), StorageError> {
    catalog.mark_phone_copy_deleting(segment.id, reason).await?;
    let names = [
        segment.phone_file.clone(),
        Some(DataLayout::telemetry_file_name(segment.camera_id, &segment.camera_segment_id)),
    ];
    let paths: Vec<_> = names.into_iter().flatten().map(|n| layout.video_path(&n)).collect();
    tokio::task::spawn_blocking(move || paths.iter().try_for_each(|p| remove_durably(p)))
        .await
        .map_err(|e| StorageError::Task(e.to_string()))??;
    catalog.forget_phone_copy(segment.id, reason).await?;
    Ok(())
}

/// Removes the phone's copy of a clip (`phone_file` and its sidecar): the catalog first, then
/// the files. A clip leaves the phone only when it is safe in the cloud or deleted for good, so a
/// kill in between leaves only unnamed files, which the next open removes (the other order left a
/// clip naming a file that was gone: found by the kill -9 campaign).
pub async fn remove_clip_phone_copy(
    catalog: &Catalog,
    layout: &DataLayout,
    clip_id: i64,
    phone_file: &str,
    reason: &'static str,
) -> Result<(), StorageError> {
    let paths = [
        layout.video_path(phone_file),
        layout.video_path(&DataLayout::clip_telemetry_file_name(clip_id)),
    ];
    catalog.forget_clip_phone_copy(clip_id, reason).await?;
    tokio::task::spawn_blocking(move || paths.iter().try_for_each(|p| remove_durably(p)))
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
}
