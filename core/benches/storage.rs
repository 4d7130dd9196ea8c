//! Storage benchmark: a catalog holding a year of driving (100,000 one-minute segments in 4,000
//! drives, of which the newest 1,000 are on the phone, and 2,000 clips, half of them uploaded).
//! Times `Companion::open`, one loop-recorder decision (with its deletes) per incoming segment,
//! reported apart for decisions that found room already made and, per segment evicted, for those
//! that evicted, `storage_status()` and the at-risk list. Goals: open < 200 ms, decision < 1 ms median,
//! status < 5 ms.
//!
//! The files the loop recorder deletes are of real size (a 60 MB segment and its 200 KB
//! telemetry, their blocks allocated with fallocate), since most of a deletion's cost is the
//! file system freeing them; the other phone files are one byte (only their names matter).
//! Every figure is printed beside a reference measured in the same run: the same SQLite file
//! opened and queried by rusqlite alone, and `unlink` of files of the same size.
//!
//! Run: `cargo bench -p dashkeep-core --bench storage`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashkeep_core::catalog::{CameraId, Catalog, PhoneFile, TelemetryFile};
use dashkeep_core::protocol::{Channel, SegmentInfo};
use dashkeep_core::storage::{
    DataLayout, LoopRecorder, SafetyFloor, StorageError, StorageProbe, VolumeSpace,
};
use dashkeep_core::{Companion, CompanionConfig};
use rusqlite::{Connection, params};

const SEGMENTS: i64 = 100_000;
const PER_DRIVE: i64 = 25;
const ON_PHONE: i64 = 1_000;
const ON_CAMERA: i64 = 500;
const CLIPS: i64 = 2_000;
const SEGMENT_BYTES: i64 = 60_000_000;
const TELEMETRY_BYTES: i64 = 200_000;
const START_MS: i64 = 1_764_000_000_000;
/// Incoming segments timed, each evicting (about) one old segment.
const INCOMING: i64 = 100;
/// The oldest phone segments, which the timed decisions evict, are real-size files.
const REAL_SIZE: i64 = INCOMING + 20;

/// A phone whose volume is exactly twice what Dashkeep holds at the start: the default 50% quota
/// is full, so every incoming segment needs the loop recorder.
struct FullPhone(u64);

impl StorageProbe for FullPhone {
    fn volume_space(&self, _: &Path) -> Result<VolumeSpace, StorageError> {
        Ok(VolumeSpace { total_bytes: self.0, available_bytes: self.0 / 2 })
    }
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("phone");
    let owned = populate(&data).await;
    println!("storage benchmark: {SEGMENTS} segments, {ON_PHONE} on the phone, {CLIPS} clips\n");

    let config = || CompanionConfig {
        probe: Arc::new(FullPhone(owned * 2)),
        safety_floor: SafetyFloor { min_bytes: 0, fraction: 0.0 },
        ..CompanionConfig::new(&data)
    };
    let opens = time_n(7, || async {
        let c = Companion::open(config()).await.expect("open");
        drop(c);
    })
    .await;
    report("Companion::open", &opens, 200.0);
    let raw_opens = time_n(7, || async {
        let conn = Connection::open(DataLayout::new(&data).catalog_path()).expect("open");
        usage(&conn);
    })
    .await;
    report("  reference: rusqlite open+usage", &raw_opens, f64::NAN);

    let companion = Companion::open(config()).await.expect("open");
    let status = time_n(200, || async {
        companion.storage_status().await.expect("status");
    })
    .await;
    report("storage_status()", &status, 5.0);
    let conn = Connection::open(DataLayout::new(&data).catalog_path()).expect("open");
    let raw_status = time_n(200, || async {
        usage(&conn);
    })
    .await;
    drop(conn);
    report("  reference: SELECT phone_usage", &raw_status, f64::NAN);
    let risk = time_n(20, || async {
        companion.at_risk(5.0).await.expect("at risk");
    })
    .await;
    report("at_risk(5 h)", &risk, f64::NAN);
    drop(companion);

    // The recorder frees a hysteresis (1 GiB) beyond what is needed, so most incoming segments
    // find room already made: those decisions and the evicting ones are reported apart.
    let decisions = eviction_decisions(&data, owned).await;
    let idle: Vec<Duration> = decisions.iter().filter(|(_, n)| *n == 0).map(|(d, _)| *d).collect();
    let per_victim: Vec<Duration> =
        decisions.iter().filter(|(_, n)| *n > 0).map(|(d, n)| *d / *n as u32).collect();
    let evicted: usize = decisions.iter().map(|(_, n)| n).sum();
    report("make_room, room already made", &idle, 1.0);
    report("make_room, per segment evicted", &per_victim, f64::NAN);
    report("  reference: unlink 60 MB + 200 KB", &unlinks(dir.path(), 40), f64::NAN);
    println!(
        "  ({evicted} real-size segments evicted by {} of {} decisions)",
        per_victim.len(),
        decisions.len()
    );
}

