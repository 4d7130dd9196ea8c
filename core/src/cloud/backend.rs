//! The one trait every cloud store implements, and what it says about objects.

use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;

use super::CloudError;

/// Which kind of store a backend is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// A directory on this machine (the embedded default: no set-up).
    Local,
    /// S3-compatible object storage.
    S3,
}

/// What the store says about an object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectInfo {
    /// Its size.
    pub size: u64,
    /// The SHA-256 (hex) recorded in its metadata when it was written, if any.
    pub sha256: Option<String>,
}

/// An object name and size from a listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Listed {
    /// Its key.
    pub key: String,
    /// Its size.
    pub size: u64,
}

/// A request the platform sends itself: a presigned URL and the headers it must carry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PresignedRequest {
    /// The URL, valid until it expires; it authorises only this request.
    pub url: String,
    /// Headers bound to the signature; the request must carry exactly these.
    pub headers: Vec<(String, String)>,
}

/// A stream of an object's bytes.
pub type ByteStream = BoxStream<'static, Result<Bytes, CloudError>>;

/// An object store the cloud module can keep clips in. Keys are `/`-separated, built only by the
/// cloud module from validated parts. Multipart upload ids and part ids are opaque strings the
/// module persists, so an upload resumes across restarts.
#[async_trait::async_trait]
pub trait ObjectBackend: Send + Sync + std::fmt::Debug + 'static {
    /// Which kind of store this is.
    fn kind(&self) -> BackendKind;

    /// The object's size and recorded SHA-256, or `None` if it does not exist.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, CloudError>;

    /// Writes a small object whole (a sidecar, or a clip below one part), recording `sha256`.
    async fn put(&self, key: &str, data: Bytes, sha256: Option<&str>) -> Result<(), CloudError>;

    /// Starts a multipart upload whose object records `sha256`; returns its id.
    async fn create_multipart(&self, key: &str, sha256: &str) -> Result<String, CloudError>;

    /// Sends part `part_number` (1-based); returns the id completing the upload needs.
    /// [`CloudError::UploadGone`] when the upload no longer exists.
    async fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        data: Bytes,
    ) -> Result<String, CloudError>;

    /// Completes the upload from every part id, in part order.
    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        part_ids: Vec<String>,
    ) -> Result<(), CloudError>;

    /// Discards an upload and its parts. An upload already gone is not an error.
    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), CloudError>;

    /// The object's bytes from `offset` to its end.
    async fn get_from(&self, key: &str, offset: u64) -> Result<ByteStream, CloudError>;

    /// A whole small object, refused above `limit` bytes.
    async fn get_small(&self, key: &str, limit: u64) -> Result<Bytes, CloudError>;

    /// Every object under `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, CloudError>;

    /// Removes an object. A missing object is not an error.
    async fn delete(&self, key: &str) -> Result<(), CloudError>;

    /// A URL anyone holding it can fetch the object with, until `expires_in` has passed.
    async fn share_url(&self, key: &str, expires_in: Duration) -> Result<String, CloudError>;

    /// A presigned `UploadPart` request for the platform to send, bound to the part's
    /// SHA-256 (base64).
    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        sha256_b64: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, CloudError>;

    /// The part id to complete with, from the ETag the platform got for a part it sent.
    fn part_id_from_etag(&self, etag: &str, sha256_b64: &str) -> String;
}
