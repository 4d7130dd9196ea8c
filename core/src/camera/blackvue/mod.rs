//! BlackVue cameras: HTTP on the camera's address, in two dialects. Legacy firmware lists the
//! card with `GET /blackvue_vod.cgi` (text lines) and serves files under `/Record/`; firmware
//! 1.009 and later answer `GET /accessible`, list with `GET /vodList` (JSON, without sizes), serve
//! videos from the root, and answer `blackvue_vod.cgi` with 415. See `docs/cameras.md`
//! ("Protocol facts") for what is known and from where.
//!
//! The folder holds the driver for both generations ([`client`]) and the pure parsers: both
//! listings ([`listing`]), the NMEA GPS lines of the `.gps` side files ([`gps`]), the `.3gf`
//! accelerometer records ([`accel`]), and the walk that finds both inside an MP4
//! ([`embedded`]).

pub mod accel;
pub mod client;
pub mod embedded;
pub mod gps;
pub mod listing;

pub use client::{BlackVueDriver, BlackVueError, Firmware};

/// The legacy listing endpoint.
pub const LEGACY_LIST_PATH: &str = "/blackvue_vod.cgi";
/// The firmware 1.009+ probe: 200 on 1.009+, 404 on legacy firmware.
pub const ACCESSIBLE_PATH: &str = "/accessible";
/// The firmware 1.009+ listing endpoint.
pub const VOD_LIST_PATH: &str = "/vodList";
