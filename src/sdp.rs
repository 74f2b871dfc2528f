//! A small SDP (RFC 4566) model: just enough structure for call control — media
//! sections, their direction attributes (RFC 3264 hold), and whether video is
//! offered. Everything else (codecs, ICE, DTLS fingerprints) stays opaque text that
//! the browser's WebRTC stack produced and will read back, so we never lose or
//! reorder what we did not understand.
//!
//! ```
//! use ringside::sdp::{Direction, Sdp};
//! let offer = Sdp::parse("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n").unwrap();
//! let hold = offer.with_direction(Direction::SendRecv.held());
//! assert_eq!(hold.direction(), Direction::SendOnly);
//! ```

use std::fmt;

/// Media direction attribute (RFC 3264 §5.1, §6.1); absent means sendrecv.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn parse(attr: &str) -> Option<Self> {
        match attr {
            "sendrecv" => Some(Self::SendRecv),
            "sendonly" => Some(Self::SendOnly),
            "recvonly" => Some(Self::RecvOnly),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// The direction an answer takes to this offer when it accepts it as is
    /// (RFC 3264 §6.1): sendonly ↔ recvonly, the others unchanged.
    pub fn reversed(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            d => d,
        }
    }

    /// What to offer to put the call on hold (RFC 3264 §8.4): stop receiving but
    /// keep sending (music on hold may flow the other way only if they send it).
    pub fn held(self) -> Self {
        match self {
            Self::SendRecv | Self::SendOnly => Self::SendOnly,
            Self::RecvOnly | Self::Inactive => Self::Inactive,
        }
    }

    /// What to offer to take a call off hold.
    pub fn resumed(self) -> Self {
        match self {
            Self::SendOnly | Self::SendRecv => Self::SendRecv,
            Self::Inactive | Self::RecvOnly => Self::RecvOnly,
        }
    }

    /// True when the remote end is not sending us media (we are "held").
    pub fn is_held_by_peer_offer(self) -> bool {
        matches!(self, Self::SendOnly | Self::Inactive)
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaKind {
    Audio,
    Video,
    /// application, text, message, ...
    Other(String),
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub kind: MediaKind,
    /// 0 means the stream is disabled/rejected (RFC 3264 §5.1, §6).
    pub port: u16,
    /// The `/<number of ports>` suffix, if any.
    pub port_count: Option<u16>,
    /// `RTP/AVP`, `UDP/TLS/RTP/SAVPF`, ...
    pub protocol: String,
    pub formats: Vec<String>,
    /// The section's own direction attribute, if it has one.
    pub direction: Option<Direction>,
    /// Every other line of the section (`c=`, `b=`, `a=`), in order, verbatim.
    pub lines: Vec<String>,
}

impl Media {
    /// The direction that applies to this stream: its own attribute, else the
    /// session-level one, else sendrecv (RFC 4566 §6).
    pub fn effective_direction(&self, session: Option<Direction>) -> Direction {
        self.direction.or(session).unwrap_or_default()
    }

    pub fn is_enabled(&self) -> bool {
        self.port != 0
    }

    /// The section's `a=mid` (RFC 5888), which BUNDLE groups name.
    pub fn mid(&self) -> Option<&str> {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix("a=mid:"))
            .map(str::trim)
    }
}

/// Why a body is not SDP we can work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP body does not start with v=0")]
    NoVersion,
    #[error("malformed media line: {0}")]
    BadMediaLine(String),
}

/// A session description: session-level lines kept as text, media sections modelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    /// Session-level lines (`v=`, `o=`, `s=`, `c=`, `t=`, `a=`, ...) without the
    /// direction attribute, in order, verbatim.
    pub session: Vec<String>,
    /// Session-level direction attribute, if any.
    pub direction: Option<Direction>,
    pub media: Vec<Media>,
}

