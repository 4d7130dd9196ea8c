//! The camera: the phone's client for the camera's HTTP API on its WiFi (protocol v1).
//!
//! Everything a camera says is untrusted: listings are validated before use, bodies are read with
//! size limits, and ids are only used as file names after [`crate::protocol::is_safe_id`].
//! Pairing over BLE ([`pairing`], over the [`ble::BleLink`] transport: the loopback link in
//! [`ble::loopback`], or the platform's Bluetooth with the `btleplug` feature) gives the phone
//! [`PhoneCredentials`]; with them, [`CameraClient`] signs every request ([`auth`]) at its one
//! sending seam. The phone keeps pairings in a [`secrets::SecretStore`].

pub mod auth;
pub mod blackvue;
pub mod ble;
#[cfg(feature = "btleplug")]
pub mod btle;
pub mod control;
mod dashkeep_driver;
pub(crate) use dashkeep_driver::segment_file;
pub mod driver;
pub mod file_drives;
pub mod growth;
pub mod novatek;
pub mod pairing;
pub mod pinned;
pub mod probe;
pub mod secrets;
pub mod wifi;

pub use auth::{ApiSecret, PhoneCredentials};
pub use driver::{CameraDriver, CameraIdentity, DriverError, FileDownload};
pub use pairing::{PairedCamera, PairingError};
pub use pinned::CameraKey;
pub use wifi::{AlreadyJoined, CameraNetwork, WifiError, WifiJoiner};

use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::{StatusCode, header};

use crate::protocol::{
    API_PREFIX, ApiError, CameraStatus, DriveList, MAX_TELEMETRY_BYTES, PROTOCOL_VERSION,
    SegmentList, is_safe_id,
};

/// Why talking to the camera failed.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// The camera URL is not an `http://` or `https://` URL.
    #[error("not a camera URL: {0:?}")]
    BadUrl(String),
    /// The camera could not be reached, or the link dropped.
    #[error("camera link failed: {0}")]
    Link(#[source] reqwest::Error),
    /// The camera answered with an error status.
    #[error("camera answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The camera's message, if it sent one.
        message: String,
    },
    /// The camera presented a TLS key other than the one pinned at pairing: not our camera.
    #[error("the camera's key is not the one pinned at pairing")]
    WrongKey,
    /// A paired camera must be reached over `https://` with its pinned key.
    #[error("a paired camera is reached over https, not {0:?}")]
    NotHttps(String),
    /// The TLS configuration for the pinned key could not be built.
    #[error(transparent)]
    Tls(#[from] pinned::PinnedTlsError),
    /// The camera's answer does not follow the protocol.
    #[error("camera broke the protocol: {0}")]
    Protocol(String),
    /// A camera reached without its pinned key claims the serial of a paired camera: an
    /// impostor (a paired camera is only reached over its pinned HTTPS).
    #[error("camera {0} is paired and must prove it with its pinned key; refused")]
    UnprovenSerial(String),
    /// The paired camera's pinned key answered with another serial than the one paired.
    #[error("the camera paired as {expected} says it is {got}")]
    WrongSerial {
        /// The serial paired.
        expected: String,
        /// The serial the camera claims.
        got: String,
    },
    /// The camera speaks a protocol version this build does not.
    #[error("camera speaks protocol v{0}, this app speaks v{PROTOCOL_VERSION}")]
    Version(u32),
}

impl CameraError {
    /// Whether trying again later may succeed (a dropped link or a server error), as opposed to
    /// an answer that will not change.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Link(_) => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            Self::BadUrl(_)
            | Self::WrongKey
            | Self::NotHttps(_)
            | Self::Tls(_)
            | Self::Protocol(_)
            | Self::UnprovenSerial(_)
            | Self::WrongSerial { .. }
            | Self::Version(_) => false,
        }
    }
}

/// A segment download in progress: the bytes from `offset` on, as a stream of chunks.
pub struct VideoDownload {
    /// The byte offset the body starts at (0 when the camera ignored the Range request).
    pub offset: u64,
    /// The body's chunks; an error means the link dropped mid-body.
    pub body: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, CameraError>> + Send>>,
}

