//! Control over BLE once paired (docs/camera-protocol.md, "Control messages" and "Events"):
//! signed commands from the phone (unpair, status, the camera's WiFi on or off) and the events
//! the camera notifies (recording, SD usage, G-sensor, power). Both roles' codecs live here, so
//! the simulated camera and a firmware port share them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::auth::{self, SignedParts};
use super::ble::{BleConnection, CONTROL_UUID, GattChannel, MessageChannel};
use super::pairing::{PAIRING_VERSION, PairedCamera, PairingError};

/// How long the camera has to answer a command.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// A command a paired phone sends on the control characteristic, signed with its API secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlCommand {
    /// Forget this phone (revoke its secret).
    Unpair,
    /// Report recording state, SD usage and whether the WiFi is on ([`BleStatus`]).
    Status,
    /// Turn the camera's WiFi access point on (to stream).
    WifiOn,
    /// Turn it off (saves the camera's power and the car's battery).
    WifiOff,
    /// Mark this moment ("clip now"): the camera locks the segment being recorded and the next
    /// one against loop recording and answers [`ClipMark`].
    ClipNow,
}

impl ControlCommand {
    const ALL: [Self; 5] = [Self::Unpair, Self::Status, Self::WifiOn, Self::WifiOff, Self::ClipNow];

    /// The opcode on the wire.
    pub fn op(self) -> u8 {
        match self {
            Self::Unpair => 0x01,
            Self::Status => 0x02,
            Self::WifiOn => 0x03,
            Self::WifiOff => 0x04,
            Self::ClipNow => 0x05,
        }
    }

    /// The command for an opcode.
    pub fn from_op(op: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.op() == op)
    }

    /// What the signature covers: the method is the command's name, the path `/ble/control`,
    /// and the command's body (its SHA-256 is in the signed string).
    pub fn signed_parts(self, body: &[u8]) -> SignedParts<'_> {
        let method = match self {
            Self::Unpair => "UNPAIR",
            Self::Status => "STATUS",
            Self::WifiOn => "WIFI_ON",
            Self::WifiOff => "WIFI_OFF",
            Self::ClipNow => "CLIP_NOW",
        };
        SignedParts { method, path: "/ble/control", query: "", range: "", body }
    }
}

/// The camera's answer to [`ControlCommand::Status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BleStatus {
    /// Whether it is recording a drive.
    pub recording: bool,
    /// The drive being recorded.
    pub drive_id: Option<String>,
    /// SD card bytes used.
    pub sd_used_bytes: u64,
    /// SD card capacity.
    pub sd_capacity_bytes: u64,
    /// Whether its WiFi access point is on.
    pub wifi_on: bool,
}

/// The camera's answer to [`ControlCommand::ClipNow`]: the moment it marked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClipMark {
    /// The drive being recorded.
    pub drive_id: String,
    /// The moment, ms since the epoch (camera clock).
    pub at_ms: i64,
}

/// What a camera notifies on the events characteristic (JSON, one message per event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CameraEvent {
    /// Recording started or stopped (ignition).
    Recording {
        /// Whether it records now.
        recording: bool,
        /// The drive concerned.
        drive_id: Option<String>,
    },
    /// SD usage after a segment was finalized.
    SdUsage {
        /// Bytes used.
        used_bytes: u64,
        /// Capacity.
        capacity_bytes: u64,
    },
    /// The camera's G-sensor fired (it locks the segments around it).
    GSensor {
        /// When, ms since the epoch (camera clock).
        at_ms: i64,
        /// Peak acceleration, g.
        peak_g: f64,
    },
    /// The camera is switching off (or just came on).
    Power {
        /// Whether it is on.
        on: bool,
    },
}

