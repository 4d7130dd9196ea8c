//! Reconciliation on open: make the data directory and the catalog agree after a crash, a kill,
//! or files removed behind the app's back. What it fixes is logged and reported.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::IngestError;
use crate::catalog::{CameraId, Catalog, ClipFiles, SegmentRecord};
use crate::storage::{DataLayout, StorageError, commit_rename, remove_durably};

/// What reconciliation found and fixed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Phone copies marked for deletion whose deletion was finished.
    pub deletes_finished: usize,
    /// Catalogued phone copies whose file was missing; the catalog now says so.
    pub missing_files: usize,
    /// Complete files the catalog did not name (killed between rename and commit), moved back to
    /// partial downloads so they are verified and catalogued without fetching them again.
    pub orphans_resumable: usize,
    /// Files nobody needs, removed.
    pub orphans_removed: usize,
    /// Partial downloads kept, to resume.
    pub partials_kept: usize,
    /// Partial downloads of nothing still wanted, removed.
    pub partials_removed: usize,
}

impl ReconcileReport {
    /// Whether anything needed fixing.
    pub fn is_clean(&self) -> bool {
        *self == Self { partials_kept: self.partials_kept, ..Self::default() }
    }
}

/// Makes disk and catalog agree. Run before any ingest on a data directory.
pub async fn reconcile(
    catalog: &Catalog,
    layout: &DataLayout,
) -> Result<ReconcileReport, IngestError> {
    let mut report = ReconcileReport::default();
    // One listing of the directory, not a stat per file: opening stays fast with a year of
    // driving. Sizes need no check: a file is renamed into place only once complete.
    let mut on_disk: HashSet<String> = list_files(layout.videos_dir()).await?.into_iter().collect();
    for segment in catalog.segments_on_phone().await? {
        check_phone_copy(catalog, layout, &mut on_disk, &segment, &mut report).await?;
    }
    for clip in catalog.clip_files_on_phone().await? {
        check_clip_copy(catalog, &on_disk, &clip, &mut report).await?;
    }
    let known: HashSet<String> = catalog.phone_file_names().await?.into_iter().collect();
    for name in on_disk.difference(&known) {
        adopt_or_remove(catalog, layout, name, &mut report).await?;
    }
    let cameras: HashSet<CameraId> = catalog.cameras().await?.into_iter().map(|c| c.id).collect();
    for name in list_files(layout.tmp_dir()).await? {
        let wanted = match name.strip_suffix(".part") {
            Some(target) => {
                let age = age_of(layout.tmp_dir().join(&name)).await;
                partial_wanted(catalog, &cameras, target, age).await?
            }
            None => false,
        };
        if wanted {
            report.partials_kept += 1;
        } else {
            remove(layout.tmp_dir().join(&name)).await?;
            report.partials_removed += 1;
        }
    }
    if report.is_clean() {
        tracing::debug!(?report, "data directory and catalog agree");
    } else {
        tracing::warn!(?report, "reconciled the data directory with the catalog");
    }
    Ok(report)
}

async fn check_phone_copy(
    catalog: &Catalog,
    layout: &DataLayout,
    on_disk: &mut HashSet<String>,
    segment: &SegmentRecord,
    report: &mut ReconcileReport,
) -> Result<(), IngestError> {
    let Some(name) = &segment.phone_file else { return Ok(()) };
    let telemetry = DataLayout::telemetry_file_name(segment.camera_id, &segment.camera_segment_id);
    if segment.phone_deleting {
        remove(layout.video_path(name)).await?;
        remove(layout.video_path(&telemetry)).await?;
        // Gone now: not an orphan to adopt (found by the kill -9 campaign: adopting the file
        // just removed failed the open with "not found").
        on_disk.remove(name);
        on_disk.remove(&telemetry);
        // The reason noted when the removal began (an eviction, the user's) is kept.
        catalog.forget_phone_copy(segment.id, "deleted").await?;
        report.deletes_finished += 1;
    } else if !on_disk.contains(name) {
        tracing::warn!(file = %name, "a catalogued video is missing; the catalog now says so");
        remove(layout.video_path(&telemetry)).await?;
        catalog.forget_phone_copy(segment.id, "missing_on_disk").await?;
        report.missing_files += 1;
    }
    Ok(())
}

/// A clip whose video is missing is no longer on the phone (its cloud copy, if any, stands); a
/// missing sidecar is forgotten, the clip kept. (Found by the kill -9 campaign: a clip eviction
/// killed between its unlink and its catalog update left a clip naming a file that was gone.)
async fn check_clip_copy(
    catalog: &Catalog,
    on_disk: &HashSet<String>,
    clip: &ClipFiles,
    report: &mut ReconcileReport,
) -> Result<(), IngestError> {
    if !on_disk.contains(&clip.phone_file) {
        tracing::warn!(file = %clip.phone_file, "a catalogued clip is missing; the catalog now says so");
        // Its sidecar, if still there, is no longer named: removed below as an orphan.
        catalog.forget_clip_phone_copy(clip.clip_id, "missing_on_disk").await?;
        report.missing_files += 1;
    } else if clip.telemetry_file.as_ref().is_some_and(|t| !on_disk.contains(t)) {
        catalog.forget_clip_telemetry(clip.clip_id).await?;
        report.missing_files += 1;
    }
    Ok(())
}

