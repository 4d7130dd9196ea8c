//! The cloud module against real S3-compatible servers on loopback (s3s-fs and moto, started by
//! `scripts/s3-servers`) and the local directory backend.

mod cloud_support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cloud_support::*;
use dashkeep_core::catalog::{Residency, UploadState};
use dashkeep_core::cloud::{
    BackendConfig, CloudConfig, CloudError, CloudEvent, NetworkKind, NetworkState, ObjectBackend,
    S3Backend, UploadOutcome, UploadPolicy,
};

async fn residencies(phone: &Phone, clip: i64) -> Vec<Residency> {
    let clips = phone.cloud.clips().await.expect("clips");
    clips.into_iter().find(|c| c.clip_id == clip).map(|c| c.residencies).unwrap_or_default()
}

async fn cloud_key(phone: &Phone, clip: i64) -> String {
    phone.catalog.upload_job(clip).await.expect("job").expect("queued").cloud_key
}

/// Fetches the clip through a share link and checks it is byte-identical to `sha`.
async fn assert_shared_bytes(phone: &Phone, clip: i64, sha: &str) {
    let url = phone.cloud.share_url(clip, None).await.expect("share url");
    let (status, body) = http_get(&url).await;
    assert_eq!(status, 200, "share link {url}");
    assert_eq!(sha256_hex(&body), sha);
}

