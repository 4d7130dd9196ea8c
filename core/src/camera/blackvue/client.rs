//! The BlackVue drivers: [`CameraDriver`] over a BlackVue camera's HTTP, for both firmware
//! generations ([`Firmware`]).
//!
//! Legacy firmware lists with `GET /blackvue_vod.cgi` and serves `/Record/<name>` (and the
//! `.gps` side file beside each video); firmware 1.009+ lists with `GET /vodList` and serves
//! videos from the root (`/<name>`), GPS only inside the MP4. Neither listing gives sizes, so
//! [`CameraDriver::file_size`] asks the camera (`HEAD`, or a `GET` whose body is never read when
//! the camera refuses `HEAD`). The request path is rebuilt here from the checked file name and
//! the firmware's folder, never taken from the camera: a listing cannot make the phone request
//! anything else. Downloads ask for `Range` from the partial file's length; a camera that ignores
//! it answers from 0 and ingest restarts cleanly.

use bytes::Bytes;
use reqwest::header;

use super::listing::{BlackVueListingError, parse_legacy_list_with, parse_vod_list_with};
use super::{ACCESSIBLE_PATH, LEGACY_LIST_PATH, VOD_LIST_PATH};
use crate::camera::driver::{
    CameraDriver, CameraFile, CameraIdentity, DriverError, FileDownload, GetFileError, Listing,
    ListingLimits, MAX_FILE_SIZE, ascii_number, get_file, is_safe_file_name,
};
use crate::camera::probe::Dialect;
use crate::camera::{CameraError, http_client, read_limited};
use crate::protocol::{MAX_ID_LEN, MAX_TELEMETRY_BYTES, is_safe_id};

/// The folder legacy firmware serves recordings (and their side files) from.
pub const LEGACY_RECORD_DIR: &str = "/Record";

/// The most read of a `/accessible` answer.
const MAX_SMALL_ANSWER: usize = 4096;

/// Why talking to a BlackVue camera failed.
#[derive(Debug, thiserror::Error)]
pub enum BlackVueError {
    /// The camera URL is not an `http://` URL.
    #[error("not a BlackVue camera URL: {0:?}")]
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
    /// The answer ended before the length the camera announced (or, for a legacy listing sent
    /// without any framing, in the middle of a line): a cut listing is never taken whole.
    #[error("the camera's answer was cut short")]
    Cut,
    /// The file list could not be read.
    #[error(transparent)]
    Listing(#[from] BlackVueListingError),
    /// A file's name or path is not one this firmware serves (`..`, folders, odd names):
    /// refused, nothing requested.
    #[error("camera file {0:?} is not a safe BlackVue recording path; refused")]
    UnsafePath(String),
    /// A partial answer without a usable `Content-Range`, or a size beyond belief.
    #[error("the camera's size or range headers are unusable")]
    BadHeaders,
    /// `/accessible` answered, but not with `"accessible":"OK"`.
    #[error("the camera says it is not accessible now")]
    NotAccessible,
}

impl From<GetFileError> for BlackVueError {
    fn from(e: GetFileError) -> Self {
        match e {
            GetFileError::Link(e) => Self::Link(e),
            GetFileError::Status(s) => Self::Status(s),
            GetFileError::BadRange => Self::BadHeaders,
        }
    }
}

impl BlackVueError {
    /// Whether trying again later may succeed (a dropped link, a cut answer, a server error).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Link(_) | Self::Cut | Self::NotAccessible => true,
            Self::Status(s) => *s >= 500 || *s == 408 || *s == 429,
            _ => false,
        }
    }
}

/// The BlackVue firmware generation a driver speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firmware {
    /// Before 1.009: `blackvue_vod.cgi`, `/Record/<name>`, `.gps` side files.
    Legacy,
    /// 1.009 and later: `/accessible`, `/vodList` JSON, `/<name>`, GPS inside the MP4.
    V1009,
}

