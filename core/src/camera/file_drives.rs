//! Drives from a vendor camera's files. Novatek and BlackVue cameras record files, not drives:
//! the phone groups them by time continuity. A drive is a run of recordings whose start times
//! follow one another without a gap longer than one recording (plus some slack); the front,
//! rear, interior and other lenses of one moment start within seconds of each other, so they fall
//! into the same drive. Parking mode recordings form their own groups and never join a drive.
//!
//! A camera whose clock was never set names its files from 1970 (or a firmware default) again
//! after every power cycle, so times alone cannot order them: such files are ordered by the
//! camera's running file number where the name has one (Viofo), else by the camera's listing
//! order, and a drive ends where the clock jumps back (a new power cycle) or a gap opens.

use std::collections::BTreeMap;

use crate::camera::driver::{CameraFile, Channel};

/// How files are grouped into drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupingRules {
    /// How far (seconds) a start may be later than one recording after the last, or earlier
    /// than the last on an unset clock, and still continue the drive.
    pub slack_s: i64,
    /// The recording length assumed when the files do not show one (seconds).
    pub default_segment_s: i64,
    /// The longest recording length a camera uses (seconds): longer gaps are never taken as
    /// the recording length.
    pub max_segment_s: i64,
}

impl Default for GroupingRules {
    /// 30 s of slack; one-minute recordings unless the files show otherwise; at most ten.
    fn default() -> Self {
        Self { slack_s: 30, default_segment_s: 60, max_segment_s: 600 }
    }
}

/// A drive (or a parking period) made of a camera's files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDrive {
    /// The files, in recording order (time, then lens).
    pub files: Vec<CameraFile>,
    /// Whether the camera's clock was unset: the times order the files only within this drive.
    pub clock_unset: bool,
    /// Whether these are parking mode recordings.
    pub parking: bool,
}

impl FileDrive {
    /// The lenses that recorded this drive.
    pub fn channels(&self) -> Vec<Channel> {
        let mut channels: Vec<Channel> = self.files.iter().map(|f| f.channel).collect();
        channels.sort();
        channels.dedup();
        channels
    }

    /// Whether any file of this drive is one the camera marked as an incident.
    pub fn has_incident(&self) -> bool {
        self.files.iter().any(CameraFile::is_incident)
    }
}

/// Groups a camera's files into drives: drives recorded with an unset clock first (in the
/// camera's file order), then the others by time.
pub fn group_into_drives(files: Vec<CameraFile>, rules: &GroupingRules) -> Vec<FileDrive> {
    let (mut unset, mut set): (Vec<_>, Vec<_>) =
        files.into_iter().partition(|f| f.time.is_clock_unset());
    // The running number (where every file has one) then the listing order: the camera's order.
    let numbered = unset.iter().all(|f| f.sequence.is_some());
    unset.sort_by_key(|f| (if numbered { f.sequence } else { None }, f.order, f.channel));
    set.sort_by_key(|f| (f.time, f.channel, f.sequence, f.order));
    let mut drives = walk(unset, rules, true);
    drives.extend(walk(set, rules, false));
    drives
}

/// Splits files, already in recording order, into drives.
fn walk(files: Vec<CameraFile>, rules: &GroupingRules, clock_unset: bool) -> Vec<FileDrive> {
    let segment = segment_length(&files, rules);
    let mut drives: Vec<FileDrive> = Vec::new();
    let mut last_start = i64::MIN;
    for file in files {
        let t = file.time.seconds();
        let parking = file.kind.is_parking();
        let continues = drives.last().is_some_and(|d| {
            d.parking == parking
                && t <= last_start.saturating_add(segment.saturating_add(rules.slack_s))
                && t >= last_start.saturating_sub(rules.slack_s)
        });
        if continues {
            last_start = last_start.max(t);
        } else {
            last_start = t;
            drives.push(FileDrive { files: Vec::new(), clock_unset, parking });
        }
        if let Some(drive) = drives.last_mut() {
            drive.files.push(file);
        }
    }
    drives
}

