//! What a camera driver reports about the files on a camera's card, whatever the camera's
//! protocol: one [`CameraFile`] per recording, in a [`Listing`] that also counts what it skipped.
//!
//! Vendor cameras (Novatek-based, BlackVue) have no drives, segments or checksums: their listings
//! are file names, folders, sometimes a size and a time. Each driver's listing parser
//! ([`super::novatek::listing`], [`super::blackvue::listing`]) reads its vendor's format into these
//! types, and [`super::file_drives`] groups the files into drives. Everything here comes from an
//! untrusted camera: names are reduced to a safe file name or rejected ([`is_safe_file_name`]),
//! request paths are rebuilt from checked segments ([`safe_remote_path`]), sizes are bounded, and a
//! listing holds at most [`ListingLimits::max_files`] files. A bad entry is skipped and counted
//! ([`SkipReason`]); a listing that cannot be trusted as a whole is a typed error of its parser.

use std::collections::{BTreeMap, HashSet};
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;

use crate::camera::CameraError;
use crate::camera::blackvue::BlackVueError;
use crate::camera::novatek::client::NovatekError;
use crate::camera::probe::Dialect;
pub use crate::protocol::Channel;

/// What ingest needs from any camera, whatever protocol it speaks: who it is, what its card
/// holds, the bytes of one file (from an offset where the camera honours `Range`, else from 0),
/// telemetry where the camera keeps it apart, its free space, and (optionally) deleting a file.
/// Lock state travels in [`CameraFile::locked`]. One implementation per dialect: Dashkeep's own
/// client ([`crate::camera::CameraClient`]), Novatek ([`crate::camera::novatek::NovatekDriver`]),
/// BlackVue legacy and 1.009+ ([`crate::camera::blackvue::BlackVueDriver`]).
/// [`crate::camera::probe::connect`] picks the right one for a URL by probing.
#[async_trait::async_trait]
pub trait CameraDriver: Send + Sync {
    /// The protocol this driver speaks.
    fn dialect(&self) -> Dialect;

    /// The camera's base URL (for the catalog and logs).
    fn base_url(&self) -> &str;

    /// Who the camera is: model, firmware and a serial that names it in the catalog.
    async fn identify(&self) -> Result<CameraIdentity, DriverError>;

    /// The files on the card, checked (unsafe or absurd entries skipped and counted). A driver
    /// may have to pause the camera's recording to list (Novatek); [`Self::release`] resumes it.
    async fn list(&self) -> Result<Listing, DriverError>;

    /// The bytes of `file` from `offset` on: a `Range` request where the camera honours it; a
    /// camera that ignores it answers from 0 ([`FileDownload::offset`] says so, and the caller
    /// restarts cleanly). `None` when the camera says nothing lies past `offset` (416).
    async fn download(
        &self,
        file: &CameraFile,
        offset: u64,
    ) -> Result<Option<FileDownload>, DriverError>;

    /// The size of `file` on the camera now: the listing's where it gives one; cameras whose
    /// listing has none (BlackVue) ask the camera (`Content-Length`). `None` when the camera
    /// does not say; such a file is not taken (its growth cannot be watched).
    async fn file_size(&self, file: &CameraFile) -> Result<Option<u64>, DriverError> {
        Ok(file.size)
    }

    /// Telemetry the camera keeps beside the video (a side file), if it has any for `file`;
    /// telemetry inside the video is read from the downloaded file instead.
    async fn telemetry(&self, file: &CameraFile) -> Result<Option<Bytes>, DriverError>;

    /// Free space on the camera's card, in bytes, if the camera tells.
    async fn free_space(&self) -> Result<Option<u64>, DriverError>;

    /// Deletes `file` from the camera's card. Only ever called after a verified copy, behind the
    /// user's explicit setting; cameras that cannot delete answer [`DriverError::Unsupported`].
    async fn delete(&self, file: &CameraFile) -> Result<(), DriverError> {
        let _ = file;
        Err(DriverError::Unsupported { dialect: self.dialect(), what: "delete files" })
    }

    /// Whether the camera is known to be writing nothing now: the driver stopped its recording
    /// to list the card (Novatek), so no file on it can still be growing and the two looks
    /// ingest takes at the card need no wait between them. `false` when unknown.
    fn records_nothing(&self) -> bool {
        false
    }

