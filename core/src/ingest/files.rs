//! Ingest from cameras that record files, not drives (Novatek; BlackVue next), through the
//! [`CameraDriver`] seam.
//!
//! These cameras list no checksums, drives or telemetry sidecars, so one pass: list the card
//! twice (a file is taken only once its size held between the two looks: [`GrowthWatch`]; the
//! looks are a settle time apart unless the driver stopped the camera's recording, when nothing
//! can grow), group the settled files into drives ([`group_into_drives`]), and for each file the phone lacks,
//! newest drive first: make room, download into the partial file (Range resume, or a clean
//! restart where the camera ignores Range; the size from the listing or `Content-Length`), check
//! the MP4 structurally with the clips reader, then name it in the catalog, with the digest
//! computed while downloading (CRC-64: `storage::ContentHash`), only once it is fsynced and
//! renamed into place. Nothing
//! half-written or unreadable is ever catalogued.

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{IngestError, IngestEvent, IngestReport, Ingestor, download, sync_file};
use crate::camera::blackvue::accel::{self, AccelTrack};
use crate::camera::blackvue::embedded;
use crate::camera::blackvue::gps::{self as blackvue_gps, GpsTrack};
use crate::camera::driver::{CameraFile, Channel, Container, Listing};
use crate::camera::file_drives::{FileDrive, GroupingRules, group_into_drives};
use crate::camera::growth::GrowthWatch;
use crate::camera::novatek::gps::{NovatekGpsError, read_gps};
use crate::camera::probe::Dialect;
use crate::camera::{CameraDriver, CameraIdentity};
use crate::catalog::{
    CameraId, ClipReason, DriveId, NewEvent, SAME_MOMENT_MS, SegmentId, SegmentRecord,
};
use crate::protocol::{CameraStatus, MAX_ID_LEN, SegmentInfo, Telemetry, is_safe_id};
use crate::storage::{ContentHash, DataLayout, Reservation};

/// How long ingest waits between the two looks at a vendor camera's card: a file whose size
/// changed in between is still being recorded.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(2);

/// The catalog's id for a camera file: its name with `.` as `_` (names are already safe).
pub(super) fn segment_id(file: &CameraFile) -> String {
    file.name.replace('.', "_")
}

/// A stable sequence number for a file (the catalog tracks what a listing still holds by it):
/// FNV-1a of the lower-case name, kept within SQLite's positive integers.
fn sequence_of(file: &CameraFile) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in file.name.bytes().map(|b| b.to_ascii_lowercase()) {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash >> 2
}

/// The catalog's id for a drive of files: its first file's id.
fn drive_id(drive: &FileDrive) -> Option<String> {
    let first = drive.files.first()?;
    let id: String = format!("F{}", segment_id(first)).chars().take(MAX_ID_LEN).collect();
    is_safe_id(&id).then_some(id)
}

/// Where the file at `index` stands among the drive's files of its own lens.
fn position_in_lens(files: &[CameraFile], index: usize) -> u32 {
    let channel = files[index].channel;
    let earlier = files[..index].iter().filter(|f| f.channel == channel).count();
    u32::try_from(earlier).unwrap_or(u32::MAX)
}

/// A file this pass stored on the phone (its arrival is announced once its incident is planned).
struct StoredFile {
    drive: DriveId,
    segment: SegmentId,
    size: u64,
    fetched: u64,
    gps_skipped: u64,
}

/// A file downloaded, checked and its telemetry read, waiting to be stored on the phone.
struct Downloaded {
    /// What the catalog will know of it (the camera lists no checksum: `hash` vouches for it).
    info: SegmentInfo,
    /// Its partial file's name in `tmp/` (and its name in `videos/` once stored).
    name: String,
    hash: ContentHash,
    fetched: u64,
    /// Its telemetry sidecar (JSON).
    telemetry: Vec<u8>,
    accel_samples: u32,
    gps_fixes: u32,
    gps_skipped: u64,
    /// The room the loop recorder keeps for it until the catalog counts it.
    room: Reservation,
}

/// A file the loop recorder made room for: its partial file's name in `tmp/`, and the room kept
/// for it until it is stored.
struct Admitted {
    name: String,
    room: Reservation,
}

