//! Which protocol a camera speaks, found by asking rather than being told. The phone sends one
//! harmless GET per dialect ([`PROBES`], in order) and reads each answer with the dialect's own
//! parser ([`recognise`]); the first dialect that recognises its answer wins ([`identify`]). An
//! unknown camera is a [`ProbeError`] that lists every probe and what it answered.
//!
//! [`probe`] sends the requests (short timeouts, bounded bodies) and [`driver_for`] gives the
//! dialect's [`CameraDriver`]; [`identify`] is the decision alone, from answers.

use std::fmt;
use std::time::Duration;

use crate::camera::blackvue::listing::parse_legacy_list;
use crate::camera::blackvue::{BlackVueDriver, Firmware};
use crate::camera::novatek::{CMD_VERSION, NovatekDriver, reply::parse_reply};
use crate::camera::{CameraDriver, DriverError};
use crate::protocol::{ApiError, CameraStatus};

/// A camera protocol Dashkeep speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Dashkeep's own protocol (`camera-protocol.md`).
    Dashkeep,
    /// BlackVue firmware 1.009 and later (`/accessible`, `/vodList`).
    BlackVue1009,
    /// BlackVue before 1.009 (`/blackvue_vod.cgi`).
    BlackVueLegacy,
    /// Novatek-based cameras (`/?custom=1&cmd=N`).
    Novatek,
}

impl Dialect {
    /// The dialect's name for messages and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dashkeep => "dashkeep",
            Self::BlackVue1009 => "blackvue-1009",
            Self::BlackVueLegacy => "blackvue-legacy",
            Self::Novatek => "novatek",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The request that tells a dialect apart: a GET of this path and query, changing nothing on the
/// camera.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The dialect it recognises.
    pub dialect: Dialect,
    /// The path and query to GET.
    pub path: &'static str,
}

/// The probes, in the order they are tried. BlackVue 1.009 comes before legacy BlackVue because
/// 1.009 answers the legacy path with 415; Novatek last because its firmware answers any path.
pub const PROBES: [Probe; 4] = [
    Probe { dialect: Dialect::Dashkeep, path: "/api/v1/status" },
    Probe { dialect: Dialect::BlackVue1009, path: crate::camera::blackvue::ACCESSIBLE_PATH },
    Probe { dialect: Dialect::BlackVueLegacy, path: crate::camera::blackvue::LEGACY_LIST_PATH },
    Probe { dialect: Dialect::Novatek, path: "/?custom=1&cmd=3012" },
];

/// What a probe got back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeAnswer {
    /// No HTTP answer (refused, timed out, reset), with the reason for the error message.
    Unreachable(String),
    /// An HTTP answer: its status and (bounded) body.
    Http {
        /// The HTTP status.
        status: u16,
        /// The body, as much of it as was read.
        body: Vec<u8>,
    },
}

/// No probe recognised the camera.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a camera this app speaks to; tried {}", tried_list(.tried))]
pub struct ProbeError {
    /// Every probe tried, with what it answered.
    pub tried: Vec<(Probe, String)>,
    /// No probe got any HTTP answer: nothing is there (or it is off), rather than a device that
    /// is not a camera this app speaks to.
    pub nothing_answered: bool,
}

fn tried_list(tried: &[(Probe, String)]) -> String {
    let parts: Vec<String> =
        tried.iter().map(|(p, what)| format!("{} ({}): {what}", p.dialect, p.path)).collect();
    parts.join("; ")
}

/// Whether `answer` is the answer of a camera speaking `dialect` to its probe.
pub fn recognise(dialect: Dialect, answer: &ProbeAnswer) -> bool {
    let ProbeAnswer::Http { status, body } = answer else { return false };
    match (dialect, status) {
        (Dialect::Dashkeep, 200) => {
            serde_json::from_slice::<CameraStatus>(body).is_ok_and(|s| s.protocol_version > 0)
        }
        // A paired camera answers plain or unsigned requests with its own error codes.
        (Dialect::Dashkeep, 401 | 403) => serde_json::from_slice::<ApiError>(body)
            .is_ok_and(|e| matches!(e.code.as_str(), "unauthorized" | "https_required")),
        (Dialect::BlackVue1009, 200) => {
            serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v["accessible"] == "OK")
        }
        (Dialect::BlackVueLegacy, 200) => parse_legacy_list(body).is_ok(),
        (Dialect::Novatek, 200) => {
            parse_reply(body).is_ok_and(|r| r.expect_ok(CMD_VERSION).is_ok())
        }
        _ => false,
    }
}

