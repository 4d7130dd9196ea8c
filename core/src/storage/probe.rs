//! How big the phone's volume is and how much of it is free. The platform may replace the
//! default (statvfs) with its own capacity API (iOS and Android report "important usage"
//! capacities that count purgeable space).

use std::path::Path;

use super::StorageError;

/// The size of the volume holding the data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VolumeSpace {
    /// The volume's capacity in bytes.
    pub total_bytes: u64,
    /// Bytes an unprivileged app may still write.
    pub available_bytes: u64,
}

/// Reports the phone's volume capacity; a platform seam.
pub trait StorageProbe: Send + Sync {
    /// The space of the volume holding `path`.
    fn volume_space(&self, path: &Path) -> Result<VolumeSpace, StorageError>;
}

/// The default probe: `statvfs(2)` through rustix.
#[derive(Debug, Default, Clone, Copy)]
pub struct StatvfsProbe;

impl StorageProbe for StatvfsProbe {
    fn volume_space(&self, path: &Path) -> Result<VolumeSpace, StorageError> {
        let st = rustix::fs::statvfs(path)
            .map_err(|e| StorageError::from_io(path, std::io::Error::from(e)))?;
        Ok(VolumeSpace {
            total_bytes: st.f_blocks.saturating_mul(st.f_frsize),
            available_bytes: st.f_bavail.saturating_mul(st.f_frsize),
        })
    }
}