    /// Hands the camera back once ingest is done with it (a Novatek camera whose recording the
    /// driver stopped starts recording again). Safe to call more than once.
    async fn release(&self) -> Result<(), DriverError> {
        Ok(())
    }
}

/// Who a camera is, as its driver found out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraIdentity {
    /// The protocol it speaks.
    pub dialect: Dialect,
    /// Its model, for display.
    pub model: String,
    /// Its firmware version, for display.
    pub firmware: String,
    /// The name the catalog knows it by (checked with [`crate::protocol::is_safe_id`]); for
    /// cameras without a serial in their protocol, one derived from the dialect and address.
    pub serial: String,
}

/// One file's bytes on their way from the camera.
pub struct FileDownload {
    /// The byte offset the body starts at (0 when the camera ignored the Range request).
    pub offset: u64,
    /// The whole file's size when the camera said it (`Content-Range`, or `Content-Length` of a
    /// full answer): a file whose listing had no size is checked against it.
    pub total: Option<u64>,
    /// The body's chunks; an error means the link dropped mid-body.
    pub body: Pin<Box<dyn Stream<Item = Result<Bytes, DriverError>> + Send>>,
}

impl std::fmt::Debug for FileDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDownload")
            .field("offset", &self.offset)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

/// Why a camera driver failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The Dashkeep client failed.
    #[error(transparent)]
    Dashkeep(#[from] CameraError),
    /// The Novatek driver failed.
    #[error(transparent)]
    Novatek(#[from] NovatekError),
    /// A BlackVue driver failed.
    #[error(transparent)]
    BlackVue(#[from] BlackVueError),
    /// The camera's protocol has no way to do this.
    #[error("a {dialect} camera cannot {what}")]
    Unsupported {
        /// The dialect.
        dialect: Dialect,
        /// What was asked.
        what: &'static str,
    },
}

impl DriverError {
    /// Whether trying again later may succeed (a dropped link, a server error).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Dashkeep(e) => e.is_transient(),
            Self::Novatek(e) => e.is_transient(),
            Self::BlackVue(e) => e.is_transient(),
            Self::Unsupported { .. } => false,
        }
    }
}

/// The longest file name a camera may give a recording (FAT long names are 255; dash cams use
/// about 30).
pub const MAX_NAME_LEN: usize = 128;

/// The largest recording size believed from a listing: 1 TiB. A camera that claims more is lying
/// (SD cards hold FAT32 or exFAT files of a few GiB); the entry is skipped.
pub const MAX_FILE_SIZE: u64 = 1 << 40;

/// Camera wall-clock times before 2010-01-01 mean the camera's clock was never set (it counts
/// from 1970 or from a firmware default after each power loss).
const CLOCK_SET_AFTER: i64 = 1_262_304_000;

/// Bounds on what a listing parser accepts, so a hostile camera cannot make it use unbounded
/// memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListingLimits {
    /// The largest listing body, in bytes.
    pub max_bytes: usize,
    /// The most files a listing may hold; more is an error, not a silent truncation (a cut
    /// listing would make ingest believe the missing files were overwritten).
    pub max_files: usize,
}

impl Default for ListingLimits {
    /// 32 MiB and 100 000 files: a 1 TiB card of one-minute front, rear and interior files
    /// holds about 30 000.
    fn default() -> Self {
        Self { max_bytes: 32 * 1024 * 1024, max_files: 100_000 }
    }
}

impl ListingLimits {
    /// Checks a listing body's size before anything reads it.
    pub fn check_size(&self, body: &[u8]) -> Result<(), ListingTooLarge> {
        if body.len() > self.max_bytes {
            return Err(ListingTooLarge { len: body.len(), limit: self.max_bytes });
        }
        Ok(())
    }
}

/// The listing body is larger than [`ListingLimits::max_bytes`]; each parser's error wraps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the file list is {len} bytes, more than the {limit} accepted")]
pub struct ListingTooLarge {
    /// The body's size.
    pub len: usize,
    /// The limit passed.
    pub limit: usize,
}

/// The listing holds more files than [`ListingLimits::max_files`]; each parser's error wraps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the camera lists more than {limit} files")]
pub struct TooManyFiles {
    /// The limit passed.
    pub limit: usize,
}

