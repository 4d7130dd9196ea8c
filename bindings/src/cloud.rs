//! The cloud: settings to open it with, the records and events of its upload queue, and the
//! `Companion` methods that forward to `dashkeep_core::cloud::CloudService`. Every method throws
//! `CompanionError::Cloud` with `CloudErrorKind::NotConfigured` when the companion was opened
//! without a cloud.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use dashkeep_core::catalog as core_catalog;
use dashkeep_core::cloud as core_cloud;

use crate::companion::Companion;
use crate::errors::{CompanionError, PlatformError};
use crate::runtime::run;

/// A credential. Opaque on purpose: neither Rust's `Debug`, Kotlin's `toString` nor Swift's
/// `description` ever show its value.
#[derive(uniffi::Object)]
pub struct CloudSecret {
    value: String,
}

#[uniffi::export]
impl CloudSecret {
    /// Wraps a credential.
    #[uniffi::constructor]
    pub fn new(value: String) -> Arc<Self> {
        Arc::new(Self { value })
    }
}

impl fmt::Debug for CloudSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CloudSecret(***)")
    }
}

impl CloudSecret {
    fn to_core(&self) -> core_cloud::Secret {
        core_cloud::Secret::new(self.value.clone())
    }
}

/// Which store clips go to.
#[derive(Debug, uniffi::Enum)]
pub enum CloudBackendSettings {
    /// A directory (tests, or a synced folder).
    Local {
        /// The directory.
        root: String,
    },
    /// S3-compatible object storage.
    S3 {
        /// The endpoint URL; `null` for AWS's endpoint of the region.
        endpoint: Option<String>,
        /// The region (`us-east-1` for most S3-compatible servers).
        region: String,
        /// The bucket.
        bucket: String,
        /// The access key id.
        access_key: Arc<CloudSecret>,
        /// The secret access key.
        secret_key: Arc<CloudSecret>,
        /// A session token, with short-lived (STS) credentials.
        session_token: Option<Arc<CloudSecret>>,
        /// Path-style URLs (`endpoint/bucket/key`); most self-hosted servers need it.
        path_style: bool,
    },
    /// S3-compatible object storage with short-lived, account-scoped credentials (STS) that
    /// the app's sign-in hands out through `credentials`: no long-lived key on the phone.
    S3Temporary {
        /// The endpoint URL; `null` for AWS's endpoint of the region.
        endpoint: Option<String>,
        /// The region.
        region: String,
        /// The bucket.
        bucket: String,
        /// Where fresh credentials come from; asked when none are held or they are within a
        /// minute of expiring.
        credentials: Arc<dyn CredentialSource>,
        /// Path-style URLs (`endpoint/bucket/key`); most self-hosted servers need it.
        path_style: bool,
    },
    /// The presign-only mode: a broker (the product's backend) signs every request inside the
    /// account's prefix; the phone holds only the account's token, no S3 key at all.
    Broker {
        /// The broker's base URL (`https://…`; plain HTTP only on loopback).
        url: String,
        /// The account's token.
        token: Arc<CloudSecret>,
    },
}

/// Short-lived credentials for one account's prefix (STS `AssumeRole`/`AssumeRoleWithWebIdentity`
/// with a policy on `accounts/<id>/`), as the app's sign-in service returns them.
#[derive(Debug, uniffi::Record)]
pub struct TemporaryCloudCredentials {
    /// The access key id.
    pub access_key: Arc<CloudSecret>,
    /// The secret access key.
    pub secret_key: Arc<CloudSecret>,
    /// The session token.
    pub session_token: Arc<CloudSecret>,
    /// When they stop working, ms since the epoch.
    pub expires_at_ms: i64,
}

/// The app's provider of temporary credentials (its sign-in, which calls STS for it): the core
/// calls `refresh` when it holds none or they are about to expire. Throw when the user must
/// sign in again: the upload queue then stops with `CredentialsRefused`.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait CredentialSource: Send + Sync {
    /// Fresh credentials for the signed-in account.
    async fn refresh(&self) -> Result<TemporaryCloudCredentials, PlatformError>;
}

impl fmt::Debug for dyn CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialSource(app)")
    }
}

