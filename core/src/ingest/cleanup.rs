//! Deleting recordings from the camera's card once the phone holds a verified copy: a privacy
//! choice people ask for (a card that leaves the car holds nothing), off by default.
//!
//! The rule, in one place: a file is deleted from the camera only when the user turned the
//! setting on (the apps confirm first: [`crate::Companion::set_delete_from_camera`]), the
//! phone's copy is complete and catalogued, and that copy, read back from storage now, has the
//! size and digest recorded when it was downloaded. Files the camera protected (locked, or
//! filed as events) stay: they are the camera's own evidence of an incident and its loop
//! recorder keeps them anyway. A camera that cannot delete, or refuses, loses nothing: the file
//! stays where it was and the pass goes on.

use tracing::Instrument;

use super::{IngestError, IngestReport, Ingestor};
use crate::camera::driver::CameraFile;
use crate::camera::{CameraDriver, DriverError};
use crate::catalog::{CameraId, Catalog, CatalogError, SegmentRecord};
use crate::storage::ContentHash;

/// Where the user's choice is kept (the catalog's settings table): `"on"`, `"off"` or absent.
const DELETE_AFTER_COPY_SETTING: &str = "camera.delete_after_copy";

/// Whether the user chose to have copied files deleted from the camera (off unless chosen).
pub async fn deletes_after_copy(catalog: &Catalog) -> Result<bool, CatalogError> {
    Ok(catalog.setting(DELETE_AFTER_COPY_SETTING).await?.as_deref() == Some("on"))
}

/// Records the user's choice (the caller has asked for their confirmation to turn it on).
pub async fn set_deletes_after_copy(catalog: &Catalog, on: bool) -> Result<(), CatalogError> {
    let value = if on { "on" } else { "off" };
    catalog.set_setting(DELETE_AFTER_COPY_SETTING, value.to_owned()).await
}

/// Why a file with a phone copy stayed on the camera although the setting is on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kept {
    /// The phone has no complete copy.
    NotOnPhone,
    /// The phone's copy does not read back as it was downloaded.
    CopyDiffers(String),
}

impl Ingestor {
    /// Whether the user chose to have copied files deleted from the camera.
    pub(super) async fn deletes_after_copy(&self) -> Result<bool, IngestError> {
        Ok(deletes_after_copy(&self.catalog).await?)
    }

    /// Deletes from the camera each of `files` whose copy on the phone verifies, counting what
    /// was deleted and what the camera refused in `report`. Stops asking a camera that cannot
    /// delete at all.
    pub(super) async fn delete_copied(
        &self,
        driver: &dyn CameraDriver,
        camera_id: CameraId,
        files: &[CameraFile],
        report: &mut IngestReport,
    ) -> Result<(), IngestError> {
        let span = tracing::info_span!("delete_copied", files = files.len());
        async {
            for file in files {
                let Some(segment) = self.deletable(camera_id, file).await? else { continue };
                match driver.delete(file).await {
                    Ok(()) => {
                        self.catalog.note_deleted_from_camera(segment.id).await?;
                        report.deleted_from_camera += 1;
                    }
                    Err(error @ DriverError::Unsupported { .. }) => {
                        tracing::info!(%error, "the camera keeps its files");
                        return Ok(());
                    }
                    Err(error) => {
                        tracing::warn!(file = %file.name, %error, "the camera did not delete a copied file");
                        report.camera_deletes_failed += 1;
                    }
                }
            }
            Ok(())
        }
        .instrument(span)
        .await
    }

    /// The catalogued segment of `file` when it may be deleted from the camera, else `None`
    /// (why is logged).
    async fn deletable(
        &self,
        camera_id: CameraId,
        file: &CameraFile,
    ) -> Result<Option<SegmentRecord>, IngestError> {
        if file.is_incident() {
            return Ok(None);
        }
        let id = super::files::segment_id(file);
        let segment = self.catalog.segment_by_camera_id(camera_id, id).await?;
        let verdict = match &segment {
            Some(s) => self.verify_copy(s).await,
            None => Err(Kept::NotOnPhone),
        };
        if let Err(why) = verdict {
            tracing::warn!(file = %file.name, ?why, "kept on the camera: no verified copy");
            return Ok(None);
        }
        Ok(segment)
    }

    /// Reads the phone's copy back and checks it against the size and digest recorded when it
    /// was downloaded (by the algorithm recorded with it).
    async fn verify_copy(&self, segment: &SegmentRecord) -> Result<(), Kept> {
        let name = segment.phone_file.as_deref().ok_or(Kept::NotOnPhone)?;
        if segment.phone_deleting {
            return Err(Kept::NotOnPhone);
        }
        let path = self.layout.video_path(name);
        let algorithm = segment.content_hash.algorithm;
        let read = tokio::task::spawn_blocking(move || ContentHash::of_file(&path, algorithm));
        let (size, hash) = match read.await {
            Ok(Ok(read)) => read,
            Ok(Err(e)) => return Err(Kept::CopyDiffers(e.to_string())),
            Err(e) => return Err(Kept::CopyDiffers(e.to_string())),
        };
        if size != segment.size_bytes || hash != segment.content_hash {
            return Err(Kept::CopyDiffers(format!(
                "{size} bytes read back, {} expected, or a different {}",
                segment.size_bytes, algorithm
            )));
        }
        Ok(())
    }
}
