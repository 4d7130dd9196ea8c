//! The link to the paired camera: find it over BLE, join its WiFi, stream its drives; notice
//! when it goes, say why, and come back by itself with backoff when it is in range again.
//!
//! BLE is the presence signal, as in real dash cam apps: a camera that is switched off or out of
//! range stops advertising, so after a lost link the supervisor scans until it is back.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::CompanionEvent;
use crate::camera::ble::{BleConnection, BleLink, SERVICE_UUID};
use crate::camera::control::{self, ClipMark, ControlCommand};
use crate::camera::pairing::read_device_info;
use crate::camera::{CameraClient, CameraError, PairedCamera, PairingError, WifiJoiner};
use crate::ingest::{IngestError, IngestEvent, Ingestor, RetryPolicy};

/// What the UI shows about the camera connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionState {
    /// No camera connection is wanted (never started, or stopped).
    Idle,
    /// Looking for cameras over BLE.
    Scanning,
    /// Running the pairing protocol with a camera.
    Pairing,
    /// A camera was just paired.
    Paired {
        /// Its serial.
        serial: String,
    },
    /// Connected to the paired camera over BLE.
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
        /// When the next try happens, ms; `None`: no retry (the user must act).
        retry_in_ms: Option<u64>,
    },
}

/// Why the camera connection is down.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum DisconnectReason {
    /// The user stopped it.
    Stopped,
    /// The camera is not advertising (switched off or out of range).
    NotInRange,
    /// The BLE link failed or dropped.
    BleLost(String),
    /// The phone could not join the camera's WiFi.
    WifiJoinFailed(String),
    /// The camera's API stopped answering on its WiFi.
    CameraUnreachable(String),
    /// The camera no longer accepts this phone (unpaired on the camera): pair again.
    Revoked,
    /// Something answered with a key other than the one pinned at pairing: not our camera.
    WrongCameraKey,
    /// The camera at the paired BLE address is another camera.
    WrongCamera,
}

impl DisconnectReason {
    /// Whether trying again by itself may help; otherwise the user must act (pair again).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Stopped | Self::Revoked | Self::WrongCameraKey | Self::WrongCamera)
    }
}

/// Publishes connection states: the latest one for a UI that asks, and each one as an event.
#[derive(Clone)]
pub(super) struct StatePublisher {
    pub latest: watch::Sender<ConnectionState>,
    pub events: broadcast::Sender<CompanionEvent>,
}

impl StatePublisher {
    pub fn set(&self, state: ConnectionState) {
        if *self.latest.borrow() == state {
            return;
        }
        tracing::info!(?state, "camera connection");
        self.latest.send_replace(state.clone());
        let _ = self.events.send(CompanionEvent::Connection(state));
    }
}

/// What the app asks of the connected camera over BLE, answered on `reply`.
pub(super) enum LinkRequest {
    /// Mark this moment on the camera ("clip now").
    ClipNow {
        /// Where the answer goes.
        reply: oneshot::Sender<Result<ClipMark, PairingError>>,
    },
}

/// Everything one supervisor needs.
pub(super) struct Supervisor {
    pub requests: tokio::sync::Mutex<mpsc::Receiver<LinkRequest>>,
    pub camera: PairedCamera,
    pub ble: Arc<dyn BleLink>,
    pub wifi: Arc<dyn WifiJoiner>,
    pub auto_stream: bool,
    pub retry: RetryPolicy,
    pub ingestor: Ingestor,
    pub states: StatePublisher,
    /// Whether the phone is on the camera's WiFi (joined, not yet left).
    pub joined: std::sync::atomic::AtomicBool,
    /// Where the pairing is kept: a clock offset learnt is saved with it.
    pub secrets: Arc<dyn crate::camera::secrets::SecretStore>,
}

/// How long one BLE scan listens for the camera's advertisement.
const SCAN_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the BLE link and (without streaming) the camera's API are checked.
const CHECK_EVERY: Duration = Duration::from_secs(2);

