//! BlackVue's two file listings, and what a BlackVue file name says.
//!
//! Legacy firmware, `GET /blackvue_vod.cgi`, a version line then one line per file:
//!
//! ```text
//! v:1.00
//! n:/Record/20230101_120000_NF.mp4,s:1000000
//! n:/Record/20230101_120000_NR.mp4,s:1000000
//! ```
//!
//! The `s:` field is the constant 1000000 on every camera seen, not a size, so it is ignored.
//! Firmware 1.009+, `GET /vodList`: `{"filelist":[{"filename":"20230101_120000_NF.mp4"}]}`,
//! without sizes; the files are served from the root (`/20230101_120000_NF.mp4`).
//!
//! Names are `YYYYMMDD_HHMMSS_<type><direction>[<upload>].mp4`: the start time, the type (`N`
//! normal, `E` event, `P` parking, `M` manual, `I` parking impact, and fleet and driver-monitoring
//! events), the lens (`F` front, `R` rear, `I` interior, `O` option) and an optional `L`/`S` for
//! the low-resolution live or substream copy, which is skipped.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::camera::driver::{
    CameraFile, Channel, Container, FileKind, Listing, ListingBuilder, ListingLimits,
    ListingTooLarge, LocalTime, SkipReason, TooManyFiles, is_safe_file_name, last_segment,
    safe_remote_path,
};

/// The longest version line accepted (`v:1.00`).
const MAX_VERSION_LEN: usize = 16;

