//! An MPEG transport stream (`.TS`, recorded by some Novatek cameras) read packet by packet:
//! 188-byte packets, the PAT and PMT naming the H.264 video and ADTS AAC audio streams, and
//! their PES packets reassembled, each handed to a callback as soon as it is complete.
//!
//! Why hand-written instead of a crate: `mpeg2ts-reader` (the maintained one) is push-based
//! through macro-generated filter types with an unstable API (16 breaking releases) and gives no
//! file position of a PES; `mpeg2ts` pulls, but brings the `trackable` error stack and has no
//! positions either. The clip cut needs each PES's completion position in the file (the key that
//! ties a sample found in the first pass to its bytes in the second, see `ts_segment.rs`), one
//! fixed read buffer, and strict structural checks (lost sync, lost packets, cut PES) as typed
//! errors; the syntax needed is small (ISO/IEC 13818-1 2.4.3 and 2.4.4).
//!
//! Memory: one read buffer and, per stream, the PES being reassembled (one access unit, at most
//! [`MAX_PES`]). Never panics on input: every index is checked.

use std::io::Read;
use std::path::Path;

use super::ClipError;

/// The size of a transport packet.
pub(crate) const PACKET: usize = 188;
/// The sync byte every packet starts with.
const SYNC: u8 = 0x47;
/// Packets read per `read` call (about 64 KiB).
const PACKETS_PER_READ: usize = 348;
/// Largest PES we reassemble: one access unit; a 4K intra frame is well under this.
const MAX_PES: usize = 32 * 1024 * 1024;
/// PMT stream type of H.264 video.
const STREAM_H264: u8 = 0x1B;
/// PMT stream type of AAC audio in ADTS.
const STREAM_ADTS: u8 = 0x0F;

/// Which elementary stream a PES belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The first H.264 stream of the PMT.
    Video,
    /// The first ADTS AAC stream of the PMT.
    Audio,
}

/// One complete PES, as handed to the callback.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pes<'a> {
    /// Video or audio.
    pub kind: Kind,
    /// Presentation time stamp (90 kHz, 33 bits), if the PES carries one.
    pub pts: Option<u64>,
    /// Decode time stamp (90 kHz, 33 bits), if it differs from the PTS.
    pub dts: Option<u64>,
    /// The elementary stream bytes (the PES header removed).
    pub data: &'a [u8],
    /// Where the PES was completed: the byte offset of the packet that completed it (the next
    /// PES of its stream starting, or its own last packet when its length is given); at the end
    /// of the file, the file length (video) or the file length + 1 (audio). Unique per PES and
    /// the same wherever reading started, so it identifies the PES across passes.
    pub completed_at: u64,
}

/// What the callback tells the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Read on.
    Continue,
    /// Stop reading (the caller has what it needs).
    Stop,
}

/// The PES being reassembled for one stream.
#[derive(Debug, Default)]
struct Stream {
    pid: u16,
    cc: Option<u8>,
    buf: Vec<u8>,
    /// A PES start was seen (bytes before the first start are not a PES).
    open: bool,
    /// Total PES length (header included) when the PES header gives it.
    expected: Option<usize>,
}

/// The transport stream reader.
pub(crate) struct TsReader<'p, R> {
    r: R,
    path: &'p Path,
    buf: Vec<u8>,
    /// Offset of the first byte of `buf`.
    buf_at: u64,
    pmt_pid: Option<u16>,
    streams: Option<[Stream; 2]>,
    /// Stream types the PMT named, for the error when none is H.264.
    stream_types: Vec<u8>,
}

impl<'p, R: Read> TsReader<'p, R> {
    /// A reader over `r`, whose first byte is at offset `at` of the file `path` (named in
    /// errors).
    pub(crate) fn new(r: R, path: &'p Path, at: u64) -> Self {
        Self {
            r,
            path,
            buf: vec![0; PACKET * PACKETS_PER_READ],
            buf_at: at,
            pmt_pid: None,
            streams: None,
            stream_types: Vec::new(),
        }
    }

    /// The video and audio PIDs the PMT named (`None` until it was read).
    pub(crate) fn pids(&self) -> Option<(u16, Option<u16>)> {
        let [v, a] = self.streams.as_ref()?;
        Some((v.pid, (a.pid != 0).then_some(a.pid)))
    }

