//! Pairing a phone with a camera: SPAKE2 on the code the camera shows, explicit key confirmation
//! both ways, then the camera's secrets sealed with ChaCha20-Poly1305 under an HKDF-derived key.
//!
//! Both roles live here so the simulated camera and a real firmware port share one
//! implementation: [`pair`] / [`pair_over`] for the phone, [`CameraPairing`] +
//! [`PairingSession`] for the camera. The wire format is in `docs/camera-protocol.md`.
//!
//! Messages (`[version = 1][type][body]`):
//! - `0x01 START` phone → camera: `[id_len][phone id][SPAKE2 element A (33)]`
//! - `0x02 REPLY` camera → phone: `[SPAKE2 element B (33)]`
//! - `0x03 CONFIRM` phone → camera: `[HMAC(k_phone, TH) (32)]`
//! - `0x04 PAIRED` camera → phone: `[HMAC(k_camera, TH) (32)][nonce (12)][sealed payload]`
//! - `0x7f ERROR` camera → phone: `[code][retry_after_ms: u32 BE]`
//!
//! `TH` is SHA-256 over the protocol label, phone id, camera serial and both elements; the keys
//! come from HKDF-SHA256(salt = TH, ikm = SPAKE2 key). The phone proves the key first, so a
//! party without the code gets nothing keyed by it from the camera: a wrong code yields only
//! `ERROR confirmation_failed`.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use spake2::{Ed25519Group, Identity, Password, Spake2};

use super::auth::{ApiSecret, AuthRejection, PhoneCredentials, RequestVerifier, SignedParts};
use super::ble::{
    BleError, BleLink, DEVICE_INFO_UUID, DeviceInfo, GattChannel, MessageChannel, PAIRING_UUID,
};
use super::control::{self, ControlCommand};
use crate::protocol::is_safe_id;

/// Pairing protocol version.
pub const PAIRING_VERSION: u8 = 1;
const LABEL: &[u8] = b"dashkeep-pair-v1";
const ELEMENT_LEN: usize = 33;
const MAC_LEN: usize = 32;
/// How long the phone waits for each camera answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);

const T_START: u8 = 0x01;
const T_REPLY: u8 = 0x02;
const T_CONFIRM: u8 = 0x03;
const T_PAIRED: u8 = 0x04;
const T_ERROR: u8 = 0x7f;

const E_CONFIRMATION: u8 = 1;
const E_BACKOFF: u8 = 2;
const E_BAD_MESSAGE: u8 = 3;
const E_NOT_PAIRING: u8 = 4;
const E_PHONE_TAKEN: u8 = 5;

/// Why pairing failed.
#[derive(Debug, thiserror::Error)]
pub enum PairingError {
    /// The BLE link failed or timed out.
    #[error(transparent)]
    Link(#[from] BleError),
    /// Key confirmation failed: a wrong code, or someone in the middle. Nothing else is said.
    #[error("key confirmation failed (wrong code?)")]
    ConfirmationFailed,
    /// The camera refuses new attempts for a while after wrong codes.
    #[error("camera is backing off after failed attempts; retry in {retry_after:?}")]
    BackingOff {
        /// How long until the camera accepts an attempt again.
        retry_after: Duration,
    },
    /// A code that is not 8 to 12 digits.
    #[error("a pairing code is 8 to 12 digits")]
    BadCode,
    /// The camera is not in pairing mode.
    #[error("the camera is not accepting pairing")]
    NotPairing,
    /// The peer broke the pairing protocol.
    #[error("pairing protocol violation: {0}")]
    Protocol(&'static str),
    /// The peer speaks another pairing version.
    #[error("camera speaks pairing v{0}, this app v{PAIRING_VERSION}")]
    Version(u8),
    /// The phone id is paired at the camera and this phone cannot prove its secret: re-pairing
    /// it would lock its owner out, so the camera refuses.
    #[error("this phone id is already paired at the camera; re-pairing needs its secret")]
    PhoneIdTaken,
    /// The camera answered a control command with a refusal (carrying its MAC: really it).
    #[error("camera refused the command")]
    Refused,
    /// A control answer without the camera's MAC under this phone's secret: someone else
    /// answered (a spoof), or the camera could not check the request. Never a revocation.
    #[error("a control answer not signed by the camera")]
    Unauthenticated,
}

/// The code a camera shows on its screen: 8 to 12 decimal digits. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PairingCode(String);

impl fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairingCode(<redacted>)")
    }
}