/// A file whose bytes are all on the phone, as listed, with what else the camera serves for it:
/// what is left to do needs only the phone ([`Ingestor::keep_file`]).
struct Arrived {
    admitted: Admitted,
    /// Its size, as listed (and downloaded).
    size: u64,
    /// The download, whose last buffers may still be on their way to the disk.
    fetched: download::Fetched,
    /// A BlackVue `.gps` side file, where the camera serves one.
    side_gps: Option<Vec<u8>>,
}

/// One drive's pass: its files, the runs of them the camera protected, and the drives the loop
/// recorder must keep while it streams.
struct DrivePass<'a> {
    drive: &'a FileDrive,
    /// The catalog's id of the drive.
    drive_id: String,
    dialect: Dialect,
    runs: Vec<std::ops::Range<usize>>,
    /// The drives this pass stored files of: the loop recorder keeps them while it streams.
    protect: std::sync::Mutex<Vec<DriveId>>,
}

impl DrivePass<'_> {
    fn protected(&self) -> Vec<DriveId> {
        self.protect.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn protect(&self, drive: DriveId) {
        self.protect.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(drive);
    }
}

/// A camera file that is not a video the phone can use.
fn not_video(file: &CameraFile, reason: String) -> IngestError {
    IngestError::NotAVideo { file: file.name.clone(), reason }
}

/// The runs of consecutive files (in drive order) the camera protected: a G-sensor lock or an
/// event button keeps the file being recorded and often the one before, which are one moment.
fn protected_runs(files: &[CameraFile]) -> Vec<std::ops::Range<usize>> {
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for i in (0..files.len()).filter(|&i| files[i].is_incident()) {
        match runs.last_mut() {
            Some(run) if run.end == i => run.end = i + 1,
            _ => runs.push(i..i + 1),
        }
    }
    runs
}

/// The GPS fixes a camera embedded in a downloaded file (Novatek's `gps ` box), timed from the
/// file's start; none for other dialects. A file whose boxes cannot be walked keeps no fixes
/// (logged): the video itself was already checked and stands.
async fn embedded_gps(dialect: Dialect, path: &Path) -> GpsTrack {
    if dialect != Dialect::Novatek {
        return GpsTrack::default();
    }
    let path = path.to_path_buf();
    let read = tokio::task::spawn_blocking(move || -> Result<GpsTrack, NovatekGpsError> {
        let mut file = std::fs::File::open(&path)?;
        let len = file.metadata()?.len();
        read_gps(&mut file, len)
    })
    .await;
    match read {
        Ok(Ok(track)) => {
            if track.skipped > 0 {
                let (fixes, skipped) = (track.fixes.len(), track.skipped);
                tracing::info!(fixes, skipped, "GPS records skipped in a camera file");
            }
            track
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "the camera file's GPS could not be read");
            GpsTrack::default()
        }
        Err(error) => {
            tracing::warn!(%error, "GPS reading task failed");
            GpsTrack::default()
        }
    }
}

/// A BlackVue recording's `.gps` side file, where the camera serves one; a side file that cannot
/// be fetched leaves the file without it (logged), never refused.
async fn blackvue_side_gps(driver: &dyn CameraDriver, file: &CameraFile) -> Option<Vec<u8>> {
    match driver.telemetry(file).await {
        Ok(side) => side.map(|b| b.to_vec()),
        Err(error) => {
            tracing::warn!(file = %file.name, %error, "the GPS side file could not be fetched");
            None
        }
    }
}

