//! One segment's video, downloaded into a partial file that survives dropped links and restarts.
//!
//! The partial file grows only by bytes the camera sent in order; a dropped link resumes with a
//! Range request from its length, so bytes already on the phone are never fetched again.
//!
//! The bytes flow through a pipeline: the async task copies the network's chunks into an aligned
//! buffer and queues each full one for a writer thread, which hands it on to a hasher thread,
//! which hands it back for filling ([`Sink`]). The network, the disk and the digest overlap, a
//! disk that is slower for a moment does not stop the link from being read, and memory stays at a
//! few buffers whatever the segment's size. Whole blocks are written with direct I/O where the
//! platform allows it (Linux, Android): they reach the device without a copy into the page cache,
//! so the fsync that makes the segment durable (in the caller) has almost nothing left to write.
//! Writes are in order at the partial file's end, so its length always covers bytes that arrived.
//! Once the last byte arrived, the caller goes on (to the next download) while the threads
//! finish the last buffers ([`Fetched::written`] waits for them).
//! The digest is the one the camera listed (a Dashkeep camera's SHA-256, checked at the end), or,
//! for a vendor file that lists none, the phone's own CRC-64 ([`Expected::algorithm`]; why in
//! `storage::ContentHash`).

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{IngestError, Progress};
use crate::camera::driver::CameraFile;
use crate::camera::{CameraDriver, CameraError, DriverError};
use crate::storage::{ContentHash, ContentHasher, HashAlgorithm, StorageError};

/// Bytes gathered before one write to disk: a multiple of [`ALIGN`].
const WRITE_BUFFER: usize = 1 << 20;
/// Buffers one download holds at most (filling, queued, being written or hashed): 6 MiB.
const BUFFERS: usize = 6;
/// Bytes of queued buffers written in one call at most: a disk takes 4 MiB in one direct write
/// faster than in four (`docs/benchmarks.md`).
const MAX_WRITE: usize = 4 * WRITE_BUFFER;
/// What direct I/O needs aligned (memory address, file offset and length): the largest logical
/// block size of phone flash and disks.
const ALIGN: usize = 4096;

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
    /// The digest the camera listed, where it gives one (a Dashkeep camera's SHA-256); vendor
    /// files are checked structurally after the download instead.
    pub listed: Option<&'a ContentHash>,
}

impl Expected<'_> {
    /// The digest computed while downloading: the listed one's algorithm, to compare with it;
    /// else CRC-64, the phone's own digest of a file nothing else will compare (every byte is
    /// hashed, and CRC-64 costs a fraction of any cryptographic hash per byte).
    pub fn algorithm(&self) -> HashAlgorithm {
        self.listed.map_or(HashAlgorithm::Crc64Nvme, |hash| hash.algorithm)
    }
}

/// A partial file being appended to, with the hash of everything in it.
///
/// Whole aligned blocks go through a second handle opened with `O_DIRECT` where the platform and
/// file system allow it: the bytes go from our buffer to the device without a copy into the page
/// cache, so the fsync before the rename has (almost) nothing left to write. Anything unaligned
/// (the tail of a segment, the head after resuming at an odd length) goes through the page cache.
struct PartialFile {
    file: File,
    direct: Option<File>,
    hasher: ContentHasher,
    len: u64,
    path: PathBuf,
}