impl PairingCode {
    /// Parses a typed code (spaces and dashes ignored).
    pub fn parse(s: &str) -> Result<Self, PairingError> {
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if (8..=12).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(digits))
        } else {
            Err(PairingError::BadCode)
        }
    }

    /// A fresh random 8-digit code (for a camera entering pairing mode).
    pub fn generate() -> Self {
        use rand::RngExt;
        Self(format!("{:08}", rand::rng().random_range(0..100_000_000u32)))
    }

    /// The digits, to show on the camera's screen.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

/// The camera's secrets a phone receives once paired. `Debug` hides the secrets.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PairingPayload {
    /// Payload version (1).
    pub v: u8,
    /// The camera's serial (must match the one paired with).
    pub serial: String,
    /// The camera's WiFi network name.
    pub wifi_ssid: String,
    /// The camera's WiFi passphrase (unique per camera).
    pub wifi_passphrase: String,
    /// The base URL of the camera's HTTP API on its WiFi.
    pub api_url: String,
    /// This phone's API secret, hex (32 bytes).
    pub api_secret: String,
    /// The camera's long-term Ed25519 identity public key, hex (32 bytes); the phone pins it.
    pub identity_key: String,
}

impl fmt::Debug for PairingPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairingPayload")
            .field("serial", &self.serial)
            .field("wifi_ssid", &self.wifi_ssid)
            .field("api_url", &self.api_url)
            .field("identity_key", &self.identity_key)
            .finish_non_exhaustive()
    }
}

/// What a successful pairing leaves on the phone (stored by a `SecretStore`).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PairedCamera {
    /// The camera's serial.
    pub serial: String,
    /// The camera's model, for display.
    pub model: String,
    /// The camera's BLE address (the link's).
    pub ble_address: String,
    /// This phone's id at the camera.
    pub phone_id: String,
    /// The secrets.
    pub payload: PairingPayload,
    /// When the pairing happened, ms since the epoch.
    pub paired_at_ms: i64,
    /// The camera's clock minus the phone's, ms, as last learnt from the camera's signed
    /// answers; kept with the pairing so a restarted app signs on the camera's clock at once.
    #[serde(default)]
    pub clock_offset_ms: i64,
}

impl fmt::Debug for PairedCamera {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairedCamera")
            .field("serial", &self.serial)
            .field("model", &self.model)
            .field("ble_address", &self.ble_address)
            .field("phone_id", &self.phone_id)
            .field("payload", &self.payload)
            .finish_non_exhaustive()
    }
}

impl PairedCamera {
    /// The credentials to sign camera requests with.
    pub fn credentials(&self) -> Result<PhoneCredentials, PairingError> {
        Ok(PhoneCredentials {
            phone_id: self.phone_id.clone(),
            api_secret: ApiSecret(decode32(&self.payload.api_secret)?),
        })
    }
}

fn decode32(s: &str) -> Result<[u8; 32], PairingError> {
    hex::decode(s)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or(PairingError::Protocol("a key is not 32 bytes of hex"))
}

/// A fresh random phone id (32 hex digits).
pub fn new_phone_id() -> String {
    use rand::RngExt;
    format!("{:032x}", rand::rng().random::<u128>())
}

struct Keys {
    th: [u8; 32],
    confirm_phone: [u8; 32],
    confirm_camera: [u8; 32],
    seal: [u8; 32],
}

fn lp(h: &mut Sha256, b: &[u8]) {
    h.update((b.len() as u16).to_be_bytes());
    h.update(b);
}

fn derive(k: &[u8], phone_id: &str, serial: &str, a: &[u8], b: &[u8]) -> Keys {
    let mut h = Sha256::new();
    lp(&mut h, LABEL);
    lp(&mut h, phone_id.as_bytes());
    lp(&mut h, serial.as_bytes());
    lp(&mut h, a);
    lp(&mut h, b);
    let th: [u8; 32] = h.finalize().into();
    let hk = Hkdf::<Sha256>::new(Some(&th), k);
    let expand = |info: &[u8]| {
        let mut out = [0u8; 32];
        hk.expand(info, &mut out).expect("32 bytes is a valid HKDF length");
        out
    };
    Keys {
        th,
        confirm_phone: expand(b"dk1 confirm phone"),
        confirm_camera: expand(b"dk1 confirm camera"),
        seal: expand(b"dk1 seal payload"),
    }
}

fn confirm_mac(key: &[u8; 32], th: &[u8; 32]) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
    m.update(th);
    m
}

