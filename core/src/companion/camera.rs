//! The companion's side of the camera link: pairing over BLE, the pairings in the platform's
//! secret store, the paired camera's pinned and signed access, and the connection supervisor's
//! start and stop (its loop is in `connection`).

use std::sync::Arc;

use tokio::sync::Mutex;

use super::connection::{LinkRequest, Supervisor};
use super::{Companion, CompanionError, ConnectionState, StreamingTask};
use crate::camera::ble::{BleDevice, BleLink, SERVICE_UUID};
use crate::camera::pairing::{self, PairingCode};
use crate::camera::probe::{self, Dialect};
use crate::camera::secrets::SecretStoreError;
use crate::camera::{CameraClient, CameraError, CameraKey, PairedCamera, PairingError, WifiJoiner};
use crate::ingest::{IngestError, IngestReport};

/// What "stream now" found at a camera's address: the protocol it speaks, and what came over.
#[derive(Debug)]
pub struct CameraStream {
    /// The protocol the camera speaks.
    pub dialect: Dialect,
    /// What the pass listed and stored.
    pub report: IngestReport,
}

impl Companion {
    /// Talks to `camera` (a pairing from the store) over pinned HTTPS with signed requests from
    /// now on, whenever a call names its API URL (`None`: no camera is treated as paired).
    /// Streaming already running keeps the client it started with.
    pub fn use_paired_camera(&self, camera: Option<PairedCamera>) {
        self.paired.set(camera);
    }

    /// A client for the camera at `camera_url`: pinned and signed when it is a paired camera's
    /// address; a plain client (that refuses a paired camera's serial) otherwise.
    pub(super) fn camera(&self, camera_url: &str) -> Result<CameraClient, CameraError> {
        self.paired.client_for(camera_url)
    }

    /// The protocol the camera at `camera_url` speaks: Dashkeep's for a paired camera's address,
    /// otherwise found by asking ([`probe::probe`]).
    pub async fn identify_camera(&self, camera_url: &str) -> Result<Dialect, CompanionError> {
        crate::camera::check_camera_url(camera_url)?;
        if self.paired.is_paired_address(camera_url) {
            return Ok(Dialect::Dashkeep);
        }
        Ok(probe::probe(camera_url).await?)
    }

    /// "Stream now" from whatever camera answers at `camera_url`, without being told its make:
    /// a paired camera over its pinned, signed link; any other is asked which protocol it speaks
    /// ([`probe::probe`]) and streamed through that dialect's driver. An unknown camera is
    /// [`CompanionError::UnknownCamera`], listing every probe and its answer.
    pub async fn stream_camera(&self, camera_url: &str) -> Result<CameraStream, CompanionError> {
        let dialect = self.identify_camera(camera_url).await?;
        let report = match dialect {
            Dialect::Dashkeep => self.stream_now(camera_url).await?,
            vendor => {
                let driver = probe::driver_for(vendor, camera_url).map_err(IngestError::from)?;
                self.stream_files_now(driver.as_ref()).await?
            }
        };
        Ok(CameraStream { dialect, report })
    }

    /// The cameras paired with this phone (from the secret store).
    pub async fn paired_cameras(&self) -> Result<Vec<PairedCamera>, CompanionError> {
        let secrets = Arc::clone(&self.secrets);
        let known = blocking(move || secrets.list()).await?;
        self.paired.set_known(known.clone());
        Ok(known)
    }

    /// The current camera connection state (each change is also sent as an event).
    pub fn connection_state(&self) -> ConnectionState {
        self.states.latest.borrow().clone()
    }

    /// Dashkeep cameras advertising over `ble` within `timeout` (for "add a camera").
    pub async fn scan(
        &self,
        ble: &dyn BleLink,
        timeout: std::time::Duration,
    ) -> Result<Vec<BleDevice>, CompanionError> {
        let idle = self.connection.lock().await.is_none();
        if idle {
            self.states.set(ConnectionState::Scanning);
        }
        let found = ble.scan(SERVICE_UUID, timeout).await.map_err(PairingError::from);
        if idle {
            self.states.set(ConnectionState::Idle);
        }
        Ok(found?)
    }

