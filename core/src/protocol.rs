//! The camera's wire protocol, version 1: the JSON bodies and paths of the camera HTTP API.
//!
//! These types are shared by the phone (`camera`, `ingest`) and the simulated camera so the two
//! sides cannot drift. They describe what a camera *says*; nothing here is trusted. The phone checks
//! every listing with [`SegmentInfo::validate`] before it acts on it, and never uses a name from the
//! camera as a path without that check. The full specification is `docs/camera-protocol.md`.

use serde::{Deserialize, Serialize};

/// The protocol version this build speaks; the camera reports its own in [`CameraStatus`].
pub const PROTOCOL_VERSION: u32 = 1;

/// Path prefix of every camera endpoint.
pub const API_PREFIX: &str = "/api/v1";

/// The largest segment a phone accepts from a camera: 4 GiB, the FAT32 file limit of an SD card.
pub const MAX_SEGMENT_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// The longest segment a phone accepts: 30 minutes (cameras record 1 to 10 minute segments).
pub const MAX_SEGMENT_DURATION_MS: i64 = 30 * 60 * 1000;

/// The largest telemetry sidecar a phone accepts for one segment.
pub const MAX_TELEMETRY_BYTES: u64 = 64 * 1024 * 1024;

/// The longest a camera id (of a drive or a segment) may be.
pub const MAX_ID_LEN: usize = 64;

/// `GET /api/v1/status`: what the camera is doing and how full its SD card is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CameraStatus {
    /// Protocol version the camera speaks.
    pub protocol_version: u32,
    /// Camera model name, for display.
    pub model: String,
    /// Firmware version, for display.
    pub firmware: String,
    /// Serial number, unique per camera.
    pub serial: String,
    /// Capacity of the SD card usable for video, in bytes.
    pub sd_capacity_bytes: u64,
    /// Bytes of the SD card used by recorded segments and their telemetry.
    pub sd_used_bytes: u64,
    /// Whether the camera is recording now (ignition on).
    pub recording: bool,
    /// The drive being recorded now, if any.
    pub current_drive: Option<String>,
    /// The camera's clock, in milliseconds since the Unix epoch.
    pub clock_ms: i64,
    /// The newest segment sequence number finalized so far (0 when none).
    pub latest_seq: u64,
}

/// One drive on the camera: a journey from ignition on to ignition off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveInfo {
    /// The camera's id of the drive.
    pub id: String,
    /// When the drive started, in ms since the Unix epoch.
    pub start_ms: i64,
    /// When the drive ended; `None` while it is being recorded.
    pub end_ms: Option<i64>,
    /// Segments of this drive still on the SD card.
    pub segment_count: u32,
    /// Bytes of this drive still on the SD card.
    pub bytes: u64,
}

/// Which lens recorded a file. The lenses of one moment belong to one drive; the lowest one a
/// drive has (the front, nearly always) is the drive's timeline: what its clips and story show.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The forward camera (BlackVue `F`, Viofo `F`; the default when a name says nothing).
    #[default]
    Front,
    /// The rear camera (`R`).
    Rear,
    /// The cabin camera (BlackVue `I`, Viofo `I`).
    Interior,
    /// BlackVue's optional extra camera (`O`).
    Option,
    /// Viofo's telephoto lens on three-lens models (`T`).
    Tele,
}

impl Channel {
    /// The channel's name for logs and the UI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Front => "front",
            Self::Rear => "rear",
            Self::Interior => "interior",
            Self::Option => "option",
            Self::Tele => "tele",
        }
    }

    /// The channel [`Self::as_str`] names.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Front, Self::Rear, Self::Interior, Self::Option, Self::Tele]
            .into_iter()
            .find(|c| c.as_str() == name)
    }
}

/// `GET /api/v1/drives`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveList {
    /// Drives with at least one segment on the card, oldest first.
    pub drives: Vec<DriveInfo>,
}

/// One finalized video segment on the camera, with its telemetry sidecar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentInfo {
    /// The camera's id of the segment.
    pub id: String,
    /// The camera's id of the drive it belongs to.
    pub drive_id: String,
    /// Sequence number: increases by one for every finalized segment, across drives. Cursors use it.
    pub seq: u64,
    /// Position of the segment in its drive, from 0.
    pub index_in_drive: u32,
    /// When the segment's first frame was recorded, in ms since the Unix epoch.
    pub start_ms: i64,
    /// Duration of the segment, in ms. Signed on the wire so a lying camera can be told apart.
    pub duration_ms: i64,
    /// Size of the MP4 file, in bytes.
    pub size: u64,
    /// SHA-256 of the MP4 file, lowercase hex, as the camera lists it (the phone checks its
    /// download against it).
    pub sha256: String,
    /// Whether the camera protects this segment from loop recording (it holds a G-sensor event).
    pub locked: bool,
    /// Size of the telemetry sidecar, in bytes.
    pub telemetry_size: u64,
    /// SHA-256 of the telemetry sidecar, lowercase hex.
    pub telemetry_sha256: String,
    /// The lens that recorded it (the front when the camera does not say).
    #[serde(default)]
    pub channel: Channel,
}

/// `GET /api/v1/segments?since=SEQ&limit=N` and the answer of `GET /api/v1/feed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentList {
    /// Segments with `seq > since`, in increasing `seq`, at most `limit`.
    pub segments: Vec<SegmentInfo>,
    /// The cursor to pass as `since` (or `after`) next time.
    pub next_cursor: u64,
    /// Whether more segments follow the ones returned.
    pub more: bool,
    /// The lowest `seq` still on the card (0 when the card is empty): anything older was overwritten.
    pub oldest_seq: u64,
}