impl PartialFile {
    /// Opens (or creates) the partial file and hashes what it already holds by `algorithm`.
    fn open(path: &Path, max_len: u64, algorithm: HashAlgorithm) -> Result<Self, StorageError> {
        let io = |e| StorageError::from_io(path, e);
        // Kept, not truncated: what it holds is where the download resumes from.
        let file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path);
        let mut file = file.map_err(io)?;
        let mut len = file.metadata().map_err(io)?.len();
        if len > max_len {
            file.set_len(0).map_err(io)?;
            len = 0;
        }
        let mut hasher = ContentHasher::new(algorithm);
        hasher.read_from((&mut file).take(len)).map_err(io)?;
        let direct = open_direct(path);
        Ok(Self { file, direct, hasher, len, path: path.to_path_buf() })
    }

    /// Appends `data`: its whole blocks directly when the file's end is block-aligned, the rest
    /// through the page cache.
    fn append(&mut self, data: &[u8]) -> Result<(), StorageError> {
        let aligned =
            if self.len.is_multiple_of(ALIGN as u64) { data.len() / ALIGN * ALIGN } else { 0 };
        let (blocks, rest) = data.split_at(aligned);
        if !blocks.is_empty() {
            self.write_direct(blocks).map_err(|e| StorageError::from_io(&self.path, e))?;
            self.len += blocks.len() as u64;
        }
        if !rest.is_empty() {
            let written = self.file.write_all_at(rest, self.len);
            written.map_err(|e| StorageError::from_io(&self.path, e))?;
            self.len += rest.len() as u64;
        }
        Ok(())
    }

    /// Appends `buffers` in order: in one vectored direct write when the file's end and every
    /// buffer are block-aligned, else one by one ([`Self::append`]).
    fn append_all(&mut self, buffers: &[AlignedBuf]) -> Result<(), StorageError> {
        let aligned = self.len.is_multiple_of(ALIGN as u64)
            && buffers.iter().all(|b| b.len.is_multiple_of(ALIGN));
        let start = self.len;
        if buffers.len() > 1 && aligned && self.direct.is_some() {
            match self.write_direct_all(buffers) {
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                    tracing::debug!(path = %self.path.display(), "direct I/O refused; buffered");
                    self.direct = None;
                }
                Err(e) => return Err(StorageError::from_io(&self.path, e)),
                Ok(()) => return Ok(()),
            }
        }
        // What a refused direct write left, through the page cache.
        let mut skip = usize::try_from(self.len - start).unwrap_or(usize::MAX);
        for bytes in buffers.iter().map(AlignedBuf::bytes) {
            let from = skip.min(bytes.len());
            skip -= from;
            self.append(&bytes[from..])?;
        }
        Ok(())
    }

    /// One vectored direct write of whole blocks at the end (resumed where a short write
    /// stopped); the file's length covers what went down, whatever fails.
    fn write_direct_all(&mut self, buffers: &[AlignedBuf]) -> io::Result<()> {
        let Some(direct) = &self.direct else { return Err(io::ErrorKind::InvalidInput.into()) };
        let total: usize = buffers.iter().map(|b| b.len).sum();
        let mut done = 0;
        while done < total {
            let mut skip = done;
            let slices: Vec<io::IoSlice<'_>> = buffers
                .iter()
                .filter_map(|b| {
                    let bytes = b.bytes();
                    let from = skip.min(bytes.len());
                    skip -= from;
                    (from < bytes.len()).then(|| io::IoSlice::new(&bytes[from..]))
                })
                .collect();
            match rustix::io::pwritev(direct, &slices, self.len) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    done += n;
                    self.len += n as u64;
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Writes whole blocks at the end, directly if possible. A file system that refuses direct
    /// I/O (EINVAL) gets buffered writes from then on; rewriting the same offsets is harmless.
    fn write_direct(&mut self, blocks: &[u8]) -> io::Result<()> {
        if let Some(direct) = &self.direct {
            match direct.write_all_at(blocks, self.len) {
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                    tracing::debug!(path = %self.path.display(), "direct I/O refused; buffered");
                    self.direct = None;
                }
                result => return result,
            }
        }
        self.file.write_all_at(blocks, self.len)
    }

    fn restart(mut self) -> Result<Self, StorageError> {
        self.file.set_len(0).map_err(|e| StorageError::from_io(&self.path, e))?;
        self.hasher = ContentHasher::new(self.hasher.algorithm());
        self.len = 0;
        Ok(self)
    }
}

/// A second handle on the partial file for direct I/O, where the platform has it.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn open_direct(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = rustix::fs::OFlags::DIRECT.bits();
    let flags = i32::try_from(flags).ok()?;
    OpenOptions::new().write(true).custom_flags(flags).open(path).ok()
}

/// A second handle on the partial file for direct I/O, where the platform has it.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn open_direct(_path: &Path) -> Option<File> {
    None
}

/// A write buffer whose bytes start at an [`ALIGN`]-aligned address, as direct I/O needs.
struct AlignedBuf {
    raw: Vec<u8>,
    start: usize,
    len: usize,
}

