//! The invariants every fault campaign checks after every fault and restart, in one place.
//!
//! They read the data directory as it is on disk (the catalog through its own SQLite file, the
//! videos directory, `tmp/`) and, when a cloud is used, the account's objects. Each violated rule
//! is returned as a sentence; an empty list means the phone is sound.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dashkeep_core::storage::{ContentHash, HashAlgorithm};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

/// What the campaign knows beyond the data directory.
#[derive(Debug, Default, Clone)]
pub struct Expect {
    /// The account's objects' keys (`accounts/<a>/clips/<key>.mp4|.json`), when a cloud is used.
    pub cloud_objects: Option<Vec<String>>,
    /// Cloud keys of clips the user deleted for good (they must never come back).
    pub deleted_cloud_keys: BTreeSet<String>,
    /// Catalog ids of clips the user deleted, pending ones included: they stay deleted (a
    /// cancelled clip is never cut later).
    pub deleted_clips: BTreeSet<i64>,
    /// Bytes Dashkeep may hold on the phone (its quota), when the campaign sets one.
    pub quota_bytes: Option<u64>,
}

/// Residency exits the loop recorders and the user's own choices allow.
const ALLOWED_EXITS: &[&str] =
    &["evicted", "removed_by_user", "camera_loop_recording", "deleted_from_camera"];

/// Checks every invariant of the data directory at `root`; returns the violations.
pub fn check(root: &Path, expect: &Expect) -> Vec<String> {
    let mut v = Vec::new();
    let db = root.join("catalog.sqlite");
    let conn = match Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY) {
        Ok(c) => c,
        Err(e) => return vec![format!("catalog {} does not open: {e}", db.display())],
    };
    let sql = |e: rusqlite::Error| format!("catalog query failed: {e}");
    let mut run = |f: &dyn Fn(&Connection, &mut Vec<String>) -> rusqlite::Result<()>| {
        if let Err(e) = f(&conn, &mut v) {
            v.push(sql(e));
        }
    };
    run(&|c, v| catalog_equals_disk(c, root, v));
    run(&|c, v| no_duplicates(c, v));
    run(&|c, v| every_video_somewhere(c, v));
    run(&|c, v| quota_respected(c, expect.quota_bytes, v));
    run(&|c, v| cloud_matches(c, expect, v));
    run(&|c, v| deleted_clips_stay_deleted(c, &expect.deleted_clips, v));
    no_orphan_partial(root, &root.join("tmp"), &mut v);
    v
}

/// The file's digest by the algorithm the catalog names (`sha256`, or `crc64nvme` for a vendor
/// camera's segment, `blake3` before it; the core's digests give the standard answers:
/// `storage::content_hash`).
fn hash_file(path: &Path, algorithm: &str) -> Option<String> {
    let algorithm = HashAlgorithm::parse(algorithm)?;
    ContentHash::of_file(path, algorithm).ok().map(|(_, hash)| hash.hex)
}

/// Every file in `videos/` is named by the catalog, and every named file is there with its size
/// and hash.
fn catalog_equals_disk(c: &Connection, root: &Path, v: &mut Vec<String>) -> rusqlite::Result<()> {
    let videos = root.join("videos");
    // name -> (must exist, size, (algorithm, digest))
    type Named = (bool, Option<i64>, Option<(String, String)>);
    let mut named: BTreeMap<String, Named> = BTreeMap::new();
    let sha256 = |sha: String| ("sha256".to_string(), sha);
    let mut st = c.prepare(
        "SELECT phone_file, phone_state, size_bytes, hash_algorithm, content_hash FROM segments
         WHERE phone_file IS NOT NULL AND phone_state IS NOT NULL",
    )?;
    for row in st.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, (r.get(3)?, r.get(4)?)))
    })? {
        let (name, state, size, hash) = row?;
        named.insert(name, (state == "present", Some(size), Some(hash)));
    }
    let mut st = c.prepare(
        "SELECT t.phone_file, t.size_bytes, s.telemetry_sha256 FROM telemetry t
         JOIN segments s ON s.id = t.segment_id",
    )?;
    for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))? {
        let (name, size, sha) = row?;
        named.insert(name, (true, Some(size), Some(sha256(sha))));
    }
    let mut st = c.prepare(
        "SELECT phone_file, size_bytes, sha256, state, telemetry_file, telemetry_bytes FROM clips
         WHERE phone_file IS NOT NULL",
    )?;
    for row in st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })? {
        let (name, size, sha, state, telemetry, telemetry_size) = row?;
        let ready = state == "ready";
        named.insert(name, (ready, size, sha.map(sha256)));
        // The clip's telemetry sidecar (its size is counted, not hashed, by the catalog).
        if let Some(t) = telemetry {
            named.insert(t, (ready, Some(telemetry_size), None));
        }
    }
    for (name, (must, size, hash)) in &named {
        let path = videos.join(name);
        let Ok(meta) = std::fs::metadata(&path) else {
            if *must {
                v.push(format!("catalog names {name} but it is not on disk"));
            }
            continue;
        };
        if let Some(size) = size
            && meta.len() != *size as u64
        {
            v.push(format!("{name} is {} bytes on disk, {size} in the catalog", meta.len()));
        } else if let Some((algorithm, digest)) = hash
            && hash_file(&path, algorithm).as_deref() != Some(digest.as_str())
        {
            v.push(format!("{name} does not hash to the catalog's {algorithm}"));
        }
    }
    for entry in std::fs::read_dir(&videos).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !named.contains_key(&name) {
            v.push(format!("videos/{name} is on disk but the catalog does not name it"));
        }
    }
    Ok(())
}