/// Adapts the app's provider to the core's `CredentialSource`.
#[derive(Debug)]
struct ForeignCredentials(Arc<dyn CredentialSource>);

#[async_trait::async_trait]
impl core_cloud::CredentialSource for ForeignCredentials {
    async fn fetch(&self) -> Result<core_cloud::TemporaryCredentials, core_cloud::CloudError> {
        let fresh = self
            .0
            .refresh()
            .await
            .map_err(|e| core_cloud::CloudError::Credentials(e.to_string()))?;
        Ok(core_cloud::TemporaryCredentials {
            access_key: fresh.access_key.to_core(),
            secret_key: fresh.secret_key.to_core(),
            session_token: fresh.session_token.to_core(),
            expires_at_ms: fresh.expires_at_ms,
        })
    }
}

/// How to open the cloud. Optional fields keep the core's defaults.
#[derive(Debug, uniffi::Record)]
pub struct CloudSettings {
    /// The store.
    pub backend: CloudBackendSettings,
    /// The account whose clips these are (letters, digits, `_`, `-`).
    pub account: String,
    /// Multipart part size in bytes (at least 5 MiB; default 8 MiB).
    #[uniffi(default)]
    pub part_size_bytes: Option<u64>,
    /// Parts in flight at once (default 3).
    #[uniffi(default)]
    pub concurrency: Option<u32>,
    /// Default lifetime of a share link, seconds (default 7 days).
    #[uniffi(default)]
    pub share_expiry_secs: Option<u64>,
    /// Lifetime of a presigned part URL handed to the platform, seconds (default 1 hour).
    #[uniffi(default)]
    pub part_url_expiry_secs: Option<u64>,
    /// The platform's scheduler (Android's upload job, iOS background tasks) runs the upload
    /// queue with `runUploadQueue`; the core starts no upload worker of its own (default false).
    #[uniffi(default = false)]
    pub uploads_by_platform: bool,
}

impl From<CloudSettings> for core_cloud::CloudConfig {
    fn from(s: CloudSettings) -> Self {
        let backend = match s.backend {
            CloudBackendSettings::Local { root } => {
                core_cloud::BackendConfig::Local { root: root.into() }
            }
            CloudBackendSettings::S3 {
                endpoint,
                region,
                bucket,
                access_key,
                secret_key,
                session_token,
                path_style,
            } => core_cloud::BackendConfig::S3(core_cloud::S3Config {
                endpoint,
                region,
                bucket,
                access_key: access_key.to_core(),
                secret_key: secret_key.to_core(),
                session_token: session_token.map(|t| t.to_core()),
                credential_source: None,
                path_style,
                part_checksums: true,
            }),
            CloudBackendSettings::S3Temporary {
                endpoint,
                region,
                bucket,
                credentials,
                path_style,
            } => core_cloud::BackendConfig::S3(core_cloud::S3Config {
                endpoint,
                region,
                bucket,
                access_key: core_cloud::Secret::new(""),
                secret_key: core_cloud::Secret::new(""),
                session_token: None,
                credential_source: Some(Arc::new(ForeignCredentials(credentials))),
                path_style,
                part_checksums: true,
            }),
            CloudBackendSettings::Broker { url, token } => {
                core_cloud::BackendConfig::Broker(core_cloud::BrokerConfig {
                    url,
                    token: token.to_core(),
                })
            }
        };
        let mut config = Self::new(backend, s.account);
        if let Some(v) = s.part_size_bytes {
            config.part_size = v;
        }
        if let Some(v) = s.concurrency {
            config.concurrency = v as usize;
        }
        if let Some(v) = s.share_expiry_secs {
            config.share_expiry = Duration::from_secs(v);
        }
        if let Some(v) = s.part_url_expiry_secs {
            config.part_url_expiry = Duration::from_secs(v);
        }
        config.uploads_by_platform = s.uploads_by_platform;
        config
    }
}

/// The kind of network the phone is on, as the platform reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NetworkKind {
    /// WiFi with internet.
    Wifi,
    /// The dash cam's own WiFi: no internet.
    CameraWifi,
    /// Mobile data.
    Cellular,
    /// Offline.
    None,
}

