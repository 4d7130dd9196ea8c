//! The file list a Novatek camera answers to `GET /?custom=1&cmd=3015`:
//!
//! ```xml
//! <LIST>
//!   <ALLFile><File>
//!     <NAME>2023_0101_120000_0001F.MP4</NAME>
//!     <FPATH>A:\DCIM\Movie\2023_0101_120000_0001F.MP4</FPATH>
//!     <SIZE>104857600</SIZE><TIMECODE>1561746275</TIMECODE>
//!     <TIME>2023/01/01 12:01:00</TIME><ATTR>32</ATTR>
//!   </File></ALLFile>
//!   ...
//! </LIST>
//! ```
//!
//! `FPATH` starts with the card's drive letter (`A:` the SD card, `B:` an SSD on some models);
//! the file is served at the same path over HTTP. `ATTR` is the FAT attribute byte: its read-only
//! bit (33 = archive + read-only) marks a locked file. Locked and event files also sit in `RO`
//! or `EMR` folders, parking files in `Parking`. Viofo names carry the start time, a running
//! number, an optional `P` (parking) or `E` (event) and the lens (`F`, `R`, `I`, `T`):
//! `2023_0101_120000_0001PF.MP4`; other Novatek firmware writes `20230101120000_000001.TS` or
//! `2023_0101_120000_001.MP4`. The name's time is the start; `TIME` is the file's FAT time (the
//! end, on the firmware observed), used only when the name has no time.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::camera::driver::{
    CameraFile, Channel, Container, FileKind, Listing, ListingBuilder, ListingLimits,
    ListingTooLarge, LocalTime, MAX_FILE_SIZE, SkipReason, TooManyFiles, ascii_number,
    is_safe_file_name, last_segment, safe_remote_path,
};

/// The longest text a field of an entry may hold; longer fields make the entry malformed.
const MAX_FIELD_LEN: usize = 1024;