fn msg(t: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![PAIRING_VERSION, t];
    m.extend_from_slice(body);
    m
}

fn error_msg(code: u8, retry_after: Duration) -> Vec<u8> {
    let ms = u32::try_from(retry_after.as_millis()).unwrap_or(u32::MAX);
    let mut b = vec![code];
    b.extend_from_slice(&ms.to_be_bytes());
    msg(T_ERROR, &b)
}

/// Splits a message into its type and body, checking the version.
fn open(m: &[u8]) -> Result<(u8, &[u8]), PairingError> {
    match m {
        [PAIRING_VERSION, t, body @ ..] => Ok((*t, body)),
        [v, ..] => Err(PairingError::Version(*v)),
        [] => Err(PairingError::Protocol("empty message")),
    }
}

fn camera_error(body: &[u8]) -> PairingError {
    let retry = body.get(1..5).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).unwrap_or(0);
    match body.first() {
        Some(&E_CONFIRMATION) => PairingError::ConfirmationFailed,
        Some(&E_BACKOFF) => {
            PairingError::BackingOff { retry_after: Duration::from_millis(u64::from(retry)) }
        }
        Some(&E_NOT_PAIRING) => PairingError::NotPairing,
        Some(&E_PHONE_TAKEN) => PairingError::PhoneIdTaken,
        _ => PairingError::Protocol("camera refused the message"),
    }
}

/// Pairs over an open message channel with a camera whose device info is `info`.
pub async fn pair_over(
    chan: &mut dyn MessageChannel,
    serial: &str,
    code: &PairingCode,
    phone_id: &str,
) -> Result<PairingPayload, PairingError> {
    pair_over_as(chan, serial, code, phone_id, None).await
}

/// [`pair_over`] for a phone re-pairing under an id the camera knows, proving it with the
/// `current` secret of that id (the camera refuses an unproven re-pair: [`PairingError::PhoneIdTaken`]).
pub async fn pair_over_as(
    chan: &mut dyn MessageChannel,
    serial: &str,
    code: &PairingCode,
    phone_id: &str,
    current: Option<&ApiSecret>,
) -> Result<PairingPayload, PairingError> {
    if !is_safe_id(phone_id) || !is_safe_id(serial) {
        return Err(PairingError::Protocol("unsafe phone id or serial"));
    }
    let (state, element_a) = Spake2::<Ed25519Group>::start_a(
        &Password::new(code.0.as_bytes()),
        &Identity::new(phone_id.as_bytes()),
        &Identity::new(serial.as_bytes()),
    );
    let mut body = vec![phone_id.len() as u8];
    body.extend_from_slice(phone_id.as_bytes());
    body.extend_from_slice(&element_a);
    if let Some(secret) = current {
        body.extend_from_slice(&repair_proof(secret, phone_id, &element_a).finalize().into_bytes());
    }
    chan.send(&msg(T_START, &body)).await?;
    let reply = chan.recv(ANSWER_TIMEOUT).await?;
    let element_b = match open(&reply)? {
        (T_REPLY, b) if b.len() == ELEMENT_LEN => b.to_vec(),
        (T_ERROR, b) => return Err(camera_error(b)),
        _ => return Err(PairingError::Protocol("expected REPLY")),
    };
    let k = state.finish(&element_b).map_err(|_| PairingError::ConfirmationFailed)?;
    let keys = derive(&k, phone_id, serial, &element_a, &element_b);
    let c_phone = confirm_mac(&keys.confirm_phone, &keys.th).finalize().into_bytes();
    chan.send(&msg(T_CONFIRM, &c_phone)).await?;
    let paired = chan.recv(ANSWER_TIMEOUT).await?;
    let body = match open(&paired)? {
        (T_PAIRED, b) if b.len() > MAC_LEN + 12 => b,
        (T_ERROR, b) => return Err(camera_error(b)),
        _ => return Err(PairingError::Protocol("expected PAIRED")),
    };
    confirm_mac(&keys.confirm_camera, &keys.th)
        .verify_slice(&body[..MAC_LEN])
        .map_err(|_| PairingError::ConfirmationFailed)?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&keys.seal));
    let nonce = Nonce::from_slice(&body[MAC_LEN..MAC_LEN + 12]);
    let plain = cipher
        .decrypt(nonce, Payload { msg: &body[MAC_LEN + 12..], aad: &keys.th })
        .map_err(|_| PairingError::Protocol("sealed payload does not open"))?;
    let payload: PairingPayload = serde_json::from_slice(&plain)
        .map_err(|_| PairingError::Protocol("sealed payload is not a pairing payload"))?;
    if payload.v != 1 || payload.serial != serial {
        return Err(PairingError::Protocol("payload for another camera"));
    }
    decode32(&payload.api_secret)?;
    decode32(&payload.identity_key)?;
    Ok(payload)
}

