//! The camera as the apps see it: scanning and pairing over BLE, the pairings kept in the
//! platform's secret store, and the connection (BLE, the camera's WiFi, streaming) with the
//! states the Home screen shows. Platform services are foreign traits: [`SecretStore`] (Android
//! Keystore, iOS Keychain) and [`WifiJoiner`] (WifiNetworkSpecifier, NEHotspotConfiguration).
//! The decisions (when to scan, join, retry) are the core's.

use std::sync::Arc;
use std::time::Duration;

use dashkeep_core::camera::ble::BleLink;
use dashkeep_core::camera::ble::loopback::LoopbackLink;
use dashkeep_core::camera::secrets::{SecretStore as CoreSecretStore, SecretStoreError};
use dashkeep_core::camera::{
    AlreadyJoined, CameraKey, CameraNetwork as CoreCameraNetwork, PairedCamera as CorePairedCamera,
    PairingError, WifiError, WifiJoiner as CoreWifiJoiner,
};
use dashkeep_core::companion::{ConnectionState as CoreState, DisconnectReason as CoreReason};

use crate::ble::{BleCentral, ForeignCentral};
use crate::companion::Companion;
use crate::errors::{CompanionError, PlatformError};
use crate::runtime::run;

/// A paired camera, as the Settings screen lists it (its secrets stay in the core).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PairedCamera {
    /// The camera's serial.
    pub serial: String,
    /// Its model, for display.
    pub model: String,
    /// Its BLE address.
    pub ble_address: String,
    /// Its WiFi network's name.
    pub wifi_ssid: String,
    /// Its API's URL (what `stream_now` takes).
    pub api_url: String,
    /// A short fingerprint of its identity key, to compare with the camera's screen.
    pub key_fingerprint: String,
    /// When it was paired, ms since the epoch.
    pub paired_at_ms: i64,
}

impl From<&CorePairedCamera> for PairedCamera {
    fn from(c: &CorePairedCamera) -> Self {
        Self {
            serial: c.serial.clone(),
            model: c.model.clone(),
            ble_address: c.ble_address.clone(),
            wifi_ssid: c.payload.wifi_ssid.clone(),
            api_url: c.payload.api_url.clone(),
            key_fingerprint: CameraKey::from_hex(&c.payload.identity_key)
                .map(|k| k.fingerprint())
                .unwrap_or_default(),
            paired_at_ms: c.paired_at_ms,
        }
    }
}

/// A camera found by a BLE scan.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BleDevice {
    /// Its address (what `pair` takes).
    pub address: String,
    /// Its advertised name.
    pub name: String,
}

/// The camera connection, as the Home screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ConnectionState {
    /// No connection is wanted.
    Idle,
    /// Looking for cameras over BLE.
    Scanning,
    /// Pairing with a camera.
    Pairing,
    /// A camera was just paired.
    Paired {
        /// Its serial.
        serial: String,
    },
    /// Connected to the camera over BLE.
    BleConnected {
        /// Its serial.
        serial: String,
    },
    /// On the camera's WiFi, its API answering.
    WifiJoined {
        /// Its serial.
        serial: String,
        /// The camera's network.
        ssid: String,
    },
    /// Streaming drives from the camera.
    Streaming {
        /// Its serial.
        serial: String,
    },
    /// The link is down.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
        /// When the next try happens, ms; `null`: no retry (the user must act).
        retry_in_ms: Option<u64>,
    },
}

/// Why the camera connection is down.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum DisconnectReason {
    /// The user stopped it.
    Stopped,
    /// The camera is switched off or out of range.
    NotInRange,
    /// The BLE link failed or dropped.
    BleLost {
        /// What happened, in words.
        detail: String,
    },
    /// The phone could not join the camera's WiFi.
    WifiJoinFailed {
        /// What the platform said.
        detail: String,
    },
    /// The camera's API stopped answering.
    CameraUnreachable {
        /// What happened, in words.
        detail: String,
    },
    /// The camera no longer accepts this phone: pair again.
    Revoked,
    /// Something answered with another key than the one pinned at pairing: not this camera.
    WrongCameraKey,
    /// Another camera answers at the paired BLE address.
    WrongCamera,
}

impl From<CoreReason> for DisconnectReason {
    fn from(r: CoreReason) -> Self {
        match r {
            CoreReason::Stopped => Self::Stopped,
            CoreReason::NotInRange => Self::NotInRange,
            CoreReason::BleLost(detail) => Self::BleLost { detail },
            CoreReason::WifiJoinFailed(detail) => Self::WifiJoinFailed { detail },
            CoreReason::CameraUnreachable(detail) => Self::CameraUnreachable { detail },
            CoreReason::Revoked => Self::Revoked,
            CoreReason::WrongCameraKey => Self::WrongCameraKey,
            CoreReason::WrongCamera => Self::WrongCamera,
        }
    }
}

