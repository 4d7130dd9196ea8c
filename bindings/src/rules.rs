//! The core's product rules for the screens: the quota slider's bounds, the at-risk horizon,
//! what Share hands over, the camera's address. Adapted from `dashkeep_core::companion::rules`;
//! nothing is decided here.

use std::sync::Arc;

use dashkeep_core::Companion as CoreCompanion;
use dashkeep_core::catalog::ClipId;
use dashkeep_core::companion::{QuotaBounds as CoreBounds, ShareTarget as CoreShare};
use dashkeep_core::events::Sensitivity as CoreSensitivity;

use crate::clips::Sensitivity;
use crate::companion::Companion;
use crate::errors::CompanionError;
use crate::runtime::run;
use crate::types::AtRiskForecast;

/// The quota slider's range and starting point, as shares of the phone's storage.
#[derive(uniffi::Record, Debug, Clone, Copy, PartialEq)]
pub struct QuotaBounds {
    /// The smallest share a user may choose.
    pub min: f64,
    /// The largest share a user may choose.
    pub max: f64,
    /// The share a new install starts with.
    pub default_fraction: f64,
}

impl From<CoreBounds> for QuotaBounds {
    fn from(b: CoreBounds) -> Self {
        Self { min: b.min, max: b.max, default_fraction: b.default }
    }
}

/// One step of Settings' detector sensitivity choice: the level and the factor it applies to
/// every detector threshold (below 1: milder events fire too).
#[derive(uniffi::Record, Debug, Clone, Copy, PartialEq)]
pub struct SensitivityLevel {
    /// The level.
    pub sensitivity: Sensitivity,
    /// The factor on the Normal thresholds.
    pub threshold_scale: f64,
}

impl From<CoreSensitivity> for Sensitivity {
    fn from(s: CoreSensitivity) -> Self {
        match s {
            CoreSensitivity::Low => Self::Low,
            CoreSensitivity::Normal => Self::Normal,
            CoreSensitivity::High => Self::High,
        }
    }
}

/// What Share hands to the platform's share sheet.
#[derive(uniffi::Enum, Debug, Clone, PartialEq)]
pub enum ShareTarget {
    /// The clip is in the cloud: a link (presigned, or `file://` on a local cloud).
    Link {
        /// The URL to hand over.
        url: String,
    },
    /// The clip is only on the phone: its file, for a content URI (Android) or a file URL (iOS).
    File {
        /// The clip's absolute path on the phone.
        path: String,
    },
}

impl From<CoreShare> for ShareTarget {
    fn from(s: CoreShare) -> Self {
        match s {
            CoreShare::Link(url) => Self::Link { url },
            CoreShare::File(path) => Self::File { path: path.to_string_lossy().into_owned() },
        }
    }
}

#[uniffi::export]
impl Companion {
    /// The quota slider's bounds and default (the same bounds `setQuota` enforces).
    pub fn quota_bounds(&self) -> QuotaBounds {
        CoreCompanion::quota_bounds().into()
    }

    /// Settings' detector sensitivity choices, least sensitive first (the first and the last
    /// are the slider's bounds).
    pub fn sensitivity_levels(&self) -> Vec<SensitivityLevel> {
        CoreCompanion::sensitivity_levels()
            .into_iter()
            .map(|l| SensitivityLevel {
                sensitivity: l.sensitivity.into(),
                threshold_scale: l.threshold_scale,
            })
            .collect()
    }

    /// The detector's sensitivity now (the user's choice, else the one opened with).
    pub fn detector_sensitivity(&self) -> Sensitivity {
        self.inner.detector_sensitivity().into()
    }

    /// Sets the detector's sensitivity; persisted, and the detector uses it from the next sample.
    pub async fn set_detector_sensitivity(
        &self,
        sensitivity: Sensitivity,
    ) -> Result<(), CompanionError> {
        let inner = Arc::clone(&self.inner);
        Ok(run(async move { inner.set_detector_sensitivity(sensitivity.into()).await }).await?)
    }

    /// Whether files copied from the camera are then deleted from its card (off by default).
    pub async fn deletes_from_camera(&self) -> Result<bool, CompanionError> {
        let inner = Arc::clone(&self.inner);
        Ok(run(async move { inner.deletes_from_camera().await }).await?)
    }

    /// Turns deleting from the camera after a verified copy on or off; turning it on needs
    /// `confirmed` (the user said yes to the app's warning), else `NotConfirmed`. Locked files
    /// and copies that do not verify always stay on the camera.
    pub async fn set_delete_from_camera(
        &self,
        on: bool,
        confirmed: bool,
    ) -> Result<(), CompanionError> {
        let inner = Arc::clone(&self.inner);
        Ok(run(async move { inner.set_delete_from_camera(on, confirmed).await }).await?)
    }

    /// How far ahead, in hours of driving, the at-risk warnings look.
    pub fn at_risk_horizon_hours(&self) -> f64 {
        self.inner.at_risk_horizon_hours()
    }

    /// The at-risk forecast over the configured horizon (what the warning banners show).
    pub async fn at_risk_now(&self) -> Result<AtRiskForecast, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let hours = inner.at_risk_horizon_hours();
        Ok(run(async move { inner.at_risk(hours).await }).await?.into())
    }

    /// The camera's base URL: the paired camera's API, else the camera WiFi's default address.
    pub async fn camera_url(&self) -> Result<String, CompanionError> {
        let inner = Arc::clone(&self.inner);
        Ok(run(async move { inner.camera_url().await }).await?)
    }

    /// What sharing a clip hands over: its cloud link once uploaded, else its phone file.
    pub async fn share_target(&self, clip_id: i64) -> Result<ShareTarget, CompanionError> {
        let inner = Arc::clone(&self.inner);
        Ok(run(async move { inner.share_target(ClipId(clip_id)).await }).await?.into())
    }
}

/// The BLE service every Dashkeep camera advertises: the filter of the platform's background
/// scan that starts the drive when the paired camera comes in range (auto-connect).
#[uniffi::export]
pub fn camera_service_uuid() -> String {
    dashkeep_core::camera::ble::SERVICE_UUID.to_string()
}
