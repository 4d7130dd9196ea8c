//! The camera's BLE GATT service, the [`BleLink`] transport trait, MTU framing, and a loopback
//! implementation of the link over TCP (for the simulated camera and tests).
//!
//! The service is specified in `docs/camera-protocol.md` ("BLE pairing and control"). Pairing
//! ([`super::pairing`]) runs over [`MessageChannel`], so it does not care which link carries it:
//! the loopback link here, or a real BLE adapter implementing [`BleLink`] + [`BleConnection`]
//! (`camera::btle`, with the `btleplug` feature: BlueZ on Linux, CoreBluetooth, Android).

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A 128-bit GATT UUID (convertible to `uuid::Uuid` with `Uuid::from_u128`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct GattUuid(pub u128);

impl fmt::Display for GattUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            (v >> 96) as u32,
            (v >> 80) as u16,
            (v >> 64) as u16,
            (v >> 48) as u16,
            v & 0xffff_ffff_ffff
        )
    }
}

impl GattUuid {
    /// Parses the canonical form (`6b9f0001-5d1e-4c2a-9a4e-d45ca3e00001`, any case); `None` for
    /// anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let groups: Vec<&str> = text.split('-').collect();
        let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        if lengths != [8, 4, 4, 4, 12] || !text.chars().all(|c| c == '-' || c.is_ascii_hexdigit()) {
            return None;
        }
        u128::from_str_radix(&groups.concat(), 16).ok().map(Self)
    }
}

impl fmt::Debug for GattUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The Dashkeep camera service, advertised by every camera; a scan filters on it.
pub const SERVICE_UUID: GattUuid = GattUuid(0x6b9f_0001_5d1e_4c2a_9a4e_d45c_a3e0_0001);
/// Device info (read): JSON [`DeviceInfo`].
pub const DEVICE_INFO_UUID: GattUuid = GattUuid(0x6b9f_0002_5d1e_4c2a_9a4e_d45c_a3e0_0001);
/// Pairing (write + notify): framed pairing messages.
pub const PAIRING_UUID: GattUuid = GattUuid(0x6b9f_0003_5d1e_4c2a_9a4e_d45c_a3e0_0001);
/// WiFi credentials (reserved in v1: the credentials travel sealed in the pairing result).
pub const WIFI_UUID: GattUuid = GattUuid(0x6b9f_0004_5d1e_4c2a_9a4e_d45c_a3e0_0001);
/// Control (write + notify): framed, signed commands (unpair).
pub const CONTROL_UUID: GattUuid = GattUuid(0x6b9f_0005_5d1e_4c2a_9a4e_d45c_a3e0_0001);
/// Events (notify): camera events (reserved in v1).
pub const EVENTS_UUID: GattUuid = GattUuid(0x6b9f_0006_5d1e_4c2a_9a4e_d45c_a3e0_0001);

/// The largest chunk written or notified at once (fits a 185-byte ATT MTU minus the ATT header).
pub const MAX_CHUNK: usize = 180;
/// The largest reassembled message either side accepts.
pub const MAX_MESSAGE: usize = 4096;
/// Chunk flag: more chunks of this message follow.
pub const FLAG_MORE: u8 = 0x01;

/// What a camera says about itself on the device info characteristic (not trusted, not secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceInfo {
    /// GATT service version (1).
    pub version: u8,
    /// Model name, for display.
    pub model: String,
    /// Serial number: the camera's identity in pairing.
    pub serial: String,
    /// Firmware version, for display.
    pub firmware: String,
    /// Whether the camera is showing a pairing code (accepts pairing now).
    pub pairing: bool,
}

/// A camera found by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BleDevice {
    /// The link's address of the device (a BLE MAC or platform id; `host:port` on loopback).
    pub address: String,
    /// The advertised local name.
    pub name: String,
}

