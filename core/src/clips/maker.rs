//! The clip maker: plans clip windows (around an incident, "clip now", or any range of a drive),
//! waits until the segments a window needs are on the phone, cuts the clip by remux, and records
//! it in the catalog with its `phone` residency.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use tracing::Instrument;

use super::{ClipError, CutRequest, cut_clip};
use crate::catalog::{
    Catalog, CatalogError, ClipId, ClipReason, ClipRecord, DriveId, SegmentRecord,
};
use crate::storage::{
    DataLayout, LoopRecorder, StorageError, commit_rename, hash_file, write_atomic,
};

/// How long a clip around a moment lasts: Nexar's clips are 30 s before and 10 s after.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClipWindow {
    /// Time kept before the moment.
    pub before: Duration,
    /// Time kept after the moment.
    pub after: Duration,
}

impl Default for ClipWindow {
    fn default() -> Self {
        Self { before: Duration::from_secs(30), after: Duration::from_secs(10) }
    }
}

impl ClipWindow {
    /// The window `[start_ms, end_ms)` around a moment.
    pub fn around(&self, at_ms: i64) -> (i64, i64) {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        (at_ms.saturating_sub(ms(self.before)), at_ms.saturating_add(ms(self.after)))
    }
}

/// Why a clip could not be planned or cut.
#[derive(Debug, thiserror::Error)]
pub enum ClipsError {
    /// The window is empty or outside the drive.
    #[error("no clip: {0}")]
    BadWindow(String),
    /// Cutting the MP4 failed.
    #[error(transparent)]
    Cut(#[from] ClipError),
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Phone storage failed or is full.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A background task was lost.
    #[error("clip task failed: {0}")]
    Task(String),
    /// The clip changed while it was cut: the user deleted it (it is cancelled for good), or a
    /// new request extended its window (it stays pending, to be cut again whole). The cut file
    /// was removed.
    #[error("clip {0} was deleted or extended while it was cut; the cut was discarded")]
    Superseded(i64),
}

/// What a pending clip is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Every segment of the window is on the phone: cut now.
    Ready(Vec<SegmentRecord>),
    /// Segments of the window are on the camera but not the phone: fetch these first.
    Fetch(Vec<SegmentRecord>),
    /// The camera has not recorded (or the phone not received) the window's end yet.
    Waiting,
    /// Nothing of the window exists anywhere any more.
    Lost,
}

/// Plans and cuts clips in one data directory.
#[derive(Clone)]
pub struct ClipMaker {
    catalog: Catalog,
    layout: DataLayout,
    recorder: LoopRecorder,
    exact: bool,
}

impl ClipMaker {
    /// A clip maker writing into `layout`, making room with `recorder`. With `exact`, clips begin
    /// exactly at the window's start (an edit list) rather than at the keyframe before it.
    pub fn new(catalog: Catalog, layout: DataLayout, recorder: LoopRecorder, exact: bool) -> Self {
        Self { catalog, layout, recorder, exact }
    }

    /// Plans a clip of `drive` over `[start_ms, end_ms)`; returns the clip that holds it, which
    /// may be an existing one: a pending clip it overlaps is extended, a cut clip of the same
    /// moment is returned as it is (see [`Catalog::plan_clip`]).
    pub async fn plan(
        &self,
        drive: DriveId,
        event: Option<i64>,
        reason: ClipReason,
        window: (i64, i64),
    ) -> Result<ClipId, ClipsError> {
        if window.1 <= window.0 {
            return Err(ClipsError::BadWindow(format!("ends before it starts: {window:?}")));
        }
        Ok(self.catalog.plan_clip(drive, event, reason, window.0, window.1).await?)
    }

    /// What a pending clip waits for.
    pub async fn readiness(&self, clip: &ClipRecord) -> Result<Readiness, ClipsError> {
        let Some(drive) = clip.drive_id else { return Ok(Readiness::Lost) };
        let segments = self.catalog.segments_overlapping(drive, clip.start_ms, clip.end_ms).await?;
        let covered_to = segments.last().map_or(i64::MIN, |s| s.started_at_ms + s.duration_ms);
        // The window's end is recorded, or the drive ended before it: the camera has recorded a
        // later drive since, so no more segments of this one will come.
        let complete = covered_to >= clip.end_ms || self.catalog.camera_moved_on(drive).await?;
        if !complete {
            return Ok(Readiness::Waiting);
        }
        let (on_phone, missing): (Vec<_>, Vec<_>) =
            segments.into_iter().partition(|s| s.phone_file.is_some());
        let on_camera: Vec<_> = self.on_camera(missing).await?;
        Ok(match (on_phone.is_empty(), on_camera.is_empty()) {
            (_, false) => Readiness::Fetch(on_camera),
            (true, true) => Readiness::Lost,
            (false, true) => Readiness::Ready(on_phone),
        })
    }