/// A complete video the catalog does not name goes back to the partial downloads when its segment
/// is still wanted (the next download verifies it and fetches nothing); anything else is removed.
async fn adopt_or_remove(
    catalog: &Catalog,
    layout: &DataLayout,
    name: &str,
    report: &mut ReconcileReport,
) -> Result<(), IngestError> {
    let path = layout.video_path(name);
    if name.ends_with(".mp4") && still_wanted(catalog, name).await? == Some(true) {
        let partial = layout.partial_path(name);
        tokio::task::spawn_blocking(move || commit_rename(&path, &partial))
            .await
            .map_err(|e| IngestError::Task(e.to_string()))??;
        report.orphans_resumable += 1;
    } else {
        remove(path).await?;
        report.orphans_removed += 1;
    }
    Ok(())
}

/// How long the partial download of a file the catalog does not name yet is kept for the app to
/// resume: a vendor camera's file is catalogued only once complete, so after a restart its
/// partial is known by its camera alone (and checked against the camera's bytes on resuming).
const UNNAMED_PARTIAL_KEPT: std::time::Duration = std::time::Duration::from_secs(48 * 3600);

/// Whether a partial download is still wanted: its segment is not on the phone yet, or (a vendor
/// camera's file, catalogued only once complete) its camera is known and the partial is recent.
async fn partial_wanted(
    catalog: &Catalog,
    cameras: &HashSet<CameraId>,
    name: &str,
    age: Option<std::time::Duration>,
) -> Result<bool, IngestError> {
    let Some((camera, _)) = parse_segment_file_name(name) else { return Ok(false) };
    Ok(match still_wanted(catalog, name).await? {
        Some(wanted) => wanted,
        None => cameras.contains(&camera) && age.is_some_and(|a| a < UNNAMED_PARTIAL_KEPT),
    })
}

/// Whether `name` is the video file of a catalogued segment that is not on the phone yet; `None`
/// when the catalog names no such segment.
async fn still_wanted(catalog: &Catalog, name: &str) -> Result<Option<bool>, IngestError> {
    let Some((camera, id)) = parse_segment_file_name(name) else { return Ok(Some(false)) };
    let segment = catalog.segment_by_camera_id(camera, id.to_string()).await?;
    Ok(segment.map(|s| s.phone_file.is_none()))
}

/// How long ago a file was last written, if the file system says.
async fn age_of(path: PathBuf) -> Option<std::time::Duration> {
    let modified = tokio::task::spawn_blocking(move || std::fs::metadata(path)?.modified());
    let modified = modified.await.ok()?.ok()?;
    Some(std::time::SystemTime::now().duration_since(modified).unwrap_or_default())
}

/// The inverse of [`DataLayout::segment_file_name`].
fn parse_segment_file_name(name: &str) -> Option<(CameraId, &str)> {
    let stem = name.strip_suffix(".mp4")?;
    let (camera, id) = stem.strip_prefix('c')?.split_once('_')?;
    Some((CameraId(camera.parse().ok()?), id))
}