impl From<NetworkKind> for core_cloud::NetworkKind {
    fn from(k: NetworkKind) -> Self {
        match k {
            NetworkKind::Wifi => Self::Wifi,
            NetworkKind::CameraWifi => Self::CameraWifi,
            NetworkKind::Cellular => Self::Cellular,
            NetworkKind::None => Self::None,
        }
    }
}

impl From<core_cloud::NetworkKind> for NetworkKind {
    fn from(k: core_cloud::NetworkKind) -> Self {
        match k {
            core_cloud::NetworkKind::Wifi => Self::Wifi,
            core_cloud::NetworkKind::CameraWifi => Self::CameraWifi,
            core_cloud::NetworkKind::Cellular => Self::Cellular,
            core_cloud::NetworkKind::None => Self::None,
        }
    }
}

/// When the queue may upload: the user's choice, persisted by the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum UploadPolicy {
    /// Only on unmetered WiFi.
    WifiOnly,
    /// On WiFi and on mobile data.
    WifiAndCellular,
}

impl From<UploadPolicy> for core_cloud::UploadPolicy {
    fn from(p: UploadPolicy) -> Self {
        match p {
            UploadPolicy::WifiOnly => Self::WifiOnly,
            UploadPolicy::WifiAndCellular => Self::WifiAndCellular,
        }
    }
}

impl From<core_cloud::UploadPolicy> for UploadPolicy {
    fn from(p: core_cloud::UploadPolicy) -> Self {
        match p {
            core_cloud::UploadPolicy::WifiOnly => Self::WifiOnly,
            core_cloud::UploadPolicy::WifiAndCellular => Self::WifiAndCellular,
        }
    }
}

/// Where a clip's upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum UploadState {
    /// Waiting for a network the policy allows.
    Queued,
    /// Part way; some parts may be in the cloud already.
    Uploading,
    /// In the cloud, verified.
    Uploaded,
    /// It cannot go without the user (file missing or changed).
    Failed,
}

impl From<core_catalog::UploadState> for UploadState {
    fn from(s: core_catalog::UploadState) -> Self {
        match s {
            core_catalog::UploadState::Queued => Self::Queued,
            core_catalog::UploadState::Uploading => Self::Uploading,
            core_catalog::UploadState::Uploaded => Self::Uploaded,
            core_catalog::UploadState::Failed => Self::Failed,
        }
    }
}

/// What the cloud tells the UI (inside `CompanionEvent::Cloud`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CloudEvent {
    /// A clip's upload changed state.
    UploadStateChanged {
        /// The clip.
        clip_id: i64,
        /// Its new state.
        state: UploadState,
    },
    /// Bytes of a clip in the cloud so far.
    UploadProgress {
        /// The clip.
        clip_id: i64,
        /// Bytes done.
        bytes_done: u64,
        /// Bytes in all.
        bytes_total: u64,
    },
    /// A transfer stopped because the network changed to one the policy forbids; it resumes
    /// when an allowed network comes back.
    UploadPaused {
        /// The clip.
        clip_id: i64,
    },
    /// A transfer failed and will be retried.
    UploadFailed {
        /// The clip.
        clip_id: i64,
        /// Why, in words.
        error: String,
    },
    /// The queue stopped: the store refused the credentials (sign in again).
    QueueStopped {
        /// Why, in words.
        error: String,
    },
    /// The user deleted a clip; `cloud_removed` is false while its deletion waits for a network.
    Deleted {
        /// The clip.
        clip_id: i64,
        /// Whether its cloud copy is gone already.
        cloud_removed: bool,
    },
    /// A clip was downloaded to the phone.
    Downloaded {
        /// The clip.
        clip_id: i64,
    },
}

impl From<core_cloud::CloudEvent> for CloudEvent {
    fn from(e: core_cloud::CloudEvent) -> Self {
        use core_cloud::CloudEvent as E;
        match e {
            E::StateChanged { clip_id, state } => {
                Self::UploadStateChanged { clip_id, state: state.into() }
            }
            E::Progress { clip_id, bytes_done, bytes_total } => {
                Self::UploadProgress { clip_id, bytes_done, bytes_total }
            }
            E::Paused { clip_id } => Self::UploadPaused { clip_id },
            E::Failed { clip_id, error } => Self::UploadFailed { clip_id, error },
            E::QueueStopped { error } => Self::QueueStopped { error },
            E::Deleted { clip_id, cloud_removed } => Self::Deleted { clip_id, cloud_removed },
            E::Downloaded { clip_id } => Self::Downloaded { clip_id },
        }
    }
}

