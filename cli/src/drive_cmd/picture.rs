//! The drive as one picture (plotters, SVG or PNG): the speed and g-force curves on a shared time
//! axis with the incidents marked and the stretches without GPS shaded, a band showing where
//! each part of the drive lives (camera, phone, cloud), and the GPS track with its start, end and
//! incidents.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, bail};
use dashkeep_core::catalog::Residency;
use dashkeep_core::drive::{DriveReport, Fix, SeriesPoint};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{clock, kmh};
use crate::output::timestamp;

const WIDTH: u32 = 1600;
const HEIGHT: u32 = 900;
const TIMELINE_WIDTH: u32 = 1000;
const FONT: &str = "sans-serif";
const SPEED_COLOR: RGBColor = RGBColor(31, 119, 180);
const G_COLOR: RGBColor = RGBColor(148, 103, 189);
const INCIDENT_COLOR: RGBColor = RGBColor(214, 39, 40);
const NO_GPS_COLOR: RGBColor = RGBColor(200, 200, 200);
const LANES: [(Residency, RGBColor); 3] = [
    (Residency::Cloud, RGBColor(44, 160, 44)),
    (Residency::Phone, RGBColor(31, 119, 180)),
    (Residency::Camera, RGBColor(255, 127, 14)),
];

/// Where a TTF font may be found for the labels; `DASHKEEP_FONT` names another.
const FONT_FILES: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// A label beside a point (12 px right, a little up), so it does not sit under the point's mark.
/// (A macro: the composed element's type is private to plotters, so no function can return it.)
macro_rules! label {
    ($at:expr, $text:expr, $size:expr, $color:expr) => {
        EmptyElement::at($at) + Text::new($text, (12, -8), (FONT, $size).into_font().color(&$color))
    };
}

type DrawResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Draws `report` into `path`, SVG or PNG by its extension.
pub fn draw(report: &DriveReport, path: &Path) -> anyhow::Result<()> {
    register_font()?;
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("svg") => draw_on(SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area(), report)
            .map_err(|e| anyhow::anyhow!("{e}")),
        Some("png") => draw_png(report, path),
        _ => bail!("a picture is a .svg or .png file, not {}", path.display()),
    }
}

/// Draws into an RGB buffer and encodes it with the `png` crate itself: plotters' own encoder
/// (`bitmap_encoder`) would bring the whole `image` 0.24 crate and a second `bitflags` major.
fn draw_png(report: &DriveReport, path: &Path) -> anyhow::Result<()> {
    let mut rgb = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        draw_on(area, report).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&rgb)?;
    writer.finish()?;
    Ok(())
}

/// plotters draws text with a font it is given (no system font lookup, no fontconfig).
fn register_font() -> anyhow::Result<()> {
    static FONT_BYTES: OnceLock<Result<&'static [u8], String>> = OnceLock::new();
    let bytes = FONT_BYTES.get_or_init(|| {
        let candidates =
            std::env::var("DASHKEEP_FONT").into_iter().chain(FONT_FILES.map(String::from));
        for file in candidates {
            if let Ok(b) = std::fs::read(&file) {
                return Ok(Box::leak(b.into_boxed_slice()));
            }
        }
        Err(format!(
            "no font for the picture's labels: install fonts-dejavu-core (Debian) or set \
             DASHKEEP_FONT to a .ttf file (looked in {})",
            FONT_FILES.join(", ")
        ))
    });
    let bytes = bytes.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
    plotters::style::register_font(FONT, FontStyle::Normal, bytes)
        .map_err(|_| anyhow::anyhow!("the font file is not a TrueType font"))
        .context("registering the picture's font")
}

fn draw_on<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, r: &DriveReport) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(70);
    draw_title(&title, r)?;
    let (timeline, map) = body.split_horizontally(TIMELINE_WIDTH);
    let (speed, rest) = timeline.split_vertically(330);
    let (g, band) = rest.split_vertically(260);
    let minutes = (r.duration_ms as f64 / 60_000.0).max(0.1);
    draw_speed(&speed, r, minutes)?;
    draw_g(&g, r, minutes)?;
    draw_band(&band, r, minutes)?;
    draw_track(&map, r)?;
    root.present()?;
    Ok(())
}

