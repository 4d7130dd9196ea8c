//! S3-compatible object storage through `object_store` (SigV4, multipart, presigning), built on
//! `ring`: no hand-written signing, no aws-lc.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use http::{HeaderMap, HeaderValue, Method};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer};
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, RetryConfig,
};

use super::backend::{
    BackendKind, ByteStream, Listed, ObjectBackend, ObjectInfo, PresignedRequest,
};
use super::{CloudError, RetrySettings};

const SHA256_META: &str = "sha256";
const CHECKSUM_HEADER: &str = "x-amz-checksum-sha256";

/// A secret string that never shows in `Debug` or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the one place that signs with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where and how to reach an S3-compatible store.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// The endpoint URL (`https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`); `None`
    /// for AWS's default endpoint for the region.
    pub endpoint: Option<String>,
    /// The region (`us-east-1` for most S3-compatible servers).
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// The access key id.
    pub access_key: Secret,
    /// The secret access key.
    pub secret_key: Secret,
    /// A session token, with short-lived (STS) credentials.
    pub session_token: Option<Secret>,
    /// Where fresh account-scoped temporary credentials come from (the app's sign-in); when
    /// set, it replaces the three fields above (which may then be empty), and credentials are
    /// refreshed before they expire.
    pub credential_source: Option<Arc<dyn super::credentials::CredentialSource>>,
    /// Path-style URLs (`endpoint/bucket/key`) rather than virtual-hosted (`bucket.endpoint/key`);
    /// most self-hosted servers need it.
    pub path_style: bool,
    /// Sends each part with an `x-amz-checksum-sha256` the store verifies. Off only for stores
    /// that reject flexible checksums.
    pub part_checksums: bool,
}

/// S3-compatible object storage.
pub struct S3Backend {
    store: Arc<AmazonS3>,
    checksums: bool,
}

impl fmt::Debug for S3Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // AmazonS3's Display names the bucket only, never a credential.
        write!(f, "S3Backend({})", self.store)
    }
}

impl S3Backend {
    /// Builds the client. No request is made until it is used.
    pub fn new(config: &S3Config, retry: &RetrySettings) -> Result<Self, CloudError> {
        crate::tls::ensure_crypto_provider();
        let plain_http = match &config.endpoint {
            Some(endpoint) => plain_http_endpoint(endpoint)?,
            None => false,
        };
        let options = ClientOptions::new()
            .with_allow_http(plain_http)
            .with_timeout(retry.request_timeout)
            .with_connect_timeout(Duration::from_secs(10));
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: retry.initial_backoff,
                max_backoff: retry.max_backoff,
                base: 2.0,
            },
            max_retries: retry.store_retries,
            retry_timeout: retry.retry_timeout,
        };
        let mut builder = AmazonS3Builder::new()
            .with_region(&config.region)
            .with_bucket_name(&config.bucket)
            .with_access_key_id(config.access_key.expose())
            .with_secret_access_key(config.secret_key.expose())
            .with_virtual_hosted_style_request(!config.path_style)
            .with_client_options(options)
            .with_retry(retry);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(token) = &config.session_token {
            builder = builder.with_token(token.expose());
        }
        if let Some(source) = &config.credential_source {
            let refreshing = super::credentials::Refreshing::new(Arc::clone(source));
            builder = builder.with_credentials(Arc::new(refreshing));
        }
        if config.part_checksums {
            builder = builder.with_checksum_algorithm(object_store::aws::Checksum::SHA256);
        }
        let store = builder.build().map_err(|e| CloudError::InvalidConfig(e.to_string()))?;
        Ok(Self { store: Arc::new(store), checksums: config.part_checksums })
    }
}