    /// Pairs with the camera at BLE `address` using the code on its screen, and keeps the
    /// pairing in the secret store. Re-pairing a camera keeps this phone's id at the camera,
    /// proven with its current secret, so the camera replaces its old secret.
    pub async fn pair(
        &self,
        ble: &dyn BleLink,
        address: &str,
        code: &str,
    ) -> Result<PairedCamera, CompanionError> {
        let code = PairingCode::parse(code)?;
        let known = self.paired_cameras().await?;
        let previous = known.into_iter().find(|c| c.ble_address == address);
        // Re-pairing proves the phone id with its current secret (the camera refuses it else).
        let current = previous.as_ref().and_then(|c| c.credentials().ok());
        let phone_id = previous.map_or_else(pairing::new_phone_id, |c| c.phone_id);
        let secret = current.as_ref().map(|c| &c.api_secret);
        self.states.set(ConnectionState::Pairing);
        let paired = match pairing::pair_as(ble, address, &code, &phone_id, secret).await {
            Ok(paired) => paired,
            Err(e) => {
                self.states.set(ConnectionState::Idle);
                return Err(e.into());
            }
        };
        let (secrets, stored) = (Arc::clone(&self.secrets), paired.clone());
        blocking(move || secrets.put(&stored)).await?;
        self.paired.set(Some(paired.clone()));
        self.states.set(ConnectionState::Paired { serial: paired.serial.clone() });
        Ok(paired)
    }

    /// Unpairs the camera `serial`: asks it over `ble` to revoke this phone's secret (skipped
    /// with `local_only`, for a camera that is gone), then forgets the pairing here.
    pub async fn unpair(
        &self,
        ble: &dyn BleLink,
        serial: &str,
        local_only: bool,
    ) -> Result<(), CompanionError> {
        let camera = self.paired_camera(serial).await?;
        if self.paired.serial().as_deref() == Some(serial) {
            self.disconnect().await;
        }
        self.paired.forget(serial);
        if !local_only {
            pairing::unpair(ble, &camera).await?;
        }
        let (secrets, serial) = (Arc::clone(&self.secrets), serial.to_string());
        blocking(move || secrets.remove(&serial)).await?;
        Ok(())
    }

    async fn paired_camera(&self, serial: &str) -> Result<PairedCamera, CompanionError> {
        let known = self.paired_cameras().await?;
        known
            .into_iter()
            .find(|c| c.serial == serial)
            .ok_or_else(|| CompanionError::NotPaired(serial.to_string()))
    }

    /// Connects to the paired camera `serial` and keeps it connected: finds it over `ble`, joins
    /// its WiFi through `wifi`, streams its drives when `auto_stream`, and reconnects with
    /// backoff whenever it comes back in range. States arrive as [`CompanionEvent::Connection`].
    pub async fn connect(
        &self,
        serial: &str,
        ble: Arc<dyn BleLink>,
        wifi: Arc<dyn WifiJoiner>,
        auto_stream: bool,
    ) -> Result<(), CompanionError> {
        let camera = self.paired_camera(serial).await?;
        CameraKey::from_hex(&camera.payload.identity_key)
            .ok_or(PairingError::Protocol("the pinned camera key is not 32 bytes of hex"))?;
        self.disconnect().await;
        self.paired.set(Some(camera.clone()));
        let (requests, queue) = tokio::sync::mpsc::channel(4);
        let supervisor = Supervisor {
            requests: Mutex::new(queue),
            camera,
            ble,
            wifi,
            auto_stream,
            retry: self.retry,
            ingestor: self.ingestor.clone(),
            states: self.states.clone(),
            joined: std::sync::atomic::AtomicBool::new(false),
            secrets: Arc::clone(&self.secrets),
        };
        let cancel = self.stop.child_token();
        let handle = tokio::spawn(supervisor.run(cancel.clone()));
        *self.connection.lock().await = Some(StreamingTask { cancel, handle });
        *self.link_requests.lock().await = Some(requests);
        Ok(())
    }

    /// Stops the camera connection (and the streaming it runs); partial downloads are kept.
    pub async fn disconnect(&self) {
        self.link_requests.lock().await.take();
        if let Some(task) = self.connection.lock().await.take() {
            task.cancel.cancel();
            let _ = task.handle.await;
        }
    }

    /// Asks the connected camera, over BLE, to mark this moment; `None` when there is no BLE
    /// link now or the camera refuses (the clip is then made from its clock over WiFi alone).
    pub(super) async fn mark_over_ble(&self) -> Option<crate::camera::control::ClipMark> {
        let linked = matches!(
            self.connection_state(),
            ConnectionState::BleConnected { .. }
                | ConnectionState::WifiJoined { .. }
                | ConnectionState::Streaming { .. }
        );
        let sender = self.link_requests.lock().await.clone().filter(|_| linked)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        sender.send(LinkRequest::ClipNow { reply }).await.ok()?;
        match tokio::time::timeout(std::time::Duration::from_secs(10), answer).await {
            Ok(Ok(Ok(mark))) => Some(mark),
            other => {
                tracing::warn!(?other, "the camera did not mark the moment over BLE");
                None
            }
        }
    }
}

