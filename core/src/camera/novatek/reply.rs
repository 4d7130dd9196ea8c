//! The `<Function>` replies of Novatek commands other than the file list:
//!
//! ```xml
//! <Function><Cmd>3017</Cmd><Status>0</Status><Value>31457280000</Value></Function>
//! <Function><Cmd>3012</Cmd><Status>0</Status><String>VIOFO_A129_V1.0</String></Function>
//! ```
//!
//! `Status` 0 means done; negative values are errors (`-256` is common for an unknown command).
//! The status query (`cmd=3014`) answers one `Cmd`/`Status` pair per setting in one `<Function>`,
//! so a reply holds a list of pairs.

use quick_xml::Reader;
use quick_xml::events::Event;

/// The largest reply accepted, in bytes (a status reply of every setting is a few KiB).
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

/// The most `Cmd`/`Status` pairs a reply may hold.
const MAX_PAIRS: usize = 512;

/// The longest `Value` or `String` accepted.
const MAX_TEXT: usize = 1024;

/// Why a Novatek reply cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum NovatekReplyError {
    /// The reply is larger than [`MAX_REPLY_BYTES`].
    #[error("the reply is {0} bytes, more than the {MAX_REPLY_BYTES} accepted")]
    TooLarge(usize),
    /// The answer is not a `<Function>` reply.
    #[error("the answer is not a Novatek reply (root element {0:?})")]
    NotAReply(String),
    /// The reply ends before its `</Function>`.
    #[error("the reply ends before </Function>")]
    Truncated,
    /// The reply is not well-formed, or its numbers and pairs do not add up.
    #[error("the reply is malformed: {0}")]
    Malformed(String),
    /// The camera answered another command than the one asked.
    #[error("asked for command {asked}, the camera answered {answered:?}")]
    WrongCommand {
        /// The command sent.
        asked: u32,
        /// The first command in the reply, if any.
        answered: Option<u32>,
    },
    /// The camera refused the command (a non-zero `Status`).
    #[error("command {cmd} failed with status {status}")]
    Failed {
        /// The command.
        cmd: u32,
        /// The camera's status code.
        status: i64,
    },
}

/// A command's reply, read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    /// The `Cmd`/`Status` pairs, in order.
    pub pairs: Vec<(u32, i64)>,
    /// The `<Value>` text, if any (free space, counts).
    pub value: Option<String>,
    /// The `<String>` text, if any (the firmware version).
    pub string: Option<String>,
}

impl Reply {
    /// The status the reply gives for `cmd`, if it has one.
    pub fn status_of(&self, cmd: u32) -> Option<i64> {
        self.pairs.iter().find(|(c, _)| *c == cmd).map(|(_, s)| *s)
    }

    /// Checks that the reply answers `cmd` first, with status 0.
    pub fn expect_ok(&self, cmd: u32) -> Result<&Self, NovatekReplyError> {
        match self.pairs.first() {
            Some(&(c, 0)) if c == cmd => Ok(self),
            Some(&(c, status)) if c == cmd => Err(NovatekReplyError::Failed { cmd, status }),
            first => {
                Err(NovatekReplyError::WrongCommand { asked: cmd, answered: first.map(|p| p.0) })
            }
        }
    }

    /// The `<Value>` as a number (free space in bytes for `cmd=3017`).
    pub fn value_u64(&self) -> Option<u64> {
        self.value.as_deref().and_then(|v| crate::camera::driver::ascii_number(v.trim()))
    }
}

/// Which text element the reader is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Cmd,
    Status,
    Value,
    String,
}

/// Reads a `<Function>` reply.
pub fn parse_reply(xml: &[u8]) -> Result<Reply, NovatekReplyError> {
    if xml.len() > MAX_REPLY_BYTES {
        return Err(NovatekReplyError::TooLarge(xml.len()));
    }
    let malformed = |m: &str| NovatekReplyError::Malformed(m.to_string());
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut reply = Reply::default();
    let mut pending_cmd: Option<u32> = None;
    let mut depth = 0usize;
    let mut slot: Option<Slot> = None;
    let mut text = String::new();
    loop {
        match reader.read_event().map_err(|e| NovatekReplyError::Malformed(e.to_string()))? {
            Event::Start(tag) => {
                depth += 1;
                let name = tag.local_name();
                if depth == 1 && name.as_ref() != b"Function" {
                    let root = String::from_utf8_lossy(name.as_ref()).into_owned();
                    return Err(NovatekReplyError::NotAReply(root));
                }
                slot = match name.as_ref() {
                    _ if depth != 2 => None,
                    b"Cmd" => Some(Slot::Cmd),
                    b"Status" => Some(Slot::Status),
                    b"Value" => Some(Slot::Value),
                    b"String" => Some(Slot::String),
                    _ => None,
                };
                text.clear();
            }
            Event::Text(t) if slot.is_some() => {
                let t = t.decode().map_err(|_| malformed("text is not UTF-8"))?;
                if text.len() + t.len() > MAX_TEXT {
                    return Err(malformed("text too long"));
                }
                text.push_str(&t);
            }
            Event::GeneralRef(_) if slot.is_some() => return Err(malformed("entity in a field")),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if let Some(s) = slot.take() {
                    store(&mut reply, &mut pending_cmd, s, std::mem::take(&mut text))?;
                }
                if depth == 0 {
                    if pending_cmd.is_some() {
                        return Err(malformed("a Cmd without its Status"));
                    }
                    return Ok(reply);
                }
            }
            Event::Eof if depth == 0 => return Err(NovatekReplyError::NotAReply(String::new())),
            Event::Eof => return Err(NovatekReplyError::Truncated),
            _ => {}
        }
    }
}

