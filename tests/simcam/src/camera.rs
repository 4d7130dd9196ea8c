//! The camera: configuration, virtual clock, recorder with loop recording, power, faults, stats.

use dashkeep_core::camera::control::{BleStatus, CameraEvent, ClipMark};
use dashkeep_core::camera::pinned::camera_server_config;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio_rustls::TlsAcceptor;

use dashkeep_core::camera::pairing::{CameraPairing, PairingCode};
use dashkeep_core::protocol::{
    CameraStatus, Channel, DriveInfo, DriveList, PROTOCOL_VERSION, SegmentInfo, SegmentList,
    is_safe_id,
};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::mp4::{self, Clip, Fixture};
use crate::scenario::{PlannedSegment, Scenario};
use crate::server::{self, Server};
use crate::telemetry::{self, DriveSim};
use crate::{Fault, Lie, SimError};

/// How to build a [`SimCamera`].
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free port (default `127.0.0.1:0`).
    pub listen: SocketAddr,
    /// What happens: drives, segment length, events.
    pub scenario: Scenario,
    /// The directory playing the SD card. Created if missing; segment files of a previous run in
    /// it (`D*.mp4`, `D*.ts`, `D*.json`) are deleted at start, as if the card were formatted.
    pub sd_dir: PathBuf,
    /// SD card capacity for segments and telemetry, bytes (default 8 GiB).
    pub sd_capacity_bytes: u64,
    /// Scenario seconds per real second (default 1.0; 60 finalizes a 60 s segment every second).
    pub speed: f64,
    /// Record the whole scenario before serving (default false): for tests.
    pub instant: bool,
    /// Which fixture clip segments are made of.
    pub fixture: Fixture,
    /// Model name reported in the status.
    pub model: String,
    /// Firmware version reported in the status.
    pub firmware: String,
    /// Serial number reported in the status.
    pub serial: String,
    /// Paired mode (default off, so unpaired tests keep working): every `/api/v1` request must
    /// carry a valid `DK1-HMAC-SHA256` signature of a paired phone, or it is answered 401.
    pub paired_mode: bool,
    /// A pairing window opened at start with this code (8 to 12 digits), as if the pairing
    /// button had been pressed at power-on; `None` (default): pairing is closed until
    /// [`SimCamera::press_pairing_button`] (or [`SimCamera::pairing_code`]) opens a window with
    /// a fresh random code.
    pub pairing_code: Option<String>,
    /// How long a pairing window stays open without a success (default 3 minutes).
    pub pairing_window: Duration,
    /// How far the camera's wall clock (the one signatures are checked against) is from the
    /// real time, ms (default 0): a camera whose clock drifted.
    pub clock_skew_ms: i64,
    /// Wait after the first pairing attempt; doubles with each failed one (default 1 s).
    pub pairing_backoff: Duration,
    /// Whether the camera's WiFi (its HTTP API) starts on (default true); when off, a paired
    /// phone turns it on over BLE (`WIFI_ON`), as cameras that save power do.
    pub wifi_starts_on: bool,
    /// Where the BLE loopback GATT server listens (default `127.0.0.1:0`).
    pub ble_listen: SocketAddr,
    /// Which protocol the camera speaks (default [`crate::Dialect::Dashkeep`]).
    pub dialect: crate::Dialect,
    /// Whether video downloads honour `Range` (default true); without it every download is the
    /// whole file (200), as on cameras that ignore `Range`.
    pub range_support: bool,
    /// Whether a Novatek camera records MPEG-TS (`.TS`, as some models do) instead of MP4
    /// (default false; `simcam --dialect novatek --ts`). Its files then embed no GPS.
    pub novatek_ts: bool,
    /// The BlackVue dialects' choices (rear lens, unset clock).
    pub blackvue: crate::blackvue::BlackVueOptions,
}

impl SimConfig {
    /// A configuration with defaults for everything but the scenario and the SD card directory.
    pub fn new(scenario: Scenario, sd_dir: impl Into<PathBuf>) -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            scenario,
            sd_dir: sd_dir.into(),
            sd_capacity_bytes: 8 << 30,
            speed: 1.0,
            instant: false,
            fixture: Fixture::Small360p,
            model: "Dashkeep SimCam".into(),
            firmware: format!("simcam-{}", env!("CARGO_PKG_VERSION")),
            serial: "SIM0000001".into(),
            paired_mode: false,
            pairing_code: None,
            pairing_window: dashkeep_core::camera::pairing::DEFAULT_WINDOW,
            clock_skew_ms: 0,
            pairing_backoff: Duration::from_secs(1),
            ble_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            wifi_starts_on: true,
            dialect: crate::Dialect::Dashkeep,
            range_support: true,
            novatek_ts: false,
            blackvue: crate::blackvue::BlackVueOptions::default(),
        }
    }
}