impl Sdp {
    /// Reads an SDP body. Lenient: accepts LF or CRLF, skips blank lines and keeps
    /// lines it does not understand; fails only without `v=` first or on an `m=`
    /// line without kind, port and protocol.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        let mut lines = text
            .split('\n')
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty());
        if lines.next().map(str::trim) != Some("v=0") {
            return Err(SdpError::NoVersion);
        }
        let mut sdp = Sdp {
            session: vec!["v=0".to_string()],
            direction: None,
            media: Vec::new(),
        };
        for line in lines {
            if let Some(m) = line.strip_prefix("m=") {
                sdp.media.push(parse_media_line(m)?);
                continue;
            }
            let direction = line
                .strip_prefix("a=")
                .and_then(|a| Direction::parse(a.trim()));
            match (sdp.media.last_mut(), direction) {
                (Some(m), Some(d)) => m.direction = Some(d),
                (Some(m), None) => m.lines.push(line.to_string()),
                (None, Some(d)) => sdp.direction = Some(d),
                (None, None) => sdp.session.push(line.to_string()),
            }
        }
        Ok(sdp)
    }

    /// The direction of the call's main stream: the first enabled audio stream
    /// (else the first enabled stream), else the session-level attribute.
    pub fn direction(&self) -> Direction {
        let enabled = || self.media.iter().filter(|m| m.is_enabled());
        enabled()
            .find(|m| m.kind == MediaKind::Audio)
            .or_else(|| enabled().next())
            .map_or(self.direction.unwrap_or_default(), |m| {
                m.effective_direction(self.direction)
            })
    }

    /// A copy with `dir` on every enabled stream. The session-level attribute is
    /// dropped so the media-level ones are the only truth (RFC 3264 §8.4 puts them
    /// per stream). Bump the `o=` version too when sending it as a new offer.
    pub fn with_direction(&self, dir: Direction) -> Self {
        let mut out = self.clone();
        out.direction = None;
        for m in out.media.iter_mut().filter(|m| m.is_enabled()) {
            m.direction = Some(dir);
        }
        out
    }

    pub fn has_video(&self) -> bool {
        self.media
            .iter()
            .any(|m| m.kind == MediaKind::Video && m.is_enabled())
    }

    /// A copy with every video stream disabled by port 0 (RFC 3264 §6 / §8.2): the
    /// m= line stays, because answers must keep the offer's sections in order.
    pub fn without_video(&self) -> Self {
        let mut out = self.clone();
        for i in 0..out.media.len() {
            if out.media.get(i).is_some_and(|m| m.kind == MediaKind::Video) {
                out.reject(i);
            }
        }
        out
    }

    /// Disables stream `index` (port 0) and takes it out of the BUNDLE group:
    /// browsers refuse a description whose BUNDLE group names a rejected
    /// section (RFC 8843 §7.3.3).
    fn reject(&mut self, index: usize) {
        let Some(m) = self.media.get_mut(index) else {
            return;
        };
        m.port = 0;
        let Some(mid) = m.mid().map(str::to_owned) else {
            return;
        };
        for line in self.session.iter_mut() {
            if let Some(ids) = line.strip_prefix("a=group:BUNDLE") {
                let kept: Vec<&str> = ids.split_whitespace().filter(|id| *id != mid).collect();
                *line = format!("a=group:BUNDLE {}", kept.join(" "))
                    .trim_end()
                    .to_owned();
            }
        }
    }

    /// Our answer (or next offer) shaped after the peer's description
    /// `other`: a stream it disabled stays disabled here (RFC 3264 §8.2, the
    /// way a call drops video), and a stream it added that we do not have is
    /// answered with a disabled copy, since an answer needs exactly the
    /// offer's sections (RFC 3264 §6).
    pub fn rejecting_as(&self, other: &Sdp) -> Self {
        let mut out = self.clone();
        for (i, theirs) in other.media.iter().enumerate() {
            if i >= out.media.len() {
                out.media.push(Media {
                    kind: theirs.kind.clone(),
                    port: 0,
                    port_count: None,
                    protocol: theirs.protocol.clone(),
                    formats: theirs.formats.iter().take(1).cloned().collect(),
                    direction: None,
                    lines: theirs
                        .lines
                        .iter()
                        .filter(|l| l.starts_with("a=mid:"))
                        .cloned()
                        .collect(),
                });
            }
            if !theirs.is_enabled() {
                out.reject(i);
            }
        }
        out
    }

    /// Increments the session version in `o=` (RFC 3264 §8: every new offer in a
    /// session must change it). Leaves a malformed `o=` line alone.
    pub fn bump_version(&mut self) {
        let Some(line) = self.session.iter_mut().find(|l| l.starts_with("o=")) else {
            return;
        };
        let origin = line.strip_prefix("o=").unwrap_or_default();
        let mut fields: Vec<String> = origin.split(' ').map(str::to_string).collect();
        if let Some(version) = fields.get_mut(2) {
            if let Ok(n) = version.parse::<u64>() {
                *version = n.wrapping_add(1).to_string();
                *line = format!("o={}", fields.join(" "));
            }
        }
    }
}