impl From<CoreState> for ConnectionState {
    fn from(s: CoreState) -> Self {
        match s {
            CoreState::Idle => Self::Idle,
            CoreState::Scanning => Self::Scanning,
            CoreState::Pairing => Self::Pairing,
            CoreState::Paired { serial } => Self::Paired { serial },
            CoreState::BleConnected { serial } => Self::BleConnected { serial },
            CoreState::WifiJoined { serial, ssid } => Self::WifiJoined { serial, ssid },
            CoreState::Streaming { serial } => Self::Streaming { serial },
            CoreState::Disconnected { reason, retry_in_ms } => {
                Self::Disconnected { reason: reason.into(), retry_in_ms }
            }
        }
    }
}

/// The BLE transport to cameras. On phones the system's Bluetooth; here, and in tests, the
/// loopback link the simulated camera serves (the same GATT service over a local socket).
#[derive(uniffi::Object)]
pub struct BleTransport {
    link: Arc<dyn BleLink>,
}

#[uniffi::export]
impl BleTransport {
    /// The loopback link to simulated cameras at `addresses` (`host:port` each).
    #[uniffi::constructor]
    pub fn loopback(addresses: Vec<String>) -> Arc<Self> {
        Arc::new(Self { link: Arc::new(LoopbackLink::new(addresses)) })
    }

    /// The app's own Bluetooth stack (`BluetoothGatt`, CoreBluetooth) behind [`BleCentral`]:
    /// pairing, control and the connection run over it unchanged.
    #[uniffi::constructor]
    pub fn platform(central: Arc<dyn BleCentral>) -> Arc<Self> {
        Arc::new(Self { link: Arc::new(ForeignCentral(central)) })
    }

    /// The phone's own Bluetooth (btleplug: CoreBluetooth, Android's BLE through JNI, BlueZ).
    /// Fails with `Pairing(BleLink)` when there is no adapter or it is off, within seconds.
    #[uniffi::constructor]
    pub async fn system() -> Result<Arc<Self>, CompanionError> {
        system_link().await.map(|link| Arc::new(Self { link }))
    }
}

#[cfg(feature = "btleplug")]
async fn system_link() -> Result<Arc<dyn BleLink>, CompanionError> {
    use dashkeep_core::camera::btle::{BtleLink, OPEN_TIMEOUT};
    let link = run(BtleLink::open(OPEN_TIMEOUT)).await.map_err(PairingError::from)?;
    Ok(Arc::new(link))
}

#[cfg(not(feature = "btleplug"))]
async fn system_link() -> Result<Arc<dyn BleLink>, CompanionError> {
    Err(PairingError::Link(dashkeep_core::camera::ble::BleError::Unavailable(
        "this build has no Bluetooth (feature `btleplug`)".into(),
    ))
    .into())
}

/// Keeps the pairings' secrets (WiFi passphrase, API secret, pinned key) in the platform's
/// keystore: Android Keystore-backed storage, iOS Keychain. A key-value store of opaque values;
/// called on a Rust blocking thread. Without one, a 0600 file in the data directory is used.
#[uniffi::export(with_foreign)]
pub trait SecretStore: Send + Sync {
    /// The value under `key`, or `null`.
    fn load(&self, key: String) -> Result<Option<Vec<u8>>, PlatformError>;
    /// Stores `value` under `key`, replacing any.
    fn save(&self, key: String, value: Vec<u8>) -> Result<(), PlatformError>;
    /// Removes `key` (absent is fine).
    fn delete(&self, key: String) -> Result<(), PlatformError>;
}

/// Joins and leaves the camera's WiFi network (Android `WifiNetworkSpecifier` with
/// `ConnectivityManager.requestNetwork`, binding the process to it; iOS
/// `NEHotspotConfigurationManager`). Must never log the passphrase.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait WifiJoiner: Send + Sync {
    /// Joins `ssid` (WPA2-PSK) and returns once traffic to the camera can flow over it.
    async fn join(&self, ssid: String, passphrase: String) -> Result<(), PlatformError>;
    /// Leaves `ssid`; best effort.
    async fn leave(&self, ssid: String);
}

/// The one key the pairings live under in the app's store.
const PAIRINGS_KEY: &str = "dashkeep.pairings.v1";

/// Adapts the app's key-value store to the core's `SecretStore`: the pairings are one value.
pub(crate) struct ForeignSecretStore(pub(crate) Arc<dyn SecretStore>);

fn platform(e: PlatformError) -> SecretStoreError {
    SecretStoreError::Platform(e.to_string())
}

impl CoreSecretStore for ForeignSecretStore {
    fn load(&self) -> Result<Option<Vec<u8>>, SecretStoreError> {
        self.0.load(PAIRINGS_KEY.into()).map_err(platform)
    }

    fn save(&self, value: &[u8]) -> Result<(), SecretStoreError> {
        self.0.save(PAIRINGS_KEY.into(), value.to_vec()).map_err(platform)
    }

    fn clear(&self) -> Result<(), SecretStoreError> {
        self.0.delete(PAIRINGS_KEY.into()).map_err(platform)
    }

    fn describe(&self) -> String {
        format!("the platform's store ({PAIRINGS_KEY})")
    }
}