impl CameraEvent {
    /// The event as notified (a JSON object); framed like every message.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a notified event; `None` for one this build does not know (ignored, not an error:
    /// later firmware may add kinds).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

/// A control message: `[version][op][len: u16 BE][authorization][body]`.
fn control_msg(op: u8, authorization: &str, body: &[u8]) -> Vec<u8> {
    let auth = authorization.as_bytes();
    let len = u16::try_from(auth.len()).unwrap_or(u16::MAX);
    let mut m = vec![PAIRING_VERSION, op];
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(&auth[..usize::from(len)]);
    m.extend_from_slice(body);
    m
}

/// Answer status: done.
pub const STATUS_OK: u8 = 0;
/// Answer status: refused (unknown or revoked phone, bad signature, replay, or the command
/// cannot be done now).
pub const STATUS_REFUSED: u8 = 1;
/// Answer status: the request's timestamp is outside the camera's window; the body is the
/// camera's clock (decimal ms since the epoch), so the phone corrects its offset and retries.
pub const STATUS_CLOCK: u8 = 2;
const ANSWER_MAC_LEN: usize = 32;

/// The camera's answer: `[version][op | 0x80][status][mac: 32][body]`, `mac` =
/// [`auth::answer_mac`] under the phone's secret over op, status, the request's nonce and body;
/// `key` `None` (the phone is unknown, or its signature failed) sends an all-zero MAC, which a
/// phone treats as unauthenticated, never as a refusal.
pub fn answer(op: u8, status: u8, key: Option<(&auth::ApiSecret, &str)>, body: &[u8]) -> Vec<u8> {
    let mac = key.map_or([0; ANSWER_MAC_LEN], |(secret, nonce)| {
        auth::answer_mac(secret, op | 0x80, status, nonce, body)
    });
    let mut m = vec![PAIRING_VERSION, op | 0x80, status];
    m.extend_from_slice(&mac);
    m.extend_from_slice(body);
    m
}

/// A control message as the camera reads it, before its signature is checked.
#[derive(Debug)]
pub struct ControlRequest<'a> {
    /// The command.
    pub command: ControlCommand,
    /// The `Authorization` value to verify against `command.signed_parts(body)`.
    pub authorization: &'a str,
    /// The command's body (empty for today's commands), covered by the signature.
    pub body: &'a [u8],
}

/// Parses a control message (camera side); `Err(op)` for a malformed one, to refuse.
pub fn parse_request(m: &[u8]) -> Result<ControlRequest<'_>, u8> {
    let [PAIRING_VERSION, op, len_hi, len_lo, rest @ ..] = m else {
        return Err(m.get(1).copied().unwrap_or(0));
    };
    let command = ControlCommand::from_op(*op).ok_or(*op)?;
    let len = usize::from(u16::from_be_bytes([*len_hi, *len_lo]));
    let auth = rest.get(..len).ok_or(*op)?;
    let authorization = std::str::from_utf8(auth).map_err(|_| *op)?;
    Ok(ControlRequest { command, authorization, body: &rest[len..] })
}

/// Sends a signed command over an open BLE connection (phone side) and returns the body of the
/// camera's answer. Only an answer carrying the camera's MAC under this phone's secret counts: a
/// refusal is [`PairingError::Refused`], an answer without a valid MAC (a spoof)
/// [`PairingError::Unauthenticated`]. A camera telling its clock (signed) sets the phone's
/// offset for it ([`auth::clock`]) and the command is signed again once.
pub async fn send(
    conn: &mut dyn BleConnection,
    camera: &PairedCamera,
    command: ControlCommand,
) -> Result<Vec<u8>, PairingError> {
    let creds = camera.credentials()?;
    let mut chan = GattChannel::open(conn, CONTROL_UUID).await?;
    for _ in 0..2 {
        let now = auth::clock::camera_now(&creds.phone_id);
        let authorization = auth::authorization(&creds, &command.signed_parts(&[]), now);
        let nonce = auth::nonce_of(&authorization).unwrap_or_default().to_string();
        chan.send(&control_msg(command.op(), &authorization, &[])).await?;
        let reply = chan.recv(ANSWER_TIMEOUT).await?;
        let (status, body) = open_answer(&reply, command.op(), &creds.api_secret, &nonce)?;
        match status {
            STATUS_OK => return Ok(body.to_vec()),
            STATUS_REFUSED => return Err(PairingError::Refused),
            STATUS_CLOCK => {
                let camera_ms = std::str::from_utf8(body).ok().and_then(|t| t.parse().ok());
                let camera_ms = camera_ms.ok_or(PairingError::Protocol("bad camera clock"))?;
                auth::clock::learn(&creds.phone_id, camera_ms, auth::now_ms());
            }
            _ => return Err(PairingError::Protocol("unknown control status")),
        }
    }
    Err(PairingError::Protocol("the camera's clock keeps moving"))
}