/// The cameras paired with this phone and the one the companion talks to, shared with the clip
/// pipeline (which fetches segments a clip needs from the camera too).
///
/// Once a camera is paired, the only way to reach it is its pinned, signed client: any URL on its
/// address gets that client, and a plain client refuses a camera claiming a paired serial (an
/// impostor cannot get its footage filed under the paired camera, nor rewrite its address).
#[derive(Clone, Default)]
pub(crate) struct PairedAccess(Arc<std::sync::Mutex<Paired>>);

#[derive(Default)]
struct Paired {
    /// The camera the companion talks to now.
    current: Option<PairedCamera>,
    /// Every camera paired with this phone (from the secret store), the current one included.
    known: Vec<PairedCamera>,
}

impl Paired {
    /// The paired camera whose API is at `url`'s address, the current one first.
    fn at(&self, url: &str) -> Option<&PairedCamera> {
        let target = authority(url)?;
        self.current
            .iter()
            .chain(self.known.iter())
            .find(|c| authority(&c.payload.api_url).as_ref() == Some(&target))
    }
}

impl PairedAccess {
    fn lock(&self) -> std::sync::MutexGuard<'_, Paired> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, camera: Option<PairedCamera>) {
        if let Some(camera) = &camera {
            crate::camera::auth::clock::restore(&camera.phone_id, camera.clock_offset_ms);
        }
        let mut paired = self.lock();
        if let Some(camera) = &camera {
            paired.known.retain(|c| c.serial != camera.serial);
            paired.known.push(camera.clone());
        }
        paired.current = camera;
    }

    /// Replaces the list of paired cameras (read from the secret store).
    pub(crate) fn set_known(&self, cameras: Vec<PairedCamera>) {
        for camera in &cameras {
            crate::camera::auth::clock::restore(&camera.phone_id, camera.clock_offset_ms);
        }
        let mut paired = self.lock();
        let current = paired.current.clone();
        paired.known = cameras;
        if let Some(camera) = current.filter(|c| !paired.known.iter().any(|k| k.serial == c.serial))
        {
            paired.known.push(camera);
        }
    }

    /// Forgets the pairing of `serial` (unpaired).
    fn forget(&self, serial: &str) {
        let mut paired = self.lock();
        paired.known.retain(|c| c.serial != serial);
        if paired.current.as_ref().is_some_and(|c| c.serial == serial) {
            paired.current = None;
        }
    }

    fn serial(&self) -> Option<String> {
        self.lock().current.as_ref().map(|c| c.serial.clone())
    }

    /// A client for the camera at `url`: a paired camera's pinned, signed client when `url`
    /// points at its address (whatever the scheme or path); otherwise a plain client that
    /// refuses a camera claiming the serial of a paired one.
    pub(crate) fn client_for(&self, url: &str) -> Result<CameraClient, CameraError> {
        let paired = self.lock();
        if let Some(camera) = paired.at(url) {
            return CameraClient::paired(camera);
        }
        let reserved = paired.known.iter().map(|c| c.serial.clone()).collect();
        Ok(CameraClient::new(url)?.refusing_serials(reserved))
    }

    /// Whether `url` points at a paired camera's address (whatever the scheme or path).
    pub(crate) fn is_paired_address(&self, url: &str) -> bool {
        self.lock().at(url).is_some()
    }

    /// A client for the catalogued camera `serial` last reached at `url`: its pinned, signed
    /// client when it is paired, whatever address the catalog holds.
    pub(crate) fn client_for_camera(
        &self,
        serial: &str,
        url: &str,
    ) -> Result<CameraClient, CameraError> {
        let paired = self.lock().known.iter().find(|c| c.serial == serial).cloned();
        match paired {
            Some(camera) => CameraClient::paired(&camera),
            None => self.client_for(url),
        }
    }
}

/// The `host:port` a camera URL points at (the default port filled in), to compare addresses.
fn authority(url: &str) -> Option<(String, u16)> {
    let url = reqwest::Url::parse(url).ok()?;
    Some((url.host_str()?.to_ascii_lowercase(), url.port_or_known_default()?))
}

/// The pairings in `secrets`, read once when the companion opens (so a plain client refuses
/// their serials from the first call on).
pub(super) async fn load_pairings(
    secrets: &Arc<dyn crate::camera::secrets::SecretStore>,
) -> Result<Vec<PairedCamera>, SecretStoreError> {
    let secrets = Arc::clone(secrets);
    blocking(move || secrets.list()).await
}

/// Runs a secret store call on the blocking pool (platform keystores may block).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SecretStoreError> + Send + 'static,
) -> Result<T, SecretStoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(SecretStoreError::Platform(e.to_string())))
}