/// Which kind of store the cloud is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CloudBackendKind {
    /// A local directory.
    Local,
    /// S3-compatible storage.
    S3,
}

impl From<core_cloud::BackendKind> for CloudBackendKind {
    fn from(k: core_cloud::BackendKind) -> Self {
        match k {
            core_cloud::BackendKind::Local => Self::Local,
            core_cloud::BackendKind::S3 => Self::S3,
        }
    }
}

/// The cloud as the status screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CloudStatus {
    /// The store.
    pub backend: CloudBackendKind,
    /// The account.
    pub account: String,
    /// The network, as last reported.
    pub network: NetworkKind,
    /// Whether that network is metered.
    pub metered: bool,
    /// The user's policy.
    pub policy: UploadPolicy,
    /// Whether the queue may upload now.
    pub uploading_allowed: bool,
    /// Clips waiting.
    pub queued: u64,
    /// Clips part way.
    pub uploading: u64,
    /// Clips in the cloud.
    pub uploaded: u64,
    /// Clips that need the user.
    pub failed: u64,
    /// Bytes still to send.
    pub bytes_pending: u64,
    /// Deletions waiting for a network.
    pub deletions_pending: u64,
    /// Why the queue stopped (refused credentials), until it runs again.
    pub stopped: Option<String>,
}

impl From<core_cloud::CloudStatus> for CloudStatus {
    fn from(s: core_cloud::CloudStatus) -> Self {
        Self {
            backend: s.backend.into(),
            account: s.account,
            network: s.network.kind.into(),
            metered: s.network.metered,
            policy: s.policy.into(),
            uploading_allowed: s.uploading_allowed,
            queued: s.queued as u64,
            uploading: s.uploading as u64,
            uploaded: s.uploaded as u64,
            failed: s.failed as u64,
            bytes_pending: s.bytes_pending,
            deletions_pending: s.deletions_pending as u64,
            stopped: s.stopped,
        }
    }
}

/// What one run of the upload queue did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QueueReport {
    /// Clips sent and verified.
    pub uploaded: u64,
    /// Clips the cloud had already (same SHA-256).
    pub already_in_cloud: u64,
    /// Clips left for later (network forbids, or the platform moves their bytes).
    pub deferred: u64,
    /// Clips that failed this time.
    pub failed: u64,
    /// Deletions applied to the cloud.
    pub deletions_applied: u64,
}

impl From<core_cloud::QueueReport> for QueueReport {
    fn from(r: core_cloud::QueueReport) -> Self {
        Self {
            uploaded: r.uploaded as u64,
            already_in_cloud: r.already_in_cloud as u64,
            deferred: r.deferred as u64,
            failed: r.failed as u64,
            deletions_applied: r.deletions_applied as u64,
        }
    }
}

/// How one clip's upload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum UploadOutcome {
    /// Sent and verified; `bytes_sent` counts only this run's parts.
    Uploaded {
        /// Bytes sent now.
        bytes_sent: u64,
    },
    /// The cloud had it already.
    AlreadyInCloud,
}

impl From<core_cloud::UploadOutcome> for UploadOutcome {
    fn from(o: core_cloud::UploadOutcome) -> Self {
        match o {
            core_cloud::UploadOutcome::Uploaded { bytes_sent } => Self::Uploaded { bytes_sent },
            core_cloud::UploadOutcome::AlreadyInCloud => Self::AlreadyInCloud,
        }
    }
}

/// What a sync from the cloud found.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Clips added (cloud residency only).
    pub added: u64,
    /// Clips already known, or deleted by the user (never brought back).
    pub skipped: u64,
    /// Objects whose sidecar was missing, unreadable or did not match.
    pub invalid: u64,
}

impl From<core_cloud::SyncReport> for SyncReport {
    fn from(r: core_cloud::SyncReport) -> Self {
        Self { added: r.added as u64, skipped: r.skipped as u64, invalid: r.invalid as u64 }
    }
}

