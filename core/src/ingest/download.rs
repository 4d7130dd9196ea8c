//! One segment's video, downloaded into a partial file that survives dropped links and restarts.
//!
//! The partial file grows only by bytes the camera sent in order; a dropped link resumes with a
//! Range request from its length, so bytes already on the phone are never fetched again. Writes
//! and hashing run on the blocking pool, one buffer in flight while the next one fills, so the
//! network and the disk overlap and memory stays at two buffers whatever the segment's size.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{IngestError, Progress};
use crate::camera::{CameraClient, CameraError};
use crate::storage::StorageError;

/// Bytes gathered before one write to disk.
const WRITE_BUFFER: usize = 1 << 20;

/// How often to retry a dropped link, and how long to wait in between.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts after the first, per segment, while the camera keeps failing.
    pub max_retries: u32,
    /// The first wait; it doubles on each retry.
    pub first_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 8,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (from 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1).min(16)).unwrap_or(u32::MAX);
        self.first_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// What the download is expected to produce, from the validated listing.
pub(super) struct Expected<'a> {
    pub camera_segment_id: &'a str,
    pub size: u64,
    pub sha256: &'a str,
}

/// A partial file being appended to, with the hash of everything in it.
struct PartialFile {
    file: File,
    hasher: Sha256,
    len: u64,
    path: PathBuf,
}

impl PartialFile {
    /// Opens (or creates) the partial file and hashes what it already holds.
    fn open(path: &Path, max_len: u64) -> Result<Self, StorageError> {
        let io = |e| StorageError::from_io(path, e);
        let mut file =
            OpenOptions::new().read(true).append(true).create(true).open(path).map_err(io)?;
        let mut len = file.metadata().map_err(io)?.len();
        if len > max_len {
            file.set_len(0).map_err(io)?;
            len = 0;
        }
        let mut hasher = Sha256::new();
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut reader = (&mut file).take(len);
        loop {
            let n = reader.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(Self { file, hasher, len, path: path.to_path_buf() })
    }

    fn append(mut self, buf: &[u8]) -> Result<Self, StorageError> {
        self.file.write_all(buf).map_err(|e| StorageError::from_io(&self.path, e))?;
        self.hasher.update(buf);
        self.len += buf.len() as u64;
        Ok(self)
    }

    fn restart(mut self) -> Result<Self, StorageError> {
        self.file.set_len(0).map_err(|e| StorageError::from_io(&self.path, e))?;
        self.hasher = Sha256::new();
        self.len = 0;
        Ok(self)
    }
}

/// Appends buffers to a [`PartialFile`] on the blocking pool, one write in flight at a time.
struct Sink {
    idle: Option<PartialFile>,
    in_flight: Option<JoinHandle<Result<PartialFile, StorageError>>>,
    buf: Vec<u8>,
}

impl Sink {
    fn new(file: PartialFile) -> Self {
        Self { idle: Some(file), in_flight: None, buf: Vec::with_capacity(WRITE_BUFFER) }
    }

    async fn push(&mut self, chunk: &[u8]) -> Result<(), IngestError> {
        self.buf.extend_from_slice(chunk);
        if self.buf.len() >= WRITE_BUFFER { self.flush().await } else { Ok(()) }
    }

    async fn flush(&mut self) -> Result<(), IngestError> {
        let file = self.wait().await?;
        let buf = std::mem::replace(&mut self.buf, Vec::with_capacity(WRITE_BUFFER));
        self.in_flight = Some(tokio::task::spawn_blocking(move || file.append(&buf)));
        Ok(())
    }

    async fn wait(&mut self) -> Result<PartialFile, IngestError> {
        if let Some(handle) = self.in_flight.take() {
            return Ok(handle.await.map_err(|e| IngestError::Task(e.to_string()))??);
        }
        self.idle.take().ok_or_else(|| IngestError::Task("partial file lost".into()))
    }

