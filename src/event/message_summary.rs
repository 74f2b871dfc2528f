//! `application/simple-message-summary` (RFC 3842): the voicemail lamp.
//!
//! ```text
//! Messages-Waiting: yes
//! Message-Account: sip:alice@vmail.example.com
//! Voice-Message: 2/8 (0/2)
//! ```

use std::fmt;

use super::{body_text, BodyError};

/// `new/old (new-urgent/old-urgent)` for one message class (RFC 3842 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageCounts {
    pub new: u32,
    pub old: u32,
    pub new_urgent: u32,
    pub old_urgent: u32,
}

impl MessageCounts {
    fn parse(s: &str) -> Option<Self> {
        let pair = |p: &str| -> Option<(u32, u32)> {
            let (a, b) = p.split_once('/')?;
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        };
        let (counts, urgent) = match s.split_once('(') {
            Some((c, u)) => (c, Some(u.trim().strip_suffix(')')?)),
            None => (s, None),
        };
        let (new, old) = pair(counts)?;
        let (new_urgent, old_urgent) = match urgent {
            Some(u) => pair(u)?,
            None => (0, 0),
        };
        Some(Self {
            new,
            old,
            new_urgent,
            old_urgent,
        })
    }
}

impl fmt::Display for MessageCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} ({}/{})",
            self.new, self.old, self.new_urgent, self.old_urgent
        )
    }
}

/// A parsed summary.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageSummary {
    /// `Messages-Waiting: yes` — the lamp.
    pub waiting: bool,
    pub account: Option<String>,
    /// `Voice-Message` counts, the class a softphone shows.
    pub voice: Option<MessageCounts>,
    /// Other classes (`Fax-Message`, `Text-Message`, ...) as `(name, counts)`.
    pub others: Vec<(String, MessageCounts)>,
}

impl MessageSummary {
    /// Parses a body. `Messages-Waiting` is required; unknown lines (the optional
    /// message headers of §5.3 included) are skipped; a known class with bad
    /// counts is an error rather than a silently wrong number.
    pub fn parse(body: &[u8]) -> Result<Self, BodyError> {
        let text = body_text(body)?;
        let mut out = Self::default();
        let mut saw_waiting = false;
        for line in text.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("Messages-Waiting") {
                saw_waiting = true;
                out.waiting = match value.to_ascii_lowercase().as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(BodyError::Unexpected(format!("Messages-Waiting: {value}"))),
                };
            } else if name.eq_ignore_ascii_case("Message-Account") {
                out.account = Some(value.to_string());
            } else if let Some(class) = name
                .strip_suffix("-Message")
                .or_else(|| name.strip_suffix("-message"))
            {
                let counts = MessageCounts::parse(value)
                    .ok_or_else(|| BodyError::Unexpected(format!("{name}: {value}")))?;
                if class.eq_ignore_ascii_case("Voice") {
                    out.voice = Some(counts);
                } else {
                    out.others.push((name.to_string(), counts));
                }
            }
        }
        if !saw_waiting {
            return Err(BodyError::Unexpected("missing Messages-Waiting".into()));
        }
        Ok(out)
    }

    /// New voice messages, 0 if the class is absent.
    pub fn new_voice(&self) -> u32 {
        self.voice.map_or(0, |v| v.new)
    }
}

impl fmt::Display for MessageSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yes_no = if self.waiting { "yes" } else { "no" };
        write!(f, "Messages-Waiting: {yes_no}\r\n")?;
        if let Some(a) = &self.account {
            write!(f, "Message-Account: {a}\r\n")?;
        }
        if let Some(v) = &self.voice {
            write!(f, "Voice-Message: {v}\r\n")?;
        }
        for (name, counts) in &self.others {
            write!(f, "{name}: {counts}\r\n")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3842_section_5_example() {
        let body = b"Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\n\
            Voice-Message: 4/8 (1/2)\r\n";
        let s = MessageSummary::parse(body).unwrap();
        assert!(s.waiting);
        assert_eq!(s.account.as_deref(), Some("sip:alice@vmail.example.com"));
        assert_eq!(
            s.voice,
            Some(MessageCounts {
                new: 4,
                old: 8,
                new_urgent: 1,
                old_urgent: 2
            })
        );
        assert_eq!(s.new_voice(), 4);
        assert_eq!(MessageSummary::parse(s.to_string().as_bytes()).unwrap(), s);
    }

    #[test]
    fn counts_without_urgent_and_other_classes() {
        let body =
            b"messages-waiting: NO\nVoice-Message: 0/3\nFax-Message: 1/0 (0/0)\n\nTo: <sip:a@b>\n";
        let s = MessageSummary::parse(body).unwrap();
        assert!(!s.waiting);
        assert_eq!(
            s.voice.map(|v| (v.new, v.old, v.new_urgent)),
            Some((0, 3, 0))
        );
        assert_eq!(s.others.len(), 1);
        assert_eq!(MessageSummary::parse(s.to_string().as_bytes()).unwrap(), s);
    }

    #[test]
    fn bad_bodies_are_errors() {
        assert!(MessageSummary::parse(b"Voice-Message: 1/2\r\n").is_err());
        assert!(MessageSummary::parse(b"Messages-Waiting: maybe\r\n").is_err());
        assert!(MessageSummary::parse(b"Messages-Waiting: yes\r\nVoice-Message: x/2\r\n").is_err());
        assert!(
            MessageSummary::parse(b"Messages-Waiting: yes\r\nVoice-Message: 1/2 (3/4\r\n").is_err()
        );
        assert!(MessageSummary::parse(&[0xff]).is_err());
    }
}
