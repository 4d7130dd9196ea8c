//! The presign-only mode: the phone holds no S3 key at all. A broker (the product's backend;
//! `dashkeep-broker` is the reference service) authenticates the phone by its account token,
//! performs the small control requests itself (create, complete and abort a multipart upload,
//! head, list, delete) and presigns the requests that carry bytes (each part, a single PUT, a
//! GET), always inside `accounts/<the token's account>/`. The phone then sends the bytes straight
//! to the store with those URLs: the broker never carries video.
//!
//! The wire types ([`BrokerOp`] and the answers) are shared by the phone and the broker, so the
//! two sides cannot drift. Every operation is one `POST <broker>/v1/op` with a JSON [`BrokerOp`]
//! and `Authorization: Bearer <token>`; errors are a status with a [`BrokerError`] body.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::backend::{
    BackendKind, ByteStream, Listed, ObjectBackend, ObjectInfo, PresignedRequest,
};
use super::{CloudError, Secret};

/// The broker's one endpoint, under its base URL.
pub const BROKER_OP_PATH: &str = "/v1/op";

/// How long a presigned GET the phone reads with itself (a download, a sidecar) lasts.
const READ_URL_EXPIRY: Duration = Duration::from_secs(300);

/// One thing the phone asks the broker, always about a key (or prefix) in its own account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum BrokerOp {
    /// The object's size and SHA-256; answered `Option<ObjectInfo>`.
    Head {
        /// The object.
        key: String,
    },
    /// A presigned single PUT recording `sha256` (hex) in the object's metadata, bound to the
    /// body's SHA-256 (`checksum_b64`) when the store checks checksums; answered
    /// [`PresignedRequest`].
    PutUrl {
        /// The object.
        key: String,
        /// The SHA-256 (hex) to record in the metadata.
        sha256: Option<String>,
        /// The body's SHA-256, base64.
        checksum_b64: String,
    },
    /// Starts a multipart upload recording `sha256`; answered with the upload id (a string).
    CreateMultipart {
        /// The object.
        key: String,
        /// The whole object's SHA-256 (hex).
        sha256: String,
    },
    /// A presigned `UploadPart`; answered [`PresignedRequest`].
    PartUrl {
        /// The object.
        key: String,
        /// The upload.
        upload_id: String,
        /// The part, 1-based.
        part_number: u32,
        /// The part's SHA-256, base64.
        sha256_b64: String,
        /// How long the URL lasts.
        expires_secs: u64,
    },
    /// Completes the upload; answered `null`.
    Complete {
        /// The object.
        key: String,
        /// The upload.
        upload_id: String,
        /// Every part, in order.
        parts: Vec<BrokerPart>,
    },
    /// Discards the upload; answered `null`.
    Abort {
        /// The object.
        key: String,
        /// The upload.
        upload_id: String,
    },
    /// A presigned GET (a share link, or a read); answered with the URL (a string).
    GetUrl {
        /// The object.
        key: String,
        /// How long the URL lasts.
        expires_secs: u64,
    },
    /// Every object under a prefix; answered `Vec<Listed>`.
    List {
        /// The prefix.
        prefix: String,
    },
    /// Removes the object; answered `null`.
    Delete {
        /// The object.
        key: String,
    },
}

impl BrokerOp {
    /// The key or prefix the operation touches: the broker allows it only inside the account.
    pub fn key(&self) -> &str {
        match self {
            Self::Head { key }
            | Self::PutUrl { key, .. }
            | Self::CreateMultipart { key, .. }
            | Self::PartUrl { key, .. }
            | Self::Complete { key, .. }
            | Self::Abort { key, .. }
            | Self::GetUrl { key, .. }
            | Self::Delete { key } => key,
            Self::List { prefix } => prefix,
        }
    }
}

/// A part the phone sent with a presigned URL: the ETag the store answered, and its checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerPart {
    /// The ETag from the store's answer.
    pub etag: String,
    /// The part's SHA-256, base64.
    pub sha256_b64: String,
}

/// Why the broker refused or failed an operation (the body of every non-2xx answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerError {
    /// `unauthorized` (no or unknown token), `forbidden` (a key outside the account),
    /// `not_found`, `upload_gone`, `bad_request`, `store` (the store failed).
    pub code: String,
    /// What happened, for logs (never a credential).
    pub message: String,
}

/// Where the broker is and the phone's token for it: the phone's only secret.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// The broker's base URL (`https://broker.example`); plain HTTP only on loopback.
    pub url: String,
    /// The account's token, from the app's sign-in.
    pub token: Secret,
}