/// Why the camera recorded a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    /// Continuous (loop) recording while driving.
    Normal,
    /// An event the camera detected while driving (G-sensor, or a BlackVue driving event).
    Event,
    /// Parking mode recording (motion or time lapse).
    Parking,
    /// An impact the camera detected in parking mode.
    ParkingEvent,
    /// The driver pressed the camera's record or lock button.
    Manual,
}

impl FileKind {
    /// Whether the camera itself marked the file as an incident (it becomes an incident clip).
    pub fn is_incident(self) -> bool {
        matches!(self, Self::Event | Self::ParkingEvent | Self::Manual)
    }

    /// Whether the file was recorded in parking mode (parking files never join a driving drive).
    pub fn is_parking(self) -> bool {
        matches!(self, Self::Parking | Self::ParkingEvent)
    }
}

/// How the file's video is packaged: it decides how it is checked and clipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Container {
    /// ISO BMFF (`.MP4`, `.MOV`).
    Mp4,
    /// MPEG transport stream (`.TS`), recorded by some Novatek models.
    Ts,
}

impl Container {
    /// The container of a recording by its file name's extension; `None` for anything that is
    /// not video (photos, thumbnails, GPS side files).
    pub fn of_name(name: &str) -> Option<Self> {
        let (_, ext) = name.rsplit_once('.')?;
        if ext.eq_ignore_ascii_case("mp4") || ext.eq_ignore_ascii_case("mov") {
            Some(Self::Mp4)
        } else if ext.eq_ignore_ascii_case("ts") {
            Some(Self::Ts)
        } else {
            None
        }
    }
}

/// A time on the camera's clock: seconds since 1970-01-01 00:00:00 of the camera's own wall
/// clock. Cameras name files in local time without a zone, so this is not UTC; it orders the
/// files of one camera and converts to UTC once the zone is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalTime(i64);

impl LocalTime {
    /// The time at a calendar date and time of day, or `None` for a date that does not exist
    /// (month 13, February 30, hour 24) or a year outside 1970..=9999.
    pub fn from_civil(year: u32, month: u32, day: u32, h: u32, m: u32, s: u32) -> Option<Self> {
        if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) || h > 23 || m > 59 || s > 59 {
            return None;
        }
        let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
        Some(Self(days * 86_400 + i64::from(h * 3600 + m * 60 + s)))
    }

    /// The time from `YYYYMMDD` and `HHMMSS` digit strings, as dash cams put them in file names.
    pub fn from_digits(date: &str, time: &str) -> Option<Self> {
        if date.len() != 8 || time.len() != 6 {
            return None;
        }
        let n = |s: &str, a: usize, b: usize| s.get(a..b).and_then(ascii_number);
        Self::from_civil(
            n(date, 0, 4)?,
            n(date, 4, 6)?,
            n(date, 6, 8)?,
            n(time, 0, 2)?,
            n(time, 2, 4)?,
            n(time, 4, 6)?,
        )
    }

    /// The time `seconds` after 1970-01-01 00:00:00 on the camera's clock.
    pub fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds)
    }

    /// Seconds since 1970-01-01 00:00:00 on the camera's clock.
    pub fn seconds(self) -> i64 {
        self.0
    }

    /// Whether the camera's clock was never set when it named the file (a 1970 or 2000-ish
    /// name): such times order files within one power cycle only.
    pub fn is_clock_unset(self) -> bool {
        self.0 < CLOCK_SET_AFTER
    }
}

/// The number made of ASCII digits only (`str::parse` also takes a leading `+`).
pub(crate) fn ascii_number<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the well-known "days from civil"
/// algorithm; written out because the core has no date crate and needs nothing else of one).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// One recording on the camera's card, as a driver lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraFile {
    /// The file name, checked by [`is_safe_file_name`]: the only part of the camera's answer a
    /// local file name may be built from.
    pub name: String,
    /// The path to request from the camera (`/DCIM/Movie/X.MP4`), rebuilt from checked segments
    /// by [`safe_remote_path`]; never a local path.
    pub path: String,
    /// The size the listing gives, if it gives a real one (BlackVue's listings do not).
    pub size: Option<u64>,
    /// When the recording started, on the camera's clock.
    pub time: LocalTime,
    /// The lens that recorded it.
    pub channel: Channel,
    /// Why it was recorded.
    pub kind: FileKind,
    /// Whether the camera protects it from the loop recorder (read-only, or in a locked folder).
    pub locked: bool,
    /// How its video is packaged.
    pub container: Container,
    /// The camera's running file number, when the name carries one (Viofo): it orders files
    /// across power cycles when the clock is unset.
    pub sequence: Option<u64>,
    /// The file's position in the camera's listing (the camera's own order).
    pub order: usize,
}

