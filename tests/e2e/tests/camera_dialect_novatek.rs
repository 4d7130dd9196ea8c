//! A Novatek-based camera (Viofo, YI and clones), simulated over real loopback sockets: the phone
//! finds out which protocol it speaks, stops its recording to list the card, streams its files
//! into a real data directory (SQLite catalog, files checked by the MP4 reader and ffprobe),
//! resumes dropped downloads with Range (or restarts them cleanly where the camera ignores
//! Range), hands the camera back recording, and makes the files the camera locked an incident
//! with a clip (one clip with what the phone's own detector finds in that moment).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use common::{World, ffprobe_codec, phone_imu_from_card, settle};
use dashkeep_core::Companion;
use dashkeep_core::camera::driver::{CameraFile, Listing};
use dashkeep_core::camera::novatek::NovatekError;
use dashkeep_core::camera::probe::{self, Dialect};
use dashkeep_core::camera::{CameraDriver, CameraIdentity, DriverError, FileDownload};
use dashkeep_core::catalog::{ClipReason, ClipState};
use dashkeep_core::ingest::IngestReport;
use dashkeep_core::storage::{ContentHash, HashAlgorithm};
use dashkeep_e2e::invariants::{self, Expect};
use dashkeep_simcam::{Fault, Scenario, SimConfig, novatek};

/// Two drives of three 10 s files each, a minute apart; the second drive's first two files
/// are locked (a hard brake), so the camera keeps them in its `RO` folder.
async fn novatek_camera(range_support: bool) -> World {
    common::world_with(Scenario::multi_drive(2, 30, 10), |c| SimConfig {
        instant: true,
        speed: 600.0,
        dialect: dashkeep_simcam::Dialect::Novatek,
        range_support,
        ..c
    })
    .await
}

/// Probes the camera (it must say Novatek) and streams it once.
async fn stream(world: &World, phone: &Companion) -> IngestReport {
    let url = world.camera.base_url();
    assert_eq!(probe::probe(&url).await.expect("probe"), Dialect::Novatek);
    let driver = probe::driver_for(Dialect::Novatek, &url).expect("driver");
    phone.stream_files_now(driver.as_ref()).await.expect("stream the card")
}

/// Every file on the card is on the phone under its Novatek name, byte-identical, and ffprobe
/// reads it as H.264 video; returns how many locked files came from the `RO` folder.
async fn assert_phone_holds_the_card(phone: &Arc<Companion>, world: &World) -> usize {
    let card = world.camera.card();
    let mut on_phone = 0;
    let mut locked = 0;
    for drive in phone.drives().await.expect("drives") {
        for segment in phone.drive_segments(drive.id).await.expect("segments") {
            let path = phone.segment_path(&segment).expect("a phone copy");
            let (info, video, _) = card
                .iter()
                .find(|(i, _, _)| {
                    novatek::file_name(i).replace('.', "_") == segment.camera_segment_id
                })
                .unwrap_or_else(|| panic!("{} is not on the card", segment.camera_segment_id));
            assert!(
                std::fs::read(&path).expect("phone copy") == std::fs::read(video).expect("card"),
                "{} differs from the camera's file",
                segment.camera_segment_id
            );
            assert_eq!(ffprobe_codec(&path), "h264", "{}", path.display());
            on_phone += 1;
            locked += usize::from(info.locked);
        }
    }
    assert_eq!(on_phone, card.len(), "the phone holds every file of the card");
    locked
}

/// The camera listed no checksum: each file is catalogued with the phone's own CRC-64 of the
/// camera's bytes, and the data directory holds what the catalog says (every file hashes to
/// its digest by the algorithm recorded with it) once the clips the passes planned are cut (a
/// clip being cut is renamed into place just before the catalog names it).
async fn assert_vouched_for_by_crc64(world: &World, phone: &Companion) {
    settle(phone).await;
    let db = rusqlite::Connection::open(world.data_dir().join("catalog.sqlite")).expect("db");
    let mut st = db
        .prepare("SELECT camera_segment_id, hash_algorithm, content_hash FROM segments")
        .expect("query");
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("rows");
    let rows: Vec<(String, String, String)> = rows.map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), world.camera.card().len());
    for (id, algorithm, digest) in rows {
        let card = world.camera.card();
        let (_, video, _) =
            card.iter().find(|(i, _, _)| novatek::file_name(i).replace('.', "_") == id).unwrap();
        let (_, camera) = ContentHash::of_file(video, HashAlgorithm::Crc64Nvme).expect("hash");
        assert_eq!((algorithm.as_str(), digest), ("crc64nvme", camera.hex), "{id}");
    }
    let violations = invariants::check(&world.data_dir(), &Expect::default());
    assert!(violations.is_empty(), "{violations:#?}");
}

