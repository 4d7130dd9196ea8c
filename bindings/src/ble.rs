//! The BLE link as a platform service: an app that prefers its own Bluetooth stack (Android's
//! `BluetoothGatt`, iOS's CoreBluetooth) to btleplug implements [`BleCentral`] and hands it to
//! `BleTransport.platform`. The pairing, control and
//! connection code then runs over it unchanged; every call is still bounded by a timeout here.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dashkeep_core::camera::ble::{
    BleConnection, BleDevice as CoreDevice, BleError, BleLink, GattUuid,
};

use crate::camera::BleDevice;
use crate::errors::PlatformError;

/// A notification the peripheral sent.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GattNotification {
    /// The characteristic's UUID (canonical lowercase form).
    pub characteristic: String,
    /// The value.
    pub value: Vec<u8>,
}

/// The app's BLE central. UUIDs are canonical strings (`6b9f0001-5d1e-4c2a-9a4e-d45ca3e00001`);
/// a connection is named by the handle `connect` returns (a flat interface keeps every call a
/// plain FFI call).
#[uniffi::export(with_foreign)]
#[async_trait]
pub trait BleCentral: Send + Sync {
    /// Devices advertising `service`, found within `timeout_ms`.
    async fn scan(&self, service: String, timeout_ms: u64)
    -> Result<Vec<BleDevice>, PlatformError>;
    /// Connects to a device found by a scan, discovering its services; returns a handle.
    async fn connect(&self, address: String, timeout_ms: u64) -> Result<u64, PlatformError>;
    /// Reads a characteristic.
    async fn read(&self, handle: u64, characteristic: String) -> Result<Vec<u8>, PlatformError>;
    /// Writes a characteristic (with response), at most 180 bytes.
    async fn write(
        &self,
        handle: u64,
        characteristic: String,
        value: Vec<u8>,
    ) -> Result<(), PlatformError>;
    /// Enables notifications of a characteristic.
    async fn subscribe(&self, handle: u64, characteristic: String) -> Result<(), PlatformError>;
    /// The next notification of any subscribed characteristic; `null` if none came within
    /// `timeout_ms`.
    async fn next_notification(
        &self,
        handle: u64,
        timeout_ms: u64,
    ) -> Result<Option<GattNotification>, PlatformError>;
    /// Disconnects; the handle is not used again.
    async fn disconnect(&self, handle: u64) -> Result<(), PlatformError>;
}

/// How long a platform call may take beyond the timeout it was given.
const GRACE: Duration = Duration::from_secs(2);
/// Reads, writes and subscriptions, which carry no timeout of their own.
const OP_TIMEOUT: Duration = Duration::from_secs(10);

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn failed(e: PlatformError) -> BleError {
    BleError::Io(std::io::Error::other(e.to_string()))
}

/// Runs a platform call, bounded: a stack that never answers is a timeout, not a hang.
async fn bounded<T>(
    limit: Duration,
    what: &'static str,
    call: impl std::future::Future<Output = Result<T, PlatformError>>,
) -> Result<T, BleError> {
    tokio::time::timeout(limit, call).await.map_err(|_| BleError::Timeout(what))?.map_err(failed)
}

/// Adapts the app's central to the core's `BleLink`.
pub(crate) struct ForeignCentral(pub(crate) Arc<dyn BleCentral>);

#[async_trait]
impl BleLink for ForeignCentral {
    async fn scan(
        &self,
        service: GattUuid,
        timeout: Duration,
    ) -> Result<Vec<CoreDevice>, BleError> {
        let call = self.0.scan(service.to_string(), millis(timeout));
        let found = bounded(timeout + GRACE, "scan", call).await?;
        Ok(found.into_iter().map(|d| CoreDevice { address: d.address, name: d.name }).collect())
    }

    async fn connect(
        &self,
        address: &str,
        timeout: Duration,
    ) -> Result<Box<dyn BleConnection>, BleError> {
        let call = self.0.connect(address.to_string(), millis(timeout));
        let handle = bounded(timeout + GRACE, "connect", call).await?;
        Ok(Box::new(ForeignPeripheral { central: Arc::clone(&self.0), handle }))
    }
}

/// Adapts one of the app's connections to the core's `BleConnection`.
struct ForeignPeripheral {
    central: Arc<dyn BleCentral>,
    handle: u64,
}

#[async_trait]
impl BleConnection for ForeignPeripheral {
    async fn read(&mut self, ch: GattUuid) -> Result<Vec<u8>, BleError> {
        bounded(OP_TIMEOUT, "read", self.central.read(self.handle, ch.to_string())).await
    }

    async fn write(&mut self, ch: GattUuid, value: &[u8]) -> Result<(), BleError> {
        let call = self.central.write(self.handle, ch.to_string(), value.to_vec());
        bounded(OP_TIMEOUT, "write", call).await
    }

    async fn subscribe(&mut self, ch: GattUuid) -> Result<(), BleError> {
        let call = self.central.subscribe(self.handle, ch.to_string());
        bounded(OP_TIMEOUT, "subscribe", call).await
    }

    async fn next_notification(
        &mut self,
        timeout: Duration,
    ) -> Result<(GattUuid, Vec<u8>), BleError> {
        let call = self.central.next_notification(self.handle, millis(timeout));
        match bounded(timeout + GRACE, "notification", call).await? {
            None => Err(BleError::Timeout("notification")),
            Some(n) => {
                let uuid = GattUuid::parse(&n.characteristic)
                    .ok_or(BleError::Framing("a notification with a malformed UUID"))?;
                Ok((uuid, n.value))
            }
        }
    }

    async fn disconnect(&mut self) -> Result<(), BleError> {
        bounded(OP_TIMEOUT, "disconnect", self.central.disconnect(self.handle)).await
    }
}