impl Supervisor {
    /// Connects, and reconnects after every loss, until cancelled or the loss needs the user.
    pub async fn run(self, cancel: CancellationToken) {
        let span = tracing::info_span!("camera_connection", serial = %self.camera.serial);
        async {
            let mut failures = 0u32;
            loop {
                let reason = match self.session(&cancel).await {
                    Ok(()) => DisconnectReason::Stopped,
                    Err(reason) => reason,
                };
                if cancel.is_cancelled() || !reason.is_retryable() {
                    self.leave_wifi().await;
                    self.states.set(ConnectionState::Disconnected { reason, retry_in_ms: None });
                    return;
                }
                failures = failures.saturating_add(1);
                let wait = self.retry.backoff(failures);
                let retry_in_ms = Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
                self.states.set(ConnectionState::Disconnected { reason, retry_in_ms });
                tokio::select! {
                    () = cancel.cancelled() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
        .instrument(span)
        .await;
    }

    /// Gives the phone its usual network back (Android unbinds the process from the camera's
    /// internet-less WiFi) once the connection is over for good; kept across reconnects.
    async fn leave_wifi(&self) {
        if self.joined.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.wifi.leave(&self.camera.payload.wifi_ssid).await;
        }
    }

    /// One connection, from scanning until it is lost; `Ok` when cancelled.
    async fn session(&self, cancel: &CancellationToken) -> Result<(), DisconnectReason> {
        let serial = self.camera.serial.clone();
        self.states.set(ConnectionState::Scanning);
        let mut ble = self.find_and_connect().await?;
        let result = async {
            self.states.set(ConnectionState::BleConnected { serial: serial.clone() });
            self.wifi_on(ble.as_mut()).await?;
            let ssid = &self.camera.payload.wifi_ssid;
            self.wifi
                .join(ssid, &self.camera.payload.wifi_passphrase)
                .await
                .map_err(|e| DisconnectReason::WifiJoinFailed(e.to_string()))?;
            self.joined.store(true, std::sync::atomic::Ordering::SeqCst);
            let network = self.wifi.camera_network();
            let client = CameraClient::paired_on(&self.camera, network).map_err(|e| lost(&e))?;
            client.status().await.map_err(|e| lost(&e))?;
            self.states.set(ConnectionState::WifiJoined { serial, ssid: ssid.clone() });
            self.stay_connected(&client, ble.as_mut(), cancel).await
        }
        .await;
        let _ = ble.disconnect().await;
        result
    }

    /// Scans for the paired camera's advertisement, connects, and checks it is that camera.
    async fn find_and_connect(&self) -> Result<Box<dyn BleConnection>, DisconnectReason> {
        let ble_lost = |e: &dyn std::fmt::Display| DisconnectReason::BleLost(e.to_string());
        let found = self.ble.scan(SERVICE_UUID, SCAN_TIMEOUT).await.map_err(|e| ble_lost(&e))?;
        if !found.iter().any(|d| d.address == self.camera.ble_address) {
            return Err(DisconnectReason::NotInRange);
        }
        let mut conn = self
            .ble
            .connect(&self.camera.ble_address, Duration::from_secs(10))
            .await
            .map_err(|e| ble_lost(&e))?;
        match read_device_info(conn.as_mut()).await {
            Ok(info) if info.serial == self.camera.serial => Ok(conn),
            Ok(_) => Err(DisconnectReason::WrongCamera),
            Err(e) => Err(ble_lost(&e)),
        }
    }

    /// Asks the camera (a signed command) to turn its WiFi on if it is off.
    async fn wifi_on(&self, ble: &mut dyn BleConnection) -> Result<(), DisconnectReason> {
        let status = match control::status(ble, &self.camera).await {
            Ok(status) => status,
            Err(e) => return Err(self.ble_failure(&e, None).await),
        };
        self.save_clock_offset().await;
        if !status.wifi_on
            && let Err(e) = control::send(ble, &self.camera, ControlCommand::WifiOn).await
        {
            return Err(self.ble_failure(&e, None).await);
        }
        Ok(())
    }

    /// Saves the camera's clock offset with the pairing when it moved by more than a second
    /// from the one kept, so a restarted app does not start on a wrong clock.
    async fn save_clock_offset(&self) {
        let learnt = crate::camera::auth::clock::offset(&self.camera.phone_id);
        if learnt.saturating_sub(self.camera.clock_offset_ms).unsigned_abs() <= 1_000 {
            return;
        }
        let mut camera = self.camera.clone();
        camera.clock_offset_ms = learnt;
        let secrets = Arc::clone(&self.secrets);
        match tokio::task::spawn_blocking(move || secrets.put(&camera)).await {
            Ok(Ok(())) => tracing::info!(offset_ms = learnt, "camera clock offset saved"),
            Ok(Err(e)) => tracing::warn!(error = %e, "camera clock offset not saved"),
            Err(e) => tracing::warn!(error = %e, "camera clock offset not saved"),
        }
    }

    /// Why a failed BLE command brings the link down. A refusal (even one carrying the
    /// camera's MAC) or an unauthenticated answer is taken as a revocation only once the pinned
    /// HTTPS API confirms it with a 401; until then it is a lost link, retried.
    async fn ble_failure(
        &self,
        e: &PairingError,
        client: Option<&CameraClient>,
    ) -> DisconnectReason {
        // A refusal, or an answer without the camera's MAC (what a camera that forgot this
        // phone sends, and what a spoofer sends), is checked over the pinned HTTPS.
        if !matches!(e, PairingError::Refused | PairingError::Unauthenticated) {
            return DisconnectReason::BleLost(e.to_string());
        }
        let confirmed = match client {
            Some(client) => client.status().await,
            None => match CameraClient::paired(&self.camera) {
                Ok(client) => client.status().await,
                Err(e) => Err(e),
            },
        };
        match confirmed {
            Err(e @ CameraError::Status { status: 401, .. }) => lost(&e),
            Err(e) => {
                tracing::info!(error = %e, "BLE refusal not confirmed over HTTPS");
                DisconnectReason::BleLost(format!("refused over BLE, unconfirmed: {e}"))
            }
            Ok(_) => {
                tracing::warn!("the camera's HTTPS accepts this phone: BLE refusal ignored");
                DisconnectReason::BleLost("refused over BLE, not by the camera's HTTPS".into())
            }
        }
    }

    /// Streams (when automatic) and watches both links until one is lost or the user stops.
    async fn stay_connected(
        &self,
        client: &CameraClient,
        ble: &mut dyn BleConnection,
        cancel: &CancellationToken,
    ) -> Result<(), DisconnectReason> {
        let stream_token = cancel.child_token();
        let _stop_streaming = stream_token.clone().drop_guard();
        let mut ingest_events = self.states.events.subscribe();
        let follow = async {
            if self.auto_stream {
                self.ingestor.follow(client, &stream_token).await
            } else {
                stream_token.cancelled().await;
                Ok(())
            }
        };
        tokio::pin!(follow);
        if self.auto_stream {
            self.states.set(ConnectionState::Streaming { serial: self.camera.serial.clone() });
        }
        let mut checks = tokio::time::interval(CHECK_EVERY);
        checks.tick().await;
        let mut requests = self.requests.lock().await;
        loop {
            tokio::select! {
                Some(request) = requests.recv() => match request {
                    LinkRequest::ClipNow { reply } => {
                        let _ = reply.send(control::clip_now(ble, &self.camera).await);
                    }
                },
                result = &mut follow => return ended(result, cancel),
                event = ingest_events.recv() => {
                    if let Ok(CompanionEvent::Ingest(IngestEvent::Disconnected { reason, .. })) = event {
                        return Err(DisconnectReason::CameraUnreachable(reason));
                    }
                }
                _ = checks.tick() => {
                    // A signed status request: also notices a phone revoked from the camera's menu.
                    if let Err(e) = control::status(ble, &self.camera).await {
                        return Err(self.ble_failure(&e, Some(client)).await);
                    }
                    if !self.auto_stream {
                        client.status().await.map_err(|e| lost(&e))?;
                    }
                }
            }
        }
    }
}

/// What the end of streaming means for the connection.
fn ended(
    result: Result<(), IngestError>,
    cancel: &CancellationToken,
) -> Result<(), DisconnectReason> {
    match result {
        Ok(()) if cancel.is_cancelled() => Ok(()),
        Ok(()) => Err(DisconnectReason::CameraUnreachable("streaming ended".into())),
        Err(IngestError::Camera(e)) => Err(lost(&e)),
        Err(e) => Err(DisconnectReason::CameraUnreachable(e.to_string())),
    }
}

/// Why a camera API failure brings the link down.
fn lost(e: &CameraError) -> DisconnectReason {
    match e {
        CameraError::Status { status: 401, .. } => DisconnectReason::Revoked,
        CameraError::WrongKey => DisconnectReason::WrongCameraKey,
        other => DisconnectReason::CameraUnreachable(other.to_string()),
    }
}