/// The camera's recording length, as the files show it: the most common gap between
/// consecutive starts of one lens (the longer one on a tie), or the rules' default.
fn segment_length(files: &[CameraFile], rules: &GroupingRules) -> i64 {
    let mut last: BTreeMap<Channel, i64> = BTreeMap::new();
    let mut gaps: BTreeMap<i64, u32> = BTreeMap::new();
    for f in files {
        let t = f.time.seconds();
        if let Some(prev) = last.insert(f.channel, t) {
            let gap = t - prev;
            if gap > 0 && gap <= rules.max_segment_s {
                *gaps.entry(gap).or_default() += 1;
            }
        }
    }
    gaps.into_iter()
        .max_by_key(|&(gap, count)| (count, gap))
        .map_or(rules.default_segment_s, |(gap, _)| gap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::driver::{Container, FileKind, LocalTime};

    fn at(hms: &str) -> LocalTime {
        LocalTime::from_digits("20230101", hms).unwrap()
    }

    fn file(time: LocalTime, channel: Channel, kind: FileKind) -> CameraFile {
        CameraFile {
            name: format!("{}_{channel:?}_{kind:?}.mp4", time.seconds()),
            path: String::new(),
            size: None,
            time,
            channel,
            kind,
            locked: false,
            container: Container::Mp4,
            sequence: None,
            order: 0,
        }
    }

    fn starts(drive: &FileDrive) -> Vec<(i64, Channel)> {
        drive.files.iter().map(|f| (f.time.seconds(), f.channel)).collect()
    }

    #[test]
    fn every_lens_of_one_moment_is_in_one_drive() {
        let mut files = Vec::new();
        // Lenses start a second or two apart; the listing gives them in any order.
        for (hms, interior) in [("120000", "120002"), ("120100", "120102"), ("120200", "120201")] {
            files.push(file(at(hms), Channel::Rear, FileKind::Normal));
            files.push(file(at(interior), Channel::Interior, FileKind::Normal));
            files.push(file(at(hms), Channel::Front, FileKind::Normal));
        }
        let drives = group_into_drives(files, &GroupingRules::default());
        assert_eq!(drives.len(), 1);
        assert_eq!(drives[0].files.len(), 9);
        assert_eq!(drives[0].channels(), [Channel::Front, Channel::Rear, Channel::Interior]);
        let first = starts(&drives[0]);
        assert_eq!(
            first[..3],
            [
                (at("120000").seconds(), Channel::Front),
                (at("120000").seconds(), Channel::Rear),
                (at("120002").seconds(), Channel::Interior)
            ]
        );
        assert!(!drives[0].clock_unset && !drives[0].parking);
    }

    #[test]
    fn a_gap_longer_than_a_recording_starts_a_new_drive() {
        let files = ["120000", "120100", "120200", "124000", "124100"]
            .map(|t| file(at(t), Channel::Front, FileKind::Normal))
            .to_vec();
        let drives = group_into_drives(files, &GroupingRules::default());
        assert_eq!(drives.len(), 2);
        assert_eq!(drives[0].files.len(), 3);
        assert_eq!(drives[1].files[0].time, at("124000"));
    }

    #[test]
    fn the_recording_length_comes_from_the_files() {
        // Three-minute recordings: a three-minute step is continuity, not a gap.
        let files = ["120000", "120300", "120600", "120900", "123000"]
            .map(|t| file(at(t), Channel::Front, FileKind::Normal))
            .to_vec();
        let drives = group_into_drives(files, &GroupingRules::default());
        assert_eq!(drives.iter().map(|d| d.files.len()).collect::<Vec<_>>(), [4, 1]);
        // A single file: the default length applies.
        let one = vec![file(at("120000"), Channel::Front, FileKind::Normal)];
        assert_eq!(group_into_drives(one, &GroupingRules::default()).len(), 1);
        assert!(group_into_drives(Vec::new(), &GroupingRules::default()).is_empty());
    }

    #[test]
    fn parking_recordings_never_join_a_drive() {
        let files = vec![
            file(at("120000"), Channel::Front, FileKind::Normal),
            file(at("120100"), Channel::Front, FileKind::Event),
            file(at("120200"), Channel::Front, FileKind::Parking),
            file(at("120300"), Channel::Front, FileKind::ParkingEvent),
            file(at("120400"), Channel::Front, FileKind::Normal),
        ];
        let drives = group_into_drives(files, &GroupingRules::default());
        let shape: Vec<(bool, usize)> = drives.iter().map(|d| (d.parking, d.files.len())).collect();
        assert_eq!(shape, [(false, 2), (true, 2), (false, 1)]);
        assert!(drives[0].has_incident() && drives[1].has_incident() && !drives[2].has_incident());
    }

    fn unset(hms: &str, channel: Channel, sequence: Option<u64>, order: usize) -> CameraFile {
        let mut f =
            file(LocalTime::from_digits("19700101", hms).unwrap(), channel, FileKind::Normal);
        f.name = format!("{hms}_{channel:?}_{order}.mp4");
        f.sequence = sequence;
        f.order = order;
        f
    }

    #[test]
    fn an_unset_clock_still_gives_ordered_drives_by_file_number() {
        // Two power cycles, both counting from 1970-01-01 00:00:00; listed out of order.
        let files = vec![
            unset("000000", Channel::Front, Some(13), 0),
            unset("000100", Channel::Front, Some(14), 1),
            unset("000000", Channel::Front, Some(10), 2),
            unset("000000", Channel::Rear, Some(10), 3),
            unset("000100", Channel::Front, Some(11), 4),
            unset("000100", Channel::Rear, Some(11), 5),
            unset("000200", Channel::Front, Some(12), 6),
            file(at("120000"), Channel::Front, FileKind::Normal),
        ];
        let drives = group_into_drives(files, &GroupingRules::default());
        assert_eq!(drives.len(), 3);
        assert!(drives[0].clock_unset && drives[1].clock_unset && !drives[2].clock_unset);
        let seq = |d: &FileDrive| d.files.iter().map(|f| f.sequence.unwrap()).collect::<Vec<_>>();
        assert_eq!(seq(&drives[0]), [10, 10, 11, 11, 12]);
        assert_eq!(seq(&drives[1]), [13, 14]);
        assert_eq!(starts(&drives[0])[..2], [(0, Channel::Front), (0, Channel::Rear)]);
    }

    #[test]
    fn an_unset_clock_without_file_numbers_follows_the_listing_order() {
        // BlackVue: no running number; the listing's order is the camera's.
        let files = vec![
            unset("000000", Channel::Front, None, 0),
            unset("000000", Channel::Rear, None, 1),
            unset("000100", Channel::Front, None, 2),
            unset("000000", Channel::Front, None, 3),
            unset("000100", Channel::Front, None, 4),
        ];
        let drives = group_into_drives(files, &GroupingRules::default());
        let orders: Vec<Vec<usize>> =
            drives.iter().map(|d| d.files.iter().map(|f| f.order).collect()).collect();
        assert_eq!(orders, [vec![0, 1, 2], vec![3, 4]]);
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let mut late = file(
            LocalTime::from_civil(9999, 12, 31, 23, 59, 59).unwrap(),
            Channel::Front,
            FileKind::Normal,
        );
        late.name = "late.mp4".into();
        let files = vec![late, file(at("120000"), Channel::Front, FileKind::Normal)];
        let rules = GroupingRules {
            slack_s: i64::MAX / 4,
            default_segment_s: i64::MAX / 4,
            max_segment_s: i64::MAX,
        };
        let drives = group_into_drives(files, &rules);
        assert_eq!(drives.iter().map(|d| d.files.len()).sum::<usize>(), 2);
    }
}
