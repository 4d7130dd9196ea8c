//! Streaming drives from the simulated camera into the phone, over real sockets.

mod common;

use std::time::Duration;

use common::{assert_phone_mirrors_card, camera_with, files_below, recorded_camera};
use dashkeep_core::CompanionEvent;
use dashkeep_core::catalog::Residency;
use dashkeep_core::ingest::{IngestError, IngestEvent};
use dashkeep_core::protocol::ListingError;
use dashkeep_simcam::{Fault, Lie, Scenario};

#[tokio::test]
async fn a_whole_drive_arrives_byte_identical() {
    let world = recorded_camera(2).await;
    let phone = world.phone().await;
    let report = phone.stream_now(&world.camera.base_url()).await.expect("stream now");
    assert_eq!(report.stored, world.camera.card().len());
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_phone_mirrors_card(&phone, &world.camera).await;

    let drives = phone.drives().await.expect("drives");
    assert_eq!(drives.len(), 1);
    assert_eq!(drives[0].residencies, vec![Residency::Camera, Residency::Phone]);
    assert_eq!(
        phone.phone_status().await.expect("status").bytes_on_phone,
        world.camera.card().iter().map(|(i, _, _)| i.size + i.telemetry_size).sum::<u64>()
    );

    // A second pass finds nothing new and fetches nothing.
    let again = phone.stream_now(&world.camera.base_url()).await.expect("stream again");
    assert_eq!((again.stored, again.bytes_fetched), (0, 0));
}

#[tokio::test]
async fn dropped_links_resume_without_fetching_bytes_again() {
    let world = recorded_camera(1).await;
    let first = world.camera.card()[0].0.clone();
    // Three downloads in a row are cut after 100 kB each: the first segment arrives in pieces.
    world.camera.inject(Fault::DropAfterBytes { bytes: 100_000, times: 3 });
    let phone = world.phone().await;
    let report = phone.stream_now(&world.camera.base_url()).await.expect("stream now");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_phone_mirrors_card(&phone, &world.camera).await;
    assert_eq!(
        world.camera.served_video_bytes(&first.id),
        first.size,
        "bytes before each drop are not downloaded again"
    );
    let total: u64 = world.camera.card().iter().map(|(i, _, _)| i.size).sum();
    assert_eq!(report.bytes_fetched, total);
}

#[tokio::test]
async fn a_corrupted_download_is_fetched_again_never_catalogued() {
    let world = recorded_camera(1).await;
    world.camera.inject(Fault::CorruptByte { times: 1 });
    let phone = world.phone().await;
    let mut events = phone.subscribe();
    let report = phone.stream_now(&world.camera.base_url()).await.expect("stream now");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_phone_mirrors_card(&phone, &world.camera).await;
    let served: u64 =
        world.camera.card().iter().map(|(i, _, _)| world.camera.served_video_bytes(&i.id)).sum();
    let sizes: u64 = world.camera.card().iter().map(|(i, _, _)| i.size).sum();
    assert!(served > sizes, "the corrupted segment was downloaded a second time");
    // Each segment was stored exactly once.
    let mut stored = 0;
    while let Ok(e) = events.try_recv() {
        if matches!(e, CompanionEvent::Ingest(IngestEvent::SegmentStored { .. })) {
            stored += 1;
        }
    }
    assert_eq!(stored, world.camera.card().len());
}

#[tokio::test]
async fn a_camera_that_keeps_serving_wrong_bytes_gets_a_typed_error() {
    let world = recorded_camera(1).await;
    world.camera.inject(Fault::Lie(Lie::WrongChecksum));
    let phone = world.phone().await;
    let report = phone.stream_now(&world.camera.base_url()).await.expect("stream now");
    assert!(
        matches!(report.refused.as_slice(), [IngestError::ChecksumMismatch { .. }]),
        "{:?}",
        report.refused
    );
    assert_eq!(report.stored, world.camera.card().len() - 1);
    // Nothing half-done is left: no partial file, and the bad segment is not on the phone.
    let leftovers: Vec<_> = files_below(&world.data_dir().join("tmp"));
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn lying_listings_get_typed_errors_and_write_nothing_outside() {
    for (lie, check) in [
        (
            Lie::PathId,
            (|e: &ListingError| matches!(e, ListingError::BadId(_))) as fn(&ListingError) -> bool,
        ),
        (Lie::AbsurdSize, |e| matches!(e, ListingError::AbsurdSize { .. })),
        (Lie::NegativeDuration, |e| matches!(e, ListingError::BadDuration { .. })),
    ] {
        let world = recorded_camera(1).await;
        world.camera.inject(Fault::Lie(lie));
        let phone = world.phone().await;
        let report = phone.stream_now(&world.camera.base_url()).await.expect("stream now");
        assert!(
            matches!(report.refused.as_slice(), [IngestError::Listing(e)] if check(e)),
            "{lie:?}: {:?}",
            report.refused
        );
        assert_eq!(report.stored, world.camera.card().len() - 1, "{lie:?}");
        // Nothing was written outside the data directory (nor next to it).
        let outside: Vec<_> = files_below(world.dir.path())
            .into_iter()
            .filter(|p| !p.starts_with("phone") && !p.starts_with("sd"))
            .collect();
        assert!(outside.is_empty(), "{lie:?} wrote {outside:?}");
        assert!(!world.dir.path().join("x").exists());
    }
}

#[tokio::test]
async fn automatic_streaming_follows_the_live_feed_and_survives_a_power_cycle() {
    let world = camera_with(Scenario::calm(3).with_segment_secs(10), false, 1 << 30).await;
    let phone = world.phone().await;
    phone.start_streaming(&world.camera.base_url()).await.expect("start");
    common::wait_until(|| async { phone_segments(&phone).await >= 3 }).await;

    world.camera.power_off().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    world.camera.power_on().await.expect("power on");

    world.camera.wait_for_scenario_end().await;
    let expected = world.camera.card().len();
    common::wait_until(|| async { phone_segments(&phone).await >= expected }).await;
    phone.stop_streaming().await;
    assert!(!phone.is_streaming().await);
    assert_phone_mirrors_card(&phone, &world.camera).await;
}

#[tokio::test]
async fn server_errors_are_retried() {
    let world = recorded_camera(1).await;
    world.camera.inject(Fault::Http500 { times: 3 });
    let phone = world.phone().await;
    // The first three requests answer 500; each is retried with backoff.
    let report = phone.stream_now(&world.camera.base_url()).await.expect("stream now");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_phone_mirrors_card(&phone, &world.camera).await;
}

async fn phone_segments(phone: &dashkeep_core::Companion) -> usize {
    phone.drives().await.expect("drives").iter().map(|d| d.segments_on_phone as usize).sum()
}