/// The dialect of the first probe (in [`PROBES`] order) whose answer it recognises; `answers`
/// gives each probe's answer, in any order (a probe without an answer was not tried).
pub fn identify(answers: &[(Dialect, ProbeAnswer)]) -> Result<Dialect, ProbeError> {
    let mut tried = Vec::new();
    let mut nothing_answered = true;
    for probe in PROBES {
        let Some((_, answer)) = answers.iter().find(|(d, _)| *d == probe.dialect) else { continue };
        if recognise(probe.dialect, answer) {
            return Ok(probe.dialect);
        }
        nothing_answered &= matches!(answer, ProbeAnswer::Unreachable(_));
        tried.push((probe, describe(answer)));
    }
    Err(ProbeError { tried, nothing_answered })
}

/// The most of a probe's body read: enough for every dialect's answer to its probe.
const MAX_PROBE_BODY: usize = 64 * 1024;
/// How long one probe may take: cameras answer on their own WiFi within milliseconds.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a probe waits for a connection: an address off this network only times out, and
/// the apps probe several at once before a camera is paired.
const PROBE_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Finds out which protocol the camera at `base_url` speaks: sends [`PROBES`] in order and
/// stops at the first answer its dialect recognises. An unknown camera (or nothing at that
/// address) is a [`ProbeError`] listing every probe and what it got.
pub async fn probe(base_url: &str) -> Result<Dialect, ProbeError> {
    let base = base_url.trim_end_matches('/');
    let http = crate::camera::http_builder(None)
        .timeout(PROBE_TIMEOUT)
        .connect_timeout(PROBE_CONNECT_TIMEOUT)
        .build();
    let mut answers = Vec::new();
    for p in PROBES {
        let answer = match &http {
            Ok(http) => ask(http, &format!("{base}{}", p.path)).await,
            Err(e) => ProbeAnswer::Unreachable(e.to_string()),
        };
        if recognise(p.dialect, &answer) {
            tracing::info!(camera = base, dialect = %p.dialect, "camera protocol found");
            return Ok(p.dialect);
        }
        answers.push((p.dialect, answer));
    }
    identify(&answers)
}

/// One probe's answer, its body read up to [`MAX_PROBE_BODY`] bytes.
async fn ask(http: &reqwest::Client, url: &str) -> ProbeAnswer {
    let mut resp = match http.get(url).send().await {
        Ok(resp) => resp,
        Err(e) => return ProbeAnswer::Unreachable(e.without_url().to_string()),
    };
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) if body.len() < MAX_PROBE_BODY => {
                let room = MAX_PROBE_BODY - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(_) => break,
            Err(e) => return ProbeAnswer::Unreachable(e.without_url().to_string()),
        }
    }
    ProbeAnswer::Http { status, body }
}

/// The driver for a camera of `dialect` at `base_url`. Dashkeep cameras are streamed by ingest's
/// checksum-verified path on [`crate::camera::CameraClient`] instead (which also implements
/// the trait).
pub fn driver_for(dialect: Dialect, base_url: &str) -> Result<Box<dyn CameraDriver>, DriverError> {
    match dialect {
        Dialect::Dashkeep => Ok(Box::new(crate::camera::CameraClient::new(base_url)?)),
        Dialect::Novatek => Ok(Box::new(NovatekDriver::new(base_url)?)),
        Dialect::BlackVueLegacy => Ok(Box::new(BlackVueDriver::new(base_url, Firmware::Legacy)?)),
        Dialect::BlackVue1009 => Ok(Box::new(BlackVueDriver::new(base_url, Firmware::V1009)?)),
    }
}