/// The cloud through a broker: no S3 key on the phone.
pub struct BrokerBackend {
    op_url: String,
    token: Secret,
    http: reqwest::Client,
}

impl fmt::Debug for BrokerBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BrokerBackend({})", self.op_url)
    }
}

impl BrokerBackend {
    /// Builds the client (no request yet). [`CloudError::InvalidConfig`] for a plain-HTTP
    /// broker off loopback.
    pub fn new(config: &BrokerConfig, retry: &super::RetrySettings) -> Result<Self, CloudError> {
        crate::tls::ensure_crypto_provider();
        super::s3::plain_http_endpoint(&config.url)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(retry.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| CloudError::InvalidConfig(e.to_string()))?;
        let op_url = format!("{}{BROKER_OP_PATH}", config.url.trim_end_matches('/'));
        Ok(Self { op_url, token: config.token.clone(), http })
    }

    /// Sends one operation and reads its JSON answer.
    async fn call<T: serde::de::DeserializeOwned>(&self, op: &BrokerOp) -> Result<T, CloudError> {
        let resp = self
            .http
            .post(&self.op_url)
            .bearer_auth(self.token.expose())
            .json(op)
            .send()
            .await
            .map_err(|e| CloudError::Transient(format!("broker: {e}")))?;
        let status = resp.status();
        if status.is_success() {
            return resp.json().await.map_err(|e| CloudError::Transient(format!("broker: {e}")));
        }
        let body: Option<BrokerError> = resp.json().await.ok();
        let message =
            body.map_or_else(|| status.to_string(), |b| format!("{}: {}", b.code, b.message));
        Err(status_error(status.as_u16(), message))
    }

    /// A presigned URL the broker handed out, checked like an endpoint (https, or loopback).
    fn checked(url: String) -> Result<String, CloudError> {
        super::s3::plain_http_endpoint(&url)?;
        Ok(url)
    }

    /// Sends a presigned request with `body`; returns the answer.
    async fn send_presigned(
        &self,
        request: PresignedRequest,
        body: Bytes,
    ) -> Result<reqwest::Response, CloudError> {
        let mut builder = self.http.put(Self::checked(request.url)?).body(body);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        store_answer(builder.send().await).await
    }

    /// A GET of `key` from `offset`, through a short-lived presigned URL.
    async fn get(&self, key: &str, offset: u64) -> Result<reqwest::Response, CloudError> {
        let expires_secs = READ_URL_EXPIRY.as_secs();
        let url: String = self.call(&BrokerOp::GetUrl { key: key.into(), expires_secs }).await?;
        let mut builder = self.http.get(Self::checked(url)?);
        if offset > 0 {
            builder = builder.header(http::header::RANGE, format!("bytes={offset}-"));
        }
        store_answer(builder.send().await).await
    }
}

/// The module's error for a broker's or store's HTTP status.
fn status_error(status: u16, message: String) -> CloudError {
    match status {
        401 | 403 => CloudError::Credentials(message),
        404 if message.contains("NoSuchUpload") => CloudError::UploadGone(message),
        404 => CloudError::NotFound(message),
        410 => CloudError::UploadGone(message),
        400 | 422 => CloudError::InvalidConfig(message),
        _ => CloudError::Transient(message),
    }
}