/// How many requests the camera answered, by endpoint (counted even when a fault fired).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Every request under `/api/v1`.
    pub total: u64,
    /// `GET /api/v1/status`.
    pub status: u64,
    /// `GET /api/v1/drives`.
    pub drives: u64,
    /// `GET /api/v1/segments`.
    pub segments: u64,
    /// `GET /api/v1/feed`.
    pub feed: u64,
    /// `GET /api/v1/segments/{id}/video`.
    pub video: u64,
    /// `GET /api/v1/segments/{id}/telemetry`.
    pub telemetry: u64,
    /// Requests answered 500 by [`Fault::Http500`].
    pub injected_500: u64,
    /// Requests answered 401 in paired mode (no data served).
    pub unauthorized: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub info: SegmentInfo,
    pub video: PathBuf,
    pub telemetry: PathBuf,
}

#[derive(Debug, Default)]
pub(crate) struct CardState {
    pub segments: VecDeque<Stored>,
    pub overwritten: Vec<SegmentInfo>,
    /// For each entry of `overwritten`, the seq of the segment whose recording overwrote it.
    pub overwritten_by: Vec<u64>,
    pub used: u64,
    pub latest_seq: u64,
    /// End time (ms) of drives whose last segment is finalized.
    pub drive_ends: HashMap<String, i64>,
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    drop_after: Option<(u64, u32)>,
    stall: Option<(u64, Duration)>,
    http500: u32,
    corrupt: u32,
    lies: Vec<Lie>,
}

/// The faults one video download carries, taken when it starts.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct VideoFaults {
    pub drop_after: Option<u64>,
    pub stall: Option<(u64, Duration)>,
    pub corrupt: bool,
}

#[derive(Debug)]
struct Clock {
    speed: f64,
    base_s: f64,
    since: Option<Instant>,
}

impl Clock {
    fn now_s(&self) -> f64 {
        self.base_s + self.since.map_or(0.0, |i| i.elapsed().as_secs_f64() * self.speed)
    }
    fn pause(&mut self) {
        self.base_s = self.now_s();
        self.since = None;
    }
    fn resume(&mut self) {
        if self.since.is_none() {
            self.since = Some(Instant::now());
        }
    }
}

pub(crate) struct Inner {
    pub cfg: SimConfig,
    pub addr: SocketAddr,
    pub state: Mutex<CardState>,
    pub faults: Mutex<Faults>,
    pub counts: Mutex<RequestCounts>,
    pub served: Mutex<HashMap<String, u64>>,
    pub served_total: AtomicU64,
    pub seq_tx: watch::Sender<u64>,
    done_tx: watch::Sender<bool>,
    clock: Mutex<Clock>,
    pub powered: AtomicBool,
    /// Whether the WiFi access point (the HTTP API) is on.
    pub wifi_on: AtomicBool,
    /// Segments still to lock after a "clip now" (the one being recorded and the next).
    manual_locks: std::sync::atomic::AtomicU32,
    /// Events notified to BLE centrals subscribed to the events characteristic.
    pub events_tx: tokio::sync::broadcast::Sender<CameraEvent>,
    server: tokio::sync::Mutex<Option<Server>>,
    recorder: Mutex<Option<JoinHandle<()>>>,
    drive_starts: HashMap<String, i64>,
    pub pairing: Mutex<CameraPairing>,
    /// Serves the API over HTTPS with the identity key (raw public key, pinned by phones).
    pub tls: TlsAcceptor,
    identity_key: [u8; 32],
    ble_addr: SocketAddr,
    ble: Mutex<Option<JoinHandle<()>>>,
    /// The Novatek dialect's recording state.
    pub novatek: crate::novatek::NovatekState,
    /// The BlackVue dialects' state.
    pub blackvue: crate::blackvue::BlackVueState,
}