/// The phone's usage, straight from SQLite: the reference for `open` and `storage_status`.
fn usage(conn: &Connection) -> i64 {
    conn.query_row(
        "SELECT segment_bytes + telemetry_bytes + clip_bytes FROM phone_usage",
        [],
        |r| r.get(0),
    )
    .expect("usage")
}

/// A file of `len` bytes with its blocks allocated (as a written file has), quickly.
fn real_file(path: &Path, len: i64) {
    let file = std::fs::File::create(path).expect("create");
    let len = u64::try_from(len).expect("positive");
    rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, len).expect("fallocate");
}

/// The reference for an eviction: unlinking a segment-size and a telemetry-size file.
fn unlinks(dir: &Path, n: usize) -> Vec<Duration> {
    let dir = dir.join("unlink-reference");
    std::fs::create_dir_all(&dir).expect("dir");
    (0..n)
        .map(|i| {
            let (v, t) = (dir.join(format!("{i}.mp4")), dir.join(format!("{i}.json")));
            real_file(&v, SEGMENT_BYTES);
            real_file(&t, TELEMETRY_BYTES);
            let start = Instant::now();
            std::fs::remove_file(&v).expect("unlink");
            std::fs::remove_file(&t).expect("unlink");
            start.elapsed()
        })
        .collect()
}

/// Evicts for INCOMING incoming segments, storing each (untimed) as ingest would.
/// Each incoming segment's `make_room`: its time and how many segments it evicted.
async fn eviction_decisions(data: &Path, owned: u64) -> Vec<(Duration, usize)> {
    let layout = DataLayout::new(data);
    let catalog = Catalog::open(&layout.catalog_path()).await.expect("catalog");
    let recorder = LoopRecorder::open(
        catalog.clone(),
        layout.clone(),
        Arc::new(FullPhone(owned * 2)),
        SafetyFloor { min_bytes: 0, fraction: 0.0 },
        Arc::new(|_| {}),
    )
    .await
    .expect("recorder");
    let camera = catalog.cameras().await.expect("cameras")[0].id;
    let mut decisions = Vec::new();
    for i in 0..INCOMING {
        let seq = SEGMENTS + 1 + i;
        let start = START_MS + seq * 60_000;
        let t = Instant::now();
        let out = recorder
            .make_room((SEGMENT_BYTES + TELEMETRY_BYTES) as u64, Some(start), &[])
            .await
            .expect("room");
        decisions.push((t.elapsed(), out.len()));
        store(&catalog, &layout, camera, seq, start).await;
    }
    decisions
}

async fn store(catalog: &Catalog, layout: &DataLayout, camera: CameraId, seq: i64, start: i64) {
    let info = SegmentInfo {
        id: format!("N{seq}"),
        drive_id: "DNEW".into(),
        seq: seq as u64,
        index_in_drive: u32::try_from(seq - SEGMENTS).expect("small"),
        start_ms: start,
        duration_ms: 60_000,
        size: SEGMENT_BYTES as u64,
        sha256: "a".repeat(64),
        locked: false,
        telemetry_size: TELEMETRY_BYTES as u64,
        telemetry_sha256: "b".repeat(64),
        channel: Channel::Front,
    };
    catalog.note_camera_segments(camera, vec![info.clone()]).await.expect("note");
    let rec =
        catalog.segment_by_camera_id(camera, info.id.clone()).await.expect("get").expect("row");
    let name = DataLayout::segment_file_name(camera, &info.id);
    let tname = DataLayout::telemetry_file_name(camera, &info.id);
    std::fs::write(layout.video_path(&name), b"v").expect("file");
    std::fs::write(layout.video_path(&tname), b"t").expect("file");
    let tele = TelemetryFile {
        name: tname,
        size_bytes: TELEMETRY_BYTES as u64,
        accel_samples: 6000,
        gps_fixes: 60,
    };
    catalog.record_phone_copy(rec.id, PhoneFile { name }, tele).await.expect("record");
}

/// Writes the year of driving straight into SQLite (one transaction) and creates the phone's
/// files (real size for the oldest, which get evicted; one byte for the others). Returns the
/// bytes on the phone.
async fn populate(data: &Path) -> u64 {
    drop(Companion::open(CompanionConfig::new(data)).await.expect("create"));
    let layout = DataLayout::new(data);
    let mut conn = Connection::open(layout.catalog_path()).expect("sqlite");
    let tx = conn.transaction().expect("tx");
    tx.execute(
        "INSERT INTO cameras (serial, model, firmware, base_url, sd_capacity_bytes, sd_used_bytes,
                              last_seen_ms)
         VALUES ('SN1', 'Bench', '1', 'http://127.0.0.1:1', ?1, ?2, ?3)",
        params![64_i64 << 30, ON_CAMERA * SEGMENT_BYTES, START_MS],
    )
    .expect("camera");
    for d in 0..SEGMENTS / PER_DRIVE {
        let start = START_MS + d * PER_DRIVE * 60_000;
        tx.execute(
            "INSERT INTO drives (id, camera_id, camera_drive_id, started_at_ms, ended_at_ms)
             VALUES (?1, 1, ?2, ?3, ?4)",
            params![d + 1, format!("D{d:05}"), start, start + PER_DRIVE * 60_000],
        )
        .expect("drive");
    }
    for s in 0..SEGMENTS {
        insert_segment(&tx, &layout, s);
    }
    for c in 0..CLIPS {
        insert_clip(&tx, &layout, c);
    }
    tx.commit().expect("commit");
    u64::try_from(usage(&conn)).expect("positive")
}