/// The store's answer to a presigned request, or its error (the S3 error code is in the body).
async fn store_answer(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<reqwest::Response, CloudError> {
    let resp = sent.map_err(|e| CloudError::Transient(format!("store: {e}")))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.text().await.unwrap_or_default();
    let message =
        format!("store answered {status}: {}", body.chars().take(300).collect::<String>());
    Err(status_error(status.as_u16(), message))
}

fn sha256_b64(data: &[u8]) -> String {
    BASE64.encode(Sha256::digest(data))
}

#[async_trait::async_trait]
impl ObjectBackend for BrokerBackend {
    fn kind(&self) -> BackendKind {
        // S3-compatible storage, reached with URLs the broker signs.
        BackendKind::S3
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, CloudError> {
        self.call(&BrokerOp::Head { key: key.into() }).await
    }

    async fn put(&self, key: &str, data: Bytes, sha256: Option<&str>) -> Result<(), CloudError> {
        let op = BrokerOp::PutUrl {
            key: key.into(),
            sha256: sha256.map(str::to_string),
            checksum_b64: sha256_b64(&data),
        };
        let request: PresignedRequest = self.call(&op).await?;
        self.send_presigned(request, data).await?;
        Ok(())
    }

    async fn create_multipart(&self, key: &str, sha256: &str) -> Result<String, CloudError> {
        self.call(&BrokerOp::CreateMultipart { key: key.into(), sha256: sha256.into() }).await
    }

    async fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        data: Bytes,
    ) -> Result<String, CloudError> {
        let sha = sha256_b64(&data);
        let request = self.presign_part(key, upload_id, part_number, &sha, READ_URL_EXPIRY).await?;
        let resp = self.send_presigned(request, data).await?;
        let etag = resp
            .headers()
            .get(http::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| CloudError::Transient("the store sent no ETag for a part".into()))?;
        Ok(self.part_id_from_etag(etag, &sha))
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        part_ids: Vec<String>,
    ) -> Result<(), CloudError> {
        let parts = part_ids
            .iter()
            .map(|id| serde_json::from_str(id))
            .collect::<Result<Vec<BrokerPart>, _>>()
            .map_err(|_| {
                CloudError::UploadGone("a recorded part id is not a broker part".into())
            })?;
        let op = BrokerOp::Complete { key: key.into(), upload_id: upload_id.into(), parts };
        self.call::<()>(&op).await
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), CloudError> {
        let op = BrokerOp::Abort { key: key.into(), upload_id: upload_id.into() };
        match self.call::<()>(&op).await {
            Ok(()) | Err(CloudError::UploadGone(_) | CloudError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn get_from(&self, key: &str, offset: u64) -> Result<ByteStream, CloudError> {
        let resp = self.get(key, offset).await?;
        let stream = resp.bytes_stream().map_err(|e| CloudError::Transient(format!("store: {e}")));
        Ok(stream.boxed())
    }

    async fn get_small(&self, key: &str, limit: u64) -> Result<Bytes, CloudError> {
        let resp = self.get(key, 0).await?;
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(CloudError::Integrity(format!("{key} is more than {limit} bytes")));
        }
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk.map_err(|e| CloudError::Transient(e.to_string()))?);
            if body.len() as u64 > limit {
                return Err(CloudError::Integrity(format!("{key} is more than {limit} bytes")));
            }
        }
        Ok(Bytes::from(body))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, CloudError> {
        self.call(&BrokerOp::List { prefix: prefix.into() }).await
    }

    async fn delete(&self, key: &str) -> Result<(), CloudError> {
        self.call::<()>(&BrokerOp::Delete { key: key.into() }).await
    }

    async fn share_url(&self, key: &str, expires_in: Duration) -> Result<String, CloudError> {
        let op = BrokerOp::GetUrl { key: key.into(), expires_secs: expires_in.as_secs() };
        Self::checked(self.call(&op).await?)
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        sha256_b64: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, CloudError> {
        let op = BrokerOp::PartUrl {
            key: key.into(),
            upload_id: upload_id.into(),
            part_number,
            sha256_b64: sha256_b64.into(),
            expires_secs: expires_in.as_secs(),
        };
        self.call(&op).await
    }

    fn part_id_from_etag(&self, etag: &str, sha256_b64: &str) -> String {
        // Opaque to the queue; the broker turns it into the store's part id on completion.
        let part = BrokerPart { etag: etag.into(), sha256_b64: sha256_b64.into() };
        serde_json::to_string(&part).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_http_broker_off_loopback_is_refused() {
        let config = |url: &str| BrokerConfig { url: url.into(), token: Secret::new("t") };
        let retry = super::super::RetrySettings::default();
        assert!(BrokerBackend::new(&config("http://127.0.0.1:8080"), &retry).is_ok());
        assert!(BrokerBackend::new(&config("https://broker.example"), &retry).is_ok());
        assert!(matches!(
            BrokerBackend::new(&config("http://broker.example"), &retry),
            Err(CloudError::InvalidConfig(_))
        ));
    }

    #[test]
    fn ops_round_trip_and_name_their_key() {
        let op = BrokerOp::PartUrl {
            key: "accounts/a/clips/k.mp4".into(),
            upload_id: "u".into(),
            part_number: 2,
            sha256_b64: "x".into(),
            expires_secs: 60,
        };
        let json = serde_json::to_string(&op).unwrap();
        assert!(json.contains(r#""op":"part_url""#), "{json}");
        assert_eq!(serde_json::from_str::<BrokerOp>(&json).unwrap(), op);
        assert_eq!(op.key(), "accounts/a/clips/k.mp4");
    }
}