fn parse_media_line(m: &str) -> Result<Media, SdpError> {
    let bad = || SdpError::BadMediaLine(m.chars().take(80).collect());
    let mut fields = m.split_whitespace();
    let (Some(kind), Some(port), Some(protocol)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(bad());
    };
    let (port, port_count) = match port.split_once('/') {
        Some((p, n)) => (p, Some(n.parse::<u16>().map_err(|_| bad())?)),
        None => (port, None),
    };
    Ok(Media {
        kind: match kind {
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            other => MediaKind::Other(other.to_string()),
        },
        port: port.parse().map_err(|_| bad())?,
        port_count,
        protocol: protocol.to_string(),
        formats: fields.map(str::to_string).collect(),
        direction: None,
        lines: Vec::new(),
    })
}

impl fmt::Display for Sdp {
    /// CRLF line ends (RFC 4566 §5); direction attributes last in their section,
    /// where `a=` lines belong.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.session {
            write!(f, "{l}\r\n")?;
        }
        if let Some(d) = self.direction {
            write!(f, "a={d}\r\n")?;
        }
        for m in &self.media {
            let kind = match &m.kind {
                MediaKind::Audio => "audio",
                MediaKind::Video => "video",
                MediaKind::Other(k) => k,
            };
            write!(f, "m={kind} {}", m.port)?;
            if let Some(n) = m.port_count {
                write!(f, "/{n}")?;
            }
            write!(f, " {}", m.protocol)?;
            for fmt_ in &m.formats {
                write!(f, " {fmt_}")?;
            }
            write!(f, "\r\n")?;
            for l in &m.lines {
                write!(f, "{l}\r\n")?;
            }
            if let Some(d) = m.direction {
                write!(f, "a={d}\r\n")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3264 §10.1, Alice's offer: one audio and one video stream.
    const ALICE_OFFER: &str = "v=0\r\n\
        o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\n\
        s=\r\n\
        c=IN IP4 host.atlanta.example.com\r\n\
        t=0 0\r\n\
        m=audio 49170 RTP/AVP 0 8 97\r\n\
        a=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:8 PCMA/8000\r\n\
        a=rtpmap:97 iLBC/8000\r\n\
        m=video 51372 RTP/AVP 31 32\r\n\
        a=rtpmap:31 H261/90000\r\n\
        a=rtpmap:32 MPV/90000\r\n";

    #[test]
    fn parses_and_prints_rfc3264_offer_unchanged() {
        let sdp = Sdp::parse(ALICE_OFFER).unwrap();
        assert_eq!(sdp.media.len(), 2);
        let audio = &sdp.media[0];
        assert_eq!(audio.kind, MediaKind::Audio);
        assert_eq!(audio.port, 49170);
        assert_eq!(audio.protocol, "RTP/AVP");
        assert_eq!(audio.formats, vec!["0", "8", "97"]);
        assert_eq!(sdp.direction(), Direction::SendRecv);
        assert!(sdp.has_video());
        assert_eq!(sdp.to_string(), ALICE_OFFER);
    }

    #[test]
    fn hold_offer_and_mirrored_answer_rfc3264_section_8_4() {
        let offer = Sdp::parse(ALICE_OFFER).unwrap();
        let mut hold = offer.with_direction(offer.direction().held());
        hold.bump_version();
        assert_eq!(hold.direction(), Direction::SendOnly);
        assert!(hold
            .to_string()
            .contains("o=alice 2890844526 2890844527 IN IP4"));
        let text = hold.to_string();
        assert_eq!(text.matches("a=sendonly\r\n").count(), 2);
        // Bob accepts the hold: his answer mirrors it.
        let bob = Sdp::parse(&text).unwrap();
        let answer = bob.with_direction(bob.direction().reversed());
        assert_eq!(answer.direction(), Direction::RecvOnly);
        // Resume.
        let resumed = hold.with_direction(hold.direction().resumed());
        assert_eq!(resumed.direction(), Direction::SendRecv);
        // Held while the peer already holds us: inactive.
        assert_eq!(Direction::RecvOnly.held(), Direction::Inactive);
    }

    #[test]
    fn media_level_direction_overrides_session_level() {
        let sdp = Sdp::parse(
            "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\na=inactive\nm=audio 9 RTP/AVP 0\na=recvonly\nm=video 9 RTP/AVP 96\n",
        )
        .unwrap();
        assert_eq!(sdp.direction, Some(Direction::Inactive));
        assert_eq!(sdp.direction(), Direction::RecvOnly);
        assert_eq!(
            sdp.media[1].effective_direction(sdp.direction),
            Direction::Inactive
        );
        let again = Sdp::parse(&sdp.to_string()).unwrap();
        assert_eq!(again, sdp);
        assert!(Direction::Inactive.is_held_by_peer_offer());
    }

    #[test]
    fn without_video_keeps_the_m_line_with_port_zero() {
        let sdp = Sdp::parse(ALICE_OFFER).unwrap().without_video();
        assert!(!sdp.has_video());
        assert_eq!(sdp.media.len(), 2);
        assert!(sdp.to_string().contains("m=video 0 RTP/AVP 31 32\r\n"));
        // A disabled stream gets no direction from with_direction.
        let held = sdp.with_direction(Direction::SendOnly);
        assert_eq!(held.media[1].direction, None);
    }

    /// A browser's offer: audio and video bundled on one transport.
    const BUNDLED: &str = "v=0\r\no=- 5 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        a=group:BUNDLE 0 1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96 98\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n";

    #[test]
    fn dropping_video_takes_its_mid_out_of_the_bundle_group() {
        let sdp = Sdp::parse(BUNDLED).unwrap().without_video();
        let text = sdp.to_string();
        assert!(text.contains("a=group:BUNDLE 0\r\n"), "{text}");
        assert!(
            text.contains("m=video 0 UDP/TLS/RTP/SAVPF 96 98\r\na=mid:1\r\n"),
            "{text}"
        );
        assert!(!sdp.has_video());
    }

    #[test]
    fn an_answer_keeps_the_streams_the_offer_rejected_rejected_rfc3264_8_2() {
        // The peer's new offer drops video (port 0): our answer drops it too.
        let ours = Sdp::parse(BUNDLED).unwrap();
        let theirs = Sdp::parse(BUNDLED).unwrap().without_video();
        let answer = ours.rejecting_as(&theirs);
        assert!(!answer.has_video());
        assert_eq!(answer.media.len(), 2);
        assert!(answer.to_string().contains("a=group:BUNDLE 0\r\n"));
        // Both streams enabled on their side: nothing changes on ours.
        assert_eq!(ours.rejecting_as(&ours), ours);
    }

    #[test]
    fn a_stream_the_offer_adds_is_answered_disabled() {
        // An audio call; the peer offers video on top (RFC 3264 §8.1).
        let audio = Sdp::parse(BUNDLED).unwrap();
        let audio = Sdp {
            media: audio.media.into_iter().take(1).collect(),
            ..audio
        };
        let answer = audio.rejecting_as(&Sdp::parse(BUNDLED).unwrap());
        assert_eq!(answer.media.len(), 2);
        assert_eq!(answer.media[1].kind, MediaKind::Video);
        assert_eq!(answer.media[1].port, 0);
        assert_eq!(answer.media[1].mid(), Some("1"));
        assert!(answer
            .to_string()
            .ends_with("m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n"));
    }

    #[test]
    fn port_count_and_unknown_media() {
        let sdp = Sdp::parse("v=0\r\nm=audio 49170/2 RTP/AVP 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n").unwrap();
        assert_eq!(sdp.media[0].port_count, Some(2));
        assert_eq!(sdp.media[1].kind, MediaKind::Other("application".into()));
        assert_eq!(Sdp::parse(&sdp.to_string()).unwrap(), sdp);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(Sdp::parse(""), Err(SdpError::NoVersion));
        assert_eq!(Sdp::parse("hello"), Err(SdpError::NoVersion));
        assert!(matches!(
            Sdp::parse("v=0\r\nm=audio\r\n"),
            Err(SdpError::BadMediaLine(_))
        ));
        assert!(Sdp::parse("v=0\r\nm=audio 99999 RTP/AVP 0\r\n").is_err());
        assert!(Sdp::parse("v=0\r\nm=audio 1/x RTP/AVP 0\r\n").is_err());
        let mut odd = Sdp::parse("v=0\r\no=\r\n").unwrap();
        odd.bump_version();
        assert_eq!(odd.session[1], "o=");
    }
}
