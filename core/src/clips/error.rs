//! The one error type of the clip module.

use std::path::PathBuf;

use super::Gap;

/// Everything that can go wrong while reading segments or writing a clip.
///
/// Every variant about an input names the offending segment, so the caller can show the user
/// which file of the drive is damaged.
#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    /// The request itself is unusable (no segments, NaN or reversed window).
    #[error("invalid clip request: {0}")]
    InvalidRequest(String),

    /// A segment could not be opened or read.
    #[error("{path}: cannot read segment: {source}")]
    Io {
        /// The segment.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A segment has no complete `moov` box: typically a recording cut short by power loss.
    #[error("{path}: no complete moov box (recording cut short?)")]
    NoMoov {
        /// The segment.
        path: PathBuf,
    },

    /// A segment is not a well-formed MP4 file.
    #[error("{path}: malformed MP4: {reason}")]
    Malformed {
        /// The segment.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A segment is an MPEG transport stream that is cut or corrupt (lost sync, lost packets,
    /// no PAT/PMT naming H.264 video, a cut PES, no access unit with its SPS and PPS).
    #[error("{path}: malformed MPEG-TS: {reason}")]
    MalformedTs {
        /// The segment.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A segment does not line up with the first usable one (other tracks or timescales).
    #[error("{path}: does not match the first segment: {reason}")]
    Mismatch {
        /// The segment.
        path: PathBuf,
        /// What differs.
        reason: String,
    },

    /// None of the segments could be used; `gaps` says why for each.
    #[error("no usable segment ({} skipped)", gaps.len())]
    NoUsableSegment {
        /// One entry per skipped segment.
        gaps: Vec<Gap>,
    },

    /// The usable segments do not overlap the requested window.
    #[error("the window {from_s}..{to_s} s is outside the recorded {available_s} s")]
    OutsideRecording {
        /// Requested start.
        from_s: f64,
        /// Requested end.
        to_s: f64,
        /// How much usable media there is.
        available_s: f64,
    },

    /// The output is one of the input segments (the same file): writing it would destroy the
    /// recording being cut, so nothing is written.
    #[error("{out}: the output is the input segment {input}; choose another output")]
    OutputIsInput {
        /// The requested output.
        out: PathBuf,
        /// The segment it is the same file as.
        input: PathBuf,
    },

    /// The output file could not be written.
    #[error("{path}: cannot write clip: {source}")]
    Write {
        /// The output path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The clip's own boxes could not be encoded (a bug or an absurdly large clip).
    #[error("cannot encode the clip's moov: {0}")]
    Encode(String),
}

impl ClipError {
    /// Shorthand for [`ClipError::Malformed`].
    pub(crate) fn malformed(path: &std::path::Path, reason: impl Into<String>) -> Self {
        Self::Malformed { path: path.to_path_buf(), reason: reason.into() }
    }
}