    /// Starts with known PIDs (from the start of the file) instead of waiting for the PAT and
    /// PMT: for reading from the middle of a file.
    pub(crate) fn with_pids(mut self, (video, audio): (u16, Option<u16>)) -> Self {
        let v = Stream { pid: video, ..Stream::default() };
        let a = Stream { pid: audio.unwrap_or(0), ..Stream::default() };
        self.streams = Some([v, a]);
        self
    }

    fn err(&self, reason: impl Into<String>) -> ClipError {
        ClipError::MalformedTs { path: self.path.to_path_buf(), reason: reason.into() }
    }

    /// Reads to the end (or until `f` says stop), calling `f` with every complete PES of the
    /// video and audio streams in the order they complete.
    pub(crate) fn run(
        &mut self,
        mut f: impl FnMut(Pes<'_>) -> Result<Flow, ClipError>,
    ) -> Result<(), ClipError> {
        loop {
            let n = self.fill()?;
            if n == 0 {
                return self.finish(&mut f);
            }
            if n % PACKET != 0 {
                let at = self.buf_at + (n - n % PACKET) as u64;
                return Err(self.err(format!("cut packet at byte {at} (file truncated)")));
            }
            let buf = std::mem::take(&mut self.buf);
            let flow = self.packets(buf.get(..n).unwrap_or_default(), &mut f);
            self.buf = buf;
            if flow? == Flow::Stop {
                return Ok(());
            }
            self.buf_at += n as u64;
        }
    }

    /// Handles the whole packets of `data`, which starts at `self.buf_at`.
    fn packets(
        &mut self,
        data: &[u8],
        f: &mut impl FnMut(Pes<'_>) -> Result<Flow, ClipError>,
    ) -> Result<Flow, ClipError> {
        for (i, p) in data.chunks_exact(PACKET).enumerate() {
            let at = self.buf_at + (i * PACKET) as u64;
            let Ok(p) = <&[u8; PACKET]>::try_from(p) else { continue };
            if self.packet(p, at, f)? == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }

    /// Fills the buffer as far as the source goes; the number of bytes read.
    fn fill(&mut self) -> Result<usize, ClipError> {
        let mut n = 0;
        while n < self.buf.len() {
            let Some(rest) = self.buf.get_mut(n..) else { break };
            match self.r.read(rest) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => return Err(ClipError::Io { path: self.path.to_path_buf(), source }),
            }
        }
        Ok(n)
    }

    /// The end of the file: the PES still open complete here, unless their length says more
    /// was to come.
    fn finish(
        &mut self,
        f: &mut impl FnMut(Pes<'_>) -> Result<Flow, ClipError>,
    ) -> Result<(), ClipError> {
        let end = self.buf_at;
        if self.streams.is_none() {
            let what = if self.pmt_pid.is_none() { "no PAT" } else { "no PMT" };
            return Err(self.err(format!("{what} in {end} bytes")));
        }
        for (i, kind) in [(0usize, Kind::Video), (1, Kind::Audio)] {
            let Some(s) = self.streams.as_mut().and_then(|s| s.get_mut(i)) else { continue };
            if !s.open || s.buf.is_empty() {
                continue;
            }
            if s.expected.is_some_and(|e| s.buf.len() < e) {
                return Err(self.err(format!("PES cut at the end of the file ({end} bytes)")));
            }
            let buf = std::mem::take(&mut s.buf);
            s.open = false;
            if emit(self.path, kind, &buf, end + i as u64, f)? == Flow::Stop {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Handles one packet at byte `at`.
    fn packet(
        &mut self,
        p: &[u8; PACKET],
        at: u64,
        f: &mut impl FnMut(Pes<'_>) -> Result<Flow, ClipError>,
    ) -> Result<Flow, ClipError> {
        let [sync, b1, b2, b3, ..] = *p;
        if sync != SYNC {
            return Err(self.err(format!("lost sync at byte {at}")));
        }
        if b1 & 0x80 != 0 {
            return Err(self.err(format!("transport error flagged at byte {at}")));
        }
        let pusi = b1 & 0x40 != 0;
        let pid = (u16::from(b1 & 0x1F) << 8) | u16::from(b2);
        if b3 & 0xC0 != 0 {
            return Err(self.err(format!("scrambled packet at byte {at}")));
        }
        let afc = (b3 >> 4) & 0x03;
        let cc = b3 & 0x0F;
        let (start, discontinuity) = match afc {
            1 => (4usize, false),
            2 | 3 => {
                let len = usize::from(p.get(4).copied().unwrap_or(0));
                let flags = if len > 0 { p.get(5).copied().unwrap_or(0) } else { 0 };
                let max = if afc == 2 { 183 } else { 182 };
                if len > max {
                    return Err(self.err(format!("adaptation field of {len} bytes at byte {at}")));
                }
                (5 + len, flags & 0x80 != 0)
            }
            _ => return Err(self.err(format!("reserved adaptation control at byte {at}"))),
        };
        let payload = if afc == 2 { &[][..] } else { p.get(start..).unwrap_or_default() };
        if pid == 0 || Some(pid) == self.pmt_pid {
            if pusi && self.streams.is_none() {
                self.psi(pid, payload, at)?;
            }
            return Ok(Flow::Continue);
        }
        let Some(i) = self.streams.as_ref().and_then(|s| s.iter().position(|s| s.pid == pid))
        else {
            return Ok(Flow::Continue);
        };
        if payload.is_empty() {
            return Ok(Flow::Continue);
        }
        let kind = if i == 0 { Kind::Video } else { Kind::Audio };
        self.pes_packet(i, kind, pusi, cc, discontinuity, payload, at, f)
    }

    #[allow(clippy::too_many_arguments)]
    fn pes_packet(
        &mut self,
        i: usize,
        kind: Kind,
        pusi: bool,
        cc: u8,
        discontinuity: bool,
        payload: &[u8],
        at: u64,
        f: &mut impl FnMut(Pes<'_>) -> Result<Flow, ClipError>,
    ) -> Result<Flow, ClipError> {
        let path = self.path;
        let err = |reason: String| ClipError::MalformedTs { path: path.to_path_buf(), reason };
        let Some(s) = self.streams.as_mut().and_then(|s| s.get_mut(i)) else {
            return Ok(Flow::Continue);
        };
        match s.cc {
            Some(last) if last == cc => return Ok(Flow::Continue), // a duplicate packet
            Some(last) if (last + 1) & 0x0F != cc && !discontinuity && s.open => {
                return Err(err(format!("packets lost on PID {} before byte {at}", s.pid)));
            }
            _ => {}
        }
        s.cc = Some(cc);
        let mut flow = Flow::Continue;
        if pusi {
            if s.open && !s.buf.is_empty() {
                if s.expected.is_some_and(|e| s.buf.len() < e) {
                    return Err(err(format!("PES cut short before byte {at}")));
                }
                let buf = std::mem::take(&mut s.buf);
                flow = emit(path, kind, &buf, at, f)?;
                s.buf = buf;
                s.buf.clear();
            }
            s.open = true;
            s.expected = None;
        }
        if !s.open || flow == Flow::Stop {
            return Ok(flow);
        }
        if s.buf.len() + payload.len() > MAX_PES {
            return Err(err(format!("PES over {MAX_PES} bytes at byte {at}")));
        }
        s.buf.extend_from_slice(payload);
        if s.expected.is_none()
            && let [_, _, _, _, hi, lo, ..] = s.buf[..]
        {
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            s.expected = (len > 0).then_some(6 + len);
        }
        if let Some(e) = s.expected.filter(|e| s.buf.len() >= *e) {
            s.buf.truncate(e);
            let buf = std::mem::take(&mut s.buf);
            s.open = false;
            flow = emit(path, kind, &buf, at, f)?;
            s.buf = buf;
            s.buf.clear();
        }
        Ok(flow)
    }

    /// A PAT or PMT section starting in this packet (sections spanning packets are not
    /// supported: a camera's PAT and PMT are a few dozen bytes).
    fn psi(&mut self, pid: u16, payload: &[u8], at: u64) -> Result<(), ClipError> {
        let pointer = usize::from(payload.first().copied().unwrap_or(0));
        let section = payload.get(1 + pointer..).unwrap_or_default();
        let [table_id, l1, l2, ..] = *section else {
            return Err(self.err(format!("cut PSI section at byte {at}")));
        };
        let len = 3 + ((usize::from(l1 & 0x0F) << 8) | usize::from(l2));
        let Some(section) = section.get(..len).filter(|_| len >= 12) else {
            return Err(self.err(format!("PSI section of {len} bytes at byte {at}")));
        };
        if crc32_mpeg2(section) != 0 {
            return Err(self.err(format!("PSI section CRC mismatch at byte {at}")));
        }
        let body = section.get(8..len - 4).unwrap_or_default();
        match (pid, table_id) {
            (0, 0x00) => {
                let program =
                    body.chunks_exact(4).find(|e| e.first() != Some(&0) || e.get(1) != Some(&0));
                if let Some(&[_, _, hi, lo]) = program {
                    self.pmt_pid = Some((u16::from(hi & 0x1F) << 8) | u16::from(lo));
                }
            }
            (_, 0x02) => self.pmt(body, at)?,
            _ => {}
        }
        Ok(())
    }

    fn pmt(&mut self, body: &[u8], at: u64) -> Result<(), ClipError> {
        let info_len = match body {
            [_, _, hi, lo, ..] => (usize::from(hi & 0x0F) << 8) | usize::from(*lo),
            _ => return Err(self.err(format!("cut PMT at byte {at}"))),
        };
        let mut rest = body.get(4 + info_len..).unwrap_or_default();
        let (mut video, mut audio) = (None, None);
        while let [stream_type, p1, p2, e1, e2, ..] = *rest {
            let pid = (u16::from(p1 & 0x1F) << 8) | u16::from(p2);
            let es_len = (usize::from(e1 & 0x0F) << 8) | usize::from(e2);
            self.stream_types.push(stream_type);
            match stream_type {
                STREAM_H264 if video.is_none() => video = Some(pid),
                STREAM_ADTS if audio.is_none() => audio = Some(pid),
                _ => {}
            }
            rest = rest.get(5 + es_len..).unwrap_or_default();
        }
        let Some(video) = video else {
            let types: Vec<String> =
                self.stream_types.iter().map(|t| format!("{t:#04x}")).collect();
            return Err(self.err(format!(
                "the PMT names no H.264 video stream (stream types: {})",
                types.join(", ")
            )));
        };
        let v = Stream { pid: video, ..Stream::default() };
        let a = Stream { pid: audio.unwrap_or(0), ..Stream::default() };
        self.streams = Some([v, a]);
        Ok(())
    }
}

/// Parses a complete PES's header and hands it to `f`.
fn emit(
    path: &Path,
    kind: Kind,
    buf: &[u8],
    completed_at: u64,
    f: &mut impl FnMut(Pes<'_>) -> Result<Flow, ClipError>,
) -> Result<Flow, ClipError> {
    let err = |reason: String| ClipError::MalformedTs { path: path.to_path_buf(), reason };
    let [0, 0, 1, _stream_id, _, _, flags1, flags2, header_len, ..] = *buf else {
        return Err(err(format!("bad PES start code (PES completed at byte {completed_at})")));
    };
    if flags1 & 0xC0 != 0x80 {
        return Err(err(format!("bad PES header (PES completed at byte {completed_at})")));
    }
    let data_at = 9 + usize::from(header_len);
    let header =
        buf.get(9..data_at).ok_or_else(|| err(format!("cut PES header at {completed_at}")))?;
    let data = buf.get(data_at..).unwrap_or_default();
    let (pts, dts) = match flags2 >> 6 {
        2 => (Some(timestamp(header.get(..5))), None),
        3 => (Some(timestamp(header.get(..5))), Some(timestamp(header.get(5..10)))),
        _ => (None, None),
    };
    let bad = |t: &Option<Option<u64>>| matches!(t, Some(None));
    if bad(&pts) || bad(&dts) {
        return Err(err(format!("cut PES time stamps (PES completed at byte {completed_at})")));
    }
    f(Pes { kind, pts: pts.flatten(), dts: dts.flatten(), data, completed_at })
}

/// A 33-bit PES time stamp from its 5 bytes (marker bits ignored).
fn timestamp(b: Option<&[u8]>) -> Option<u64> {
    let &[a, b, c, d, e] = b? else { return None };
    Some(
        (u64::from(a >> 1) & 0x07) << 30
            | u64::from(b) << 22
            | u64::from(c >> 1) << 15
            | u64::from(d) << 7
            | u64::from(e >> 1),
    )
}

/// CRC-32/MPEG-2 over a PSI section including its CRC: 0 when the section is intact.
pub(crate) fn crc32_mpeg2(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04C1_1DB7 } else { crc << 1 };
        }
    }
    crc
}

/// Whether the bytes at the start of a file look like a transport stream: a sync byte, and
/// another one a packet later when the file is that long. An MP4 cannot start with 0x47 (its
/// first box would be over 1 GB).
pub(crate) fn looks_like_ts(head: &[u8]) -> bool {
    head.first() == Some(&SYNC) && head.get(PACKET).is_none_or(|b| *b == SYNC)
}
