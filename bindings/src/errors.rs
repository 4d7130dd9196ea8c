//! The errors the apps see: one FFI enum per core error family, and [`CompanionError`], the one
//! error every `Companion` method throws (`CompanionException` in Kotlin, `CompanionError` in
//! Swift). Each variant carries the core error's message (`detail`) and a structured `reason`
//! the UI can switch on. Nothing is decided here: every variant mirrors a core variant.

use dashkeep_core::camera::CameraError as CoreCameraError;
use dashkeep_core::camera::PairingError as CorePairingError;
use dashkeep_core::catalog::CatalogError as CoreCatalogError;
use dashkeep_core::clips::ClipsError as CoreClipsError;
use dashkeep_core::cloud::CloudError as CoreCloudError;
use dashkeep_core::ingest::IngestError as CoreIngestError;
use dashkeep_core::storage::StorageError as CoreStorageError;

/// Why a `Companion` call failed. `detail` is the core's message, for logs and error dialogs.
#[derive(Debug, Clone, PartialEq, thiserror::Error, uniffi::Error)]
pub enum CompanionError {
    /// Another process (or another open `Companion`) holds this data directory.
    #[error("{detail}")]
    DataDirBusy {
        /// What happened, in words.
        detail: String,
        /// The data directory.
        path: String,
    },
    /// The camera could not be used.
    #[error("{detail}")]
    Camera {
        /// What happened, in words.
        detail: String,
        /// What went wrong.
        reason: CameraErrorKind,
    },
    /// Streaming from the camera failed for a reason other than the camera link.
    #[error("{detail}")]
    Ingest {
        /// What happened, in words.
        detail: String,
        /// What went wrong.
        reason: IngestErrorKind,
    },
    /// Phone storage failed or refused (quota out of range, full).
    #[error("{detail}")]
    Storage {
        /// What happened, in words.
        detail: String,
        /// What went wrong.
        reason: StorageErrorKind,
    },
    /// A clip could not be planned or cut.
    #[error("{detail}")]
    Clip {
        /// What happened, in words.
        detail: String,
        /// What went wrong.
        reason: ClipErrorKind,
    },
    /// The cloud failed, refused (credentials), or is not configured.
    #[error("{detail}")]
    Cloud {
        /// What happened, in words.
        detail: String,
        /// What went wrong.
        reason: CloudErrorKind,
    },
    /// "Clip now" was asked while the camera records no drive.
    #[error("{detail}")]
    NotRecording {
        /// What happened, in words.
        detail: String,
    },
    /// Pairing or unpairing with a camera failed.
    #[error("{detail}")]
    Pairing {
        /// What happened, in words.
        detail: String,
        /// What went wrong.
        reason: PairingErrorKind,
    },
    /// No camera with this serial is paired with this phone.
    #[error("{detail}")]
    NotPaired {
        /// What happened, in words.
        detail: String,
        /// The serial asked for.
        serial: String,
    },
    /// The platform's secret store failed.
    #[error("{detail}")]
    SecretStore {
        /// What happened, in words.
        detail: String,
    },
    /// A drive's summary could not be made (its telemetry could not be read).
    #[error("{detail}")]
    Drive {
        /// What happened, in words.
        detail: String,
    },
    /// The catalog database failed.
    #[error("{detail}")]
    Catalog {
        /// What happened, in words.
        detail: String,
        /// What went wrong.
        reason: CatalogErrorKind,
    },
    /// A setting that can lose the user's videos was turned on without their confirmation.
    #[error("{detail}")]
    NotConfirmed {
        /// What happened, in words.
        detail: String,
    },
}

/// The pairing family (`dashkeep_core::camera::PairingError`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PairingErrorKind {
    /// The BLE link failed or timed out.
    BleLink,
    /// Key confirmation failed: a wrong code (or someone in the middle).
    WrongCode,
    /// The camera refuses attempts for a while after wrong codes.
    BackingOff {
        /// When to try again, ms.
        retry_after_ms: u64,
    },
    /// The code is not 8 to 12 digits.
    BadCode,
    /// The camera is not accepting pairing.
    NotPairing,
    /// The camera broke the pairing protocol.
    Protocol,
    /// The camera speaks another pairing version.
    UnsupportedVersion {
        /// The camera's version.
        camera_version: u8,
    },
    /// The camera refused the command (an unpair it does not recognise).
    Refused,
}

