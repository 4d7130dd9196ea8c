//! Signed camera requests: `Authorization: DK1-HMAC-SHA256 phone=<id>, ts=<unix ms>,
//! nonce=<hex>, sig=<hex>` with `sig = HMAC-SHA256(api_secret, method \n path \n query \n range
//! \n ts \n nonce)`. The phone signs ([`authorization`]); a camera checks with
//! [`RequestVerifier`] (the simulated camera uses it, and so would real firmware).

use std::collections::HashMap;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The scheme name in the `Authorization` header.
pub const AUTH_SCHEME: &str = "DK1-HMAC-SHA256";
/// How far a request's timestamp may be from the camera's clock.
pub const MAX_SKEW_MS: i64 = 30_000;

/// A phone's 32-byte API secret, agreed at pairing. Never printed: `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiSecret(pub [u8; 32]);

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiSecret(<redacted>)")
    }
}

impl ApiSecret {
    /// 32 fresh random bytes.
    pub fn generate() -> Self {
        use rand::RngExt;
        Self(rand::rng().random())
    }
}

/// What a paired phone signs camera requests with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneCredentials {
    /// The phone's id, chosen at pairing (a safe id, not secret).
    pub phone_id: String,
    /// The per-phone secret the camera gave this phone.
    pub api_secret: ApiSecret,
}

/// The request parts a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedParts<'a> {
    /// HTTP method (`GET`).
    pub method: &'a str,
    /// The URL path as sent (percent-encoded), e.g. `/api/v1/segments`.
    pub path: &'a str,
    /// The raw query string without `?`, or empty.
    pub query: &'a str,
    /// The `Range` header value, or empty.
    pub range: &'a str,
    /// The request body (empty for a GET): its SHA-256 is signed, so a body cannot be swapped.
    pub body: &'a [u8],
}

fn mac(secret: &ApiSecret, parts: &SignedParts<'_>, ts: i64, nonce: &str) -> Hmac<Sha256> {
    use sha2::Digest;
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&secret.0).expect("HMAC takes any key");
    let body = hex::encode(Sha256::digest(parts.body));
    let text = format!(
        "{}\n{}\n{}\n{}\n{ts}\n{nonce}\n{body}",
        parts.method, parts.path, parts.query, parts.range
    );
    m.update(text.as_bytes());
    m
}

/// The phone's estimate of each camera's clock: camera time − phone time, in ms, learnt from a
/// camera's signed answer telling its time (a request it found outside its window). Requests are
/// signed with the phone's clock plus this offset, so a camera clock off by minutes is corrected,
/// never mistaken for a revocation. Kept per phone id (one per pairing); the companion saves it
/// with the pairing (`PairedCamera::clock_offset_ms`) and [`clock::restore`]s it at start.
pub mod clock {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    fn offsets() -> &'static Mutex<HashMap<String, i64>> {
        static OFFSETS: OnceLock<Mutex<HashMap<String, i64>>> = OnceLock::new();
        OFFSETS.get_or_init(Mutex::default)
    }

    /// The offset learnt for the pairing of `phone_id` (0 until one is learnt).
    pub fn offset(phone_id: &str) -> i64 {
        offsets().lock().unwrap_or_else(|e| e.into_inner()).get(phone_id).copied().unwrap_or(0)
    }

    /// Records that the camera paired with `phone_id` said `camera_ms` at phone time `phone_ms`.
    pub fn learn(phone_id: &str, camera_ms: i64, phone_ms: i64) {
        let offset = camera_ms.saturating_sub(phone_ms);
        tracing::info!(offset_ms = offset, "camera clock offset learnt");
        offsets().lock().unwrap_or_else(|e| e.into_inner()).insert(phone_id.to_string(), offset);
    }

    /// Restores an offset kept with a pairing (at start), unless one was learnt since.
    pub fn restore(phone_id: &str, offset_ms: i64) {
        if offset_ms == 0 {
            return;
        }
        let mut offsets = offsets().lock().unwrap_or_else(|e| e.into_inner());
        offsets.entry(phone_id.to_string()).or_insert(offset_ms);
    }

    /// Now on the camera's clock, as far as the phone knows.
    pub fn camera_now(phone_id: &str) -> i64 {
        super::now_ms().saturating_add(offset(phone_id))
    }
}

