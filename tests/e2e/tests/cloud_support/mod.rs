//! Shared set-up for the cloud tests: the S3 servers' endpoints (started by `scripts/s3-servers`),
//! a phone (catalog + cloud service on a fresh data directory), clips made of random bytes, and
//! a fault-injecting HTTP proxy on loopback that counts request-body bytes, resets connections
//! mid-part, answers 503 SlowDown storms and throttles.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashkeep_core::catalog::{Catalog, NewClip};
use dashkeep_core::cloud::{BackendConfig, CloudConfig, CloudEvent, CloudService, RetrySettings};
use dashkeep_core::storage::DataLayout;
use dashkeep_e2e::campaign::setting;
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const MIB: u64 = 1024 * 1024;

/// Which S3 server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// s3s-fs: checks signatures.
    S3s,
    /// moto: checks ETags, lists multipart uploads.
    Moto,
}

/// The endpoint of `server`; fails the test with how to start the servers when unset.
pub fn endpoint(server: Server) -> String {
    let var = match server {
        Server::S3s => "DASHKEEP_S3S_ENDPOINT",
        Server::Moto => "DASHKEEP_MOTO_ENDPOINT",
    };
    setting(var).unwrap_or_else(|| {
        panic!(
            "{var} is not set and target/s3-servers.env has no value: run `scripts/s3-servers` \
             (it installs and starts s3s-fs and moto on loopback) before the cloud tests"
        )
    })
}

/// An account name no other test uses.
pub fn fresh_account() -> String {
    format!("acct{:016x}", rand_u64())
}

pub fn rand_u64() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let mut x = (t.as_nanos() as u64)
        ^ (n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        ^ u64::from(std::process::id());
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 29)
}

/// Retries quick enough for tests.
pub fn fast_retry() -> RetrySettings {
    RetrySettings {
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(300),
        store_retries: 8,
        retry_timeout: Duration::from_secs(30),
        part_attempts: 4,
        request_timeout: Duration::from_secs(30),
    }
}

/// An S3 configuration for `endpoint` (a server, or a proxy in front of one).
pub fn s3_config(endpoint: &str, account: &str) -> CloudConfig {
    // The same test-server settings the campaigns use, from one place.
    let s3 = dashkeep_e2e::campaign::s3_bucket_config(endpoint);
    let mut config = CloudConfig::new(BackendConfig::S3(s3), account);
    config.part_size = 5 * MIB;
    config.retry = fast_retry();
    config
}

/// A phone: a data directory, its catalog, and a cloud service recording its events.
pub struct Phone {
    pub dir: TempDir,
    pub layout: DataLayout,
    pub catalog: Catalog,
    pub cloud: CloudService,
    pub events: Arc<Mutex<Vec<CloudEvent>>>,
}

impl Phone {
    pub async fn open(config: CloudConfig) -> Phone {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::open_in(dir, config).await
    }

    pub async fn open_in(dir: TempDir, config: CloudConfig) -> Phone {
        let layout = DataLayout::new(dir.path());
        layout.create_dirs().expect("dirs");
        let catalog = Catalog::open(&layout.catalog_path()).await.expect("catalog");
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        let observer = Arc::new(move |e: CloudEvent| sink.lock().unwrap().push(e));
        let cloud = CloudService::open(catalog.clone(), layout.clone(), config, observer)
            .await
            .expect("cloud service");
        Phone { dir, layout, catalog, cloud, events }
    }

    /// Reopens the same data directory with a new service (a restarted app).
    pub async fn reopen(self, config: CloudConfig) -> Phone {
        let Phone { dir, cloud, .. } = self;
        cloud.stop().await;
        drop(cloud);
        Self::open_in(dir, config).await
    }

