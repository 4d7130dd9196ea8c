//! The real BLE link: [`BtleLink`] implements [`BleLink`] and [`BleConnection`] over the
//! platform's Bluetooth stack with btleplug (BlueZ over the system D-Bus on Linux, CoreBluetooth on
//! iOS and macOS, the Android BLE API through JNI on Android).
//!
//! Every operation is bounded by a timeout, and failures become [`BleError`]s: no adapter (or no
//! BlueZ on the system bus) is [`BleError::NoAdapter`] at once, never a hang. What a peripheral
//! sends (names, values, notifications) is untrusted: it is size-checked and never unwrapped.
//!
//! Platform set-up: on Linux the build needs `libdbus-1-dev` and `pkg-config`, and the run needs
//! `bluetoothd` on the system bus; on Android `btleplug::platform::init` must run from
//! `JNI_OnLoad` first (`docs/mobile.md`); on iOS the app declares
//! `NSBluetoothAlwaysUsageDescription`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use btleplug::api::{
    BDAddr, Central as _, CentralState, Characteristic, Manager as _, Peripheral as _, ScanFilter,
    ValueNotification, WriteType,
};
use btleplug::platform::{Adapter, Manager, Peripheral};
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;
use tracing::Instrument;

use super::ble::{
    BleConnection, BleDevice, BleError, BleLink, GattUuid, MAX_CHUNK, MAX_MESSAGE, SERVICE_UUID,
};

/// How long one GATT operation (read, write, subscribe, disconnect) may take.
pub const OP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`BtleLink::open`] waits for the platform's Bluetooth service by default.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest advertised name kept (in characters).
const MAX_NAME_CHARS: usize = 64;
/// How often a connect looks again for the device while scanning for it.
const FIND_POLL: Duration = Duration::from_millis(200);
/// ATT error: attribute not found (a characteristic the camera does not have).
const ATT_ATTRIBUTE_NOT_FOUND: u8 = 0x0a;

/// What the platform's Bluetooth service is, for "no adapter" messages.
#[cfg(target_os = "linux")]
const STACK: &str = "BlueZ not reachable over D-Bus";
#[cfg(target_vendor = "apple")]
const STACK: &str = "CoreBluetooth unavailable";
#[cfg(target_os = "android")]
const STACK: &str = "Android Bluetooth unavailable (btleplug::platform::init from JNI_OnLoad?)";
#[cfg(not(any(target_os = "linux", target_vendor = "apple", target_os = "android")))]
const STACK: &str = "the platform's Bluetooth service is unavailable";

impl From<GattUuid> for uuid::Uuid {
    fn from(u: GattUuid) -> Self {
        uuid::Uuid::from_u128(u.0)
    }
}

impl From<uuid::Uuid> for GattUuid {
    fn from(u: uuid::Uuid) -> Self {
        GattUuid(u.as_u128())
    }
}

/// Maps a btleplug error of operation `op` on device `address` into a [`BleError`].
pub fn map_error(e: btleplug::Error, op: &'static str, address: &str) -> BleError {
    use btleplug::Error as E;
    use std::io::{Error, ErrorKind};
    match e {
        E::TimedOut(_) => BleError::Timeout(op),
        E::DeviceNotFound => BleError::NotFound(address.to_string()),
        E::NotConnected => BleError::Io(Error::new(ErrorKind::NotConnected, "not connected")),
        E::NoSuchCharacteristic | E::UnexpectedCharacteristic => {
            BleError::Gatt(ATT_ATTRIBUTE_NOT_FOUND)
        }
        E::NoAdapterAvailable => BleError::NoAdapter("the Bluetooth service lists none".into()),
        E::PermissionDenied => {
            BleError::Unavailable("the Bluetooth permission is not granted".into())
        }
        E::NotSupported(what) => BleError::Unavailable(format!("{what} is not supported")),
        E::UnexpectedCallback => BleError::Io(Error::other(format!("{op}: unexpected callback"))),
        E::RuntimeError(why) => BleError::Io(Error::other(format!("{op}: {why}"))),
        E::Uuid(why) => BleError::Io(Error::other(format!("{op}: {why}"))),
        E::InvalidBDAddr(why) => BleError::NotFound(format!("{address} ({why})")),
        E::Other(why) => BleError::Io(Error::other(format!("{op}: {why}"))),
    }
}

/// The address a device is known by: its MAC where the platform shows one (Linux, Android),
/// else the platform's id for it (CoreBluetooth hides MACs and gives a per-phone UUID).
pub fn device_address(mac: BDAddr, platform_id: &str) -> String {
    if mac == BDAddr::default() { platform_id.to_string() } else { mac.to_string() }
}