    async fn on_camera(
        &self,
        missing: Vec<SegmentRecord>,
    ) -> Result<Vec<SegmentRecord>, ClipsError> {
        let mut out = Vec::new();
        for s in missing {
            if self.catalog.is_on_camera(s.id).await? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Cuts a pending clip from its segments on the phone and records it. Returns the clip.
    pub async fn cut(
        &self,
        clip: &ClipRecord,
        segments: &[SegmentRecord],
    ) -> Result<ClipRecord, ClipsError> {
        let span = tracing::info_span!("cut_clip", clip = clip.id.0);
        self.cut_inner(clip, segments).instrument(span).await
    }

    async fn cut_inner(
        &self,
        clip: &ClipRecord,
        segments: &[SegmentRecord],
    ) -> Result<ClipRecord, ClipsError> {
        let first = segments.first().ok_or_else(|| ClipsError::BadWindow("no segment".into()))?;
        let origin = first.started_at_ms;
        let estimate = estimate_bytes(segments, clip.start_ms, clip.end_ms);
        // Kept until the catalog counts the clip, so a download under way meanwhile counts it.
        let _room = self.recorder.reserve(estimate, None, &[first.drive_id]).await?;
        let request = CutRequest {
            segments: segments.iter().filter_map(|s| self.segment_path(s)).collect(),
            from_s: (clip.start_ms.max(origin) - origin) as f64 / 1000.0,
            to_s: (clip.end_ms - origin) as f64 / 1000.0,
            exact: self.exact,
        };
        let name = DataLayout::clip_file_name(clip.id.0);
        let (tmp, path) = (self.layout.partial_path(&name), self.layout.video_path(&name));
        let (report, size, sha256) =
            tokio::task::spawn_blocking(move || cut_to(&request, &tmp, &path))
                .await
                .map_err(|e| ClipsError::Task(e.to_string()))??;
        let covered =
            (origin + (report.start_s * 1000.0) as i64, origin + (report.end_s * 1000.0) as i64);
        let finished = self.catalog.finish_planned_clip(clip, name.clone(), size, sha256, covered);
        match finished.await {
            Ok(true) => {}
            // Deleted or extended meanwhile; or not catalogued (a full disk under SQLite): the
            // file goes, the catalog keeps the clip as it is (deleted, or pending).
            other => {
                self.remove_video(&name).await;
                return Err(other.map_or_else(Into::into, |_| ClipsError::Superseded(clip.id.0)));
            }
        }
        self.write_telemetry(clip.id, covered, segments).await;
        tracing::info!(clip = clip.id.0, size, gaps = report.gaps.len(), "clip cut");
        Ok(self.catalog.clip(clip.id).await?)
    }

    /// Writes the clip's GPS and G-sensor sidecar and names it in the catalog. A failure is
    /// logged; the clip itself stands.
    async fn write_telemetry(&self, clip: ClipId, covered: (i64, i64), segments: &[SegmentRecord]) {
        let sources: Vec<(i64, PathBuf)> = segments
            .iter()
            .map(|s| {
                let name = DataLayout::telemetry_file_name(s.camera_id, &s.camera_segment_id);
                (s.started_at_ms, self.layout.video_path(&name))
            })
            .collect();
        let name = DataLayout::clip_telemetry_file_name(clip.0);
        let (tmp, path) = (self.layout.tmp_dir(), self.layout.video_path(&name));
        let written = tokio::task::spawn_blocking(move || -> Result<u64, StorageError> {
            let sidecar = super::telemetry::gather(clip.0, covered, &sources);
            let bytes = serde_json::to_vec(&sidecar).unwrap_or_default();
            write_atomic(&tmp, &path, &bytes)?;
            Ok(bytes.len() as u64)
        })
        .await;
        match written {
            Ok(Ok(bytes)) => match self.catalog.set_clip_telemetry(clip, name.clone(), bytes).await
            {
                Ok(true) => {}
                // Deleted while its sidecar was written: no file of it may stay.
                Ok(false) => self.remove_video(&name).await,
                Err(e) => {
                    tracing::warn!(clip = clip.0, error = %e, "clip telemetry not catalogued");
                    self.remove_video(&name).await;
                }
            },
            Ok(Err(e)) => tracing::warn!(clip = clip.0, error = %e, "clip telemetry not written"),
            Err(e) => tracing::warn!(clip = clip.0, error = %e, "clip telemetry task failed"),
        }
    }

    /// Removes a file of the videos directory the catalog does not name (durably; a failure is
    /// logged, and the next open's reconciliation removes what is left).
    async fn remove_video(&self, name: &str) {
        let path = self.layout.video_path(name);
        let removed =
            tokio::task::spawn_blocking(move || crate::storage::remove_durably(&path)).await;
        if !matches!(removed, Ok(Ok(_))) {
            tracing::warn!(file = name, "unnamed clip file not removed; the next open will");
        }
    }

    fn segment_path(&self, s: &SegmentRecord) -> Option<PathBuf> {
        s.phone_file.as_deref().map(|n| self.layout.video_path(n))
    }
}

/// Cuts into `tmp` (complete and fsynced when [`cut_clip`] returns), hashes it and renames it to
/// `path`; removes `tmp` on failure.
fn cut_to(
    request: &CutRequest,
    tmp: &std::path::Path,
    path: &std::path::Path,
) -> Result<(super::CutReport, u64, String), ClipsError> {
    let result = (|| {
        let report = cut_clip(request, tmp)?;
        let (size, sha256) = hash_file(tmp)?;
        commit_rename(tmp, path)?;
        Ok((report, size, sha256))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result
}

/// The clip's share of its segments' bytes, for making room before cutting.
fn estimate_bytes(segments: &[SegmentRecord], start_ms: i64, end_ms: i64) -> u64 {
    segments
        .iter()
        .map(|s| {
            let from = start_ms.max(s.started_at_ms);
            let to = end_ms.min(s.started_at_ms + s.duration_ms);
            let share = (to - from).max(0) as f64 / s.duration_ms.max(1) as f64;
            (s.size_bytes as f64 * share) as u64
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_thirty_seconds_before_and_ten_after() {
        assert_eq!(ClipWindow::default().around(100_000), (70_000, 110_000));
    }
}