/// A partial file (`*.part`, `*.tmp`) anywhere but `tmp/` is an orphan.
fn no_orphan_partial(dir: &Path, tmp: &Path, v: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path == tmp {
            continue;
        }
        if path.is_dir() {
            no_orphan_partial(&path, tmp, v);
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".part") || name.ends_with(".tmp") || name.contains(".tmp.") {
            v.push(format!("orphan partial file outside tmp/: {}", path.display()));
        }
    }
}

fn count_rows(c: &Connection, sql: &str, what: &str, v: &mut Vec<String>) -> rusqlite::Result<()> {
    let n: i64 = c.query_row(sql, [], |r| r.get(0))?;
    if n > 0 {
        v.push(format!("{n} {what}"));
    }
    Ok(())
}

/// No segment twice, no phone file named twice, no two clips of one moment (same drive and
/// window, whatever their reasons: the user asking twice, or the user and the detector, get one
/// clip), no cloud key twice.
fn no_duplicates(c: &Connection, v: &mut Vec<String>) -> rusqlite::Result<()> {
    count_rows(
        c,
        "SELECT COUNT(*) FROM (SELECT 1 FROM segments GROUP BY camera_id, camera_segment_id
         HAVING COUNT(*) > 1)",
        "duplicate segments",
        v,
    )?;
    count_rows(
        c,
        "SELECT COUNT(*) FROM (SELECT 1 FROM segments WHERE phone_file IS NOT NULL
         GROUP BY phone_file HAVING COUNT(*) > 1)",
        "phone files named by two segments",
        v,
    )?;
    let mut st = c.prepare(
        "SELECT GROUP_CONCAT(DISTINCT reason), start_ms, end_ms,
             GROUP_CONCAT(id || ':' || state) FROM clips
         WHERE state <> 'deleted'
         GROUP BY drive_id, start_ms, end_ms
         HAVING COUNT(*) > 1",
    )?;
    for row in st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
        ))
    })? {
        let (reason, from, to, ids) = row?;
        v.push(format!(
            "duplicate clips (same drive and window): {reason} {from}..{to}, ids {ids}"
        ));
    }
    count_rows(
        c,
        "SELECT COUNT(*) FROM (SELECT 1 FROM clips WHERE cloud_key IS NOT NULL
         GROUP BY cloud_key HAVING COUNT(*) > 1)",
        "cloud keys held by two clips",
        v,
    )
}

/// Every segment is on the camera, the phone or in the cloud, unless a loop recorder's rules
/// (or the user) let it go; the phone's copy and its residency agree.
fn every_video_somewhere(c: &Connection, v: &mut Vec<String>) -> rusqlite::Result<()> {
    let mut st = c.prepare(
        "SELECT s.camera_segment_id,
            (SELECT COUNT(*) FROM residencies r WHERE r.segment_id = s.id AND r.left_at_ms IS NULL),
            (SELECT COUNT(*) FROM residencies r WHERE r.segment_id = s.id AND r.left_at_ms IS NOT NULL
                AND COALESCE(r.left_reason, '') NOT IN ('evicted', 'removed_by_user',
                    'camera_loop_recording', 'deleted_from_camera')),
            (SELECT COUNT(*) FROM residencies r WHERE r.segment_id = s.id AND r.place = 'phone'
                AND r.left_at_ms IS NULL),
            s.phone_state
         FROM segments s",
    )?;
    for row in st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })? {
        let (id, open, bad_exits, on_phone, state) = row?;
        if bad_exits > 0 {
            v.push(format!("segment {id} left a place for a reason outside {ALLOWED_EXITS:?}"));
        }
        if open == 0 && bad_exits > 0 {
            v.push(format!("segment {id} is nowhere and no loop recorder let it go"));
        }
        if (on_phone > 0) != state.is_some() {
            v.push(format!("segment {id}: phone residency and phone copy disagree"));
        }
    }
    Ok(())
}