/// Locks a std mutex, ignoring poisoning (a panicked holder cannot leave these states torn).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    /// The camera's wall clock, ms (the real time plus the configured skew): what signatures,
    /// pairing windows and back-off deadlines are checked against.
    pub(crate) fn wall_ms(&self) -> i64 {
        dashkeep_core::camera::auth::now_ms().saturating_add(self.cfg.clock_skew_ms)
    }

    fn now_s(&self) -> f64 {
        lock(&self.clock).now_s()
    }

    pub fn status(&self) -> CameraStatus {
        let now = self.now_s();
        let sc = &self.cfg.scenario;
        let drive = sc
            .drives
            .iter()
            .position(|d| d.at_s as f64 <= now && now < d.end_s() as f64)
            .filter(|_| self.powered.load(Ordering::SeqCst));
        let st = lock(&self.state);
        CameraStatus {
            protocol_version: PROTOCOL_VERSION,
            model: self.cfg.model.clone(),
            firmware: self.cfg.firmware.clone(),
            serial: self.cfg.serial.clone(),
            sd_capacity_bytes: self.cfg.sd_capacity_bytes,
            sd_used_bytes: st.used,
            recording: drive.is_some(),
            current_drive: drive.map(|i| sc.drive_id(i)),
            clock_ms: sc.start_ms + (now * 1000.0) as i64,
            latest_seq: st.latest_seq,
        }
    }

    pub fn drives(&self) -> DriveList {
        let st = lock(&self.state);
        let mut drives: Vec<DriveInfo> = Vec::new();
        for s in &st.segments {
            let i = &s.info;
            let bytes = i.size + i.telemetry_size;
            match drives.iter_mut().find(|d| d.id == i.drive_id) {
                Some(d) => {
                    d.segment_count += 1;
                    d.bytes += bytes;
                }
                None => drives.push(DriveInfo {
                    id: i.drive_id.clone(),
                    start_ms: self.drive_starts.get(&i.drive_id).copied().unwrap_or(i.start_ms),
                    end_ms: st.drive_ends.get(&i.drive_id).copied(),
                    segment_count: 1,
                    bytes,
                }),
            }
        }
        drives.sort_by_key(|d| d.start_ms);
        DriveList { drives }
    }

    /// Segments with `seq > since`, at most `limit`, with any lies applied.
    pub fn list(&self, since: u64, limit: usize) -> SegmentList {
        let mut list = {
            let st = lock(&self.state);
            let oldest_seq = st.segments.front().map_or(0, |s| s.info.seq);
            let mut it = st.segments.iter().filter(|s| s.info.seq > since);
            let segments: Vec<SegmentInfo> =
                it.by_ref().take(limit).map(|s| s.info.clone()).collect();
            let more = it.next().is_some();
            let next_cursor = segments.last().map_or(since, |s| s.seq);
            SegmentList { segments, next_cursor, more, oldest_seq }
        };
        let lies = lock(&self.faults).lies.clone();
        if let Some(first) = list.segments.first_mut() {
            for lie in lies {
                match lie {
                    Lie::PathId => first.id = "../../x".into(),
                    Lie::AbsurdSize => first.size = u64::MAX / 2,
                    Lie::NegativeDuration => first.duration_ms = -60_000,
                    Lie::WrongChecksum => {
                        first.sha256 = hex::encode(Sha256::digest(first.sha256.as_bytes()))
                    }
                }
            }
        }
        list
    }

    /// The stored segment with this (safe) id, if it is on the card.
    pub fn find(&self, id: &str) -> Option<Stored> {
        lock(&self.state).segments.iter().find(|s| s.info.id == id).cloned()
    }

    /// Consumes one `Http500` fault, if any.
    pub fn take_http500(&self) -> bool {
        let mut f = lock(&self.faults);
        if f.http500 > 0 {
            f.http500 -= 1;
            true
        } else {
            false
        }
    }

    /// Consumes the faults that apply to one video download.
    pub fn take_video_faults(&self) -> VideoFaults {
        let mut f = lock(&self.faults);
        let mut v = VideoFaults::default();
        if let Some((bytes, times)) = f.drop_after {
            v.drop_after = Some(bytes);
            f.drop_after = (times > 1).then(|| (bytes, times - 1));
        }
        v.stall = f.stall.take();
        if f.corrupt > 0 {
            f.corrupt -= 1;
            v.corrupt = true;
        }
        v
    }

    pub fn count(&self, f: impl FnOnce(&mut RequestCounts)) {
        f(&mut lock(&self.counts));
    }

    pub fn add_served(&self, id: &str, n: u64) {
        self.served_total.fetch_add(n, Ordering::Relaxed);
        *lock(&self.served).entry(id.to_string()).or_default() += n;
    }

    /// Records one planned segment: telemetry, loop recording, the MP4 file, then publishes it.
    fn record(&self, clip: &Clip, p: &PlannedSegment, sim: &mut DriveSim) -> Result<(), SimError> {
        let _span = tracing::info_span!("record_segment", id = %p.id, secs = p.secs).entered();
        let started = Instant::now();
        let tel = sim.segment(&p.id, p.drive_offset_s, p.secs);
        let tel_bytes = serde_json::to_vec(&tel).map_err(std::io::Error::other)?;
        let tel_sha = hex::encode(Sha256::digest(&tel_bytes));
        // A Novatek camera embeds its GPS in the MP4.
        let gps = (self.cfg.dialect == crate::Dialect::Novatek).then_some(tel.gps.as_slice());
        let ts = self.cfg.dialect == crate::Dialect::Novatek && self.cfg.novatek_ts;
        let size = if ts {
            crate::ts::segment_size(clip, p.secs, p.start_ms)?
        } else {
            mp4::segment_size(clip, p.secs, p.start_ms, gps)?
        };
        let needed = size + tel_bytes.len() as u64;
        let cap = self.cfg.sd_capacity_bytes;
        if needed > cap {
            tracing::warn!(needed, cap, "segment larger than the SD card: not recorded");
            return Ok(());
        }
        let locked = p.locked || self.take_manual_lock();
        {
            let mut st = lock(&self.state);
            if locked {
                loop {
                    let locked: u64 = st
                        .segments
                        .iter()
                        .filter(|s| s.info.locked)
                        .map(|s| s.info.size + s.info.telemetry_size)
                        .sum();
                    if locked + needed <= cap / 2 || !evict(&mut st, true) {
                        break;
                    }
                }
            }
            while st.used + needed > cap {
                if !evict(&mut st, false) && !evict(&mut st, true) {
                    break;
                }
            }
        }
        let dir = &self.cfg.sd_dir;
        let video = dir.join(format!("{}.{}", p.id, if ts { "ts" } else { "mp4" }));
        let telemetry = dir.join(format!("{}.json", p.id));
        std::fs::write(&telemetry, &tel_bytes)?;
        let written = if ts {
            crate::ts::write_segment(clip, p.secs, p.start_ms, &video)
        } else {
            mp4::write_segment(clip, p.secs, p.start_ms, gps, &video)
        };
        let written = written.and_then(|x| {
            // A BlackVue camera embeds its accelerometer (and, on 1.009, its GPS) in the MP4.
            use crate::Dialect::{BlackVue1009, BlackVueLegacy};
            if !matches!(self.cfg.dialect, BlackVue1009 | BlackVueLegacy) {
                return Ok(x);
            }
            let lines = (self.cfg.dialect == BlackVue1009)
                .then(|| crate::blackvue::nmea(&tel.gps, p.start_ms));
            let accel = crate::blackvue::records_3gf(&tel.accel);
            Ok(crate::blackvue::embed_telemetry(&video, lines.as_deref(), &accel)?)
        });
        let (size, sha256) = match written {
            Ok(x) => x,
            Err(e) => {
                let _ = std::fs::remove_file(&telemetry);
                return Err(e);
            }
        };
        let seq = {
            let mut st = lock(&self.state);
            st.latest_seq += 1;
            let info = SegmentInfo {
                id: p.id.clone(),
                drive_id: p.drive_id.clone(),
                seq: st.latest_seq,
                index_in_drive: p.index_in_drive,
                start_ms: p.start_ms,
                duration_ms: i64::from(p.secs) * 1000,
                size,
                sha256,
                locked,
                telemetry_size: tel_bytes.len() as u64,
                telemetry_sha256: tel_sha,
                channel: Channel::Front,
            };
            st.used += info.size + info.telemetry_size;
            if p.last_of_drive {
                st.drive_ends.insert(p.drive_id.clone(), p.start_ms + info.duration_ms);
            }
            st.segments.push_back(Stored { info, video, telemetry });
            st.latest_seq
        };
        self.seq_tx.send_replace(seq);
        self.notify_recorded(p);
        tracing::info!(seq, size, ms = started.elapsed().as_millis() as u64, "segment finalized");
        Ok(())
    }
}

