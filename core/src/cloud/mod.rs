//! The cloud: a persisted, resumable upload queue of clips to object storage (a local directory
//! or S3-compatible storage), restore after a reinstall, share links, and permanent delete.
//!
//! Layout per account: `accounts/<account>/clips/<cloud_key>.mp4` (the clip, its SHA-256 in the
//! object's metadata) and `accounts/<account>/clips/<cloud_key>.json` (the sidecar). The queue
//! lives in the catalog (`cloud_uploads`, `cloud_parts`, `cloud_tombstones`): every part the store
//! acknowledges is recorded as it completes, so an upload killed at any point resumes with the
//! parts not yet recorded. The platform reports the network; uploads run when the user's policy
//! allows it, and stop at once (mid-part) when the network changes to one it forbids.
//!
//! Two ways to move bytes, with one queue: the core uploads itself ([`CloudService::run_queue`],
//! [`CloudService::upload_now`]), or the platform does (iOS background `URLSession`, Android
//! `WorkManager`) with presigned part URLs ([`CloudService::plan_platform_upload`]).

mod backend;
mod broker;
mod credentials;
mod local;
mod restore;
mod s3;
mod share_page;
mod sidecar;
mod upload;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use tokio::sync::{Mutex, Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::catalog::{Catalog, CatalogError, CloudClipRow, UploadState};
use crate::storage::{DataLayout, StorageError};

pub use backend::{BackendKind, ByteStream, Listed, ObjectBackend, ObjectInfo, PresignedRequest};
pub use broker::{BROKER_OP_PATH, BrokerBackend, BrokerConfig, BrokerError, BrokerOp, BrokerPart};
pub use credentials::{CredentialSource, TemporaryCredentials};
pub use local::LocalBackend;
pub use restore::{DeleteOutcome, MAX_SHARE_EXPIRY, MIN_SHARE_EXPIRY, SyncReport};
pub use s3::{S3Backend, S3Config, Secret};
pub use share_page::{ShareLink, SharePageOptions};
pub use sidecar::Sidecar;
pub use upload::{PlatformPart, PlatformPlan, QueueReport, UploadOutcome};

/// Why a cloud operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The store refused the credentials or the permission (401/403): the queue stops and the
    /// UI asks the user to sign in again. Never carries the secret.
    #[error("cloud credentials were refused: {0}")]
    Credentials(String),
    /// The network or the store failed and retries ran out (5xx, throttling, timeouts, resets):
    /// the job stays queued and is tried again later.
    #[error("cloud store unavailable: {0}")]
    Transient(String),
    /// The network the phone is on is forbidden by the upload policy, or has no internet.
    #[error("the current network is not allowed for this transfer")]
    NetworkForbidden,
    /// The multipart upload no longer exists in the store (aborted or expired).
    #[error("the multipart upload is gone: {0}")]
    UploadGone(String),
    /// An object the operation needs does not exist.
    #[error("not found in the cloud: {0}")]
    NotFound(String),
    /// Bytes did not match their recorded size or SHA-256.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    /// The backend cannot do this (presigning on the local backend).
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    /// The configuration is unusable.
    #[error("invalid cloud configuration: {0}")]
    InvalidConfig(String),
    /// A clip the call names is unknown or has no cloud identity yet.
    #[error("clip {0} is not known to the cloud")]
    UnknownClip(i64),
    /// A share link's lifetime is outside [`restore::MIN_SHARE_EXPIRY`] ..=
    /// [`restore::MAX_SHARE_EXPIRY`] (1 minute to 7 days, the longest S3 presigning allows).
    #[error("a share link lasts between 1 minute and 7 days, not {0} s")]
    ShareExpiry(u64),
    /// The transfer was cancelled (the clip was deleted, or the service stopped).
    #[error("transfer cancelled")]
    Cancelled,
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Phone storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A local file operation failed.
    #[error("cloud I/O failed on {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A blocking task was lost.
    #[error("cloud task failed: {0}")]
    Task(String),
}

