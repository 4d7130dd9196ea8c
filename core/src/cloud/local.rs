//! The local directory backend: the embedded default, no set-up. Objects are files under a root
//! directory, each with a `.meta` file holding its SHA-256; multipart parts wait in
//! `.multipart/<upload id>/` until completion concatenates them. Every write is fsynced and
//! renamed into place, so a crash never leaves a half object under its key.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::backend::{
    BackendKind, ByteStream, Listed, ObjectBackend, ObjectInfo, PresignedRequest,
};
use super::{CloudError, blocking, random_hex};
use crate::storage::{commit_rename, fsync_dir};

const META_SUFFIX: &str = ".meta";
const MULTIPART_DIR: &str = ".multipart";
const CHUNK: usize = 256 * 1024;

/// A directory on this machine standing in for object storage.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    root: PathBuf,
}

impl LocalBackend {
    /// A backend keeping objects under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn object_path(&self, key: &str) -> Result<PathBuf, CloudError> {
        let safe = key
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.starts_with(MULTIPART_DIR));
        if !safe || key.ends_with(META_SUFFIX) {
            return Err(CloudError::InvalidConfig(format!("bad object key {key:?}")));
        }
        Ok(self.root.join(key))
    }

    fn upload_dir(&self, upload_id: &str) -> Result<PathBuf, CloudError> {
        if upload_id.is_empty() || !upload_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CloudError::UploadGone(format!("bad upload id {upload_id:?}")));
        }
        Ok(self.root.join(MULTIPART_DIR).join(upload_id))
    }
}

fn io_err(path: &Path, e: std::io::Error) -> CloudError {
    CloudError::Io { path: path.to_path_buf(), source: e }
}

/// Writes `data` to `dest` durably: a temp file beside it, fsync, rename, fsync the directory.
fn write_durable(dest: &Path, data: &[u8]) -> Result<(), CloudError> {
    let dir = dest.parent().ok_or_else(|| CloudError::InvalidConfig("no parent".into()))?;
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let tmp = dir.join(format!(".tmp-{}", random_hex()));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(data).and_then(|()| f.sync_all()))
        .map_err(|e| io_err(&tmp, e))
        .and_then(|()| commit_rename(&tmp, dest).map_err(CloudError::from));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn meta_path(object: &Path) -> PathBuf {
    let mut s = object.as_os_str().to_os_string();
    s.push(META_SUFFIX);
    PathBuf::from(s)
}

fn remove_if_present(path: &Path) -> Result<(), CloudError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, e)),
    }
}

fn list_dir(root: &Path, dir: &Path, out: &mut Vec<Listed>) -> Result<(), CloudError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.ends_with(META_SUFFIX) {
            continue;
        }
        let meta = entry.metadata().map_err(|e| io_err(&path, e))?;
        if meta.is_dir() {
            list_dir(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let key = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>();
            out.push(Listed { key: key.join("/"), size: meta.len() });
        }
    }
    Ok(())
}

/// Concatenates the parts into the object, fsyncs it and renames it into place.
fn assemble(dir: &Path, dest: &Path, parts: &[String]) -> Result<(), CloudError> {
    let tmp = dir.join("assembled");
    let mut out = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    for (i, id) in parts.iter().enumerate() {
        let part = dir.join(format!("part-{:05}", i + 1));
        let mut f = std::fs::File::open(&part)
            .map_err(|_| CloudError::UploadGone(format!("part {} is missing", i + 1)))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = f.read(&mut buf).map_err(|e| io_err(&part, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| io_err(&tmp, e))?;
        }
        if hex::encode(hasher.finalize()) != *id {
            return Err(CloudError::UploadGone(format!("part {} does not match its id", i + 1)));
        }
    }
    out.sync_all().map_err(|e| io_err(&tmp, e))?;
    let parent = dest.parent().ok_or_else(|| CloudError::InvalidConfig("no parent".into()))?;
    std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    commit_rename(&tmp, dest)?;
    Ok(())
}