    /// Writes what is buffered and hands the file back.
    async fn finish(mut self) -> Result<PartialFile, IngestError> {
        if !self.buf.is_empty() {
            self.flush().await?;
        }
        self.wait().await
    }
}

/// How one download attempt ended.
enum Attempt {
    /// The partial file holds `size` bytes.
    Complete(PartialFile),
    /// The link failed; the partial file holds what arrived.
    Dropped(PartialFile, CameraError),
}

/// Downloads the video into `partial` until it holds the listed size and hash, resuming after
/// dropped links. Returns the bytes fetched over the network. On a hash mismatch the partial file
/// is removed and [`IngestError::ChecksumMismatch`] returned: nothing wrong is ever kept.
pub(super) async fn download_video(
    camera: &CameraClient,
    expected: &Expected<'_>,
    partial: &Path,
    retry: RetryPolicy,
    progress: &Progress<'_>,
    cancel: &CancellationToken,
) -> Result<u64, IngestError> {
    let path = partial.to_path_buf();
    let size = expected.size;
    let mut file = tokio::task::spawn_blocking(move || PartialFile::open(&path, size))
        .await
        .map_err(|e| IngestError::Task(e.to_string()))??;
    let resumed_from = file.len;
    progress.started(resumed_from);
    let mut fetched = 0u64;
    let mut failures = 0u32;
    while file.len < size {
        let before = file.len;
        file = match attempt(camera, expected, file, progress, cancel).await? {
            Attempt::Complete(f) => f,
            Attempt::Dropped(f, err) => {
                failures += 1;
                if failures > retry.max_retries || !err.is_transient() {
                    return Err(IngestError::Camera(err));
                }
                tracing::info!(segment = expected.camera_segment_id, bytes = f.len, %err,
                    "link dropped mid-segment; resuming");
                sleep_or_cancel(retry.backoff(failures), cancel).await?;
                f
            }
        };
        fetched += file.len.saturating_sub(before);
    }
    finish_and_verify(file, expected).await?;
    Ok(fetched)
}

async fn attempt(
    camera: &CameraClient,
    expected: &Expected<'_>,
    mut file: PartialFile,
    progress: &Progress<'_>,
    cancel: &CancellationToken,
) -> Result<Attempt, IngestError> {
    let download = match camera.video(expected.camera_segment_id, file.len).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            // 416: the camera says the file ends before our partial does; start over.
            file = restart(file).await?;
            return Ok(Attempt::Dropped(
                file,
                CameraError::Status { status: 416, message: "range not satisfiable".into() },
            ));
        }
        Err(e) => return Ok(Attempt::Dropped(file, e)),
    };
    if download.offset != file.len {
        file = restart(file).await?;
    }
    let mut len = file.len;
    let mut sink = Sink::new(file);
    let mut body = download.body;
    loop {
        let next = tokio::select! {
            () = cancel.cancelled() => {
                sink.finish().await?;
                return Err(IngestError::Cancelled);
            }
            next = body.next() => next,
        };
        match next {
            None => break,
            Some(Err(e)) => return Ok(Attempt::Dropped(sink.finish().await?, e)),
            Some(Ok(chunk)) => {
                let before = len;
                len += chunk.len() as u64;
                if len > expected.size {
                    let file = sink.finish().await?;
                    discard(file).await;
                    return Err(IngestError::SizeMismatch {
                        segment: expected.camera_segment_id.to_string(),
                        listed: expected.size,
                        received: len,
                    });
                }
                sink.push(&chunk).await?;
                progress.advanced(before, len);
            }
        }
    }
    let file = sink.finish().await?;
    if file.len < expected.size {
        // The body ended cleanly but short: the link dropped between chunks.
        let err = CameraError::Protocol(format!("body ended at {} of {}", file.len, expected.size));
        return Ok(Attempt::Dropped(file, err));
    }
    Ok(Attempt::Complete(file))
}

async fn restart(file: PartialFile) -> Result<PartialFile, IngestError> {
    Ok(tokio::task::spawn_blocking(move || file.restart())
        .await
        .map_err(|e| IngestError::Task(e.to_string()))??)
}

/// Removes a partial file that can never become right.
async fn discard(file: PartialFile) {
    let path = file.path.clone();
    drop(file);
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_file(path)).await;
}

/// Checks the hash; the caller makes the file durable before naming it.
async fn finish_and_verify(file: PartialFile, expected: &Expected<'_>) -> Result<(), IngestError> {
    let actual = hex::encode(file.hasher.clone().finalize());
    if actual != expected.sha256 {
        discard(file).await;
        return Err(IngestError::ChecksumMismatch {
            segment: expected.camera_segment_id.to_string(),
        });
    }
    Ok(())
}

pub(super) async fn sleep_or_cancel(
    wait: Duration,
    cancel: &CancellationToken,
) -> Result<(), IngestError> {
    tokio::select! {
        () = cancel.cancelled() => Err(IngestError::Cancelled),
        () = tokio::time::sleep(wait) => Ok(()),
    }
}