impl CameraFile {
    /// Whether the camera marked this file as an incident: locked, or an event or manual
    /// recording.
    pub fn is_incident(&self) -> bool {
        self.locked || self.kind.is_incident()
    }
}

/// Why a listing entry was skipped rather than listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The name or path is not a safe file name (`..`, separators, control or non-ASCII
    /// characters, too long), or the name and path disagree.
    UnsafeName,
    /// Not a video file (a photo, thumbnail or side file).
    NotVideo,
    /// A reduced-quality copy of another file (BlackVue's substream and live uploads).
    Substream,
    /// The size is not a number or is absurd.
    BadSize,
    /// No valid recording time in the name or the entry.
    BadTime,
    /// The vendor's file name pattern does not match.
    UnknownName,
    /// A second entry with the name of an earlier one (names are compared case-insensitively:
    /// SD cards are FAT).
    Duplicate,
    /// The entry is incomplete or not text.
    Malformed,
}

/// A camera's file listing, read and checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// The files, in the camera's order.
    pub files: Vec<CameraFile>,
    /// How many entries were skipped, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// The format version the listing declared, if its format has one (BlackVue's `v:` line).
    pub version: Option<String>,
}

impl Listing {
    /// How many entries were skipped in all.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// Builds a [`Listing`] entry by entry: drops duplicate names, counts skips, enforces the file
/// limit. Shared by every vendor parser.
pub(crate) struct ListingBuilder {
    listing: Listing,
    seen: HashSet<String>,
    limit: usize,
}

impl ListingBuilder {
    pub(crate) fn new(limits: &ListingLimits) -> Self {
        Self { listing: Listing::default(), seen: HashSet::new(), limit: limits.max_files }
    }

    /// The position the next entry will have.
    pub(crate) fn next_order(&self) -> usize {
        self.listing.files.len()
    }

    /// Adds a checked entry, or counts it as skipped.
    pub(crate) fn push(
        &mut self,
        entry: Result<CameraFile, SkipReason>,
    ) -> Result<(), TooManyFiles> {
        let file = match entry {
            Ok(file) => file,
            Err(reason) => {
                self.skip(reason);
                return Ok(());
            }
        };
        if !self.seen.insert(file.name.to_ascii_lowercase()) {
            self.skip(SkipReason::Duplicate);
            return Ok(());
        }
        if self.listing.files.len() >= self.limit {
            return Err(TooManyFiles { limit: self.limit });
        }
        self.listing.files.push(file);
        Ok(())
    }

    pub(crate) fn skip(&mut self, reason: SkipReason) {
        *self.listing.skipped.entry(reason).or_default() += 1;
    }

    pub(crate) fn set_version(&mut self, version: String) {
        self.listing.version = Some(version);
    }