/// A short account of an answer for the error message (never the body itself: it is untrusted).
fn describe(answer: &ProbeAnswer) -> String {
    match answer {
        ProbeAnswer::Unreachable(why) => format!("no answer ({why})"),
        ProbeAnswer::Http { status: 200, body } => {
            format!("200 with a {}-byte body it does not recognise", body.len())
        }
        ProbeAnswer::Http { status, .. } => format!("HTTP {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, body: &[u8]) -> ProbeAnswer {
        ProbeAnswer::Http { status, body: body.to_vec() }
    }

    fn not_found() -> ProbeAnswer {
        http(404, b"Not Found")
    }

    const STATUS: &[u8] = br#"{"protocol_version":1,"model":"Sim","firmware":"1","serial":"SIM1",
        "sd_capacity_bytes":1,"sd_used_bytes":0,"recording":true,"current_drive":null,
        "clock_ms":0,"latest_seq":0}"#;

    #[test]
    fn each_dialect_is_recognised_by_its_own_answer() {
        let dashkeep = [(Dialect::Dashkeep, http(200, STATUS))];
        assert_eq!(identify(&dashkeep), Ok(Dialect::Dashkeep));
        let paired =
            [(Dialect::Dashkeep, http(403, br#"{"code":"https_required","message":"x"}"#))];
        assert_eq!(identify(&paired), Ok(Dialect::Dashkeep));
        let bv1009 = [
            (Dialect::Dashkeep, not_found()),
            (
                Dialect::BlackVue1009,
                http(200, br#"{"accessible":"OK","message":"Access possible."}"#),
            ),
            (Dialect::BlackVueLegacy, http(415, b"mp4 only")),
        ];
        assert_eq!(identify(&bv1009), Ok(Dialect::BlackVue1009));
        let legacy = [
            (Dialect::Dashkeep, not_found()),
            (Dialect::BlackVue1009, not_found()),
            (
                Dialect::BlackVueLegacy,
                http(200, b"v:1.00\r\nn:/Record/20230101_120000_NF.mp4,s:1000000\r\n"),
            ),
        ];
        assert_eq!(identify(&legacy), Ok(Dialect::BlackVueLegacy));
        let novatek = [
            (Dialect::Dashkeep, not_found()),
            (Dialect::BlackVue1009, not_found()),
            (Dialect::BlackVueLegacy, not_found()),
            (
                Dialect::Novatek,
                http(
                    200,
                    b"<Function><Cmd>3012</Cmd><Status>0</Status><String>V1</String></Function>",
                ),
            ),
        ];
        assert_eq!(identify(&novatek), Ok(Dialect::Novatek));
    }

    #[test]
    fn look_alike_answers_are_not_taken() {
        // A web server that answers 200 with a page to everything speaks none of them.
        let page = http(200, b"<html><body>hello</body></html>");
        for dialect in
            [Dialect::Dashkeep, Dialect::BlackVue1009, Dialect::BlackVueLegacy, Dialect::Novatek]
        {
            assert!(!recognise(dialect, &page), "{dialect}");
        }
        assert!(!recognise(Dialect::Dashkeep, &http(401, br#"{"code":"not_found","message":""}"#)));
        assert!(!recognise(Dialect::BlackVue1009, &http(200, br#"{"accessible":"NO"}"#)));
        assert!(!recognise(Dialect::BlackVue1009, &http(200, b"[1,2]")));
        assert!(!recognise(
            Dialect::Novatek,
            &http(200, b"<Function><Cmd>3012</Cmd><Status>-256</Status></Function>")
        ));
        assert!(!recognise(Dialect::Novatek, &ProbeAnswer::Unreachable("refused".into())));
    }

    #[test]
    fn an_unknown_camera_is_told_what_was_tried() {
        let answers = [
            (Dialect::Novatek, http(200, b"<html>secret</html>")),
            (Dialect::Dashkeep, ProbeAnswer::Unreachable("connection refused".into())),
            (Dialect::BlackVue1009, not_found()),
        ];
        let err = identify(&answers).unwrap_err();
        assert_eq!(err.tried.len(), 3);
        assert_eq!(err.tried[0].0.dialect, Dialect::Dashkeep);
        let message = err.to_string();
        assert!(
            message.contains("dashkeep (/api/v1/status): no answer (connection refused)"),
            "{message}"
        );
        assert!(message.contains("blackvue-1009 (/accessible): HTTP 404"), "{message}");
        assert!(
            message.contains("novatek (/?custom=1&cmd=3012): 200 with a 19-byte body"),
            "{message}"
        );
        assert!(!message.contains("secret"), "the body is never echoed: {message}");
        assert!(identify(&[]).unwrap_err().tried.is_empty());
    }

    #[test]
    fn the_dashkeep_probe_is_the_protocol_status_path() {
        assert_eq!(PROBES[0].path, format!("{}/status", crate::protocol::API_PREFIX));
    }

    #[test]
    fn the_first_dialect_in_probe_order_wins() {
        // A camera answering both BlackVue probes as 1.009 and legacy would: 1.009 is preferred.
        let answers = [
            (Dialect::BlackVueLegacy, http(200, b"v:1.00\n")),
            (Dialect::BlackVue1009, http(200, br#"{"accessible":"OK"}"#)),
        ];
        assert_eq!(identify(&answers), Ok(Dialect::BlackVue1009));
    }
}