async fn upload_both_sizes(server: Server) {
    let account = fresh_account();
    let phone = Phone::open(s3_config(&endpoint(server), &account)).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let (big, big_sha) = phone.clip(13 * MIB + 12_345).await;
    let (small, small_sha) = phone.clip(700_000).await;
    phone.cloud.enqueue(big).await.unwrap();
    phone.cloud.enqueue(small).await.unwrap();
    let report = phone.cloud.run_queue().await.expect("queue runs");
    assert_eq!(report.uploaded, 2, "{report:?}");
    for (clip, sha) in [(big, &big_sha), (small, &small_sha)] {
        assert_eq!(residencies(&phone, clip).await, vec![Residency::Phone, Residency::Cloud]);
        assert_shared_bytes(&phone, clip, sha).await;
    }
    let progress =
        phone.event_count(|e| matches!(e, CloudEvent::Progress { clip_id, .. } if *clip_id == big));
    assert!(progress >= 3, "progress events for every part");
    // Queued again with the same SHA-256 in the cloud: nothing is sent.
    assert_eq!(phone.cloud.upload_now(big, false).await.unwrap(), UploadOutcome::AlreadyInCloud);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_to_s3s() {
    upload_both_sizes(Server::S3s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_to_moto() {
    upload_both_sizes(Server::Moto).await;
}

/// Starts uploading `clip` in a task and drops the task once `bytes` are recorded (a kill).
async fn kill_after(phone: &Phone, clip: i64, bytes: u64) {
    let cloud = phone.cloud.clone();
    let task = tokio::spawn(async move { cloud.upload_now(clip, false).await });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done = phone.catalog.upload_job(clip).await.unwrap().map_or(0, |j| j.bytes_done);
        if done >= bytes {
            break;
        }
        assert!(Instant::now() < deadline, "upload made no progress");
        assert!(!task.is_finished(), "upload ended before the kill: {:?}", task.await);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    task.abort();
    let _ = task.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_upload_resumes_with_missing_parts_only() {
    let proxy = FaultProxy::start(&endpoint(Server::S3s)).await;
    let account = fresh_account();
    let mut config = s3_config(&proxy.url, &account);
    config.concurrency = 1;
    let size = 30 * MIB;
    let phone = Phone::open(config.clone()).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let (clip, sha) = phone.clip(size).await;
    kill_after(&phone, clip, 15 * MIB).await;
    let first = proxy.body_bytes();
    let recorded = phone.catalog.recorded_parts(clip).await.unwrap().len();
    assert!(recorded >= 3, "parts recorded before the kill: {recorded}");

    // The app restarts: a new service on the same data directory resumes.
    let phone = phone.reopen(config).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let before = proxy.body_bytes();
    let report = phone.cloud.run_queue().await.unwrap();
    assert_eq!(report.uploaded, 1);
    let resent = proxy.body_bytes() - before;
    assert!(resent < size - 10 * MIB, "resent {resent} of {size} (first run sent {first})");
    assert!(resent >= size - recorded as u64 * 5 * MIB);
    assert_shared_bytes(&phone, clip, &sha).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_reset_mid_part_and_slowdown_storm() {
    let proxy = FaultProxy::start(&endpoint(Server::S3s)).await;
    let phone = Phone::open(s3_config(&proxy.url, &fresh_account())).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let (clip, sha) = phone.clip(12 * MIB).await;
    proxy.set(|f| {
        f.reset_after = Some(2 * MIB);
        f.slowdowns = 5;
    });
    let outcome = phone.cloud.upload_now(clip, false).await.expect("upload survives the faults");
    assert!(matches!(outcome, UploadOutcome::Uploaded { .. }));
    assert_eq!(proxy.stats.slowdowns_sent.load(Ordering::Relaxed), 5);
    assert_eq!(proxy.stats.resets.load(Ordering::Relaxed), 1);
    assert_shared_bytes(&phone, clip, &sha).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_gates_uploads_and_stops_a_transfer_at_once() {
    let proxy = FaultProxy::start(&endpoint(Server::Moto)).await;
    let mut config = s3_config(&proxy.url, &fresh_account());
    config.concurrency = 1;
    let phone = Phone::open(config).await;
    phone.cloud.set_policy(UploadPolicy::WifiOnly).await.unwrap();
    let (clip, sha) = phone.clip(20 * MIB).await;
    phone.cloud.enqueue(clip).await.unwrap();

    // Cellular, WiFi only: nothing goes.
    phone.cloud.set_network(NetworkState::CELLULAR);
    let report = phone.cloud.run_queue().await.unwrap();
    assert_eq!((report.uploaded, report.deferred), (0, 1));
    assert_eq!(proxy.body_bytes(), 0);
    // The camera's WiFi has no internet.
    phone.cloud.set_network(NetworkState { kind: NetworkKind::CameraWifi, metered: false });
    assert_eq!(phone.cloud.run_queue().await.unwrap().deferred, 1);

    // WiFi, slowly; the phone walks out to cellular mid-part: the transfer stops at once.
    proxy.set(|f| f.throttle = Some(Duration::from_millis(20)));
    phone.cloud.set_network(NetworkState::WIFI);
    let cloud = phone.cloud.clone();
    let run = tokio::spawn(async move { cloud.run_queue().await });
    while proxy.body_bytes() < MIB {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let switched = Instant::now();
    phone.cloud.set_network(NetworkState::CELLULAR);
    let report = run.await.unwrap().unwrap();
    assert!(switched.elapsed() < Duration::from_millis(500), "stopped in {:?}", switched.elapsed());
    assert_eq!((report.uploaded, report.deferred), (0, 1));
    assert_eq!(phone.event_count(|e| matches!(e, CloudEvent::Paused { .. })), 1);
    let job = phone.catalog.upload_job(clip).await.unwrap().unwrap();
    assert_eq!(job.state, UploadState::Uploading);

    // The user sends this one now over cellular.
    proxy.set(|f| f.throttle = None);
    let outcome = phone.cloud.upload_now(clip, true).await.unwrap();
    assert!(matches!(outcome, UploadOutcome::Uploaded { .. }));
    assert_shared_bytes(&phone, clip, &sha).await;
    let status = phone.cloud.status().await.unwrap();
    assert_eq!((status.uploaded, status.queued, status.policy), (1, 0, UploadPolicy::WifiOnly));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_into_a_fresh_data_dir_and_download() {
    let account = fresh_account();
    let config = s3_config(&endpoint(Server::S3s), &account);
    let phone = Phone::open(config.clone()).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let (a, a_sha) = phone.clip(6 * MIB).await;
    let (b, _) = phone.clip(300_000).await;
    for c in [a, b] {
        phone.cloud.enqueue(c).await.unwrap();
    }
    assert_eq!(phone.cloud.run_queue().await.unwrap().uploaded, 2);
    let key_a = cloud_key(&phone, a).await;

    // Reinstall: a new, empty data directory, same account.
    let fresh = Phone::open(config).await;
    fresh.cloud.set_network(NetworkState::WIFI);
    let report = fresh.cloud.sync_from_cloud().await.unwrap();
    assert_eq!((report.added, report.invalid), (2, 0));
    assert_eq!(fresh.cloud.sync_from_cloud().await.unwrap().added, 0, "sync is idempotent");
    let clips = fresh.cloud.clips().await.unwrap();
    assert_eq!(clips.len(), 2);
    assert!(clips.iter().all(|c| c.residencies == vec![Residency::Cloud]));
    let restored = clips.iter().find(|c| c.cloud_key.as_deref() == Some(&key_a)).unwrap();
    assert_eq!(restored.reason, "hard_brake");

    // A partial download from before is continued, then verified and catalogued.
    let partial = fresh.layout.partial_path(&format!("clip_{key_a}.mp4"));
    let original = std::fs::read(
        phone.layout.video_path(
            &std::fs::read_dir(phone.layout.videos_dir())
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|n| sha256_hex(&std::fs::read(phone.layout.video_path(n)).unwrap()) == a_sha)
                .unwrap(),
        ),
    )
    .unwrap();
    std::fs::write(&partial, &original[..MIB as usize]).unwrap();
    let path = fresh.cloud.download(restored.clip_id).await.unwrap();
    assert_eq!(sha256_hex(&std::fs::read(&path).unwrap()), a_sha);
    assert!(!partial.exists());
    assert_eq!(
        residencies(&fresh, restored.clip_id).await,
        vec![Residency::Phone, Residency::Cloud]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_offline_applies_tombstone_later_and_sync_never_resurrects() {
    let account = fresh_account();
    let config = s3_config(&endpoint(Server::Moto), &account);
    let phone = Phone::open(config.clone()).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let (clip, _) = phone.clip(2 * MIB).await;
    phone.cloud.upload_now(clip, false).await.unwrap();
    let key = cloud_key(&phone, clip).await;

    phone.cloud.set_network(NetworkState::OFFLINE);
    let outcome = phone.cloud.delete_clip(clip).await.unwrap();
    assert!(outcome.removed_from_phone && !outcome.removed_from_cloud);
    assert!(phone.cloud.clips().await.unwrap().is_empty());
    assert_eq!(phone.cloud.status().await.unwrap().deletions_pending, 1);
    // Still in the cloud; a sync (another phone's view) cannot bring it back here.
    phone.cloud.set_network(NetworkState::CELLULAR);
    phone.cloud.set_policy(UploadPolicy::WifiOnly).await.unwrap();
    assert_eq!(phone.cloud.sync_from_cloud().await.unwrap().added, 0);

    // Online again: the queue applies the tombstone whatever the upload policy.
    let report = phone.cloud.run_queue().await.unwrap();
    assert_eq!(report.deletions_applied, 1);
    assert_eq!(phone.cloud.status().await.unwrap().deletions_pending, 0);
    let object = format!("accounts/{account}/clips/{key}.mp4");
    assert!(s3_backend(&config).head(&object).await.unwrap().is_none());
    let fresh = Phone::open(config).await;
    fresh.cloud.set_network(NetworkState::WIFI);
    assert_eq!(fresh.cloud.sync_from_cloud().await.unwrap().added, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_link_is_signed_and_tamper_proof() {
    let phone = Phone::open(s3_config(&endpoint(Server::S3s), &fresh_account())).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let (clip, sha) = phone.clip(1_500_000).await;
    phone.cloud.upload_now(clip, false).await.unwrap();
    assert_shared_bytes(&phone, clip, &sha).await;
    let url = phone.cloud.share_url(clip, Some(Duration::from_secs(60))).await.unwrap();
    assert!(url.contains("X-Amz-Expires=60"), "{url}");
    let tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=6000");
    let (status, _) = http_get(&tampered).await;
    assert_eq!(status, 403, "a tampered link is refused");
}

async fn platform_mode(server: Server) {
    let account = fresh_account();
    let config = s3_config(&endpoint(server), &account);
    let phone = Phone::open(config.clone()).await;
    let (clip, sha) = phone.clip(11 * MIB + 7).await;
    let http = http_client();

    // The platform sends part 1, then the app is killed.
    let plan = phone.cloud.plan_platform_upload(clip).await.unwrap();
    assert_eq!(plan.parts.len(), 3);
    let file = std::fs::read(&plan.file).unwrap();
    let send = |part: &dashkeep_core::cloud::PlatformPart| {
        let req = part.request.clone().expect("request");
        let body = file[part.offset as usize..(part.offset + part.length) as usize].to_vec();
        let mut put = http.put(&req.url).body(body);
        for (k, v) in &req.headers {
            put = put.header(k, v);
        }
        async move {
            let resp = put.send().await.expect("PUT part");
            assert!(resp.status().is_success(), "part refused: {}", resp.status());
            resp.headers()["etag"].to_str().unwrap().to_string()
        }
    };
    let etag = send(&plan.parts[0]).await;
    phone.cloud.platform_part_done(clip, 1, etag).await.unwrap();
    let phone = phone.reopen(config).await;

    // Re-planned after the restart: part 1 is not handed out again.
    let plan = phone.cloud.plan_platform_upload(clip).await.unwrap();
    assert!(plan.parts[0].request.is_none());
    // The queue runner leaves platform jobs to the platform.
    phone.cloud.set_network(NetworkState::WIFI);
    assert_eq!(phone.cloud.run_queue().await.unwrap().deferred, 1);
    for part in &plan.parts[1..] {
        let etag = send(part).await;
        phone.cloud.platform_part_done(clip, part.part_number, etag).await.unwrap();
    }
    let outcome = phone.cloud.complete_platform_upload(clip).await.unwrap();
    assert!(matches!(outcome, UploadOutcome::Uploaded { .. }));
    assert_eq!(residencies(&phone, clip).await, vec![Residency::Phone, Residency::Cloud]);
    assert_shared_bytes(&phone, clip, &sha).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_moved_bytes_s3s() {
    platform_mode(Server::S3s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_moved_bytes_moto() {
    platform_mode(Server::Moto).await;
}

fn s3_backend(config: &CloudConfig) -> S3Backend {
    match &config.backend {
        BackendConfig::S3(s3) => S3Backend::new(s3, &fast_retry()).unwrap(),
        _ => unreachable!(),
    }
}

/// Multipart uploads open in moto's bucket (moto lists them without a signature).
async fn moto_open_uploads(moto: &str) -> String {
    let (status, listing) = http_get(&format!("{moto}/dashkeep?uploads")).await;
    assert_eq!(status, 200);
    String::from_utf8_lossy(&listing).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_upload_id_restarts_cleanly_and_leaves_no_upload_behind() {
    let moto = endpoint(Server::Moto);
    let proxy = FaultProxy::start(&moto).await;
    let account = fresh_account();
    let mut config = s3_config(&proxy.url, &account);
    config.concurrency = 1;
    let phone = Phone::open(config.clone()).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let (clip, sha) = phone.clip(16 * MIB).await;
    kill_after(&phone, clip, 5 * MIB).await;
    let job = phone.catalog.upload_job(clip).await.unwrap().unwrap();
    let upload_id = job.upload_id.clone().expect("upload open");
    // The store forgot the upload (a lifecycle rule aborted it); S3 answers NoSuchUpload.
    let object = format!("accounts/{account}/clips/{}.mp4", job.cloud_key);
    s3_backend(&config).abort_multipart(&object, &upload_id).await.unwrap();
    proxy.set(|f| f.no_such_upload = Some(upload_id.clone()));

    let report = phone.cloud.run_queue().await.unwrap();
    let job = phone.catalog.upload_job(clip).await.unwrap().unwrap();
    assert_eq!(report.uploaded, 1, "{report:?} {:?}", job.last_error);
    assert_shared_bytes(&phone, clip, &sha).await;
    assert!(!moto_open_uploads(&moto).await.contains(&job.cloud_key), "an upload was left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_mid_upload_aborts_the_multipart_upload() {
    let moto = endpoint(Server::Moto);
    let account = fresh_account();
    let mut config = s3_config(&moto, &account);
    config.concurrency = 1;
    let phone = Phone::open(config.clone()).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let (clip, _) = phone.clip(16 * MIB).await;
    kill_after(&phone, clip, 5 * MIB).await;
    let key = cloud_key(&phone, clip).await;
    assert!(moto_open_uploads(&moto).await.contains(&key), "the killed upload is open");
    let outcome = phone.cloud.delete_clip(clip).await.unwrap();
    assert!(outcome.removed_from_phone && outcome.removed_from_cloud);
    assert!(!moto_open_uploads(&moto).await.contains(&key), "an upload was left behind");
    let object = format!("accounts/{account}/clips/{key}.mp4");
    assert!(s3_backend(&config).head(&object).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_stop_the_queue_with_a_typed_error() {
    let mut config = s3_config(&endpoint(Server::S3s), &fresh_account());
    if let BackendConfig::S3(s3) = &mut config.backend {
        s3.secret_key = dashkeep_core::cloud::Secret::new("wrong-secret");
        assert!(!format!("{s3:?}").contains("wrong-secret"), "secrets never show in Debug");
    }
    let phone = Phone::open(config).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let (clip, _) = phone.clip(100_000).await;
    phone.cloud.enqueue(clip).await.unwrap();
    let err = phone.cloud.run_queue().await.unwrap_err();
    assert!(matches!(err, CloudError::Credentials(_)), "{err:?}");
    assert!(phone.cloud.status().await.unwrap().stopped.is_some());
    assert_eq!(phone.event_count(|e| matches!(e, CloudEvent::QueueStopped { .. })), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_basics() {
    let store = tempfile::tempdir().unwrap();
    let config = || {
        let mut c = CloudConfig::new(BackendConfig::Local { root: store.path().into() }, "me");
        c.part_size = 5 * MIB;
        c
    };
    let phone = Phone::open(config()).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let (big, big_sha) = phone.clip(11 * MIB).await;
    let (small, _) = phone.clip(1000).await;
    for c in [big, small] {
        phone.cloud.enqueue(c).await.unwrap();
    }
    assert_eq!(phone.cloud.run_queue().await.unwrap().uploaded, 2);
    let url = phone.cloud.share_url(big, None).await.unwrap();
    let path = url.strip_prefix("file://").expect("file url");
    assert_eq!(sha256_hex(&std::fs::read(path).unwrap()), big_sha);
    assert!(matches!(
        phone.cloud.plan_platform_upload(small).await,
        Ok(p) if p.already_uploaded
    ));

    let fresh = Phone::open(config()).await;
    assert_eq!(fresh.cloud.sync_from_cloud().await.unwrap().added, 2);
    let restored = fresh.cloud.clips().await.unwrap();
    let r = restored.iter().find(|c| c.size_bytes == 11 * MIB).unwrap();
    fresh.cloud.set_network(NetworkState::WIFI);
    let got = fresh.cloud.download(r.clip_id).await.unwrap();
    assert_eq!(sha256_hex(&std::fs::read(got).unwrap()), big_sha);

    let outcome = phone.cloud.delete_clip(big).await.unwrap();
    assert!(outcome.removed_from_phone && outcome.removed_from_cloud);
    assert!(!std::path::Path::new(path).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_resumes_when_an_allowed_network_returns() {
    let phone = Phone::open(s3_config(&endpoint(Server::S3s), &fresh_account())).await;
    phone.cloud.set_policy(UploadPolicy::WifiOnly).await.unwrap();
    phone.cloud.set_network(NetworkState::CELLULAR);
    phone.cloud.start();
    let (clip, sha) = phone.clip(7 * MIB).await;
    phone.cloud.enqueue(clip).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(phone.cloud.status().await.unwrap().queued, 1, "nothing goes over cellular");
    phone.cloud.set_network(NetworkState::WIFI);
    let deadline = Instant::now() + Duration::from_secs(20);
    while phone.cloud.status().await.unwrap().uploaded == 0 {
        assert!(Instant::now() < deadline, "the worker did not upload on WiFi");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    phone.cloud.stop().await;
    assert_shared_bytes(&phone, clip, &sha).await;
}

const CHILD_DIR: &str = "DASHKEEP_CLOUD_CHILD_DIR";

/// Not a test on its own: the child process of `kill_dash_9_mid_upload_then_resume`, which sets
/// its environment and runs it with `--ignored`; without that environment it returns at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of kill_dash_9_mid_upload_then_resume, which runs it"]
async fn child_process_uploading_until_killed() {
    let Ok(dir) = std::env::var(CHILD_DIR) else { return };
    let endpoint = std::env::var("DASHKEEP_CLOUD_CHILD_ENDPOINT").unwrap();
    let account = std::env::var("DASHKEEP_CLOUD_CHILD_ACCOUNT").unwrap();
    let clip: i64 = std::env::var("DASHKEEP_CLOUD_CHILD_CLIP").unwrap().parse().unwrap();
    let layout = dashkeep_core::storage::DataLayout::new(&dir);
    let catalog = dashkeep_core::catalog::Catalog::open(&layout.catalog_path()).await.unwrap();
    let mut config = s3_config(&endpoint, &account);
    config.concurrency = 1;
    let cloud = dashkeep_core::cloud::CloudService::open(
        catalog,
        layout,
        config,
        std::sync::Arc::new(|_| {}),
    )
    .await
    .unwrap();
    cloud.set_network(NetworkState::WIFI);
    let _ = cloud.upload_now(clip, false).await;
    // The parent kills this process before the upload ends; if it does not, say so.
    std::process::exit(3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_9_mid_upload_then_resume() {
    let proxy = FaultProxy::start(&endpoint(Server::S3s)).await;
    let account = fresh_account();
    let mut config = s3_config(&proxy.url, &account);
    config.concurrency = 1;
    let phone = Phone::open(config.clone()).await;
    phone.cloud.set_network(NetworkState::WIFI);
    let size = 30 * MIB;
    let (clip, sha) = phone.clip(size).await;
    phone.cloud.enqueue(clip).await.unwrap();
    proxy.set(|f| f.throttle = Some(Duration::from_millis(2)));
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_uploading_until_killed", "--ignored", "--test-threads=1"])
        .env(CHILD_DIR, phone.dir.path())
        .env("DASHKEEP_CLOUD_CHILD_ENDPOINT", &proxy.url)
        .env("DASHKEEP_CLOUD_CHILD_ACCOUNT", &account)
        .env("DASHKEEP_CLOUD_CHILD_CLIP", clip.to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while phone.catalog.upload_job(clip).await.unwrap().unwrap().bytes_done < 10 * MIB {
        assert!(Instant::now() < deadline, "the child made no progress");
        assert!(child.try_wait().unwrap().is_none(), "the child ended before the kill");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    proxy.set(|f| f.throttle = None);
    let recorded = phone.catalog.recorded_parts(clip).await.unwrap().len() as u64;
    let before = proxy.body_bytes();
    assert_eq!(phone.cloud.run_queue().await.unwrap().uploaded, 1);
    let resent = proxy.body_bytes() - before;
    // Only the parts not recorded, plus the completion request and the sidecar (< 64 KiB).
    let missing = size - recorded * 5 * MIB;
    assert!((missing..missing + 65_536).contains(&resent), "resent {resent}, missing {missing}");
    assert_shared_bytes(&phone, clip, &sha).await;
}

/// A plain HTTP client, as a platform's transfer agent or a browser would use.
fn http_client() -> reqwest::Client {
    // The workspace builds reqwest without a default TLS provider (the core uses ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