/// One G-sensor sample: time since the segment start and acceleration in m/s² (gravity included).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AccelSample {
    /// Milliseconds since the segment's start.
    pub t_ms: u32,
    /// Acceleration along the camera's x axis, m/s².
    pub ax: f32,
    /// Acceleration along the camera's y axis, m/s².
    pub ay: f32,
    /// Acceleration along the camera's z axis, m/s².
    pub az: f32,
}

/// One GPS fix: time since the segment start, position and ground speed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpsFix {
    /// Milliseconds since the segment's start.
    pub t_ms: u32,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Ground speed, m/s.
    pub speed_mps: f32,
}

/// `GET /api/v1/segments/{id}/telemetry`: the sensor data recorded with one segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    /// The segment this telemetry belongs to.
    pub segment_id: String,
    /// Nominal G-sensor rate, Hz.
    pub accel_hz: u32,
    /// G-sensor samples, in time order.
    pub accel: Vec<AccelSample>,
    /// GPS fixes (1 Hz), in time order.
    pub gps: Vec<GpsFix>,
}

/// A JSON error body the camera returns with a non-2xx status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// A short machine-readable code, e.g. `not_found`.
    pub code: String,
    /// A human-readable message.
    pub message: String,
}

/// Why a camera's listing was refused. The camera is untrusted: each of these is a lie or a bug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListingError {
    /// An id that is empty, too long, or holds characters other than `[A-Za-z0-9_-]`.
    #[error("camera sent an unsafe or malformed id {0:?}")]
    BadId(String),
    /// A size of zero or larger than any SD card file can be.
    #[error("camera claims segment {id} is {size} bytes, outside 1..={max}", max = MAX_SEGMENT_BYTES)]
    AbsurdSize {
        /// The segment.
        id: String,
        /// The claimed size.
        size: u64,
    },
    /// A duration that is zero, negative, or longer than any segment.
    #[error("camera claims segment {id} lasts {duration_ms} ms")]
    BadDuration {
        /// The segment.
        id: String,
        /// The claimed duration.
        duration_ms: i64,
    },
    /// A checksum that is not 64 lowercase hex digits.
    #[error("camera sent a malformed SHA-256 for segment {id}")]
    BadChecksum {
        /// The segment.
        id: String,
    },
    /// A telemetry size larger than any telemetry can be.
    #[error("camera claims telemetry of segment {id} is {size} bytes")]
    AbsurdTelemetrySize {
        /// The segment.
        id: String,
        /// The claimed size.
        size: u64,
    },
}

/// Whether `id` is safe to use as a file name and a URL path segment: 1 to 64 of `[A-Za-z0-9_-]`,
/// not starting with `-`. Anything else (`..`, `/`, `\`, NUL, unicode) is refused.
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.starts_with('-')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl SegmentInfo {
    /// Checks that the listing entry is plausible before the phone acts on it.
    pub fn validate(&self) -> Result<(), ListingError> {
        self.validate_except_checksums()?;
        if !is_sha256_hex(&self.sha256) || !is_sha256_hex(&self.telemetry_sha256) {
            return Err(ListingError::BadChecksum { id: self.id.clone() });
        }
        Ok(())
    }

    /// Checks everything [`Self::validate`] does but the checksums: for a vendor camera's file,
    /// whose camera lists none (the phone vouches for it with its own digest, kept in the
    /// catalog, not here).
    pub fn validate_except_checksums(&self) -> Result<(), ListingError> {
        for id in [&self.id, &self.drive_id] {
            if !is_safe_id(id) {
                return Err(ListingError::BadId(id.clone()));
            }
        }
        let id = || self.id.clone();
        if self.size == 0 || self.size > MAX_SEGMENT_BYTES {
            return Err(ListingError::AbsurdSize { id: id(), size: self.size });
        }
        if self.duration_ms <= 0 || self.duration_ms > MAX_SEGMENT_DURATION_MS {
            return Err(ListingError::BadDuration { id: id(), duration_ms: self.duration_ms });
        }
        if self.telemetry_size > MAX_TELEMETRY_BYTES {
            return Err(ListingError::AbsurdTelemetrySize { id: id(), size: self.telemetry_size });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment() -> SegmentInfo {
        SegmentInfo {
            id: "D0001_S0000".into(),
            drive_id: "D0001".into(),
            seq: 1,
            index_in_drive: 0,
            start_ms: 1_700_000_000_000,
            duration_ms: 60_000,
            size: 1000,
            sha256: "a".repeat(64),
            locked: false,
            telemetry_size: 10,
            telemetry_sha256: "b".repeat(64),
            channel: Channel::Front,
        }
    }

    #[test]
    fn accepts_a_plain_listing() {
        assert_eq!(segment().validate(), Ok(()));
    }

    #[test]
    fn refuses_paths_and_odd_ids() {
        for bad in ["../../x", "a/b", "", "-rf", "x\\y", "é", &"a".repeat(65), ".."] {
            let mut s = segment();
            s.id = bad.to_string();
            assert!(matches!(s.validate(), Err(ListingError::BadId(_))), "{bad:?}");
        }
    }

    #[test]
    fn refuses_absurd_numbers() {
        let mut s = segment();
        s.size = u64::MAX;
        assert!(matches!(s.validate(), Err(ListingError::AbsurdSize { .. })));
        let mut s = segment();
        s.duration_ms = -5;
        assert!(matches!(s.validate(), Err(ListingError::BadDuration { .. })));
        let mut s = segment();
        s.sha256 = "XYZ".into();
        assert!(matches!(s.validate(), Err(ListingError::BadChecksum { .. })));
    }
}