/// Why a BlackVue listing cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BlackVueListingError {
    /// The answer is larger than the limit.
    #[error(transparent)]
    TooLarge(#[from] ListingTooLarge),
    /// A legacy answer without its `v:` version line first: not a `blackvue_vod.cgi` listing
    /// (an error page, another camera).
    #[error("the answer does not start with a v: version line")]
    MissingVersion,
    /// The JSON answer has no `filelist`.
    #[error("the answer has no filelist")]
    MissingFileList,
    /// The JSON answer ends early: a cut answer is never taken as the full card.
    #[error("the file list ends early")]
    Truncated,
    /// The JSON answer is not a `{"filelist": [...]}` object.
    #[error("the file list is malformed: {0}")]
    Malformed(String),
    /// More files than the limit.
    #[error(transparent)]
    TooMany(#[from] TooManyFiles),
}

/// Reads a legacy `blackvue_vod.cgi` answer with the default [`ListingLimits`].
pub fn parse_legacy_list(body: &[u8]) -> Result<Listing, BlackVueListingError> {
    parse_legacy_list_with(body, &ListingLimits::default())
}

/// Reads a legacy `blackvue_vod.cgi` answer: the `v:` line, then `n:<path>,s:<n>` lines; lines
/// that cannot be used safely are skipped and counted. Lines end with `\r\n` or `\n`.
pub fn parse_legacy_list_with(
    body: &[u8],
    limits: &ListingLimits,
) -> Result<Listing, BlackVueListingError> {
    limits.check_size(body)?;
    let mut lines = body.split(|&b| b == b'\n').map(<[u8]>::trim_ascii).filter(|l| !l.is_empty());
    let version = lines
        .next()
        .and_then(|l| l.strip_prefix(b"v:"))
        .filter(|v| {
            !v.is_empty() && v.len() <= MAX_VERSION_LEN && v.iter().all(u8::is_ascii_graphic)
        })
        .ok_or(BlackVueListingError::MissingVersion)?;
    let mut out = ListingBuilder::new(limits);
    out.set_version(String::from_utf8_lossy(version).into_owned());
    for line in lines {
        let order = out.next_order();
        let entry = std::str::from_utf8(line)
            .map_err(|_| SkipReason::Malformed)
            .and_then(|line| legacy_entry(line, order));
        out.push(entry)?;
    }
    Ok(out.finish())
}

fn legacy_entry(line: &str, order: usize) -> Result<CameraFile, SkipReason> {
    let path = line.split(',').find_map(|f| f.strip_prefix("n:")).ok_or(SkipReason::Malformed)?;
    let path = safe_remote_path(path.trim()).ok_or(SkipReason::UnsafeName)?;
    let name = last_segment(&path).to_string();
    file_from_name(&name, path, order)
}

/// Reads a firmware 1.009+ `/vodList` answer with the default [`ListingLimits`].
pub fn parse_vod_list(body: &[u8]) -> Result<Listing, BlackVueListingError> {
    parse_vod_list_with(body, &ListingLimits::default())
}

/// Reads a firmware 1.009+ `/vodList` answer: `{"filelist":[{"filename":"..."}, ...]}`. Other
/// keys are ignored; entries without a usable `filename` are skipped and counted. The entries
/// are checked as they are read, so memory stays within the listing's files.
pub fn parse_vod_list_with(
    body: &[u8],
    limits: &ListingLimits,
) -> Result<Listing, BlackVueListingError> {
    limits.check_size(body)?;
    let mut state = VodState { out: ListingBuilder::new(limits), too_many: None, found: false };
    let mut json = serde_json::Deserializer::from_slice(body);
    let parsed = VodListSeed(&mut state).deserialize(&mut json).and_then(|()| json.end());
    if let Some(e) = state.too_many {
        return Err(e.into());
    }
    match parsed {
        Err(e) if e.is_eof() => return Err(BlackVueListingError::Truncated),
        Err(e) => return Err(BlackVueListingError::Malformed(e.to_string())),
        Ok(()) if !state.found => return Err(BlackVueListingError::MissingFileList),
        Ok(()) => {}
    }
    Ok(state.out.finish())
}

/// A checked file from a BlackVue file name and the path it is requested at.
fn file_from_name(name: &str, path: String, order: usize) -> Result<CameraFile, SkipReason> {
    if !is_safe_file_name(name) {
        return Err(SkipReason::UnsafeName);
    }
    let container = Container::of_name(name).ok_or(SkipReason::NotVideo)?;
    let (stem, _) = name.rsplit_once('.').ok_or(SkipReason::NotVideo)?;
    let [date, time, tag] = stem.split('_').collect::<Vec<_>>()[..] else {
        return Err(SkipReason::UnknownName);
    };
    let (kind, channel, upload) = match tag.as_bytes() {
        [t, d] => (kind_of(*t), channel_of(*d), None),
        [t, d, u] => (kind_of(*t), channel_of(*d), Some(*u)),
        _ => return Err(SkipReason::UnknownName),
    };
    let (Some(kind), Some(channel)) = (kind, channel) else {
        return Err(SkipReason::UnknownName);
    };
    match upload {
        None => {}
        Some(b'L' | b'S') => return Err(SkipReason::Substream),
        Some(_) => return Err(SkipReason::UnknownName),
    }
    if date.len() != 8 || time.len() != 6 {
        return Err(SkipReason::UnknownName);
    }
    let time = LocalTime::from_digits(date, time).ok_or(SkipReason::BadTime)?;
    Ok(CameraFile {
        name: name.to_string(),
        path,
        size: None,
        time,
        channel,
        kind,
        locked: false,
        container,
        sequence: None,
        order,
    })
}

/// The recording type letter: driving events (overspeed `O`, hard acceleration `A`, cornering
/// `T`, braking `B`) and driver-monitoring alerts (`D`, `L`, `Y`, `F`) are events; fleet
/// geofence markers (`R`, `X`, `G`) are normal recording.
fn kind_of(letter: u8) -> Option<FileKind> {
    Some(match letter {
        b'N' | b'R' | b'X' | b'G' => FileKind::Normal,
        b'E' | b'O' | b'A' | b'T' | b'B' | b'D' | b'L' | b'Y' | b'F' => FileKind::Event,
        b'P' => FileKind::Parking,
        b'I' => FileKind::ParkingEvent,
        b'M' => FileKind::Manual,
        _ => return None,
    })
}

fn channel_of(letter: u8) -> Option<Channel> {
    Some(match letter {
        b'F' => Channel::Front,
        b'R' => Channel::Rear,
        b'I' => Channel::Interior,
        b'O' => Channel::Option,
        _ => return None,
    })
}

/// The `/vodList` reader's state, filled as the JSON streams by.
struct VodState {
    out: ListingBuilder,
    too_many: Option<TooManyFiles>,
    found: bool,
}

/// Reads the top-level object, handing `filelist` to [`FileListSeed`] and skipping the rest.
struct VodListSeed<'a>(&'a mut VodState);

impl<'de> DeserializeSeed<'de> for VodListSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for VodListSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with a filelist")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key != "filelist" {
                map.next_value::<IgnoredAny>()?;
            } else if std::mem::replace(&mut self.0.found, true) {
                return Err(de::Error::custom("two filelists"));
            } else {
                map.next_value_seed(FileListSeed(&mut *self.0))?;
            }
        }
        Ok(())
    }
}