/// Write buffers kept from earlier downloads for the next ones: a fresh buffer costs its page
/// faults and zeroing on the download's own task, about 6% of an ingest's CPU
/// (`docs/benchmarks.md`). At most [`BUFFERS`] are kept, what the next download takes anyway.
static SPARE_BUFFERS: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

impl AlignedBuf {
    /// An empty buffer: a spare one if any, else a new one.
    fn new() -> Self {
        let spare = SPARE_BUFFERS.lock().ok().and_then(|mut spare| spare.pop());
        let raw = spare.unwrap_or_else(|| vec![0u8; WRITE_BUFFER + ALIGN]);
        let start = (ALIGN - raw.as_ptr() as usize % ALIGN) % ALIGN;
        Self { raw, start, len: 0 }
    }

    /// A buffer that holds nothing and is never filled (what a finished sink is left with).
    fn none() -> Self {
        Self { raw: Vec::new(), start: 0, len: 0 }
    }

    fn bytes(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }

    /// Copies as much of `chunk` as fits below `limit` bytes; returns how much.
    fn fill(&mut self, chunk: &[u8], limit: usize) -> usize {
        let n = chunk.len().min(limit.saturating_sub(self.len));
        let at = self.start + self.len;
        self.raw[at..at + n].copy_from_slice(&chunk[..n]);
        self.len += n;
        n
    }
}

impl Drop for AlignedBuf {
    /// Keeps the buffer for the next download, unless enough are kept (its bytes are never read
    /// again: a buffer is only read up to what it was filled with).
    fn drop(&mut self) {
        if self.raw.is_empty() {
            return;
        }
        if let Ok(mut spare) = SPARE_BUFFERS.lock()
            && spare.len() < BUFFERS
        {
            spare.push(std::mem::take(&mut self.raw));
        }
    }
}

/// Appends to a [`PartialFile`] through a pipeline of three: the async task fills a buffer from
/// the network and queues it for the writer (a blocking thread), which hands each written buffer
/// to the hasher (another), which hands it back for filling. Up to [`BUFFERS`] are out at once,
/// so a disk that is slower for a moment does not stop the link from being read; buffers that
/// queued up while the disk was busy go down in one vectored write, which a disk takes faster
/// than the same bytes in several. Memory stays at [`BUFFERS`] buffers whatever the size.
struct Sink {
    filling: AlignedBuf,
    /// Buffers handed out so far (filling, queued, being written or hashed).
    buffers: usize,
    /// The file offset `filling` starts at.
    offset: u64,
    to_writer: tokio::sync::mpsc::Sender<AlignedBuf>,
    /// Buffers written and hashed, ready to fill again.
    returned: tokio::sync::mpsc::UnboundedReceiver<AlignedBuf>,
    writer: JoinHandle<Result<PartialFile, StorageError>>,
    hasher: JoinHandle<ContentHasher>,
}

impl Sink {
    fn new(mut file: PartialFile) -> Self {
        let fresh = ContentHasher::new(file.hasher.algorithm());
        let digest = std::mem::replace(&mut file.hasher, fresh);
        let offset = file.len;
        let (to_writer, queued) = tokio::sync::mpsc::channel::<AlignedBuf>(BUFFERS);
        let (to_hasher, written) = std::sync::mpsc::channel::<AlignedBuf>();
        let (back, returned) = tokio::sync::mpsc::unbounded_channel();
        let writer = tokio::task::spawn_blocking(move || write_queued(file, queued, to_hasher));
        let hasher = tokio::task::spawn_blocking(move || hash_written(digest, written, back));
        let filling = AlignedBuf::new();
        Self { filling, buffers: 1, offset, to_writer, returned, writer, hasher }
    }

    /// How full `filling` gets: a whole buffer, less what realigns an odd file length, so that
    /// every later buffer starts on a block.
    fn limit(&self) -> usize {
        WRITE_BUFFER - (self.offset % ALIGN as u64) as usize
    }