impl Inner {
    /// BLE events for a segment just finalized: SD usage, the G-sensor events in it, and the
    /// drive's start and end.
    fn notify_recorded(&self, p: &PlannedSegment) {
        let send = |e| {
            let _ = self.events_tx.send(e);
        };
        if p.index_in_drive == 0 {
            send(CameraEvent::Recording { recording: true, drive_id: Some(p.drive_id.clone()) });
        }
        let (used, capacity) = (lock(&self.state).used, self.cfg.sd_capacity_bytes);
        send(CameraEvent::SdUsage { used_bytes: used, capacity_bytes: capacity });
        let drive = &self.cfg.scenario.drives[p.drive_index];
        let span = p.drive_offset_s as f64..(p.drive_offset_s + u64::from(p.secs)) as f64;
        for e in drive.events.iter().filter(|e| span.contains(&e.at_s)) {
            let at_ms = p.start_ms + ((e.at_s - p.drive_offset_s as f64) * 1000.0) as i64;
            send(CameraEvent::GSensor { at_ms, peak_g: e.peak_g });
        }
        if p.last_of_drive {
            send(CameraEvent::Recording { recording: false, drive_id: Some(p.drive_id.clone()) });
        }
    }

    /// A "clip now" from a paired phone: locks the segment being recorded and the next one, and
    /// says which moment was marked; `None` when no drive is being recorded.
    pub fn mark_clip(&self) -> Option<ClipMark> {
        let status = self.status();
        let drive_id = status.current_drive?;
        self.manual_locks.store(2, Ordering::SeqCst);
        Some(ClipMark { drive_id, at_ms: status.clock_ms })
    }