/// The phone's HTTP client for one camera.
#[derive(Clone, Debug)]
pub struct CameraClient {
    base: String,
    http: reqwest::Client,
    credentials: Option<PhoneCredentials>,
    /// The relay binding this client's sockets to the camera's network ([`wifi`]), if any.
    relay: Option<std::sync::Arc<wifi::Relay>>,
    /// The serial a pinned client's camera proved at pairing (its status must say it).
    proven_serial: Option<String>,
    /// Serials a plain client refuses: those of paired cameras, which must prove their key.
    reserved_serials: std::sync::Arc<[String]>,
}

/// How long to wait for a camera to accept a connection: cameras are on the same WiFi.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a body may go silent before the link is considered dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// A failed request, told apart: a pinned-key mismatch is not a dropped link.
fn link_error(e: reqwest::Error) -> CameraError {
    // The rustls error hides inside io::Errors (nested), which `source()` skips over.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(rustls::Error::InvalidCertificate(_)) = err.downcast_ref::<rustls::Error>() {
            return CameraError::WrongKey;
        }
        source = match err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    CameraError::Link(e)
}

/// The HTTP client: rustls on ring, with `tls` (a pinned camera key) when given.
pub(crate) fn http_client(
    tls: Option<rustls::ClientConfig>,
) -> Result<reqwest::Client, CameraError> {
    http_builder(tls).build().map_err(CameraError::Link)
}

/// The camera client's settings, before [`wifi`] may route its sockets through a relay.
///
/// Without `tls` the client trusts no certificate at all: a camera's TLS key is trusted only
/// once pinned by pairing, and no camera's certificate chains to a public root, so loading the
/// platform's roots (several milliseconds of parsing, for every client a probe or a driver
/// makes) would buy nothing. Such a client speaks plain HTTP, as unpaired cameras do.
pub(crate) fn http_builder(tls: Option<rustls::ClientConfig>) -> reqwest::ClientBuilder {
    crate::tls::ensure_crypto_provider();
    let tls = tls.unwrap_or_else(|| {
        rustls::ClientConfig::builder()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()
    });
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(30))
        // A camera never redirects: following one would take signed requests elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured(tls)
}

/// Refuses what cannot be a camera's address: anything but an `http://` or `https://` URL.
pub fn check_camera_url(base_url: &str) -> Result<(), CameraError> {
    if base_url.starts_with("http://") || base_url.starts_with("https://") {
        Ok(())
    } else {
        Err(CameraError::BadUrl(base_url.to_string()))
    }
}

impl CameraClient {
    /// A client for the camera at `base_url` (e.g. `http://192.168.42.1:80`).
    pub fn new(base_url: &str) -> Result<Self, CameraError> {
        check_camera_url(base_url)?;
        let base = base_url.trim_end_matches('/').to_string();
        Ok(Self {
            http: http_client(None)?,
            base,
            credentials: None,
            relay: None,
            proven_serial: None,
            reserved_serials: std::sync::Arc::from([]),
        })
    }

    /// A client for a paired camera: HTTPS that accepts only the camera's pinned key, and every
    /// request signed with the phone's credentials.
    pub fn paired(camera: &PairedCamera) -> Result<Self, CameraError> {
        let key = CameraKey::from_hex(&camera.payload.identity_key)
            .ok_or(CameraError::Protocol("the pinned camera key is not 32 bytes of hex".into()))?;
        let creds = camera.credentials().map_err(|e| CameraError::Protocol(e.to_string()))?;
        let mut client =
            Self::new(&camera.payload.api_url)?.pinned(key)?.with_credentials(Some(creds));
        client.proven_serial = Some(camera.serial.clone());
        Ok(client)
    }

    /// The same client, refusing a camera whose status claims one of `serials` (the paired
    /// cameras: they are reached only with their pinned key, so a plain link claiming one is an
    /// impostor).
    pub fn refusing_serials(mut self, serials: Vec<String>) -> Self {
        self.reserved_serials = serials.into();
        self
    }

    /// The same client, speaking HTTPS that accepts only `key` (the camera's identity key pinned
    /// at pairing). Fails for an `http://` camera URL.
    pub fn pinned(mut self, key: CameraKey) -> Result<Self, CameraError> {
        if !self.base.starts_with("https://") {
            return Err(CameraError::NotHttps(self.base));
        }
        self.http = http_client(Some(pinned::phone_client_config(key)?))?;
        Ok(self)
    }

