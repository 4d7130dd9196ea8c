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
use std::time::{Duration, Instant};

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
    /// The camera answered a control command with a refusal.
    #[error("camera refused the command")]
    Refused,
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
    let mut conn = link.connect(address, Duration::from_secs(10)).await?;
    let result = async {
        let info = read_device_info(conn.as_mut()).await?;
        if !info.pairing {
            return Err(PairingError::NotPairing);
        }
        let mut chan = GattChannel::open(conn.as_mut(), PAIRING_UUID).await?;
        let payload = pair_over(&mut chan, &info.serial, code, phone_id).await?;
        tracing::info!(serial = %info.serial, phone_id, "paired with camera");
        Ok(PairedCamera {
            serial: info.serial,
            model: info.model,
            ble_address: address.to_string(),
            phone_id: phone_id.to_string(),
            payload,
            paired_at_ms: super::auth::now_ms(),
        })
    }
    .await;
    let _ = conn.disconnect().await;
    result
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
pub struct CameraPairing {
    code: Option<PairingCode>,
    serial: String,
    wifi_ssid: String,
    wifi_passphrase: String,
    api_url: String,
    identity_key: [u8; 32],
    phones: HashMap<String, ApiSecret>,
    failures: u32,
    locked_until: Option<Instant>,
    backoff_base: Duration,
    verifier: RequestVerifier,
}

impl fmt::Debug for CameraPairing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CameraPairing")
            .field("serial", &self.serial)
            .field("phones", &self.phones.len())
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

/// The longest a camera makes a phone wait between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The camera's state for one BLE connection's pairing exchange.
#[derive(Default)]
pub struct PairingSession {
    pending: Option<Pending>,
}

struct Pending {
    phone_id: String,
    keys: Keys,
}

impl CameraPairing {
    /// A camera with these secrets; `code` is what it shows (None: not in pairing mode).
    /// After each attempt the next one waits `backoff_base × 2^(failures − 1)` (capped at
    /// [`MAX_BACKOFF`]); a success resets it.
    pub fn new(
        serial: &str,
        code: Option<PairingCode>,
        wifi: (String, String),
        api_url: String,
        identity_key: [u8; 32],
        backoff_base: Duration,
    ) -> Self {
        Self {
            code,
            serial: serial.to_string(),
            wifi_ssid: wifi.0,
            wifi_passphrase: wifi.1,
            api_url,
            identity_key,
            phones: HashMap::new(),
            failures: 0,
            locked_until: None,
            backoff_base,
            verifier: RequestVerifier::default(),
        }
    }

    /// Whether the camera accepts pairing now.
    pub fn is_pairing(&self) -> bool {
        self.code.is_some()
    }

    /// The paired phones' ids.
    pub fn phones(&self) -> Vec<String> {
        let mut v: Vec<_> = self.phones.keys().cloned().collect();
        v.sort();
        v
    }

    /// Forgets a phone (its secret stops working at once). Returns whether it was paired.
    pub fn revoke(&mut self, phone_id: &str) -> bool {
        self.phones.remove(phone_id).is_some()
    }

    /// Checks a signed HTTP request.
    pub fn verify_request(
        &mut self,
        header: Option<&str>,
        parts: &SignedParts<'_>,
        now_ms: i64,
    ) -> Result<String, AuthRejection> {
        let phones = &self.phones;
        self.verifier.verify(header, parts, now_ms, |id| phones.get(id).cloned())
    }

    /// Answers one pairing message of a connection.
    pub fn handle(&mut self, session: &mut PairingSession, m: &[u8], now: Instant) -> Vec<u8> {
        let (t, body) = match open(m) {
            Ok(x) => x,
            Err(_) => return error_msg(E_BAD_MESSAGE, Duration::ZERO),
        };
        match t {
            T_START => self.start(session, body, now),
            T_CONFIRM => self.confirm(session, body),
            _ => error_msg(E_BAD_MESSAGE, Duration::ZERO),
        }
    }