/// The phone id of an `Authorization` value, if well formed.
pub fn phone_of(header: &str) -> Option<&str> {
    parse(header).map(|p| p.phone)
}

/// The nonce of an `Authorization` value (what a camera's answer MAC binds to), if well formed.
pub fn nonce_of(header: &str) -> Option<&str> {
    parse(header).map(|p| p.nonce)
}

/// The HMAC of a control answer under the phone's secret: the operation, the status, the
/// request's nonce and the body.
fn answer_hmac(secret: &ApiSecret, op: u8, status: u8, nonce: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&secret.0).expect("HMAC takes any key");
    m.update(b"dk1 control answer\n");
    m.update(&[op, status]);
    m.update(nonce.as_bytes());
    m.update(b"\n");
    m.update(body);
    m
}

/// The MAC a camera puts on a control answer, under the phone's secret: over the operation, the
/// status, the request's nonce and the body, so a spoofed answer (a fake "refused") fails it.
pub fn answer_mac(secret: &ApiSecret, op: u8, status: u8, nonce: &str, body: &[u8]) -> [u8; 32] {
    answer_hmac(secret, op, status, nonce, body).finalize().into_bytes().into()
}

/// Checks a camera's answer MAC in constant time.
pub fn answer_mac_ok(
    secret: &ApiSecret,
    op: u8,
    status: u8,
    nonce: &str,
    body: &[u8],
    mac: &[u8],
) -> bool {
    answer_hmac(secret, op, status, nonce, body).verify_slice(mac).is_ok()
}

/// The answer op of an HTTP clock answer (a control answer's is the command's op `| 0x80`).
pub const HTTP_CLOCK_OP: u8 = 0x80;
/// The status of a clock answer (the control channel's `STATUS_CLOCK`).
pub const CLOCK_STATUS: u8 = 2;
/// The header in which a camera tells its clock (decimal ms) when it refuses a signed request
/// as stale; [`CAMERA_MAC_HEADER`] carries [`answer_mac`] over it (op [`HTTP_CLOCK_OP`], status
/// [`CLOCK_STATUS`], the request's nonce, the decimal time as the body).
pub const CAMERA_TIME_HEADER: &str = "x-dk-camera-time";
/// The header with the MAC (hex) of a clock answer.
pub const CAMERA_MAC_HEADER: &str = "x-dk-answer-mac";

/// The camera's time from a stale request's answer, if its MAC verifies under `secret` for the
/// request's `nonce`; `None` for anything else (another device's answer is ignored).
pub fn verified_camera_time(
    secret: &ApiSecret,
    nonce: &str,
    time: &str,
    mac_hex: &str,
) -> Option<i64> {
    let mac = hex::decode(mac_hex).ok()?;
    let ok = answer_mac_ok(secret, HTTP_CLOCK_OP, CLOCK_STATUS, nonce, time.as_bytes(), &mac);
    ok.then(|| time.parse().ok()).flatten()
}

/// The `Authorization` header value for a request, with a fresh nonce.
pub fn authorization(creds: &PhoneCredentials, parts: &SignedParts<'_>, ts_ms: i64) -> String {
    use rand::RngExt;
    let nonce = format!("{:032x}", rand::rng().random::<u128>());
    authorization_with_nonce(creds, parts, ts_ms, &nonce)
}

/// The `Authorization` header value for a request with a given nonce (tests replay with this).
pub fn authorization_with_nonce(
    creds: &PhoneCredentials,
    parts: &SignedParts<'_>,
    ts_ms: i64,
    nonce: &str,
) -> String {
    let sig = hex::encode(mac(&creds.api_secret, parts, ts_ms, nonce).finalize().into_bytes());
    format!("{AUTH_SCHEME} phone={}, ts={ts_ms}, nonce={nonce}, sig={sig}", creds.phone_id)
}

