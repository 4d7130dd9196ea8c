//! The digest that vouches for a video the phone holds: which algorithm made it, and its value.
//!
//! A Dashkeep camera lists the SHA-256 of every segment, so the phone checks its download against
//! that and keeps it. A vendor camera (Novatek, BlackVue) lists no checksum: the phone computes its
//! own digest of every byte while downloading, only to tell later whether its copy is still the
//! one it received (before the camera's copy is deleted, and when a partial download resumes).
//! That guards against accidental change (a bad write, a failing flash cell), not an adversary
//! (the camera is the only source of the bytes anyway), so it is CRC-64/NVME: the checksum S3
//! itself keeps for whole objects, computed with carry-less multiply at many times the speed of
//! any cryptographic hash. Hashing was the largest part of the CPU a vendor download cost,
//! first with SHA-256, then with BLAKE3 (`docs/benchmarks.md`); files catalogued with BLAKE3
//! are still read back with it. Clips and the cloud keep SHA-256.

use std::io::Read;
use std::path::Path;

use serde::Serialize;

use super::StorageError;

/// The algorithm of a [`ContentHash`]; the catalog records it beside every segment's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// SHA-256: what a Dashkeep camera lists, and what clips and the cloud use.
    Sha256,
    /// BLAKE3 (256-bit output): the phone's own digest of a vendor camera's file until
    /// CRC-64 replaced it; kept to read back the files it vouches for.
    Blake3,
    /// CRC-64/NVME: the phone's own digest of a file whose camera lists none.
    Crc64Nvme,
}

impl HashAlgorithm {
    /// The name the catalog stores.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Blake3 => "blake3",
            Self::Crc64Nvme => "crc64nvme",
        }
    }

    /// The algorithm named `name` in the catalog, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "blake3" => Some(Self::Blake3),
            "crc64nvme" => Some(Self::Crc64Nvme),
            _ => None,
        }
    }
}

impl std::fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file's digest and the algorithm that made it (lowercase hex: 64 digits for SHA-256 and
/// BLAKE3, 16 for CRC-64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContentHash {
    /// The algorithm.
    pub algorithm: HashAlgorithm,
    /// The digest, lowercase hex.
    pub hex: String,
}

impl ContentHash {
    /// A SHA-256 given in hex (what a Dashkeep camera lists).
    pub fn sha256(hex: impl Into<String>) -> Self {
        Self { algorithm: HashAlgorithm::Sha256, hex: hex.into() }
    }

    /// Reads the file at `path` through and returns its size and its digest by `algorithm`.
    pub fn of_file(path: &Path, algorithm: HashAlgorithm) -> Result<(u64, Self), StorageError> {
        let io = |e| StorageError::from_io(path, e);
        let file = std::fs::File::open(path).map_err(io)?;
        let mut hasher = ContentHasher::new(algorithm);
        let size = hasher.read_from(file).map_err(io)?;
        Ok((size, hasher.finish()))
    }
}

/// Bytes read at a time when hashing a file: large enough for the SIMD of each algorithm to work
/// on long runs.
const READ_BUFFER: usize = 1 << 20;

/// A digest being computed, fed in order.
#[derive(Clone)]
pub struct ContentHasher(Inner);

#[derive(Clone)]
enum Inner {
    /// ring's SHA-256 (SHA-NI on x86-64, the ARMv8 SHA extensions on phones). Every state is
    /// boxed: the hasher moves to a blocking thread and back for every buffer.
    Sha256(Box<ring::digest::Context>),
    /// The `blake3` crate (AVX-512/AVX2/SSE4.1 on x86-64, NEON on phones): nearly 2 KiB of state.
    Blake3(Box<blake3::Hasher>),
    /// The `crc-fast` crate (VPCLMULQDQ/PCLMULQDQ on x86-64, PMULL on phones); boxed too (its
    /// state carries the CRC's folding constants).
    Crc64(Box<crc_fast::Digest>),
}