/// The GPS and accelerometer samples of a BlackVue recording: the GPS from its `.gps` side
/// file where the camera served one (legacy firmware), else from the copy embedded in the
/// downloaded MP4, timed from the recording's start; the accelerometer from the MP4's embedded
/// `3gf ` block, for front files only. Bad records are skipped and counted; an MP4 whose boxes
/// cannot be walked leaves the file without that telemetry (logged), never refused.
async fn blackvue_telemetry(
    file: &CameraFile,
    side: Option<Vec<u8>>,
    partial: &Path,
) -> (GpsTrack, AccelTrack) {
    let path = partial.to_path_buf();
    let read = tokio::task::spawn_blocking(move || {
        let mut mp4 = std::fs::File::open(&path)?;
        let len = mp4.metadata()?.len();
        embedded::read_embedded(&mut mp4, len)
    })
    .await;
    let embedded = match read {
        Ok(Ok(found)) => found,
        Ok(Err(error)) => {
            tracing::warn!(file = %file.name, %error, "the MP4's telemetry could not be read");
            embedded::Embedded::default()
        }
        Err(error) => {
            tracing::warn!(%error, "telemetry reading task failed");
            embedded::Embedded::default()
        }
    };
    let gps = side.or(embedded.gps).map_or_else(GpsTrack::default, |lines| {
        blackvue_gps::parse_gps(&lines, blackvue_gps::recording_start_ms(file.time, &lines))
    });
    // One G-sensor, one record of it: the front lens's files carry it (every lens embeds the
    // same samples), so the detector reads each jolt once, on the drive its clip is cut from.
    let accel = match embedded.accel {
        Some(records) if file.channel == Channel::Front => accel::parse_3gf(&records),
        _ => AccelTrack::default(),
    };
    if gps.skipped > 0 || accel.skipped > 0 {
        let (fixes, skipped, accel_skipped) = (gps.fixes.len(), gps.skipped, accel.skipped);
        tracing::info!(file = %file.name, fixes, skipped, accel_skipped,
            "telemetry records skipped in a camera file");
    }
    (gps, accel)
}

/// What the catalog records of a vendor camera: its card holds the `listed` bytes of videos,
/// and its size is those plus the free space where the camera tells it (0: not told).
fn status_of(identity: CameraIdentity, free: Option<u64>, listed: u64) -> CameraStatus {
    CameraStatus {
        protocol_version: 0,
        model: identity.model,
        firmware: identity.firmware,
        serial: identity.serial,
        sd_capacity_bytes: free.map_or(0, |free| free.saturating_add(listed)),
        sd_used_bytes: listed,
        recording: false,
        current_drive: None,
        clock_ms: 0,
        latest_seq: 0,
    }
}