/// The usage the catalog keeps equals the files it names, and stays within the quota.
fn quota_respected(
    c: &Connection,
    quota: Option<u64>,
    v: &mut Vec<String>,
) -> rusqlite::Result<()> {
    let (seg, tel, clip): (i64, i64, i64) = c.query_row(
        "SELECT segment_bytes, telemetry_bytes, clip_bytes FROM phone_usage WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let counted: i64 = c.query_row(
        "SELECT (SELECT COALESCE(SUM(size_bytes), 0) FROM segments WHERE phone_state IS NOT NULL)
              + (SELECT COALESCE(SUM(size_bytes), 0) FROM telemetry)
              + (SELECT COALESCE(SUM(size_bytes), 0) FROM clips WHERE phone_file IS NOT NULL)
              + (SELECT COALESCE(SUM(telemetry_bytes), 0) FROM clips
                 WHERE telemetry_file IS NOT NULL)",
        [],
        |r| r.get(0),
    )?;
    let total = seg + tel + clip;
    if total != counted {
        v.push(format!("usage says {total} bytes, the catalog's files add up to {counted}"));
    }
    if let Some(q) = quota
        && total as u64 > q
    {
        v.push(format!("the phone holds {total} bytes, over its quota of {q}"));
    }
    Ok(())
}

/// A clip the user deleted (cut or not yet) stays deleted: never cut later, never back.
fn deleted_clips_stay_deleted(
    c: &Connection,
    deleted: &BTreeSet<i64>,
    v: &mut Vec<String>,
) -> rusqlite::Result<()> {
    let mut st = c.prepare("SELECT state FROM clips WHERE id = ?1")?;
    for id in deleted {
        let state: Option<String> = st.query_row([id], |r| r.get(0)).optional()?;
        if let Some(state) = state.filter(|s| s != "deleted") {
            v.push(format!("clip {id} was deleted by the user but is {state} again"));
        }
    }
    Ok(())
}

/// The cloud key of an object of the account, if it is a clip or its sidecar.
fn object_stem(key: &str) -> Option<String> {
    let name = key.rsplit('/').next()?;
    let stem = name.strip_suffix(".mp4").or_else(|| name.strip_suffix(".json"))?;
    Some(stem.to_string())
}

/// Every cloud residency has its object; every object has its clip row or a tombstone; a
/// deleted clip never comes back.
fn cloud_matches(c: &Connection, expect: &Expect, v: &mut Vec<String>) -> rusqlite::Result<()> {
    let mut keys_with_rows = BTreeSet::new();
    let mut st = c.prepare("SELECT cloud_key FROM clips WHERE cloud_key IS NOT NULL")?;
    for k in st.query_map([], |r| r.get::<_, String>(0))? {
        keys_with_rows.insert(k?);
    }
    // key -> whether the tombstone was applied (the object deleted)
    let mut tombstones = BTreeMap::new();
    let mut st = c.prepare("SELECT cloud_key, applied_at_ms IS NOT NULL FROM cloud_tombstones")?;
    for k in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))? {
        let (k, applied) = k?;
        tombstones.insert(k, applied);
    }
    let mut st =
        c.prepare("SELECT c.cloud_key, c.state FROM clips c WHERE c.cloud_key IS NOT NULL")?;
    for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (key, state) = row?;
        if expect.deleted_cloud_keys.contains(&key) && state != "deleted" {
            v.push(format!("deleted clip {key} came back ({state})"));
        }
    }
    let Some(objects) = &expect.cloud_objects else { return Ok(()) };
    let mp4: BTreeSet<String> =
        objects.iter().filter(|k| k.ends_with(".mp4")).filter_map(|k| object_stem(k)).collect();
    let mut st = c.prepare(
        "SELECT c.cloud_key FROM residencies r JOIN clips c ON c.id = r.clip_id
         WHERE r.place = 'cloud' AND r.left_at_ms IS NULL",
    )?;
    for k in st.query_map([], |r| r.get::<_, Option<String>>(0))? {
        match k? {
            Some(k) if !mp4.contains(&k) => {
                v.push(format!("clip {k} has a cloud residency but no object"));
            }
            None => v.push("a clip with a cloud residency has no cloud key".into()),
            Some(_) => {}
        }
    }
    for key in objects {
        let Some(stem) = object_stem(key) else { continue };
        let tombstone = tombstones.get(&stem);
        if !keys_with_rows.contains(&stem) && tombstone.is_none() {
            v.push(format!("object {key} has no clip row and no tombstone"));
        }
        // A deletion not yet applied (offline, or killed mid-way) still holds its object.
        if expect.deleted_cloud_keys.contains(&stem) && tombstone != Some(&false) {
            v.push(format!("deleted clip's object {key} is in the cloud with no pending delete"));
        }
    }
    Ok(())
}

/// Files under `dir`, recursively (for reports).
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_below(&p));
        } else {
            out.push(p);
        }
    }
    out
}
