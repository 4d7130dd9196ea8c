//! Where the phone keeps its pairings: a [`SecretStore`]. On a phone the app implements it over
//! the Keychain / Android Keystore; the CLI default is [`FileSecretStore`], one JSON file readable
//! only by its owner (0600) in the data directory.
//!
//! A store keeps one opaque value, all the pairings; what is in it (JSON, one entry per camera
//! serial) and how a pairing is added or removed is decided here, once, for every store.

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
    /// What the store holds is not a list of pairings.
    #[error("secret store {0} is corrupt")]
    Corrupt(String),
}

/// Holds the pairings (secrets included) of this phone, one per camera serial, as one value.
///
/// Implementations only keep the value ([`Self::load`], [`Self::save`], [`Self::clear`]); the
/// provided methods read and change the pairings in it.
pub trait SecretStore: Send + Sync {
    /// The stored value, if any.
    fn load(&self) -> Result<Option<Vec<u8>>, SecretStoreError>;
    /// Replaces the stored value, atomically.
    fn save(&self, value: &[u8]) -> Result<(), SecretStoreError>;
    /// Removes the stored value (absent is fine).
    fn clear(&self) -> Result<(), SecretStoreError>;
    /// Where the value lives, for error messages (never the value).
    fn describe(&self) -> String;

    /// Every pairing, by serial.
    fn list(&self) -> Result<Vec<PairedCamera>, SecretStoreError> {
        match self.load()? {
            None => Ok(Vec::new()),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|_| SecretStoreError::Corrupt(self.describe())),
        }
    }

    /// Adds or replaces the pairing of `camera.serial`.
    fn put(&self, camera: &PairedCamera) -> Result<(), SecretStoreError> {
        let mut all = self.list()?;
        all.retain(|c| c.serial != camera.serial);
        all.push(camera.clone());
        all.sort_by(|a, b| a.serial.cmp(&b.serial));
        let body = serde_json::to_vec_pretty(&all)
            .map_err(|_| SecretStoreError::Corrupt(self.describe()))?;
        self.save(&body)
    }

    /// Forgets the pairing of a camera; returns whether there was one.
    fn remove(&self, serial: &str) -> Result<bool, SecretStoreError> {
        let mut all = self.list()?;
        let before = all.len();
        all.retain(|c| c.serial != serial);
        if all.len() == before {
            return Ok(false);
        }
        if all.is_empty() {
            self.clear()?;
        } else {
            let body = serde_json::to_vec_pretty(&all)
                .map_err(|_| SecretStoreError::Corrupt(self.describe()))?;
            self.save(&body)?;
        }
        Ok(true)
    }

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

    fn sync_dir(&self) {
        if let Some(dir) = self.path.parent()
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
    }
}

impl SecretStore for FileSecretStore {
    fn load(&self) -> Result<Option<Vec<u8>>, SecretStoreError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    fn save(&self, value: &[u8]) -> Result<(), SecretStoreError> {
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
        f.write_all(value).and_then(|()| f.sync_all()).map_err(|e| self.io(e))?;
        drop(f);
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        self.sync_dir();
        Ok(())
    }

    fn clear(&self) -> Result<(), SecretStoreError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {
                self.sync_dir();
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io(e)),
        }
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
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
            clock_offset_ms: 0,
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
        assert!(store.remove("B").unwrap());
        assert!(!store.path().exists(), "the last pairing gone, the file is gone");
        std::fs::write(store.path(), b"not json").unwrap();
        assert!(matches!(store.list(), Err(SecretStoreError::Corrupt(_))));
        assert!(!format!("{:?}", camera("A")).contains("hunter2"));
    }
}