fn insert_segment(tx: &rusqlite::Transaction<'_>, layout: &DataLayout, s: i64) {
    let start = START_MS + s * 60_000;
    let on_phone = s >= SEGMENTS - ON_PHONE;
    let id = format!("D{:05}_S{:02}", s / PER_DRIVE, s % PER_DRIVE);
    let file = on_phone.then(|| DataLayout::segment_file_name(CameraId(1), &id));
    tx.execute(
        "INSERT INTO segments (id, camera_id, drive_id, camera_segment_id, camera_seq,
             index_in_drive, started_at_ms, duration_ms, size_bytes, sha256, telemetry_size,
             telemetry_sha256, phone_file, phone_state)
         VALUES (?1, 1, ?2, ?3, ?1, ?4, ?5, 60000, ?6, ?7, ?8, ?7, ?9, ?10)",
        params![
            s + 1,
            s / PER_DRIVE + 1,
            id,
            s % PER_DRIVE,
            start,
            SEGMENT_BYTES,
            "a".repeat(64),
            TELEMETRY_BYTES,
            file,
            on_phone.then_some("present")
        ],
    )
    .expect("segment");
    let camera_left = (s < SEGMENTS - ON_CAMERA).then_some(start + 30 * 86_400_000);
    tx.execute(
        "INSERT INTO residencies (segment_id, place, arrived_at_ms, left_at_ms)
         VALUES (?1, 'camera', ?2, ?3)",
        params![s + 1, start, camera_left],
    )
    .expect("camera residency");
    let phone_left = (!on_phone).then_some(start + 86_400_000);
    tx.execute(
        "INSERT INTO residencies (segment_id, place, arrived_at_ms, left_at_ms, left_reason)
         VALUES (?1, 'phone', ?2, ?3, ?4)",
        params![s + 1, start + 60_000, phone_left, phone_left.map(|_| "evicted")],
    )
    .expect("phone residency");
    if let Some(file) = file {
        let tname = DataLayout::telemetry_file_name(CameraId(1), &id);
        tx.execute(
            "INSERT INTO telemetry (segment_id, phone_file, size_bytes, accel_samples, gps_fixes)
             VALUES (?1, ?2, ?3, 6000, 60)",
            params![s + 1, tname, TELEMETRY_BYTES],
        )
        .expect("telemetry");
        if s < SEGMENTS - ON_PHONE + REAL_SIZE {
            real_file(&layout.video_path(&file), SEGMENT_BYTES);
            real_file(&layout.video_path(&tname), TELEMETRY_BYTES);
        } else {
            std::fs::write(layout.video_path(&file), b"v").expect("file");
            std::fs::write(layout.video_path(&tname), b"t").expect("file");
        }
    }
}

fn insert_clip(tx: &rusqlite::Transaction<'_>, layout: &DataLayout, c: i64) {
    let drive = c * (SEGMENTS / PER_DRIVE) / CLIPS + 1;
    let start = START_MS + (drive - 1) * PER_DRIVE * 60_000 + 120_000;
    let file = format!("clip_{c}.mp4");
    tx.execute(
        "INSERT INTO clips (id, drive_id, reason, start_ms, end_ms, state, phone_file, size_bytes,
                            sha256, created_at_ms)
         VALUES (?1, ?2, 'hard_brake', ?3, ?4, 'ready', ?5, 40000000, ?6, ?3)",
        params![c + 1, drive, start, start + 40_000, file, "c".repeat(64)],
    )
    .expect("clip");
    tx.execute(
        "INSERT INTO residencies (clip_id, place, arrived_at_ms) VALUES (?1, 'phone', ?2)",
        params![c + 1, start],
    )
    .expect("clip residency");
    if c % 2 == 0 {
        tx.execute(
            "INSERT INTO residencies (clip_id, place, arrived_at_ms) VALUES (?1, 'cloud', ?2)",
            params![c + 1, start],
        )
        .expect("cloud residency");
    }
    std::fs::write(layout.video_path(&file), b"c").expect("file");
}

async fn time_n<F, Fut>(n: usize, mut f: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f().await;
        out.push(t.elapsed());
    }
    out
}

fn report(what: &str, times: &[Duration], goal_ms: f64) {
    if times.is_empty() {
        println!("{what:<36} (none)");
        return;
    }
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let pick = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    let goal = if goal_ms.is_nan() { String::new() } else { format!("   goal < {goal_ms} ms") };
    println!(
        "{what:<36} median {:>8.3} ms   p90 {:>8.3} ms   max {:>8.3} ms{goal}",
        pick(0.5),
        pick(0.9),
        pick(1.0)
    );
}