/// What deleting a clip did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct DeleteOutcome {
    /// The phone's copy was removed.
    pub removed_from_phone: bool,
    /// The cloud's copy is gone; false while its deletion waits for a network.
    pub removed_from_cloud: bool,
}

impl From<core_cloud::DeleteOutcome> for DeleteOutcome {
    fn from(d: core_cloud::DeleteOutcome) -> Self {
        Self { removed_from_phone: d.removed_from_phone, removed_from_cloud: d.removed_from_cloud }
    }
}

/// One HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A presigned request the platform sends itself, exactly as given.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PartRequest {
    /// The URL; it authorises only this request, until it expires.
    pub url: String,
    /// The HTTP method: the core presigns part uploads as `PUT`.
    pub method: String,
    /// Headers bound to the signature; send exactly these.
    pub headers: Vec<HttpHeader>,
}

/// One part of a platform-moved upload.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PlatformPart {
    /// 1-based part number.
    pub part_number: u32,
    /// First byte of the part in the clip file.
    pub offset: u64,
    /// Its length.
    pub length: u64,
    /// How to send it; `null` when the part is in the cloud already.
    pub request: Option<PartRequest>,
}

/// A multipart upload the platform carries out (iOS background `URLSession`, Android
/// `WorkManager`): send each part's byte range of `file` with its request, report each ETag with
/// `platformPartDone`, then call `completePlatformUpload`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PlatformPlan {
    /// The clip.
    pub clip_id: i64,
    /// The clip file on the phone.
    pub file: String,
    /// Its size.
    pub size: u64,
    /// The cloud has it already: nothing to send.
    pub already_uploaded: bool,
    /// Every part; those still to send carry a request.
    pub parts: Vec<PlatformPart>,
}

impl From<core_cloud::PlatformPlan> for PlatformPlan {
    fn from(p: core_cloud::PlatformPlan) -> Self {
        Self {
            clip_id: p.clip_id,
            file: p.file.display().to_string(),
            size: p.size,
            already_uploaded: p.already_uploaded,
            parts: p
                .parts
                .into_iter()
                .map(|part| PlatformPart {
                    part_number: part.part_number,
                    offset: part.offset,
                    length: part.length,
                    request: part.request.map(|r| PartRequest {
                        url: r.url,
                        method: "PUT".to_string(),
                        headers: r
                            .headers
                            .into_iter()
                            .map(|(name, value)| HttpHeader { name, value })
                            .collect(),
                    }),
                })
                .collect(),
        }
    }
}

impl Companion {
    /// The cloud service, or `NotConfigured`.
    fn cloud(&self) -> Result<core_cloud::CloudService, CompanionError> {
        self.inner.cloud().cloned().ok_or_else(CompanionError::cloud_not_configured)
    }
}

/// Runs a cloud call on the bindings' runtime and converts its result.
async fn call<T, U, F, Fut>(cloud: core_cloud::CloudService, f: F) -> Result<U, CompanionError>
where
    T: Send + 'static,
    U: From<T>,
    F: FnOnce(core_cloud::CloudService) -> Fut,
    Fut: Future<Output = Result<T, core_cloud::CloudError>> + Send + 'static,
{
    run(f(cloud)).await.map(U::from).map_err(CompanionError::from)
}

#[uniffi::export]
impl Companion {
    /// Whether the companion was opened with a cloud.
    pub fn has_cloud(&self) -> bool {
        self.inner.cloud().is_some()
    }

    /// The platform reports the network (at start and on every change). A transfer the new
    /// network forbids stops at once and resumes when an allowed one comes back.
    pub fn set_network(&self, kind: NetworkKind, metered: bool) -> Result<(), CompanionError> {
        let cloud = self.cloud()?;
        cloud.set_network(core_cloud::NetworkState { kind: kind.into(), metered });
        Ok(())
    }

    /// Sets and persists the user's upload policy; transfers it forbids stop at once.
    pub async fn set_upload_policy(&self, policy: UploadPolicy) -> Result<(), CompanionError> {
        call(self.cloud()?, move |c| async move { c.set_policy(policy.into()).await }).await
    }

    /// The cloud as the status screen shows it.
    pub async fn cloud_status(&self) -> Result<CloudStatus, CompanionError> {
        call(self.cloud()?, |c| async move { c.status().await }).await
    }