    pub(crate) fn finish(self) -> Listing {
        self.listing
    }
}

/// Whether `name` may be used as one path segment, on the camera and as the base of a local file
/// name: 1 to [`MAX_NAME_LEN`] ASCII letters, digits, `_`, `-` and `.`, not starting with `.` or
/// `-` (so never `.`, `..` or a hidden or option-like name).
pub fn is_safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with(['.', '-'])
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The last segment of a path a camera gave (`A:\DCIM\Movie\X.MP4`, `/Record/X.mp4` or `X.mp4`),
/// to be checked with [`is_safe_file_name`]: a name that arrives with a folder or drive letter is
/// reduced to its file name.
pub fn last_segment(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The camera request path (`/DCIM/Movie/X.MP4`) made from a path a camera gave: an optional
/// drive letter (`A:`, `B:`), then segments separated by `\` or `/`. `None` when any segment is
/// unsafe (`..`, empty in the middle, odd characters) or there is none.
pub fn safe_remote_path(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let rest = match bytes {
        [letter, b':', ..] if letter.is_ascii_alphabetic() => &path[2..],
        _ => path,
    };
    let rest = rest.strip_prefix(['\\', '/']).unwrap_or(rest);
    let mut out = String::with_capacity(rest.len() + 1);
    for segment in rest.split(['\\', '/']) {
        if !is_safe_file_name(segment) {
            return None;
        }
        out.push('/');
        out.push_str(segment);
    }
    Some(out)
}

/// Why a vendor camera's file could not be fetched; each driver wraps it in its own error.
#[derive(Debug)]
pub(crate) enum GetFileError {
    /// The request failed or the link dropped.
    Link(reqwest::Error),
    /// The camera answered an error status.
    Status(u16),
    /// A partial answer without a usable `Content-Range`, or one starting elsewhere.
    BadRange,
}

/// GETs a file of a vendor camera from `offset` on: `Range` when resuming; a camera that ignores
/// it answers from 0 ([`FileDownload::offset`]); `None` on 416. `link` wraps a body error in
/// the driver's own error.
pub(crate) async fn get_file(
    http: &reqwest::Client,
    url: &str,
    offset: u64,
    link: fn(reqwest::Error) -> DriverError,
) -> Result<Option<FileDownload>, GetFileError> {
    use futures_util::StreamExt;
    use reqwest::{StatusCode, header};
    let mut req = http.get(url);
    if offset > 0 {
        req = req.header(header::RANGE, format!("bytes={offset}-"));
    }
    let resp = req.send().await.map_err(GetFileError::Link)?;
    let (start, total) = match resp.status() {
        StatusCode::RANGE_NOT_SATISFIABLE => return Ok(None),
        StatusCode::PARTIAL_CONTENT => resp
            .headers()
            .get(header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_content_range)
            .ok_or(GetFileError::BadRange)?,
        StatusCode::OK => (0, resp.content_length()),
        status => return Err(GetFileError::Status(status.as_u16())),
    };
    if offset > 0 && start != offset && start != 0 {
        return Err(GetFileError::BadRange);
    }
    let body = resp.bytes_stream().map(move |r| r.map_err(link));
    Ok(Some(FileDownload { offset: start, total, body: Box::pin(body) }))
}

/// The start and whole size of a `Content-Range: bytes S-E/T` value (`T` may be `*`).
pub(crate) fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let (range, total) = value.strip_prefix("bytes ")?.split_once('/')?;
    let start = ascii_number(range.split('-').next()?.trim())?;
    Some((start, ascii_number(total.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_times_match_known_epochs() {
        assert_eq!(LocalTime::from_civil(1970, 1, 1, 0, 0, 0).unwrap().seconds(), 0);
        // 2023-01-01 12:00:00 UTC is 1672574400.
        let t = LocalTime::from_digits("20230101", "120000").unwrap();
        assert_eq!(t.seconds(), 1_672_574_400);
        // Leap days exist only in leap years.
        assert!(LocalTime::from_civil(2024, 2, 29, 0, 0, 0).is_some());
        assert!(LocalTime::from_civil(2023, 2, 29, 0, 0, 0).is_none());
        assert!(LocalTime::from_civil(2100, 2, 29, 0, 0, 0).is_none());
        assert!(LocalTime::from_civil(2000, 2, 29, 0, 0, 0).is_some());
        assert_eq!(
            LocalTime::from_civil(2000, 3, 1, 0, 0, 0).unwrap().seconds()
                - LocalTime::from_civil(2000, 2, 28, 0, 0, 0).unwrap().seconds(),
            2 * 86_400
        );
    }

    #[test]
    fn impossible_dates_and_odd_digits_are_not_times() {
        for (d, t) in [
            ("20231301", "000000"),
            ("20230132", "000000"),
            ("20230101", "240000"),
            ("20230101", "006000"),
            ("20230101", "000060"),
            ("19691231", "235959"),
            ("2023010", "000000"),
            ("2023+101", "000000"),
            ("20230101", "+12000"),
            ("２０２３0101", "000000"),
        ] {
            assert!(LocalTime::from_digits(d, t).is_none(), "{d} {t}");
        }
    }

    #[test]
    fn an_unset_clock_is_recognised() {
        assert!(LocalTime::from_digits("19700101", "000500").unwrap().is_clock_unset());
        assert!(LocalTime::from_digits("20000101", "000000").unwrap().is_clock_unset());
        assert!(!LocalTime::from_digits("20230101", "000000").unwrap().is_clock_unset());
    }

    #[test]
    fn safe_names_exclude_traversal_separators_and_odd_bytes() {
        assert!(is_safe_file_name("2023_0101_120000_0001F.MP4"));
        assert!(is_safe_file_name("20230101_120000_NF.mp4"));
        for bad in
            ["", ".", "..", ".hidden", "-rf", "a/b", "a\\b", "a:b", "a b", "é.mp4", "a\0b", "a\nb"]
        {
            assert!(!is_safe_file_name(bad), "{bad:?}");
        }
        assert!(!is_safe_file_name(&"a".repeat(MAX_NAME_LEN + 1)));
    }

    #[test]
    fn names_with_folders_are_reduced_to_their_last_segment() {
        assert_eq!(last_segment(r"A:\DCIM\Movie\X.MP4"), "X.MP4");
        assert_eq!(last_segment("/Record/X.mp4"), "X.mp4");
        assert_eq!(last_segment("X.mp4"), "X.mp4");
        assert_eq!(last_segment("../../x"), "x");
        assert_eq!(last_segment("dir/"), "");
    }

    #[test]
    fn remote_paths_are_rebuilt_from_safe_segments() {
        assert_eq!(safe_remote_path(r"A:\DCIM\Movie\X.MP4").unwrap(), "/DCIM/Movie/X.MP4");
        assert_eq!(safe_remote_path(r"B:\DCIM\Movie\RO\X.MP4").unwrap(), "/DCIM/Movie/RO/X.MP4");
        assert_eq!(safe_remote_path("/Record/X.mp4").unwrap(), "/Record/X.mp4");
        assert_eq!(safe_remote_path("X.mp4").unwrap(), "/X.mp4");
        for bad in [
            r"A:\DCIM\..\..\etc\passwd",
            "/Record/../../etc/passwd",
            "//etc/passwd",
            r"A:\DCIM\\X.MP4",
            "",
            "A:",
            "/Record/X.mp4?cmd=4003",
            "/Record/%2e%2e/x",
            "C:/Windows/System32/../x",
        ] {
            assert_eq!(safe_remote_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn content_ranges_give_start_and_total() {
        assert_eq!(parse_content_range("bytes 10-19/20"), Some((10, Some(20))));
        assert_eq!(parse_content_range("bytes 10-19/*"), Some((10, None)));
        for bad in ["", "bytes", "bytes x-1/2", "items 1-2/3", "bytes 1-2", "bytes +1-2/3"] {
            assert_eq!(parse_content_range(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn containers_come_from_extensions() {
        assert_eq!(Container::of_name("A.MP4"), Some(Container::Mp4));
        assert_eq!(Container::of_name("a.mov"), Some(Container::Mp4));
        assert_eq!(Container::of_name("a.TS"), Some(Container::Ts));
        assert_eq!(Container::of_name("a.JPG"), None);
        assert_eq!(Container::of_name("mp4"), None);
    }

    fn file(name: &str) -> CameraFile {
        CameraFile {
            name: name.into(),
            path: format!("/{name}"),
            size: None,
            time: LocalTime::from_civil(2023, 1, 1, 0, 0, 0).unwrap(),
            channel: Channel::Front,
            kind: FileKind::Normal,
            locked: false,
            container: Container::Mp4,
            sequence: None,
            order: 0,
        }
    }

    #[test]
    fn the_builder_drops_duplicates_counts_skips_and_caps_files() {
        let mut b = ListingBuilder::new(&ListingLimits { max_bytes: 1024, max_files: 2 });
        b.push(Ok(file("a.mp4"))).unwrap();
        b.push(Ok(file("A.MP4"))).unwrap();
        b.push(Err(SkipReason::BadSize)).unwrap();
        b.push(Ok(file("b.mp4"))).unwrap();
        assert_eq!(b.push(Ok(file("c.mp4"))), Err(TooManyFiles { limit: 2 }));
        let listing = b.finish();
        assert_eq!(listing.files.len(), 2);
        assert_eq!(listing.skipped[&SkipReason::Duplicate], 1);
        assert_eq!(listing.skipped[&SkipReason::BadSize], 1);
        assert_eq!(listing.skipped_total(), 2);
    }

    #[test]
    fn incidents_are_locked_or_event_files() {
        let mut f = file("a.mp4");
        assert!(!f.is_incident());
        f.locked = true;
        assert!(f.is_incident());
        f.locked = false;
        f.kind = FileKind::Manual;
        assert!(f.is_incident());
        assert!(FileKind::ParkingEvent.is_parking() && FileKind::ParkingEvent.is_incident());
        assert!(!FileKind::Parking.is_incident());
    }
}