/// Whether `wanted` (as typed by a user or stored at pairing) names the device `candidate`:
/// MACs compare without regard to case, and with `-` or `:` as the separator.
pub fn same_address(wanted: &str, candidate: &str) -> bool {
    let norm = |s: &str| s.trim().replace('-', ":").to_ascii_lowercase();
    !wanted.trim().is_empty() && norm(wanted) == norm(candidate)
}

/// An advertised name made safe to show: control characters dropped, at most 64 characters.
pub fn display_name(advertised: Option<&str>) -> String {
    advertised
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Runs `fut` for at most `limit`; a late answer is [`BleError::Timeout`] of `op`.
async fn bounded<T>(
    limit: Duration,
    op: &'static str,
    address: &str,
    fut: impl Future<Output = btleplug::Result<T>>,
) -> Result<T, BleError> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| BleError::Timeout(op))?
        .map_err(|e| map_error(e, op, address))
}

/// The platform's first Bluetooth adapter, as a [`BleLink`].
#[derive(Clone, Debug)]
pub struct BtleLink {
    adapter: Adapter,
    op_timeout: Duration,
}

impl BtleLink {
    /// Opens the first Bluetooth adapter. Fails with [`BleError::NoAdapter`] when there is none
    /// or the platform's Bluetooth service does not answer within `timeout` (on Linux: no system
    /// D-Bus, or no BlueZ on it), and with [`BleError::Unavailable`] when it is powered off.
    pub async fn open(timeout: Duration) -> Result<Self, BleError> {
        let span = tracing::info_span!("ble_open", timeout_ms = timeout.as_millis() as u64);
        let open = async {
            let manager =
                Manager::new().await.map_err(|e| BleError::NoAdapter(format!("{STACK}: {e}")))?;
            let adapters = manager
                .adapters()
                .await
                .map_err(|e| BleError::NoAdapter(format!("{STACK}: {e}")))?;
            let Some(adapter) = adapters.into_iter().next() else {
                return Err(BleError::NoAdapter("the Bluetooth service lists none".into()));
            };
            // CoreBluetooth says Unknown until it has powered on: only a clear "off" refuses.
            if let Ok(CentralState::PoweredOff) = adapter.adapter_state().await {
                return Err(BleError::Unavailable("the Bluetooth adapter is powered off".into()));
            }
            Ok(adapter)
        };
        let adapter = tokio::time::timeout(timeout, open.instrument(span.clone()))
            .await
            .map_err(|_| BleError::NoAdapter(format!("{STACK}: no answer within {timeout:?}")))??;
        span.in_scope(|| tracing::debug!("adapter open"));
        Ok(Self { adapter, op_timeout: OP_TIMEOUT })
    }

    /// The same link with another per-operation timeout (default [`OP_TIMEOUT`]).
    pub fn with_op_timeout(mut self, op_timeout: Duration) -> Self {
        self.op_timeout = op_timeout;
        self
    }

    /// The adapter's peripherals whose address is `address`, if the platform knows it now.
    async fn known(&self, address: &str) -> Result<Option<Peripheral>, BleError> {
        let all = bounded(self.op_timeout, "peripheral list", address, self.adapter.peripherals())
            .await?;
        Ok(all.into_iter().find(|p| same_address(address, &address_of(p))))
    }

    /// Finds the device at `address` by `deadline`: a known one at once, else by scanning for the
    /// camera service.
    async fn find(&self, address: &str, deadline: Instant) -> Result<Peripheral, BleError> {
        if let Some(p) = self.known(address).await? {
            return Ok(p);
        }
        let filter = ScanFilter { services: vec![SERVICE_UUID.into()] };
        bounded(self.op_timeout, "scan start", address, self.adapter.start_scan(filter)).await?;
        let found = loop {
            if let Some(p) = self.known(address).await? {
                break Some(p);
            }
            if Instant::now() + FIND_POLL > deadline {
                break None;
            }
            tokio::time::sleep(FIND_POLL).await;
        };
        self.stop_scan().await;
        found.ok_or_else(|| BleError::NotFound(address.to_string()))
    }

    async fn stop_scan(&self) {
        if let Err(e) = bounded(self.op_timeout, "scan stop", "", self.adapter.stop_scan()).await {
            tracing::debug!(error = %e, "stopping the scan failed");
        }
    }

