//! `dashkeep-broker`: the reference service of the presign-only cloud mode
//! (`docs/cloud.md`, "Presign-only mode").
//!
//! Phones hold no S3 key. Each phone holds its account's token; the broker holds the store's
//! credentials. For every [`BrokerOp`] the broker checks the token (unknown: 401), checks that
//! the key or prefix lies inside `accounts/<the token's account>/` (else 403, nothing sent to
//! the store), then either does the small control request itself (create, complete, abort,
//! head, list, delete) or presigns the request that carries bytes (a part, a single PUT, a GET),
//! which the phone sends straight to the store: video never passes through the broker.
//!
//! Tokens are kept as their SHA-256 only (a leaked token file gives no token). A token is 256
//! random bits ([`new_token`]), so an unsalted hash is enough.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Json, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use dashkeep_core::cloud::{
    BROKER_OP_PATH, BrokerError, BrokerOp, CloudError, MAX_SHARE_EXPIRY, MIN_SHARE_EXPIRY,
    ObjectBackend, S3Backend,
};
use sha2::{Digest, Sha256};

/// How long a presigned single PUT lasts.
const PUT_URL_EXPIRY: Duration = Duration::from_secs(300);

/// The accounts the broker serves: the SHA-256 (hex) of each token, and its account.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    by_token_hash: HashMap<String, String>,
}

/// Why an account table could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// An account id that is not a safe id (letters, digits, `_`, `-`).
    #[error("bad account id {0:?}")]
    BadAccount(String),
    /// A token hash that is not 64 lowercase hex digits.
    #[error("bad token hash for account {0:?}: 64 lowercase hex digits expected")]
    BadHash(String),
    /// The tokens file is not TOML of the expected shape.
    #[error("tokens file: {0}")]
    Parse(String),
}

impl Accounts {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `account` with the token whose SHA-256 is `token_sha256` (hex).
    pub fn insert_hash(&mut self, account: &str, token_sha256: &str) -> Result<(), AccountsError> {
        if !dashkeep_core::protocol::is_safe_id(account) {
            return Err(AccountsError::BadAccount(account.into()));
        }
        let hex_ok = token_sha256.len() == 64
            && token_sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok {
            return Err(AccountsError::BadHash(account.into()));
        }
        self.by_token_hash.insert(token_sha256.into(), account.into());
        Ok(())
    }

    /// Adds `account` with `token` (kept hashed).
    pub fn insert_token(&mut self, account: &str, token: &str) -> Result<(), AccountsError> {
        self.insert_hash(account, &token_hash(token))
    }

    /// Reads a tokens file: TOML `[accounts]` mapping each account id to its token's SHA-256.
    pub fn from_toml(text: &str) -> Result<Self, AccountsError> {
        #[derive(serde::Deserialize)]
        struct File {
            accounts: HashMap<String, String>,
        }
        let file: File = toml::from_str(text).map_err(|e| AccountsError::Parse(e.to_string()))?;
        let mut accounts = Self::new();
        for (account, hash) in &file.accounts {
            accounts.insert_hash(account, hash)?;
        }
        Ok(accounts)
    }

    /// The account a token belongs to. Looked up by its hash, so the lookup's timing says
    /// nothing about the tokens kept.
    pub fn account_of(&self, token: &str) -> Option<&str> {
        self.by_token_hash.get(&token_hash(token)).map(String::as_str)
    }
}

/// The SHA-256 (hex) of a token: what the tokens file keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh token: 256 random bits, hex.
pub fn new_token() -> String {
    use rand::RngExt;
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

/// The broker: the store it signs for and the accounts it serves.
#[derive(Debug, Clone)]
pub struct Broker {
    store: Arc<S3Backend>,
    accounts: Arc<Accounts>,
}

impl Broker {
    /// A broker signing for `store` (built from the broker's own S3 credentials).
    pub fn new(store: S3Backend, accounts: Accounts) -> Self {
        Self { store: Arc::new(store), accounts: Arc::new(accounts) }
    }

    /// The HTTP service: `POST /v1/op`.
    pub fn router(self) -> Router {
        Router::new().route(BROKER_OP_PATH, post(handle)).with_state(self)
    }

    /// Serves on `listener` until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router()).with_graceful_shutdown(shutdown).await
    }

    /// Runs one operation for `account`, whose token was checked.
    async fn run(&self, account: &str, op: BrokerOp) -> Result<serde_json::Value, Refusal> {
        check_key(account, &op)?;
        let store = &self.store;
        let value = match op {
            BrokerOp::Head { key } => json(store.head(&key).await?),
            BrokerOp::PutUrl { key, sha256, checksum_b64 } => json(
                store.presign_put(&key, sha256.as_deref(), &checksum_b64, PUT_URL_EXPIRY).await?,
            ),
            BrokerOp::CreateMultipart { key, sha256 } => {
                json(store.create_multipart(&key, &sha256).await?)
            }
            BrokerOp::PartUrl { key, upload_id, part_number, sha256_b64, expires_secs } => {
                let expires = expiry(expires_secs)?;
                json(store.presign_part(&key, &upload_id, part_number, &sha256_b64, expires).await?)
            }
            BrokerOp::Complete { key, upload_id, parts } => {
                let ids = parts.iter().map(|p| store.part_id_from_etag(&p.etag, &p.sha256_b64));
                json(store.complete_multipart(&key, &upload_id, ids.collect()).await?)
            }
            BrokerOp::Abort { key, upload_id } => {
                json(store.abort_multipart(&key, &upload_id).await?)
            }
            BrokerOp::GetUrl { key, expires_secs } => {
                json(store.share_url(&key, expiry(expires_secs)?).await?)
            }
            BrokerOp::List { prefix } => json(store.list(&prefix).await?),
            BrokerOp::Delete { key } => json(store.delete(&key).await?),
        };
        Ok(value)
    }
}

