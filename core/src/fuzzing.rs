//! Entry points for the fuzz targets in `fuzz/` and for the corpus replay test
//! (`core/tests/fuzz_corpus.rs`): one function per parser that takes outside input, each taking
//! raw bytes and driving the same public code the app runs on them. They must never panic;
//! whatever they return is ignored. Not part of the product API.

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;

use crate::camera::auth::{ApiSecret, RequestVerifier, SignedParts};
use crate::camera::ble::{BleError, MessageChannel, Reassembler};
use crate::camera::control::{self, BleStatus, CameraEvent, ClipMark};
use crate::camera::pairing::{self, CameraPairing, PairingCode, PairingSession};
use crate::protocol::{ApiError, CameraStatus, DriveList, SegmentList, Telemetry};

/// A fuzz entry point: takes any bytes, never panics.
pub type EntryPoint = fn(&[u8]);

/// The fuzz targets, by name, with their entry point: the replay test walks `fuzz/corpus/<name>`.
pub const TARGETS: &[(&str, EntryPoint)] = &[
    ("mp4_read", mp4_read),
    ("camera_listing", camera_listing),
    ("telemetry", telemetry),
    ("motion_csv", motion_csv),
    ("pairing_camera", pairing_camera),
    ("pairing_phone", pairing_phone),
    ("ble_control", ble_control),
    ("auth_header", auth_header),
    ("cloud_sidecar", cloud_sidecar),
    ("novatek_listing", novatek_listing),
    ("blackvue_listing", blackvue_listing),
    ("ts_read", ts_read),
];

/// MP4 boxes and sample tables: the segment reader behind clip cutting.
pub fn mp4_read(data: &[u8]) {
    let _ = crate::clips::probe_segment_bytes(data);
}

/// MPEG-TS segments (`.TS`, Novatek): packets, PAT/PMT, PES, H.264 access units and ADTS
/// frames, through the same reader as ingest's structural check and the clip cut (the seeds
/// start with a sync byte, so the TS path is the one taken).
pub fn ts_read(data: &[u8]) {
    let _ = crate::clips::probe_segment_bytes(data);
}

/// The camera's JSON answers: segment and drive listings (each entry validated as ingest does),
/// status and error bodies.
pub fn camera_listing(data: &[u8]) {
    if let Ok(list) = serde_json::from_slice::<SegmentList>(data) {
        for s in &list.segments {
            let _ = s.validate();
        }
    }
    let _ = serde_json::from_slice::<DriveList>(data);
    let _ = serde_json::from_slice::<CameraStatus>(data);
    let _ = serde_json::from_slice::<ApiError>(data);
}

/// A segment's telemetry sidecar, parsed and run through the camera motion pipeline.
pub fn telemetry(data: &[u8]) {
    let Ok(t) = serde_json::from_slice::<Telemetry>(data) else { return };
    let mut pipeline = crate::events::MotionPipeline::new(Default::default());
    let _ = pipeline.camera_segment(crate::catalog::DriveId(1), 1_700_000_000_000, &t);
}

/// The motion CSV (phone recordings, `dashkeep events detect`), parsed and detected.
pub fn motion_csv(data: &[u8]) {
    let _ = crate::events::read_csv(data);
    let _ = crate::events::detect_csv(data, Default::default());
}

/// Splits fuzz input into messages: each is `[len: u8][bytes]`.
fn messages(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let [len, rest @ ..] = data {
        let n = usize::from(*len).min(rest.len());
        out.push(&rest[..n]);
        data = &rest[n..];
    }
    out
}

fn camera() -> CameraPairing {
    let mut cam = CameraPairing::new(
        "SIM0001",
        ("ssid".into(), "passphrase".into()),
        "https://127.0.0.1:1".into(),
        [9; 32],
        Duration::from_millis(1),
    );
    // The window a button press opens: pairing is refused outside one.
    cam.open_window(Some(PairingCode::parse("12345678").expect("a valid code")), NOW_MS);
    cam
}

/// The wall clock the camera-side entry points run at.
const NOW_MS: i64 = 1_700_000_000_000;

/// The camera side of pairing and BLE control: each message as a phone could send it.
pub fn pairing_camera(data: &[u8]) {
    let mut cam = camera();
    let mut session = PairingSession::default();
    for m in messages(data) {
        let _ = cam.handle(&mut session, m, NOW_MS);
        let _ = cam.handle_control(m, NOW_MS, |_| Some(b"{}".to_vec()));
    }
}

/// A channel that answers with the fuzz input's messages.
struct Replay<'a>(std::vec::IntoIter<&'a [u8]>);