/// The current Unix time in ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Whether `ts` is within [`MAX_SKEW_MS`] of `now_ms`; any two i64s compare without overflow
/// (a hostile `ts=-9223372036854775808` is simply outside).
pub fn within_window(ts: i64, now_ms: i64) -> bool {
    ts.abs_diff(now_ms) <= MAX_SKEW_MS.unsigned_abs()
}

/// Why a camera refused a request (it answers 401 to each, without saying which).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthRejection {
    /// No `Authorization` header.
    #[error("no signature")]
    Missing,
    /// Not a `DK1-HMAC-SHA256` header with phone, ts, nonce and sig.
    #[error("malformed signature")]
    Malformed,
    /// The phone is not paired (or was unpaired).
    #[error("unknown or revoked phone")]
    UnknownPhone,
    /// The timestamp is more than [`MAX_SKEW_MS`] from the camera's clock.
    #[error("timestamp outside the window")]
    Stale,
    /// The signature does not match.
    #[error("bad signature")]
    BadSignature,
    /// The nonce was seen before within the window.
    #[error("replayed nonce")]
    Replay,
    /// The camera rebooted (forgetting the nonces it saw) and the timestamp is not past the
    /// newest it accepted before: it could be a replay. Fresh requests pass a few seconds later
    /// (cameras answer 503, a phone retries).
    #[error("signed before the camera rebooted")]
    Rebooted,
}

struct Parsed<'a> {
    phone: &'a str,
    ts: i64,
    nonce: &'a str,
    sig: Vec<u8>,
}

fn parse(header: &str) -> Option<Parsed<'_>> {
    let rest = header.strip_prefix(AUTH_SCHEME)?.strip_prefix(' ')?;
    let (mut phone, mut ts, mut nonce, mut sig) = (None, None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        let slot = match k {
            "phone" => &mut phone,
            "ts" => &mut ts,
            "nonce" => &mut nonce,
            "sig" => &mut sig,
            _ => return None,
        };
        if slot.replace(v).is_some() {
            return None;
        }
    }
    let nonce = nonce?;
    if !(16..=64).contains(&nonce.len()) || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let sig = hex::decode(sig?).ok().filter(|s| s.len() == 32)?;
    Some(Parsed { phone: phone?, ts: ts?.parse().ok()?, nonce, sig })
}

/// The camera's side: checks signatures and remembers nonces within the window.
pub struct RequestVerifier {
    /// (phone, nonce) → timestamp, for every accepted request within the window.
    seen: HashMap<(String, String), i64>,
    /// Timestamps at or before this are refused (the nonces seen before a reboot are lost).
    not_after_boot: i64,
}

impl Default for RequestVerifier {
    fn default() -> Self {
        Self { seen: HashMap::new(), not_after_boot: i64::MIN }
    }
}

impl fmt::Debug for RequestVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestVerifier").field("nonces", &self.seen.len()).finish()
    }
}

impl RequestVerifier {
    /// A verifier after a reboot: the nonces seen before are lost, so every timestamp at or
    /// before `accepted_until_ms` (the newest accepted before, as kept in flash) is refused.
    pub fn after_reboot(accepted_until_ms: i64) -> Self {
        Self { seen: HashMap::new(), not_after_boot: accepted_until_ms }
    }

    /// Checks a request; `secret_of` looks up a paired phone's secret. Returns the phone id.
    pub fn verify(
        &mut self,
        header: Option<&str>,
        parts: &SignedParts<'_>,
        now_ms: i64,
        secret_of: impl FnOnce(&str) -> Option<ApiSecret>,
    ) -> Result<String, AuthRejection> {
        self.verify_at(header, parts, now_ms, secret_of).map(|(phone, _)| phone)
    }