async fn list_files(dir: PathBuf) -> Result<Vec<String>, IngestError> {
    tokio::task::spawn_blocking(move || -> Result<Vec<String>, StorageError> {
        let entries = std::fs::read_dir(&dir).map_err(|e| StorageError::from_io(&dir, e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StorageError::from_io(&dir, e))?;
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        Ok(names)
    })
    .await
    .map_err(|e| IngestError::Task(e.to_string()))?
    .map_err(IngestError::from)
}

async fn remove(path: PathBuf) -> Result<(), IngestError> {
    tokio::task::spawn_blocking(move || remove_durably(Path::new(&path)))
        .await
        .map_err(|e| IngestError::Task(e.to_string()))?
        .map_err(IngestError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_our_names() {
        assert_eq!(parse_segment_file_name("c3_D1_S0001.mp4"), Some((CameraId(3), "D1_S0001")));
        assert_eq!(parse_segment_file_name("c3_D1_S0001.telemetry.json"), None);
        assert_eq!(parse_segment_file_name("x3_D1.mp4"), None);
        assert_eq!(parse_segment_file_name("cX_D1.mp4"), None);
    }

    /// Found by the kill -9 campaign: an eviction killed after its mark and before its unlink
    /// made the next open fail (the file it had just removed was then "adopted": not found), and
    /// was recorded as "deleted", so the eviction looked like a loss and "stream now" fetched the
    /// evicted segment again. The open now succeeds and the reason noted at the mark is kept.
    #[tokio::test]
    async fn an_eviction_killed_midway_stays_an_eviction() {
        use crate::catalog::{PhoneFile, TelemetryFile};
        use crate::protocol::{Channel, SegmentInfo};
        let dir = tempfile::tempdir().unwrap();
        let layout = DataLayout::new(dir.path());
        layout.create_dirs().unwrap();
        let catalog = Catalog::open(&layout.catalog_path()).await.unwrap();
        let cam = sim_camera(&catalog).await;
        let info = SegmentInfo {
            id: "D1_S0001".into(),
            drive_id: "D1".into(),
            seq: 1,
            index_in_drive: 1,
            start_ms: 1_000,
            duration_ms: 60_000,
            size: 4,
            sha256: "a".repeat(64),
            locked: false,
            telemetry_size: 2,
            telemetry_sha256: "b".repeat(64),
            channel: Channel::Front,
        };
        catalog.note_camera_segments(cam, vec![info]).await.unwrap();
        let segment = catalog.segments_missing_on_phone(cam).await.unwrap().remove(0);
        let video = DataLayout::segment_file_name(cam, "D1_S0001");
        let telemetry = DataLayout::telemetry_file_name(cam, "D1_S0001");
        std::fs::write(layout.video_path(&video), b"mp4!").unwrap();
        std::fs::write(layout.video_path(&telemetry), b"{}").unwrap();
        let tele = TelemetryFile { name: telemetry, size_bytes: 2, accel_samples: 1, gps_fixes: 1 };
        catalog
            .record_phone_copy(segment.id, PhoneFile { name: video.clone() }, tele)
            .await
            .unwrap();

        // The loop recorder marks the copy, then the process is killed before the unlink.
        catalog.mark_phone_copy_deleting(segment.id, "evicted").await.unwrap();
        drop(catalog);
        let catalog = Catalog::open(&layout.catalog_path()).await.unwrap();
        let report = reconcile(&catalog, &layout).await.unwrap();

        assert_eq!(report.deletes_finished, 1);
        assert!(!layout.video_path(&video).exists(), "the eviction was finished");
        assert!(
            catalog.segments_missing_on_phone(cam).await.unwrap().is_empty(),
            "an evicted segment is not fetched again"
        );
        let conn = rusqlite::Connection::open(layout.catalog_path()).unwrap();
        let reason: String = conn
            .query_row("SELECT left_reason FROM residencies WHERE place = 'phone'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(reason, "evicted");
    }

    async fn sim_camera(catalog: &Catalog) -> CameraId {
        let status = crate::catalog::tests::status();
        catalog.upsert_camera(status, "http://x".into()).await.unwrap()
    }

    /// Found by the kill -9 campaign: a clip eviction killed between its unlink and its catalog
    /// update left the catalog naming a clip file that was gone. The open now says the clip left
    /// the phone, and a clip whose sidecar alone is gone keeps its video.
    #[tokio::test]
    async fn a_clip_whose_file_is_gone_is_no_longer_on_the_phone() {
        use crate::catalog::{ClipId, ClipReason};
        let dir = tempfile::tempdir().unwrap();
        let layout = DataLayout::new(dir.path());
        layout.create_dirs().unwrap();
        let catalog = Catalog::open(&layout.catalog_path()).await.unwrap();
        let cam = sim_camera(&catalog).await;
        let drive = catalog.ensure_drive(cam, "D1".into(), 1_000).await.unwrap();
        let mut clips = Vec::new();
        for k in 0..2 {
            let at = 10_000 * (k + 1);
            let id = catalog.plan_clip(drive, None, ClipReason::Manual, at, at + 5_000).await;
            let id: ClipId = id.unwrap();
            let (video, sidecar) =
                (DataLayout::clip_file_name(id.0), DataLayout::clip_telemetry_file_name(id.0));
            std::fs::write(layout.video_path(&video), b"mp4!").unwrap();
            std::fs::write(layout.video_path(&sidecar), b"{}").unwrap();
            let sha = "a".repeat(64);
            catalog.finish_clip(id, video.clone(), 4, sha, (at, at + 5_000)).await.unwrap();
            catalog.set_clip_telemetry(id, sidecar.clone(), 2).await.unwrap();
            clips.push((id, video, sidecar));
        }
        // The first clip's video is gone (an eviction killed after its unlink); the second's
        // sidecar alone is gone.
        std::fs::remove_file(layout.video_path(&clips[0].1)).unwrap();
        std::fs::remove_file(layout.video_path(&clips[1].2)).unwrap();

        let report = reconcile(&catalog, &layout).await.unwrap();

        assert_eq!(report.missing_files, 2);
        let first = catalog.clip(clips[0].0).await.unwrap();
        assert_eq!((first.phone_file, first.telemetry_file), (None, None));
        assert!(!layout.video_path(&clips[0].2).exists(), "the unnamed sidecar was removed");
        let second = catalog.clip(clips[1].0).await.unwrap();
        assert_eq!(second.phone_file.as_deref(), Some(clips[1].1.as_str()));
        assert_eq!(second.telemetry_file, None);
        assert!(layout.video_path(&clips[1].1).exists(), "the clip's video stands");
        assert!(
            catalog
                .phone_file_names()
                .await
                .unwrap()
                .iter()
                .all(|n| { layout.video_path(n).exists() })
        );
        assert!(reconcile(&catalog, &layout).await.unwrap().is_clean(), "a second open is clean");
    }
}