impl Ingestor {
    /// "Stream now" from a camera behind any [`CameraDriver`] that lists files (Novatek):
    /// everything settled on its card that the phone lacks, newest drive first. The camera is
    /// released afterwards (a Novatek camera whose recording was stopped records again).
    pub async fn stream_files(
        &self,
        driver: &dyn CameraDriver,
        settle: Duration,
        cancel: &CancellationToken,
    ) -> Result<IngestReport, IngestError> {
        let span = tracing::info_span!(
            "stream_files",
            camera = driver.base_url(),
            dialect = %driver.dialect()
        );
        async {
            let result = self.files_pass(driver, settle, cancel).await;
            if let Err(error) = driver.release().await {
                tracing::warn!(%error, "could not hand the camera back");
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn files_pass(
        &self,
        driver: &dyn CameraDriver,
        settle: Duration,
        cancel: &CancellationToken,
    ) -> Result<IngestReport, IngestError> {
        let identity = self.retrying(|| driver.identify()).await?;
        let free = self.retrying(|| driver.free_space()).await.unwrap_or(None);
        let serial = identity.serial.clone();
        let url = driver.base_url().to_string();
        let camera_id =
            self.catalog.upsert_camera(status_of(identity.clone(), free, 0), url.clone()).await?;
        self.emit(IngestEvent::Connected { camera: camera_id, serial });

        let mut watch = GrowthWatch::new();
        let first = self.retrying(|| driver.list()).await?;
        let first = self.with_sizes(driver, camera_id, first).await?;
        watch.settled(first.files.iter().filter_map(|f| Some((f.name.as_str(), f.size?))));
        if !driver.records_nothing() {
            download::sleep_or_cancel(settle, cancel).await?;
        }
        let listing = self.retrying(|| driver.list()).await?;
        let listing = self.with_sizes(driver, camera_id, listing).await?;
        let settled =
            watch.settled(listing.files.iter().filter_map(|f| Some((f.name.as_str(), f.size?))));
        let listed = listing.files.iter().filter_map(|f| f.size).fold(0, u64::saturating_add);
        self.catalog.upsert_camera(status_of(identity, free, listed), url).await?;

        let mut report = IngestReport { listed: listing.files.len(), ..IngestReport::default() };
        let present: Vec<u64> = listing.files.iter().map(sequence_of).collect();
        let (taken, waiting): (Vec<CameraFile>, Vec<CameraFile>) =
            listing.files.into_iter().partition(|f| settled.contains(&f.name));
        if !waiting.is_empty() {
            tracing::info!(files = waiting.len(), "files still being recorded; left for later");
        }
        let drives = group_into_drives(taken, &GroupingRules::default());
        let delete_after_copy = self.deletes_after_copy().await?;
        for drive in drives.iter().rev() {
            self.drive_pass(driver, camera_id, drive, &mut report, cancel).await?;
            if delete_after_copy {
                self.delete_copied(driver, camera_id, &drive.files, &mut report).await?;
            }
        }
        report.overwritten_on_camera =
            self.catalog.note_camera_overwrites(camera_id, present).await?;
        Ok(report)
    }

    /// The listing with a size for every file the camera can give one for: the listing's own,
    /// the catalog's for a file already on the phone (nothing is asked), else the camera's
    /// answer ([`CameraDriver::file_size`], BlackVue's `Content-Length`). A file whose size
    /// cannot be had stays without one and waits for a later pass.
    async fn with_sizes(
        &self,
        driver: &dyn CameraDriver,
        camera_id: CameraId,
        mut listing: Listing,
    ) -> Result<Listing, IngestError> {
        for file in listing.files.iter_mut().filter(|f| f.size.is_none()) {
            let known = self.catalog.segment_by_camera_id(camera_id, segment_id(file)).await?;
            if let Some(known) = known.filter(|s| s.phone_file.is_some()) {
                file.size = Some(known.size_bytes);
                continue;
            }
            match self.retrying(|| driver.file_size(file)).await {
                Ok(size) => file.size = size,
                Err(error) => tracing::info!(file = %file.name, %error, "no size from the camera"),
            }
        }
        Ok(listing)
    }

    /// Ingests one drive's files in order, every lens into the one catalog drive (each lens
    /// numbered on its own, so the front's files are the drive's timeline). The drive is kept
    /// from the phone's loop recorder while it streams, and each run of files the camera
    /// protected becomes one incident with a clip (whatever the lenses) once its last file was
    /// tried (before that file's arrival is announced, so the clip is cut on it).
    ///
    /// A pipeline: room is made for each file while the one before it downloads; files are
    /// downloaded one after another while those that arrived are kept
    /// (structure checked, telemetry read, sidecar written, fsync, rename, catalog) one after
    /// another, at most one waiting between them, so the reads and flushes overlap the network
    /// (they cost about as much as downloading a 16 MB file on a fast link) and neither stage
    /// waits for the other's slowest file. The loop recorder counts the room held for every file
    /// on its way (none of them is in the catalog, so none can be evicted). Outcomes are counted
    /// in file order; a failure that ends the pass is counted after every file before it, and
    /// stops the downloads.
    async fn drive_pass(
        &self,
        driver: &dyn CameraDriver,
        camera_id: CameraId,
        drive: &FileDrive,
        report: &mut IngestReport,
        cancel: &CancellationToken,
    ) -> Result<(), IngestError> {
        let Some(drive_id) = drive_id(drive) else { return Ok(()) };
        let runs = protected_runs(&drive.files);
        let dialect = driver.dialect();
        let protect = std::sync::Mutex::default();
        let pass = DrivePass { drive, drive_id, dialect, runs, protect };
        // One arrived file waits while another is kept and a third downloads.
        let (to_keeper, arrivals) = tokio::sync::mpsc::channel(1);
        let fetch_all = async {
            let to_keeper = to_keeper;
            let mut room = None;
            for (index, file) in drive.files.iter().enumerate() {
                let admitted = match room.take() {
                    Some(admitted) => admitted,
                    None => self.make_room_for(camera_id, file, &pass.protected()).await,
                };
                let following = drive.files.get(index + 1);
                let fetched = match admitted {
                    Ok(Some(admitted)) => {
                        let (fetched, ahead) = tokio::join!(
                            self.download_file(driver, file, admitted, cancel),
                            self.room_ahead(camera_id, &pass, following),
                        );
                        room = ahead;
                        fetched.map(Some)
                    }
                    other => other.map(|_| None),
                };
                let fatal = matches!(&fetched, Err(e) if !super::is_segment_specific(e));
                // The keeper stops at a failure of its own: then nothing more is fetched.
                if to_keeper.send((index, fetched)).await.is_err() || fatal {
                    break;
                }
            }
        };
        let keep_all = async {
            let mut arrivals = arrivals;
            while let Some((index, fetched)) = arrivals.recv().await {
                let kept = match fetched {
                    Ok(Some(arrived)) => {
                        self.keep_file(camera_id, &pass, index, arrived).await.map(Some)
                    }
                    other => other.map(|_| None),
                };
                self.settle_file(camera_id, &pass, index, kept, report).await?;
            }
            Ok(())
        };
        tokio::join!(fetch_all, keep_all).1
    }

    /// Makes room for the file after the one downloading (`following`, if there is one) while
    /// that one downloads, so that the catalog lookup and any eviction (which wait for the
    /// catalog, itself busy committing the file being kept) cost the pass nothing between two
    /// downloads. Only a file being downloaded makes room for the next one: a pass that stops
    /// gives back that room (and at worst has evicted what the next pass would have).
    async fn room_ahead(
        &self,
        camera_id: CameraId,
        pass: &DrivePass<'_>,
        following: Option<&CameraFile>,
    ) -> Option<Result<Option<Admitted>, IngestError>> {
        let file = following?;
        Some(self.make_room_for(camera_id, file, &pass.protected()).await)
    }

    /// Counts one file's outcome, in drive order: stored, already on the phone (`None`), refused
    /// (this file only), or a failure that stops the pass; makes the incident of a protected run
    /// it ends, then announces its arrival.
    async fn settle_file(
        &self,
        camera_id: CameraId,
        pass: &DrivePass<'_>,
        index: usize,
        result: Result<Option<StoredFile>, IngestError>,
        report: &mut IngestReport,
    ) -> Result<(), IngestError> {
        let file = &pass.drive.files[index];
        let stored = match result {
            Ok(stored) => stored,
            Err(e) if super::is_segment_specific(&e) => {
                tracing::warn!(file = %file.name, error = %e, "camera file refused");
                self.emit(IngestEvent::SegmentFailed {
                    camera_segment_id: file.name.clone(),
                    reason: e.to_string(),
                });
                report.refused.push(e);
                None
            }
            Err(e) => return Err(e),
        };
        if let Some(run) = pass.runs.iter().find(|r| r.end == index + 1) {
            self.camera_incident(camera_id, &pass.drive.files[run.clone()]).await?;
        }
        if let Some(stored) = stored {
            report.new_on_camera += 1;
            report.stored += 1;
            report.bytes_fetched += stored.fetched;
            report.gps_records_skipped += stored.gps_skipped;
            pass.protect(stored.drive);
            self.emit(IngestEvent::SegmentStored {
                drive: stored.drive,
                segment: stored.segment,
                bytes: stored.size,
            });
        }
        Ok(())
    }

    /// Makes an incident of a run of files the camera protected (locked, or filed as events),
    /// with a clip over what of the run is on the phone: one incident and one clip per run,
    /// however many passes see it (the incident is recorded once; a run clipped already is left).
    async fn camera_incident(
        &self,
        camera_id: CameraId,
        run: &[CameraFile],
    ) -> Result<(), IngestError> {
        let mut span: Option<(DriveId, i64, i64)> = None;
        for file in run {
            let segment = self.catalog.segment_by_camera_id(camera_id, segment_id(file)).await?;
            let Some(s) = segment.filter(|s| s.phone_file.is_some()) else { continue };
            let end = s.started_at_ms.saturating_add(s.duration_ms);
            span = Some(match span {
                None => (s.drive_id, s.started_at_ms, end),
                Some((d, from, to)) => (d, from.min(s.started_at_ms), to.max(end)),
            });
        }
        let Some((drive, start_ms, end_ms)) = span else { return Ok(()) };
        let event = NewEvent {
            drive: Some(drive),
            kind: ClipReason::CameraLocked.as_str(),
            at_ms: start_ms,
            peak_g: 0.0,
            duration_ms: end_ms - start_ms,
            location: None,
            source: "camera",
        };
        let (event, fresh) = self.catalog.record_event(event, SAME_MOMENT_MS).await?;
        if !fresh && self.catalog.event_has_clip(event).await? {
            return Ok(());
        }
        let reason = ClipReason::CameraLocked;
        let clip = self.catalog.plan_clip(drive, Some(event), reason, start_ms, end_ms).await?;
        tracing::info!(event, clip = clip.0, start_ms, end_ms, "the camera protected a moment");
        if let Some(record) = self.catalog.event(event).await?.filter(|_| fresh) {
            self.emit(IngestEvent::CameraIncident(record));
        }
        Ok(())
    }

    /// Makes room for one file the phone lacks and returns its partial file's name with the room
    /// kept for it; `None` when the phone already has it. `protect` lists the drives the loop
    /// recorder must not evict to make room for it.
    #[tracing::instrument(level = "debug", skip_all, fields(file = %file.name))]
    async fn make_room_for(
        &self,
        camera_id: CameraId,
        file: &CameraFile,
        protect: &[DriveId],
    ) -> Result<Option<Admitted>, IngestError> {
        let id = segment_id(file);
        let known = self.catalog.segment_by_camera_id(camera_id, id.clone()).await?;
        if known.is_some_and(|s| s.phone_file.is_some()) {
            return Ok(None);
        }
        let size = file.size.ok_or_else(|| not_video(file, "the camera lists no size".into()))?;
        let start_ms = file.time.seconds().saturating_mul(1000);
        let mut streaming = self.streaming_drives();
        streaming.extend_from_slice(protect);
        let room = self.recorder.reserve(size, Some(start_ms), &streaming).await?;
        Ok(Some(Admitted { name: DataLayout::segment_file_name(camera_id, &id), room }))
    }

    /// Downloads one admitted file into its partial file, and what else the camera serves for it
    /// (a BlackVue side file): all that needs the camera, so that keeping it
    /// ([`Self::keep_file`]) needs only the phone and overlaps the next download.
    #[tracing::instrument(level = "debug", skip_all, fields(file = %file.name))]
    async fn download_file(
        &self,
        driver: &dyn CameraDriver,
        file: &CameraFile,
        admitted: Admitted,
        cancel: &CancellationToken,
    ) -> Result<Arrived, IngestError> {
        let id = segment_id(file);
        let size = file.size.ok_or_else(|| not_video(file, "the camera lists no size".into()))?;
        let partial = self.layout.partial_path(&admitted.name);
        let expected = download::Expected { camera_segment_id: &id, size, listed: None };
        let fetched =
            download::download_video(driver, file, &expected, &partial, self.retry, None, cancel)
                .await?;
        let blackvue = matches!(driver.dialect(), Dialect::BlackVueLegacy | Dialect::BlackVue1009);
        let side_gps = match file.container {
            Container::Mp4 if blackvue => blackvue_side_gps(driver, file).await,
            _ => None,
        };
        Ok(Arrived { admitted, size, fetched, side_gps })
    }

    /// Keeps the arrived file at `index` of the pass: checks its structure, reads its telemetry,
    /// and stores it ([`Self::store_file`]). A file that is not a usable video is removed.
    #[tracing::instrument(level = "debug", skip_all, fields(file = %pass.drive.files[index].name))]
    async fn keep_file(
        &self,
        camera_id: CameraId,
        pass: &DrivePass<'_>,
        index: usize,
        arrived: Arrived,
    ) -> Result<StoredFile, IngestError> {
        let downloaded = self.examine_file(pass, index, arrived).await?;
        self.store_file(camera_id, downloaded).await
    }

    /// Checks an arrived file's structure (MP4 or TS) and reads its telemetry into what the
    /// catalog will record of it.
    async fn examine_file(
        &self,
        pass: &DrivePass<'_>,
        index: usize,
        arrived: Arrived,
    ) -> Result<Downloaded, IngestError> {
        let Arrived { admitted: Admitted { name, room }, size, fetched, side_gps } = arrived;
        let file = &pass.drive.files[index];
        let id = segment_id(file);
        let partial = self.layout.partial_path(&name);
        let bytes = fetched.bytes;
        let hash = fetched.written().await?;
        let duration_ms = match self.check_video(&partial).await {
            Ok(ms) => ms,
            Err(reason) => {
                let path = partial.clone();
                let _ = tokio::task::spawn_blocking(move || std::fs::remove_file(path)).await;
                return Err(not_video(file, reason));
            }
        };

        // A transport stream carries no `gps ` box (a TS's private GPS stream is not read).
        let (gps, accel) = match (file.container, pass.dialect) {
            (Container::Ts, _) => (GpsTrack::default(), AccelTrack::default()),
            (Container::Mp4, Dialect::BlackVueLegacy | Dialect::BlackVue1009) => {
                blackvue_telemetry(file, side_gps, &partial).await
            }
            (Container::Mp4, dialect) => {
                (embedded_gps(dialect, &partial).await, AccelTrack::default())
            }
        };
        let gps_fixes = u32::try_from(gps.fixes.len()).unwrap_or(u32::MAX);
        let accel_samples = u32::try_from(accel.samples.len()).unwrap_or(u32::MAX);
        let gps_skipped = gps.skipped;
        let telemetry = Telemetry {
            segment_id: id.clone(),
            accel_hz: accel.hz,
            accel: accel.samples,
            gps: gps.fixes,
        };
        let telemetry =
            serde_json::to_vec(&telemetry).map_err(|e| IngestError::Task(e.to_string()))?;
        let info = SegmentInfo {
            id: id.clone(),
            drive_id: pass.drive_id.clone(),
            seq: sequence_of(file),
            index_in_drive: position_in_lens(&pass.drive.files, index),
            start_ms: file.time.seconds().saturating_mul(1000),
            duration_ms,
            size,
            // The camera lists no checksum: the phone's digest goes to the catalog beside it.
            sha256: String::new(),
            locked: file.is_incident(),
            telemetry_size: telemetry.len() as u64,
            telemetry_sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&telemetry)),
            channel: file.channel,
        };
        info.validate_except_checksums()?;
        Ok(Downloaded {
            info,
            name,
            hash,
            fetched: bytes,
            telemetry,
            accel_samples,
            gps_fixes,
            gps_skipped,
            room,
        })
    }

    /// Names a downloaded, checked file in the catalog, makes it durable (fsync), writes its
    /// telemetry sidecar, renames it into place and records the phone's copy: nothing
    /// half-written or unreadable is ever catalogued. The first three wait for the disk at
    /// once (their flushes can share a journal commit); the rename waits for all of them.
    async fn store_file(
        &self,
        camera_id: CameraId,
        file: Downloaded,
    ) -> Result<StoredFile, IngestError> {
        let Downloaded { info, name, hash, telemetry, room, .. } = file;
        let size = info.size;
        let telemetry_name = DataLayout::telemetry_file_name(camera_id, &info.id);
        let counts = (file.accel_samples, file.gps_fixes);
        let (noted, synced, sidecar) = tokio::join!(
            self.note_file(camera_id, info, hash),
            sync_file(self.layout.partial_path(&name)),
            self.write_sidecar(telemetry_name, telemetry, counts),
        );
        let noted = noted.and_then(|segment| synced.map(|()| segment));
        let segment = match (noted, sidecar) {
            (Ok(segment), Ok(telemetry)) => {
                self.rename_and_record(&segment, name, telemetry).await?;
                segment
            }
            (Err(e), Ok(telemetry)) => {
                self.forget(&[&telemetry.name]).await;
                return Err(e);
            }
            (Err(e), Err(_)) | (Ok(_), Err(e)) => return Err(e),
        };
        // The catalog counts the file now: its room goes back.
        drop(room);
        Ok(StoredFile {
            drive: segment.drive_id,
            segment: segment.id,
            size,
            fetched: file.fetched,
            gps_skipped: file.gps_skipped,
        })
    }

    /// Names a checked file from the camera in the catalog, with no phone copy yet: its record.
    async fn note_file(
        &self,
        camera_id: CameraId,
        info: SegmentInfo,
        hash: ContentHash,
    ) -> Result<SegmentRecord, IngestError> {
        let id = info.id.clone();
        self.catalog.note_camera_file(camera_id, info, hash).await?;
        self.catalog
            .segment_by_camera_id(camera_id, id.clone())
            .await?
            .ok_or_else(|| IngestError::Task(format!("segment {id} vanished from the catalog")))
    }

    /// Reads the downloaded MP4's (or MPEG-TS's: packets, PAT/PMT, PES and their time stamps)
    /// structure with the clips reader; its duration in ms, or why it is not a video the phone
    /// can use.
    async fn check_video(&self, partial: &std::path::Path) -> Result<i64, String> {
        let path = partial.to_path_buf();
        let summary = tokio::task::spawn_blocking(move || crate::clips::probe_segment(&path))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let video = summary
            .tracks
            .iter()
            .find(|t| t.handler == "vide" && t.samples > 0)
            .ok_or_else(|| "no video track with samples".to_string())?;
        let ms = (video.duration_s * 1000.0).round();
        if !(1.0..86_400_000.0).contains(&ms) {
            return Err(format!("video track lasts {} s", video.duration_s));
        }
        Ok(ms as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> CameraFile {
        let path = format!("/Novatek/Movie/{name}");
        CameraFile { name: name.into(), path, ..crate::camera::segment_file("x", 1) }
    }

    #[test]
    fn consecutive_protected_files_are_one_moment() {
        let locked = |name: &str| CameraFile { locked: true, ..file(name) };
        let event =
            |name: &str| CameraFile { kind: crate::camera::driver::FileKind::Event, ..file(name) };
        let files = vec![
            locked("a.MP4"),
            file("b.MP4"),
            locked("c.MP4"),
            event("d.MP4"),
            file("e.MP4"),
            event("f.MP4"),
        ];
        assert_eq!(protected_runs(&files), vec![0..1, 2..4, 5..6]);
        assert!(protected_runs(&files[1..2]).is_empty());
        assert!(protected_runs(&[]).is_empty());
    }

    #[test]
    fn the_lenses_of_a_moment_are_one_drive_numbered_lens_by_lens() {
        use crate::camera::driver::{Channel, FileKind};
        let lens = |name: &str, channel| {
            let kind = if name.contains("_E") { FileKind::Event } else { FileKind::Normal };
            CameraFile { channel, kind, ..file(name) }
        };
        let drive = FileDrive {
            files: vec![
                lens("20230101_120000_NF.mp4", Channel::Front),
                lens("20230101_120000_NR.mp4", Channel::Rear),
                lens("20230101_120100_EF.mp4", Channel::Front),
                lens("20230101_120100_ER.mp4", Channel::Rear),
                lens("20230101_120200_NF.mp4", Channel::Front),
            ],
            clock_unset: false,
            parking: false,
        };
        assert_eq!(drive_id(&drive).as_deref(), Some("F20230101_120000_NF_mp4"));
        let positions: Vec<u32> =
            (0..drive.files.len()).map(|i| position_in_lens(&drive.files, i)).collect();
        assert_eq!(positions, [0, 0, 1, 1, 2]);
        // The event's front and rear files are one protected run: one incident, one clip.
        assert_eq!(protected_runs(&drive.files), vec![2..4]);
    }

    #[test]
    fn ids_are_safe_and_sequences_stable_and_case_blind() {
        let f = file("2026_1130_051500_001F.MP4");
        assert_eq!(segment_id(&f), "2026_1130_051500_001F_MP4");
        assert!(is_safe_id(&segment_id(&f)));
        assert_eq!(sequence_of(&f), sequence_of(&file("2026_1130_051500_001f.mp4")));
        assert_ne!(sequence_of(&f), sequence_of(&file("2026_1130_051500_001R.MP4")));
        assert!(i64::try_from(sequence_of(&f)).is_ok());
        let drive = FileDrive { files: vec![f], clock_unset: false, parking: false };
        assert_eq!(drive_id(&drive).as_deref(), Some("F2026_1130_051500_001F_MP4"));
    }
}