#[tokio::test]
async fn a_novatek_card_streams_into_drives_and_the_camera_records_again() {
    let world = novatek_camera(true).await;
    let phone = world.phone().await;
    let report = stream(&world, &phone).await;
    let files = world.camera.card().len();
    assert_eq!(files, 6);
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!((report.listed, report.stored), (files, files));

    // Two drives, grouped from the files' times; the locked ones came from the RO folder.
    assert_eq!(phone.drives().await.expect("drives").len(), 2);
    assert_eq!(assert_phone_holds_the_card(&phone, &world).await, 2);
    assert_vouched_for_by_crc64(&world, &phone).await;
    // The card holds the listed videos; its size is those and the free space it told (3017).
    let card: u64 = world.camera.card().iter().map(|(i, _, _)| i.size).sum();
    let cameras = phone.phone_status().await.expect("status").cameras;
    assert_eq!(cameras.len(), 1);
    assert_eq!(cameras[0].sd_used_bytes, card);
    assert!(cameras[0].sd_capacity_bytes > card, "{:?}", cameras[0]);
    // The camera refused to list while recording: the phone stopped it once and restarted it.
    assert_eq!(world.camera.novatek_recording(), (true, 1, 1));

    // A second pass fetches nothing again (and still hands the camera back recording).
    let again = stream(&world, &phone).await;
    assert_eq!((again.stored, again.bytes_fetched), (0, 0));
    assert_eq!(world.camera.novatek_recording(), (true, 2, 2));
}

#[tokio::test]
async fn a_file_still_being_recorded_is_not_taken() {
    let world = novatek_camera(true).await;
    world.camera.novatek_start_growing_file();
    let phone = world.phone().await;
    let report = stream(&world, &phone).await;
    let files = world.camera.card().len();
    // Listed, but its size changed between the two looks: left on the camera, not refused.
    assert_eq!((report.listed, report.stored), (files + 1, files));
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_phone_holds_the_card(&phone, &world).await;
}

#[tokio::test]
async fn a_dropped_download_resumes_with_range() {
    let world = novatek_camera(true).await;
    world.camera.inject(Fault::DropAfterBytes { bytes: 100_000, times: 3 });
    let phone = world.phone().await;
    let report = stream(&world, &phone).await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_phone_holds_the_card(&phone, &world).await;
    let sizes: u64 = world.camera.card().iter().map(|(i, _, _)| i.size).sum();
    assert_eq!(report.bytes_fetched, sizes, "no byte before a drop was fetched again");
    assert_eq!(world.camera.served_total_bytes(), sizes);
}

#[tokio::test]
async fn without_range_a_dropped_download_restarts_cleanly() {
    let world = novatek_camera(false).await;
    world.camera.inject(Fault::DropAfterBytes { bytes: 100_000, times: 2 });
    let phone = world.phone().await;
    let report = stream(&world, &phone).await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_phone_holds_the_card(&phone, &world).await;
    let sizes: u64 = world.camera.card().iter().map(|(i, _, _)| i.size).sum();
    // The two cut prefixes were fetched again from byte 0, and nothing else.
    assert_eq!(world.camera.served_total_bytes(), sizes + 2 * 100_000);
}

