//! The drive's track as GPX 1.1 (the georust `gpx` crate writes it): one track, one segment per
//! stretch with GPS, and the incidents as waypoints.

use std::io::Write;

use dashkeep_core::drive::{DriveReport, Fix};
use gpx::{Gpx, GpxVersion, Metadata, Track, TrackSegment, Waypoint};

/// Track points further apart than this start a new segment (the GPS was missing between them).
const SEGMENT_GAP_MS: i64 = 15_000;

/// Writes `report`'s track and incidents as GPX 1.1.
pub fn write(report: &DriveReport, out: impl Write) -> anyhow::Result<()> {
    let at = |offset_ms: i64| time(report.started_at_ms + offset_ms);
    let point = |f: &Fix| {
        let mut w = Waypoint::new(geo_types::Point::new(f.lon, f.lat));
        w.time = at(f.t_ms);
        w
    };
    let mut track = Track::new();
    track.name = Some(format!("Drive {} ({})", report.drive.0, report.camera_drive_id));
    let mut segment = TrackSegment::new();
    let mut last: Option<i64> = None;
    for f in &report.track {
        if last.is_some_and(|t| f.t_ms - t > SEGMENT_GAP_MS) && !segment.points.is_empty() {
            track.segments.push(std::mem::replace(&mut segment, TrackSegment::new()));
        }
        segment.points.push(point(f));
        last = Some(f.t_ms);
    }
    if !segment.points.is_empty() {
        track.segments.push(segment);
    }
    let waypoints = report
        .incidents
        .iter()
        .filter_map(|i| {
            let place = i.place?;
            let mut w = Waypoint::new(geo_types::Point::new(place.lon, place.lat));
            w.time = time(i.at_ms);
            w.name = Some(format!("{} {:.2} g", i.kind.replace('_', " "), i.peak_g));
            w.description = Some(format!(
                "{} detected by {}, peak {:.2} g, {} ms{}",
                i.kind,
                i.source,
                i.peak_g,
                i.duration_ms,
                if place.from_track { "; placed from the track" } else { "" }
            ));
            w.type_ = Some(i.kind.clone());
            Some(w)
        })
        .collect();
    let gpx = Gpx {
        version: GpxVersion::Gpx11,
        creator: Some("Dashkeep".into()),
        metadata: Some(Metadata {
            name: Some(format!("Drive {}", report.drive.0)),
            time: time(report.started_at_ms),
            ..Metadata::default()
        }),
        waypoints,
        tracks: vec![track],
        ..Gpx::default()
    };
    gpx::write(&gpx, out).map_err(|e| anyhow::anyhow!("GPX: {e}"))
}

fn time(ms: i64) -> Option<gpx::Time> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
    Some(t.into())
}
