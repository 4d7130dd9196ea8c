//! `dashkeep share CLIP`: a link to the clip's share page (video, when and where, trigger, track,
//! speed and g-force); `--raw` prints the bare MP4 link instead.

use std::time::Duration;

use dashkeep_core::Companion;
use dashkeep_core::cloud::SharePageOptions;

/// Prints the page link of `clip`, valid `hours` (default: the cloud's share expiry), with map
/// tiles from `map_tiles` when given.
pub async fn share_page(
    companion: &Companion,
    clip: i64,
    hours: Option<u64>,
    map_tiles: Option<String>,
) -> anyhow::Result<()> {
    let cloud = companion.cloud().ok_or_else(|| anyhow::anyhow!("no cloud is configured"))?;
    let expiry = hours.map(|h| Duration::from_secs(h * 3600));
    let link = cloud.share_page(clip, expiry, &SharePageOptions { map_tiles }).await?;
    println!("{}", link.url);
    Ok(())
}