/// Why a BLE operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BleError {
    /// The operation did not finish in time.
    #[error("BLE {0} timed out")]
    Timeout(&'static str),
    /// The link failed or the peer went away.
    #[error("BLE link failed: {0}")]
    Io(#[from] std::io::Error),
    /// The peer answered a GATT error (ATT error code).
    #[error("GATT error 0x{0:02x}")]
    Gatt(u8),
    /// Chunks that do not reassemble into a message.
    #[error("bad BLE framing: {0}")]
    Framing(&'static str),
    /// No such device.
    #[error("no camera at {0}")]
    NotFound(String),
    /// No usable Bluetooth adapter: none present, or the platform's Bluetooth service cannot be
    /// reached (on Linux: BlueZ over the system D-Bus). The text says which.
    #[error("no Bluetooth adapter ({0})")]
    NoAdapter(String),
    /// Bluetooth is there but cannot be used now: powered off, permission not granted, or an
    /// operation the platform does not support.
    #[error("Bluetooth unavailable: {0}")]
    Unavailable(String),
}

/// A BLE central: scanning and connecting. A real adapter (btleplug) implements this too.
#[async_trait]
pub trait BleLink: Send + Sync {
    /// Devices advertising `service`, found within `timeout`.
    async fn scan(&self, service: GattUuid, timeout: Duration) -> Result<Vec<BleDevice>, BleError>;
    /// Connects to a device by address.
    async fn connect(
        &self,
        address: &str,
        timeout: Duration,
    ) -> Result<Box<dyn BleConnection>, BleError>;
}

/// One GATT connection to a camera. Every call has a timeout.
#[async_trait]
pub trait BleConnection: Send {
    /// Reads a characteristic's value.
    async fn read(&mut self, ch: GattUuid) -> Result<Vec<u8>, BleError>;
    /// Writes a characteristic (with response), at most [`MAX_CHUNK`] bytes.
    async fn write(&mut self, ch: GattUuid, value: &[u8]) -> Result<(), BleError>;
    /// Enables notifications of a characteristic.
    async fn subscribe(&mut self, ch: GattUuid) -> Result<(), BleError>;
    /// The next notification (of any subscribed characteristic), waiting up to `timeout`.
    async fn next_notification(
        &mut self,
        timeout: Duration,
    ) -> Result<(GattUuid, Vec<u8>), BleError>;
    /// Disconnects.
    async fn disconnect(&mut self) -> Result<(), BleError>;
}

/// Splits a message into chunks of at most [`MAX_CHUNK`] bytes: `[seq, flags, payload…]`, `seq`
/// counting from 0 (wrapping), `flags` bit 0 set on every chunk but the last.
pub fn frame_message(msg: &[u8]) -> Vec<Vec<u8>> {
    let payload = MAX_CHUNK - 2;
    let parts: Vec<&[u8]> =
        if msg.is_empty() { vec![&[][..]] } else { msg.chunks(payload).collect() };
    let last = parts.len() - 1;
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let mut c = Vec::with_capacity(p.len() + 2);
            c.push(i as u8);
            c.push(if i < last { FLAG_MORE } else { 0 });
            c.extend_from_slice(p);
            c
        })
        .collect()
}

/// Reassembles chunks made by [`frame_message`]; a gap, a reorder or an oversized message fails.
#[derive(Debug, Default)]
pub struct Reassembler {
    buf: Vec<u8>,
    next_seq: u8,
}

impl Reassembler {
    /// Adds a chunk; returns the whole message once its last chunk arrived.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Option<Vec<u8>>, BleError> {
        let [seq, flags, payload @ ..] = chunk else {
            return Err(self.fail("chunk shorter than its header"));
        };
        if chunk.len() > MAX_CHUNK {
            return Err(self.fail("chunk longer than the MTU"));
        }
        if *seq != self.next_seq {
            return Err(self.fail("chunk out of sequence"));
        }
        if self.buf.len() + payload.len() > MAX_MESSAGE {
            return Err(self.fail("message too long"));
        }
        self.buf.extend_from_slice(payload);
        if flags & FLAG_MORE != 0 {
            self.next_seq = self.next_seq.wrapping_add(1);
            return Ok(None);
        }
        self.next_seq = 0;
        Ok(Some(std::mem::take(&mut self.buf)))
    }

    fn fail(&mut self, why: &'static str) -> BleError {
        self.buf.clear();
        self.next_seq = 0;
        BleError::Framing(why)
    }
}

/// A message-oriented, bidirectional byte channel: what pairing runs over.
#[async_trait]
pub trait MessageChannel: Send {
    /// Sends one whole message.
    async fn send(&mut self, msg: &[u8]) -> Result<(), BleError>;
    /// Receives one whole message, waiting up to `timeout`.
    async fn recv(&mut self, timeout: Duration) -> Result<Vec<u8>, BleError>;
}

