//! Dashkeep's own protocol behind the [`CameraDriver`] seam: an adapter over
//! [`CameraClient`], which stays the client ingest's checksum-verified path uses directly (its
//! listing carries SHA-256s, drives and telemetry sidecars the vendor protocols lack).

use bytes::Bytes;
use futures_util::StreamExt;

use crate::camera::driver::{
    CameraDriver, CameraFile, CameraIdentity, Channel, Container, DriverError, FileDownload,
    FileKind, Listing, LocalTime,
};
use crate::camera::probe::Dialect;
use crate::camera::{CameraClient, CameraError};
use crate::protocol::{MAX_TELEMETRY_BYTES, SegmentInfo};

/// Listing pages are this long.
const PAGE: u32 = 500;

/// The file name a Dashkeep segment is listed under.
fn file_of(s: &SegmentInfo, order: usize) -> CameraFile {
    CameraFile {
        time: LocalTime::from_unix_seconds(s.start_ms.div_euclid(1000)),
        locked: s.locked,
        sequence: Some(s.seq),
        order,
        ..segment_file(&s.id, s.size)
    }
}

/// The file a Dashkeep segment of `size` bytes is downloaded as, through the driver seam.
pub(crate) fn segment_file(id: &str, size: u64) -> CameraFile {
    CameraFile {
        name: format!("{id}.mp4"),
        path: format!("{}/segments/{id}/video", crate::protocol::API_PREFIX),
        size: Some(size),
        time: LocalTime::from_unix_seconds(0),
        channel: Channel::Front,
        kind: FileKind::Normal,
        locked: false,
        container: Container::Mp4,
        sequence: None,
        order: 0,
    }
}

/// The segment id a listed file came from.
fn segment_id(file: &CameraFile) -> Result<&str, DriverError> {
    file.name.strip_suffix(".mp4").ok_or_else(|| {
        DriverError::Dashkeep(CameraError::Protocol(format!("not a segment file: {}", file.name)))
    })
}

#[async_trait::async_trait]
impl CameraDriver for CameraClient {
    fn dialect(&self) -> Dialect {
        Dialect::Dashkeep
    }

    fn base_url(&self) -> &str {
        CameraClient::base_url(self)
    }

    async fn identify(&self) -> Result<CameraIdentity, DriverError> {
        let status = self.status().await?;
        Ok(CameraIdentity {
            dialect: Dialect::Dashkeep,
            model: status.model,
            firmware: status.firmware,
            serial: status.serial,
        })
    }

    async fn list(&self) -> Result<Listing, DriverError> {
        let mut listing = Listing::default();
        let mut since = 0;
        loop {
            let page = self.segments(since, PAGE).await?;
            for s in &page.segments {
                match s.validate() {
                    Ok(()) => listing.files.push(file_of(s, listing.files.len())),
                    Err(_) => {
                        *listing
                            .skipped
                            .entry(crate::camera::driver::SkipReason::Malformed)
                            .or_default() += 1;
                    }
                }
            }
            if !page.more || page.next_cursor <= since {
                return Ok(listing);
            }
            since = page.next_cursor;
        }
    }

    async fn download(
        &self,
        file: &CameraFile,
        offset: u64,
    ) -> Result<Option<FileDownload>, DriverError> {
        let Some(video) = self.video(segment_id(file)?, offset).await? else { return Ok(None) };
        let body = video.body.map(|r| r.map_err(DriverError::Dashkeep));
        Ok(Some(FileDownload { offset: video.offset, total: file.size, body: Box::pin(body) }))
    }

    async fn telemetry(&self, file: &CameraFile) -> Result<Option<Bytes>, DriverError> {
        Ok(Some(CameraClient::telemetry(self, segment_id(file)?, MAX_TELEMETRY_BYTES).await?))
    }

    async fn free_space(&self) -> Result<Option<u64>, DriverError> {
        let status = self.status().await?;
        Ok(Some(status.sd_capacity_bytes.saturating_sub(status.sd_used_bytes)))
    }
}