impl CloudError {
    /// Worth trying again later by itself (the network or store), as opposed to needing the
    /// user (credentials, a changed file) or being final.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_) | Self::NetworkForbidden)
    }
}

/// The kind of network the phone is on, as the platform reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// The network the phone is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetworkState {
    /// Its kind.
    pub kind: NetworkKind,
    /// Whether the platform says it is metered (a hotspot counts as cellular).
    pub metered: bool,
}

impl NetworkState {
    /// Offline.
    pub const OFFLINE: Self = Self { kind: NetworkKind::None, metered: false };
    /// Unmetered WiFi.
    pub const WIFI: Self = Self { kind: NetworkKind::Wifi, metered: false };
    /// Mobile data.
    pub const CELLULAR: Self = Self { kind: NetworkKind::Cellular, metered: true };

    /// Whether the store can be reached at all.
    pub fn has_internet(&self) -> bool {
        matches!(self.kind, NetworkKind::Wifi | NetworkKind::Cellular)
    }

    /// Whether it costs the user data: cellular, or metered WiFi.
    pub fn is_metered(&self) -> bool {
        self.kind == NetworkKind::Cellular || self.metered
    }
}

/// When the queue may upload: the user's choice, persisted in the catalog's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadPolicy {
    /// Only on unmetered WiFi.
    WifiOnly,
    /// On WiFi and on mobile data.
    #[default]
    WifiAndCellular,
}

impl UploadPolicy {
    const SETTING: &'static str = "cloud.upload_policy";

    fn as_str(self) -> &'static str {
        match self {
            Self::WifiOnly => "wifi_only",
            Self::WifiAndCellular => "wifi_and_cellular",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "wifi_only" { Self::WifiOnly } else { Self::WifiAndCellular }
    }

    /// Whether a transfer may run on `network`; `send_now` is the user's "send this one now",
    /// which may use mobile data whatever the policy.
    pub fn allows(self, network: NetworkState, send_now: bool) -> bool {
        network.has_internet()
            && (!network.is_metered() || send_now || self == Self::WifiAndCellular)
    }
}

/// How hard to retry a failing store.
#[derive(Debug, Clone)]
pub struct RetrySettings {
    /// First backoff.
    pub initial_backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// Retries of one request inside the store client (5xx, 429/SlowDown, timeouts, resets).
    pub store_retries: usize,
    /// Time after which the store client stops retrying one request.
    pub retry_timeout: Duration,
    /// Whole-part attempts by the uploader on top of that, with backoff and jitter.
    pub part_attempts: u32,
    /// Timeout of one request (a part on a slow link must fit in it).
    pub request_timeout: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            store_retries: 10,
            retry_timeout: Duration::from_secs(180),
            part_attempts: 4,
            request_timeout: Duration::from_secs(300),
        }
    }
}

/// Which store to use.
#[derive(Debug, Clone)]
pub enum BackendConfig {
    /// A local directory.
    Local {
        /// The directory.
        root: PathBuf,
    },
    /// S3-compatible storage.
    S3(S3Config),
    /// S3-compatible storage through a broker that signs every request: the phone holds no S3
    /// key, only its account's token (the presign-only mode).
    Broker(BrokerConfig),
}

/// How to run the cloud.
#[derive(Debug, Clone)]
pub struct CloudConfig {
    /// The store.
    pub backend: BackendConfig,
    /// The account whose clips these are (a safe id: letters, digits, `_`, `-`).
    pub account: String,
    /// Multipart part size (at least 5 MiB; default 8 MiB). Clips no larger go in one request.
    pub part_size: u64,
    /// Parts in flight at once (memory is about this times the part size).
    pub concurrency: usize,
    /// Default lifetime of a share link (7 days).
    pub share_expiry: Duration,
    /// Lifetime of a presigned part URL handed to the platform.
    pub part_url_expiry: Duration,
    /// Retry behaviour.
    pub retry: RetrySettings,
    /// The app's platform scheduler (Android's JobScheduler, iOS background tasks) runs the
    /// upload queue ([`CloudService::run_queue`]) and the core starts no upload worker of its
    /// own: a phone's OS may stop the app at any moment, but runs a scheduled job on the network
    /// it asked for. Off by default (the core's worker uploads whenever it can).
    pub uploads_by_platform: bool,
}

