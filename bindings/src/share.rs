//! Sharing a clip as a page: `Companion.shareClipPage(clipId, expirySecs, mapTiles)`, converted
//! one to one from `dashkeep_core::cloud::CloudService::share_page`; nothing is decided here.
//! (`Companion.shareClip` in `cloud.rs` keeps giving the bare MP4 link.)

use std::time::Duration;

use dashkeep_core::cloud::{ShareLink, SharePageOptions};

use crate::companion::Companion;
use crate::errors::CompanionError;
use crate::runtime::run;

/// A clip shared as a page.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SharedClip {
    /// The link to give: the page, with the video's URL in its fragment.
    pub url: String,
    /// The page's own URL (presigned on S3).
    pub page_url: String,
    /// The bare video's URL (presigned on S3, same expiry): the "raw" link.
    pub video_url: String,
    /// How long the links work, seconds.
    pub expires_in_secs: u64,
}

impl From<ShareLink> for SharedClip {
    fn from(l: ShareLink) -> Self {
        Self {
            url: l.url,
            page_url: l.page_url,
            video_url: l.video_url,
            expires_in_secs: l.expires_in_secs,
        }
    }
}

#[uniffi::export]
impl Companion {
    /// Shares an uploaded clip as a page stored beside it (video, when and where, trigger and
    /// peak g, track, speed and g-force following the video), valid `expiry_secs` (default from
    /// the cloud settings; 1 minute to 7 days), the page and the video presigned alike on S3.
    /// `map_tiles` (a `{z}/{x}/{y}` URL template) draws a map under the track; `null` keeps the
    /// page from requesting anything but the clip.
    pub async fn share_clip_page(
        &self,
        clip_id: i64,
        expiry_secs: Option<u64>,
        map_tiles: Option<String>,
    ) -> Result<SharedClip, CompanionError> {
        let cloud = self.inner.cloud().cloned().ok_or_else(CompanionError::cloud_not_configured)?;
        let expiry = expiry_secs.map(Duration::from_secs);
        let options = SharePageOptions { map_tiles };
        let link = run(async move { cloud.share_page(clip_id, expiry, &options).await }).await?;
        Ok(link.into())
    }
}