/// Why a `cmd=3015` answer is not a file list the phone can use.
#[derive(Debug, thiserror::Error)]
pub enum NovatekListingError {
    /// The answer is larger than the limit.
    #[error(transparent)]
    TooLarge(#[from] ListingTooLarge),
    /// The answer is not a `<LIST>` document (an error page, a `<Function>` reply, nothing).
    #[error("the answer is not a Novatek file list (root element {0:?})")]
    NotAFileList(String),
    /// The document ends before its `</LIST>`: a cut answer is never taken as the full card.
    #[error("the file list ends before </LIST>")]
    Truncated,
    /// The XML is not well formed.
    #[error("the file list is not well-formed XML: {0}")]
    Malformed(String),
    /// More files than the limit.
    #[error(transparent)]
    TooMany(#[from] TooManyFiles),
}

/// Reads a `cmd=3015` answer with the default [`ListingLimits`].
pub fn parse_file_list(xml: &[u8]) -> Result<Listing, NovatekListingError> {
    parse_file_list_with(xml, &ListingLimits::default())
}

/// Reads a `cmd=3015` answer: the files in the camera's order; entries that cannot be used
/// safely are skipped and counted.
pub fn parse_file_list_with(
    xml: &[u8],
    limits: &ListingLimits,
) -> Result<Listing, NovatekListingError> {
    limits.check_size(xml)?;
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut out = ListingBuilder::new(limits);
    let mut depth = 0usize;
    let mut entry: Option<RawEntry> = None;
    let mut field: Option<Field> = None;
    loop {
        let event =
            reader.read_event().map_err(|e| NovatekListingError::Malformed(e.to_string()))?;
        match event {
            Event::Start(tag) => {
                depth += 1;
                let name = tag.local_name();
                let name = name.as_ref();
                if depth == 1 && name != b"LIST" {
                    let root = String::from_utf8_lossy(name).into_owned();
                    return Err(NovatekListingError::NotAFileList(root));
                }
                if name == b"File" {
                    if entry.is_some() {
                        return Err(NovatekListingError::Malformed("<File> inside <File>".into()));
                    }
                    entry = Some(RawEntry::default());
                } else if entry.is_some() {
                    field = Field::of_tag(name);
                }
            }
            Event::End(tag) => {
                depth = depth.saturating_sub(1);
                if tag.local_name().as_ref() == b"File" {
                    if let Some(raw) = entry.take() {
                        let order = out.next_order();
                        out.push(raw.into_file(order))?;
                    }
                } else {
                    field = None;
                }
                if depth == 0 {
                    return Ok(out.finish());
                }
            }
            Event::Empty(tag) if depth == 0 => {
                // `<LIST/>`: an empty card.
                let name = tag.local_name();
                if name.as_ref() == b"LIST" {
                    return Ok(out.finish());
                }
                let root = String::from_utf8_lossy(name.as_ref()).into_owned();
                return Err(NovatekListingError::NotAFileList(root));
            }
            Event::Text(text) => append(&mut entry, field, text.decode()),
            Event::CData(text) => append(&mut entry, field, text.decode()),
            // An entity (`&amp;`) is never part of a valid field: mark the field unusable.
            Event::GeneralRef(_) => append(&mut entry, field, Err(())),
            Event::Eof if depth == 0 => {
                return Err(NovatekListingError::NotAFileList(String::new()));
            }
            Event::Eof => return Err(NovatekListingError::Truncated),
            _ => {}
        }
    }
}

/// The fields of a `<File>` entry the phone reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Name,
    Path,
    Size,
    Time,
    Attr,
}

impl Field {
    fn of_tag(tag: &[u8]) -> Option<Self> {
        match tag {
            b"NAME" => Some(Self::Name),
            b"FPATH" => Some(Self::Path),
            b"SIZE" => Some(Self::Size),
            b"TIME" => Some(Self::Time),
            b"ATTR" => Some(Self::Attr),
            _ => None,
        }
    }
}

/// A field's text: `Err` once it held something unusable (not UTF-8, an entity, too long).
type FieldText = Result<String, ()>;

/// A `<File>` entry's raw fields, before they are checked.
#[derive(Default)]
struct RawEntry {
    name: Option<FieldText>,
    path: Option<FieldText>,
    size: Option<FieldText>,
    time: Option<FieldText>,
    attr: Option<FieldText>,
}

fn append<E>(entry: &mut Option<RawEntry>, field: Option<Field>, text: Result<Cow<'_, str>, E>) {
    let (Some(entry), Some(field)) = (entry.as_mut(), field) else { return };
    let slot = match field {
        Field::Name => &mut entry.name,
        Field::Path => &mut entry.path,
        Field::Size => &mut entry.size,
        Field::Time => &mut entry.time,
        Field::Attr => &mut entry.attr,
    };
    let current = slot.get_or_insert_with(|| Ok(String::new()));
    match (current.as_mut(), text) {
        (Ok(s), Ok(t)) if s.len() + t.len() <= MAX_FIELD_LEN => s.push_str(&t),
        _ => *current = Err(()),
    }
}

/// What a Novatek file name says about the recording.
#[derive(Debug, Default, PartialEq, Eq)]
struct NameInfo {
    time: Option<LocalTime>,
    sequence: Option<u64>,
    parking: bool,
    event: bool,
    channel: Option<Channel>,
}

/// Reads `YYYY_MMDD_HHMMSS_NNNN[P|E][F|R|I|T]` (Viofo) or `YYYYMMDDHHMMSS_NNNNNN` (other
/// firmware); anything else says nothing.
fn name_info(stem: &str) -> NameInfo {
    let parts: Vec<&str> = stem.splitn(5, '_').collect();
    let (time, rest) = match parts.as_slice() {
        [y, md, hms, rest] if y.len() == 4 && md.len() == 4 => {
            (LocalTime::from_digits(&format!("{y}{md}"), hms), *rest)
        }
        [ymdhms, rest] if ymdhms.len() == 14 => match (ymdhms.get(..8), ymdhms.get(8..)) {
            (Some(date), Some(time)) => (LocalTime::from_digits(date, time), *rest),
            _ => return NameInfo::default(),
        },
        _ => return NameInfo::default(),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let mut info =
        NameInfo { time, sequence: ascii_number(&rest[..digits]), ..NameInfo::default() };
    let mut suffix = rest[digits..].bytes();
    let mut letter = suffix.next();
    if let Some(b'P' | b'E') = letter {
        info.parking = letter == Some(b'P');
        info.event = letter == Some(b'E');
        letter = suffix.next();
    }
    info.channel = match letter {
        Some(b'F') => Some(Channel::Front),
        Some(b'R') => Some(Channel::Rear),
        Some(b'I') => Some(Channel::Interior),
        Some(b'T') => Some(Channel::Tele),
        _ => None,
    };
    if suffix.next().is_some() {
        // More letters than the pattern has: trust none of the suffix.
        info.channel = None;
        info.parking = false;
        info.event = false;
    }
    info
}

/// Reads `TIME`: `YYYY/MM/DD HH:MM:SS`.
fn parse_time(text: &str) -> Option<LocalTime> {
    let (date, time) = text.trim().split_once(' ')?;
    let date: Vec<&str> = date.split('/').collect();
    let time: Vec<&str> = time.split(':').collect();
    let ([y, mo, d], [h, mi, s]) = (date.as_slice(), time.as_slice()) else { return None };
    LocalTime::from_civil(
        ascii_number(y)?,
        ascii_number(mo)?,
        ascii_number(d)?,
        ascii_number(h)?,
        ascii_number(mi)?,
        ascii_number(s)?,
    )
}

/// A field that must be usable text if present: `Ok(None)` when absent.
fn optional(field: Option<FieldText>) -> Result<Option<String>, SkipReason> {
    field.transpose().map_err(|()| SkipReason::Malformed)
}

impl RawEntry {
    fn into_file(self, order: usize) -> Result<CameraFile, SkipReason> {
        let fpath = optional(self.path)?.ok_or(SkipReason::Malformed)?;
        let name = optional(self.name)?.unwrap_or_else(|| last_segment(&fpath).to_string());
        let path = safe_remote_path(fpath.trim()).ok_or(SkipReason::UnsafeName)?;
        let name = last_segment(name.trim());
        if !is_safe_file_name(name) || !last_segment(&path).eq_ignore_ascii_case(name) {
            return Err(SkipReason::UnsafeName);
        }
        let (stem, _) = name.rsplit_once('.').ok_or(SkipReason::NotVideo)?;
        let container = Container::of_name(name).ok_or(SkipReason::NotVideo)?;
        let size = optional(self.size)?
            .map(|s| {
                ascii_number(s.trim()).filter(|&n| n <= MAX_FILE_SIZE).ok_or(SkipReason::BadSize)
            })
            .transpose()?;
        let locked = match optional(self.attr)? {
            None => false,
            Some(a) => ascii_number::<u32>(a.trim()).ok_or(SkipReason::Malformed)? & 1 == 1,
        };
        let info = name_info(stem);
        let listed_time = optional(self.time)?.and_then(|t| parse_time(&t));
        let time = info.time.or(listed_time).ok_or(SkipReason::BadTime)?;
        let folder = Folder::of_path(&path);
        let parking = info.parking || folder == Folder::Parking;
        let event = info.event || folder == Folder::Locked;
        let kind = match (parking, event) {
            (true, true) => FileKind::ParkingEvent,
            (true, false) => FileKind::Parking,
            (false, true) => FileKind::Event,
            (false, false) => FileKind::Normal,
        };
        Ok(CameraFile {
            name: name.to_string(),
            path,
            size,
            time,
            channel: info.channel.unwrap_or(Channel::Front),
            kind,
            locked: locked || folder == Folder::Locked,
            container,
            sequence: info.sequence,
            order,
        })
    }
}

/// What the folder a file sits in says about it.
#[derive(Debug, PartialEq, Eq)]
enum Folder {
    /// `RO`, `EMR`, `Event`: locked event files.
    Locked,
    /// `Parking`.
    Parking,
    Other,
}

impl Folder {
    fn of_path(path: &str) -> Self {
        let parent = path.rsplit('/').nth(1).unwrap_or("");
        if ["RO", "EMR", "EVENT"].iter().any(|f| parent.eq_ignore_ascii_case(f)) {
            Self::Locked
        } else if parent.eq_ignore_ascii_case("PARKING") {
            Self::Parking
        } else {
            Self::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, fpath: &str, size: &str, time: &str, attr: &str) -> String {
        format!(
            "<ALLFile><File><NAME>{name}</NAME><FPATH>{fpath}</FPATH><SIZE>{size}</SIZE>\
             <TIMECODE>1561746275</TIMECODE><TIME>{time}</TIME><ATTR>{attr}</ATTR></File></ALLFile>"
        )
    }

    fn list(entries: &[String]) -> Vec<u8> {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<LIST>{}</LIST>", entries.concat())
            .into_bytes()
    }

    fn viofo(name: &str, folder: &str, attr: &str) -> String {
        entry(name, &format!(r"A:\DCIM\{folder}\{name}"), "104857600", "2023/01/01 12:01:00", attr)
    }

    #[test]
    fn a_viofo_listing_gives_names_paths_sizes_times_channels_and_locks() {
        let xml = list(&[
            viofo("2023_0101_120000_0001F.MP4", "Movie", "32"),
            viofo("2023_0101_120000_0001R.MP4", "Movie", "32"),
            viofo("2023_0101_120100_0002F.MP4", "Movie", "33"),
            viofo("2023_0101_120200_0003EF.MP4", r"Movie\RO", "33"),
            viofo("2023_0101_130000_0004PI.MP4", r"Movie\Parking", "32"),
            viofo("2023_0101_130100_0005PT.MP4", r"Movie\RO", "33"),
        ]);
        let listing = parse_file_list(&xml).unwrap();
        assert_eq!(listing.skipped_total(), 0);
        let f = &listing.files;
        assert_eq!(f.len(), 6);
        assert_eq!(f[0].name, "2023_0101_120000_0001F.MP4");
        assert_eq!(f[0].path, "/DCIM/Movie/2023_0101_120000_0001F.MP4");
        assert_eq!(f[0].size, Some(104_857_600));
        assert_eq!(f[0].time, LocalTime::from_digits("20230101", "120000").unwrap());
        assert_eq!(f[0].sequence, Some(1));
        assert_eq!(
            (f[0].channel, f[0].kind, f[0].locked),
            (Channel::Front, FileKind::Normal, false)
        );
        assert_eq!(f[1].channel, Channel::Rear);
        // ATTR 33 (read-only) is a lock; a locked normal file is an incident.
        assert_eq!((f[2].kind, f[2].locked, f[2].is_incident()), (FileKind::Normal, true, true));
        assert_eq!(
            (f[3].kind, f[3].locked, f[3].path.as_str()),
            (FileKind::Event, true, "/DCIM/Movie/RO/2023_0101_120200_0003EF.MP4")
        );
        assert_eq!(
            (f[4].kind, f[4].channel, f[4].locked),
            (FileKind::Parking, Channel::Interior, false)
        );
        assert_eq!((f[5].kind, f[5].channel), (FileKind::ParkingEvent, Channel::Tele));
        assert_eq!(f.iter().map(|f| f.order).collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn other_novatek_names_fall_back_to_the_listed_time() {
        let xml = list(&[
            entry(
                "20260822112613_000001.TS",
                r"A:\Novatek\Movie\20260822112613_000001.TS",
                "70827496",
                "2026/08/22 11:27:06",
                "32",
            ),
            entry(
                "2026_1003_101500_001.MP4",
                r"A:\CARDV\MOVIE\2026_1003_101500_001.MP4",
                "1",
                "2026/10/03 10:16:00",
                "32",
            ),
            entry("FILE0001.MOV", r"B:\DCIM\FILE0001.MOV", "5", "2024/02/29 23:59:59", "32"),
            entry("EMR0002.MP4", r"A:\DCIM\EMR\EMR0002.MP4", "5", "2024/03/01 00:00:10", "32"),
        ]);
        let listing = parse_file_list(&xml).unwrap();
        let f = &listing.files;
        assert_eq!(f.len(), 4, "{:?}", listing.skipped);
        assert_eq!(f[0].container, Container::Ts);
        assert_eq!(f[0].time, LocalTime::from_digits("20260822", "112613").unwrap());
        assert_eq!(f[0].sequence, Some(1));
        assert_eq!(f[1].time, LocalTime::from_digits("20261003", "101500").unwrap());
        assert_eq!(f[1].channel, Channel::Front);
        // No time in the name: the listed TIME is used.
        assert_eq!(f[2].time, LocalTime::from_digits("20240229", "235959").unwrap());
        assert_eq!((f[2].path.as_str(), f[2].container), ("/DCIM/FILE0001.MOV", Container::Mp4));
        assert_eq!((f[3].kind, f[3].locked), (FileKind::Event, true));
    }

    #[test]
    fn photos_and_side_files_are_skipped_as_not_video() {
        let xml = list(&[
            viofo("2023_0101_120000_0001F.JPG", "Photo", "32"),
            viofo("2023_0101_120000_0001F.MP4", "Movie", "32"),
        ]);
        let listing = parse_file_list(&xml).unwrap();
        assert_eq!(listing.files.len(), 1);
        assert_eq!(listing.skipped[&SkipReason::NotVideo], 1);
    }

    #[test]
    fn an_empty_card_is_an_empty_listing() {
        for xml in ["<LIST></LIST>", "<LIST/>", "<?xml version=\"1.0\"?>\n<LIST>\n</LIST>\n"] {
            let listing = parse_file_list(xml.as_bytes()).unwrap();
            assert!(listing.files.is_empty() && listing.skipped.is_empty(), "{xml}");
        }
    }

    #[test]
    fn traversal_and_foreign_paths_are_skipped_never_followed() {
        let xml = list(&[
            entry("x.MP4", r"A:\DCIM\..\..\etc\x.MP4", "1", "2023/01/01 00:00:00", "32"),
            entry("..", r"A:\DCIM\Movie\..", "1", "2023/01/01 00:00:00", "32"),
            entry(r"..\..\evil.MP4", r"A:\DCIM\Movie\good.MP4", "1", "2023/01/01 00:00:00", "32"),
            entry("a b.MP4", r"A:\DCIM\Movie\a b.MP4", "1", "2023/01/01 00:00:00", "32"),
            entry("y.MP4", "/etc/passwd", "1", "2023/01/01 00:00:00", "32"),
            entry("z.MP4", r"A:\DCIM\Movie\z.MP4?cmd=4003", "1", "2023/01/01 00:00:00", "32"),
        ]);
        let listing = parse_file_list(&xml).unwrap();
        assert!(listing.files.is_empty(), "{:?}", listing.files);
        assert_eq!(listing.skipped[&SkipReason::UnsafeName], 6);
    }

    #[test]
    fn a_name_given_with_its_folder_is_reduced_to_the_file_name() {
        let xml = list(&[entry(
            r"A:\DCIM\Movie\2023_0101_120000_0001F.MP4",
            r"A:\DCIM\Movie\2023_0101_120000_0001F.MP4",
            "1",
            "2023/01/01 00:00:00",
            "32",
        )]);
        let listing = parse_file_list(&xml).unwrap();
        assert_eq!(listing.files[0].name, "2023_0101_120000_0001F.MP4");
    }

    #[test]
    fn absurd_sizes_bad_times_and_attributes_skip_the_entry() {
        let xml = list(&[
            entry("a.MP4", r"A:\a.MP4", "99999999999999999999999", "2023/01/01 00:00:00", "32"),
            entry("b.MP4", r"A:\b.MP4", "2199023255553", "2023/01/01 00:00:00", "32"),
            entry("c.MP4", r"A:\c.MP4", "-1", "2023/01/01 00:00:00", "32"),
            entry("d.MP4", r"A:\d.MP4", "1", "2023/02/30 00:00:00", "32"),
            entry("e.MP4", r"A:\e.MP4", "1", "yesterday", "32"),
            entry("f.MP4", r"A:\f.MP4", "1", "2023/01/01 00:00:00", "ro"),
            entry("g.MP4", r"A:\g.MP4", "1099511627776", "2023/01/01 00:00:00", "32"),
        ]);
        let listing = parse_file_list(&xml).unwrap();
        assert_eq!(listing.skipped[&SkipReason::BadSize], 3);
        assert_eq!(listing.skipped[&SkipReason::BadTime], 2);
        assert_eq!(listing.skipped[&SkipReason::Malformed], 1);
        // 1 TiB exactly is the largest size believed.
        assert_eq!(listing.files.len(), 1);
        assert_eq!(listing.files[0].size, Some(1 << 40));
    }

    #[test]
    fn duplicate_names_keep_the_first_entry() {
        let xml = list(&[
            viofo("2023_0101_120000_0001F.MP4", "Movie", "32"),
            viofo("2023_0101_120000_0001F.MP4", r"Movie\RO", "33"),
            viofo("2023_0101_120000_0001f.mp4", "Movie", "32"),
        ]);
        let listing = parse_file_list(&xml).unwrap();
        assert_eq!(listing.files.len(), 1);
        assert_eq!(listing.files[0].path, "/DCIM/Movie/2023_0101_120000_0001F.MP4");
        assert_eq!(listing.skipped[&SkipReason::Duplicate], 2);
    }

    #[test]
    fn non_utf8_entities_and_huge_fields_make_only_that_entry_malformed() {
        let mut xml = list(&[viofo("2023_0101_120000_0001F.MP4", "Movie", "32")]);
        let bad_utf8 = b"<File><NAME>\xff\xfe.MP4</NAME><FPATH>A:\\\xff\xfe.MP4</FPATH></File>";
        let entity = b"<File><NAME>a&amp;b.MP4</NAME><FPATH>A:\\a&amp;b.MP4</FPATH></File>";
        let huge =
            format!("<File><NAME>{}</NAME><FPATH>A:\\x.MP4</FPATH></File>", "x".repeat(5000));
        let at = xml.len() - "</LIST>".len();
        let mut tail = xml.split_off(at);
        xml.extend_from_slice(bad_utf8);
        xml.extend_from_slice(entity);
        xml.extend_from_slice(huge.as_bytes());
        xml.append(&mut tail);
        let listing = parse_file_list(&xml).unwrap();
        assert_eq!(listing.files.len(), 1);
        assert_eq!(listing.skipped[&SkipReason::Malformed], 3);
    }

    #[test]
    fn entities_are_never_expanded() {
        // "Billion laughs": defined entities stay unexpanded references, so the entry is malformed.
        let xml = br#"<?xml version="1.0"?><!DOCTYPE LIST [<!ENTITY a "aaaaaaaaaa">
            <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
            <LIST><ALLFile><File><NAME>&c;.MP4</NAME><FPATH>A:\&c;.MP4</FPATH></File></ALLFile></LIST>"#;
        let listing = parse_file_list(xml).unwrap();
        assert!(listing.files.is_empty());
        assert_eq!(listing.skipped[&SkipReason::Malformed], 1);
    }

    #[test]
    fn an_entry_without_a_path_is_malformed() {
        let xml = b"<LIST><ALLFile><File><NAME>a.MP4</NAME><SIZE>1</SIZE></File></ALLFile></LIST>";
        let listing = parse_file_list(xml).unwrap();
        assert_eq!(listing.skipped[&SkipReason::Malformed], 1);
    }

    #[test]
    fn a_cut_listing_is_an_error_at_every_cut() {
        let xml = list(&[
            viofo("2023_0101_120000_0001F.MP4", "Movie", "32"),
            viofo("2023_0101_120100_0002F.MP4", "Movie", "32"),
        ]);
        let root = xml.windows(6).position(|w| w == b"<LIST>").unwrap();
        for cut in root + 1..xml.len() - 1 {
            let result = parse_file_list(&xml[..cut]);
            assert!(result.is_err(), "cut at {cut} gave {result:?}");
        }
    }

    #[test]
    fn answers_that_are_not_file_lists_are_typed_errors() {
        assert!(matches!(parse_file_list(b""), Err(NovatekListingError::NotAFileList(_))));
        assert!(matches!(
            parse_file_list(b"<Function><Cmd>3015</Cmd><Status>-256</Status></Function>"),
            Err(NovatekListingError::NotAFileList(root)) if root == "Function"
        ));
        assert!(matches!(
            parse_file_list(b"<html><body>404</body></html>"),
            Err(NovatekListingError::NotAFileList(_))
        ));
        assert!(matches!(
            parse_file_list(b"<LIST><File><File></File></File></LIST>"),
            Err(NovatekListingError::Malformed(_))
        ));
        assert!(matches!(
            parse_file_list(b"<LIST><File></LIST></File>"),
            Err(NovatekListingError::Malformed(_))
        ));
    }

    #[test]
    fn listings_past_the_limits_are_refused() {
        let xml = list(&[
            viofo("2023_0101_120000_0001F.MP4", "Movie", "32"),
            viofo("2023_0101_120100_0002F.MP4", "Movie", "32"),
            viofo("2023_0101_120200_0003F.MP4", "Movie", "32"),
        ]);
        let two = ListingLimits { max_bytes: 1 << 20, max_files: 2 };
        assert!(matches!(
            parse_file_list_with(&xml, &two),
            Err(NovatekListingError::TooMany(TooManyFiles { limit: 2 }))
        ));
        let small = ListingLimits { max_bytes: 100, max_files: 10 };
        assert!(matches!(
            parse_file_list_with(&xml, &small),
            Err(NovatekListingError::TooLarge(_))
        ));
    }

    #[test]
    fn a_million_entries_are_refused_before_parsing() {
        let one = viofo("2023_0101_120000_0001F.MP4", "Movie", "32");
        let body = list(&vec![one; 1_000_000]);
        assert!(matches!(parse_file_list(&body), Err(NovatekListingError::TooLarge(_))));
    }

    #[test]
    fn the_default_file_limit_holds_within_the_byte_limit() {
        // Short but valid entries: 100 001 of them fit in 32 MiB; the file cap stops them.
        let body: String = (0..=100_000u32)
            .map(|i| format!("<File><FPATH>A:\\2023_0101_120000_{i}.TS</FPATH></File>"))
            .collect();
        let xml = format!("<LIST>{body}</LIST>");
        assert!(xml.len() < ListingLimits::default().max_bytes);
        assert!(matches!(
            parse_file_list(xml.as_bytes()),
            Err(NovatekListingError::TooMany(TooManyFiles { limit: 100_000 }))
        ));
    }

    #[test]
    fn name_patterns_are_read_strictly() {
        let i = name_info("2023_0101_120000_0001PF");
        assert_eq!(
            (i.parking, i.event, i.channel, i.sequence),
            (true, false, Some(Channel::Front), Some(1))
        );
        let i = name_info("2023_0101_120000_107360R");
        assert_eq!((i.channel, i.sequence), (Some(Channel::Rear), Some(107_360)));
        let i = name_info("2023_0101_120000_0001FX");
        assert_eq!((i.channel, i.parking), (None, false));
        assert_eq!(name_info("2023_1301_120000_0001F").time, None);
        assert_eq!(name_info("FILE0001"), NameInfo::default());
        assert_eq!(name_info("2023_0101_120000"), NameInfo::default());
    }
}