    /// Writes a clip file of `size` random bytes and registers it; returns its id and bytes' hash.
    pub async fn clip(&self, size: u64) -> (i64, String) {
        let tag = rand_u64();
        let name = format!("clip_test_{tag:016x}.mp4");
        // Each clip its own window (a day's worth of starts): two are never the same event.
        let start_ms = 1_700_000_000_000 + (tag % 86_400_000) as i64;
        let path = self.layout.video_path(&name);
        let sha = write_random_file(&path, size);
        let id = self
            .catalog
            .insert_ready_clip(NewClip {
                drive_id: None,
                reason: "hard_brake".into(),
                start_ms,
                end_ms: start_ms + 30_000,
                phone_file: name,
                size_bytes: size,
                sha256: sha.clone(),
                peak_g: Some(0.62),
                location: Some((48.85, 2.35)),
            })
            .await
            .expect("clip");
        (id, sha)
    }

    pub fn clip_path(&self, name: &str) -> PathBuf {
        self.layout.video_path(name)
    }

    pub fn event_count(&self, f: impl Fn(&CloudEvent) -> bool) -> usize {
        self.events.lock().unwrap().iter().filter(|e| f(e)).count()
    }
}

/// Writes `size` pseudo-random bytes (xorshift) and returns their SHA-256 hex.
pub fn write_random_file(path: &Path, size: u64) -> String {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut hasher = Sha256::new();
    let mut x = rand_u64() | 1;
    let mut left = size;
    let mut buf = vec![0u8; 1 << 16];
    while left > 0 {
        for chunk in buf.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = x.to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
        let n = left.min(buf.len() as u64) as usize;
        hasher.update(&buf[..n]);
        f.write_all(&buf[..n]).expect("write");
        left -= n as u64;
    }
    f.flush().expect("flush");
    hex::encode(hasher.finalize())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What the proxy does to the next requests.
#[derive(Debug, Default)]
pub struct Faults {
    /// Answer this many requests with 503 SlowDown (reading and discarding their bodies).
    pub slowdowns: u64,
    /// Reset the next connection once this many body bytes of a request went through.
    pub reset_after: Option<u64>,
    /// Delay per 64 KiB of request body (throttling).
    pub throttle: Option<Duration>,
    /// Answer requests naming this upload id with 404 NoSuchUpload, as S3 does for an upload
    /// that was aborted or expired (moto answers 500, s3s-fs 403).
    pub no_such_upload: Option<String>,
}

/// Counters of the proxy.
#[derive(Debug, Default)]
pub struct ProxyStats {
    /// Request-body bytes forwarded upstream.
    pub body_bytes: AtomicU64,
    /// Requests answered with 503.
    pub slowdowns_sent: AtomicU64,
    /// Connections reset mid-body.
    pub resets: AtomicU64,
    /// Requests forwarded.
    pub requests: AtomicU64,
}

/// A fault-injecting HTTP/1.1 proxy on loopback in front of one server.
pub struct FaultProxy {
    pub url: String,
    pub stats: Arc<ProxyStats>,
    pub faults: Arc<Mutex<Faults>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let stats = Arc::new(ProxyStats::default());
        let faults = Arc::new(Mutex::new(Faults::default()));
        let (s, f) = (Arc::clone(&stats), Arc::clone(&faults));
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (s, f, up) = (Arc::clone(&s), Arc::clone(&f), upstream.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &up, s, f).await;
                });
            }
        });
        FaultProxy { url, stats, faults, task }
    }

    pub fn body_bytes(&self) -> u64 {
        self.stats.body_bytes.load(Ordering::Relaxed)
    }

    pub fn set(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.faults.lock().unwrap());
    }
}

/// Reads a request head (up to the blank line); returns it and any body bytes read past it.
async fn read_head(
    client: &mut TcpStream,
    carry: &mut Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    loop {
        if let Some(end) = carry.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = carry.split_off(end + 4);
            let head = std::mem::replace(carry, rest);
            return Ok(Some(head));
        }
        let mut buf = [0u8; 8192];
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        carry.extend_from_slice(&buf[..n]);
    }
}