    fn take_manual_lock(&self) -> bool {
        self.manual_locks
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// The status a paired phone reads over BLE.
    pub fn ble_status(&self) -> BleStatus {
        let status = self.status();
        BleStatus {
            recording: status.recording,
            drive_id: status.current_drive,
            sd_used_bytes: status.sd_used_bytes,
            sd_capacity_bytes: status.sd_capacity_bytes,
            wifi_on: self.wifi_on.load(Ordering::SeqCst),
        }
    }
}

/// Removes the segment at `pos` from the card, its files with it.
pub(crate) fn remove_from_card(st: &mut CardState, pos: usize) -> Option<Stored> {
    let s = st.segments.remove(pos)?;
    for f in [&s.video, &s.telemetry] {
        if let Err(e) = std::fs::remove_file(f) {
            tracing::warn!(file = %f.display(), error = %e, "could not delete a file on the card");
        }
    }
    st.used = st.used.saturating_sub(s.info.size + s.info.telemetry_size);
    Some(s)
}

/// Deletes the oldest segment that is (un)locked; false when there is none.
fn evict(st: &mut CardState, locked: bool) -> bool {
    let Some(pos) = st.segments.iter().position(|s| s.info.locked == locked) else {
        return false;
    };
    let Some(s) = remove_from_card(st, pos) else { return false };
    tracing::info!(id = %s.info.id, locked, "loop recording overwrote segment");
    st.overwritten.push(s.info);
    let by = st.latest_seq + 1;
    st.overwritten_by.push(by);
    true
}

/// Removes the segment files of a previous run from the SD card directory.
fn format_card(dir: &Path) -> Result<(), SimError> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stem = name
            .strip_suffix(".mp4.tmp")
            .or_else(|| name.strip_suffix(".mp4"))
            .or_else(|| name.strip_suffix(".ts.tmp"))
            .or_else(|| name.strip_suffix(".ts"))
            .or_else(|| name.strip_suffix(".json"));
        if let Some(stem) = stem
            && stem.starts_with('D')
            && is_safe_id(stem)
            && entry.file_type()?.is_file()
        {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

fn join_err(e: tokio::task::JoinError) -> SimError {
    SimError::Io(std::io::Error::other(e))
}

/// Records the planned segments in order, each when the virtual clock reaches its end.
async fn run_recorder(inner: Arc<Inner>, clip: Arc<Clip>, plan: Vec<PlannedSegment>) {
    let mut sim: Option<(usize, DriveSim)> = None;
    for p in plan {
        loop {
            let now = inner.now_s();
            let end = p.end_s() as f64;
            if now >= end {
                break;
            }
            let real = ((end - now) / inner.cfg.speed).clamp(0.001, 0.05);
            tokio::time::sleep(Duration::from_secs_f64(real)).await;
        }
        let mut s = match sim.take() {
            Some((i, s)) if i == p.drive_index => s,
            _ => new_sim(&inner.cfg.scenario, p.drive_index),
        };
        let (inner2, clip2) = (inner.clone(), clip.clone());
        let res = tokio::task::spawn_blocking(move || {
            let r = inner2.record(&clip2, &p, &mut s);
            (r, s, p)
        })
        .await;
        match res {
            Ok((r, s, p)) => {
                if let Err(e) = r {
                    tracing::error!(id = %p.id, error = %e, "recording failed");
                }
                sim = Some((p.drive_index, s));
            }
            Err(e) => tracing::error!(error = %e, "recorder task failed"),
        }
    }
    inner.done_tx.send_replace(true);
}

/// A WiFi passphrase unique to this camera: 20 random characters from a 32-letter alphabet.
fn random_passphrase() -> String {
    use ring::rand::SecureRandom;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789Z";
    let mut bytes = [0u8; 20];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    bytes.iter().map(|b| ALPHABET[usize::from(b & 31)] as char).collect()
}

/// A fresh long-term Ed25519 identity key: the TLS acceptor that presents it and its public half
/// (the phone pins it at pairing).
fn identity() -> Result<(TlsAcceptor, [u8; 32]), SimError> {
    use ring::signature::KeyPair;
    let rng = ring::rand::SystemRandom::new();
    let bad = || SimError::Io(std::io::Error::other("Ed25519 key generation failed"));
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| bad())?;
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| bad())?;
    let mut public = [0u8; 32];
    public.copy_from_slice(pair.public_key().as_ref());
    let config = camera_server_config(pkcs8.as_ref())
        .map_err(|e| SimError::Io(std::io::Error::other(e.to_string())))?;
    Ok((TlsAcceptor::from(Arc::new(config)), public))
}

fn new_sim(sc: &Scenario, drive_index: usize) -> DriveSim {
    DriveSim::new(&sc.drives[drive_index], &sc.mount, telemetry::seed(&sc.name, drive_index))
}

