//! Product rules the apps show but must not decide: the quota slider's bounds, how far ahead the
//! at-risk warning looks, what Share hands over, and the camera's address. Each app reads them
//! here so that Android and iOS cannot drift apart.

use std::path::PathBuf;

use crate::catalog::{Catalog, CatalogError, ClipId};
use crate::cloud::{CloudError, SharePageOptions};
use crate::events::{MotionPipeline, Sensitivity};
use crate::ingest;
use crate::storage::QuotaFraction;

use super::{Companion, CompanionError};
use crate::camera::probe;

/// The camera's address on its own WiFi (the access point every Dashkeep camera runs), used
/// until a camera is paired.
pub const DEFAULT_CAMERA_URL: &str = "http://192.168.42.1";

/// Where each camera family's access point puts the camera, in the order they are preferred:
/// Dashkeep's, Novatek-based cameras' (Viofo, YI and their clones), BlackVue's.
pub const CAMERA_WIFI_ADDRESSES: [&str; 3] =
    [DEFAULT_CAMERA_URL, "http://192.168.1.254", "http://10.99.77.1"];

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

/// One step of Settings' detector sensitivity choice: the level and the factor it applies to
/// every detector threshold (below 1: milder events fire too).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SensitivityLevel {
    /// The level.
    pub sensitivity: Sensitivity,
    /// The factor on the Normal thresholds.
    pub threshold_scale: f64,
}

/// Where the user's detector sensitivity is kept (the catalog's settings table).
const SENSITIVITY_SETTING: &str = "events.sensitivity";

/// The levels, least sensitive first, with the names the setting stores.
const SENSITIVITIES: [(Sensitivity, &str); 3] =
    [(Sensitivity::Low, "low"), (Sensitivity::Normal, "normal"), (Sensitivity::High, "high")];

/// The sensitivity the user chose in Settings, if any; it overrides the configured default so
/// the choice survives a restart.
pub(super) async fn saved_sensitivity(
    catalog: &Catalog,
) -> Result<Option<Sensitivity>, CatalogError> {
    let saved = catalog.setting(SENSITIVITY_SETTING).await?;
    Ok(saved
        .and_then(|s| SENSITIVITIES.iter().find(|(_, name)| *name == s).map(|(level, _)| *level)))
}

impl Companion {
    /// Settings' sensitivity choices, least sensitive first (the slider's bounds are the first
    /// and the last).
    pub fn sensitivity_levels() -> Vec<SensitivityLevel> {
        SENSITIVITIES
            .iter()
            .map(|&(sensitivity, _)| SensitivityLevel {
                sensitivity,
                threshold_scale: sensitivity.scale(),
            })
            .collect()
    }