#[async_trait]
impl MessageChannel for Replay<'_> {
    async fn send(&mut self, _msg: &[u8]) -> Result<(), BleError> {
        Ok(())
    }
    async fn recv(&mut self, _timeout: Duration) -> Result<Vec<u8>, BleError> {
        self.0.next().map(<[u8]>::to_vec).ok_or(BleError::Framing("no more input"))
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
    })
}

/// The phone side of pairing: the camera's answers (REPLY, PAIRED, errors) as a camera could
/// send them.
pub fn pairing_phone(data: &[u8]) {
    let code = PairingCode::parse("12345678").expect("a valid code");
    let mut chan = Replay(messages(data).into_iter());
    let _ = runtime().block_on(pairing::pair_over(&mut chan, "SIM0001", &code, "phone1"));
}

/// BLE framing and the control messages both ways: chunk reassembly, control requests
/// (camera side), answers' JSON bodies and notified events (phone side), loopback frames.
pub fn ble_control(data: &[u8]) {
    let mut reasm = Reassembler::default();
    for chunk in messages(data) {
        if let Ok(Some(m)) = reasm.push(chunk) {
            let _ = control::parse_request(&m);
            let _ = CameraEvent::decode(&m);
        }
    }
    let _ = control::parse_request(data);
    let _ = CameraEvent::decode(data);
    let _ = serde_json::from_slice::<BleStatus>(data);
    let _ = serde_json::from_slice::<ClipMark>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::camera::ble::GattUuid::parse(text);
    }
    let mut r = data;
    let _ = runtime().block_on(crate::camera::ble::loopback::read_frame(&mut r));
}

/// The signed-request `Authorization` header as the camera checks it.
pub fn auth_header(data: &[u8]) {
    let Ok(header) = std::str::from_utf8(data) else { return };
    let parts =
        SignedParts { method: "GET", path: "/api/v1/status", query: "", range: "", body: b"" };
    let mut verifier = RequestVerifier::default();
    let _ = verifier.verify(Some(header), &parts, NOW_MS, |_| Some(ApiSecret([7; 32])));
}

/// A cloud sidecar read back from the store (restore), under the name the seeds use.
pub fn cloud_sidecar(data: &[u8]) {
    let _ = crate::cloud::Sidecar::parse(data, "0123456789abcdef0123456789abcdef");
}

/// A Novatek camera's XML answers: the `cmd=3015` file list (its files then grouped into drives)
/// and the `<Function>` replies; and the GPS it embeds in its MP4 files (the bytes read as a
/// whole file, as a `gps ` box payload and as one `freeGPS` record).
pub fn novatek_listing(data: &[u8]) {
    use crate::camera::{file_drives, novatek};
    let _ = novatek::gps::read_gps(&mut std::io::Cursor::new(data), data.len() as u64);
    let _ = novatek::gps::parse_index(data);
    let _ = novatek::gps::parse_record(data);
    if let Ok(listing) = novatek::listing::parse_file_list(data) {
        let _ = file_drives::group_into_drives(listing.files, &Default::default());
    }
    if let Ok(reply) = novatek::reply::parse_reply(data) {
        let _ = reply.expect_ok(novatek::CMD_FREE_SPACE).map(|r| r.value_u64());
    }
}

/// A BlackVue camera's answers: legacy `blackvue_vod.cgi` lines and the 1.009+ `/vodList` JSON,
/// each grouped into drives, the NMEA GPS lines (as a side file, timed from a file name's
/// start), the `.3gf` accelerometer records, and both as embedded in an MP4's `free` box.
pub fn blackvue_listing(data: &[u8]) {
    use crate::camera::blackvue::{accel, embedded, gps};
    use crate::camera::driver::LocalTime;
    use crate::camera::{blackvue::listing, file_drives};
    let _ = gps::parse_gps(data, None);
    let _ = accel::parse_3gf(data);
    let named = LocalTime::from_unix_seconds(1_672_574_400);
    let _ = gps::parse_gps(data, gps::recording_start_ms(named, data));
    let mut file = std::io::Cursor::new(data);
    if let Ok(found) = embedded::read_embedded(&mut file, data.len() as u64) {
        if let Some(lines) = found.gps {
            let _ = gps::parse_gps(&lines, gps::recording_start_ms(named, &lines));
        }
        let _ = found.accel.map(|records| accel::parse_3gf(&records));
    }
    let parsed = [listing::parse_legacy_list(data), listing::parse_vod_list(data)];
    for listing in parsed.into_iter().flatten() {
        let _ = file_drives::group_into_drives(listing.files, &Default::default());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_entry_point_takes_empty_and_garbage_input() {
        for (_, f) in super::TARGETS {
            f(b"");
            f(b"\x01\x01\x00\xff{not json");
        }
    }
}
