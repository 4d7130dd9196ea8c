//! The presign-only mode (issue 12): the phone holds no S3 key, only its account's token; the
//! broker (`dashkeep-broker`, run here on loopback in this process) holds the store's key and
//! signs each request inside `accounts/<the token's account>/`. Against the S3 servers of
//! `scripts/s3-servers`: the broker's presigned URLs are checked by the store (s3s-fs checks
//! SigV4 signatures, moto ETags and multipart), the account boundary by the broker.

mod cloud_support;

use std::time::Duration;

use bytes::Bytes;
use cloud_support::*;
use dashkeep_broker::{Accounts, Broker, new_token};
use dashkeep_core::catalog::Residency;
use dashkeep_core::cloud::{
    BROKER_OP_PATH, BackendConfig, BrokerBackend, BrokerConfig, CloudConfig, CloudError,
    NetworkState, ObjectBackend, S3Backend, Secret,
};

/// A broker on loopback for `server`, serving two accounts; their tokens.
struct RunningBroker {
    url: String,
    tokens: Vec<(String, String)>,
    store: S3Backend,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl RunningBroker {
    async fn start(server: Server, accounts: &[&str]) -> RunningBroker {
        let s3 = dashkeep_e2e::campaign::s3_bucket_config(&endpoint(server));
        let store = || S3Backend::new(&s3, &fast_retry()).expect("broker's store");
        let mut table = Accounts::new();
        let tokens: Vec<(String, String)> =
            accounts.iter().map(|a| (a.to_string(), new_token())).collect();
        for (account, token) in &tokens {
            table.insert_token(account, token).expect("account");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let broker = Broker::new(store(), table);
        tokio::spawn(broker.serve(listener, async {
            let _ = stopped.await;
        }));
        RunningBroker { url, tokens, store: store(), _stop: stop }
    }

    fn token(&self, account: &str) -> Secret {
        let (_, token) = self.tokens.iter().find(|(a, _)| a == account).expect("account");
        Secret::new(token.clone())
    }

    /// What a phone of `account` holds: the broker's URL and its token, no S3 key.
    fn phone_config(&self, account: &str) -> CloudConfig {
        let broker = BrokerConfig { url: self.url.clone(), token: self.token(account) };
        let mut config = CloudConfig::new(BackendConfig::Broker(broker), account);
        config.part_size = 5 * MIB;
        config.retry = fast_retry();
        config
    }

    fn backend_of(&self, token: Secret) -> BrokerBackend {
        BrokerBackend::new(&BrokerConfig { url: self.url.clone(), token }, &fast_retry())
            .expect("backend")
    }
}

async fn upload_restore_and_share_with_no_s3_key(server: Server) {
    let account = fresh_account();
    let broker = RunningBroker::start(server, &[&account]).await;
    let config = broker.phone_config(&account);
    assert!(!format!("{config:?}").contains("dashkeeptest"), "no S3 key in the phone's config");
    let phone = Phone::open(config.clone()).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let (big, big_sha) = phone.clip(11 * MIB + 4321).await;
    let (small, small_sha) = phone.clip(400_000).await;
    for clip in [big, small] {
        phone.cloud.enqueue(clip).await.unwrap();
    }
    let report = phone.cloud.run_queue().await.expect("queue runs through the broker");
    assert_eq!(report.uploaded, 2, "{report:?}");

    for (clip, sha) in [(big, &big_sha), (small, &small_sha)] {
        let clips = phone.cloud.clips().await.unwrap();
        let row = clips.iter().find(|c| c.clip_id == clip).expect("clip");
        assert_eq!(row.residencies, vec![Residency::Phone, Residency::Cloud]);
        // The store itself (the broker's key) has the object, its SHA-256 in its metadata.
        let key = format!("accounts/{account}/clips/{}.mp4", row.cloud_key.as_deref().unwrap());
        let info = broker.store.head(&key).await.unwrap().expect("in the store");
        assert_eq!(info.sha256.as_deref(), Some(sha.as_str()));
        // A share link the broker signed serves the exact bytes.
        let url = phone.cloud.share_url(clip, Some(Duration::from_secs(600))).await.unwrap();
        let (status, body) = http_get(&url).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(&sha256_hex(&body), sha);
    }

    // A reinstall of the same account restores the clips through the broker (list, sidecars,
    // ranged download).
    let fresh = Phone::open(config).await;
    fresh.cloud.set_network(NetworkState::WIFI);
    assert_eq!(fresh.cloud.sync_from_cloud().await.unwrap().added, 2);
    let clips = fresh.cloud.clips().await.unwrap();
    let restored = clips.iter().find(|c| c.size_bytes == 11 * MIB + 4321).expect("big clip");
    let path = fresh.cloud.download(restored.clip_id).await.expect("download");
    assert_eq!(sha256_hex(&std::fs::read(path).unwrap()), big_sha);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presign_only_phone_uploads_restores_and_shares_through_the_broker_s3s() {
    upload_restore_and_share_with_no_s3_key(Server::S3s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presign_only_phone_uploads_restores_and_shares_through_the_broker_moto() {
    upload_restore_and_share_with_no_s3_key(Server::Moto).await;
}

fn refused(r: Result<impl std::fmt::Debug, CloudError>) -> bool {
    matches!(r, Err(CloudError::Credentials(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_a_token_cannot_read_list_write_or_delete_account_b_objects_via_the_broker() {
    let (a, b) = (fresh_account(), fresh_account());
    let broker = RunningBroker::start(Server::S3s, &[&a, &b]).await;
    let bob_clip = format!("accounts/{b}/clips/c1.mp4");
    let bob = broker.backend_of(broker.token(&b));
    bob.put(&bob_clip, Bytes::from_static(b"bob's drive"), None).await.expect("bob writes his");
    let alice = broker.backend_of(broker.token(&a));
    alice
        .put(&format!("accounts/{a}/clips/a1.mp4"), Bytes::from_static(b"mine"), None)
        .await
        .unwrap();

    // Alice's token against Bob's objects: every operation is refused before the store sees it.
    assert!(refused(alice.get_small(&bob_clip, 1024).await), "read");
    assert!(refused(alice.head(&bob_clip).await), "head");
    assert!(refused(alice.list(&format!("accounts/{b}/")).await), "list");
    assert!(refused(alice.list("accounts/").await), "list every account");
    assert!(refused(alice.put(&bob_clip, Bytes::from_static(b"x"), None).await), "overwrite");
    assert!(refused(alice.create_multipart(&bob_clip, "00").await), "multipart");
    assert!(refused(alice.delete(&bob_clip).await), "delete");
    assert!(refused(alice.share_url(&bob_clip, Duration::from_secs(600)).await), "share");
    // Climbing out of her prefix is refused too.
    let climb = format!("accounts/{a}/../{b}/clips/c1.mp4");
    assert!(refused(alice.get_small(&climb, 1024).await), "path traversal");
    // Her own listing shows only hers.
    let mine = alice.list(&format!("accounts/{a}/")).await.unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");

    // Bob's clip is intact.
    assert_eq!(bob.get_small(&bob_clip, 1024).await.unwrap(), "bob's drive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_without_a_known_token_gets_nothing_from_the_broker() {
    let account = fresh_account();
    let broker = RunningBroker::start(Server::S3s, &[&account]).await;
    let key = format!("accounts/{account}/clips/c1.mp4");
    broker
        .backend_of(broker.token(&account))
        .put(&key, Bytes::from_static(b"x"), None)
        .await
        .unwrap();
    let guesser = broker.backend_of(Secret::new(new_token()));
    assert!(refused(guesser.head(&key).await), "unknown token");
    assert!(refused(guesser.list(&format!("accounts/{account}/")).await));
    // No token at all: 401 with a typed body.
    let resp = reqwest::Client::new()
        .post(format!("{}{BROKER_OP_PATH}", broker.url))
        .json(&serde_json::json!({"op": "head", "key": key}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_broker_off_loopback_is_refused_before_the_token_is_sent() {
    let config = BrokerConfig { url: "http://broker.example".into(), token: Secret::new("t") };
    let config = CloudConfig::new(BackendConfig::Broker(config), "me");
    let dir = tempfile::tempdir().unwrap();
    let layout = dashkeep_core::storage::DataLayout::new(dir.path());
    layout.create_dirs().unwrap();
    let catalog = dashkeep_core::catalog::Catalog::open(&layout.catalog_path()).await.unwrap();
    let opened = dashkeep_core::cloud::CloudService::open(
        catalog,
        layout,
        config,
        std::sync::Arc::new(|_| {}),
    )
    .await;
    assert!(matches!(opened, Err(CloudError::InvalidConfig(_))));
}