    fn start(&mut self, session: &mut PairingSession, body: &[u8], now: Instant) -> Vec<u8> {
        let Some(code) = &self.code else { return error_msg(E_NOT_PAIRING, Duration::ZERO) };
        if let Some(until) = self.locked_until
            && until > now
        {
            return error_msg(E_BACKOFF, until - now);
        }
        let Some((&n, rest)) = body.split_first() else {
            return error_msg(E_BAD_MESSAGE, Duration::ZERO);
        };
        let n = usize::from(n);
        if rest.len() != n + ELEMENT_LEN {
            return error_msg(E_BAD_MESSAGE, Duration::ZERO);
        }
        let Ok(phone_id) = std::str::from_utf8(&rest[..n]) else {
            return error_msg(E_BAD_MESSAGE, Duration::ZERO);
        };
        if !is_safe_id(phone_id) {
            return error_msg(E_BAD_MESSAGE, Duration::ZERO);
        }
        let element_a = &rest[n..];
        // Every attempt counts until it is confirmed: an abandoned one costs like a wrong one.
        self.failures = self.failures.saturating_add(1);
        let wait =
            self.backoff_base.saturating_mul(1u32 << (self.failures - 1).min(20)).min(MAX_BACKOFF);
        self.locked_until = Some(now + wait);
        let (state, element_b) = Spake2::<Ed25519Group>::start_b(
            &Password::new(code.0.as_bytes()),
            &Identity::new(phone_id.as_bytes()),
            &Identity::new(self.serial.as_bytes()),
        );
        let Ok(k) = state.finish(element_a) else {
            return error_msg(E_BAD_MESSAGE, Duration::ZERO);
        };
        let keys = derive(&k, phone_id, &self.serial, element_a, &element_b);
        session.pending = Some(Pending { phone_id: phone_id.to_string(), keys });
        tracing::info!(phone_id, attempt = self.failures, "pairing attempt");
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
        self.failures = 0;
        self.locked_until = None;
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
        // A re-pair of the same phone replaces its secret.
        self.phones.insert(p.phone_id.clone(), secret);
        tracing::info!(phone_id = %p.phone_id, "phone paired");
        let mut out =
            confirm_mac(&p.keys.confirm_camera, &p.keys.th).finalize().into_bytes().to_vec();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        msg(T_PAIRED, &out)
    }

    /// Answers one control message (signed commands from paired phones): checks its signature,
    /// performs an unpair itself, and hands every other command to `act`, whose `Some(body)`
    /// is the answer (`None`: refused).
    pub fn handle_control(
        &mut self,
        m: &[u8],
        now_ms: i64,
        act: impl FnOnce(ControlCommand) -> Option<Vec<u8>>,
    ) -> Vec<u8> {
        let request = match control::parse_request(m) {
            Ok(r) => r,
            Err(op) => return control::answer(op, false, &[]),
        };
        let (command, op) = (request.command, request.command.op());
        let parts = command.signed_parts();
        let phone = match self.verify_request(Some(request.authorization), &parts, now_ms) {
            Ok(phone) => phone,
            Err(e) => {
                tracing::warn!(reason = %e, ?command, "control command refused");
                return control::answer(op, false, &[]);
            }
        };
        if command == ControlCommand::Unpair {
            self.revoke(&phone);
            tracing::info!(phone_id = %phone, "phone unpaired");
            return control::answer(op, true, &[]);
        }
        match act(command) {
            Some(body) => control::answer(op, true, &body),
            None => control::answer(op, false, &[]),
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
        now: Instant,
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

    fn camera(code: &str) -> CameraPairing {
        CameraPairing::new(
            "CAM1",
            Some(PairingCode::parse(code).unwrap()),
            ("ssid".into(), "passphrase-123".into()),
            "http://127.0.0.1:1".into(),
            [5; 32],
            Duration::from_secs(1),
        )
    }

    async fn attempt(
        cam: &mut CameraPairing,
        code: &str,
        now: Instant,
    ) -> Result<PairingPayload, PairingError> {
        let mut chan =
            Direct { camera: cam, session: PairingSession::default(), answer: None, now };
        pair_over(&mut chan, "CAM1", &PairingCode::parse(code).unwrap(), "phone1").await
    }

    #[tokio::test]
    async fn pairs_and_backs_off_exponentially() {
        let mut cam = camera("12345678");
        let t0 = Instant::now();
        let err = attempt(&mut cam, "87654321", t0).await.unwrap_err();
        assert!(matches!(err, PairingError::ConfirmationFailed));
        let err = attempt(&mut cam, "12345678", t0).await.unwrap_err();
        assert!(matches!(err, PairingError::BackingOff { .. }));
        let t1 = t0 + Duration::from_secs(1);
        assert!(attempt(&mut cam, "87654321", t1).await.is_err());
        let Err(PairingError::BackingOff { retry_after }) =
            attempt(&mut cam, "12345678", t1 + Duration::from_millis(1500)).await
        else {
            panic!("expected back-off")
        };
        assert_eq!(retry_after, Duration::from_millis(500));
        let ok = attempt(&mut cam, "12345678", t1 + Duration::from_secs(2)).await.unwrap();
        assert_eq!(ok.serial, "CAM1");
        assert_eq!(ok.wifi_passphrase, "passphrase-123");
        assert_eq!(cam.phones(), vec!["phone1".to_string()]);
        // A success resets the count.
        assert!(attempt(&mut cam, "12345678", t1 + Duration::from_secs(2)).await.is_ok());
    }

    #[test]
    fn refuses_malformed_messages_and_unknown_versions() {
        let mut cam = camera("12345678");
        let mut s = PairingSession::default();
        let now = Instant::now();
        for m in [&[][..], &[2, 1, 0], &[1, 1, 200], &[1, 3, 0], &[1, 9]] {
            let answer = cam.handle(&mut s, m, now);
            assert_eq!(&answer[..3], &[1, T_ERROR, E_BAD_MESSAGE], "{m:?}");
        }
        let mut off = camera("12345678");
        off.code = None;
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