    /// [`Self::verify`], returning the request's timestamp too (a camera persists the newest).
    pub fn verify_at(
        &mut self,
        header: Option<&str>,
        parts: &SignedParts<'_>,
        now_ms: i64,
        secret_of: impl FnOnce(&str) -> Option<ApiSecret>,
    ) -> Result<(String, i64), AuthRejection> {
        let header = header.ok_or(AuthRejection::Missing)?;
        let p = parse(header).ok_or(AuthRejection::Malformed)?;
        let secret = secret_of(p.phone).ok_or(AuthRejection::UnknownPhone)?;
        // The signature first: a stale request is then known to be the phone's own, which a
        // camera may answer with its (signed) time so the phone corrects its clock offset.
        mac(&secret, parts, p.ts, p.nonce)
            .verify_slice(&p.sig)
            .map_err(|_| AuthRejection::BadSignature)?;
        if !within_window(p.ts, now_ms) {
            return Err(AuthRejection::Stale);
        }
        if p.ts <= self.not_after_boot {
            return Err(AuthRejection::Rebooted);
        }
        // Forget nonces that can no longer pass the timestamp check.
        if self.seen.len() > 1024 {
            self.seen.retain(|_, ts| within_window(*ts, now_ms));
        }
        let key = (p.phone.to_string(), p.nonce.to_ascii_lowercase());
        if self.seen.contains_key(&key) {
            return Err(AuthRejection::Replay);
        }
        self.seen.insert(key, p.ts);
        Ok((p.phone.to_string(), p.ts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> PhoneCredentials {
        PhoneCredentials { phone_id: "p1".into(), api_secret: ApiSecret([7; 32]) }
    }

    const PARTS: SignedParts<'static> =
        SignedParts { method: "GET", path: "/api/v1/status", query: "", range: "", body: b"" };

    #[test]
    fn signs_and_verifies_once() {
        let now = 1_800_000_000_000;
        let h = authorization(&creds(), &PARTS, now);
        let mut v = RequestVerifier::default();
        let lookup = |id: &str| (id == "p1").then_some(ApiSecret([7; 32]));
        assert_eq!(v.verify(Some(&h), &PARTS, now + 5, lookup), Ok("p1".into()));
        assert_eq!(v.verify(Some(&h), &PARTS, now + 5, lookup), Err(AuthRejection::Replay));
        let h2 = authorization(&creds(), &PARTS, now);
        let other = SignedParts { path: "/api/v1/drives", ..PARTS };
        assert_eq!(v.verify(Some(&h2), &other, now, lookup), Err(AuthRejection::BadSignature));
        let h3 = authorization(&creds(), &PARTS, now - 31_000);
        assert_eq!(v.verify(Some(&h3), &PARTS, now, lookup), Err(AuthRejection::Stale));
        assert_eq!(v.verify(None, &PARTS, now, lookup), Err(AuthRejection::Missing));
        assert_eq!(v.verify(Some("Basic x"), &PARTS, now, lookup), Err(AuthRejection::Malformed));
        assert_eq!(v.verify(Some(&h2), &PARTS, now, |_| None), Err(AuthRejection::UnknownPhone));
    }

    #[test]
    fn extreme_timestamps_are_stale_not_a_panic() {
        let lookup = |_: &str| Some(ApiSecret([7; 32]));
        let mut v = RequestVerifier::default();
        for (ts, now) in [(i64::MIN, i64::MAX), (i64::MAX, i64::MIN), (i64::MIN, 0), (i64::MAX, 0)]
        {
            let h = authorization(&creds(), &PARTS, ts);
            assert_eq!(v.verify(Some(&h), &PARTS, now, lookup), Err(AuthRejection::Stale));
        }
        assert!(within_window(i64::MAX, i64::MAX) && within_window(i64::MIN, i64::MIN + 5));
    }

    #[test]
    fn the_body_is_signed() {
        let now = 1_800_000_000_000;
        let post = SignedParts { method: "POST", body: b"{\"a\":1}", ..PARTS };
        let h = authorization(&creds(), &post, now);
        let mut v = RequestVerifier::default();
        let lookup = |_: &str| Some(ApiSecret([7; 32]));
        let swapped = SignedParts { body: b"{\"a\":2}", ..post };
        assert_eq!(v.verify(Some(&h), &swapped, now, lookup), Err(AuthRejection::BadSignature));
        assert_eq!(v.verify(Some(&h), &post, now, lookup), Ok("p1".into()));
    }

    #[test]
    fn debug_hides_the_secret() {
        assert!(!format!("{:?}", creds()).contains("7, 7"));
    }
}