/// Binds the core's camera sockets to the camera's network (Android: `Network.bindSocket` on
/// the network the WiFi request returned), so only camera traffic goes over the camera's WiFi
/// and the cloud keeps the phone's internet. Given to `connect` beside the `WifiJoiner`.
#[uniffi::export(with_foreign)]
pub trait CameraNetworkBinder: Send + Sync {
    /// Binds `fd`, an unconnected TCP socket the core owns (do not close it), to the camera's
    /// network; throw when there is none (not joined, or lost): the socket then never connects.
    fn bind_socket(&self, fd: i32) -> Result<(), PlatformError>;
}

/// Adapts the app's binder to the core's `CameraNetwork`.
struct ForeignNetwork(Arc<dyn CameraNetworkBinder>);

impl CoreCameraNetwork for ForeignNetwork {
    fn bind_socket(&self, socket: i32) -> Result<(), WifiError> {
        self.0.bind_socket(socket).map_err(|e| WifiError::NotBound(e.to_string()))
    }
}

/// Adapts the app's joiner (and its network binder, if any) to the core's.
struct ForeignWifi(Arc<dyn WifiJoiner>, Option<Arc<dyn CameraNetworkBinder>>);

#[async_trait::async_trait]
impl CoreWifiJoiner for ForeignWifi {
    async fn join(&self, ssid: &str, passphrase: &str) -> Result<(), WifiError> {
        self.0
            .join(ssid.into(), passphrase.into())
            .await
            .map_err(|e| WifiError::Unavailable { ssid: ssid.into(), reason: e.to_string() })
    }

    async fn leave(&self, ssid: &str) {
        self.0.leave(ssid.into()).await;
    }

    fn camera_network(&self) -> Option<Arc<dyn CoreCameraNetwork>> {
        let binder = self.1.clone()?;
        Some(Arc::new(ForeignNetwork(binder)))
    }
}

#[uniffi::export]
impl Companion {
    /// Dashkeep cameras advertising over `transport` within `timeout_ms` ("add a camera").
    pub async fn scan_cameras(
        &self,
        transport: Arc<BleTransport>,
        timeout_ms: u64,
    ) -> Result<Vec<BleDevice>, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let found = run(async move {
            inner.scan(transport.link.as_ref(), Duration::from_millis(timeout_ms)).await
        })
        .await?;
        Ok(found.into_iter().map(|d| BleDevice { address: d.address, name: d.name }).collect())
    }

    /// Pairs with the camera at BLE `address` using the code on its screen; the pairing is kept
    /// in the secret store and used from now on.
    pub async fn pair(
        &self,
        transport: Arc<BleTransport>,
        address: String,
        code: String,
    ) -> Result<PairedCamera, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let paired =
            run(async move { inner.pair(transport.link.as_ref(), &address, &code).await }).await?;
        Ok(PairedCamera::from(&paired))
    }

    /// The cameras paired with this phone.
    pub async fn paired_cameras(&self) -> Result<Vec<PairedCamera>, CompanionError> {
        let inner = Arc::clone(&self.inner);
        let all = run(async move { inner.paired_cameras().await }).await?;
        Ok(all.iter().map(PairedCamera::from).collect())
    }

    /// Unpairs camera `serial`: the camera revokes this phone (skipped with `local_only`, for a
    /// camera that is gone), then the pairing is forgotten here.
    pub async fn unpair(
        &self,
        transport: Arc<BleTransport>,
        serial: String,
        local_only: bool,
    ) -> Result<(), CompanionError> {
        let inner = Arc::clone(&self.inner);
        run(async move { inner.unpair(transport.link.as_ref(), &serial, local_only).await })
            .await?;
        Ok(())
    }

    /// Connects to the paired camera `serial` and keeps it connected (BLE, its WiFi through
    /// `wifi`, streaming when `auto_stream`), reconnecting by itself; states arrive as
    /// `ConnectionChanged` events. `wifi` null: the phone is already on the camera's network.
    /// `network` (Android): binds each camera socket to the joined network; null: the system's
    /// routing.
    #[uniffi::method(default(network = None))]
    pub async fn connect(
        &self,
        serial: String,
        transport: Arc<BleTransport>,
        wifi: Option<Arc<dyn WifiJoiner>>,
        auto_stream: bool,
        network: Option<Arc<dyn CameraNetworkBinder>>,
    ) -> Result<(), CompanionError> {
        let inner = Arc::clone(&self.inner);
        let wifi: Arc<dyn CoreWifiJoiner> = match wifi {
            Some(w) => Arc::new(ForeignWifi(w, network)),
            None => Arc::new(AlreadyJoined),
        };
        let link = Arc::clone(&transport.link);
        run(async move { inner.connect(&serial, link, wifi, auto_stream).await }).await?;
        Ok(())
    }

    /// Stops the camera connection and its streaming; partial downloads are kept.
    pub async fn disconnect(&self) {
        let inner = Arc::clone(&self.inner);
        run(async move { inner.disconnect().await }).await;
    }

    /// The camera connection's state now.
    pub fn connection_state(&self) -> ConnectionState {
        self.inner.connection_state().into()
    }
}
