//! Attacks on the cloud credentials (issue 12): a key taken from one phone must not reach
//! another account's clips.
//!
//! The enforcing server is moto (IAM + STS, `INITIAL_NO_AUTH_ACTION_COUNT`): each account gets an
//! IAM role whose policy allows object actions on `arn:aws:s3:::dashkeep/accounts/<id>/*` only;
//! the phone holds temporary credentials of that role (STS AssumeRole, with a session token)
//! from a `CredentialSource`, as an app's sign-in would hand them over. moto checks the SigV4
//! signature, the session token, and the policy's actions and resources on every object request
//! (read, write, delete). It does not evaluate conditions such as `s3:prefix`, so listing is
//! not scoped by moto (on AWS the documented policy's `s3:prefix` condition scopes it): the list
//! attack below is checked on the keys a listing reveals being unreadable, not on the listing.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dashkeep_core::cloud::{
    CloudError, CredentialSource, ObjectBackend, RetrySettings, S3Backend, S3Config, Secret,
    TemporaryCredentials,
};

const BUCKET: &str = "dashkeep";
/// Unsigned set-up actions before moto starts enforcing IAM: create the bucket, two roles with
/// their policies, and assume each.
const SETUP_ACTIONS: usize = 7;

/// A moto server of our own, enforcing IAM once set up.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_moto() -> Moto {
    // reqwest is built without a default TLS provider here: the process installs ring's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let installed = Command::new("python3")
        .args(["-c", "import moto, flask"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        installed,
        "moto is not installed: run scripts/s3-servers (it installs moto[server]) first"
    );
    let port = free_port();
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .env("INITIAL_NO_AUTH_ACTION_COUNT", SETUP_ACTIONS.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    // A bare TCP connect: an HTTP probe would count as one of the unsigned set-up actions.
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto { child, endpoint: format!("http://127.0.0.1:{port}") }
}

/// An unsigned set-up request to `service` (moto routes on the credential scope).
async fn setup_call(moto: &Moto, service: &str, form: &[(&str, &str)]) -> String {
    let scope = format!(
        "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/{service}/aws4_request, \
         SignedHeaders=host, Signature=0"
    );
    let resp = reqwest::Client::new()
        .post(&moto.endpoint)
        .header("Authorization", scope)
        .query(form)
        .send()
        .await
        .expect("moto answers");
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert!(status.is_success(), "{form:?}: {status} {body}");
    body
}

fn xml_field(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no {name} in {xml}")) + open.len();
    let end = xml[start..].find(&format!("</{name}>")).expect("closed") + start;
    xml[start..end].to_string()
}

/// The role of account `id`: object actions on its prefix only, listing of the bucket (scoped
/// by `s3:prefix` on AWS; moto ignores the condition).
fn account_policy(id: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject",
          "s3:AbortMultipartUpload","s3:ListMultipartUploadParts"],
          "Resource":"arn:aws:s3:::{BUCKET}/accounts/{id}/*"}},
        {{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{BUCKET}",
          "Condition":{{"StringLike":{{"s3:prefix":"accounts/{id}/*"}}}}}}]}}"#
    )
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
    "Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;

/// Creates the role of account `id` (2 actions).
async fn create_account_role(moto: &Moto, id: &str) {
    let role = format!("dashkeep-account-{id}");
    setup_call(
        moto,
        "iam",
        &[
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", &role),
            ("AssumeRolePolicyDocument", TRUST),
        ],
    )
    .await;
    setup_call(
        moto,
        "iam",
        &[
            ("Action", "PutRolePolicy"),
            ("Version", "2010-05-08"),
            ("RoleName", &role),
            ("PolicyName", "own-prefix"),
            ("PolicyDocument", &account_policy(id)),
        ],
    )
    .await;
}

/// STS AssumeRole for account `id` (1 action): what the app's sign-in service would do.
async fn assume(moto: &Moto, id: &str) -> TemporaryCredentials {
    let arn = format!("arn:aws:iam::123456789012:role/dashkeep-account-{id}");
    let xml = setup_call(
        moto,
        "sts",
        &[
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", &arn),
            ("RoleSessionName", &format!("phone-{id}")),
            ("DurationSeconds", "3600"),
        ],
    )
    .await;
    TemporaryCredentials {
        access_key: Secret::new(xml_field(&xml, "AccessKeyId")),
        secret_key: Secret::new(xml_field(&xml, "SecretAccessKey")),
        session_token: Secret::new(xml_field(&xml, "SessionToken")),
        expires_at_ms: dashkeep_core::camera::auth::now_ms() + 3_600_000,
    }
}

/// The app's credential source: hands out the account's temporary credentials, counting calls.
#[derive(Debug)]
struct SignIn {
    credentials: TemporaryCredentials,
    fetches: AtomicUsize,
}

#[async_trait::async_trait]
impl CredentialSource for SignIn {
    async fn fetch(&self) -> Result<TemporaryCredentials, CloudError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        Ok(self.credentials.clone())
    }
}