/// The clips family (`dashkeep_core::clips::ClipsError`), less the catalog and storage failures it
/// wraps (those map to their own family).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ClipErrorKind {
    /// The window is empty or outside the drive.
    BadWindow,
    /// Cutting the MP4 failed.
    Cut,
    /// A background task was lost.
    Task,
}

/// The cloud family (`dashkeep_core::cloud::CloudError`), less the catalog and storage failures
/// it wraps (those map to their own family).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CloudErrorKind {
    /// The companion was opened without a cloud.
    NotConfigured,
    /// The store refused the credentials or the permission: ask the user to sign in again.
    CredentialsRefused,
    /// The network the phone is on is forbidden by the upload policy, or has no internet.
    NetworkForbidden,
    /// The network or the store failed and retries ran out; the job stays queued.
    Transient,
    /// The clip is unknown to the cloud (never uploaded, or no such clip).
    UnknownClip {
        /// The clip id given.
        clip_id: i64,
    },
    /// The multipart upload no longer exists in the store: plan the platform upload again.
    UploadGone,
    /// The cloud settings are unusable (bad account, part size, concurrency).
    InvalidConfig,
    /// Anything else (object missing, integrity check, unsupported, cancelled, I/O).
    Other,
}

/// The camera family (`dashkeep_core::camera::CameraError`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CameraErrorKind {
    /// The URL is not an `http://` or `https://` URL.
    BadUrl {
        /// The URL given.
        url: String,
    },
    /// The camera could not be reached, or the link dropped (worth retrying).
    Unreachable,
    /// The camera answered with an error status.
    Status {
        /// HTTP status.
        status: u16,
        /// The camera's message.
        message: String,
    },
    /// The camera's answer does not follow the protocol.
    Protocol,
    /// The camera presented another key than the one pinned at pairing: not this camera.
    WrongKey,
    /// A paired camera must be reached over `https://`.
    NotHttps {
        /// The URL given.
        url: String,
    },
    /// The pinned TLS configuration could not be built.
    Tls,
    /// The camera speaks a protocol version this app does not.
    UnsupportedVersion {
        /// The camera's protocol version.
        camera_version: u32,
    },
}

/// The ingest family (`dashkeep_core::ingest::IngestError`), less the camera, storage and
/// catalog failures it wraps (those map to their own family).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum IngestErrorKind {
    /// The camera listed something that cannot be right.
    ListingRefused,
    /// A segment never matched its SHA-256.
    ChecksumMismatch {
        /// The camera's segment id.
        segment: String,
    },
    /// The camera sent more bytes than it listed.
    SizeMismatch {
        /// The camera's segment id.
        segment: String,
    },
    /// A telemetry sidecar was invalid.
    BadTelemetry {
        /// The camera's segment id.
        segment: String,
    },
    /// The work was cancelled.
    Cancelled,
    /// A background task was lost.
    Task,
}

/// The storage family (`dashkeep_core::storage::StorageError`).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum StorageErrorKind {
    /// The phone's volume is full.
    VolumeFull {
        /// The file being written.
        path: String,
    },
    /// Dashkeep's quota is used up and nothing more may be evicted.
    QuotaExceeded {
        /// Bytes Dashkeep holds.
        owned_bytes: u64,
        /// Bytes it may hold.
        limit_bytes: u64,
        /// Bytes the write needed.
        needed_bytes: u64,
    },
    /// The phone itself is nearly full (down to the free space it keeps for itself): freeing
    /// space on the phone helps, raising the quota does not.
    PhoneNearlyFull {
        /// Free space on the phone.
        available_bytes: u64,
        /// Free space the phone keeps for itself.
        floor_bytes: u64,
        /// Bytes the write needed.
        needed_bytes: u64,
    },
    /// The quota is full of newer videos; an older one is not kept.
    OlderThanKept,
    /// A quota outside the allowed range.
    QuotaOutOfRange {
        /// The fraction asked for.
        fraction: f64,
        /// The smallest allowed.
        min: f64,
        /// The largest allowed.
        max: f64,
    },
    /// An I/O failure.
    Io {
        /// The file or directory concerned.
        path: String,
    },
    /// A background task was lost.
    Task,
}