/// Connects to the camera at `address` over `link`, reads its device info and pairs.
pub async fn pair(
    link: &dyn BleLink,
    address: &str,
    code: &PairingCode,
    phone_id: &str,
) -> Result<PairedCamera, PairingError> {
    pair_as(link, address, code, phone_id, None).await
}

/// [`pair`], re-pairing under a phone id the camera knows with its `current` secret.
pub async fn pair_as(
    link: &dyn BleLink,
    address: &str,
    code: &PairingCode,
    phone_id: &str,
    current: Option<&ApiSecret>,
) -> Result<PairedCamera, PairingError> {
    let mut conn = link.connect(address, Duration::from_secs(10)).await?;
    let result = async {
        let info = read_device_info(conn.as_mut()).await?;
        if !info.pairing {
            return Err(PairingError::NotPairing);
        }
        let mut chan = GattChannel::open(conn.as_mut(), PAIRING_UUID).await?;
        let payload = pair_over_as(&mut chan, &info.serial, code, phone_id, current).await?;
        tracing::info!(serial = %info.serial, phone_id, "paired with camera");
        Ok(PairedCamera {
            serial: info.serial,
            model: info.model,
            ble_address: address.to_string(),
            phone_id: phone_id.to_string(),
            payload,
            paired_at_ms: super::auth::now_ms(),
            clock_offset_ms: 0,
        })
    }
    .await;
    let _ = conn.disconnect().await;
    result
}

/// Reads the camera's flash; `None` when it is missing or unreadable (a fresh camera).
fn load_flash(path: &std::path::Path) -> Option<Flash> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Writes the camera's flash atomically (a temporary file renamed over it), owner-only.
fn store_flash(path: &std::path::Path, flash: &Flash) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(&serde_json::to_vec(flash).map_err(std::io::Error::other)?)?;
    file.sync_all()?;
    std::fs::rename(tmp, path)
}

/// Reads and checks a camera's device info.
pub async fn read_device_info(
    conn: &mut dyn super::ble::BleConnection,
) -> Result<DeviceInfo, PairingError> {
    let raw = conn.read(DEVICE_INFO_UUID).await?;
    let info: DeviceInfo = serde_json::from_slice(&raw)
        .map_err(|_| PairingError::Protocol("device info is not JSON"))?;
    if info.version != PAIRING_VERSION {
        return Err(PairingError::Version(info.version));
    }
    if !is_safe_id(&info.serial) {
        return Err(PairingError::Protocol("unsafe serial"));
    }
    Ok(info)
}

/// Asks the camera over BLE to forget this phone (revoking its secret). A signed command.
pub async fn unpair(link: &dyn BleLink, camera: &PairedCamera) -> Result<(), PairingError> {
    let mut conn = link.connect(&camera.ble_address, Duration::from_secs(10)).await?;
    let result = super::control::send(conn.as_mut(), camera, ControlCommand::Unpair).await;
    let _ = conn.disconnect().await;
    result.map(|_| ())
}

/// A camera's secrets and its paired phones: the camera side of pairing and request auth.
///
/// Pairing is open only within a [`PairingWindow`], opened by an action on the camera
/// ([`Self::open_window`], a button) with a fresh code, and closed by one success or after
/// [`Self::with_window_len`] (3 minutes by default). Failed attempts back off within the window
/// only, so a new press lets the owner in. The window, the back-off, the paired phones and the
/// replay high-water mark are kept in the camera's flash ([`Self::with_flash`]) with wall-clock
/// deadlines, so a reboot ([`Self::reboot`]) loses none of them.
pub struct CameraPairing {
    serial: String,
    wifi_ssid: String,
    wifi_passphrase: String,
    api_url: String,
    identity_key: [u8; 32],
    phones: HashMap<String, ApiSecret>,
    window: Option<PairingWindow>,
    /// No signed request with a timestamp at or before this may be accepted after a reboot
    /// (persisted ahead of every accepted timestamp).
    accepted_until_ms: i64,
    backoff_base: Duration,
    window_len: Duration,
    verifier: RequestVerifier,
    flash: Option<PathBuf>,
}