fn content_length(head: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(head);
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0)
}

/// Proxies one client connection request by request, upstream on one connection, responses
/// copied back raw. Faults apply per request.
async fn serve(
    client: TcpStream,
    upstream: &str,
    stats: Arc<ProxyStats>,
    faults: Arc<Mutex<Faults>>,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    let (mut up_read, mut up_write) = server.into_split();
    // Responses are copied upstream -> client by a helper task over a second handle on the
    // client socket; this loop reads requests and may answer a 503 itself.
    let client_std = client.into_std()?;
    let mut client_back = TcpStream::from_std(client_std.try_clone()?)?;
    let mut client = TcpStream::from_std(client_std)?;
    let back = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut up_read, &mut client_back).await;
        let _ = client_back.shutdown().await;
    });
    let mut carry = Vec::new();
    let result = async {
        while let Some(head) = read_head(&mut client, &mut carry).await? {
            let len = content_length(&head);
            let (slowdown, reset_after, throttle) = {
                let mut f = faults.lock().unwrap();
                let slowdown = f.slowdowns > 0;
                if slowdown {
                    f.slowdowns -= 1;
                }
                let reset = match f.reset_after {
                    Some(limit) if !slowdown && len > limit => f.reset_after.take(),
                    _ => None,
                };
                (slowdown, reset, f.throttle)
            };
            let gone = faults.lock().unwrap().no_such_upload.as_ref().is_some_and(|id| {
                String::from_utf8_lossy(&head).lines().next().is_some_and(|l| l.contains(&format!("uploadId={id}")))
            });
            if gone {
                discard_body(&mut client, &mut carry, len).await?;
                let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>";
                let resp = format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                client.write_all(resp.as_bytes()).await?;
                client.shutdown().await?;
                return Ok(());
            }
            if slowdown {
                discard_body(&mut client, &mut carry, len).await?;
                stats.slowdowns_sent.fetch_add(1, Ordering::Relaxed);
                let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                let resp = format!(
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                client.write_all(resp.as_bytes()).await?;
                client.shutdown().await?;
                return Ok(());
            }
            stats.requests.fetch_add(1, Ordering::Relaxed);
            up_write.write_all(&head).await?;
            let mut left = len;
            let mut sent = 0u64;
            while left > 0 {
                if carry.is_empty() {
                    let mut buf = vec![0u8; 64 * 1024];
                    let n = client.read(&mut buf).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    buf.truncate(n);
                    carry = buf;
                }
                let take = (left as usize).min(carry.len());
                let chunk: Vec<u8> = carry.drain(..take).collect();
                if let Some(limit) = reset_after
                    && sent + take as u64 > limit
                {
                    stats.resets.fetch_add(1, Ordering::Relaxed);
                    #[allow(deprecated)]
                    let _ = client.set_linger(Some(Duration::ZERO));
                    return Ok(());
                }
                if let Some(d) = throttle {
                    tokio::time::sleep(d.mul_f64(take as f64 / 65536.0)).await;
                }
                up_write.write_all(&chunk).await?;
                stats.body_bytes.fetch_add(take as u64, Ordering::Relaxed);
                sent += take as u64;
                left -= take as u64;
            }
        }
        Ok::<(), std::io::Error>(())
    }
    .await;
    back.abort();
    result
}

async fn discard_body(
    client: &mut TcpStream,
    carry: &mut Vec<u8>,
    len: u64,
) -> std::io::Result<()> {
    let mut left = len;
    let take = (left as usize).min(carry.len());
    carry.drain(..take);
    left -= take as u64;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let n = client.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        left = left.saturating_sub(n as u64);
    }
    Ok(())
}

/// Fetches `url` with plain HTTP.
pub async fn http_get(url: &str) -> (u16, Vec<u8>) {
    // The workspace builds reqwest without a default TLS provider (the core uses ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let resp = reqwest::get(url).await.expect("GET");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("body").to_vec())
}
