//! Where the S3 keys come from. The phone must never hold keys that reach other accounts, so
//! besides fixed keys (a self-hosted store with one account) the cloud takes temporary
//! credentials with a session token, scoped by the issuer to `accounts/<id>/` (STS AssumeRole
//! with a session policy, or a sign-in service doing it for the app), fetched from a
//! [`CredentialSource`] the app plugs in and refreshed before they expire.

use std::fmt;
use std::sync::Arc;

use object_store::aws::AwsCredential;

use super::{CloudError, Secret};

/// Temporary credentials for one account's prefix, and when they expire.
#[derive(Clone)]
pub struct TemporaryCredentials {
    /// The access key id.
    pub access_key: Secret,
    /// The secret access key.
    pub secret_key: Secret,
    /// The session token that comes with them.
    pub session_token: Secret,
    /// When they stop working, ms since the epoch.
    pub expires_at_ms: i64,
}

impl fmt::Debug for TemporaryCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryCredentials")
            .field("expires_at_ms", &self.expires_at_ms)
            .finish_non_exhaustive()
    }
}

/// What the app plugs in to get fresh account-scoped credentials (its sign-in service, which
/// calls STS for it). Called when none are held or they are within a minute of expiring.
#[async_trait::async_trait]
pub trait CredentialSource: Send + Sync + fmt::Debug {
    /// Fresh credentials; [`CloudError::Credentials`] when the user must sign in again.
    async fn fetch(&self) -> Result<TemporaryCredentials, CloudError>;
}

/// How long before expiry credentials are refreshed.
const REFRESH_MARGIN_MS: i64 = 60_000;

/// `object_store`'s credential provider over a [`CredentialSource`]: caches the credentials and
/// fetches new ones shortly before they expire.
#[derive(Debug)]
pub(crate) struct Refreshing {
    source: Arc<dyn CredentialSource>,
    cached: tokio::sync::Mutex<Option<(Arc<AwsCredential>, i64)>>,
}

impl Refreshing {
    pub(crate) fn new(source: Arc<dyn CredentialSource>) -> Self {
        Self { source, cached: tokio::sync::Mutex::new(None) }
    }
}

#[async_trait::async_trait]
impl object_store::CredentialProvider for Refreshing {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        let now = crate::camera::auth::now_ms();
        if let Some((credential, expires)) = cached.as_ref()
            && expires.saturating_sub(REFRESH_MARGIN_MS) > now
        {
            return Ok(Arc::clone(credential));
        }
        let fresh = self.source.fetch().await.map_err(|e| {
            object_store::Error::Unauthenticated { path: String::new(), source: Box::new(e) }
        })?;
        let credential = Arc::new(AwsCredential {
            key_id: fresh.access_key.expose().to_string(),
            secret_key: fresh.secret_key.expose().to_string(),
            token: Some(fresh.session_token.expose().to_string()),
        });
        *cached = Some((Arc::clone(&credential), fresh.expires_at_ms));
        Ok(credential)
    }
}