    /// Connects and discovers the camera service's characteristics, by `deadline`.
    async fn open_connection(
        &self,
        peripheral: &Peripheral,
        address: &str,
        deadline: Instant,
    ) -> Result<BtleConnection, BleError> {
        let left = || deadline.saturating_duration_since(Instant::now());
        bounded(left(), "connect", address, peripheral.connect()).await?;
        bounded(left(), "service discovery", address, peripheral.discover_services()).await?;
        let chars: HashMap<GattUuid, Characteristic> = peripheral
            .services()
            .into_iter()
            .filter(|s| s.uuid == uuid::Uuid::from(SERVICE_UUID))
            .flat_map(|s| s.characteristics)
            .map(|c| (GattUuid::from(c.uuid), c))
            .collect();
        if chars.is_empty() {
            return Err(BleError::NotFound(format!("{address} (no Dashkeep service)")));
        }
        let notifications =
            bounded(left(), "notification stream", address, peripheral.notifications()).await?;
        Ok(BtleConnection {
            peripheral: Some(peripheral.clone()),
            address: address.to_string(),
            chars,
            notifications,
            op_timeout: self.op_timeout,
        })
    }
}

fn address_of(p: &Peripheral) -> String {
    device_address(p.address(), &p.id().to_string())
}

#[async_trait]
impl BleLink for BtleLink {
    async fn scan(&self, service: GattUuid, timeout: Duration) -> Result<Vec<BleDevice>, BleError> {
        let span = tracing::info_span!(
            "ble_scan",
            %service,
            timeout_ms = timeout.as_millis() as u64,
            found = tracing::field::Empty
        );
        let scan = async {
            let wanted = uuid::Uuid::from(service);
            let filter = ScanFilter { services: vec![wanted] };
            bounded(self.op_timeout, "scan start", "", self.adapter.start_scan(filter)).await?;
            tokio::time::sleep(timeout).await;
            self.stop_scan().await;
            let all =
                bounded(self.op_timeout, "peripheral list", "", self.adapter.peripherals()).await?;
            let mut found: Vec<BleDevice> = Vec::new();
            for p in all {
                // A filter is a hint to some platforms: check what each device advertised.
                let props = bounded(self.op_timeout, "properties", "", p.properties()).await;
                let Ok(Some(props)) = props else { continue };
                if !props.services.contains(&wanted) {
                    continue;
                }
                let address = address_of(&p);
                if found.iter().any(|d| d.address == address) {
                    continue;
                }
                let name = props.local_name.as_deref().or(props.advertisement_name.as_deref());
                found.push(BleDevice { address, name: display_name(name) });
            }
            tracing::Span::current().record("found", found.len());
            Ok(found)
        };
        scan.instrument(span).await
    }

    async fn connect(
        &self,
        address: &str,
        timeout: Duration,
    ) -> Result<Box<dyn BleConnection>, BleError> {
        let span =
            tracing::info_span!("ble_connect", address, timeout_ms = timeout.as_millis() as u64);
        let connect = async {
            let deadline = Instant::now() + timeout;
            let peripheral = self.find(address, deadline).await?;
            match self.open_connection(&peripheral, address, deadline).await {
                Ok(conn) => Ok(Box::new(conn) as Box<dyn BleConnection>),
                Err(e) => {
                    let _ =
                        bounded(self.op_timeout, "disconnect", address, peripheral.disconnect())
                            .await;
                    Err(e)
                }
            }
        };
        connect.instrument(span).await
    }
}

/// One GATT connection to a camera over btleplug. Dropping it without
/// [`BleConnection::disconnect`] disconnects in the background.
pub struct BtleConnection {
    /// `None` once disconnected.
    peripheral: Option<Peripheral>,
    address: String,
    chars: HashMap<GattUuid, Characteristic>,
    notifications: Pin<Box<dyn Stream<Item = ValueNotification> + Send>>,
    op_timeout: Duration,
}

impl BtleConnection {
    /// The connected peripheral and the characteristic `ch` of the camera service.
    fn target(&self, ch: GattUuid) -> Result<(&Peripheral, &Characteristic), BleError> {
        let p = self.peripheral.as_ref().ok_or_else(|| {
            BleError::Io(std::io::Error::new(std::io::ErrorKind::NotConnected, "disconnected"))
        })?;
        let c = self.chars.get(&ch).ok_or(BleError::Gatt(ATT_ATTRIBUTE_NOT_FOUND))?;
        Ok((p, c))
    }
}

#[async_trait]
impl BleConnection for BtleConnection {
    async fn read(&mut self, ch: GattUuid) -> Result<Vec<u8>, BleError> {
        let (p, c) = self.target(ch)?;
        let value = bounded(self.op_timeout, "read", &self.address, p.read(c)).await?;
        if value.len() > MAX_MESSAGE {
            return Err(BleError::Framing("value longer than a message"));
        }
        tracing::debug!(%ch, len = value.len(), "read");
        Ok(value)
    }

    async fn write(&mut self, ch: GattUuid, value: &[u8]) -> Result<(), BleError> {
        if value.len() > MAX_CHUNK {
            return Err(BleError::Framing("write longer than the MTU"));
        }
        let (p, c) = self.target(ch)?;
        let write = p.write(c, value, WriteType::WithResponse);
        bounded(self.op_timeout, "write", &self.address, write).await?;
        tracing::debug!(%ch, len = value.len(), "wrote");
        Ok(())
    }

