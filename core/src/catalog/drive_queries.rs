//! The catalog's side of one drive's page: its segments with where each lives and its telemetry
//! file, its incidents and its clips, read together so the page is one consistent snapshot.

use rusqlite::{Connection, OptionalExtension, params};

use super::clip_queries::{CLIP_SELECT, EVENT_SELECT, clip_from_row, event_from_row};
use super::model::{self, residencies_from_places};
use super::{Catalog, CatalogError};
use crate::catalog::{ClipRecord, DriveId, DriveSummary, EventRecord, Residency, SegmentId};

/// One segment of a drive as its page needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveSegmentRow {
    /// Catalog id.
    pub id: SegmentId,
    /// Position in its drive.
    pub index_in_drive: u32,
    /// When its first frame was recorded (ms since the epoch, camera clock).
    pub started_at_ms: i64,
    /// Duration in ms.
    pub duration_ms: i64,
    /// Size of its video.
    pub size_bytes: u64,
    /// Where it lives now (camera, phone, cloud order); empty once overwritten everywhere.
    pub residencies: Vec<Residency>,
    /// Its telemetry file on the phone (under the videos directory), if the phone holds it.
    pub telemetry_file: Option<String>,
    /// Whether the camera locked it against its own loop recorder.
    pub camera_locked: bool,
}

/// Everything the catalog knows about one drive, read in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct DriveRecord {
    /// The drive's row with its totals.
    pub drive: DriveSummary,
    /// Its serial camera's serial number.
    pub camera_serial: String,
    /// Its segments in recording order.
    pub segments: Vec<DriveSegmentRow>,
    /// Its incidents in time order.
    pub incidents: Vec<EventRecord>,
    /// Its clips (not deleted) in time order.
    pub clips: Vec<ClipRecord>,
}

impl Catalog {
    /// One drive with its segments, incidents and clips, for the drive's page.
    pub async fn drive_record(&self, drive: DriveId) -> Result<DriveRecord, CatalogError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let record = read_drive(&tx, drive)?;
            tx.commit()?;
            Ok(record)
        })
        .await
    }

    /// One incident by id, if it exists.
    pub async fn event(&self, id: i64) -> Result<Option<EventRecord>, CatalogError> {
        self.call(move |c| {
            let mut st = c.prepare_cached(&format!("{EVENT_SELECT} WHERE id = ?1"))?;
            Ok(st.query_row([id], event_from_row).optional()?)
        })
        .await
    }
}

fn read_drive(c: &Connection, drive: DriveId) -> Result<DriveRecord, CatalogError> {
    let summary = model::drive_summaries(c, Some(drive))?
        .pop()
        .ok_or(CatalogError::NotFound { what: "drive", id: drive.0 })?;
    let camera_serial = c.query_row(
        "SELECT c.serial FROM drives d JOIN cameras c ON c.id = d.camera_id WHERE d.id = ?1",
        [drive.0],
        |r| r.get(0),
    )?;
    let mut st = c.prepare_cached(
        "SELECT s.id, s.index_in_drive, s.started_at_ms, s.duration_ms, s.size_bytes,
                (SELECT GROUP_CONCAT(r.place) FROM residencies r
                  WHERE r.segment_id = s.id AND r.left_at_ms IS NULL),
                t.phone_file, s.camera_locked
         FROM timeline_segments s LEFT JOIN telemetry t ON t.segment_id = s.id
         WHERE s.drive_id = ?1 ORDER BY s.index_in_drive",
    )?;
    let segments = st
        .query_map([drive.0], |r| {
            Ok(DriveSegmentRow {
                id: SegmentId(r.get(0)?),
                index_in_drive: r.get(1)?,
                started_at_ms: r.get(2)?,
                duration_ms: r.get(3)?,
                size_bytes: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                residencies: residencies_from_places(r.get(5)?),
                telemetry_file: r.get(6)?,
                camera_locked: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut st = c.prepare_cached(&format!("{EVENT_SELECT} WHERE drive_id = ?1 ORDER BY at_ms"))?;
    let incidents = st.query_map([drive.0], event_from_row)?.collect::<Result<_, _>>()?;
    let mut st = c.prepare_cached(&format!(
        "{CLIP_SELECT} WHERE c.drive_id = ?1 AND c.state <> 'deleted' ORDER BY c.start_ms"
    ))?;
    let clips = st.query_map(params![drive.0], clip_from_row)?.collect::<Result<_, _>>()?;
    Ok(DriveRecord { drive: summary, camera_serial, segments, incidents, clips })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{NewEvent, PhoneFile, TelemetryFile};
    use crate::protocol::{CameraStatus, Channel, SegmentInfo};

    fn status() -> CameraStatus {
        CameraStatus {
            protocol_version: 1,
            model: "m".into(),
            firmware: "f".into(),
            serial: "SIM1".into(),
            sd_capacity_bytes: 1000,
            sd_used_bytes: 10,
            recording: true,
            current_drive: None,
            clock_ms: 0,
            latest_seq: 2,
        }
    }

    fn segment(i: u32) -> SegmentInfo {
        SegmentInfo {
            id: format!("s{i}"),
            drive_id: "d1".into(),
            seq: u64::from(i) + 1,
            index_in_drive: i,
            start_ms: 1_000_000 + i64::from(i) * 60_000,
            duration_ms: 60_000,
            size: 100,
            sha256: "a".repeat(64),
            locked: false,
            telemetry_size: 10,
            telemetry_sha256: "b".repeat(64),
            channel: Channel::Front,
        }
    }

    #[tokio::test]
    async fn reads_segments_with_residencies_telemetry_and_incidents() {
        let dir = tempfile::tempdir().expect("tmp");
        let catalog = Catalog::open(&dir.path().join("c.db")).await.expect("open");
        let camera = catalog.upsert_camera(status(), "http://x".into()).await.expect("camera");
        catalog.note_camera_segments(camera, vec![segment(0), segment(1)]).await.expect("note");
        let drive = catalog.drives().await.expect("drives")[0].id;
        let segs = catalog.drive_segments(drive).await.expect("segments");
        let telemetry = TelemetryFile {
            name: "t0.json".into(),
            size_bytes: 10,
            accel_samples: 1,
            gps_fixes: 1,
        };
        catalog
            .record_phone_copy(segs[0].id, PhoneFile { name: "v0.mp4".into() }, telemetry)
            .await
            .expect("phone copy");
        catalog
            .insert_event(NewEvent {
                drive: Some(drive),
                kind: "hard_brake",
                at_ms: 1_030_000,
                peak_g: 0.7,
                duration_ms: 800,
                location: Some((48.0, 2.0)),
                source: "camera",
            })
            .await
            .expect("event");

        let record = catalog.drive_record(drive).await.expect("record");
        assert_eq!(record.camera_serial, "SIM1");
        assert_eq!(record.segments.len(), 2);
        assert_eq!(record.segments[0].residencies, vec![Residency::Camera, Residency::Phone]);
        assert_eq!(record.segments[0].telemetry_file.as_deref(), Some("t0.json"));
        assert_eq!(record.segments[1].residencies, vec![Residency::Camera]);
        assert_eq!(record.segments[1].telemetry_file, None);
        assert_eq!(record.incidents.len(), 1);
        assert_eq!(record.incidents[0].lat, Some(48.0));
        let missing = catalog.drive_record(DriveId(99)).await;
        assert!(matches!(missing, Err(CatalogError::NotFound { what: "drive", id: 99 })));
    }
}