/// The smallest part S3 accepts (except the last).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

impl CloudConfig {
    /// Defaults for a backend and account.
    pub fn new(backend: BackendConfig, account: impl Into<String>) -> Self {
        Self {
            backend,
            account: account.into(),
            part_size: 8 * 1024 * 1024,
            concurrency: 3,
            share_expiry: Duration::from_secs(7 * 24 * 3600),
            part_url_expiry: Duration::from_secs(3600),
            retry: RetrySettings::default(),
            uploads_by_platform: false,
        }
    }

    fn validate(&self) -> Result<(), CloudError> {
        if !crate::protocol::is_safe_id(&self.account) {
            return Err(CloudError::InvalidConfig(format!("bad account {:?}", self.account)));
        }
        if self.part_size < MIN_PART_SIZE {
            return Err(CloudError::InvalidConfig("part size below 5 MiB".into()));
        }
        if self.concurrency == 0 {
            return Err(CloudError::InvalidConfig("concurrency 0".into()));
        }
        Ok(())
    }
}

/// What the cloud tells the UI.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CloudEvent {
    /// A clip's upload changed state.
    StateChanged {
        /// The clip.
        clip_id: i64,
        /// Its new state.
        state: UploadState,
    },
    /// Bytes of a clip in the cloud so far.
    Progress {
        /// The clip.
        clip_id: i64,
        /// Bytes done.
        bytes_done: u64,
        /// Bytes in all.
        bytes_total: u64,
    },
    /// A transfer stopped because the network changed to one the policy forbids; it resumes
    /// when an allowed network comes back.
    Paused {
        /// The clip.
        clip_id: i64,
    },
    /// A transfer failed and will be retried.
    Failed {
        /// The clip.
        clip_id: i64,
        /// Why.
        error: String,
    },
    /// The queue stopped: the store refused the credentials. The UI shows this until the user
    /// signs in again (a new service) or runs the queue again.
    QueueStopped {
        /// Why.
        error: String,
    },
    /// The user deleted a clip; `cloud_removed` is false while its tombstone waits for a network.
    Deleted {
        /// The clip.
        clip_id: i64,
        /// Whether its cloud objects are gone already.
        cloud_removed: bool,
    },
    /// A clip was downloaded to the phone.
    Downloaded {
        /// The clip.
        clip_id: i64,
    },
}

/// Receives cloud events; called from the transfer tasks, so it must be quick.
pub type CloudObserver = Arc<dyn Fn(CloudEvent) + Send + Sync>;

/// The cloud as the status screen shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CloudStatus {
    /// The store.
    pub backend: BackendKind,
    /// The account.
    pub account: String,
    /// The network, as last reported.
    pub network: NetworkState,
    /// The user's policy.
    pub policy: UploadPolicy,
    /// Whether the queue may upload now.
    pub uploading_allowed: bool,
    /// Clips waiting.
    pub queued: usize,
    /// Clips part way.
    pub uploading: usize,
    /// Clips in the cloud.
    pub uploaded: usize,
    /// Clips that need the user.
    pub failed: usize,
    /// Bytes still to send.
    pub bytes_pending: u64,
    /// Deletions waiting for a network.
    pub deletions_pending: usize,
    /// Why the queue stopped (refused credentials), until it runs again.
    pub stopped: Option<String>,
}

struct Inner {
    catalog: Catalog,
    layout: DataLayout,
    backend: Arc<dyn ObjectBackend>,
    config: CloudConfig,
    observer: CloudObserver,
    network: watch::Sender<NetworkState>,
    policy: watch::Sender<UploadPolicy>,
    /// One queue runner at a time.
    run_lock: Mutex<()>,
    /// Held while a clip uploads; delete takes it after cancelling, so no upload outlives it.
    upload_lock: Mutex<()>,
    in_flight: StdMutex<HashMap<i64, CancellationToken>>,
    stopped: StdMutex<Option<String>>,
    wake: Notify,
    worker: StdMutex<Option<(CancellationToken, JoinHandle<()>)>>,
}

