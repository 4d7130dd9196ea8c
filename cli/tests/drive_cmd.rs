//! `dashkeep drive` as a user runs it: the summary, the picture (PNG and SVG), and GPX 1.1
//! validated against the schema by xmllint (Debian's libxml2-utils).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use dashkeep_simcam::{Fixture, Scenario, SimCamera, SimConfig};

/// Three minutes with a hard brake into a stop.
const BRAKE: &str = r#"
name = "cli-drive"
start_ms = 1796100000000
segment_secs = 30
[[drive]]
at_s = 0
duration_s = 180
start = { lat = 48.85, lon = 2.35, heading_deg = 60.0 }
speed = [[0, 0.0], [10, 14.0], [80, 14.0], [86, 0.0], [110, 0.0], [120, 12.0], [180, 12.0]]
turns = [{ at_s = 130, duration_s = 8, deg = 90.0 }]
events = [{ kind = "hard_brake", at_s = 82, peak_g = 0.6, duration_s = 1.5 }]
"#;

fn dashkeep(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dashkeep"))
        .env("DASHKEEP_KEEP_FREE", "0")
        .env_remove("DASHKEEP_S3_BUCKET")
        .env_remove("DASHKEEP_S3_ENDPOINT")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run dashkeep")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drive_prints_draws_and_exports_a_valid_gpx() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = Scenario::from_toml_str(BRAKE).expect("scenario");
    let cam = SimCamera::start(SimConfig {
        instant: true,
        fixture: Fixture::Small360p,
        ..SimConfig::new(scenario, dir.path().join("sd"))
    })
    .await
    .expect("camera");
    let data = dir.path().join("phone");
    ok(&dashkeep(&["stream", "--camera", &cam.base_url()], &data));
    let drives: serde_json::Value =
        serde_json::from_str(&ok(&dashkeep(&["drives", "--json"], &data))).expect("json");
    let id = drives[0]["id"].as_i64().expect("drive id").to_string();

    let (png, svg, gpx) =
        (dir.path().join("d.png"), dir.path().join("d.svg"), dir.path().join("d.gpx"));
    let png_s = png.to_string_lossy().into_owned();
    let gpx_s = gpx.to_string_lossy().into_owned();
    let text = ok(&dashkeep(&["drive", &id, "--picture", &png_s, "--gpx", &gpx_s], &data));
    assert!(text.contains("km, average") && text.contains("hard brake"), "{text}");
    assert!(text.contains("camera (overwritten after"), "each copy's overwrite time: {text}");

    let bytes = std::fs::read(&png).expect("png written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(bytes.len() > 20_000, "a drawn picture, not an empty canvas: {} bytes", bytes.len());
    ok(&dashkeep(&["drive", &id, "--picture", &svg.to_string_lossy()], &data));
    let svg_text = std::fs::read_to_string(&svg).expect("svg");
    assert!(svg_text.contains("<svg") && svg_text.contains("hard brake"), "labels in the SVG");
    let bad = dashkeep(&["drive", &id, "--picture", "drive.pdf"], &data);
    assert!(!bad.status.success(), "an unknown picture format is refused");

    let json: serde_json::Value =
        serde_json::from_str(&ok(&dashkeep(&["drive", &id, "--json"], &data))).expect("json");
    assert_eq!(json["duration_ms"], 180_000);
    assert!(json["distance_m"].as_f64().is_some_and(|d| d > 1_500.0), "{}", json["distance_m"]);
    assert_eq!(json["incidents"][0]["kind"], "hard_brake");

    let gpx_text = std::fs::read_to_string(&gpx).expect("gpx");
    assert!(gpx_text.contains("<wpt") && gpx_text.contains("hard brake"), "incident waypoint");
    assert!(gpx_text.matches("<trkpt").count() >= 170, "the whole track");
    let lint = xmllint(&gpx);
    assert!(lint.status.success(), "GPX 1.1 schema: {}", String::from_utf8_lossy(&lint.stderr));
    // The schema does check: a latitude past the pole, or a waypoint inside the track, fail it.
    let bad = dir.path().join("bad.gpx");
    let first_lat = gpx_text.find("<trkpt lat=\"").expect("a track point") + 12;
    let lat_end = first_lat + gpx_text[first_lat..].find('"').expect("a quoted latitude");
    let past_pole = format!("{}91.5{}", &gpx_text[..first_lat], &gpx_text[lat_end..]);
    let misplaced = gpx_text.replace("<trk>", "<trk><wpt lat=\"1\" lon=\"1\"/>");
    for text in [past_pole, misplaced] {
        std::fs::write(&bad, text).expect("write");
        assert!(!xmllint(&bad).status.success(), "the schema refuses a bad GPX");
    }
}

/// `xmllint --schema` with Topografix's GPX 1.1 schema (`tests/data/gpx/README.md`) on `file`.
fn xmllint(file: &Path) -> Output {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/gpx/gpx-1.1.xsd");
    Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!("xmllint is needed to validate GPX ({e}): apt-get install libxml2-utils")
        })
}