    async fn subscribe(&mut self, ch: GattUuid) -> Result<(), BleError> {
        let (p, c) = self.target(ch)?;
        bounded(self.op_timeout, "subscribe", &self.address, p.subscribe(c)).await
    }

    async fn next_notification(
        &mut self,
        timeout: Duration,
    ) -> Result<(GattUuid, Vec<u8>), BleError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = tokio::time::timeout(left, self.notifications.next())
                .await
                .map_err(|_| BleError::Timeout("notification"))?;
            let Some(n) = next else {
                return Err(BleError::Io(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "the camera disconnected",
                )));
            };
            let ch = GattUuid::from(n.uuid);
            // Only the camera service's characteristics; anything else on the device is noise.
            if self.chars.contains_key(&ch) {
                tracing::trace!(%ch, len = n.value.len(), "notification");
                return Ok((ch, n.value));
            }
        }
    }

    async fn disconnect(&mut self) -> Result<(), BleError> {
        let Some(p) = self.peripheral.take() else { return Ok(()) };
        bounded(self.op_timeout, "disconnect", &self.address, p.disconnect()).await
    }
}

impl Drop for BtleConnection {
    fn drop(&mut self) {
        let Some(p) = self.peripheral.take() else { return };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = tokio::time::timeout(OP_TIMEOUT, p.disconnect()).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ble::{CONTROL_UUID, DEVICE_INFO_UUID, PAIRING_UUID};
    use super::*;

    #[test]
    fn gatt_uuids_convert_both_ways() {
        for u in [SERVICE_UUID, DEVICE_INFO_UUID, PAIRING_UUID, CONTROL_UUID, GattUuid(0)] {
            let std = uuid::Uuid::from(u);
            assert_eq!(std.to_string(), u.to_string(), "the same text form");
            assert_eq!(GattUuid::from(std), u);
        }
        let parsed = uuid::Uuid::parse_str("6b9f0001-5d1e-4c2a-9a4e-d45ca3e00001").unwrap();
        assert_eq!(GattUuid::from(parsed), SERVICE_UUID);
    }

    #[test]
    fn errors_map_to_typed_ble_errors() {
        use btleplug::Error as E;
        let m = |e| map_error(e, "read", "AA:BB:CC:DD:EE:FF");
        assert!(matches!(m(E::TimedOut(Duration::from_secs(1))), BleError::Timeout("read")));
        assert!(matches!(m(E::DeviceNotFound), BleError::NotFound(a) if a == "AA:BB:CC:DD:EE:FF"));
        assert!(matches!(m(E::NoSuchCharacteristic), BleError::Gatt(0x0a)));
        assert!(matches!(m(E::NoAdapterAvailable), BleError::NoAdapter(_)));
        assert!(matches!(m(E::PermissionDenied), BleError::Unavailable(_)));
        assert!(matches!(m(E::NotSupported("x".into())), BleError::Unavailable(_)));
        assert!(matches!(m(E::NotConnected), BleError::Io(_)));
        let other = m(E::Other("org.bluez.Error.Failed".into()));
        assert!(other.to_string().contains("org.bluez.Error.Failed"), "{other}");
        let no = BleError::NoAdapter(format!("{STACK}: socket missing"));
        assert!(no.to_string().starts_with("no Bluetooth adapter ("), "{no}");
    }

    #[test]
    fn addresses_prefer_the_mac_and_match_loosely() {
        let mac = BDAddr::from([0xaa, 0xbb, 0xcc, 0x01, 0x02, 0x03]);
        assert_eq!(device_address(mac, "/org/bluez/hci0/dev_AA"), "AA:BB:CC:01:02:03");
        let ios = "2f1c4a6e-0000-4000-8000-00000000beef";
        assert_eq!(device_address(BDAddr::default(), ios), ios);
        assert!(same_address("aa:bb:cc:01:02:03", "AA:BB:CC:01:02:03"));
        assert!(same_address("AA-BB-CC-01-02-03 ", "AA:BB:CC:01:02:03"));
        assert!(!same_address("AA:BB:CC:01:02:04", "AA:BB:CC:01:02:03"));
        assert!(!same_address("", ""));
    }

    #[test]
    fn advertised_names_are_made_safe_to_show() {
        assert_eq!(display_name(Some("Dashkeep DK-1")), "Dashkeep DK-1");
        assert_eq!(display_name(Some("evil\u{1b}[2J\r\nname")), "evil[2Jname");
        assert_eq!(display_name(None), "");
        assert_eq!(display_name(Some(&"x".repeat(500))).len(), MAX_NAME_CHARS);
    }
}