/// The cloud service: one per data directory, cheap to clone and share.
#[derive(Clone)]
pub struct CloudService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CloudService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudService")
            .field("backend", &self.inner.backend)
            .field("account", &self.inner.config.account)
            .finish()
    }
}

/// Runs blocking work on tokio's blocking pool.
pub(crate) async fn blocking<R, F>(f: F) -> Result<R, CloudError>
where
    R: Send + 'static,
    F: FnOnce() -> Result<R, CloudError> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| CloudError::Task(e.to_string()))?
}

/// 128 random bits, lowercase hex: cloud keys and local upload ids.
pub(crate) fn random_hex() -> String {
    use rand::RngExt;
    let bits: u128 = rand::rng().random();
    format!("{bits:032x}")
}

impl CloudService {
    /// Opens the cloud for a data directory whose catalog is `catalog`. The network starts as
    /// offline until the platform reports it with [`CloudService::set_network`].
    pub async fn open(
        catalog: Catalog,
        layout: DataLayout,
        config: CloudConfig,
        observer: CloudObserver,
    ) -> Result<Self, CloudError> {
        config.validate()?;
        let backend: Arc<dyn ObjectBackend> = match &config.backend {
            BackendConfig::Local { root } => Arc::new(LocalBackend::new(root)),
            BackendConfig::S3(s3) => Arc::new(S3Backend::new(s3, &config.retry)?),
            BackendConfig::Broker(broker) => Arc::new(BrokerBackend::new(broker, &config.retry)?),
        };
        Self::with_backend(catalog, layout, config, backend, observer).await
    }