/// The catalog family (`dashkeep_core::catalog::CatalogError`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CatalogErrorKind {
    /// SQLite refused the operation (corrupt file, full disk).
    Database,
    /// The schema could not be brought up to date.
    Migration,
    /// A row the app named does not exist.
    NotFound {
        /// What kind of row (`drive`, `segment`, ...).
        what: String,
        /// Its id.
        id: i64,
    },
    /// A background task was lost.
    Task,
}

impl From<dashkeep_core::CompanionError> for CompanionError {
    fn from(e: dashkeep_core::CompanionError) -> Self {
        use dashkeep_core::CompanionError as C;
        match e {
            C::DataDirBusy(path) => Self::DataDirBusy {
                detail: C::DataDirBusy(path.clone()).to_string(),
                path: path.display().to_string(),
            },
            C::Catalog(e) => e.into(),
            C::Ingest(e) => e.into(),
            C::Camera(e) => e.into(),
            C::Storage(e) => e.into(),
            C::Clips(e) => e.into(),
            C::NotRecording => Self::NotRecording { detail: C::NotRecording.to_string() },
            C::Cloud(e) => e.into(),
            C::Pairing(e) => e.into(),
            C::NotPaired(serial) => {
                Self::NotPaired { detail: C::NotPaired(serial.clone()).to_string(), serial }
            }
            C::Secrets(e) => Self::SecretStore { detail: e.to_string() },
            C::Drive(e) => e.into(),
            C::NotConfirmed(what) => {
                Self::NotConfirmed { detail: C::NotConfirmed(what).to_string() }
            }
            C::UnknownCamera(e) => {
                let reason = if e.nothing_answered {
                    CameraErrorKind::Unreachable
                } else {
                    CameraErrorKind::Protocol
                };
                Self::Camera { detail: e.to_string(), reason }
            }
        }
    }
}

impl CompanionError {
    /// A cloud call on a companion opened without a cloud.
    pub(crate) fn cloud_not_configured() -> Self {
        Self::Cloud {
            detail: "no cloud is configured".to_string(),
            reason: CloudErrorKind::NotConfigured,
        }
    }
}

impl From<CorePairingError> for CompanionError {
    fn from(e: CorePairingError) -> Self {
        let reason = match &e {
            CorePairingError::Link(_) => PairingErrorKind::BleLink,
            CorePairingError::ConfirmationFailed => PairingErrorKind::WrongCode,
            CorePairingError::BackingOff { retry_after } => PairingErrorKind::BackingOff {
                retry_after_ms: u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX),
            },
            CorePairingError::BadCode => PairingErrorKind::BadCode,
            CorePairingError::NotPairing => PairingErrorKind::NotPairing,
            CorePairingError::Protocol(_) | CorePairingError::Unauthenticated => {
                PairingErrorKind::Protocol
            }
            CorePairingError::Version(v) => {
                PairingErrorKind::UnsupportedVersion { camera_version: *v }
            }
            // The camera refuses the re-pair of a phone id it knows without that phone's secret.
            CorePairingError::Refused | CorePairingError::PhoneIdTaken => PairingErrorKind::Refused,
        };
        Self::Pairing { detail: e.to_string(), reason }
    }
}

impl From<CoreClipsError> for CompanionError {
    fn from(e: CoreClipsError) -> Self {
        let reason = match e {
            CoreClipsError::Catalog(e) => return e.into(),
            CoreClipsError::Storage(e) => return e.into(),
            CoreClipsError::BadWindow(_) => ClipErrorKind::BadWindow,
            // Internal to the pipeline (a cut discarded because the clip changed); never returned
            // to the app, mapped with the cut failures should that change.
            CoreClipsError::Cut(_) | CoreClipsError::Superseded(_) => ClipErrorKind::Cut,
            CoreClipsError::Task(_) => ClipErrorKind::Task,
        };
        Self::Clip { detail: e.to_string(), reason }
    }
}