/// A BlackVue camera at a base URL such as `http://10.99.77.1`.
#[derive(Debug)]
pub struct BlackVueDriver {
    base: String,
    http: reqwest::Client,
    limits: ListingLimits,
    firmware: Firmware,
}

impl BlackVueDriver {
    /// A driver for the camera at `base_url` running `firmware`.
    pub fn new(base_url: &str, firmware: Firmware) -> Result<Self, BlackVueError> {
        let base = base_url.trim_end_matches('/').to_string();
        if !base.starts_with("http://") {
            return Err(BlackVueError::BadUrl(base_url.to_string()));
        }
        let http = http_client(None).map_err(|e| match e {
            CameraError::Link(e) => BlackVueError::Link(e),
            _ => BlackVueError::BadUrl(base_url.to_string()),
        })?;
        Ok(Self { base, http, limits: ListingLimits::default(), firmware })
    }

    /// The same driver, with other listing limits (tests use small ones).
    pub fn with_limits(mut self, limits: ListingLimits) -> Self {
        self.limits = limits;
        self
    }

    /// GETs `path` and returns its body, read up to `limit` bytes and checked complete.
    async fn get(&self, path: &str, limit: usize) -> Result<Bytes, BlackVueError> {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await;
        let resp = resp.map_err(BlackVueError::Link)?;
        if !resp.status().is_success() {
            return Err(BlackVueError::Status(resp.status().as_u16()));
        }
        let announced = resp.content_length();
        let framed = announced.is_some() || is_chunked(resp.headers());
        let body = read_limited(resp, limit).await.map_err(|e| match e {
            CameraError::Link(e) => BlackVueError::Link(e),
            _ => BlackVueError::TooLarge(limit),
        })?;
        if announced.is_some_and(|n| n != body.len() as u64) {
            return Err(BlackVueError::Cut);
        }
        if !framed && !body.is_empty() && !body.ends_with(b"\n") && path == LEGACY_LIST_PATH {
            // Legacy listings have no end marker: without framing, a body cut mid-line is all
            // that shows a cut.
            return Err(BlackVueError::Cut);
        }
        Ok(body)
    }

    /// The path this firmware serves `file` at, rebuilt from its checked name; the listing's
    /// path must agree.
    pub fn url_path(&self, file: &CameraFile) -> Result<String, BlackVueError> {
        let path = match self.firmware {
            Firmware::Legacy => format!("{LEGACY_RECORD_DIR}/{}", file.name),
            Firmware::V1009 => format!("/{}", file.name),
        };
        if !is_safe_file_name(&file.name) || file.path != path {
            return Err(BlackVueError::UnsafePath(file.path.clone()));
        }
        Ok(path)
    }

    /// The serial the catalog knows a BlackVue camera by: its protocol tells none, so the
    /// dialect and the camera's address.
    fn serial(&self) -> String {
        let host = self.base.trim_start_matches("http://");
        let name: String = format!("blackvue-{host}")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
            .take(MAX_ID_LEN)
            .collect();
        debug_assert!(is_safe_id(&name));
        name
    }

    /// The size a response's `Content-Length` header gives (read from the header itself: a
    /// `HEAD` answer has no body to measure).
    fn size_of(resp: &reqwest::Response) -> Result<Option<u64>, BlackVueError> {
        if !resp.status().is_success() {
            return Err(BlackVueError::Status(resp.status().as_u16()));
        }
        let Some(value) = resp.headers().get(header::CONTENT_LENGTH) else { return Ok(None) };
        let size = value.to_str().ok().and_then(ascii_number::<u64>);
        match size {
            Some(n) if n <= MAX_FILE_SIZE => Ok(Some(n)),
            _ => Err(BlackVueError::BadHeaders),
        }
    }
}

