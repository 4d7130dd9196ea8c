//! Product rules the apps show but must not decide: the quota slider's bounds, how far ahead the
//! at-risk warning looks, what Share hands over, and the camera's address. Each app reads them
//! here so that Android and iOS cannot drift apart.

use std::path::PathBuf;

use crate::catalog::ClipId;
use crate::cloud::CloudError;
use crate::storage::QuotaFraction;

use super::{Companion, CompanionError};

/// The camera's address on its own WiFi (the access point every Dashkeep camera runs), used
/// until a camera is paired.
pub const DEFAULT_CAMERA_URL: &str = "http://192.168.42.1";

/// The quota slider's range and starting point, as shares of the phone's storage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuotaBounds {
    /// The smallest share a user may choose.
    pub min: f64,
    /// The largest share a user may choose.
    pub max: f64,
    /// The share a new install starts with.
    pub default: f64,
}

/// What Share hands to the platform's share sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum ShareTarget {
    /// The clip is in the cloud: a link anyone can open until it expires.
    Link(String),
    /// The clip is only on the phone: the file itself (the app wraps it in a content URI).
    File(PathBuf),
}

impl Companion {
    /// The quota slider's bounds and default.
    pub fn quota_bounds() -> QuotaBounds {
        QuotaBounds {
            min: QuotaFraction::MIN,
            max: QuotaFraction::MAX,
            default: QuotaFraction::DEFAULT.get(),
        }
    }

    /// How far ahead, in hours of driving, the at-risk warnings look (the configured horizon,
    /// the same one `AtRiskChanged` uses).
    pub fn at_risk_horizon_hours(&self) -> f64 {
        self.at_risk_horizon_hours
    }

    /// The camera's base URL: the first paired camera's API, else the camera WiFi's default.
    pub async fn camera_url(&self) -> Result<String, CompanionError> {
        let paired = self.paired_cameras().await?;
        Ok(paired
            .into_iter()
            .next()
            .map_or_else(|| DEFAULT_CAMERA_URL.to_owned(), |c| c.payload.api_url))
    }

    /// What sharing the clip hands over: its cloud link once uploaded, else its phone file.
    /// A `Catalog` `NotFound` error for an unknown clip; `Cloud(UnknownClip)` for a clip that
    /// is neither uploaded nor on the phone.
    pub async fn share_target(&self, id: ClipId) -> Result<ShareTarget, CompanionError> {
        let clip = self.clip(id).await?;
        if let Some(cloud) = self.cloud() {
            match cloud.share_url(id.0, None).await {
                Ok(url) => return Ok(ShareTarget::Link(url)),
                Err(CloudError::UnknownClip(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.clip_path(&clip)
            .map(ShareTarget::File)
            .ok_or(CompanionError::Cloud(CloudError::UnknownClip(id.0)))
    }
}