impl From<CoreCloudError> for CompanionError {
    fn from(e: CoreCloudError) -> Self {
        let reason = match &e {
            CoreCloudError::Catalog(_) | CoreCloudError::Storage(_) => {
                return match e {
                    CoreCloudError::Catalog(e) => e.into(),
                    CoreCloudError::Storage(e) => e.into(),
                    _ => unreachable!("matched above"),
                };
            }
            CoreCloudError::Credentials(_) => CloudErrorKind::CredentialsRefused,
            CoreCloudError::NetworkForbidden => CloudErrorKind::NetworkForbidden,
            CoreCloudError::Transient(_) => CloudErrorKind::Transient,
            CoreCloudError::UnknownClip(id) => CloudErrorKind::UnknownClip { clip_id: *id },
            CoreCloudError::UploadGone(_) => CloudErrorKind::UploadGone,
            CoreCloudError::InvalidConfig(_) | CoreCloudError::ShareExpiry(_) => {
                CloudErrorKind::InvalidConfig
            }
            CoreCloudError::NotFound(_)
            | CoreCloudError::Integrity(_)
            | CoreCloudError::Unsupported(_)
            | CoreCloudError::Cancelled
            | CoreCloudError::Io { .. }
            | CoreCloudError::Task(_) => CloudErrorKind::Other,
        };
        Self::Cloud { detail: e.to_string(), reason }
    }
}

impl From<CoreCameraError> for CompanionError {
    fn from(e: CoreCameraError) -> Self {
        let reason = match &e {
            CoreCameraError::BadUrl(url) => CameraErrorKind::BadUrl { url: url.clone() },
            CoreCameraError::Link(_) => CameraErrorKind::Unreachable,
            CoreCameraError::Status { status, message } => {
                CameraErrorKind::Status { status: *status, message: message.clone() }
            }
            CoreCameraError::Protocol(_) => CameraErrorKind::Protocol,
            // A camera that cannot prove the paired serial is, to the app, not its camera.
            CoreCameraError::WrongKey
            | CoreCameraError::UnprovenSerial(_)
            | CoreCameraError::WrongSerial { .. } => CameraErrorKind::WrongKey,
            CoreCameraError::NotHttps(url) => CameraErrorKind::NotHttps { url: url.clone() },
            CoreCameraError::Tls(_) => CameraErrorKind::Tls,
            CoreCameraError::Version(v) => {
                CameraErrorKind::UnsupportedVersion { camera_version: *v }
            }
        };
        Self::Camera { detail: e.to_string(), reason }
    }
}

impl From<CoreIngestError> for CompanionError {
    fn from(e: CoreIngestError) -> Self {
        let reason = match &e {
            CoreIngestError::Camera(_)
            | CoreIngestError::Catalog(_)
            | CoreIngestError::Storage(_) => {
                return match e {
                    CoreIngestError::Camera(e) => e.into(),
                    CoreIngestError::Catalog(e) => e.into(),
                    CoreIngestError::Storage(e) => e.into(),
                    _ => unreachable!("matched above"),
                };
            }
            CoreIngestError::Listing(_) => IngestErrorKind::ListingRefused,
            CoreIngestError::ChecksumMismatch { segment } => {
                IngestErrorKind::ChecksumMismatch { segment: segment.clone() }
            }
            CoreIngestError::SizeMismatch { segment, .. } => {
                IngestErrorKind::SizeMismatch { segment: segment.clone() }
            }
            CoreIngestError::BadTelemetry { segment, .. } => {
                IngestErrorKind::BadTelemetry { segment: segment.clone() }
            }
            CoreIngestError::Cancelled => IngestErrorKind::Cancelled,
            CoreIngestError::Task(_) => IngestErrorKind::Task,
            // A vendor camera's driver (issue 13): a camera failure, told as the app knows them.
            CoreIngestError::Driver(d) => {
                let reason = if d.is_transient() {
                    CameraErrorKind::Unreachable
                } else {
                    CameraErrorKind::Protocol
                };
                return Self::Camera { detail: e.to_string(), reason };
            }
            // An unreadable vendor file is an integrity failure, like a checksum mismatch.
            CoreIngestError::NotAVideo { file, .. } => {
                IngestErrorKind::ChecksumMismatch { segment: file.clone() }
            }
        };
        Self::Ingest { detail: e.to_string(), reason }
    }
}