/// A pairing window: opened by an action on the camera, with its own code and back-off.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct PairingWindow {
    code: String,
    closes_at_ms: i64,
    failures: u32,
    locked_until_ms: i64,
}

/// What the camera keeps in flash across reboots.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Flash {
    window: Option<PairingWindow>,
    /// Phone id → API secret (hex).
    phones: std::collections::BTreeMap<String, String>,
    accepted_until_ms: i64,
}

impl fmt::Debug for CameraPairing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CameraPairing")
            .field("serial", &self.serial)
            .field("phones", &self.phones.len())
            .field("window_open", &self.window.is_some())
            .finish_non_exhaustive()
    }
}

/// The longest a camera makes a phone wait between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How long a pairing window stays open without a success.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(180);
/// How far ahead of an accepted timestamp the replay high-water mark is written to flash (one
/// write per lease, not one per request).
const ACCEPT_LEASE_MS: i64 = 5_000;

/// The camera's state for one BLE connection's pairing exchange.
#[derive(Default)]
pub struct PairingSession {
    pending: Option<Pending>,
}

struct Pending {
    phone_id: String,
    keys: Keys,
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The proof a phone re-pairing under an id it already holds adds to START: its current secret
/// over its id and its SPAKE2 element (so the id alone, which travels in clear, cannot replace
/// the owner's secret).
fn repair_proof(secret: &ApiSecret, phone_id: &str, element_a: &[u8]) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&secret.0).expect("HMAC takes any key");
    m.update(b"dk1 re-pair\n");
    m.update(phone_id.as_bytes());
    m.update(b"\n");
    m.update(element_a);
    m
}

impl CameraPairing {
    /// A camera with these secrets and no pairing window open. After each attempt in a window
    /// the next one waits `backoff_base × 2^(failures − 1)` (capped at [`MAX_BACKOFF`]).
    pub fn new(
        serial: &str,
        wifi: (String, String),
        api_url: String,
        identity_key: [u8; 32],
        backoff_base: Duration,
    ) -> Self {
        Self {
            serial: serial.to_string(),
            wifi_ssid: wifi.0,
            wifi_passphrase: wifi.1,
            api_url,
            identity_key,
            phones: HashMap::new(),
            window: None,
            accepted_until_ms: i64::MIN,
            backoff_base,
            window_len: DEFAULT_WINDOW,
            verifier: RequestVerifier::default(),
            flash: None,
        }
    }

    /// The same camera, keeping its state in the flash file `path` (written atomically at every
    /// change, read back by [`Self::reboot`]).
    pub fn with_flash(mut self, path: impl Into<PathBuf>) -> Self {
        self.flash = Some(path.into());
        self
    }

    /// The same camera, with pairing windows of `len`.
    pub fn with_window_len(mut self, len: Duration) -> Self {
        self.window_len = len;
        self
    }

    /// Opens a pairing window (the user pressed the camera's pairing button): a fresh code
    /// (`code`, or a random one), no failures, open until `now_ms` + the window length.
    pub fn open_window(&mut self, code: Option<PairingCode>, now_ms: i64) -> PairingCode {
        let code = code.unwrap_or_else(PairingCode::generate);
        self.window = Some(PairingWindow {
            code: code.0.clone(),
            closes_at_ms: now_ms.saturating_add(duration_ms(self.window_len)),
            failures: 0,
            locked_until_ms: i64::MIN,
        });
        self.save();
        tracing::info!("pairing window opened");
        code
    }

    fn open_window_at(&mut self, now_ms: i64) -> Option<&mut PairingWindow> {
        self.window.as_mut().filter(|w| now_ms < w.closes_at_ms)
    }

    /// The code on the screen while a window is open.
    pub fn shown_code(&self, now_ms: i64) -> Option<PairingCode> {
        let w = self.window.as_ref().filter(|w| now_ms < w.closes_at_ms)?;
        Some(PairingCode(w.code.clone()))
    }

    /// Whether the camera accepts pairing now (a window is open).
    pub fn is_pairing(&self, now_ms: i64) -> bool {
        self.shown_code(now_ms).is_some()
    }

    /// The paired phones' ids.
    pub fn phones(&self) -> Vec<String> {
        let mut v: Vec<_> = self.phones.keys().cloned().collect();
        v.sort();
        v
    }

    /// Forgets a phone (its secret stops working at once). Returns whether it was paired.
    pub fn revoke(&mut self, phone_id: &str) -> bool {
        let was = self.phones.remove(phone_id).is_some();
        self.save();
        was
    }