fn is_chunked(headers: &header::HeaderMap) -> bool {
    headers
        .get(header::TRANSFER_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
}

/// The name of a recording's `.gps` side file (`X_NF.mp4` -> `X_NF.gps`).
pub fn gps_side_name(name: &str) -> Option<String> {
    let (stem, _) = name.rsplit_once('.')?;
    let side = format!("{stem}.gps");
    is_safe_file_name(&side).then_some(side)
}

#[async_trait::async_trait]
impl CameraDriver for BlackVueDriver {
    fn dialect(&self) -> Dialect {
        match self.firmware {
            Firmware::Legacy => Dialect::BlackVueLegacy,
            Firmware::V1009 => Dialect::BlackVue1009,
        }
    }

    fn base_url(&self) -> &str {
        &self.base
    }

    async fn identify(&self) -> Result<CameraIdentity, DriverError> {
        let firmware = match self.firmware {
            Firmware::Legacy => {
                let body = self.get(LEGACY_LIST_PATH, self.limits.max_bytes + 1).await?;
                let listing = parse_legacy_list_with(&body, &self.limits);
                let version = listing.map_err(BlackVueError::from)?.version.unwrap_or_default();
                format!("legacy (vod v:{version})")
            }
            Firmware::V1009 => {
                let body = self.get(ACCESSIBLE_PATH, MAX_SMALL_ANSWER).await?;
                let ok = serde_json::from_slice::<serde_json::Value>(&body)
                    .is_ok_and(|v| v["accessible"] == "OK");
                if !ok {
                    return Err(BlackVueError::NotAccessible.into());
                }
                "1.009 or later".to_string()
            }
        };
        let model = "BlackVue".to_string();
        Ok(CameraIdentity { dialect: self.dialect(), model, firmware, serial: self.serial() })
    }

    async fn list(&self) -> Result<Listing, DriverError> {
        let limit = self.limits.max_bytes + 1;
        let listing = match self.firmware {
            Firmware::Legacy => {
                parse_legacy_list_with(&self.get(LEGACY_LIST_PATH, limit).await?, &self.limits)
            }
            Firmware::V1009 => {
                parse_vod_list_with(&self.get(VOD_LIST_PATH, limit).await?, &self.limits)
            }
        };
        Ok(listing.map_err(BlackVueError::from)?)
    }

    async fn file_size(&self, file: &CameraFile) -> Result<Option<u64>, DriverError> {
        let url = format!("{}{}", self.base, self.url_path(file)?);
        if file.size.is_some() {
            return Ok(file.size);
        }
        let head = self.http.head(&url).send().await.map_err(BlackVueError::Link)?;
        if head.status().is_success() && head.headers().contains_key(header::CONTENT_LENGTH) {
            return Ok(Self::size_of(&head)?);
        }
        // A camera without HEAD: the headers of a GET, whose body is dropped unread (the
        // connection is closed rather than the file sent).
        let get = self.http.get(&url).send().await.map_err(BlackVueError::Link)?;
        Ok(Self::size_of(&get)?)
    }

    async fn download(
        &self,
        file: &CameraFile,
        offset: u64,
    ) -> Result<Option<FileDownload>, DriverError> {
        let url = format!("{}{}", self.base, self.url_path(file)?);
        let link = |e| BlackVueError::Link(e).into();
        Ok(get_file(&self.http, &url, offset, link).await.map_err(BlackVueError::from)?)
    }

    async fn telemetry(&self, file: &CameraFile) -> Result<Option<Bytes>, DriverError> {
        // 1.009 answers 415 to anything but `.mp4`: its GPS is read from inside the MP4.
        if self.firmware == Firmware::V1009 {
            return Ok(None);
        }
        self.url_path(file)?;
        let Some(side) = gps_side_name(&file.name) else { return Ok(None) };
        let limit = usize::try_from(MAX_TELEMETRY_BYTES).unwrap_or(usize::MAX);
        match self.get(&format!("{LEGACY_RECORD_DIR}/{side}"), limit).await {
            Ok(body) => Ok(Some(body)),
            // No side file for this recording (GPS off, or a model without one).
            Err(BlackVueError::Status(404)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn free_space(&self) -> Result<Option<u64>, DriverError> {
        // Neither firmware has a known free-space request.
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, path: &str) -> CameraFile {
        CameraFile { name: name.into(), path: path.into(), ..crate::camera::segment_file("x", 1) }
    }

    #[test]
    fn only_the_firmwares_own_paths_are_requested() {
        let legacy = BlackVueDriver::new("http://10.99.77.1", Firmware::Legacy).unwrap();
        let v1009 = BlackVueDriver::new("http://10.99.77.1/", Firmware::V1009).unwrap();
        let name = "20230101_120000_NF.mp4";
        let ok = file(name, &format!("/Record/{name}"));
        assert_eq!(legacy.url_path(&ok).unwrap(), format!("/Record/{name}"));
        assert!(matches!(v1009.url_path(&ok), Err(BlackVueError::UnsafePath(_))));
        assert_eq!(v1009.url_path(&file(name, &format!("/{name}"))).unwrap(), format!("/{name}"));
        for (name, path) in [
            ("..", "/Record/.."),
            ("20230101_120000_NF.mp4", "/Record/../20230101_120000_NF.mp4"),
            ("20230101_120000_NF.mp4", "/Record/20230101_120000_NR.mp4"),
            ("20230101_120000_NF.mp4", "//evil.example/20230101_120000_NF.mp4"),
            ("a/b.mp4", "/Record/a/b.mp4"),
            ("x.mp4?y", "/Record/x.mp4?y"),
            ("", "/Record/"),
        ] {
            assert!(
                matches!(legacy.url_path(&file(name, path)), Err(BlackVueError::UnsafePath(_))),
                "{path} must be refused"
            );
        }
    }

    #[test]
    fn side_files_and_serials_are_safe() {
        assert_eq!(
            gps_side_name("20230101_120000_NF.mp4").as_deref(),
            Some("20230101_120000_NF.gps")
        );
        assert_eq!(gps_side_name("noext"), None);
        let d = BlackVueDriver::new("http://10.99.77.1:80", Firmware::Legacy).unwrap();
        assert_eq!(d.serial(), "blackvue-10_99_77_1_80");
        assert!(BlackVueDriver::new("https://x", Firmware::V1009).is_err());
        assert_eq!(d.dialect(), Dialect::BlackVueLegacy);
    }

    /// A hostile camera on loopback: answers each request with the raw bytes `answer` gives
    /// for its request line, then closes the connection; records every request line.
    struct Hostile {
        url: String,
        seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    }

    async fn hostile(answer: fn(&str) -> Vec<u8>) -> Hostile {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&request);
                    let line = text.lines().next().unwrap_or("").to_string();
                    log.lock().unwrap().push(line.clone());
                    let _ = socket.write_all(&answer(&line)).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Hostile { url, seen }
    }

    fn framed(status: &str, body: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    }

    fn listing_error(e: DriverError) -> BlackVueError {
        match e {
            DriverError::BlackVue(e) => e,
            other => panic!("not a BlackVue error: {other}"),
        }
    }

    #[tokio::test]
    async fn a_cut_legacy_listing_is_never_taken_whole() {
        // Announced longer than sent: the link error says the answer was cut.
        let short = hostile(|_| {
            b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nv:1.00\r\nn:/Record/20230101_120000_NF.mp4,s:1000000\r\n".to_vec()
        })
        .await;
        let d = BlackVueDriver::new(&short.url, Firmware::Legacy).unwrap();
        let e = listing_error(d.list().await.unwrap_err());
        assert!(e.is_transient(), "{e}");
        // Without any framing, a body that stops mid-line is cut.
        let unframed = hostile(|_| {
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nv:1.00\r\nn:/Record/20230101_120000_NF.mp4,s:1000000\r\nn:/Record/2023".to_vec()
        })
        .await;
        let d = BlackVueDriver::new(&unframed.url, Firmware::Legacy).unwrap();
        assert!(matches!(listing_error(d.list().await.unwrap_err()), BlackVueError::Cut));
    }

    #[tokio::test]
    async fn hostile_listings_are_skipped_entries_or_typed_errors() {
        let cam = hostile(|line| {
            if line.contains("vodList") {
                framed(
                    "200 OK",
                    br#"{"filelist":[{"filename":"../../etc/passwd"},{"filename":"/20230101_120000_NF.mp4"},
                    {"filename":"20230101_120000_NF.mp4"},{"filename":"20230101_120000_nf.MP4"},
                    {"filename":"\u00e9.mp4"}]}"#,
                )
            } else if line.starts_with("HEAD") {
                b"HTTP/1.1 200 OK\r\nContent-Length: 1125899906842624\r\n\r\n".to_vec()
            } else if line.contains("accessible") {
                framed("200 OK", br#"{"accessible":"NO"}"#)
            } else {
                framed("200 OK", b"\xff\xfe{not json")
            }
        })
        .await;
        let d = BlackVueDriver::new(&cam.url, Firmware::V1009).unwrap();
        let listing = d.list().await.unwrap();
        assert_eq!(listing.files.len(), 1, "{listing:?}");
        assert_eq!(listing.files[0].path, "/20230101_120000_NF.mp4");
        assert_eq!(listing.skipped_total(), 4);
        // An absurd size is refused, not believed.
        let size = d.file_size(&listing.files[0]).await.unwrap_err();
        assert!(matches!(listing_error(size), BlackVueError::BadHeaders));
        assert!(matches!(
            listing_error(d.identify().await.unwrap_err()),
            BlackVueError::NotAccessible
        ));
        // A listing past the byte limit is refused before it is read.
        let small = BlackVueDriver::new(&cam.url, Firmware::V1009)
            .unwrap()
            .with_limits(ListingLimits { max_bytes: 64, max_files: 10 });
        assert!(matches!(
            listing_error(small.list().await.unwrap_err()),
            BlackVueError::TooLarge(_)
        ));
        // A legacy answer that is not a listing (binary, no v: line) is a typed error.
        let legacy = BlackVueDriver::new(&cam.url, Firmware::Legacy).unwrap();
        assert!(matches!(
            listing_error(legacy.list().await.unwrap_err()),
            BlackVueError::Listing(BlackVueListingError::MissingVersion)
        ));
    }

    #[tokio::test]
    async fn unsafe_files_are_never_requested() {
        let cam = hostile(|_| framed("200 OK", b"x")).await;
        let d = BlackVueDriver::new(&cam.url, Firmware::Legacy).unwrap();
        let evil = file("..", "/Record/..");
        assert!(matches!(
            listing_error(d.download(&evil, 0).await.unwrap_err()),
            BlackVueError::UnsafePath(_)
        ));
        assert!(matches!(
            listing_error(d.file_size(&evil).await.unwrap_err()),
            BlackVueError::UnsafePath(_)
        ));
        assert!(d.telemetry(&evil).await.is_err());
        let elsewhere = file("20230101_120000_NF.mp4", "/Record/../20230101_120000_NF.mp4");
        assert!(d.download(&elsewhere, 0).await.is_err());
        assert!(cam.seen.lock().unwrap().is_empty(), "{:?}", cam.seen.lock().unwrap());
        // A good file is asked for at the firmware's own path, with Range when resuming.
        let name = "20230101_120000_NF.mp4";
        let good = file(name, &format!("/Record/{name}"));
        let got = d.download(&good, 0).await.unwrap().expect("a body");
        assert_eq!((got.offset, got.total), (0, Some(1)));
        assert_eq!(cam.seen.lock().unwrap()[0], format!("GET /Record/{name} HTTP/1.1"));
    }
}
