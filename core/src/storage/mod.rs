//! Phone storage: the quota the user gives Dashkeep, the loop recorder that keeps Dashkeep
//! within it, the forecast of what is at risk of being overwritten, where Dashkeep's files live in
//! its data directory, and the durable file operations (fsync, rename, unlink) every writer uses
//! so that a file is complete before the catalog names it.

mod content_hash;
mod forecast;
mod probe;
mod quota;
mod recorder;

use std::io;
use std::path::{Path, PathBuf};

use crate::catalog::{CameraId, CatalogError};

pub use content_hash::{ContentHash, ContentHasher, HashAlgorithm};
pub use forecast::{AtRiskDrive, CopyOverwrite, Forecast, drive_overwrites, forecast};
pub use probe::{StatvfsProbe, StorageProbe, VolumeSpace};
pub use quota::{Budget, QuotaFraction, SafetyFloor};
pub use recorder::{
    Eviction, LoopRecorder, Reservation, StorageEvent, StorageObserver, remove_clip_phone_copy,
    remove_phone_copy,
};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The volume is full (ENOSPC): nothing half-written is kept.
    #[error("phone storage is full while writing {path}")]
    Full {
        /// The file being written.
        path: PathBuf,
    },
    /// Dashkeep's quota is used up and nothing more may be evicted (all that is left is locked,
    /// being streamed, needed by a pending clip, or not yet uploaded): ingest pauses.
    #[error(
        "storage full: Dashkeep holds {owned_bytes} of {limit_bytes} bytes and cannot free {needed_bytes} more"
    )]
    QuotaExceeded {
        /// Bytes held after evicting all that may be evicted.
        owned_bytes: u64,
        /// Bytes Dashkeep may hold.
        limit_bytes: u64,
        /// Bytes the write needs.
        needed_bytes: u64,
    },
    /// The phone itself is nearly full: its free space is down to the floor it keeps for the
    /// system and other apps, so Dashkeep may not grow even within its quota, and what it could
    /// evict is not enough. Ingest pauses; freeing space on the phone helps, raising the quota
    /// does not.
    #[error(
        "the phone has {available_bytes} bytes free and keeps {floor_bytes} for itself: Dashkeep cannot store {needed_bytes} more until space is freed on the phone"
    )]
    PhoneNearlyFull {
        /// Free space on the phone's volume.
        available_bytes: u64,
        /// Free space the phone keeps for itself.
        floor_bytes: u64,
        /// Bytes the write needs.
        needed_bytes: u64,
    },
    /// Room could only be made by evicting videos newer than the incoming one, which would be the
    /// first to go: the phone keeps newer drives and skips this one.
    #[error("the phone's quota is full of newer videos; this older one is not kept")]
    OlderThanKept,
    /// A quota outside 10% to 90% of the phone's storage.
    #[error("a quota of {0} is outside 0.1 to 0.9 of the phone's storage")]
    QuotaOutOfRange(f64),
    /// The catalog failed (a full disk under the catalog is [`StorageError::Full`] instead).
    #[error(transparent)]
    Catalog(CatalogError),
    /// A blocking task was lost.
    #[error("storage task failed: {0}")]
    Task(String),
    /// Any other I/O failure, with the path it concerns.
    #[error("storage I/O failed on {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl From<CatalogError> for StorageError {
    /// A catalog write refused by a full disk is a full volume like any other write.
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::StorageFull { path } => Self::Full { path },
            e => Self::Catalog(e),
        }
    }
}

impl StorageError {
    /// Whether this means "no room": the quota is used up or the volume is (nearly) full.
    /// Ingest pauses until room appears rather than failing.
    pub fn is_full(&self) -> bool {
        matches!(
            self,
            Self::Full { .. } | Self::QuotaExceeded { .. } | Self::PhoneNearlyFull { .. }
        )
    }

    /// Wraps an I/O error with its path, telling a full disk apart.
    pub fn from_io(path: &Path, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::StorageFull {
            Self::Full { path: path.to_path_buf() }
        } else {
            Self::Io { path: path.to_path_buf(), source }
        }
    }
}