fn draw_title<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, r: &DriveReport) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let distance = match (r.distance_m, r.average_speed_mps, r.top_speed_mps) {
        (Some(d), Some(avg), Some(top)) => {
            format!("{:.1} km, average {:.0} km/h, top {:.0} km/h", d / 1000.0, kmh(avg), kmh(top))
        }
        _ => "distance and speed unknown (no GPS fix)".into(),
    };
    let line1 = format!(
        "Drive {} - {}, {} long, {distance}, {} incident{}",
        r.drive.0,
        timestamp(r.started_at_ms),
        clock(r.duration_ms),
        r.incidents.len(),
        if r.incidents.len() == 1 { "" } else { "s" }
    );
    area.draw(&Text::new(line1, (20, 12), (FONT, 26).into_font().color(&BLACK)))?;
    let missing = r.gps.missing.iter().map(|g| g.to_ms - g.from_ms).sum::<i64>();
    if missing > 0 {
        let line2 = format!(
            "GPS missing for {} of the drive (shaded grey): {}",
            clock(missing),
            r.gps
                .missing
                .iter()
                .map(|g| super::missing_words(g.reason))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ")
        );
        area.draw(&Text::new(
            line2,
            (20, 44),
            (FONT, 18).into_font().color(&RGBColor(90, 90, 90)),
        ))?;
    }
    Ok(())
}

/// Splits a curve where points are much further apart than usual (a gap), so no line is drawn
/// across what is not known.
fn runs(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut steps: Vec<f64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
    steps.sort_by(f64::total_cmp);
    let usual = steps.get(steps.len() / 2).copied().unwrap_or(0.0);
    let limit = (usual * 3.0).max(5.0 / 60.0);
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        if i == 0 || p.0 - points[i - 1].0 > limit {
            out.push(Vec::new());
        }
        if let Some(run) = out.last_mut() {
            run.push(*p);
        }
    }
    out
}

fn series(points: &[SeriesPoint], scale: f64) -> Vec<(f64, f64)> {
    points.iter().map(|p| (p.t_ms as f64 / 60_000.0, p.value * scale)).collect()
}

fn draw_speed<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    r: &DriveReport,
    minutes: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let points = series(&r.speed, 3.6);
    let top = points.iter().map(|p| p.1).fold(0.0, f64::max).max(10.0) * 1.15;
    let mut chart = timeline(area, "Speed", minutes, top)?;
    chart
        .configure_mesh()
        .y_desc("km/h")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 15))
        .draw()?;
    shade_missing(&mut chart, r, top)?;
    for run in runs(&points) {
        chart.draw_series(LineSeries::new(run, SPEED_COLOR.stroke_width(2)))?;
    }
    mark_incidents(&mut chart, r, top, true)?;
    Ok(())
}

fn draw_g<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    r: &DriveReport,
    minutes: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let points = series(&r.g_force, 1.0);
    let peak_incident = r.incidents.iter().map(|i| i.peak_g).fold(0.0, f64::max);
    let top = points.iter().map(|p| p.1).fold(peak_incident, f64::max).max(0.5) * 1.15;
    let caption = "G-force (gravity removed; each point the peak of its stretch)";
    let mut chart = timeline(area, caption, minutes, top)?;
    chart.configure_mesh().y_desc("g").label_style((FONT, 15)).draw()?;
    for run in runs(&points) {
        chart.draw_series(LineSeries::new(run, G_COLOR.stroke_width(1)))?;
    }
    mark_incidents(&mut chart, r, top, false)?;
    Ok(())
}

/// One of the three charts on the drive's time axis (minutes from the start), `0..top` high.
fn timeline<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    minutes: f64,
    top: f64,
) -> Result<Chart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    ChartBuilder::on(area)
        .margin_left(10)
        .margin_right(20)
        .margin_top(6)
        .caption(caption, (FONT, 18))
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..minutes, 0.0..top)
}

type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn shade_missing<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    r: &DriveReport,
    top: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart.draw_series(r.gps.missing.iter().map(|g| {
        let (x0, x1) = (g.from_ms as f64 / 60_000.0, g.to_ms as f64 / 60_000.0);
        Rectangle::new([(x0, 0.0), (x1, top)], NO_GPS_COLOR.mix(0.45).filled())
    }))?;
    Ok(())
}

fn mark_incidents<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    r: &DriveReport,
    top: f64,
    labels: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    for i in &r.incidents {
        let x = i.offset_ms as f64 / 60_000.0;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x, 0.0), (x, top)],
            INCIDENT_COLOR.stroke_width(2),
        )))?;
        if labels {
            let text = format!("{} {:.2} g", i.kind.replace('_', " "), i.peak_g);
            chart.draw_series(std::iter::once(label!(
                (x, top * 0.97),
                text,
                15,
                INCIDENT_COLOR
            )))?;
        } else {
            chart.draw_series(std::iter::once(Circle::new(
                (x, i.peak_g),
                5,
                INCIDENT_COLOR.filled(),
            )))?;
        }
    }
    Ok(())
}