impl From<CoreStorageError> for CompanionError {
    fn from(e: CoreStorageError) -> Self {
        use dashkeep_core::storage::QuotaFraction;
        let reason = match &e {
            CoreStorageError::Catalog(_) => {
                let CoreStorageError::Catalog(inner) = e else { unreachable!("matched above") };
                return inner.into();
            }
            CoreStorageError::Full { path } => {
                StorageErrorKind::VolumeFull { path: path.display().to_string() }
            }
            CoreStorageError::QuotaExceeded { owned_bytes, limit_bytes, needed_bytes } => {
                StorageErrorKind::QuotaExceeded {
                    owned_bytes: *owned_bytes,
                    limit_bytes: *limit_bytes,
                    needed_bytes: *needed_bytes,
                }
            }
            CoreStorageError::PhoneNearlyFull { available_bytes, floor_bytes, needed_bytes } => {
                StorageErrorKind::PhoneNearlyFull {
                    available_bytes: *available_bytes,
                    floor_bytes: *floor_bytes,
                    needed_bytes: *needed_bytes,
                }
            }
            CoreStorageError::OlderThanKept => StorageErrorKind::OlderThanKept,
            CoreStorageError::QuotaOutOfRange(fraction) => StorageErrorKind::QuotaOutOfRange {
                fraction: *fraction,
                min: QuotaFraction::MIN,
                max: QuotaFraction::MAX,
            },
            CoreStorageError::Io { path, .. } => {
                StorageErrorKind::Io { path: path.display().to_string() }
            }
            CoreStorageError::Task(_) => StorageErrorKind::Task,
        };
        Self::Storage { detail: e.to_string(), reason }
    }
}

impl From<CoreCatalogError> for CompanionError {
    fn from(e: CoreCatalogError) -> Self {
        // A full volume under the catalog is the same pause as one under a video.
        if let CoreCatalogError::StorageFull { path } = &e {
            let reason = StorageErrorKind::VolumeFull { path: path.display().to_string() };
            return Self::Storage { detail: e.to_string(), reason };
        }
        let reason = match &e {
            CoreCatalogError::Sqlite(_) => CatalogErrorKind::Database,
            CoreCatalogError::Migration(_) => CatalogErrorKind::Migration,
            CoreCatalogError::NotFound { what, id } => {
                CatalogErrorKind::NotFound { what: (*what).to_string(), id: *id }
            }
            CoreCatalogError::Task(_) | CoreCatalogError::StorageFull { .. } => {
                CatalogErrorKind::Task
            }
        };
        Self::Catalog { detail: e.to_string(), reason }
    }
}

impl From<dashkeep_core::drive::DriveError> for CompanionError {
    fn from(e: dashkeep_core::drive::DriveError) -> Self {
        use dashkeep_core::drive::DriveError as D;
        match e {
            D::Catalog(e) => e.into(),
            D::Storage(e) => e.into(),
            D::Task(_) => Self::Drive { detail: e.to_string() },
        }
    }
}

/// Why a platform service implemented by the app (a foreign trait) failed. The app throws it
/// (`PlatformException` in Kotlin); Rust maps it into the core error of the operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum PlatformError {
    /// The service failed; `detail` says why.
    #[error("{detail}")]
    Failed {
        /// What happened, in words.
        detail: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for PlatformError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { detail: format!("the app's platform service threw: {}", e.reason) }
    }
}
