//! Novatek-based cameras (Viofo, YI and their clones): HTTP on the camera's access point
//! (often `http://192.168.1.254`), commands as `GET /?custom=1&cmd=N[&par=P][&str=S]`, answers
//! in XML. See `docs/cameras.md` ("Protocol facts") for what is known and from where.
//!
//! The folder holds the driver ([`client`]), the pure parsers of the camera's answers: the file
//! list of `cmd=3015` ([`listing`]) and the `<Function>` replies of the other commands
//! ([`reply`]), and the reader of the GPS records the camera embeds in its MP4 files ([`gps`]).

pub mod client;
pub mod gps;
pub mod listing;
pub mod reply;

pub use client::{NovatekDriver, NovatekError};

/// The command that lists the card's files as XML.
pub const CMD_FILE_LIST: u32 = 3015;
/// The command that reports the recording state (`<Status>` 1 while recording on most models).
pub const CMD_STATUS: u32 = 3014;
/// The heartbeat command: any answer means the camera is alive.
pub const CMD_HEARTBEAT: u32 = 3016;
/// The command that reports the card's free space in bytes (`<Value>`).
pub const CMD_FREE_SPACE: u32 = 3017;
/// The command that reports the firmware version (`<String>`).
pub const CMD_VERSION: u32 = 3012;
/// The command that stops (`par=0`) or starts (`par=1`) recording: many models list and serve
/// files only while not recording.
pub const CMD_RECORD: u32 = 2001;
/// The command that deletes a file (`str=` its `FPATH`).
pub const CMD_DELETE: u32 = 4003;