impl ContentHasher {
    /// An empty digest by `algorithm`.
    pub fn new(algorithm: HashAlgorithm) -> Self {
        Self(match algorithm {
            HashAlgorithm::Sha256 => {
                Inner::Sha256(Box::new(ring::digest::Context::new(&ring::digest::SHA256)))
            }
            HashAlgorithm::Blake3 => Inner::Blake3(Box::default()),
            HashAlgorithm::Crc64Nvme => {
                Inner::Crc64(Box::new(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Nvme)))
            }
        })
    }

    /// Which algorithm it computes.
    pub fn algorithm(&self) -> HashAlgorithm {
        match &self.0 {
            Inner::Sha256(_) => HashAlgorithm::Sha256,
            Inner::Blake3(_) => HashAlgorithm::Blake3,
            Inner::Crc64(_) => HashAlgorithm::Crc64Nvme,
        }
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            Inner::Sha256(context) => context.update(bytes),
            Inner::Blake3(hasher) => {
                hasher.update(bytes);
            }
            Inner::Crc64(digest) => digest.update(bytes),
        }
    }

    /// Feeds everything `reader` gives, to its end; returns how many bytes that was.
    pub fn read_from(&mut self, mut reader: impl Read) -> std::io::Result<u64> {
        let mut buf = vec![0u8; READ_BUFFER];
        let mut size = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(size),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.update(&buf[..n]);
            size += n as u64;
        }
    }

    /// The digest of everything fed.
    pub fn finish(self) -> ContentHash {
        let algorithm = self.algorithm();
        let hex = match self.0 {
            Inner::Sha256(context) => hex::encode(context.finish()),
            Inner::Blake3(hasher) => hasher.finalize().to_hex().to_string(),
            Inner::Crc64(digest) => format!("{:016x}", digest.finalize()),
        };
        ContentHash { algorithm, hex }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [HashAlgorithm; 3] =
        [HashAlgorithm::Sha256, HashAlgorithm::Blake3, HashAlgorithm::Crc64Nvme];

    /// Known answers (SHA-256 of "abc", BLAKE3 of the empty input, CRC-64/NVME's check value
    /// of "123456789"), so the catalog's digests are the standard ones any other tool computes.
    #[test]
    fn every_algorithm_gives_the_standard_digests() {
        let digest = |algorithm, bytes: &[u8]| {
            let mut hasher = ContentHasher::new(algorithm);
            hasher.update(bytes);
            hasher.finish()
        };
        let sha = digest(HashAlgorithm::Sha256, b"abc");
        assert_eq!(sha.algorithm, HashAlgorithm::Sha256);
        assert_eq!(sha.hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let b3 = digest(HashAlgorithm::Blake3, b"");
        assert_eq!(b3.algorithm, HashAlgorithm::Blake3);
        assert_eq!(b3.hex, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
        let crc = digest(HashAlgorithm::Crc64Nvme, b"123456789");
        assert_eq!(crc.algorithm, HashAlgorithm::Crc64Nvme);
        assert_eq!(crc.hex, "ae8b14860a799888");
    }

    /// Hashing a file in one go equals feeding its bytes in odd pieces, for every algorithm.
    #[test]
    fn a_file_hashes_as_its_bytes_fed_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.mp4");
        let data: Vec<u8> = (0..3 * READ_BUFFER + 777).map(|i| (i * 31 % 253) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        for algorithm in ALL {
            let mut hasher = ContentHasher::new(algorithm);
            data.chunks(65_537).for_each(|c| hasher.update(c));
            let (size, hash) = ContentHash::of_file(&path, algorithm).unwrap();
            assert_eq!(size, data.len() as u64);
            assert_eq!(hash, hasher.finish());
        }
    }

    #[test]
    fn algorithm_names_round_trip_and_unknown_names_are_refused() {
        for algorithm in ALL {
            assert_eq!(HashAlgorithm::parse(algorithm.as_str()), Some(algorithm));
        }
        assert_eq!(HashAlgorithm::parse("md5"), None);
        assert_eq!(HashAlgorithm::parse("SHA256"), None);
    }
}
