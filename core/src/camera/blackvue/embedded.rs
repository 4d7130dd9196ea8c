//! The telemetry a BlackVue camera embeds in its MP4: a top-level `free` box holding blocks
//! laid out as boxes (`u32` big-endian size including the header, a four-letter type, the
//! payload): `gps ` (the `.gps` side file's NMEA lines, ended by a zero byte), `3gf ` (the `.3gf`
//! accelerometer records, ended by a record of `0xFF` bytes), and others (`thum`, `sttm`, ...)
//! passed over. Sources: gandy92/blackclue `blackclue.py`, mapillary/mapillary_tools
//! `blackvue_parser.py`.
//!
//! Only box headers are read while walking, and at most [`MAX_EMBEDDED_BYTES`] of each payload,
//! whatever the file claims: a hostile MP4 costs bounded memory.

use std::io::{Read, Seek, SeekFrom};

/// The most bytes read of one embedded block (an hour of 10 Hz NMEA is about 3 MiB).
pub const MAX_EMBEDDED_BYTES: u64 = 8 << 20;

/// The most boxes walked, at the top level and inside one `free` box.
const MAX_BOXES: usize = 64;

/// Why the MP4's embedded telemetry could not be looked for.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// The file could not be read.
    #[error("reading the MP4: {0}")]
    Io(#[from] std::io::Error),
    /// A box's size is impossible (smaller than its header, past its parent's end).
    #[error("the MP4's boxes cannot be walked at byte {0}")]
    BadBox(u64),
}

/// The embedded blocks found in one MP4.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Embedded {
    /// The `gps ` block's NMEA lines, up to its zero terminator.
    pub gps: Option<Vec<u8>>,
    /// The `3gf ` block's accelerometer records.
    pub accel: Option<Vec<u8>>,
}

/// Finds the `gps ` and `3gf ` blocks in the top-level `free` boxes of an MP4 of `len` bytes.
pub fn read_embedded<R: Read + Seek>(file: &mut R, len: u64) -> Result<Embedded, EmbeddedError> {
    let mut found = Embedded::default();
    let mut at = 0u64;
    for _ in 0..MAX_BOXES {
        if at.saturating_add(8) > len {
            break;
        }
        let (kind, header, size) = box_header(file, at, len)?;
        if kind == *b"free" {
            read_blocks(file, at + header, at + size, &mut found)?;
        }
        at += size;
    }
    Ok(found)
}

/// Reads the blocks of one `free` box, from `at` to `end`.
fn read_blocks<R: Read + Seek>(
    file: &mut R,
    mut at: u64,
    end: u64,
    found: &mut Embedded,
) -> Result<(), EmbeddedError> {
    for _ in 0..MAX_BOXES {
        if at.saturating_add(8) > end {
            break;
        }
        let (kind, header, size) = box_header(file, at, end)?;
        let slot = match &kind {
            b"gps " => &mut found.gps,
            b"3gf " => &mut found.accel,
            _ => {
                at += size;
                continue;
            }
        };
        if slot.is_none() {
            let mut data = Vec::new();
            file.seek(SeekFrom::Start(at + header))?;
            file.take((size - header).min(MAX_EMBEDDED_BYTES)).read_to_end(&mut data)?;
            if kind == *b"gps " {
                // The NMEA text ends at the first zero byte.
                data.truncate(data.iter().position(|&b| b == 0).unwrap_or(data.len()));
            }
            *slot = Some(data);
        }
        at += size;
    }
    Ok(())
}

/// Type, header length and whole size of the box at `at`, which must end by `end`. A size of 0
/// runs to `end`; 1 means a 64-bit size follows.
fn box_header<R: Read + Seek>(
    file: &mut R,
    at: u64,
    end: u64,
) -> Result<([u8; 4], u64, u64), EmbeddedError> {
    let mut head = [0u8; 16];
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(&mut head[..8])?;
    let kind = [head[4], head[5], head[6], head[7]];
    let (header, size) = match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
        0 => (8, end - at),
        1 => {
            file.read_exact(&mut head[8..16])?;
            let mut large = [0u8; 8];
            large.copy_from_slice(&head[8..16]);
            (16, u64::from_be_bytes(large))
        }
        n => (8, u64::from(n)),
    };
    if size < header || at.checked_add(size).is_none_or(|e| e > end) {
        return Err(EmbeddedError::BadBox(at));
    }
    Ok((kind, header, size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::blackvue::gps::parse_gps;

    const T0: i64 = 1_672_574_400_000;

    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn the_embedded_blocks_are_found_and_bad_boxes_are_errors() {
        let lines = format!("[{T0}]$GPRMC,1,V*00\n");
        let mut gps = lines.clone().into_bytes();
        gps.extend_from_slice(&[0, 0, 0, 0]);
        let accel = [0u8, 0, 0, 100, 0, 128, 0, 0, 0, 0];
        let mut blocks = mp4_box(b"thum", b"jpeg");
        blocks.extend(mp4_box(b"gps ", &gps));
        blocks.extend(mp4_box(b"3gf ", &accel));
        let mut file = mp4_box(b"ftyp", b"isom0000");
        file.extend(mp4_box(b"free", &mp4_box(b"cprt", b"DR900S")));
        file.extend(mp4_box(b"mdat", &[0u8; 100]));
        file.extend(mp4_box(b"free", &blocks));
        file.extend(mp4_box(b"moov", &[1u8; 20]));
        let read = |bytes: &[u8]| {
            read_embedded(&mut std::io::Cursor::new(bytes.to_vec()), bytes.len() as u64)
        };
        let found = read(&file).unwrap();
        assert_eq!(found.gps.as_deref(), Some(lines.as_bytes()), "cut at the zero byte");
        assert_eq!(found.accel.as_deref(), Some(&accel[..]));
        assert_eq!(parse_gps(found.gps.as_deref().unwrap(), Some(T0)).skipped, 1);
        // No blocks at all.
        assert_eq!(read(&mp4_box(b"ftyp", b"isom")).unwrap(), Embedded::default());
        assert_eq!(read(b"").unwrap(), Embedded::default());
        // A box that claims more than the file, or less than its header.
        let mut lying = mp4_box(b"ftyp", b"isom");
        lying[..4].copy_from_slice(&1000u32.to_be_bytes());
        assert!(matches!(read(&lying), Err(EmbeddedError::BadBox(0))));
        let mut small = mp4_box(b"ftyp", b"isom");
        small[..4].copy_from_slice(&3u32.to_be_bytes());
        assert!(read(&small).is_err());
        // Cut anywhere: an error or fewer blocks, never a panic.
        for cut in 0..file.len() {
            let _ = read(&file[..cut]);
        }
    }
}