impl S3Backend {
    /// A presigned single PUT of `key` for someone holding no key (a broker's phone): records
    /// `sha256` (hex) in the object's metadata, is bound to the body's SHA-256 when checksums are
    /// on, and serves `.html` as HTML, like [`ObjectBackend::put`].
    pub async fn presign_put(
        &self,
        key: &str,
        sha256: Option<&str>,
        checksum_b64: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, CloudError> {
        let mut headers = self.checksum_header(checksum_b64);
        if let Some(sha) = sha256 {
            headers.push((format!("x-amz-meta-{SHA256_META}"), sha.to_string()));
        }
        if key.ends_with(".html") {
            headers.push(("content-type".into(), "text/html; charset=utf-8".into()));
        }
        self.presign_put_with(key, &[], headers, expires_in).await
    }

    /// The checksum header a body must carry, when checksums are on.
    fn checksum_header(&self, sha256_b64: &str) -> Vec<(String, String)> {
        if self.checksums {
            vec![(CHECKSUM_HEADER.to_string(), sha256_b64.to_string())]
        } else {
            Vec::new()
        }
    }

    /// A presigned PUT with `query` signed in and `headers` bound to the signature.
    async fn presign_put_with(
        &self,
        key: &str,
        query: &[(&str, String)],
        headers: Vec<(String, String)>,
        expires_in: Duration,
    ) -> Result<PresignedRequest, CloudError> {
        let mut options = SignedUrlOptions::default()
            .with_query(query.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let mut map = HeaderMap::new();
        for (name, value) in &headers {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| CloudError::InvalidConfig(e.to_string()))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| CloudError::InvalidConfig(e.to_string()))?;
            map.insert(name, value);
        }
        options.signed_headers = map;
        let url = self
            .store
            .signed_url_opts(Method::PUT, &path(key)?, expires_in, &options)
            .await
            .map_err(map_err)?;
        Ok(PresignedRequest { url: url.to_string(), headers })
    }
}

