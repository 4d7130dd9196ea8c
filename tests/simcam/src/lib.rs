//! A simulated dash cam for tests, demos and benchmarks.
//!
//! [`SimCamera`] plays a [`Scenario`] (drives, speed, turns, G-sensor events) on a virtual clock,
//! records real H.264 + AAC MP4 segments (built from a one-GOP fixture clip) and their telemetry
//! onto a directory that plays the SD card (with loop recording and locked event segments), and
//! serves the camera HTTP API, protocol v1 (`docs/camera-protocol.md`,
//! [`dashkeep_core::protocol`]) over a real TCP socket. Tests can inject faults ([`Fault`]),
//! power the camera off and on, and read what was served.
//!
//! ```no_run
//! # async fn demo() -> Result<(), dashkeep_simcam::SimError> {
//! use dashkeep_simcam::{Scenario, SimCamera, SimConfig};
//! let dir = tempfile::tempdir().unwrap();
//! let mut cfg = SimConfig::new(Scenario::multi_drive(2, 6, 2), dir.path());
//! cfg.instant = true;
//! let cam = SimCamera::start(cfg).await?;
//! println!("camera at {}", cam.base_url());
//! cam.shutdown().await;
//! # Ok(()) }
//! ```

pub mod blackvue;
mod ble;
mod camera;
mod mp4;
pub mod novatek;
mod scenario;
mod server;
mod telemetry;
mod ts;

pub use camera::{RequestCounts, SimCamera, SimConfig};
pub use mp4::Fixture;
pub use scenario::{DriveSpec, EventKind, EventSpec, GeoStart, Mount, Scenario, Turn};

use std::time::Duration;

/// The protocol the simulated camera speaks: the same recorded card served either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// Dashkeep's own protocol (`docs/camera-protocol.md`).
    #[default]
    Dashkeep,
    /// A Novatek-based camera's XML commands and `A:\Novatek\Movie` files ([`novatek`]).
    Novatek,
    /// A BlackVue camera before firmware 1.009: `blackvue_vod.cgi`, `/Record/`, `.gps` side
    /// files ([`blackvue`]).
    BlackVueLegacy,
    /// A BlackVue camera with firmware 1.009 or later: `/accessible`, `/vodList`, files from
    /// the root, GPS inside the MP4 ([`blackvue`]).
    BlackVue1009,
}

/// Why the simulated camera could not do something.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario is malformed or inconsistent.
    #[error("scenario: {0}")]
    Scenario(String),
    /// The fixture clip is missing or not a one-GOP clip the simcam can repeat.
    #[error("fixture: {0}")]
    Fixture(String),
    /// A file or socket operation failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A fault for the next requests. Counted faults apply to the next `times` matching requests;
/// [`Fault::Lie`] persists until [`SimCamera::clear_faults`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The next `times` video downloads stop after `bytes` body bytes: the connection is closed
    /// without completing the announced `Content-Length`, so the client sees an error.
    DropAfterBytes {
        /// Body bytes sent before the cut.
        bytes: u64,
        /// How many downloads to cut.
        times: u32,
    },
    /// The next video download pauses for `duration` after `after_bytes` body bytes.
    Stall {
        /// Body bytes sent before the pause.
        after_bytes: u64,
        /// How long the pause lasts.
        duration: Duration,
    },
    /// The next `times` API requests (anything under `/api/v1`) answer 500 with an `ApiError`.
    Http500 {
        /// How many requests fail.
        times: u32,
    },
    /// The next `times` video downloads flip one byte in the middle of the body.
    CorruptByte {
        /// How many downloads to corrupt.
        times: u32,
    },
    /// Listings (segments and feed) misreport their first segment until faults are cleared.
    Lie(Lie),
}

/// How a lying camera misreports the first segment of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lie {
    /// The id becomes `../../x`.
    PathId,
    /// The size becomes `u64::MAX / 2`.
    AbsurdSize,
    /// The duration becomes −60000 ms.
    NegativeDuration,
    /// The SHA-256 becomes 64 valid hex digits that do not match the file.
    WrongChecksum,
}
