//! Where the phone keeps its pairings: a [`SecretStore`]. On a phone the app implements it over
//! the Keychain / Android Keystore; the CLI default is [`FileSecretStore`], one JSON file readable
//! only by its owner (0600) in the data directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::pairing::PairedCamera;

/// Why the secret store failed. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretStoreError {
    /// Reading or writing the store failed.
    #[error("secret store I/O on {path}: {source}")]
    Io {
        /// The store's file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The platform's store (Android Keystore, iOS Keychain) refused or failed.
    #[error("the platform's secret store failed: {0}")]
    Platform(String),
    /// The store's file is not a store.
    #[error("secret store {0} is corrupt")]
    Corrupt(PathBuf),
}

/// Holds the pairings (secrets included) of this phone, one per camera serial.
pub trait SecretStore: Send + Sync {
    /// Every pairing, by serial.
    fn list(&self) -> Result<Vec<PairedCamera>, SecretStoreError>;
    /// Adds or replaces the pairing of `camera.serial`.
    fn put(&self, camera: &PairedCamera) -> Result<(), SecretStoreError>;
    /// Forgets the pairing of a camera; returns whether there was one.
    fn remove(&self, serial: &str) -> Result<bool, SecretStoreError>;
    /// The pairing of one camera.
    fn get(&self, serial: &str) -> Result<Option<PairedCamera>, SecretStoreError> {
        Ok(self.list()?.into_iter().find(|c| c.serial == serial))
    }
}

/// A [`SecretStore`] in one file, mode 0600, replaced atomically on every change.
#[derive(Debug, Clone)]
pub struct FileSecretStore {
    path: PathBuf,
}

/// The store's file name in the data directory.
pub const SECRETS_FILE: &str = "pairings.json";

impl FileSecretStore {
    /// The store in `data_dir` (the file is created on the first `put`).
    pub fn in_dir(data_dir: &Path) -> Self {
        Self { path: data_dir.join(SECRETS_FILE) }
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> SecretStoreError {
        SecretStoreError::Io { path: self.path.clone(), source }
    }

    fn write(&self, all: &[PairedCamera]) -> Result<(), SecretStoreError> {
        let body = serde_json::to_vec_pretty(all)
            .map_err(|_| SecretStoreError::Corrupt(self.path.clone()))?;
        let tmp = self.path.with_extension("json.tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(|e| self.io(e))?;
        f.write_all(&body).and_then(|()| f.sync_all()).map_err(|e| self.io(e))?;
        drop(f);
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl SecretStore for FileSecretStore {
    fn list(&self) -> Result<Vec<PairedCamera>, SecretStoreError> {
        match std::fs::read(&self.path) {
            Ok(b) => {
                serde_json::from_slice(&b).map_err(|_| SecretStoreError::Corrupt(self.path.clone()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(self.io(e)),
        }
    }

    fn put(&self, camera: &PairedCamera) -> Result<(), SecretStoreError> {
        let mut all = self.list()?;
        all.retain(|c| c.serial != camera.serial);
        all.push(camera.clone());
        all.sort_by(|a, b| a.serial.cmp(&b.serial));
        self.write(&all)
    }

    fn remove(&self, serial: &str) -> Result<bool, SecretStoreError> {
        let mut all = self.list()?;
        let before = all.len();
        all.retain(|c| c.serial != serial);
        if all.len() == before {
            return Ok(false);
        }
        self.write(&all)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::pairing::PairingPayload;

    fn camera(serial: &str) -> PairedCamera {
        PairedCamera {
            serial: serial.into(),
            model: "m".into(),
            ble_address: "127.0.0.1:1".into(),
            phone_id: "p".into(),
            payload: PairingPayload {
                v: 1,
                serial: serial.into(),
                wifi_ssid: "ssid".into(),
                wifi_passphrase: "hunter2hunter2".into(),
                api_url: "http://127.0.0.1:2".into(),
                api_secret: "ab".repeat(32),
                identity_key: "cd".repeat(32),
            },
            paired_at_ms: 1,
        }
    }

    #[test]
    fn file_store_round_trips_with_0600() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileSecretStore::in_dir(dir.path());
        assert!(store.list().unwrap().is_empty());
        store.put(&camera("A")).unwrap();
        store.put(&camera("B")).unwrap();
        store.put(&camera("A")).unwrap();
        assert_eq!(store.list().unwrap().len(), 2);
        assert_eq!(store.get("B").unwrap().unwrap(), camera("B"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(store.remove("A").unwrap());
        assert!(!store.remove("A").unwrap());
        assert_eq!(store.list().unwrap().len(), 1);
        assert!(!format!("{:?}", camera("A")).contains("hunter2"));
    }
}
