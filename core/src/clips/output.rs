//! The clip's output file: nothing the user did not ask to change is touched.
//!
//! The clip is written to a temp file beside the output (same directory, so the final rename is
//! atomic and never crosses a file system), fsynced, and renamed over the output only once it is
//! complete. On any failure the temp file, which this module created, is removed, and the output
//! path is left exactly as it was (absent, or the user's old file). An output that is one of the
//! inputs (the same file, through the same path, a hard link or a symlink) is refused before
//! anything is written.

use std::fs::{File, Metadata};
use std::path::{Path, PathBuf};

use super::ClipError;

/// Refuses an `out` that is the same file (device and inode) as one of `inputs`.
///
/// An `out` that does not exist cannot be an input. An input that cannot be read is not refused
/// here: the planner reports it as a gap or an error naming it.
pub(crate) fn refuse_input_as_output(inputs: &[PathBuf], out: &Path) -> Result<(), ClipError> {
    let Ok(out_meta) = std::fs::metadata(out) else { return Ok(()) };
    for input in inputs {
        if std::fs::metadata(input).is_ok_and(|m| same_file(&m, &out_meta, input, out)) {
            return Err(ClipError::OutputIsInput { out: out.to_path_buf(), input: input.clone() });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata, _: &Path, _: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &Metadata, _: &Metadata, a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// Runs `write` on a fresh temp file beside `out`, fsyncs it and renames it to `out`; returns
/// what `write` returned. On failure the temp file is removed and `out` is untouched.
pub(crate) fn write_beside(
    out: &Path,
    write: impl FnOnce(File) -> Result<u64, ClipError>,
) -> Result<u64, ClipError> {
    let werr = |source| ClipError::Write { path: out.to_path_buf(), source };
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Dropping a NamedTempFile removes it: every early return below cleans up after itself.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(werr)?;
    let written = write(tmp.as_file().try_clone().map_err(werr)?)?;
    tmp.as_file().sync_all().map_err(werr)?;
    tmp.persist(out).map_err(|e| werr(e.error))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(werr)?;
    Ok(written)
}