    async fn push(&mut self, mut chunk: &[u8]) -> Result<(), IngestError> {
        while !chunk.is_empty() {
            let n = self.filling.fill(chunk, self.limit());
            chunk = &chunk[n..];
            if self.filling.len == self.limit() {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Queues `filling` for the writer and takes a buffer to fill next: one back from the
    /// hasher, a new one while fewer than [`BUFFERS`] are out, else the first to come back.
    async fn flush(&mut self) -> Result<(), IngestError> {
        let next = match self.returned.try_recv() {
            Ok(buf) => Some(buf),
            Err(_) if self.buffers < BUFFERS => {
                self.buffers += 1;
                Some(AlignedBuf::new())
            }
            Err(_) => self.returned.recv().await,
        };
        // The hasher hands nothing back only once the writer stopped.
        let Some(mut next) = next else { return Err(self.writer_failure().await) };
        next.len = 0;
        let full = std::mem::replace(&mut self.filling, next);
        self.queue(full).await
    }

    /// Hands a filled buffer to the writer.
    async fn queue(&mut self, full: AlignedBuf) -> Result<(), IngestError> {
        self.offset += full.len as u64;
        if self.to_writer.send(full).await.is_err() {
            return Err(self.writer_failure().await);
        }
        Ok(())
    }

    /// Why the writer stopped early.
    async fn writer_failure(&mut self) -> IngestError {
        match (&mut self.writer).await {
            Ok(Err(e)) => e.into(),
            Ok(Ok(_)) => IngestError::Task("the segment writer stopped".into()),
            Err(e) => IngestError::Task(e.to_string()),
        }
    }

    /// Writes what is buffered and hands the file back, with its hash.
    async fn finish(mut self) -> Result<PartialFile, IngestError> {
        if self.filling.len > 0 {
            let last = std::mem::replace(&mut self.filling, AlignedBuf::none());
            self.queue(last).await?;
        }
        let Self { to_writer, writer, hasher, .. } = self;
        drop(to_writer);
        let mut file = writer.await.map_err(|e| IngestError::Task(e.to_string()))??;
        file.hasher = hasher.await.map_err(|e| IngestError::Task(e.to_string()))?;
        Ok(file)
    }
}

/// The writer thread: appends each queued buffer, together with those queued behind it (up to
/// [`MAX_WRITE`]), then passes them on to the hasher. Ends when the sink stops queueing, handing
/// the file back, or at the first failed write.
fn write_queued(
    mut file: PartialFile,
    mut queued: tokio::sync::mpsc::Receiver<AlignedBuf>,
    to_hasher: std::sync::mpsc::Sender<AlignedBuf>,
) -> Result<PartialFile, StorageError> {
    while let Some(first) = queued.blocking_recv() {
        let mut bytes = first.len;
        let mut batch = vec![first];
        while bytes < MAX_WRITE {
            let Ok(next) = queued.try_recv() else { break };
            bytes += next.len;
            batch.push(next);
        }
        file.append_all(&batch)?;
        for buf in batch {
            // The hasher only goes away with the sink.
            let _ = to_hasher.send(buf);
        }
    }
    Ok(file)
}

/// The hasher thread: feeds each written buffer to the digest and hands it back for filling.
fn hash_written(
    mut digest: ContentHasher,
    written: std::sync::mpsc::Receiver<AlignedBuf>,
    back: tokio::sync::mpsc::UnboundedSender<AlignedBuf>,
) -> ContentHasher {
    for buf in written {
        digest.update(buf.bytes());
        // The sink may be gone (a failed attempt): the buffer is then just freed.
        let _ = back.send(buf);
    }
    digest
}

/// How one download attempt ended.
enum Attempt {
    /// Every byte arrived; the last of them may still be on their way to the disk.
    Complete(Tail),
    /// The link failed; the partial file holds what arrived.
    Dropped(PartialFile, DriverError),
}

/// The partial file once its last buffers are written and hashed.
type Tail = JoinHandle<Result<PartialFile, IngestError>>;

/// A download whose bytes have all arrived: the bytes fetched over the network, and the file's
/// last buffers, which the writer and hasher threads finish while the caller goes on (the next
/// download overlaps them). [`Fetched::written`] waits for them and gives the digest.
pub(super) struct Fetched {
    pub bytes: u64,
    tail: Tail,
    listed: Option<ContentHash>,
    segment: String,
}

impl Fetched {
    /// Waits until the whole file is written, and returns its digest: checked against the listed
    /// one where the camera gave one ([`IngestError::ChecksumMismatch`], and the partial file
    /// removed, when they differ).
    pub async fn written(self) -> Result<ContentHash, IngestError> {
        let file = self.tail.await.map_err(|e| IngestError::Task(e.to_string()))??;
        let actual = file.hasher.clone().finish();
        if self.listed.is_some_and(|listed| listed != actual) {
            discard(file).await;
            return Err(IngestError::ChecksumMismatch { segment: self.segment });
        }
        Ok(actual)
    }
}

/// Downloads `remote` from any camera driver into `partial` until it holds the expected size
/// (and hash, where one is listed), resuming after dropped links (Range, or a clean restart when
/// the camera answers from 0). On a hash mismatch the partial file is removed and
/// [`IngestError::ChecksumMismatch`] returned: nothing wrong is ever kept.
pub(super) async fn download_video(
    camera: &dyn CameraDriver,
    remote: &CameraFile,
    expected: &Expected<'_>,
    partial: &Path,
    retry: RetryPolicy,
    progress: Option<&Progress<'_>>,
    cancel: &CancellationToken,
) -> Result<Fetched, IngestError> {
    let path = partial.to_path_buf();
    let (size, algorithm) = (expected.size, expected.algorithm());
    let mut file = tokio::task::spawn_blocking(move || PartialFile::open(&path, size, algorithm))
        .await
        .map_err(|e| IngestError::Task(e.to_string()))??;
    if file.len > 0 && expected.listed.is_none() && !tail_matches(camera, remote, &file).await {
        tracing::info!(
            segment = expected.camera_segment_id,
            bytes = file.len,
            "the partial download is not the camera's file; starting over"
        );
        file = restart(file).await?;
    }
    let resumed_from = file.len;
    if let Some(progress) = progress {
        progress.started(resumed_from);
    }
    let mut fetched = 0u64;
    let mut failures = 0u32;
    let tail = loop {
        if file.len >= size {
            // Complete from an earlier pass: nothing left to write.
            break tokio::spawn(async move { Ok(file) });
        }
        let before = file.len;
        match attempt(camera, remote, expected, file, progress, cancel).await? {
            Attempt::Complete(tail) => {
                fetched += size - before;
                break tail;
            }
            Attempt::Dropped(f, err) => {
                failures += 1;
                if failures > retry.max_retries || !err.is_transient() {
                    return Err(err.into());
                }
                tracing::info!(segment = expected.camera_segment_id, bytes = f.len, %err,
                    "link dropped mid-segment; resuming");
                sleep_or_cancel(retry.backoff(failures), cancel).await?;
                fetched += f.len.saturating_sub(before);
                file = f;
            }
        }
    };
    let segment = expected.camera_segment_id.to_string();
    Ok(Fetched { bytes: fetched, tail, listed: expected.listed.cloned(), segment })
}

async fn attempt(
    camera: &dyn CameraDriver,
    remote: &CameraFile,
    expected: &Expected<'_>,
    mut file: PartialFile,
    progress: Option<&Progress<'_>>,
    cancel: &CancellationToken,
) -> Result<Attempt, IngestError> {
    let download = match camera.download(remote, file.len).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            // 416: the camera says the file ends before our partial does; start over.
            file = restart(file).await?;
            return Ok(Attempt::Dropped(
                file,
                CameraError::Status { status: 416, message: "range not satisfiable".into() }.into(),
            ));
        }
        Err(e) => return Ok(Attempt::Dropped(file, e)),
    };
    if let Some(total) = download.total.filter(|t| *t != expected.size) {
        // The camera's file is not the one listed (still growing, or rewritten by its loop
        // recorder): nothing of it is kept.
        discard(file).await;
        return Err(IngestError::SizeMismatch {
            segment: expected.camera_segment_id.to_string(),
            listed: expected.size,
            received: total,
        });
    }
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
                if let Some(progress) = progress {
                    progress.advanced(before, len);
                }
            }
        }
    }
    if len < expected.size {
        // The body ended cleanly but short: the link dropped between chunks.
        let file = sink.finish().await?;
        let err = CameraError::Protocol(format!("body ended at {len} of {}", expected.size));
        return Ok(Attempt::Dropped(file, err.into()));
    }
    Ok(Attempt::Complete(tokio::spawn(sink.finish())))
}