#[tokio::test]
async fn an_unknown_camera_is_told_with_every_probe_tried() {
    // Something that answers HTTP but speaks none of the dialects: the Dashkeep simcam's
    // `/sim` port is not it, so use a Novatek camera's port with a path prefix nobody serves.
    let world = novatek_camera(true).await;
    let err = probe::probe(&format!("{}/elsewhere", world.camera.base_url()))
        .await
        .expect_err("nothing there speaks a known protocol");
    let text = err.to_string();
    for dialect in ["dashkeep", "blackvue-1009", "blackvue-legacy", "novatek"] {
        assert!(text.contains(dialect), "{dialect} missing from: {text}");
    }
    assert_eq!(err.tried.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_files_the_camera_locked_become_one_incident_clip() {
    let world = novatek_camera(true).await;
    let phone = world.phone().await;
    let mut events = phone.subscribe();
    let report = stream(&world, &phone).await;
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    settle(&phone).await;
    // The apps hear of it as it happens, like an incident of the phone's own detector.
    let mut heard = Vec::new();
    loop {
        use tokio::sync::broadcast::error::TryRecvError;
        match events.try_recv() {
            Ok(dashkeep_core::CompanionEvent::IncidentDetected(incident)) => {
                heard.push((incident.kind, incident.source));
            }
            Ok(_) | Err(TryRecvError::Lagged(_)) => {}
            Err(_) => break,
        }
    }
    assert_eq!(heard, [("camera_locked".to_string(), "camera".to_string())]);

    // The camera locked the second drive's first two files (its G-sensor felt the hard brake):
    // one incident of the camera, one clip over both files, cut from the phone's copies.
    let mut locked: Vec<_> = world.camera.card().into_iter().filter(|(i, _, _)| i.locked).collect();
    locked.sort_by_key(|(i, _, _)| i.start_ms);
    assert_eq!(locked.len(), 2);
    let span = (locked[0].0.start_ms, locked[1].0.start_ms + locked[1].0.duration_ms);
    let (clip, t) = common::assert_one_camera_clip(&phone, span).await;

    // The camera embedded its GPS in each file (Novatek `gps `/`freeGPS` records): the clip's
    // sidecar carries the fixes of its window, where the camera recorded them.
    let recorded: Vec<(i64, dashkeep_core::protocol::GpsFix)> = locked
        .iter()
        .flat_map(|(info, _, telemetry)| {
            let tel: dashkeep_core::protocol::Telemetry =
                serde_json::from_slice(&std::fs::read(telemetry).expect("card")).expect("json");
            tel.gps.into_iter().map(move |g| (info.start_ms + i64::from(g.t_ms), g))
        })
        .collect();
    common::assert_clip_gps_recorded(&clip, &t, &recorded);
    assert_eq!(report.gps_records_skipped, 0);

    // Streaming again finds nothing new: no second incident, no second clip.
    stream(&world, &phone).await;
    settle(&phone).await;
    assert_eq!(phone.incidents(10).await.expect("incidents").len(), 1);
    assert_eq!(phone.clips().await.expect("clips").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detector_and_the_camera_lock_in_one_moment_make_one_clip() {
    let scenario = Scenario::from_toml_str(common::BRAKE).expect("scenario");
    let world = common::vendor_world(scenario, dashkeep_simcam::Dialect::Novatek).await;
    let phone = world.phone().await;
    stream(&world, &phone).await;
    settle(&phone).await;
    let clips = phone.clips().await.expect("clips");
    assert_eq!(clips.len(), 1, "{clips:?}");
    let locked = clips[0].clone();
    assert_eq!((locked.reason, locked.state), (ClipReason::CameraLocked, ClipState::Ready));

    // The phone's own sensors felt the same hard brake: the detector's incident is recorded,
    // and it is the moment the camera locked, so it is the camera's clip, not a second one.
    for batch in phone_imu_from_card(&world, |a| a).chunks(500) {
        phone.push_motion_samples(batch.to_vec()).await.expect("push");
    }
    settle(&phone).await;
    let (_, clip) = common::assert_brake_and_camera_incident_are_one_clip(&phone).await;
    assert_eq!(clip, locked, "the cut clip is unchanged");
}

/// The real Novatek driver, except that the camera refuses (403) every download after the
/// first `allowed`: a failure that stops the pass while the file before is being stored.
struct RefusesAfter {
    inner: Box<dyn CameraDriver>,
    allowed: AtomicUsize,
}

#[async_trait::async_trait]
impl CameraDriver for RefusesAfter {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }
    fn base_url(&self) -> &str {
        self.inner.base_url()
    }
    async fn identify(&self) -> Result<CameraIdentity, DriverError> {
        self.inner.identify().await
    }
    async fn list(&self) -> Result<Listing, DriverError> {
        self.inner.list().await
    }
    async fn download(
        &self,
        file: &CameraFile,
        offset: u64,
    ) -> Result<Option<FileDownload>, DriverError> {
        let left = self.allowed.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1));
        if left.is_err() {
            return Err(NovatekError::Status(403).into());
        }
        self.inner.download(file, offset).await
    }
    async fn telemetry(&self, file: &CameraFile) -> Result<Option<bytes::Bytes>, DriverError> {
        self.inner.telemetry(file).await
    }
    async fn free_space(&self) -> Result<Option<u64>, DriverError> {
        self.inner.free_space().await
    }
    fn records_nothing(&self) -> bool {
        self.inner.records_nothing()
    }
    async fn release(&self) -> Result<(), DriverError> {
        self.inner.release().await
    }
}

/// Each file is stored while the next one downloads: when the camera fails the pass on the
/// third download, the two files before it are both on the phone and catalogued, nothing
/// half-written is, and the next pass fetches only the rest.
#[tokio::test]
async fn a_failure_while_the_file_before_is_stored_loses_neither() {
    let world = novatek_camera(true).await;
    let phone = world.phone().await;
    let base = world.camera.base_url();
    let inner = probe::driver_for(Dialect::Novatek, &base).expect("driver");
    let refusing = RefusesAfter { inner, allowed: AtomicUsize::new(2) };
    phone.stream_files_now(&refusing).await.expect_err("the camera refused the third file");

    let mut on_phone = 0;
    for drive in phone.drives().await.expect("drives") {
        for segment in phone.drive_segments(drive.id).await.expect("segments") {
            let path = phone.segment_path(&segment).expect("only stored files are catalogued");
            assert_eq!(std::fs::metadata(path).expect("copy").len(), segment.size_bytes);
            on_phone += 1;
        }
    }
    assert_eq!(on_phone, 2, "both files downloaded before the failure are stored");
    let violations = invariants::check(&world.data_dir(), &Expect::default());
    assert!(violations.is_empty(), "{violations:#?}");

    let report = stream(&world, &phone).await;
    assert_eq!(report.stored, world.camera.card().len() - 2);
    assert_phone_holds_the_card(&phone, &world).await;
    assert_vouched_for_by_crc64(&world, &phone).await;
}