    /// The detector's sensitivity now (the user's choice, else the configured one).
    pub fn detector_sensitivity(&self) -> Sensitivity {
        *self.sensitivity.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets the detector's sensitivity: persisted, and the detectors start again at the new
    /// thresholds (a motion in progress at that instant is judged afresh).
    pub async fn set_detector_sensitivity(
        &self,
        sensitivity: Sensitivity,
    ) -> Result<(), CompanionError> {
        let name = SENSITIVITIES
            .iter()
            .find(|(level, _)| *level == sensitivity)
            .map_or("normal", |(_, n)| n);
        self.catalog.set_setting(SENSITIVITY_SETTING, name.to_owned()).await?;
        *self.sensitivity.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = sensitivity;
        *self.pipeline.motion.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            MotionPipeline::new(sensitivity);
        Ok(())
    }

    /// Whether files copied from the camera are then deleted from its card (off unless the user
    /// turned it on).
    pub async fn deletes_from_camera(&self) -> Result<bool, CompanionError> {
        Ok(ingest::deletes_after_copy(&self.catalog).await?)
    }

    /// Turns deleting from the camera after a verified copy on or off. Turning it on needs
    /// `confirmed`: the app first asked the user, since the camera's card then stops being a
    /// second place their drives live. It applies from the next pass over a camera's card, to
    /// every file the phone holds a verified copy of (see [`crate::ingest`]'s cleanup rule).
    pub async fn set_delete_from_camera(
        &self,
        on: bool,
        confirmed: bool,
    ) -> Result<(), CompanionError> {
        if on && !confirmed {
            return Err(CompanionError::NotConfirmed("delete from the camera after copying"));
        }
        Ok(ingest::set_deletes_after_copy(&self.catalog, on).await?)
    }

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

    /// The camera's base URL: the first paired camera's API; else the first of the camera
    /// families' WiFi addresses where a camera answers a probe (a Novatek camera's WiFi puts it
    /// at another address than ours); else Dashkeep's default, whose error then says why.
    pub async fn camera_url(&self) -> Result<String, CompanionError> {
        if let Some(camera) = self.paired_cameras().await?.into_iter().next() {
            return Ok(camera.payload.api_url);
        }
        let found = self.camera_on_this_wifi().await;
        Ok(found.unwrap_or_else(|| DEFAULT_CAMERA_URL.to_owned()))
    }

    /// The first address of [`CompanionConfig::camera_addresses`](super::CompanionConfig) to
    /// answer a probe, all asked at once (an address off this network only times out).
    async fn camera_on_this_wifi(&self) -> Option<String> {
        use futures_util::StreamExt;
        let mut asks: futures_util::stream::FuturesUnordered<_> = self
            .camera_addresses
            .iter()
            .map(|url| async move { probe::probe(url).await.ok().map(|_| url.clone()) })
            .collect();
        while let Some(answer) = asks.next().await {
            if answer.is_some() {
                return answer;
            }
        }
        None
    }

    /// What sharing the clip hands over: once uploaded, a link to its share page (the video,
    /// when and where, what triggered it, the track and the curves; see
    /// [`crate::cloud::CloudService::share_page`]), else its phone file. A `Catalog` `NotFound`
    /// error for an unknown clip; `Cloud(UnknownClip)` for a clip that is neither uploaded nor
    /// on the phone.
    pub async fn share_target(&self, id: ClipId) -> Result<ShareTarget, CompanionError> {
        let clip = self.clip(id).await?;
        if let Some(cloud) = self.cloud() {
            match cloud.share_page(id.0, None, &SharePageOptions::default()).await {
                Ok(link) => return Ok(ShareTarget::Link(link.url)),
                Err(CloudError::UnknownClip(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.clip_path(&clip)
            .map(ShareTarget::File)
            .ok_or(CompanionError::Cloud(CloudError::UnknownClip(id.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CompanionConfig;
    use crate::events::{G, MotionSample};

    /// One second at rest, a 2.7 g knock for 30 ms, then two seconds at rest: a collision at
    /// High (threshold 2.4 g), nothing at Normal (3 g) or Low (3.75 g).
    fn knock(t0: f64) -> Vec<MotionSample> {
        (0..300)
            .map(|i| {
                let t = t0 + f64::from(i) / 100.0;
                let ax = if (100..103).contains(&i) { 2.7 * G } else { 0.0 };
                MotionSample::accel(t, ax, 0.0, G)
            })
            .collect()
    }

    async fn collisions(c: &Companion, t0: f64) -> usize {
        let found = c.push_motion_samples(knock(t0)).await.expect("samples");
        found.iter().filter(|e| e.kind == "collision").count()
    }

    #[tokio::test]
    async fn the_detector_uses_the_chosen_sensitivity_and_it_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tmp");
        let levels = Companion::sensitivity_levels();
        assert_eq!(levels.first().map(|l| l.sensitivity), Some(Sensitivity::Low));
        assert_eq!(levels.last().map(|l| l.sensitivity), Some(Sensitivity::High));
        {
            let c = Companion::open(CompanionConfig::new(dir.path())).await.expect("open");
            assert_eq!(c.detector_sensitivity(), Sensitivity::Normal);
            assert_eq!(collisions(&c, 1_000.0).await, 0, "2.7 g is below Normal's threshold");
            c.set_detector_sensitivity(Sensitivity::High).await.expect("set");
            assert_eq!(collisions(&c, 2_000.0).await, 1, "High fires on it");
        }
        let c = Companion::open(CompanionConfig::new(dir.path())).await.expect("reopen");
        assert_eq!(c.detector_sensitivity(), Sensitivity::High, "the choice is kept");
        assert_eq!(collisions(&c, 3_000.0).await, 1);
        c.set_detector_sensitivity(Sensitivity::Low).await.expect("set");
        assert_eq!(collisions(&c, 4_000.0).await, 0);
    }
}