    /// A reboot: what was only in memory is lost (the nonces seen), the rest is read back from
    /// flash; a signed request from before the reboot (at or before the persisted high-water
    /// mark) is refused ([`AuthRejection::Rebooted`]), so the lost nonces allow no replay.
    pub fn reboot(&mut self) {
        if let Some(flash) = self.flash.as_ref().and_then(|p| load_flash(p)) {
            self.window = flash.window;
            self.accepted_until_ms = flash.accepted_until_ms;
            self.phones = flash
                .phones
                .into_iter()
                .filter_map(|(id, hex)| Some((id, ApiSecret(decode32(&hex).ok()?))))
                .collect();
        }
        self.verifier = RequestVerifier::after_reboot(self.accepted_until_ms);
    }

    fn save(&self) {
        let Some(path) = &self.flash else { return };
        let flash = Flash {
            window: self.window.clone(),
            phones: self.phones.iter().map(|(id, s)| (id.clone(), hex::encode(s.0))).collect(),
            accepted_until_ms: self.accepted_until_ms,
        };
        if let Err(e) = store_flash(path, &flash) {
            tracing::error!(error = %e, "camera flash write failed");
        }
    }

    /// Checks a signed HTTP request (or control command).
    pub fn verify_request(
        &mut self,
        header: Option<&str>,
        parts: &SignedParts<'_>,
        now_ms: i64,
    ) -> Result<String, AuthRejection> {
        let phones = &self.phones;
        let (phone, ts) =
            self.verifier.verify_at(header, parts, now_ms, |id| phones.get(id).cloned())?;
        if ts >= self.accepted_until_ms {
            self.accepted_until_ms = ts.saturating_add(ACCEPT_LEASE_MS);
            self.save();
        }
        Ok(phone)
    }

    /// The camera's signed time for a request refused as stale (its signature verified): the
    /// `(time, mac hex)` pair of [`super::auth::CAMERA_TIME_HEADER`] /
    /// [`super::auth::CAMERA_MAC_HEADER`], or `None` for an unknown phone.
    pub fn clock_answer(&self, header: &str, now_ms: i64) -> Option<(String, String)> {
        use super::auth::{CLOCK_STATUS, HTTP_CLOCK_OP, answer_mac, nonce_of, phone_of};
        let secret = self.phones.get(phone_of(header)?)?;
        let time = now_ms.to_string();
        let mac =
            answer_mac(secret, HTTP_CLOCK_OP, CLOCK_STATUS, nonce_of(header)?, time.as_bytes());
        Some((time, hex::encode(mac)))
    }

    /// Answers one pairing message of a connection; `now_ms` is the camera's wall clock.
    pub fn handle(&mut self, session: &mut PairingSession, m: &[u8], now_ms: i64) -> Vec<u8> {
        let (t, body) = match open(m) {
            Ok(x) => x,
            Err(_) => return error_msg(E_BAD_MESSAGE, Duration::ZERO),
        };
        match t {
            T_START => self.start(session, body, now_ms),
            T_CONFIRM => self.confirm(session, body),
            _ => error_msg(E_BAD_MESSAGE, Duration::ZERO),
        }
    }

    fn start(&mut self, session: &mut PairingSession, body: &[u8], now_ms: i64) -> Vec<u8> {
        let base = self.backoff_base;
        let Some(window) = self.open_window_at(now_ms) else {
            return error_msg(E_NOT_PAIRING, Duration::ZERO);
        };
        if window.locked_until_ms > now_ms {
            let wait = window.locked_until_ms.saturating_sub(now_ms);
            return error_msg(E_BACKOFF, Duration::from_millis(wait.unsigned_abs()));
        }
        let Some((&n, rest)) = body.split_first() else {
            return error_msg(E_BAD_MESSAGE, Duration::ZERO);
        };
        let n = usize::from(n);
        if rest.len() != n + ELEMENT_LEN && rest.len() != n + ELEMENT_LEN + MAC_LEN {
            return error_msg(E_BAD_MESSAGE, Duration::ZERO);
        }
        let Ok(phone_id) = std::str::from_utf8(&rest[..n]) else {
            return error_msg(E_BAD_MESSAGE, Duration::ZERO);
        };
        if !is_safe_id(phone_id) {
            return error_msg(E_BAD_MESSAGE, Duration::ZERO);
        }
        let (element_a, proof) = rest[n..].split_at(ELEMENT_LEN);
        // Every attempt counts until it is confirmed: an abandoned one costs like a wrong one.
        window.failures = window.failures.saturating_add(1);
        let wait = base.saturating_mul(1u32 << (window.failures - 1).min(20)).min(MAX_BACKOFF);
        window.locked_until_ms = now_ms.saturating_add(duration_ms(wait));
        let (code, attempt) = (window.code.clone(), window.failures);
        self.save();
        if let Some(secret) = self.phones.get(phone_id)
            && repair_proof(secret, phone_id, element_a).verify_slice(proof).is_err()
        {
            tracing::warn!(phone_id, "re-pairing a paired phone id without its secret");
            return error_msg(E_PHONE_TAKEN, Duration::ZERO);
        }
        let (state, element_b) = Spake2::<Ed25519Group>::start_b(
            &Password::new(code.as_bytes()),
            &Identity::new(phone_id.as_bytes()),
            &Identity::new(self.serial.as_bytes()),
        );
        let Ok(k) = state.finish(element_a) else {
            return error_msg(E_BAD_MESSAGE, Duration::ZERO);
        };
        let keys = derive(&k, phone_id, &self.serial, element_a, &element_b);
        session.pending = Some(Pending { phone_id: phone_id.to_string(), keys });
        tracing::info!(phone_id, attempt, "pairing attempt");
        msg(T_REPLY, &element_b)
    }