    /// "Send now": queues the clip if needed and uploads it at once; with `allow_cellular` it may
    /// use mobile data whatever the policy.
    pub async fn upload_now(
        &self,
        clip_id: i64,
        allow_cellular: bool,
    ) -> Result<UploadOutcome, CompanionError> {
        call(self.cloud()?, move |c| async move { c.upload_now(clip_id, allow_cellular).await })
            .await
    }

    /// Runs the upload queue now: pending deletions, then every queued clip the network and
    /// policy allow. (A background worker also runs it whenever something changes.)
    pub async fn run_upload_queue(&self) -> Result<QueueReport, CompanionError> {
        call(self.cloud()?, |c| async move { c.run_queue().await }).await
    }

    /// A link to an uploaded clip: a presigned URL valid `expiry_secs` (default from the cloud
    /// settings) on S3, a `file://` URL on a local cloud.
    pub async fn share_clip(
        &self,
        clip_id: i64,
        expiry_secs: Option<u64>,
    ) -> Result<String, CompanionError> {
        let expiry = expiry_secs.map(Duration::from_secs);
        call(self.cloud()?, move |c| async move { c.share_url(clip_id, expiry).await }).await
    }

    /// Deletes a clip for good: from the phone at once, and from the cloud now or, offline, as
    /// soon as a network allows. A later sync never brings it back. Works without a cloud too
    /// (the phone's copy only).
    pub async fn delete_clip(&self, clip_id: i64) -> Result<DeleteOutcome, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let outcome = run(async move { inner.delete_clip(clip_id).await }).await?;
        Ok(outcome.into())
    }

    /// After a reinstall or on another phone: adds the account's clips the phone does not know,
    /// with a cloud residency only.
    pub async fn sync_from_cloud(&self) -> Result<SyncReport, CompanionError> {
        call(self.cloud()?, |c| async move { c.sync_from_cloud().await }).await
    }

    /// Downloads a clip from the cloud to the phone (resumable, verified). Returns its path.
    pub async fn download_clip(&self, clip_id: i64) -> Result<String, CompanionError> {
        let path = call::<_, std::path::PathBuf, _, _>(self.cloud()?, move |c| async move {
            c.download(clip_id).await
        })
        .await?;
        Ok(path.display().to_string())
    }

    /// Platform mode, step 1: the parts of the clip's upload with presigned requests for those
    /// still to send. Call again for fresh URLs after they expire or after `UploadGone`.
    pub async fn plan_platform_upload(&self, clip_id: i64) -> Result<PlatformPlan, CompanionError> {
        call(self.cloud()?, move |c| async move { c.plan_platform_upload(clip_id).await }).await
    }

    /// Platform mode, step 2: the platform sent part `part_number` and the store answered `etag`.
    pub async fn platform_part_done(
        &self,
        clip_id: i64,
        part_number: u32,
        etag: String,
    ) -> Result<(), CompanionError> {
        call(self.cloud()?, move |c| async move {
            c.platform_part_done(clip_id, part_number, etag).await
        })
        .await
    }

    /// Platform mode, step 3: completes the upload once every part is reported, and verifies it.
    pub async fn complete_platform_upload(
        &self,
        clip_id: i64,
    ) -> Result<UploadOutcome, CompanionError> {
        call(self.cloud()?, move |c| async move { c.complete_platform_upload(clip_id).await }).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug() {
        let settings = CloudSettings {
            backend: CloudBackendSettings::S3 {
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: "us-east-1".into(),
                bucket: "b".into(),
                access_key: CloudSecret::new("AKIDSECRET".into()),
                secret_key: CloudSecret::new("hunter2".into()),
                session_token: Some(CloudSecret::new("sessiontok".into())),
                path_style: true,
            },
            account: "me".into(),
            part_size_bytes: None,
            concurrency: None,
            share_expiry_secs: None,
            part_url_expiry_secs: None,
            uploads_by_platform: false,
        };
        let shown = format!("{settings:?}");
        assert!(shown.contains("us-east-1"));
        for secret in ["AKIDSECRET", "hunter2", "sessiontok"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let config = core_cloud::CloudConfig::from(settings);
        let shown = format!("{config:?}");
        for secret in ["AKIDSECRET", "hunter2", "sessiontok"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