fn json<T: serde::Serialize>(value: T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// A presigned URL's lifetime: 1 minute to 7 days (S3's longest), as for share links.
fn expiry(secs: u64) -> Result<Duration, Refusal> {
    let d = Duration::from_secs(secs);
    if (MIN_SHARE_EXPIRY..=MAX_SHARE_EXPIRY).contains(&d) {
        Ok(d)
    } else {
        Err(Refusal::new(StatusCode::BAD_REQUEST, "bad_request", "expiry outside 60 s to 7 days"))
    }
}

/// Whether `op`'s key or prefix lies inside `accounts/<account>/`: every segment after it is
/// a plain name (letters, digits, `.`, `_`, `-`; never empty, `.` or `..`).
fn check_key(account: &str, op: &BrokerOp) -> Result<(), Refusal> {
    let key = op.key();
    let own = format!("accounts/{account}/");
    let inside = key.strip_prefix(&own).is_some_and(|rest| {
        let rest =
            if matches!(op, BrokerOp::List { .. }) { rest.trim_end_matches('/') } else { rest };
        (rest.is_empty() && matches!(op, BrokerOp::List { .. }))
            || rest.split('/').all(|segment| {
                !segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            })
    });
    if inside {
        Ok(())
    } else {
        Err(Refusal::new(StatusCode::FORBIDDEN, "forbidden", "key outside the token's account"))
    }
}

/// A refused or failed operation, as the phone gets it.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    body: BrokerError,
}

impl Refusal {
    fn new(status: StatusCode, code: &str, message: &str) -> Self {
        Self { status, body: BrokerError { code: code.into(), message: message.into() } }
    }
}

impl From<CloudError> for Refusal {
    fn from(e: CloudError) -> Self {
        let (status, code) = match &e {
            CloudError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            CloudError::UploadGone(_) => (StatusCode::GONE, "upload_gone"),
            CloudError::Integrity(_) => (StatusCode::UNPROCESSABLE_ENTITY, "integrity"),
            CloudError::InvalidConfig(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            // The store refused the broker's own credentials, or failed: not the phone's fault.
            _ => (StatusCode::BAD_GATEWAY, "store"),
        };
        Self::new(status, code, &e.to_string())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

async fn handle(
    State(broker): State<Broker>,
    headers: HeaderMap,
    Json(op): Json<BrokerOp>,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(account) = token.and_then(|t| broker.accounts.account_of(t)) else {
        tracing::warn!("refused an operation without a known token");
        return Refusal::new(StatusCode::UNAUTHORIZED, "unauthorized", "unknown token")
            .into_response();
    };
    let account = account.to_string();
    let key = op.key().to_string();
    match broker.run(&account, op).await {
        Ok(value) => {
            tracing::info!(%account, %key, "served");
            axum::Json(value).into_response()
        }
        Err(refusal) => {
            tracing::warn!(%account, %key, status = %refusal.status, code = %refusal.body.code, "refused");
            refusal.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(key: &str) -> BrokerOp {
        BrokerOp::Head { key: key.into() }
    }

    #[test]
    fn keys_outside_the_account_are_refused() {
        assert!(check_key("alice", &get("accounts/alice/clips/k.mp4")).is_ok());
        for bad in [
            "accounts/bob/clips/k.mp4",
            "accounts/alice",
            "accounts/alice/",
            "accounts/alice/../bob/clips/k.mp4",
            "accounts/alice//k",
            "accounts/alicex/k",
            "accounts/alice/clips/k mp4",
            "/accounts/alice/k",
        ] {
            assert!(check_key("alice", &get(bad)).is_err(), "{bad}");
        }
        let list = |p: &str| BrokerOp::List { prefix: p.into() };
        assert!(check_key("alice", &list("accounts/alice/clips/")).is_ok());
        assert!(check_key("alice", &list("accounts/alice/")).is_ok());
        assert!(check_key("alice", &list("accounts/")).is_err());
        assert!(check_key("alice", &list("accounts/bob/")).is_err());
    }

    #[test]
    fn tokens_are_kept_hashed_and_looked_up() {
        let token = new_token();
        let toml = format!("[accounts]\nalice = \"{}\"\n", token_hash(&token));
        let accounts = Accounts::from_toml(&toml).unwrap();
        assert_eq!(accounts.account_of(&token), Some("alice"));
        assert_eq!(accounts.account_of("guess"), None);
        assert!(Accounts::from_toml("[accounts]\nalice = \"short\"\n").is_err());
        assert!(Accounts::from_toml("[accounts]\n\"../x\" = \"00\"\n").is_err());
    }
}
