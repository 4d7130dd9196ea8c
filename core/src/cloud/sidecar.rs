//! The small JSON file beside each clip in the cloud: what a reinstall needs to list the clip
//! without downloading it.

use serde::{Deserialize, Serialize};

use super::CloudError;
use crate::catalog::{RestoredClip, UploadJob};

/// Sidecars larger than this are refused when read back.
pub(crate) const MAX_SIDECAR_BYTES: u64 = 64 * 1024;

/// A geographic position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

/// The clip's description in the cloud, `accounts/<account>/clips/<cloud_key>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    /// Format version.
    pub version: u32,
    /// The clip's cloud identity (also its object name).
    pub cloud_key: String,
    /// The clip's catalog id on the phone that uploaded it.
    pub clip_id: i64,
    /// The drive's catalog id on that phone.
    pub drive_id: Option<i64>,
    /// Start of the video, ms since the epoch.
    pub start_ms: i64,
    /// End of the video, ms since the epoch.
    pub end_ms: i64,
    /// `hard_brake`, `collision`, `camera_locked` or `manual`.
    pub reason: String,
    /// Peak acceleration, g.
    pub peak_g: Option<f64>,
    /// Where it happened.
    pub location: Option<Location>,
    /// When the clip was made, ms since the epoch.
    pub created_ms: i64,
    /// Size of the video.
    pub size: u64,
    /// SHA-256 of the video, lowercase hex.
    pub sha256: String,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Sidecar {
    pub(crate) fn from_job(job: &UploadJob) -> Self {
        Self {
            version: 1,
            cloud_key: job.cloud_key.clone(),
            clip_id: job.clip_id,
            drive_id: job.drive_id,
            start_ms: job.start_ms,
            end_ms: job.end_ms,
            reason: job.reason.clone(),
            peak_g: job.peak_g,
            location: job.location.map(|(lat, lon)| Location { lat, lon }),
            created_ms: job.created_at_ms,
            size: job.size_bytes,
            sha256: job.sha256.clone(),
        }
    }

    /// Parses and checks a sidecar read from the store; `cloud_key` is the name it was found
    /// under. Nothing from the store reaches the catalog unchecked.
    pub(crate) fn parse(bytes: &[u8], cloud_key: &str) -> Result<Self, CloudError> {
        let s: Self = serde_json::from_slice(bytes)
            .map_err(|e| CloudError::Integrity(format!("sidecar {cloud_key}: {e}")))?;
        let ok = s.cloud_key == cloud_key
            && is_hex(&s.cloud_key, 32)
            && is_hex(&s.sha256, 64)
            && crate::catalog::ClipReason::from_name(&s.reason).is_some()
            && s.end_ms > s.start_ms
            && s.size > 0;
        if !ok {
            return Err(CloudError::Integrity(format!("sidecar {cloud_key} is not plausible")));
        }
        Ok(s)
    }

    pub(crate) fn to_restored(&self) -> RestoredClip {
        RestoredClip {
            cloud_key: self.cloud_key.clone(),
            reason: self.reason.clone(),
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            size_bytes: self.size,
            sha256: self.sha256.clone(),
            created_at_ms: self.created_ms,
            peak_g: self.peak_g,
            location: self.location.map(|l| (l.lat, l.lon)),
        }
    }
}
