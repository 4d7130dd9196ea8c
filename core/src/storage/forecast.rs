//! The at-risk forecast: how many hours of driving remain before each copy of a video is
//! overwritten by a loop recorder (the phone's, under its quota; the camera's, on its SD card),
//! and which videos live in one place only and will be overwritten soon.
//!
//! Both recorders overwrite oldest first, so a video is overwritten once the bytes recorded from
//! now exceed the recorder's free space plus everything it overwrites before that video. Bytes
//! recorded per hour of driving come from the catalog's recent segments.

use serde::Serialize;

use super::{Budget, StorageError};
use crate::catalog::{CameraRecord, Catalog, DriveId, OverwriteRow, Residency, SegmentId};

/// Segments the recording rate is measured over (about 10 hours of 1-minute segments).
const RATE_WINDOW: usize = 600;

/// One drive's videos that live in one place only and will be overwritten within the horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtRiskDrive {
    /// The drive.
    pub drive: DriveId,
    /// The one place its at-risk segments live.
    pub residency: Residency,
    /// How many of its segments are at risk.
    pub segments: u32,
    /// Their bytes.
    pub bytes: u64,
    /// Hours of driving until the first of them is overwritten.
    pub hours_until_overwrite: f64,
}

/// How long each loop recorder's oldest video has, and what is at risk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// Bytes recorded per hour of driving; `None` before any drive.
    pub bytes_per_hour: Option<f64>,
    /// Hours of driving until the phone's loop recorder overwrites its oldest evictable video.
    pub phone_hours_left: Option<f64>,
    /// Hours of driving until each camera overwrites its oldest unlocked segment (serial, hours).
    pub camera_hours_left: Vec<(String, f64)>,
    /// The horizon asked for, in hours of driving.
    pub horizon_hours: f64,
    /// Drives with videos in one place only that will be overwritten within the horizon, soonest
    /// first.
    pub at_risk: Vec<AtRiskDrive>,
}

/// Forecasts overwrites within `horizon_hours` of driving.
pub async fn forecast(
    catalog: &Catalog,
    budget: &Budget,
    cameras: &[CameraRecord],
    horizon_hours: f64,
) -> Result<Forecast, StorageError> {
    let rate = catalog.recording_rate(RATE_WINDOW).await?;
    let mut out = Forecast {
        bytes_per_hour: rate,
        phone_hours_left: None,
        camera_hours_left: Vec::new(),
        horizon_hours,
        at_risk: Vec::new(),
    };
    let Some(rate) = rate.filter(|r| *r > 0.0) else { return Ok(out) };
    let horizon_bytes = (horizon_hours * rate) as u64;

    // The phone evicts a little early (hysteresis), so its free space counts less.
    let phone_free = budget.free_bytes().saturating_sub(budget.hysteresis_bytes());
    out.phone_hours_left =
        first_hours(catalog.phone_overwrite_order(0, false).await?, phone_free, rate);
    let rows =
        catalog.phone_overwrite_order(horizon_bytes.saturating_sub(phone_free), true).await?;
    add_at_risk(&mut out.at_risk, &rows, Residency::Phone, phone_free, rate, horizon_hours);

    for camera in cameras {
        let free = camera.sd_capacity_bytes.saturating_sub(camera.sd_used_bytes);
        let first = catalog.camera_overwrite_order(camera.id, 0, false).await?;
        if let Some(hours) = first_hours(first, free, rate) {
            out.camera_hours_left.push((camera.serial.clone(), hours));
        }
        let limit = horizon_bytes.saturating_sub(free);
        let rows = catalog.camera_overwrite_order(camera.id, limit, true).await?;
        add_at_risk(&mut out.at_risk, &rows, Residency::Camera, free, rate, horizon_hours);
    }
    out.at_risk.sort_by(|a, b| a.hours_until_overwrite.total_cmp(&b.hours_until_overwrite));
    Ok(out)
}

/// When one copy of a segment is due to be overwritten.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopyOverwrite {
    /// The segment.
    pub segment: SegmentId,
    /// The copy: `Phone` or `Camera`.
    pub residency: Residency,
    /// Hours of driving until its loop recorder overwrites it.
    pub hours: f64,
}

/// Hours of driving until each phone and camera copy of `drive`'s segments is overwritten, by
/// the same rule as `forecast`. Copies a recorder never overwrites (a locked drive or segment,
/// one a pending clip needs) are not listed; nothing is listed before any recording rate is
/// known (the first value is the rate).
pub async fn drive_overwrites(
    catalog: &Catalog,
    budget: &Budget,
    cameras: &[CameraRecord],
    drive: DriveId,
) -> Result<(Option<f64>, Vec<CopyOverwrite>), StorageError> {
    let rate = catalog.recording_rate(RATE_WINDOW).await?;
    let Some(r) = rate.filter(|r| *r > 0.0) else { return Ok((rate, Vec::new())) };
    let mut out = Vec::new();
    let mut push = |rows: Vec<OverwriteRow>, residency, free| {
        out.extend(rows.into_iter().filter(|row| row.drive == drive).map(|row| CopyOverwrite {
            segment: row.segment,
            residency,
            hours: hours(free, row.bytes_before, r),
        }));
    };
    let phone_free = budget.free_bytes().saturating_sub(budget.hysteresis_bytes());
    push(catalog.phone_overwrite_order(u64::MAX, false).await?, Residency::Phone, phone_free);
    for camera in cameras {
        let free = camera.sd_capacity_bytes.saturating_sub(camera.sd_used_bytes);
        let rows = catalog.camera_overwrite_order(camera.id, u64::MAX, false).await?;
        push(rows, Residency::Camera, free);
    }
    Ok((rate, out))
}

fn hours(free: u64, before: u64, rate: f64) -> f64 {
    free.saturating_add(before) as f64 / rate
}

fn first_hours(rows: Vec<OverwriteRow>, free: u64, rate: f64) -> Option<f64> {
    rows.first().map(|r| hours(free, r.bytes_before, rate))
}

/// Folds overwrite rows into per-drive entries within the horizon.
fn add_at_risk(
    out: &mut Vec<AtRiskDrive>,
    rows: &[OverwriteRow],
    residency: Residency,
    free: u64,
    rate: f64,
    horizon_hours: f64,
) {
    for row in rows {
        let h = hours(free, row.bytes_before, rate);
        if h > horizon_hours {
            continue;
        }
        match out.iter_mut().find(|a| a.drive == row.drive && a.residency == residency) {
            Some(entry) => {
                entry.segments += 1;
                entry.bytes += row.bytes;
                entry.hours_until_overwrite = entry.hours_until_overwrite.min(h);
            }
            None => out.push(AtRiskDrive {
                drive: row.drive,
                residency,
                segments: 1,
                bytes: row.bytes,
                hours_until_overwrite: h,
            }),
        }
    }
}