fn store(
    reply: &mut Reply,
    pending_cmd: &mut Option<u32>,
    slot: Slot,
    text: String,
) -> Result<(), NovatekReplyError> {
    let malformed = |m: &str| NovatekReplyError::Malformed(m.to_string());
    match slot {
        Slot::Cmd => {
            if pending_cmd.is_some() {
                return Err(malformed("two Cmd without a Status"));
            }
            let cmd = crate::camera::driver::ascii_number(text.trim());
            *pending_cmd = Some(cmd.ok_or_else(|| malformed("Cmd is not a number"))?);
        }
        Slot::Status => {
            let cmd = pending_cmd.take().ok_or_else(|| malformed("a Status without its Cmd"))?;
            let status = parse_status(text.trim()).ok_or_else(|| malformed("bad Status"))?;
            if reply.pairs.len() >= MAX_PAIRS {
                return Err(malformed("too many Cmd/Status pairs"));
            }
            reply.pairs.push((cmd, status));
        }
        Slot::Value => reply.value = Some(text),
        Slot::String => reply.string = Some(text),
    }
    Ok(())
}

/// A status: ASCII digits with an optional leading minus.
fn parse_status(s: &str) -> Option<i64> {
    match s.strip_prefix('-') {
        Some(digits) => crate::camera::driver::ascii_number::<i64>(digits).map(|n| -n),
        None => crate::camera::driver::ascii_number(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::novatek::{CMD_FREE_SPACE, CMD_RECORD, CMD_VERSION};

    #[test]
    fn free_space_version_and_plain_replies_are_read() {
        let r = parse_reply(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<Function>\n<Cmd>3017</Cmd>\n\
              <Status>0</Status>\n<Value>31457280000</Value>\n</Function>",
        )
        .unwrap();
        assert_eq!(r.expect_ok(CMD_FREE_SPACE).unwrap().value_u64(), Some(31_457_280_000));
        let r = parse_reply(
            b"<Function><Cmd>3012</Cmd><Status>0</Status><String>VIOFO_A129_V1.0</String></Function>",
        )
        .unwrap();
        assert_eq!(r.expect_ok(CMD_VERSION).unwrap().string.as_deref(), Some("VIOFO_A129_V1.0"));
        let r = parse_reply(b"<Function><Cmd>2001</Cmd><Status>0</Status></Function>").unwrap();
        assert!(r.expect_ok(CMD_RECORD).is_ok());
    }

    #[test]
    fn a_status_reply_lists_every_setting() {
        let r = parse_reply(
            b"<Function><Cmd>2002</Cmd><Status>1</Status><Cmd>2001</Cmd><Status>1</Status>\
              <Cmd>2003</Cmd><Status>-3</Status></Function>",
        )
        .unwrap();
        assert_eq!(r.pairs, [(2002, 1), (2001, 1), (2003, -3)]);
        assert_eq!(r.status_of(CMD_RECORD), Some(1));
        assert_eq!(r.status_of(9999), None);
    }

    #[test]
    fn refusals_and_other_commands_are_told_apart() {
        let r = parse_reply(b"<Function><Cmd>4003</Cmd><Status>-256</Status></Function>").unwrap();
        assert!(matches!(
            r.expect_ok(4003),
            Err(NovatekReplyError::Failed { cmd: 4003, status: -256 })
        ));
        assert!(matches!(
            r.expect_ok(3017),
            Err(NovatekReplyError::WrongCommand { asked: 3017, answered: Some(4003) })
        ));
        let empty = parse_reply(b"<Function></Function>").unwrap();
        assert!(matches!(
            empty.expect_ok(3017),
            Err(NovatekReplyError::WrongCommand { answered: None, .. })
        ));
    }

    #[test]
    fn hostile_replies_are_typed_errors() {
        for bad in [
            &b"<Function><Cmd>x</Cmd><Status>0</Status></Function>"[..],
            b"<Function><Cmd>1</Cmd><Status>--1</Status></Function>",
            b"<Function><Status>0</Status></Function>",
            b"<Function><Cmd>1</Cmd><Cmd>2</Cmd></Function>",
            b"<Function><Cmd>1</Cmd></Function>",
            b"<Function><Cmd>99999999999</Cmd><Status>0</Status></Function>",
            b"<Function><String>\xff</String></Function>",
            b"<Function><String>a&amp;b</String></Function>",
            b"<Function><Cmd>1</Status></Function>",
        ] {
            assert!(
                matches!(parse_reply(bad), Err(NovatekReplyError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(parse_reply(b"<LIST></LIST>"), Err(NovatekReplyError::NotAReply(_))));
        assert!(matches!(parse_reply(b""), Err(NovatekReplyError::NotAReply(_))));
        let long = format!("<Function><String>{}</String></Function>", "x".repeat(MAX_TEXT + 1));
        assert!(matches!(parse_reply(long.as_bytes()), Err(NovatekReplyError::Malformed(_))));
        let many: String =
            (0..=MAX_PAIRS).map(|i| format!("<Cmd>{i}</Cmd><Status>0</Status>")).collect();
        let many = format!("<Function>{many}</Function>");
        assert!(matches!(parse_reply(many.as_bytes()), Err(NovatekReplyError::Malformed(_))));
        let huge = vec![b' '; MAX_REPLY_BYTES + 1];
        assert!(matches!(parse_reply(&huge), Err(NovatekReplyError::TooLarge(_))));
    }

    #[test]
    fn a_cut_reply_is_an_error_at_every_cut() {
        let xml = b"<Function><Cmd>3017</Cmd><Status>0</Status><Value>12</Value></Function>";
        for cut in 1..xml.len() - 1 {
            assert!(parse_reply(&xml[..cut]).is_err(), "cut at {cut}");
        }
    }
}