/// The layout of a data directory: the catalog, complete videos, and partial downloads.
///
/// File names are built only from the catalog's own ids and camera ids that passed
/// [`crate::protocol::is_safe_id`], so nothing a camera sends can name a path outside it.
#[derive(Debug, Clone)]
pub struct DataLayout {
    root: PathBuf,
}

impl DataLayout {
    /// The layout rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Creates the directories if they are missing.
    pub fn create_dirs(&self) -> Result<(), StorageError> {
        for dir in [self.root.clone(), self.videos_dir(), self.tmp_dir()] {
            std::fs::create_dir_all(&dir).map_err(|e| StorageError::from_io(&dir, e))?;
        }
        Ok(())
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SQLite catalog.
    pub fn catalog_path(&self) -> PathBuf {
        self.root.join("catalog.sqlite")
    }

    /// Complete files: segments, telemetry, clips.
    pub fn videos_dir(&self) -> PathBuf {
        self.root.join("videos")
    }

    /// Partial downloads, kept across restarts so a download resumes.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The file name of a segment's video on the phone.
    pub fn segment_file_name(camera: CameraId, camera_segment_id: &str) -> String {
        format!("c{}_{camera_segment_id}.mp4", camera.0)
    }

    /// The file name of a segment's telemetry on the phone.
    pub fn telemetry_file_name(camera: CameraId, camera_segment_id: &str) -> String {
        format!("c{}_{camera_segment_id}.telemetry.json", camera.0)
    }

    /// The file name of a clip's video on the phone.
    pub fn clip_file_name(clip_id: i64) -> String {
        format!("clip_{clip_id}.mp4")
    }

    /// The file name of a clip's GPS and G-sensor sidecar on the phone.
    pub fn clip_telemetry_file_name(clip_id: i64) -> String {
        format!("clip_{clip_id}.telemetry.json")
    }

    /// Where a complete file of that name lives.
    pub fn video_path(&self, name: &str) -> PathBuf {
        self.videos_dir().join(name)
    }

    /// Where the partial download of a file of that name lives.
    pub fn partial_path(&self, name: &str) -> PathBuf {
        self.tmp_dir().join(format!("{name}.part"))
    }
}

/// Flushes a directory's entries to disk, so a rename or unlink in it survives a power loss.
pub fn fsync_dir(dir: &Path) -> Result<(), StorageError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| StorageError::from_io(dir, e))
}

/// Moves a complete, fsynced file into place and makes the rename durable.
pub fn commit_rename(from: &Path, to: &Path) -> Result<(), StorageError> {
    std::fs::rename(from, to).map_err(|e| StorageError::from_io(to, e))?;
    match to.parent() {
        Some(dir) => fsync_dir(dir),
        None => Ok(()),
    }
}

/// The size and SHA-256 (lowercase hex) of a file, read back from storage: what a clip's
/// checksum is made of (a segment's check uses its own algorithm: [`ContentHash::of_file`]).
/// Blocking; call it on a blocking thread.
pub fn hash_file(path: &Path) -> Result<(u64, String), StorageError> {
    ContentHash::of_file(path, HashAlgorithm::Sha256).map(|(size, hash)| (size, hash.hex))
}

/// Writes `bytes` to `path` atomically: a temp file in `tmp_dir`, fsync, rename, fsync the
/// directory. On failure the temp file is removed and `path` is untouched.
pub fn write_atomic(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    use std::io::Write;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = tmp_dir.join(format!("{name}.part"));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .map_err(|e| StorageError::from_io(&tmp, e))
        .and_then(|()| commit_rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Removes a file if present and makes the removal durable. A missing file is not an error.
pub fn remove_durably(path: &Path) -> Result<(), StorageError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StorageError::from_io(path, e)),
    }
    match path.parent() {
        Some(dir) => fsync_dir(dir),
        None => Ok(()),
    }
}