    fn confirm(&mut self, session: &mut PairingSession, body: &[u8]) -> Vec<u8> {
        let Some(p) = session.pending.take() else {
            return error_msg(E_BAD_MESSAGE, Duration::ZERO);
        };
        if confirm_mac(&p.keys.confirm_phone, &p.keys.th).verify_slice(body).is_err() {
            tracing::warn!(phone_id = %p.phone_id, "pairing confirmation failed");
            return error_msg(E_CONFIRMATION, Duration::ZERO);
        }
        let secret = ApiSecret::generate();
        let payload = PairingPayload {
            v: 1,
            serial: self.serial.clone(),
            wifi_ssid: self.wifi_ssid.clone(),
            wifi_passphrase: self.wifi_passphrase.clone(),
            api_url: self.api_url.clone(),
            api_secret: hex::encode(secret.0),
            identity_key: hex::encode(self.identity_key),
        };
        let plain = serde_json::to_vec(&payload).expect("payload serializes");
        let nonce: [u8; 12] = {
            use rand::RngExt;
            rand::rng().random()
        };
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&p.keys.seal));
        let Ok(sealed) =
            cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: &plain, aad: &p.keys.th })
        else {
            return error_msg(E_BAD_MESSAGE, Duration::ZERO);
        };
        // One success closes the window; a re-pair (proven at START) replaces the secret.
        self.window = None;
        self.phones.insert(p.phone_id.clone(), secret);
        self.save();
        tracing::info!(phone_id = %p.phone_id, "phone paired; pairing window closed");
        let mut out =
            confirm_mac(&p.keys.confirm_camera, &p.keys.th).finalize().into_bytes().to_vec();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        msg(T_PAIRED, &out)
    }

    /// Answers one control message (signed commands from paired phones): checks its signature,
    /// performs an unpair itself, and hands every other command to `act`, whose `Some(body)`
    /// is the answer (`None`: refused). Every answer to a phone whose signature verified carries
    /// a MAC under its secret; a request signed outside the window gets the camera's clock.
    pub fn handle_control(
        &mut self,
        m: &[u8],
        now_ms: i64,
        act: impl FnOnce(ControlCommand) -> Option<Vec<u8>>,
    ) -> Vec<u8> {
        use control::{STATUS_CLOCK, STATUS_OK, STATUS_REFUSED};
        let request = match control::parse_request(m) {
            Ok(r) => r,
            Err(op) => return control::answer(op, STATUS_REFUSED, None, &[]),
        };
        let (command, op) = (request.command, request.command.op());
        let parts = command.signed_parts(request.body);
        let nonce = super::auth::nonce_of(request.authorization).unwrap_or_default().to_string();
        let verdict = self.verify_request(Some(request.authorization), &parts, now_ms);
        let phone = match verdict {
            Ok(phone) => phone,
            Err(AuthRejection::Stale) => {
                // The signature verified: tell this phone the camera's time, signed.
                let secret = super::auth::phone_of(request.authorization)
                    .and_then(|id| self.phones.get(id).cloned());
                let key = secret.as_ref().map(|s| (s, nonce.as_str()));
                return control::answer(op, STATUS_CLOCK, key, now_ms.to_string().as_bytes());
            }
            Err(e) => {
                tracing::warn!(reason = %e, ?command, "control command refused");
                return control::answer(op, STATUS_REFUSED, None, &[]);
            }
        };
        let Some(secret) = self.phones.get(&phone).cloned() else {
            return control::answer(op, STATUS_REFUSED, None, &[]);
        };
        let key = Some((&secret, nonce.as_str()));
        if command == ControlCommand::Unpair {
            self.revoke(&phone);
            tracing::info!(phone_id = %phone, "phone unpaired");
            return control::answer(op, STATUS_OK, key, &[]);
        }
        match act(command) {
            Some(body) => control::answer(op, STATUS_OK, key, &body),
            None => control::answer(op, STATUS_REFUSED, key, &[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;

    /// The camera in process: each message sent is answered at once.
    struct Direct<'a> {
        camera: &'a mut CameraPairing,
        session: PairingSession,
        answer: Option<Vec<u8>>,
        now: i64,
    }

    #[async_trait]
    impl MessageChannel for Direct<'_> {
        async fn send(&mut self, m: &[u8]) -> Result<(), BleError> {
            self.answer = Some(self.camera.handle(&mut self.session, m, self.now));
            Ok(())
        }
        async fn recv(&mut self, _: Duration) -> Result<Vec<u8>, BleError> {
            self.answer.take().ok_or(BleError::Timeout("test"))
        }
    }

    const T0: i64 = 1_800_000_000_000;

    fn camera(code: &str) -> CameraPairing {
        let mut cam = CameraPairing::new(
            "CAM1",
            ("ssid".into(), "passphrase-123".into()),
            "http://127.0.0.1:1".into(),
            [5; 32],
            Duration::from_secs(1),
        );
        cam.open_window(Some(PairingCode::parse(code).unwrap()), T0);
        cam
    }

    async fn attempt(
        cam: &mut CameraPairing,
        code: &str,
        now: i64,
    ) -> Result<PairingPayload, PairingError> {
        let mut chan =
            Direct { camera: cam, session: PairingSession::default(), answer: None, now };
        pair_over(&mut chan, "CAM1", &PairingCode::parse(code).unwrap(), "phone1").await
    }

    #[tokio::test]
    async fn pairs_and_backs_off_exponentially() {
        let mut cam = camera("12345678");
        let t0 = T0;
        let err = attempt(&mut cam, "87654321", t0).await.unwrap_err();
        assert!(matches!(err, PairingError::ConfirmationFailed));
        let err = attempt(&mut cam, "12345678", t0).await.unwrap_err();
        assert!(matches!(err, PairingError::BackingOff { .. }));
        let t1 = t0 + 1000;
        assert!(attempt(&mut cam, "87654321", t1).await.is_err());
        let Err(PairingError::BackingOff { retry_after }) =
            attempt(&mut cam, "12345678", t1 + 1500).await
        else {
            panic!("expected back-off")
        };
        assert_eq!(retry_after, Duration::from_millis(500));
        let ok = attempt(&mut cam, "12345678", t1 + 2000).await.unwrap();
        assert_eq!(ok.serial, "CAM1");
        assert_eq!(ok.wifi_passphrase, "passphrase-123");
        assert_eq!(cam.phones(), vec!["phone1".to_string()]);
        // A success closes the window: the same code is worth nothing now.
        let again = attempt(&mut cam, "12345678", t1 + 2000).await.unwrap_err();
        assert!(matches!(again, PairingError::NotPairing), "{again:?}");
    }

    #[test]
    fn refuses_malformed_messages_and_unknown_versions() {
        let mut cam = camera("12345678");
        let mut s = PairingSession::default();
        let now = T0;
        for m in [&[][..], &[2, 1, 0], &[1, 1, 200], &[1, 3, 0], &[1, 9]] {
            let answer = cam.handle(&mut s, m, now);
            assert_eq!(&answer[..3], &[1, T_ERROR, E_BAD_MESSAGE], "{m:?}");
        }
        let mut off = camera("12345678");
        off.window = None;
        assert_eq!(off.handle(&mut s, &[1, T_START, 0], now)[2], E_NOT_PAIRING);
    }

    #[test]
    fn codes() {
        assert!(PairingCode::parse("1234 5678").is_ok());
        assert!(PairingCode::parse("1234567").is_err());
        assert!(PairingCode::parse("1234567a").is_err());
        let c = PairingCode::generate();
        assert_eq!(c.reveal().len(), 8);
        assert!(!format!("{c:?}").contains(c.reveal()));
    }
}