fn phone_of(moto: &Moto, source: Arc<SignIn>) -> S3Backend {
    let config = S3Config {
        endpoint: Some(moto.endpoint.clone()),
        region: "us-east-1".into(),
        bucket: BUCKET.into(),
        // No long-lived keys on the phone: only what the source hands out.
        access_key: Secret::new(""),
        secret_key: Secret::new(""),
        session_token: None,
        credential_source: Some(source),
        path_style: true,
        part_checksums: false,
    };
    let retry = RetrySettings { store_retries: 0, ..RetrySettings::default() };
    S3Backend::new(&config, &retry).expect("backend")
}

fn refused(r: Result<impl std::fmt::Debug, CloudError>) -> bool {
    matches!(r, Err(CloudError::Credentials(_)))
}

/// Creates the bucket (1 unsigned action).
async fn create_bucket(moto: &Moto) {
    let resp = reqwest::Client::new()
        .put(format!("{}/{BUCKET}", moto.endpoint))
        .send()
        .await
        .expect("moto answers");
    assert!(resp.status().is_success(), "create bucket: {}", resp.status());
}

/// Two accounts on a moto enforcing IAM, each phone with its account's temporary credentials.
async fn two_accounts() -> (Moto, S3Backend, S3Backend, Arc<SignIn>) {
    let moto = start_moto();
    create_bucket(&moto).await;
    create_account_role(&moto, "alice").await;
    create_account_role(&moto, "bob").await;
    let alice = Arc::new(SignIn { credentials: assume(&moto, "alice").await, fetches: 0.into() });
    let bob = Arc::new(SignIn { credentials: assume(&moto, "bob").await, fetches: 0.into() });
    let (phone_a, phone_b) = (phone_of(&moto, Arc::clone(&alice)), phone_of(&moto, bob));
    (moto, phone_a, phone_b, alice)
}

const BOB_CLIP: &str = "accounts/bob/clips/c1.mp4";

#[tokio::test]
async fn account_a_credentials_cannot_read_list_or_delete_account_b_clips() {
    let (_moto, alice, bob, alice_sign_in) = two_accounts().await;
    // Each phone works in its own account.
    bob.put(BOB_CLIP, Bytes::from_static(b"bob's drive"), None).await.expect("bob writes his");
    alice.put("accounts/alice/clips/a1.mp4", Bytes::from_static(b"mine"), None).await.unwrap();
    assert_eq!(alice.get_small("accounts/alice/clips/a1.mp4", 1024).await.unwrap(), "mine");
    assert!(alice_sign_in.fetches.load(Ordering::SeqCst) >= 1, "credentials came from the app");

    // Alice's credentials against Bob's clips: read, head, overwrite and delete are refused.
    assert!(refused(alice.get_small(BOB_CLIP, 1024).await), "read");
    assert!(refused(alice.head(BOB_CLIP).await), "head");
    assert!(refused(alice.put(BOB_CLIP, Bytes::from_static(b"x"), None).await), "overwrite");
    assert!(refused(alice.delete(BOB_CLIP).await), "delete");
    // Whatever a listing reveals (moto does not scope listing: see the module doc), the keys it
    // names stay unreadable; a listing that fails must fail as a refusal, nothing else.
    match alice.list("accounts/bob/").await {
        Ok(listed) => {
            for listed in listed {
                assert!(refused(alice.get_small(&listed.key, 1024).await), "{}", listed.key);
            }
        }
        Err(e) => assert!(refused(Err::<(), _>(e)), "the listing failed other than by refusal"),
    }
    // Bob's clip is intact.
    assert_eq!(bob.get_small(BOB_CLIP, 1024).await.unwrap(), "bob's drive");
}

#[tokio::test]
async fn unsigned_or_forged_requests_are_refused_by_the_enforcing_server() {
    let (moto, _alice, bob, _) = two_accounts().await;
    bob.put(BOB_CLIP, Bytes::from_static(b"bob's drive"), None).await.unwrap();
    let plain = reqwest::get(format!("{}/{BUCKET}/{BOB_CLIP}", moto.endpoint)).await.unwrap();
    assert_eq!(plain.status(), 403, "moto enforces signatures once set up");
    // Alice's key id and secret without her session token: refused.
    let tokenless = S3Backend::new(
        &S3Config {
            endpoint: Some(moto.endpoint.clone()),
            region: "us-east-1".into(),
            bucket: BUCKET.into(),
            access_key: Secret::new("AKIAFORGED0000000000"),
            secret_key: Secret::new("forged"),
            session_token: None,
            credential_source: None,
            path_style: true,
            part_checksums: false,
        },
        &RetrySettings { store_retries: 0, ..RetrySettings::default() },
    )
    .unwrap();
    assert!(refused(tokenless.get_small(BOB_CLIP, 1024).await));
}