/// Checks an answer's shape and MAC; returns its status and body.
fn open_answer<'a>(
    reply: &'a [u8],
    op: u8,
    secret: &auth::ApiSecret,
    nonce: &str,
) -> Result<(u8, &'a [u8]), PairingError> {
    let (head, rest) = match reply {
        [PAIRING_VERSION, answer_op, status, rest @ ..] if *answer_op == op | 0x80 => {
            ((*answer_op, *status), rest)
        }
        [v, ..] if *v != PAIRING_VERSION => return Err(PairingError::Version(*v)),
        _ => return Err(PairingError::Protocol("unexpected control answer")),
    };
    if rest.len() < ANSWER_MAC_LEN {
        return Err(PairingError::Unauthenticated);
    }
    let (mac, body) = rest.split_at(ANSWER_MAC_LEN);
    if !auth::answer_mac_ok(secret, head.0, head.1, nonce, body, mac) {
        return Err(PairingError::Unauthenticated);
    }
    Ok((head.1, body))
}

/// Asks the camera for its status over BLE.
pub async fn status(
    conn: &mut dyn BleConnection,
    camera: &PairedCamera,
) -> Result<BleStatus, PairingError> {
    let body = send(conn, camera, ControlCommand::Status).await?;
    serde_json::from_slice(&body).map_err(|_| PairingError::Protocol("status is not JSON"))
}

/// Asks the camera to mark this moment over BLE; refused when it records no drive.
pub async fn clip_now(
    conn: &mut dyn BleConnection,
    camera: &PairedCamera,
) -> Result<ClipMark, PairingError> {
    let body = send(conn, camera, ControlCommand::ClipNow).await?;
    let mark: ClipMark =
        serde_json::from_slice(&body).map_err(|_| PairingError::Protocol("mark is not JSON"))?;
    if !crate::protocol::is_safe_id(&mark.drive_id) {
        return Err(PairingError::Protocol("unsafe drive id"));
    }
    Ok(mark)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_bad_ones_are_refused() {
        for command in ControlCommand::ALL {
            let m = control_msg(command.op(), "DK1-HMAC-SHA256 phone=p", &[]);
            let parsed = parse_request(&m).unwrap();
            assert_eq!(parsed.command, command);
            assert_eq!(parsed.authorization, "DK1-HMAC-SHA256 phone=p");
            assert!(parsed.body.is_empty());
        }
        assert_eq!(parse_request(&[1, 0x09, 0, 0]).unwrap_err(), 0x09);
        assert_eq!(parse_request(&[1, 0x02, 0, 50, b'x']).unwrap_err(), 0x02);
        assert_eq!(parse_request(&[2, 0x02]).unwrap_err(), 0x02);
        assert!(parse_request(&[]).is_err());
    }

    #[test]
    fn answers_count_only_with_the_cameras_mac() {
        let secret = auth::ApiSecret([3; 32]);
        let signed = answer(0x02, STATUS_REFUSED, Some((&secret, "abcd")), b"");
        assert_eq!(
            open_answer(&signed, 0x02, &secret, "abcd").unwrap(),
            (STATUS_REFUSED, &b""[..])
        );
        // The same answer to another request (nonce), op, or under another secret: refused.
        assert!(matches!(
            open_answer(&signed, 0x02, &secret, "abce"),
            Err(PairingError::Unauthenticated)
        ));
        let other = auth::ApiSecret([4; 32]);
        assert!(matches!(
            open_answer(&signed, 0x02, &other, "abcd"),
            Err(PairingError::Unauthenticated)
        ));
        let spoof = answer(0x02, STATUS_REFUSED, None, b"");
        assert!(matches!(
            open_answer(&spoof, 0x02, &secret, "abcd"),
            Err(PairingError::Unauthenticated)
        ));
        let mut flipped = answer(0x02, STATUS_OK, Some((&secret, "abcd")), b"{}");
        flipped[2] = STATUS_REFUSED;
        assert!(open_answer(&flipped, 0x02, &secret, "abcd").is_err());
        assert!(matches!(
            open_answer(&[1, 0x82, 0], 0x02, &secret, "n"),
            Err(PairingError::Unauthenticated)
        ));
    }

    #[test]
    fn events_round_trip_and_unknown_kinds_are_ignored() {
        let e = CameraEvent::GSensor { at_ms: 5, peak_g: 0.7 };
        assert_eq!(CameraEvent::decode(&e.encode()), Some(e));
        assert_eq!(
            CameraEvent::decode(br#"{"kind":"power","on":false}"#),
            Some(CameraEvent::Power { on: false })
        );
        assert_eq!(CameraEvent::decode(br#"{"kind":"parking_mode"}"#), None);
    }
}
