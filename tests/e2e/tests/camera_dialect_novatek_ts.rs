//! A Novatek camera that records MPEG-TS (`.TS`, as some models do), simulated over real
//! loopback sockets: its files stream into a real data directory (SQLite catalog, each file
//! read structurally by the TS reader before the catalog names it, then by ffprobe), the files
//! it locked become an incident clip cut from the TS copies into an MP4 without re-encoding
//! (checked by ffprobe and ffmpeg: exact length, video and audio, no decode error), and a
//! corrupt TS on the card is refused with nothing catalogued.

mod common;

use std::path::Path;
use std::process::Command;

use common::{World, probe_duration, settle};
use dashkeep_core::camera::probe::{self, Dialect};
use dashkeep_core::catalog::{ClipReason, ClipState};
use dashkeep_core::ingest::{IngestError, IngestReport};
use dashkeep_core::{Companion, CompanionConfig};
use dashkeep_simcam::{Scenario, SimConfig, novatek};

/// One frame of the fixture (30 fps).
const FRAME_S: f64 = 1.0 / 30.0;

/// Two drives of three 10 s `.TS` files each, a minute apart; the second drive's first two
/// files are locked (a hard brake), so the camera keeps them in its `RO` folder.
async fn ts_camera() -> World {
    common::world_with(Scenario::multi_drive(2, 30, 10), |c| SimConfig {
        instant: true,
        speed: 600.0,
        dialect: dashkeep_simcam::Dialect::Novatek,
        novatek_ts: true,
        ..c
    })
    .await
}

/// The phone, cutting clips exactly at their window (an edit list).
async fn exact_phone(world: &World) -> std::sync::Arc<Companion> {
    let config = CompanionConfig { exact_clips: true, ..world.phone_config() };
    Companion::open(config).await.expect("companion opens")
}

async fn stream(world: &World, phone: &Companion) -> IngestReport {
    let url = world.camera.base_url();
    assert_eq!(probe::probe(&url).await.expect("probe"), Dialect::Novatek);
    let driver = probe::driver_for(Dialect::Novatek, &url).expect("driver");
    phone.stream_files_now(driver.as_ref()).await.expect("stream the card")
}

fn ffprobe(path: &Path, entries: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", entries, "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe must be installed (scripts/test-all installs ffmpeg)");
    assert!(out.status.success(), "ffprobe: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `codec_name,codec_type` of each stream, once each (a TS lists them in its program too).
fn streams(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for l in ffprobe(path, "stream=codec_type,codec_name").lines().filter(|l| !l.is_empty()) {
        if !v.iter().any(|x| x == l) {
            v.push(l.to_owned());
        }
    }
    v
}

fn decode_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg must be installed (scripts/test-all installs it)");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ts_files_stream_and_the_locked_ones_become_an_exact_mp4_clip() {
    let world = ts_camera().await;
    let phone = exact_phone(&world).await;
    let report = stream(&world, &phone).await;
    let card = world.camera.card();
    assert_eq!(card.len(), 6);
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!((report.listed, report.stored), (6, 6));

    // Every file is on the phone under its Novatek `.TS` name, byte-identical, read by ffprobe
    // as MPEG-TS with H.264 and AAC, catalogued with the 10 s its time stamps say.
    let drives = phone.drives().await.expect("drives");
    assert_eq!(drives.len(), 2);
    let mut on_phone = 0;
    for drive in drives {
        for segment in phone.drive_segments(drive.id).await.expect("segments") {
            let path = phone.segment_path(&segment).expect("a phone copy");
            let (_, video, _) = card
                .iter()
                .find(|(i, _, _)| {
                    novatek::file_name_for(i, true).replace('.', "_") == segment.camera_segment_id
                })
                .unwrap_or_else(|| panic!("{} is not on the card", segment.camera_segment_id));
            assert!(segment.camera_segment_id.ends_with("_TS"), "{}", segment.camera_segment_id);
            assert!(
                std::fs::read(&path).expect("phone copy") == std::fs::read(video).expect("card"),
                "{} differs from the camera's file",
                segment.camera_segment_id
            );
            assert_eq!(ffprobe(&path, "format=format_name").trim(), "mpegts");
            assert_eq!(streams(&path), ["h264,video", "aac,audio"], "{}", path.display());
            assert_eq!(segment.duration_ms, 10_000, "{}", segment.camera_segment_id);
            if on_phone == 0 {
                assert_eq!(decode_errors(&path), "", "the camera's TS decodes cleanly");
            }
            on_phone += 1;
        }
    }
    assert_eq!(on_phone, 6);

    // The camera locked the second drive's first two files: one incident, one clip over both,
    // cut from the two TS files into an MP4 (across their boundary), exactly as long as asked.
    settle(&phone).await;
    let mut locked: Vec<_> = card.iter().filter(|(i, _, _)| i.locked).collect();
    locked.sort_by_key(|(i, _, _)| i.start_ms);
    assert_eq!(locked.len(), 2);
    let span = (locked[0].0.start_ms, locked[1].0.start_ms + locked[1].0.duration_ms);
    let clips = phone.clips().await.expect("clips");
    assert_eq!(clips.len(), 1, "{clips:?}");
    let clip = &clips[0];
    assert_eq!((clip.reason, clip.state), (ClipReason::CameraLocked, ClipState::Ready));
    assert_eq!((clip.start_ms, clip.end_ms), span, "{clip:?}");
    let path = phone.clip_path(clip).expect("on the phone");
    assert!(ffprobe(&path, "format=format_name").contains("mp4"), "{}", path.display());
    assert_eq!(streams(&path), ["h264,video", "aac,audio"]);
    let asked = (span.1 - span.0) as f64 / 1000.0;
    let seconds = probe_duration(&path);
    assert!((seconds - asked).abs() <= 2.0 * FRAME_S + 1e-3, "{seconds} s for {asked} s");
    assert_eq!(decode_errors(&path), "", "the clip decodes cleanly");
}

#[tokio::test]
async fn a_corrupt_ts_on_the_card_is_refused_and_nothing_of_it_is_catalogued() {
    let world = ts_camera().await;
    let mut card = world.camera.card();
    card.sort_by_key(|(i, _, _)| i.seq);
    // The card's second file: a run of packets in the middle zeroed (a bad SD card sector),
    // its size unchanged, so only its structure can tell.
    let (bad, path, _) = card[1].clone();
    let mut bytes = std::fs::read(&path).expect("card file");
    let mid = bytes.len() / 2 / 188 * 188;
    bytes[mid..mid + 4 * 188].fill(0);
    std::fs::write(&path, &bytes).expect("corrupt the card");

    let phone = exact_phone(&world).await;
    let report = stream(&world, &phone).await;
    let name = novatek::file_name_for(&bad, true);
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    match &report.refused[0] {
        IngestError::NotAVideo { file, reason } => {
            assert_eq!(file, &name);
            assert!(reason.contains("MPEG-TS") && reason.contains("lost sync"), "{reason}");
        }
        other => panic!("refused for another reason: {other}"),
    }
    assert_eq!(report.stored, 5);
    // The catalog names the five good files and not the corrupt one; no partial file is left.
    let mut ids = Vec::new();
    for drive in phone.drives().await.expect("drives") {
        for segment in phone.drive_segments(drive.id).await.expect("segments") {
            ids.push(segment.camera_segment_id);
        }
    }
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(!ids.contains(&name.replace('.', "_")), "{ids:?}");
    let stray: Vec<_> = common::files_below(&world.data_dir())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(&name.replace('.', "_")))
        .collect();
    assert!(stray.is_empty(), "left behind: {stray:?}");
}