/// A running simulated dash cam. Cheap to clone (a handle); `Send + Sync`.
///
/// Call [`SimCamera::shutdown`] when done: the server and recorder tasks hold the camera alive.
#[derive(Clone)]
pub struct SimCamera {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SimCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCamera").field("addr", &self.inner.addr).finish_non_exhaustive()
    }
}

impl SimCamera {
    pub(crate) fn from_inner(inner: Arc<Inner>) -> SimCamera {
        SimCamera { inner }
    }

    /// Loads the fixture, formats the SD card, binds the listener and starts serving. With
    /// `instant`, the whole scenario is recorded first; otherwise a recorder follows the clock.
    pub async fn start(cfg: SimConfig) -> Result<SimCamera, SimError> {
        cfg.scenario.validate()?;
        if !(cfg.speed.is_finite() && cfg.speed > 0.0) {
            return Err(SimError::Scenario(format!("speed {} must be positive", cfg.speed)));
        }
        let fixture = cfg.fixture;
        let clip = Arc::new(
            tokio::task::spawn_blocking(move || Clip::of(fixture)).await.map_err(join_err)??,
        );
        let dir = cfg.sd_dir.clone();
        tokio::task::spawn_blocking(move || format_card(&dir)).await.map_err(join_err)??;
        let listener = TcpListener::bind(cfg.listen).await?;
        let addr = listener.local_addr()?;
        let ble_listener = TcpListener::bind(cfg.ble_listen).await?;
        let ble_addr = ble_listener.local_addr()?;
        let code = match &cfg.pairing_code {
            Some(c) => Some(PairingCode::parse(c).map_err(|e| SimError::Scenario(e.to_string()))?),
            None => None,
        };
        let (tls, identity_key) = identity()?;
        let mut pairing = CameraPairing::new(
            &cfg.serial,
            (format!("Dashkeep-{}", cfg.serial), random_passphrase()),
            format!("https://{addr}"),
            identity_key,
            cfg.pairing_backoff,
        )
        .with_window_len(cfg.pairing_window)
        // The camera's flash: beside the card, outside what formatting it deletes.
        .with_flash(cfg.sd_dir.join(".camera-flash.json"));
        if code.is_some() {
            let now = dashkeep_core::camera::auth::now_ms().saturating_add(cfg.clock_skew_ms);
            pairing.open_window(code, now);
        }
        let sc = &cfg.scenario;
        let drive_starts = (0..sc.drives.len())
            .map(|i| (sc.drive_id(i), sc.start_ms + sc.drives[i].at_s as i64 * 1000))
            .collect();
        let plan = sc.plan();
        let wifi_on = AtomicBool::new(cfg.wifi_starts_on);
        let inner = Arc::new(Inner {
            clock: Mutex::new(Clock { speed: cfg.speed, base_s: 0.0, since: None }),
            cfg,
            addr,
            state: Mutex::new(CardState::default()),
            faults: Mutex::new(Faults::default()),
            counts: Mutex::new(RequestCounts::default()),
            served: Mutex::new(HashMap::new()),
            served_total: AtomicU64::new(0),
            seq_tx: watch::Sender::new(0),
            done_tx: watch::Sender::new(false),
            powered: AtomicBool::new(true),
            wifi_on,
            manual_locks: std::sync::atomic::AtomicU32::new(0),
            events_tx: tokio::sync::broadcast::Sender::new(64),
            server: tokio::sync::Mutex::new(None),
            recorder: Mutex::new(None),
            drive_starts,
            pairing: Mutex::new(pairing),
            tls,
            identity_key,
            ble_addr,
            ble: Mutex::new(None),
            novatek: crate::novatek::NovatekState::default(),
            blackvue: crate::blackvue::BlackVueState::default(),
        });
        *lock(&inner.ble) = Some(tokio::spawn(crate::ble::serve(inner.clone(), ble_listener)));
        tracing::info!(%addr, segments = plan.len(), "simcam starting");
        if inner.cfg.instant {
            let (i2, c2, plan) = (inner.clone(), clip.clone(), plan.clone());
            tokio::task::spawn_blocking(move || -> Result<(), SimError> {
                let mut sim: Option<(usize, DriveSim)> = None;
                for p in &plan {
                    let mut s = match sim.take() {
                        Some((i, s)) if i == p.drive_index => s,
                        _ => new_sim(&i2.cfg.scenario, p.drive_index),
                    };
                    i2.record(&c2, p, &mut s)?;
                    sim = Some((p.drive_index, s));
                }
                Ok(())
            })
            .await
            .map_err(join_err)??;
            lock(&inner.clock).base_s = inner.cfg.scenario.end_s() as f64;
            inner.done_tx.send_replace(true);
        }
        lock(&inner.clock).resume();
        if inner.wifi_on.load(Ordering::SeqCst) {
            *inner.server.lock().await = Some(server::spawn(inner.clone(), listener));
        } else {
            drop(listener);
        }
        if !inner.cfg.instant {
            let handle = tokio::spawn(run_recorder(inner.clone(), clip, plan));
            *lock(&inner.recorder) = Some(handle);
        }
        Ok(SimCamera { inner })
    }