/// A [`MessageChannel`] over one characteristic: framed writes out, framed notifications in.
pub struct GattChannel<'a> {
    conn: &'a mut dyn BleConnection,
    ch: GattUuid,
    reasm: Reassembler,
}

impl<'a> GattChannel<'a> {
    /// Subscribes to `ch`'s notifications and returns the channel.
    pub async fn open(conn: &'a mut dyn BleConnection, ch: GattUuid) -> Result<Self, BleError> {
        conn.subscribe(ch).await?;
        Ok(Self { conn, ch, reasm: Reassembler::default() })
    }
}

#[async_trait]
impl MessageChannel for GattChannel<'_> {
    async fn send(&mut self, msg: &[u8]) -> Result<(), BleError> {
        for chunk in frame_message(msg) {
            self.conn.write(self.ch, &chunk).await?;
        }
        Ok(())
    }

    async fn recv(&mut self, timeout: Duration) -> Result<Vec<u8>, BleError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(BleError::Timeout("notification"));
            }
            let (ch, chunk) = self.conn.next_notification(left).await?;
            if ch != self.ch {
                continue;
            }
            if let Some(msg) = self.reasm.push(&chunk)? {
                return Ok(msg);
            }
        }
    }
}

/// The loopback transport: the GATT operations of [`BleConnection`] as frames over TCP, so the
/// simulated camera serves the same service, characteristics and byte formats as a real one.
///
/// A frame is `[len: u32 BE][op: u8][uuid: 16 bytes BE][status: u8][value]`, `len` counting what
/// follows it. The central sends requests (`op` below); the peripheral answers each with
/// `op | 0x80` and a status (0 = ok, else an ATT error code), and sends [`OP_NOTIFY`] frames
/// whenever it notifies.
pub mod loopback {
    use super::*;

    /// Read a characteristic.
    pub const OP_READ: u8 = 0x01;
    /// Write a characteristic.
    pub const OP_WRITE: u8 = 0x02;
    /// Subscribe to a characteristic.
    pub const OP_SUBSCRIBE: u8 = 0x03;
    /// A notification (peripheral to central).
    pub const OP_NOTIFY: u8 = 0x04;
    /// Read the advertisement: the answer's value is `[service uuid: 16][local name]`.
    pub const OP_ADVERTISEMENT: u8 = 0x05;
    /// Response bit.
    pub const RESPONSE: u8 = 0x80;
    /// ATT error: attribute not found.
    pub const ATT_NOT_FOUND: u8 = 0x0a;
    /// ATT error: write not permitted / request not supported.
    pub const ATT_NOT_SUPPORTED: u8 = 0x06;
    /// The largest frame either side accepts.
    pub const MAX_FRAME: usize = 64 * 1024;

