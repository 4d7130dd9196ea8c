//! The Novatek driver: [`CameraDriver`] over the camera's HTTP commands.
//!
//! Listing is `cmd=3015`; many models refuse it while recording (they answer a `<Function>`
//! reply instead of a `<LIST>`), so the driver then stops recording (`2001&par=0`), lists again,
//! and [`CameraDriver::release`] starts recording again (`2001&par=1`). Files are fetched at the
//! path the listing gave, but only after [`url_path`] checked it is a path on the card made of
//! safe names: a camera never makes the phone request (or write) anything else. Downloads ask
//! for `Range` from the partial file's length; a camera that ignores it answers from 0.

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

use super::listing::{NovatekListingError, parse_file_list_with};
use super::reply::{MAX_REPLY_BYTES, NovatekReplyError, Reply, parse_reply};
use super::{CMD_DELETE, CMD_FILE_LIST, CMD_FREE_SPACE, CMD_RECORD, CMD_VERSION};
use crate::camera::driver::{
    CameraDriver, CameraFile, CameraIdentity, DriverError, FileDownload, GetFileError, Listing,
    ListingLimits, get_file, is_safe_file_name,
};
use crate::camera::probe::Dialect;
use crate::camera::{CameraError, http_client, read_limited};
use crate::protocol::{MAX_ID_LEN, is_safe_id};

/// Why talking to a Novatek camera failed.
#[derive(Debug, thiserror::Error)]
pub enum NovatekError {
    /// The camera URL is not an `http://` URL.
    #[error("not a Novatek camera URL: {0:?}")]
    BadUrl(String),
    /// The camera could not be reached, or the link dropped.
    #[error("camera link failed: {0}")]
    Link(#[source] reqwest::Error),
    /// The camera answered with an HTTP error status.
    #[error("camera answered HTTP {0}")]
    Status(u16),
    /// The answer was larger than the driver reads for it.
    #[error("camera answer larger than {0} bytes")]
    TooLarge(usize),
    /// A command's reply could not be read, or the camera refused the command.
    #[error(transparent)]
    Reply(#[from] NovatekReplyError),
    /// The file list could not be read.
    #[error(transparent)]
    Listing(#[from] NovatekListingError),
    /// A file's camera path is not a plain path on the card (`..`, absolute elsewhere, odd
    /// names, a name that differs from the path's): refused, nothing requested.
    #[error("camera path {0:?} is not a safe path on the card; refused")]
    UnsafePath(String),
    /// A partial answer without a usable `Content-Range`.
    #[error("206 without a valid Content-Range")]
    BadContentRange,
}

impl From<GetFileError> for NovatekError {
    fn from(e: GetFileError) -> Self {
        match e {
            GetFileError::Link(e) => Self::Link(e),
            GetFileError::Status(s) => Self::Status(s),
            GetFileError::BadRange => Self::BadContentRange,
        }
    }
}

impl NovatekError {
    /// Whether trying again later may succeed (a dropped link, a server error).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Link(_) => true,
            Self::Status(s) => *s >= 500 || *s == 408 || *s == 429,
            _ => false,
        }
    }
}

/// A Novatek camera (Viofo, YI and clones) at a base URL such as `http://192.168.1.254`.
#[derive(Debug)]
pub struct NovatekDriver {
    base: String,
    http: reqwest::Client,
    limits: ListingLimits,
    /// Whether this driver stopped the camera's recording (and must start it again).
    stopped_recording: AtomicBool,
}

impl NovatekDriver {
    /// A driver for the camera at `base_url`.
    pub fn new(base_url: &str) -> Result<Self, NovatekError> {
        let base = base_url.trim_end_matches('/').to_string();
        if !base.starts_with("http://") {
            return Err(NovatekError::BadUrl(base_url.to_string()));
        }
        let http = http_client(None).map_err(|e| match e {
            CameraError::Link(e) => NovatekError::Link(e),
            _ => NovatekError::BadUrl(base_url.to_string()),
        })?;
        Ok(Self { base, http, limits: ListingLimits::default(), stopped_recording: false.into() })
    }

    /// The same driver, with other listing limits (tests use small ones).
    pub fn with_limits(mut self, limits: ListingLimits) -> Self {
        self.limits = limits;
        self
    }

    /// GETs `/?custom=1&cmd=N` (plus `extra` query pairs) and returns its body, read up to
    /// `limit` bytes.
    async fn get(
        &self,
        cmd: u32,
        extra: &[(&str, &str)],
        limit: usize,
    ) -> Result<Bytes, NovatekError> {
        let req = self.http.get(format!("{}/?custom=1&cmd={cmd}", self.base)).query(extra);
        let resp = req.send().await.map_err(NovatekError::Link)?;
        if !resp.status().is_success() {
            return Err(NovatekError::Status(resp.status().as_u16()));
        }
        read_limited(resp, limit).await.map_err(|e| match e {
            CameraError::Link(e) => NovatekError::Link(e),
            _ => NovatekError::TooLarge(limit),
        })
    }

    /// Sends a command and checks its reply says done (status 0).
    async fn command(&self, cmd: u32, extra: &[(&str, &str)]) -> Result<Reply, NovatekError> {
        let body = self.get(cmd, extra, MAX_REPLY_BYTES).await?;
        let reply = parse_reply(&body)?;
        reply.expect_ok(cmd)?;
        Ok(reply)
    }

    /// The `cmd=3015` answer, read.
    async fn file_list(&self) -> Result<Result<Listing, NovatekListingError>, NovatekError> {
        let body = self.get(CMD_FILE_LIST, &[], self.limits.max_bytes + 1).await?;
        // A model that refuses to list while recording answers a `<Function>` reply instead.
        Ok(parse_file_list_with(&body, &self.limits))
    }