    /// The public half of the camera's identity key (public: any client sees it in the TLS
    /// handshake; a paired phone pins it).
    pub fn identity_key(&self) -> [u8; 32] {
        self.inner.identity_key
    }

    /// The API's HTTPS URL a paired phone uses (pinned key), e.g. `https://127.0.0.1:41234`.
    pub fn api_url(&self) -> String {
        format!("https://{}", self.inner.addr)
    }

    /// The base URL of the API in plain HTTP, e.g. `http://127.0.0.1:41234`: the `/sim` control
    /// endpoints, and the API itself unless the camera is in paired mode.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// The address the camera listens on (the same across power cycles).
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Novatek dialect: whether the camera is recording, and how many times a phone stopped
    /// (`2001&par=0`) and restarted (`2001&par=1`) it.
    pub fn novatek_recording(&self) -> (bool, u32, u32) {
        let n = &self.inner.novatek;
        (
            n.recording.load(Ordering::SeqCst),
            n.stops.load(Ordering::SeqCst),
            n.starts.load(Ordering::SeqCst),
        )
    }

    /// Novatek dialect: how many files a phone deleted from the card (`4003`).
    pub fn novatek_deleted(&self) -> u32 {
        self.inner.novatek.deleted.load(Ordering::SeqCst)
    }

    /// Novatek dialect: from now on the listing ends with a file still being recorded, larger
    /// at every listing (it cannot be downloaded: a phone must wait until it stops growing).
    pub fn novatek_start_growing_file(&self) {
        self.inner.novatek.growing.store(1, Ordering::SeqCst);
    }

    /// BlackVue dialects: from now on the listing ends with a front file still being recorded,
    /// whose size (`HEAD`) is larger at every look; downloading it answers 503.
    pub fn blackvue_start_growing_file(&self) {
        self.inner.blackvue.growing.store(1, Ordering::SeqCst);
    }

    /// Waits until every segment of every drive is recorded and finalized.
    pub async fn wait_for_scenario_end(&self) {
        let mut rx = self.inner.done_tx.subscribe();
        let _ = rx.wait_for(|done| *done).await;
    }

    /// Waits until a segment with `seq >= seq` is finalized.
    pub async fn wait_for_seq(&self, seq: u64) {
        let mut rx = self.inner.seq_tx.subscribe();
        let _ = rx.wait_for(|s| *s >= seq).await;
    }

    /// What is on the SD card now: each segment with its video and telemetry paths, oldest first.
    pub fn card(&self) -> Vec<(SegmentInfo, PathBuf, PathBuf)> {
        lock(&self.inner.state)
            .segments
            .iter()
            .map(|s| (s.info.clone(), s.video.clone(), s.telemetry.clone()))
            .collect()
    }

    /// The segments loop recording deleted, in the order it deleted them.
    pub fn overwritten(&self) -> Vec<SegmentInfo> {
        lock(&self.inner.state).overwritten.clone()
    }

    /// Segments the loop recorder deleted, each with the seq of the segment whose recording
    /// overwrote it: what a forecast of overwrites is checked against.
    pub fn overwritten_by(&self) -> Vec<(SegmentInfo, u64)> {
        let st = lock(&self.inner.state);
        st.overwritten.iter().cloned().zip(st.overwritten_by.iter().copied()).collect()
    }

    /// The camera status, as `GET /api/v1/status` would answer it.
    pub fn status(&self) -> CameraStatus {
        self.inner.status()
    }

    /// The BlackVue dialects' files, as their listing names them: each name with its segment,
    /// video and telemetry on the card (a rear file shares its front's segment).
    pub fn blackvue_card(&self) -> Vec<(String, SegmentInfo, PathBuf, PathBuf)> {
        let card = crate::blackvue::card(&self.inner);
        card.into_iter().map(|(name, s)| (name, s.info, s.video, s.telemetry)).collect()
    }

    /// Arms a fault (see [`Fault`]). Counted faults of the same kind replace the previous one.
    pub fn inject(&self, fault: Fault) {
        tracing::info!(?fault, "fault injected");
        let mut f = lock(&self.inner.faults);
        match fault {
            Fault::DropAfterBytes { bytes, times } => {
                f.drop_after = (times > 0).then_some((bytes, times))
            }
            Fault::Stall { after_bytes, duration } => f.stall = Some((after_bytes, duration)),
            Fault::Http500 { times } => f.http500 = times,
            Fault::CorruptByte { times } => f.corrupt = times,
            Fault::Lie(lie) => {
                if !f.lies.contains(&lie) {
                    f.lies.push(lie)
                }
            }
        }
    }