    /// One loopback frame.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Frame {
        /// Operation (`OP_*`, with [`RESPONSE`] on answers).
        pub op: u8,
        /// The characteristic.
        pub uuid: GattUuid,
        /// 0 or an ATT error code.
        pub status: u8,
        /// The value.
        pub value: Vec<u8>,
    }

    impl Frame {
        /// Encodes the frame with its length prefix.
        pub fn encode(&self) -> Vec<u8> {
            let len = 1 + 16 + 1 + self.value.len();
            let mut out = Vec::with_capacity(4 + len);
            out.extend_from_slice(&(len as u32).to_be_bytes());
            out.push(self.op);
            out.extend_from_slice(&self.uuid.0.to_be_bytes());
            out.push(self.status);
            out.extend_from_slice(&self.value);
            out
        }
    }

    /// Reads one frame.
    pub async fn read_frame<R: tokio::io::AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Frame> {
        let len = r.read_u32().await? as usize;
        if !(18..=MAX_FRAME).contains(&len) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "bad frame length"));
        }
        let mut buf = vec![0; len];
        r.read_exact(&mut buf).await?;
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&buf[1..17]);
        Ok(Frame {
            op: buf[0],
            uuid: GattUuid(u128::from_be_bytes(uuid)),
            status: buf[17],
            value: buf[18..].to_vec(),
        })
    }

    /// Writes one frame.
    pub async fn write_frame<W: tokio::io::AsyncWrite + Unpin>(
        w: &mut W,
        f: &Frame,
    ) -> std::io::Result<()> {
        w.write_all(&f.encode()).await?;
        w.flush().await
    }

    /// Every frame a passive observer of the loopback link saw, both directions, in order.
    pub type Tap = Arc<Mutex<Vec<Vec<u8>>>>;

    /// The loopback central: "scans" a fixed list of `host:port` addresses.
    #[derive(Debug, Clone, Default)]
    pub struct LoopbackLink {
        candidates: Vec<String>,
        tap: Option<Tap>,
    }

    /// How long one operation may take on the loopback link.
    const OP_TIMEOUT: Duration = Duration::from_secs(10);

    impl LoopbackLink {
        /// A link whose scans probe `candidates` (`host:port` of simulated cameras).
        pub fn new(candidates: Vec<String>) -> Self {
            Self { candidates, tap: None }
        }

        /// Records every frame of every connection into `tap` (a passive observer, for tests).
        pub fn with_tap(mut self, tap: Tap) -> Self {
            self.tap = Some(tap);
            self
        }
    }

    #[async_trait]
    impl BleLink for LoopbackLink {
        async fn scan(
            &self,
            service: GattUuid,
            timeout: Duration,
        ) -> Result<Vec<BleDevice>, BleError> {
            // Every candidate at once, each bounded by the scan's timeout: a silent one (a port
            // that accepts and never answers) costs no more than the scan.
            let probes = self.candidates.iter().map(|addr| async move {
                (addr, tokio::time::timeout(timeout, self.advertisement(addr, timeout)).await)
            });
            let mut found = Vec::new();
            for (addr, adv) in futures_util::future::join_all(probes).await {
                if let Ok(Ok(v)) = adv
                    && v.len() >= 16
                    && u128::from_be_bytes(v[..16].try_into().unwrap_or([0; 16])) == service.0
                {
                    let name = String::from_utf8_lossy(&v[16..]).into_owned();
                    found.push(BleDevice { address: addr.clone(), name });
                }
            }
            Ok(found)
        }

        async fn connect(
            &self,
            address: &str,
            timeout: Duration,
        ) -> Result<Box<dyn BleConnection>, BleError> {
            Ok(Box::new(self.dial(address, timeout).await?))
        }
    }

    impl LoopbackLink {
        /// The advertisement of the device at `address`: `[service uuid: 16][local name]`.
        async fn advertisement(
            &self,
            address: &str,
            timeout: Duration,
        ) -> Result<Vec<u8>, BleError> {
            let mut conn = self.dial(address, timeout).await?;
            let adv = conn.request(OP_ADVERTISEMENT, GattUuid(0), Vec::new()).await;
            let _ = conn.disconnect().await;
            adv
        }

        async fn dial(
            &self,
            address: &str,
            timeout: Duration,
        ) -> Result<LoopbackConnection, BleError> {
            let stream = tokio::time::timeout(timeout, TcpStream::connect(address))
                .await
                .map_err(|_| BleError::Timeout("connect"))?
                .map_err(|_| BleError::NotFound(address.to_string()))?;
            let _ = stream.set_nodelay(true);
            Ok(LoopbackConnection { stream, queued: VecDeque::new(), tap: self.tap.clone() })
        }
    }

    /// A connection over the loopback link.
    pub struct LoopbackConnection {
        stream: TcpStream,
        queued: VecDeque<(GattUuid, Vec<u8>)>,
        tap: Option<Tap>,
    }

    impl LoopbackConnection {
        fn record(&self, f: &Frame) {
            if let Some(tap) = &self.tap {
                tap.lock().unwrap_or_else(|e| e.into_inner()).push(f.encode());
            }
        }

        async fn recv(&mut self) -> Result<Frame, BleError> {
            let f = read_frame(&mut self.stream).await?;
            self.record(&f);
            Ok(f)
        }

        async fn request(
            &mut self,
            op: u8,
            uuid: GattUuid,
            value: Vec<u8>,
        ) -> Result<Vec<u8>, BleError> {
            let f = Frame { op, uuid, status: 0, value };
            self.record(&f);
            tokio::time::timeout(OP_TIMEOUT, write_frame(&mut self.stream, &f))
                .await
                .map_err(|_| BleError::Timeout("write"))??;
            let answer = tokio::time::timeout(OP_TIMEOUT, async {
                loop {
                    let f = self.recv().await?;
                    if f.op == OP_NOTIFY {
                        self.queued.push_back((f.uuid, f.value));
                    } else if f.op == op | RESPONSE {
                        return Ok::<_, BleError>(f);
                    } else {
                        return Err(BleError::Framing("unexpected loopback frame"));
                    }
                }
            })
            .await
            .map_err(|_| BleError::Timeout("response"))??;
            if answer.status != 0 {
                return Err(BleError::Gatt(answer.status));
            }
            Ok(answer.value)
        }
    }

    #[async_trait]
    impl BleConnection for LoopbackConnection {
        async fn read(&mut self, ch: GattUuid) -> Result<Vec<u8>, BleError> {
            self.request(OP_READ, ch, Vec::new()).await
        }

        async fn write(&mut self, ch: GattUuid, value: &[u8]) -> Result<(), BleError> {
            if value.len() > MAX_CHUNK {
                return Err(BleError::Framing("write longer than the MTU"));
            }
            self.request(OP_WRITE, ch, value.to_vec()).await.map(|_| ())
        }

        async fn subscribe(&mut self, ch: GattUuid) -> Result<(), BleError> {
            self.request(OP_SUBSCRIBE, ch, Vec::new()).await.map(|_| ())
        }

        async fn next_notification(
            &mut self,
            timeout: Duration,
        ) -> Result<(GattUuid, Vec<u8>), BleError> {
            if let Some(n) = self.queued.pop_front() {
                return Ok(n);
            }
            tokio::time::timeout(timeout, async {
                loop {
                    let f = self.recv().await?;
                    if f.op == OP_NOTIFY {
                        return Ok((f.uuid, f.value));
                    }
                }
            })
            .await
            .map_err(|_| BleError::Timeout("notification"))?
        }

        async fn disconnect(&mut self) -> Result<(), BleError> {
            let _ = self.stream.shutdown().await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        for len in [0, 1, 177, 178, 179, 356, 357, 1000, MAX_MESSAGE] {
            let msg: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let chunks = frame_message(&msg);
            assert!(chunks.iter().all(|c| c.len() <= MAX_CHUNK));
            let mut r = Reassembler::default();
            let mut out = None;
            for (i, c) in chunks.iter().enumerate() {
                out = r.push(c).unwrap();
                assert_eq!(out.is_some(), i == chunks.len() - 1);
            }
            assert_eq!(out.unwrap(), msg);
        }
    }

    #[test]
    fn refuses_gaps_and_oversize() {
        let chunks = frame_message(&[7; 400]);
        let mut r = Reassembler::default();
        r.push(&chunks[0]).unwrap();
        assert!(r.push(&chunks[2]).is_err());
        let mut r = Reassembler::default();
        let big = [0u8, FLAG_MORE].iter().chain([1u8; 178].iter()).copied().collect::<Vec<_>>();
        let mut err = false;
        for i in 0..40u8 {
            let mut c = big.clone();
            c[0] = i;
            if r.push(&c).is_err() {
                err = true;
                break;
            }
        }
        assert!(err);
        assert!(Reassembler::default().push(&[0]).is_err());
    }

    #[test]
    fn uuid_text() {
        assert_eq!(SERVICE_UUID.to_string(), "6b9f0001-5d1e-4c2a-9a4e-d45ca3e00001");
    }
}

#[cfg(test)]
mod uuid_tests {
    use super::*;

    #[test]
    fn uuids_round_trip_through_their_text() {
        for uuid in [SERVICE_UUID, CONTROL_UUID, GattUuid(0), GattUuid(u128::MAX)] {
            assert_eq!(GattUuid::parse(&uuid.to_string()), Some(uuid));
        }
        assert_eq!(GattUuid::parse("6B9F0001-5D1E-4C2A-9A4E-D45CA3E00001"), Some(SERVICE_UUID));
        for bad in [
            "",
            "6b9f0001",
            "6b9f00015d1e4c2a9a4ed45ca3e00001",
            "6b9f0001-5d1e-4c2a-9a4e-d45ca3e0000g",
            "+b9f0001-5d1e-4c2a-9a4e-d45ca3e00001",
        ] {
            assert_eq!(GattUuid::parse(bad), None, "{bad}");
        }
    }
}