    /// The camera's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The same client, signing every request with a paired phone's credentials.
    pub fn with_credentials(mut self, credentials: Option<PhoneCredentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// Builds a request to an API path; [`Self::send`] signs it once it is complete.
    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{API_PREFIX}{path}", self.base))
    }

    /// Sends a request, signed when the client has credentials: the signature covers the final
    /// method, path, query and Range header, so it is computed on the built request.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, CameraError> {
        let req = req.build().map_err(CameraError::Link)?;
        let retry = req.try_clone();
        let (resp, nonce) = self.execute_signed(req).await?;
        // A camera whose clock is far from ours answers a signed request it found stale with
        // its own time, signed: learn the offset and sign again, once.
        let learnt = nonce.as_deref().is_some_and(|n| self.learn_camera_clock(&resp, n));
        let resp = match retry {
            Some(again) if learnt => self.execute_signed(again).await?.0,
            _ => resp,
        };
        if resp.status().is_success() || resp.status() == StatusCode::RANGE_NOT_SATISFIABLE {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let message = match read_limited(resp, 4096).await {
            Ok(body) => serde_json::from_slice::<ApiError>(&body)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned()),
            Err(_) => String::new(),
        };
        Err(CameraError::Status { status, message })
    }

    /// Signs `req` (when the client has credentials) with the camera's clock as far as the
    /// phone knows it, and sends it; returns the answer and the nonce signed.
    async fn execute_signed(
        &self,
        mut req: reqwest::Request,
    ) -> Result<(reqwest::Response, Option<String>), CameraError> {
        let mut nonce = None;
        if let Some(creds) = &self.credentials {
            let range = req
                .headers()
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let parts = auth::SignedParts {
                method: req.method().as_str(),
                path: req.url().path(),
                query: req.url().query().unwrap_or(""),
                range: &range,
                body: req.body().and_then(|b| b.as_bytes()).unwrap_or_default(),
            };
            let now = auth::clock::camera_now(&creds.phone_id);
            let value = auth::authorization(creds, &parts, now);
            nonce = auth::nonce_of(&value).map(str::to_string);
            let value = header::HeaderValue::from_str(&value)
                .map_err(|_| CameraError::Protocol("unsignable request".into()))?;
            req.headers_mut().insert(header::AUTHORIZATION, value);
        }
        let resp = self.http.execute(req).await.map_err(link_error)?;
        Ok((resp, nonce))
    }

    /// Learns the camera's clock from a 401 carrying its signed time (for the nonce we sent);
    /// true when it did. An unsigned or wrongly signed time is ignored.
    fn learn_camera_clock(&self, resp: &reqwest::Response, nonce: &str) -> bool {
        let Some(creds) = &self.credentials else { return false };
        if resp.status() != StatusCode::UNAUTHORIZED {
            return false;
        }
        let text =
            |name| resp.headers().get(name).and_then(|v: &header::HeaderValue| v.to_str().ok());
        let (Some(time), Some(mac)) =
            (text(auth::CAMERA_TIME_HEADER), text(auth::CAMERA_MAC_HEADER))
        else {
            return false;
        };
        match auth::verified_camera_time(&creds.api_secret, nonce, time, mac) {
            Some(camera_ms) => {
                auth::clock::learn(&creds.phone_id, camera_ms, auth::now_ms());
                true
            }
            None => false,
        }
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        limit: usize,
    ) -> Result<T, CameraError> {
        let resp = self.send(req).await?;
        let body = read_limited(resp, limit).await?;
        serde_json::from_slice(&body).map_err(|e| CameraError::Protocol(e.to_string()))
    }

    /// The camera's status; fails with [`CameraError::Version`] for a protocol this build lacks.
    pub async fn status(&self) -> Result<CameraStatus, CameraError> {
        let status: CameraStatus = self.json(self.get("/status"), 64 * 1024).await?;
        if status.protocol_version != PROTOCOL_VERSION {
            return Err(CameraError::Version(status.protocol_version));
        }
        if !is_safe_id(&status.serial) {
            return Err(CameraError::Protocol(format!("unsafe serial {:?}", status.serial)));
        }
        match &self.proven_serial {
            Some(expected) if *expected != status.serial => {
                Err(CameraError::WrongSerial { expected: expected.clone(), got: status.serial })
            }
            None if self.reserved_serials.contains(&status.serial) => {
                Err(CameraError::UnprovenSerial(status.serial))
            }
            _ => Ok(status),
        }
    }

    /// The drives on the camera's SD card.
    pub async fn drives(&self) -> Result<DriveList, CameraError> {
        self.json(self.get("/drives"), 8 * 1024 * 1024).await
    }

    /// Segments with `seq > since`, at most `limit` (entries are NOT yet validated).
    pub async fn segments(&self, since: u64, limit: u32) -> Result<SegmentList, CameraError> {
        let req = self.get("/segments").query(&[("since", since), ("limit", u64::from(limit))]);
        self.json(req, 8 * 1024 * 1024).await
    }

    /// Waits up to `timeout` for segments with `seq > after` (long poll).
    pub async fn feed(&self, after: u64, timeout: Duration) -> Result<SegmentList, CameraError> {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let req = self
            .get("/feed")
            .query(&[("after", after), ("timeout_ms", ms)])
            .timeout(timeout + READ_TIMEOUT);
        self.json(req, 8 * 1024 * 1024).await
    }

    /// Starts downloading a segment's video from byte `offset` (a Range request when non-zero).
    /// Returns `None` when the camera says there is nothing past `offset` (416).
    pub async fn video(&self, id: &str, offset: u64) -> Result<Option<VideoDownload>, CameraError> {
        let id = checked_id(id)?;
        let mut req = self.get(&format!("/segments/{id}/video"));
        if offset > 0 {
            req = req.header(header::RANGE, format!("bytes={offset}-"));
        }
        let resp = self.send(req).await?;
        let start = match resp.status() {
            StatusCode::RANGE_NOT_SATISFIABLE => return Ok(None),
            StatusCode::PARTIAL_CONTENT => content_range_start(&resp)?,
            _ => 0,
        };
        if offset > 0 && start != offset && start != 0 {
            return Err(CameraError::Protocol(format!(
                "asked for bytes from {offset}, camera sent from {start}"
            )));
        }
        let body = resp.bytes_stream().map(|r| r.map_err(CameraError::Link));
        Ok(Some(VideoDownload { offset: start, body: Box::pin(body) }))
    }

    /// Downloads a segment's telemetry sidecar, refusing more than `expected_size` bytes.
    pub async fn telemetry(&self, id: &str, expected_size: u64) -> Result<Bytes, CameraError> {
        let id = checked_id(id)?;
        let limit = usize::try_from(expected_size.min(MAX_TELEMETRY_BYTES)).unwrap_or(0);
        let resp = self.send(self.get(&format!("/segments/{id}/telemetry"))).await?;
        read_limited(resp, limit).await
    }
}

fn checked_id(id: &str) -> Result<&str, CameraError> {
    if is_safe_id(id) { Ok(id) } else { Err(CameraError::Protocol(format!("unsafe id {id:?}"))) }
}

fn content_range_start(resp: &reqwest::Response) -> Result<u64, CameraError> {
    let bad = || CameraError::Protocol("206 without a valid Content-Range".into());
    let value = resp.headers().get(header::CONTENT_RANGE).ok_or_else(bad)?;
    let text = value.to_str().map_err(|_| bad())?;
    let range = text.strip_prefix("bytes ").ok_or_else(bad)?;
    let start = range.split('-').next().ok_or_else(bad)?;
    start.trim().parse().map_err(|_| bad())
}

/// Reads a whole body, failing once it passes `limit` bytes: a camera cannot make us buffer more.
pub(crate) async fn read_limited(
    resp: reqwest::Response,
    limit: usize,
) -> Result<Bytes, CameraError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(CameraError::Protocol(format!("body larger than {limit} bytes")));
    }
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(CameraError::Link)?;
        if body.len() + chunk.len() > limit {
            return Err(CameraError::Protocol(format!("body larger than {limit} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}