    /// Disarms every fault, lies included.
    pub fn clear_faults(&self) {
        *lock(&self.inner.faults) = Faults::default();
    }

    /// Powers the camera off: closes the listener, drops open connections (clients then get
    /// connection refused) and pauses the clock, so recording pauses. Idempotent.
    pub async fn power_off(&self) {
        let _ = self.inner.events_tx.send(CameraEvent::Power { on: false });
        self.inner.powered.store(false, Ordering::SeqCst);
        lock(&self.inner.clock).pause();
        self.stop_api().await;
        tracing::info!("power off");
    }

    /// Powers the camera on: listens again on the same port (if its WiFi is on) and resumes the
    /// clock. Idempotent.
    pub async fn power_on(&self) -> Result<(), SimError> {
        if !self.is_powered() {
            // A reboot: the camera's RAM is lost, its flash read back.
            lock(&self.inner.pairing).reboot();
        }
        if self.inner.wifi_on.load(Ordering::SeqCst) {
            self.start_api().await?;
        }
        self.inner.powered.store(true, Ordering::SeqCst);
        lock(&self.inner.clock).resume();
        tracing::info!("power on");
        Ok(())
    }

    /// Turns the camera's WiFi access point (its HTTP API) on or off, as a paired phone's BLE
    /// command does; recording and BLE carry on. Idempotent.
    pub async fn set_wifi(&self, on: bool) -> Result<(), SimError> {
        self.inner.wifi_on.store(on, Ordering::SeqCst);
        if !self.is_powered() {
            return Ok(());
        }
        if on {
            self.start_api().await?;
        } else {
            self.stop_api().await;
        }
        tracing::info!(on, "WiFi");
        Ok(())
    }

    /// Whether the WiFi access point is on.
    pub fn wifi_on(&self) -> bool {
        self.inner.wifi_on.load(Ordering::SeqCst)
    }

    async fn stop_api(&self) {
        let server = self.inner.server.lock().await.take();
        if let Some(s) = server {
            s.stop().await;
        }
    }

    async fn start_api(&self) -> Result<(), SimError> {
        let mut server = self.inner.server.lock().await;
        if server.is_some() {
            return Ok(());
        }
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.inner.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 40 && e.kind() == std::io::ErrorKind::AddrInUse => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        *server = Some(server::spawn(self.inner.clone(), listener));
        Ok(())
    }

    /// Whether the camera is powered on.
    pub fn is_powered(&self) -> bool {
        self.inner.powered.load(Ordering::SeqCst)
    }

    /// Body bytes of the video of segment `id` actually sent, over all downloads.
    pub fn served_video_bytes(&self, id: &str) -> u64 {
        lock(&self.inner.served).get(id).copied().unwrap_or(0)
    }

    /// Body bytes of all videos sent.
    pub fn served_total_bytes(&self) -> u64 {
        self.inner.served_total.load(Ordering::Relaxed)
    }

    /// Requests answered so far, by endpoint.
    pub fn request_counts(&self) -> RequestCounts {
        *lock(&self.inner.counts)
    }

    /// The address of the BLE GATT service (loopback transport), for `LoopbackLink`.
    pub fn ble_addr(&self) -> SocketAddr {
        self.inner.ble_addr
    }

    /// The pairing code on the camera's screen, pressing the pairing button first when no
    /// window is open (what a user does to pair).
    pub fn pairing_code(&self) -> String {
        self.shown_pairing_code().unwrap_or_else(|| self.press_pairing_button())
    }

    /// The code on the screen while a pairing window is open.
    pub fn shown_pairing_code(&self) -> Option<String> {
        let code = lock(&self.inner.pairing).shown_code(self.inner.wall_ms());
        code.map(|c| c.reveal().to_string())
    }

    /// Presses the pairing button: opens a new pairing window with a fresh random code (closing
    /// any open one, its back-off included) and returns the code shown.
    pub fn press_pairing_button(&self) -> String {
        let code = lock(&self.inner.pairing).open_window(None, self.inner.wall_ms());
        code.reveal().to_string()
    }

    /// The ids of the paired phones.
    pub fn paired_phones(&self) -> Vec<String> {
        lock(&self.inner.pairing).phones()
    }

    /// Forgets a phone from the camera's menu (its secret stops working at once).
    pub fn revoke_phone(&self, phone_id: &str) -> bool {
        lock(&self.inner.pairing).revoke(phone_id)
    }

    /// Stops the recorder, the BLE service and the server (open connections are dropped).
    pub async fn shutdown(self) {
        if let Some(h) = lock(&self.inner.recorder).take() {
            h.abort();
        }
        if let Some(h) = lock(&self.inner.ble).take() {
            h.abort();
        }
        self.power_off().await;
    }
}