    /// Like [`CloudService::open`] with a backend the caller made (a test double, or a store
    /// the app configured itself).
    pub async fn with_backend(
        catalog: Catalog,
        layout: DataLayout,
        config: CloudConfig,
        backend: Arc<dyn ObjectBackend>,
        observer: CloudObserver,
    ) -> Result<Self, CloudError> {
        config.validate()?;
        let policy = catalog
            .setting(UploadPolicy::SETTING)
            .await?
            .map(|s| UploadPolicy::parse(&s))
            .unwrap_or_default();
        let inner = Inner {
            catalog,
            layout,
            backend,
            config,
            observer,
            network: watch::Sender::new(NetworkState::OFFLINE),
            policy: watch::Sender::new(policy),
            run_lock: Mutex::new(()),
            upload_lock: Mutex::new(()),
            in_flight: StdMutex::new(HashMap::new()),
            stopped: StdMutex::new(None),
            wake: Notify::new(),
            worker: StdMutex::new(None),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Which store this is.
    pub fn backend_kind(&self) -> BackendKind {
        self.inner.backend.kind()
    }

    /// The platform reports the network. A transfer in flight that the new network forbids
    /// stops at once and resumes when an allowed one comes back.
    pub fn set_network(&self, network: NetworkState) {
        self.inner.network.send_replace(network);
        self.inner.wake.notify_one();
    }

    /// The network, as last reported.
    pub fn network(&self) -> NetworkState {
        *self.inner.network.borrow()
    }

    /// The user's upload policy.
    pub fn policy(&self) -> UploadPolicy {
        *self.inner.policy.borrow()
    }

    /// Sets and persists the upload policy; transfers it forbids stop at once.
    pub async fn set_policy(&self, policy: UploadPolicy) -> Result<(), CloudError> {
        self.inner.catalog.set_setting(UploadPolicy::SETTING, policy.as_str().into()).await?;
        self.inner.policy.send_replace(policy);
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Whether the queue may upload now (the network and the policy).
    pub fn uploading_allowed(&self) -> bool {
        self.policy().allows(self.network(), false)
    }

    /// Queues a clip for upload (call when the clip is created). It goes when the policy allows.
    pub async fn enqueue(&self, clip_id: i64) -> Result<(), CloudError> {
        let job = self.inner.catalog.enqueue_upload(clip_id, random_hex(), false, false).await?;
        self.emit(CloudEvent::StateChanged { clip_id, state: job.state });
        self.inner.wake.notify_one();
        Ok(())
    }

    /// The cloud as the status screen shows it.
    pub async fn status(&self) -> Result<CloudStatus, CloudError> {
        let clips = self.inner.catalog.cloud_clips().await?;
        let count = |s: UploadState| clips.iter().filter(|c| c.upload_state == Some(s)).count();
        let bytes_pending = clips
            .iter()
            .filter(|c| {
                matches!(c.upload_state, Some(UploadState::Queued | UploadState::Uploading))
            })
            .map(|c| c.size_bytes.saturating_sub(c.bytes_done))
            .sum();
        Ok(CloudStatus {
            backend: self.backend_kind(),
            account: self.inner.config.account.clone(),
            network: self.network(),
            policy: self.policy(),
            uploading_allowed: self.uploading_allowed(),
            queued: count(UploadState::Queued),
            uploading: count(UploadState::Uploading),
            uploaded: count(UploadState::Uploaded),
            failed: count(UploadState::Failed),
            bytes_pending,
            deletions_pending: self.inner.catalog.pending_tombstones().await?.len(),
            stopped: self.stopped(),
        })
    }

    /// Every clip with where it lives and how its upload goes, newest first.
    pub async fn clips(&self) -> Result<Vec<CloudClipRow>, CloudError> {
        Ok(self.inner.catalog.cloud_clips().await?)
    }

    /// Starts the background worker: it runs the queue whenever a clip is queued or the network
    /// or policy changes, and retries transient failures with backoff. Idempotent.
    pub fn start(&self) {
        let mut worker = self.inner.worker.lock().unwrap_or_else(|p| p.into_inner());
        if worker.as_ref().is_some_and(|(_, h)| !h.is_finished()) {
            return;
        }
        let cancel = CancellationToken::new();
        let (svc, token) = (self.clone(), cancel.clone());
        let handle = tokio::spawn(async move { svc.worker_loop(token).await });
        *worker = Some((cancel, handle));
    }

    /// Asks the background worker and any transfer in flight to stop, without waiting (for
    /// `Drop`); parts recorded are kept.
    pub fn cancel(&self) {
        for token in self.inner.in_flight.lock().unwrap_or_else(|p| p.into_inner()).values() {
            token.cancel();
        }
        if let Some((cancel, _)) = &*self.inner.worker.lock().unwrap_or_else(|p| p.into_inner()) {
            cancel.cancel();
        }
    }

    /// Stops the background worker and any transfer in flight (parts recorded are kept).
    pub async fn stop(&self) {
        let taken = self.inner.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        for token in self.inner.in_flight.lock().unwrap_or_else(|p| p.into_inner()).values() {
            token.cancel();
        }
        if let Some((cancel, handle)) = taken {
            cancel.cancel();
            let _ = handle.await;
        }
    }

    async fn worker_loop(&self, cancel: CancellationToken) {
        let mut backoff = self.inner.config.retry.initial_backoff;
        loop {
            let result =
                if self.network().has_internet() { Some(self.run_queue().await) } else { None };
            let delay = match result {
                Some(Ok(report)) if report.failed == 0 => {
                    backoff = self.inner.config.retry.initial_backoff;
                    None
                }
                Some(Ok(_)) | Some(Err(_)) => {
                    let d = upload::jitter(backoff);
                    backoff = (backoff * 2).min(self.inner.config.retry.max_backoff);
                    Some(d)
                }
                None => None,
            };
            let sleep = async {
                match delay {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.inner.wake.notified() => {}
                () = sleep => {}
            }
        }
    }

    fn stopped(&self) -> Option<String> {
        self.inner.stopped.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_stopped(&self, error: Option<String>) {
        *self.inner.stopped.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }

    fn emit(&self, event: CloudEvent) {
        (self.inner.observer)(event);
    }

    fn object_key(&self, cloud_key: &str) -> String {
        format!("{}{cloud_key}.mp4", self.clips_prefix())
    }

    fn sidecar_key(&self, cloud_key: &str) -> String {
        format!("{}{cloud_key}.json", self.clips_prefix())
    }

    fn clips_prefix(&self) -> String {
        format!("accounts/{}/clips/", self.inner.config.account)
    }

    /// Resolves when `network`/`policy` forbid a transfer (`send_now` as for
    /// [`UploadPolicy::allows`]).
    async fn forbidden(&self, send_now: bool) {
        let mut net = self.inner.network.subscribe();
        let mut pol = self.inner.policy.subscribe();
        loop {
            if !pol.borrow_and_update().allows(*net.borrow_and_update(), send_now) {
                return;
            }
            tokio::select! {
                r = net.changed() => if r.is_err() { std::future::pending::<()>().await },
                r = pol.changed() => if r.is_err() { std::future::pending::<()>().await },
            }
        }
    }

    /// Runs `fut` until it ends, the network forbids it, or `cancel` fires: dropping it stops
    /// the request in flight at once.
    async fn guarded<T>(
        &self,
        send_now: bool,
        cancel: &CancellationToken,
        fut: impl std::future::Future<Output = Result<T, CloudError>>,
    ) -> Result<T, CloudError> {
        tokio::select! {
            r = fut => r,
            () = self.forbidden(send_now) => Err(CloudError::NetworkForbidden),
            () = cancel.cancelled() => Err(CloudError::Cancelled),
        }
    }
}

/// Hashes everything `reader` yields into `hasher` in 256 KiB reads; returns the byte count.
pub(crate) fn hash_into(
    mut reader: impl std::io::Read,
    hasher: &mut sha2::Sha256,
) -> std::io::Result<u64> {
    use sha2::Digest;
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_gates_networks() {
        let camera = NetworkState { kind: NetworkKind::CameraWifi, metered: false };
        let hotspot = NetworkState { kind: NetworkKind::Wifi, metered: true };
        let p = UploadPolicy::WifiOnly;
        assert!(p.allows(NetworkState::WIFI, false));
        assert!(!p.allows(NetworkState::CELLULAR, false));
        assert!(!p.allows(hotspot, false));
        assert!(p.allows(NetworkState::CELLULAR, true), "send now uses mobile data");
        assert!(!p.allows(camera, true) && !p.allows(NetworkState::OFFLINE, true));
        assert!(UploadPolicy::default().allows(NetworkState::CELLULAR, false));
    }

    #[test]
    fn secrets_never_show() {
        let s = S3Config {
            endpoint: None,
            region: "r".into(),
            bucket: "b".into(),
            access_key: Secret::new("AKIDSECRET"),
            secret_key: Secret::new("hunter2"),
            session_token: Some(Secret::new("tok")),
            credential_source: None,
            path_style: true,
            part_checksums: true,
        };
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("AKIDSECRET") && !shown.contains("tok\"")
        );
    }

    #[test]
    fn implausible_sidecars_are_refused() {
        let key = "0123456789abcdef0123456789abcdef";
        let good = format!(
            r#"{{"version":1,"cloud_key":"{key}","clip_id":1,"drive_id":null,"start_ms":1,
               "end_ms":2,"reason":"manual","peak_g":null,"location":null,"created_ms":3,
               "size":10,"sha256":"{}"}}"#,
            "a".repeat(64)
        );
        assert!(Sidecar::parse(good.as_bytes(), key).is_ok());
        assert!(Sidecar::parse(good.as_bytes(), "ffffffffffffffffffffffffffffffff").is_err());
        let bad = good.replace("manual", "../../etc");
        assert!(Sidecar::parse(bad.as_bytes(), key).is_err());
        assert!(Sidecar::parse(b"not json", key).is_err());
    }
}