/// Whether `endpoint` (an S3 endpoint, a broker, a URL a broker presigned) is plain HTTP, which
/// is allowed on loopback only (a local test server): anywhere else the signatures, tokens and
/// clips would cross the network in clear.
pub(crate) fn plain_http_endpoint(endpoint: &str) -> Result<bool, CloudError> {
    let url = reqwest::Url::parse(endpoint)
        .map_err(|e| CloudError::InvalidConfig(format!("bad endpoint {endpoint:?}: {e}")))?;
    match url.scheme() {
        "https" => Ok(false),
        "http" if is_loopback(&url) => Ok(true),
        "http" => Err(CloudError::InvalidConfig(format!(
            "plain HTTP endpoint {endpoint:?}: only https, or http on loopback"
        ))),
        other => Err(CloudError::InvalidConfig(format!("endpoint scheme {other:?}"))),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

fn path(key: &str) -> Result<Path, CloudError> {
    Path::parse(key).map_err(|e| CloudError::InvalidConfig(format!("bad object key: {e}")))
}

fn sha_attributes(sha256: Option<&str>) -> Attributes {
    let mut attributes = Attributes::new();
    if let Some(sha) = sha256 {
        attributes.insert(Attribute::Metadata(SHA256_META.into()), sha.to_string().into());
    }
    attributes
}

/// Maps an `object_store` error to the module's: not found, credentials, or transient.
pub(crate) fn map_err(e: object_store::Error) -> CloudError {
    use object_store::Error as E;
    match e {
        E::NotFound { path, .. } => CloudError::NotFound(path),
        E::PermissionDenied { source, .. } | E::Unauthenticated { source, .. } => {
            CloudError::Credentials(source.to_string())
        }
        other => {
            let text = other.to_string();
            if text.contains("NoSuchUpload") || text.contains("InvalidPart") {
                CloudError::UploadGone(text)
            } else if text.contains("InvalidAccessKeyId")
                || text.contains("SignatureDoesNotMatch")
                || text.contains("AccessDenied")
            {
                CloudError::Credentials(text)
            } else {
                CloudError::Transient(text)
            }
        }
    }
}

/// A multipart part or upload that is gone answers 404: the upload is stale.
fn gone(e: object_store::Error) -> CloudError {
    match map_err(e) {
        CloudError::NotFound(what) => CloudError::UploadGone(what),
        other => other,
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[async_trait::async_trait]
impl ObjectBackend for S3Backend {
    fn kind(&self) -> BackendKind {
        BackendKind::S3
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, CloudError> {
        let options = GetOptions { head: true, ..Default::default() };
        match self.store.get_opts(&path(key)?, options).await {
            Ok(r) => {
                let sha256 = r
                    .attributes
                    .get(&Attribute::Metadata(SHA256_META.into()))
                    .map(|v| v.as_ref().to_string());
                Ok(Some(ObjectInfo { size: r.meta.size, sha256 }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    async fn put(&self, key: &str, data: Bytes, sha256: Option<&str>) -> Result<(), CloudError> {
        let mut attributes = sha_attributes(sha256);
        // A share page must be served as HTML to open in a browser.
        if key.ends_with(".html") {
            attributes.insert(Attribute::ContentType, "text/html; charset=utf-8".into());
        }
        let options = PutOptions { attributes, ..Default::default() };
        self.store.put_opts(&path(key)?, PutPayload::from(data), options).await.map_err(map_err)?;
        Ok(())
    }

    async fn create_multipart(&self, key: &str, sha256: &str) -> Result<String, CloudError> {
        let options =
            PutMultipartOptions { attributes: sha_attributes(Some(sha256)), ..Default::default() };
        self.store.create_multipart_opts(&path(key)?, options).await.map_err(map_err)
    }

    async fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        data: Bytes,
    ) -> Result<String, CloudError> {
        let idx = usize::try_from(part_number.saturating_sub(1)).unwrap_or(0);
        let id = upload_id.to_string();
        let part = self
            .store
            .put_part(&path(key)?, &id, idx, PutPayload::from(data))
            .await
            .map_err(gone)?;
        Ok(part.content_id)
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        part_ids: Vec<String>,
    ) -> Result<(), CloudError> {
        let parts = part_ids.into_iter().map(|content_id| PartId { content_id }).collect();
        self.store
            .complete_multipart(&path(key)?, &upload_id.to_string(), parts)
            .await
            .map_err(gone)?;
        Ok(())
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), CloudError> {
        match self.store.abort_multipart(&path(key)?, &upload_id.to_string()).await.map_err(gone) {
            Ok(()) | Err(CloudError::UploadGone(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn get_from(&self, key: &str, offset: u64) -> Result<ByteStream, CloudError> {
        let options = GetOptions { range: Some(GetRange::Offset(offset)), ..Default::default() };
        let result = self.store.get_opts(&path(key)?, options).await.map_err(map_err)?;
        Ok(result.into_stream().map_err(map_err).boxed())
    }

    async fn get_small(&self, key: &str, limit: u64) -> Result<Bytes, CloudError> {
        let result = self.store.get(&path(key)?).await.map_err(map_err)?;
        if result.meta.size > limit {
            return Err(CloudError::Integrity(format!(
                "{key} is {} bytes, more than {limit}",
                result.meta.size
            )));
        }
        result.bytes().await.map_err(map_err)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, CloudError> {
        let prefix = path(prefix)?;
        self.store
            .list(Some(&prefix))
            .map_ok(|m| Listed { key: m.location.to_string(), size: m.size })
            .map_err(map_err)
            .try_collect()
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), CloudError> {
        match self.store.delete(&path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(map_err(e)),
        }
    }

    async fn share_url(&self, key: &str, expires_in: Duration) -> Result<String, CloudError> {
        let url =
            self.store.signed_url(Method::GET, &path(key)?, expires_in).await.map_err(map_err)?;
        Ok(url.to_string())
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        sha256_b64: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, CloudError> {
        let query = [("partNumber", part_number.to_string()), ("uploadId", upload_id.into())];
        let headers = self.checksum_header(sha256_b64);
        self.presign_put_with(key, &query, headers, expires_in).await
    }

    fn part_id_from_etag(&self, etag: &str, sha256_b64: &str) -> String {
        if self.checksums {
            // The form object_store itself records for a part sent with a checksum.
            format!(
                "<PartMetadata><e_tag>{}</e_tag><checksum_sha256>{}</checksum_sha256></PartMetadata>",
                xml_escape(etag),
                xml_escape(sha256_b64)
            )
        } else {
            etag.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(!plain_http_endpoint("https://s3.example.com").unwrap());
        for ok in ["http://127.0.0.1:9000", "http://[::1]:9000", "http://localhost:9000"] {
            assert!(plain_http_endpoint(ok).unwrap(), "{ok}");
        }
        for bad in ["http://192.168.1.10:9000", "http://s3.example.com", "ftp://x", "nonsense"] {
            assert!(matches!(plain_http_endpoint(bad), Err(CloudError::InvalidConfig(_))), "{bad}");
        }
    }
}
