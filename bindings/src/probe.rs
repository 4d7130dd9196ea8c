//! The phone's storage capacity as a platform service: the app may provide a [`StorageProbe`]
//! (Android `StorageStatsManager`, iOS `volumeAvailableCapacityForImportantUsage`); without one
//! the core's statvfs probe is used.

use std::path::Path;
use std::sync::Arc;

use dashkeep_core::storage as core_storage;

use crate::errors::PlatformError;

/// The size of the volume holding the data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct VolumeSpace {
    /// The volume's capacity in bytes.
    pub total_bytes: u64,
    /// Bytes the app may still write (counting purgeable space if the platform allows).
    pub available_bytes: u64,
}

impl From<VolumeSpace> for core_storage::VolumeSpace {
    fn from(v: VolumeSpace) -> Self {
        Self { total_bytes: v.total_bytes, available_bytes: v.available_bytes }
    }
}

/// Reports the phone's volume capacity. Implemented by the app; called on a Rust blocking thread.
#[uniffi::export(with_foreign)]
pub trait StorageProbe: Send + Sync {
    /// The space of the volume holding `path`.
    fn volume_space(&self, path: String) -> Result<VolumeSpace, PlatformError>;
}

/// Adapts the app's probe to the core's `StorageProbe`.
pub(crate) struct ForeignProbe(pub(crate) Arc<dyn StorageProbe>);

impl core_storage::StorageProbe for ForeignProbe {
    fn volume_space(
        &self,
        path: &Path,
    ) -> Result<core_storage::VolumeSpace, core_storage::StorageError> {
        self.0.volume_space(path.display().to_string()).map(Into::into).map_err(|e| {
            core_storage::StorageError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            }
        })
    }
}