/// Reads the `filelist` array entry by entry into the listing.
struct FileListSeed<'a>(&'a mut VodState);

impl<'de> DeserializeSeed<'de> for FileListSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FileListSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of files")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(EntryName(name)) = seq.next_element()? {
            let order = self.0.out.next_order();
            let entry = name.ok_or(SkipReason::Malformed).and_then(|name| {
                let path = safe_remote_path(&name).ok_or(SkipReason::UnsafeName)?;
                if last_segment(&path) != name {
                    // A name with folders: 1.009 serves files from the root only.
                    return Err(SkipReason::UnsafeName);
                }
                file_from_name(&name, path, order)
            });
            if let Err(e) = self.0.out.push(entry) {
                self.0.too_many = Some(e);
                return Err(de::Error::custom(e));
            }
        }
        Ok(())
    }
}

/// One `filelist` element's `filename`: `None` when the element is not an object or its
/// `filename` is not a string (skipped, not fatal).
struct EntryName(Option<String>);

impl<'de> de::Deserialize<'de> for EntryName {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient { field: Some("filename") })
    }
}

/// A visitor that takes anything: a string (when `field` is `None`) or an object's `field`
/// string; everything else is skipped without being kept.
struct Lenient {
    field: Option<&'static str>,
}

impl<'de> Visitor<'de> for Lenient {
    type Value = EntryName;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<EntryName, E> {
        Ok(EntryName(self.field.is_none().then(|| v.to_string())))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EntryName, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if self.field == Some(key.as_str()) && found.is_none() {
                let value = map.next_value_seed(LenientSeed)?;
                found = Some(value.0);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(EntryName(found.flatten()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EntryName, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(EntryName(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<EntryName, E> {
        Ok(EntryName(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<EntryName, E> {
        Ok(EntryName(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<EntryName, E> {
        Ok(EntryName(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<EntryName, E> {
        Ok(EntryName(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<EntryName, E> {
        Ok(EntryName(None))
    }
}

/// A value that is kept only if it is a string.
struct LenientSeed;

impl<'de> DeserializeSeed<'de> for LenientSeed {
    type Value = EntryName;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<EntryName, D::Error> {
        d.deserialize_any(Lenient { field: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(date: &str, time: &str) -> LocalTime {
        LocalTime::from_digits(date, time).unwrap()
    }

    #[test]
    fn a_legacy_listing_gives_names_paths_times_types_and_lenses() {
        let body = b"v:2.00\r\nn:/Record/20230101_120000_NF.mp4,s:1000000\r\n\
            n:/Record/20230101_120000_NR.mp4,s:1000000\r\n\
            n:/Record/20230101_120100_EF.mp4,s:1000000\r\n\
            n:/Record/20230101_130000_PI.mp4,s:1000000\r\n\
            n:/Record/20230101_130100_IO.mp4,s:1000000\r\n\
            n:/Record/20230101_140000_MF.mp4,s:1000000\r\n";
        let listing = parse_legacy_list(body).unwrap();
        assert_eq!(listing.version.as_deref(), Some("2.00"));
        assert_eq!(listing.skipped_total(), 0);
        let f = &listing.files;
        assert_eq!(f.len(), 6);
        assert_eq!(f[0].name, "20230101_120000_NF.mp4");
        assert_eq!(f[0].path, "/Record/20230101_120000_NF.mp4");
        // The s: field is not a size.
        assert_eq!(f[0].size, None);
        assert_eq!(f[0].time, t("20230101", "120000"));
        assert_eq!((f[0].kind, f[0].channel), (FileKind::Normal, Channel::Front));
        assert_eq!((f[1].kind, f[1].channel), (FileKind::Normal, Channel::Rear));
        assert_eq!((f[2].kind, f[2].is_incident()), (FileKind::Event, true));
        assert_eq!((f[3].kind, f[3].channel), (FileKind::Parking, Channel::Interior));
        assert_eq!((f[4].kind, f[4].channel), (FileKind::ParkingEvent, Channel::Option));
        assert_eq!((f[5].kind, f[5].is_incident()), (FileKind::Manual, true));
    }

    #[test]
    fn legacy_versions_and_line_ends_vary() {
        for body in [
            &b"v:1.00\nn:/Record/20230101_120000_NF.mp4,s:1000000"[..],
            b"v:3.00\r\n\r\nn:/Record/20230101_120000_NF.mp4,s:1000000\r\n\r\n",
            b"  v:3.00  \nn:/Record/20230101_120000_NF.mp4\n",
        ] {
            let listing = parse_legacy_list(body).unwrap();
            assert_eq!(listing.files.len(), 1, "{}", String::from_utf8_lossy(body));
        }
        assert!(parse_legacy_list(b"v:1.00\r\n").unwrap().files.is_empty());
    }

    #[test]
    fn answers_without_a_version_line_are_not_legacy_listings() {
        for body in [
            &b""[..],
            b"\r\n",
            b"mp4 only",
            b"<html>404</html>\nn:/Record/20230101_120000_NF.mp4,s:1000000",
            b"n:/Record/20230101_120000_NF.mp4,s:1000000\nv:1.00",
            b"v:\xff\nn:/Record/20230101_120000_NF.mp4",
            b"v:1.00000000000000000000\n",
        ] {
            assert!(
                matches!(parse_legacy_list(body), Err(BlackVueListingError::MissingVersion)),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn hostile_legacy_lines_are_skipped_and_counted() {
        let body = b"v:1.00\n\
            n:/Record/../../etc/passwd,s:1\n\
            n:/Record/..,s:1\n\
            n:C:\\Windows\\evil.mp4\\..,s:1\n\
            n:/Record/20230101_120000_NF.mp4?x=1,s:1\n\
            n:/Record/\xff\xfe.mp4,s:1\n\
            s:1000000\n\
            n:/Record/20230101_120000_NF.jpg,s:1\n\
            n:/Record/20230101_120000_NFS.mp4,s:1\n\
            n:/Record/20230101_120000_ZF.mp4,s:1\n\
            n:/Record/20230101_120000_NQ.mp4,s:1\n\
            n:/Record/20230101_120000_NFX.mp4,s:1\n\
            n:/Record/20230101_1200_NF.mp4,s:1\n\
            n:/Record/20231301_120000_NF.mp4,s:1\n\
            n:/Record/20230101_120000_NF.mp4,s:1\n\
            n:/Record/20230101_120000_NF.mp4,s:1\n";
        let listing = parse_legacy_list(body).unwrap();
        assert_eq!(listing.files.len(), 1);
        let s = &listing.skipped;
        assert_eq!(s[&SkipReason::UnsafeName], 4);
        assert_eq!(s[&SkipReason::Malformed], 2);
        assert_eq!(s[&SkipReason::NotVideo], 1);
        assert_eq!(s[&SkipReason::Substream], 1);
        assert_eq!(s[&SkipReason::UnknownName], 4);
        assert_eq!(s[&SkipReason::BadTime], 1);
        assert_eq!(s[&SkipReason::Duplicate], 1);
    }

    #[test]
    fn a_legacy_listing_past_the_limits_is_refused() {
        let line = "n:/Record/20230101_120000_NF.mp4,s:1000000\r\n";
        let million = format!("v:1.00\r\n{}", line.repeat(1_000_000));
        assert!(matches!(
            parse_legacy_list(million.as_bytes()),
            Err(BlackVueListingError::TooLarge(_))
        ));
        let lines: String =
            (0..3).map(|i| format!("n:/Record/20230101_12000{i}_NF.mp4\n")).collect();
        let body = format!("v:1.00\n{lines}");
        let two = ListingLimits { max_bytes: 1 << 20, max_files: 2 };
        assert!(matches!(
            parse_legacy_list_with(body.as_bytes(), &two),
            Err(BlackVueListingError::TooMany(TooManyFiles { limit: 2 }))
        ));
    }

    #[test]
    fn a_vod_list_gives_root_paths_without_sizes() {
        let body = br#"{"filelist":[{"filename":"20260702_141045_PF.mp4"},
            {"filename":"20260702_141045_PR.mp4","size":"5"},{"filename":"20260704_102813_IF.mp4"}],
            "other":{"a":[1,2,{"b":null}]}}"#;
        let listing = parse_vod_list(body).unwrap();
        assert_eq!(listing.version, None);
        let f = &listing.files;
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].path, "/20260702_141045_PF.mp4");
        assert_eq!((f[0].kind, f[0].channel, f[0].size), (FileKind::Parking, Channel::Front, None));
        assert_eq!(f[1].channel, Channel::Rear);
        assert_eq!(f[2].kind, FileKind::ParkingEvent);
        assert_eq!(f[2].time, t("20260704", "102813"));
        assert_eq!(f.iter().map(|f| f.order).collect::<Vec<_>>(), [0, 1, 2]);
    }

    #[test]
    fn an_empty_vod_list_is_an_empty_listing() {
        assert!(parse_vod_list(br#"{"filelist":[]}"#).unwrap().files.is_empty());
    }

    #[test]
    fn hostile_vod_entries_are_skipped_and_counted() {
        let body = br#"{"filelist":[
            {"filename":"../20230101_120000_NF.mp4"},
            {"filename":"Record/20230101_120000_NF.mp4"},
            {"filename":"C:\\20230101_120000_NF.mp4"},
            {"filename":"/etc/passwd"},
            {"filename":"20230101_120000_NF.mp4\u0000"},
            {"filename":"\u00e9.mp4"},
            {"filename":5}, {"filename":null}, {"filename":{"x":"y"}}, {"name":"x"},
            "20230101_120000_NF.mp4", 7, null, [1,[2]], true,
            {"filename":"20230101_120000_NF.mp4","filename":"evil"},
            {"filename":"20230101_120000_NF.mp4"}
        ]}"#;
        let listing = parse_vod_list(body).unwrap();
        assert_eq!(listing.files.len(), 1, "{:?}", listing.skipped);
        assert_eq!(listing.files[0].name, "20230101_120000_NF.mp4");
        let s = &listing.skipped;
        assert_eq!(s[&SkipReason::UnsafeName], 6);
        assert_eq!(s[&SkipReason::Malformed], 9);
        assert_eq!(s[&SkipReason::Duplicate], 1);
    }

    #[test]
    fn vod_answers_that_are_not_listings_are_typed_errors() {
        let body = br#"{"filelist":[{"filename":"20230101_120000_NF.mp4"},{"filename":"20230101_120100_NF.mp4"}]}"#;
        for cut in 1..body.len() - 1 {
            assert!(
                matches!(parse_vod_list(&body[..cut]), Err(BlackVueListingError::Truncated)),
                "cut at {cut}: {:?}",
                parse_vod_list(&body[..cut])
            );
        }
        assert!(matches!(parse_vod_list(b""), Err(BlackVueListingError::Truncated)));
        assert!(matches!(parse_vod_list(b"{}"), Err(BlackVueListingError::MissingFileList)));
        for bad in [
            &b"[]"[..],
            b"mp4 only",
            br#"{"filelist":null}"#,
            br#"{"filelist":{}}"#,
            br#"{"filelist":[],"filelist":[]}"#,
            br#"{"filelist":[]} trailing"#,
            b"{\"filelist\":[{\"filename\":\"\xff\"}]}",
        ] {
            assert!(
                matches!(parse_vod_list(bad), Err(BlackVueListingError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_vod_list_past_the_limits_is_refused() {
        let entry = r#"{"filename":"20230101_120000_NF.mp4"},"#;
        let million = format!(r#"{{"filelist":[{}]}}"#, entry.repeat(1_000_000));
        assert!(matches!(
            parse_vod_list(million.as_bytes()),
            Err(BlackVueListingError::TooLarge(_))
        ));
        let three = r#"{"filelist":[{"filename":"20230101_120000_NF.mp4"},
            {"filename":"20230101_120100_NF.mp4"},{"filename":"20230101_120200_NF.mp4"}]}"#;
        let two = ListingLimits { max_bytes: 1 << 20, max_files: 2 };
        assert!(matches!(
            parse_vod_list_with(three.as_bytes(), &two),
            Err(BlackVueListingError::TooMany(TooManyFiles { limit: 2 }))
        ));
        // Deep nesting is refused by the JSON reader's depth limit, not followed.
        let deep = format!(r#"{{"filelist":[{}]}}"#, "[".repeat(10_000));
        assert!(parse_vod_list(deep.as_bytes()).is_err());
    }

    #[test]
    fn unset_clock_names_still_parse() {
        let listing =
            parse_legacy_list(b"v:1.00\nn:/Record/19700101_000000_NF.mp4,s:1000000\n").unwrap();
        assert!(listing.files[0].time.is_clock_unset());
    }
}