    /// The serial the catalog knows a Novatek camera by: its protocol has none, so the
    /// dialect and the camera's address (the access point it is reached at).
    fn serial(&self) -> String {
        let host = self.base.trim_start_matches("http://");
        let name: String = format!("novatek-{host}")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
            .take(MAX_ID_LEN)
            .collect();
        debug_assert!(is_safe_id(&name));
        name
    }
}

/// The URL path of a listed file, checked: `/`-separated safe names (no `..`, no empty or odd
/// segment, nothing outside the card's folders), ending in the file's own name.
pub fn url_path(file: &CameraFile) -> Result<&str, NovatekError> {
    let bad = || NovatekError::UnsafePath(file.path.clone());
    let rest = file.path.strip_prefix('/').ok_or_else(bad)?;
    let mut last = "";
    for segment in rest.split('/') {
        if !is_safe_file_name(segment) {
            return Err(bad());
        }
        last = segment;
    }
    if last != file.name || !is_safe_file_name(&file.name) {
        return Err(bad());
    }
    Ok(&file.path)
}

/// The camera's own path for a file (`A:\Novatek\Movie\X.MP4`), for commands that name one.
fn camera_path(file: &CameraFile) -> Result<String, NovatekError> {
    Ok(format!("A:{}", url_path(file)?.replace('/', "\\")))
}

#[async_trait::async_trait]
impl CameraDriver for NovatekDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Novatek
    }

    fn base_url(&self) -> &str {
        &self.base
    }

    async fn identify(&self) -> Result<CameraIdentity, DriverError> {
        let reply = self.command(CMD_VERSION, &[]).await?;
        let firmware = reply.string.unwrap_or_default();
        // Viofo firmware strings start with the model (`VIOFO_A129_V1.0`); others say less.
        let model = firmware.rsplit_once('_').map_or("Novatek camera", |(m, _)| m).to_string();
        Ok(CameraIdentity { dialect: Dialect::Novatek, model, firmware, serial: self.serial() })
    }

    async fn list(&self) -> Result<Listing, DriverError> {
        match self.file_list().await? {
            Ok(listing) => Ok(listing),
            Err(NovatekListingError::NotAFileList(root))
                if root == "Function" && !self.stopped_recording.load(Ordering::SeqCst) =>
            {
                tracing::info!(camera = %self.base, "listing refused while recording; stopping it");
                self.command(CMD_RECORD, &[("par", "0")]).await?;
                self.stopped_recording.store(true, Ordering::SeqCst);
                Ok(self.file_list().await?.map_err(NovatekError::from)?)
            }
            Err(e) => Err(NovatekError::from(e).into()),
        }
    }

    async fn download(
        &self,
        file: &CameraFile,
        offset: u64,
    ) -> Result<Option<FileDownload>, DriverError> {
        let url = format!("{}{}", self.base, url_path(file)?);
        let link = |e| NovatekError::Link(e).into();
        Ok(get_file(&self.http, &url, offset, link).await.map_err(NovatekError::from)?)
    }

    async fn telemetry(&self, _file: &CameraFile) -> Result<Option<Bytes>, DriverError> {
        // Novatek GPS lives inside the MP4 (`gps `/`freeGPS`), not beside it.
        Ok(None)
    }

    async fn free_space(&self) -> Result<Option<u64>, DriverError> {
        Ok(self.command(CMD_FREE_SPACE, &[]).await?.value_u64())
    }

    async fn delete(&self, file: &CameraFile) -> Result<(), DriverError> {
        let path = camera_path(file)?;
        self.command(CMD_DELETE, &[("str", &path)]).await?;
        Ok(())
    }

    fn records_nothing(&self) -> bool {
        self.stopped_recording.load(Ordering::SeqCst)
    }

    async fn release(&self) -> Result<(), DriverError> {
        if self.stopped_recording.swap(false, Ordering::SeqCst) {
            self.command(CMD_RECORD, &[("par", "1")]).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, path: &str) -> CameraFile {
        CameraFile { name: name.into(), path: path.into(), ..crate::camera::segment_file("x", 1) }
    }

    #[test]
    fn only_plain_paths_on_the_card_are_requested() {
        let ok = file("X.MP4", "/Novatek/Movie/X.MP4");
        assert_eq!(url_path(&ok).unwrap(), "/Novatek/Movie/X.MP4");
        assert_eq!(camera_path(&ok).unwrap(), r"A:\Novatek\Movie\X.MP4");
        for (name, path) in [
            ("X.MP4", "/Novatek/../X.MP4"),
            ("X.MP4", "Novatek/X.MP4"),
            ("X.MP4", "/Novatek//X.MP4"),
            ("X.MP4", "/Novatek/Y.MP4"),
            ("X.MP4", "//evil.example/X.MP4"),
            ("X.MP4", "/Novatek/%2e%2e/X.MP4"),
            ("..", "/Novatek/.."),
            ("X.MP4", "/Novatek\\..\\X.MP4"),
        ] {
            assert!(
                matches!(url_path(&file(name, path)), Err(NovatekError::UnsafePath(_))),
                "{path} must be refused"
            );
        }
    }

    #[test]
    fn the_serial_is_a_safe_id() {
        let d = NovatekDriver::new("http://192.168.1.254:80/").unwrap();
        assert_eq!(d.serial(), "novatek-192_168_1_254_80");
        assert!(NovatekDriver::new("ftp://x").is_err());
    }
}