fn draw_band<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    r: &DriveReport,
    minutes: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let mut chart = timeline(area, "Where each part lives now", minutes, 3.0)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(7)
        .y_label_formatter(&|y| lane_name(*y))
        .label_style((FONT, 15))
        .x_desc("minutes from start")
        .draw()?;
    for (lane, (place, color)) in LANES.iter().enumerate() {
        let y0 = lane as f64 + 0.15;
        let spans = r
            .segments
            .iter()
            .filter(|s| s.copies.iter().any(|c| c.residency == *place))
            .map(|s| (s.offset_ms, s.offset_ms + s.duration_ms));
        let clips = r
            .clips
            .iter()
            .filter(|c| c.residencies.contains(place))
            .map(|c| (c.offset_ms, c.offset_ms + c.duration_ms));
        chart.draw_series(spans.chain(clips).map(|(from, to)| {
            let (x0, x1) = (from as f64 / 60_000.0, to as f64 / 60_000.0);
            Rectangle::new([(x0, y0), (x1, y0 + 0.7)], color.filled())
        }))?;
    }
    Ok(())
}

/// The lane a band's y value names (labels fall on the lanes' middles).
fn lane_name(y: f64) -> String {
    let lane = y - y.floor();
    if (lane - 0.5).abs() > 0.01 {
        return String::new();
    }
    LANES.get(y.floor() as usize).map_or(String::new(), |(p, _)| p.as_str().to_string())
}

fn draw_track<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, r: &DriveReport) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let area = area.margin(10, 20, 10, 20);
    if r.track.is_empty() {
        area.draw(&Text::new("No GPS track on the phone", (40, 300), (FONT, 22).into_font()))?;
        return Ok(());
    }
    let lat0 = r.track.iter().map(|f| f.lat).sum::<f64>() / r.track.len() as f64;
    let k = lat0.to_radians().cos().max(0.01);
    let xy = |f: &Fix| (f.lon * k, f.lat);
    let (x, y) = bounds(r.track.iter().map(xy), area.dim_in_pixel());
    let mut chart = ChartBuilder::on(&area)
        .caption("Track (north up)", (FONT, 20))
        .build_cartesian_2d(x.0..x.1, y.0..y.1)?;
    chart.plotting_area().fill(&RGBColor(245, 245, 240))?;
    let points: Vec<(f64, f64)> = r.track.iter().map(|f| (f.t_ms as f64 / 60_000.0, 0.0)).collect();
    let mut start = 0;
    for run in runs(&points) {
        let path: Vec<(f64, f64)> = r.track[start..start + run.len()].iter().map(xy).collect();
        start += run.len();
        chart.draw_series(std::iter::once(PathElement::new(path, SPEED_COLOR.stroke_width(3))))?;
    }
    let first = r.track.first().map(xy).unwrap_or_default();
    let last = r.track.last().map(xy).unwrap_or_default();
    chart.draw_series(std::iter::once(Circle::new(first, 8, RGBColor(44, 160, 44).filled())))?;
    chart.draw_series(std::iter::once(label!(first, "start", 17, BLACK)))?;
    chart.draw_series(std::iter::once(
        EmptyElement::at(last) + Rectangle::new([(-7, -7), (7, 7)], BLACK.filled()),
    ))?;
    chart.draw_series(std::iter::once(label!(last, "end", 17, BLACK)))?;
    for i in &r.incidents {
        let Some(p) = i.place else { continue };
        let at = (p.lon * k, p.lat);
        chart.draw_series(std::iter::once(TriangleMarker::new(at, 10, INCIDENT_COLOR.filled())))?;
        let text = format!("{} {:.2} g", i.kind.replace('_', " "), i.peak_g);
        chart.draw_series(std::iter::once(label!(at, text, 16, INCIDENT_COLOR)))?;
    }
    Ok(())
}

/// The track's bounds with a margin, widened so a degree of latitude and of (scaled) longitude
/// take the same pixels: the map is not stretched.
fn bounds(
    points: impl Iterator<Item = (f64, f64)>,
    (w, h): (u32, u32),
) -> ((f64, f64), (f64, f64)) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let (mut sx, mut sy) = (((x1 - x0) * 1.2).max(1e-3), ((y1 - y0) * 1.2).max(1e-3));
    let aspect = f64::from(w.max(1)) / f64::from(h.max(1));
    if sx / sy < aspect {
        sx = sy * aspect;
    } else {
        sy = sx / aspect;
    }
    ((cx - sx / 2.0, cx + sx / 2.0), (cy - sy / 2.0, cy + sy / 2.0))
}