#[async_trait::async_trait]
impl ObjectBackend for LocalBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Local
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, CloudError> {
        let path = self.object_path(key)?;
        blocking(move || {
            let size = match std::fs::metadata(&path) {
                Ok(m) => m.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io_err(&path, e)),
            };
            let sha256 =
                std::fs::read_to_string(meta_path(&path)).ok().map(|s| s.trim().to_string());
            Ok(Some(ObjectInfo { size, sha256 }))
        })
        .await
    }

    async fn put(&self, key: &str, data: Bytes, sha256: Option<&str>) -> Result<(), CloudError> {
        let path = self.object_path(key)?;
        let sha = sha256.map(str::to_string);
        blocking(move || {
            // The meta file first: an object is never visible without its checksum.
            match &sha {
                Some(sha) => write_durable(&meta_path(&path), sha.as_bytes())?,
                None => remove_if_present(&meta_path(&path))?,
            }
            write_durable(&path, &data)
        })
        .await
    }

    async fn create_multipart(&self, key: &str, sha256: &str) -> Result<String, CloudError> {
        self.object_path(key)?;
        let id = random_hex();
        let dir = self.upload_dir(&id)?;
        let (key, sha) = (key.to_string(), sha256.to_string());
        blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
            write_durable(&dir.join("key"), key.as_bytes())?;
            write_durable(&dir.join("sha256"), sha.as_bytes())?;
            Ok(id)
        })
        .await
    }

    async fn put_part(
        &self,
        _key: &str,
        upload_id: &str,
        part_number: u32,
        data: Bytes,
    ) -> Result<String, CloudError> {
        let dir = self.upload_dir(upload_id)?;
        blocking(move || {
            if !dir.is_dir() {
                return Err(CloudError::UploadGone(dir.display().to_string()));
            }
            write_durable(&dir.join(format!("part-{part_number:05}")), &data)?;
            Ok(hex::encode(Sha256::digest(&data)))
        })
        .await
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        part_ids: Vec<String>,
    ) -> Result<(), CloudError> {
        let dir = self.upload_dir(upload_id)?;
        let dest = self.object_path(key)?;
        blocking(move || {
            let sha = std::fs::read_to_string(dir.join("sha256"))
                .map_err(|_| CloudError::UploadGone(dir.display().to_string()))?;
            write_durable(&meta_path(&dest), sha.as_bytes())?;
            assemble(&dir, &dest, &part_ids)?;
            let _ = std::fs::remove_dir_all(&dir);
            Ok(())
        })
        .await
    }

    async fn abort_multipart(&self, _key: &str, upload_id: &str) -> Result<(), CloudError> {
        let dir = self.upload_dir(upload_id)?;
        blocking(move || match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&dir, e)),
        })
        .await
    }

    async fn get_from(&self, key: &str, offset: u64) -> Result<ByteStream, CloudError> {
        let path = self.object_path(key)?;
        let p = path.clone();
        let file = blocking(move || {
            let mut f = std::fs::File::open(&p).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => CloudError::NotFound(p.display().to_string()),
                _ => io_err(&p, e),
            })?;
            f.seek(SeekFrom::Start(offset)).map_err(|e| io_err(&p, e))?;
            Ok(f)
        })
        .await?;
        let reader = tokio::fs::File::from_std(file);
        let stream = tokio_util::io::ReaderStream::with_capacity(reader, CHUNK)
            .map(move |r| r.map_err(|e| io_err(&path, e)));
        Ok(stream.boxed())
    }

    async fn get_small(&self, key: &str, limit: u64) -> Result<Bytes, CloudError> {
        let path = self.object_path(key)?;
        blocking(move || {
            let f = std::fs::File::open(&path).map_err(|e| io_err(&path, e))?;
            let mut buf = Vec::new();
            f.take(limit.saturating_add(1)).read_to_end(&mut buf).map_err(|e| io_err(&path, e))?;
            if buf.len() as u64 > limit {
                return Err(CloudError::Integrity(format!(
                    "{} exceeds {limit} bytes",
                    path.display()
                )));
            }
            Ok(Bytes::from(buf))
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Listed>, CloudError> {
        let dir = self.object_path(prefix.trim_end_matches('/'))?;
        let root = self.root.clone();
        blocking(move || {
            let mut out = Vec::new();
            list_dir(&root, &dir, &mut out)?;
            Ok(out)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), CloudError> {
        let path = self.object_path(key)?;
        blocking(move || {
            remove_if_present(&path)?;
            remove_if_present(&meta_path(&path))?;
            match path.parent() {
                Some(dir) if dir.exists() => fsync_dir(dir).map_err(CloudError::from),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn share_url(&self, key: &str, _expires_in: Duration) -> Result<String, CloudError> {
        let path = self.object_path(key)?;
        let abs = std::path::absolute(&path).map_err(|e| io_err(&path, e))?;
        Ok(format!("file://{}", abs.display()))
    }

    async fn presign_part(
        &self,
        _key: &str,
        _upload_id: &str,
        _part_number: u32,
        _sha256_b64: &str,
        _expires_in: Duration,
    ) -> Result<PresignedRequest, CloudError> {
        Err(CloudError::Unsupported("presigned part URLs need an S3 backend"))
    }

    fn part_id_from_etag(&self, etag: &str, _sha256_b64: &str) -> String {
        etag.to_string()
    }
}