/// Bytes of a partial download compared with the camera's before resuming it.
const RESUME_OVERLAP: u64 = 64 * 1024;

/// Whether the end of a partial download kept from an earlier pass (or an earlier run of the
/// app) is the camera's file at that place. A vendor camera lists no checksum, so nothing else
/// would notice a partial of another recording under the same name (an unset clock repeats
/// names) and the resumed file would splice two videos. Asks the camera for the last
/// [`RESUME_OVERLAP`] bytes the partial holds; a camera that ignores Range, fails, or answers
/// other bytes means starting over.
async fn tail_matches(camera: &dyn CameraDriver, remote: &CameraFile, file: &PartialFile) -> bool {
    let overlap = file.len.min(RESUME_OVERLAP);
    let from = file.len - overlap;
    let Ok(Some(download)) = camera.download(remote, from).await else { return false };
    if download.offset != from {
        return false;
    }
    let mut theirs = Vec::with_capacity(overlap as usize);
    let mut body = download.body;
    while (theirs.len() as u64) < overlap {
        match body.next().await {
            Some(Ok(chunk)) => theirs.extend_from_slice(&chunk),
            _ => return false,
        }
    }
    theirs.truncate(overlap as usize);
    let (path, len) = (file.path.clone(), overlap as usize);
    let ours = tokio::task::spawn_blocking(move || {
        let mut tail = vec![0u8; len];
        File::open(path)?.read_exact_at(&mut tail, from)?;
        Ok::<_, io::Error>(tail)
    });
    matches!(ours.await, Ok(Ok(tail)) if tail == theirs)
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

pub(super) async fn sleep_or_cancel(
    wait: Duration,
    cancel: &CancellationToken,
) -> Result<(), IngestError> {
    tokio::select! {
        () = cancel.cancelled() => Err(IngestError::Cancelled),
        () = tokio::time::sleep(wait) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [HashAlgorithm; 2] = [HashAlgorithm::Sha256, HashAlgorithm::Crc64Nvme];

    /// The digest of `bytes` by `algorithm`, computed in one go.
    fn digest(algorithm: HashAlgorithm, bytes: &[u8]) -> ContentHash {
        let mut hasher = ContentHasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    /// A listed digest is recomputed by its own algorithm, to be compared; a file whose camera
    /// lists none gets the phone's own CRC-64.
    #[test]
    fn the_digest_is_the_listed_ones_else_crc64() {
        let listed = ContentHash::sha256("a".repeat(64));
        let dashkeep = Expected { camera_segment_id: "D1_S0001", size: 1, listed: Some(&listed) };
        assert_eq!(dashkeep.algorithm(), HashAlgorithm::Sha256);
        let vendor = Expected { camera_segment_id: "F_MP4", size: 1, listed: None };
        assert_eq!(vendor.algorithm(), HashAlgorithm::Crc64Nvme);
    }

    /// Resuming at an odd length, in odd-sized chunks, across several buffers: the file holds
    /// every byte in order and the hash covers all of it, whether or not direct I/O is used.
    #[tokio::test]
    async fn sink_appends_in_order_from_an_unaligned_length() {
        for algorithm in BOTH {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("seg.part");
            let data: Vec<u8> =
                (0..3 * WRITE_BUFFER + 12_345).map(|i| (i * 7 % 251) as u8).collect();
            let resumed = 5_000;
            std::fs::write(&path, &data[..resumed]).unwrap();

            let file = PartialFile::open(&path, data.len() as u64, algorithm).unwrap();
            assert_eq!(file.len, resumed as u64);
            let mut sink = Sink::new(file);
            for chunk in data[resumed..].chunks(65_537) {
                sink.push(chunk).await.unwrap();
            }
            let file = sink.finish().await.unwrap();

            assert_eq!(file.len, data.len() as u64);
            assert_eq!(file.hasher.clone().finish(), digest(algorithm, &data));
            drop(file);
            assert!(std::fs::read(&path).unwrap() == data, "file content differs");
        }
    }

    /// A second attempt continues the same file after the first one ended on an odd length, and
    /// a partial reopened later (the app restarted) is re-hashed by the same algorithm.
    #[tokio::test]
    async fn a_second_sink_continues_after_an_unaligned_finish() {
        for algorithm in BOTH {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("seg.part");
            let data: Vec<u8> = (0..2 * WRITE_BUFFER + 999).map(|i| (i % 253) as u8).collect();
            let split = WRITE_BUFFER + 4_097;

            let partial = PartialFile::open(&path, data.len() as u64, algorithm).unwrap();
            let mut sink = Sink::new(partial);
            sink.push(&data[..split]).await.unwrap();
            let mut sink = Sink::new(sink.finish().await.unwrap());
            sink.push(&data[split..]).await.unwrap();
            let file = sink.finish().await.unwrap();

            assert_eq!(file.hasher.clone().finish(), digest(algorithm, &data));
            drop(file);
            assert!(std::fs::read(&path).unwrap() == data, "file content differs");
            let reopened = PartialFile::open(&path, data.len() as u64, algorithm).unwrap();
            assert_eq!(reopened.hasher.finish(), digest(algorithm, &data));
        }
    }

    /// Buffers that queued up while the disk was busy go down in one write, in order, from an
    /// aligned end directly, and from an odd one through the page cache.
    #[test]
    fn queued_buffers_are_appended_in_order_in_one_go() {
        for head in [0usize, 1_000] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("seg.part");
            std::fs::write(&path, vec![7u8; head]).unwrap();
            let mut file = PartialFile::open(&path, 1 << 30, HashAlgorithm::Crc64Nvme).unwrap();
            let buffers: Vec<AlignedBuf> = (0..3u8)
                .map(|i| {
                    let mut buf = AlignedBuf::new();
                    let bytes: Vec<u8> = (0..WRITE_BUFFER).map(|j| i ^ (j % 251) as u8).collect();
                    buf.fill(&bytes, WRITE_BUFFER);
                    buf
                })
                .collect();
            file.append_all(&buffers).unwrap();

            let mut expected = vec![7u8; head];
            buffers.iter().for_each(|b| expected.extend_from_slice(b.bytes()));
            assert_eq!(file.len, expected.len() as u64);
            drop(file);
            assert!(std::fs::read(&path).unwrap() == expected, "file content differs");
        }
    }

    /// A disk that fails every write (`/dev/full`) ends the download with a typed storage
    /// error, whether the writer fails while buffers are still coming or at the end: never a
    /// hang, never a success.
    #[tokio::test]
    async fn a_failing_disk_ends_the_download_with_its_error() {
        let full = Path::new("/dev/full");
        let file = PartialFile::open(full, 1 << 30, HashAlgorithm::Crc64Nvme).unwrap();
        let mut sink = Sink::new(file);
        let data = vec![1u8; 64 * 1024];
        let run = async {
            for _ in 0..(2 * BUFFERS * WRITE_BUFFER / data.len()) {
                sink.push(&data).await?;
            }
            sink.finish().await
        };
        let outcome = tokio::time::timeout(Duration::from_secs(30), run).await.expect("no hang");
        let error = outcome.err().expect("a disk that fails every write fails the download");
        assert!(
            matches!(error, IngestError::Storage(StorageError::Full { .. })),
            "a full disk is said so: {error:?}"
        );
    }

    /// A restart (the camera answered from 0) starts the digest over, by the same algorithm.
    #[test]
    fn a_restarted_partial_hashes_from_nothing_by_the_same_algorithm() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg.part");
        std::fs::write(&path, b"someone else's bytes").unwrap();
        let file = PartialFile::open(&path, 1 << 20, HashAlgorithm::Crc64Nvme).unwrap();
        let file = file.restart().unwrap();
        assert_eq!(file.len, 0);
        assert_eq!(file.hasher.clone().finish(), digest(HashAlgorithm::Crc64Nvme, b""));
    }
}
