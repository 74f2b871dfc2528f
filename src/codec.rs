//! The one place where SIP bytes become `rsip` messages and back.
//!
//! `rsip` 0.4 is the chosen parser, but on real traffic it falls short (see
//! `PLATFORM-NOTES.md`): compact header names come back as `Header::Other`, folded
//! header lines and `Name  :` spacing are rejected, unknown methods are a bare parse
//! error, `Content-Length` is ignored and nothing checks that the headers a UA needs
//! are there. This module closes those gaps *around* rsip instead of forking it:
//!
//! 1. [`parse`] does a small, strict framing pass of its own (size cap, start line,
//!    header unfolding, compact → long names, `Content-Length` framing), hands the
//!    normalised text to rsip, then validates the essentials (Via, From, To, Call-ID,
//!    CSeq and the CSeq method) so the engine only ever sees usable messages.
//! 2. [`serialize`] prints an rsip message the way Kamailio, JsSIP and SIP.js expect
//!    it: canonical header names and an exact `Content-Length` always present.
//! 3. Small accessors ([`header`], [`headers`], [`from_tag`], [`to_tag`], [`call_id`],
//!    [`cseq`], [`top_via_branch`], [`content_type`]) read what the engine needs
//!    without each caller re-implementing rsip's typed conversions.
//! 4. [`headers`](mod@headers) has typed parsers for the headers rsip lacks (Event,
//!    Subscription-State, Refer-To, Replaces, Session-Expires, RSeq/RAck, Call-Info,
//!    digest challenges, ...).
//!
//! ```
//! use ringside::codec;
//! let bytes = b"OPTIONS sip:pbx.test SIP/2.0\r\nv: SIP/2.0/WSS a.invalid;branch=z9hG4bK1\r\n\
//!     f: <sip:1001@pbx.test>;tag=a\r\nt: <sip:pbx.test>\r\ni: c1\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n";
//! let msg = codec::parse(bytes).unwrap();
//! assert_eq!(codec::call_id(&msg), Some("c1"));
//! assert_eq!(codec::top_via_branch(&msg).as_deref(), Some("z9hG4bK1"));
//! let text = codec::serialize(&msg);
//! assert!(text.contains("Content-Length: 0\r\n"));
//! ```

pub mod challenge;
pub mod headers;
pub mod status;

pub use status::{error_response, reason_phrase};

use rsip::headers::{ToTypedHeader, UntypedHeader};
use rsip::message::HasHeaders;
use rsip::{Header, Method, SipMessage};

/// Messages above this size are refused before any parsing: nothing a softphone
/// receives legitimately comes close, and the cap bounds the work an attacker can cause.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// Why a message was refused. Variants carry what the engine needs to pick a response
/// (400, 416, 501, 505) for a request it can still answer — see [`CodecError::status_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("message of {0} bytes is larger than the {MAX_MESSAGE_SIZE} byte limit")]
    TooLarge(usize),
    /// Nothing but whitespace: a CRLF keep-alive, not an error worth logging.
    #[error("empty message")]
    Empty,
    #[error("start line or headers are not valid UTF-8")]
    NotUtf8,
    #[error("malformed start line: {0}")]
    BadStartLine(String),
    #[error("unsupported SIP version {0}")]
    UnsupportedVersion(String),
    /// A syntactically valid method rsip has no variant for; a UA answers 501.
    #[error("unknown method {0}")]
    UnknownMethod(String),
    #[error("malformed Request-URI: {0}")]
    BadRequestUri(String),
    /// A well-formed URI of a scheme we cannot route to; a UA answers 416.
    #[error("unsupported URI scheme {0}")]
    UnsupportedUriScheme(String),
    #[error("malformed header line: {0}")]
    BadHeaderLine(String),
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    #[error("malformed {0} header")]
    BadHeader(&'static str),
    #[error("{0} header appears more than once")]
    DuplicateHeader(&'static str),
    #[error("CSeq method {cseq} does not match the request method {method}")]
    CSeqMismatch { method: String, cseq: String },
    #[error("Content-Length {declared} is larger than the {actual} byte body")]
    BodyTruncated { declared: usize, actual: usize },
    #[error("invalid status code {0}")]
    BadStatusCode(String),
    #[error("rejected by the SIP parser: {0}")]
    Rsip(String),
}

impl CodecError {
    /// The response a UA sends when this error hits a request it could frame:
    /// 505 for a foreign version, 501 for an unknown method, 416 for an unknown URI
    /// scheme, 413 when too large, otherwise 400. `None` for errors that leave
    /// nothing to answer (empty input).
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Self::Empty => None,
            Self::TooLarge(_) => Some(413),
            Self::UnsupportedVersion(_) => Some(505),
            Self::UnknownMethod(_) => Some(501),
            Self::UnsupportedUriScheme(_) => Some(416),
            _ => Some(400),
        }
    }
}

/// Compact header forms (RFC 3261 §7.3.3, RFC 6665 `o`/`u`, RFC 3515 `r`, RFC 3892 `b`,
/// RFC 4028 `x`, RFC 3841 `a`/`j`/`d`, RFC 4474 `y`/`n`) and the long form rsip knows.
const COMPACT_FORMS: &[(&str, &str)] = &[
    ("a", "Accept-Contact"),
    ("b", "Referred-By"),
    ("c", "Content-Type"),
    ("d", "Request-Disposition"),
    ("e", "Content-Encoding"),
    ("f", "From"),
    ("i", "Call-ID"),
    ("j", "Reject-Contact"),
    ("k", "Supported"),
    ("l", "Content-Length"),
    ("m", "Contact"),
    ("n", "Identity-Info"),
    ("o", "Event"),
    ("r", "Refer-To"),
    ("s", "Subject"),
    ("t", "To"),
    ("u", "Allow-Events"),
    ("v", "Via"),
    ("x", "Session-Expires"),
    ("y", "Identity"),
];

/// The long form of a compact header name, or the name itself.
pub fn long_header_name(name: &str) -> &str {
    COMPACT_FORMS
        .iter()
        .find(|(short, _)| short.eq_ignore_ascii_case(name))
        .map_or(name, |(_, long)| long)
}

/// RFC 3261 `token` characters (method names, header names).
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// Parses one SIP message (one WebSocket frame) into an rsip message that carries
/// every header a UA relies on. Never panics; every refusal is a [`CodecError`].
pub fn parse(bytes: &[u8]) -> Result<SipMessage, CodecError> {
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(CodecError::TooLarge(bytes.len()));
    }
    let framed = Framed::split(bytes)?;
    let mut text = String::with_capacity(bytes.len() + 64);
    text.push_str(&framed.start.normalized());
    text.push_str("\r\n");
    for (name, value) in &framed.headers {
        text.push_str(name);
        text.push_str(": ");
        text.push_str(value);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    let mut raw = text.into_bytes();
    raw.extend_from_slice(framed.body);
    let msg = SipMessage::try_from(raw.as_slice()).map_err(|e| {
        // rsip's error for a bad Request-URI is the most useful classification.
        match &framed.start {
            StartLine::Request { uri, .. } if rsip::Uri::try_from(uri.as_str()).is_err() => {
                CodecError::BadRequestUri(uri.clone())
            }
            _ => CodecError::Rsip(e.to_string()),
        }
    })?;
    validate(&msg)?;
    Ok(msg)
}

enum StartLine {
    /// `known`: rsip has a variant for the method (checked case-sensitively,
    /// as RFC 3261 §7.1 compares methods).
    Request {
        method: String,
        uri: String,
        known: bool,
    },
    Response {
        code: u16,
        reason: String,
    },
}

impl StartLine {
    fn parse(line: &str) -> Result<Self, CodecError> {
        let bad = || CodecError::BadStartLine(line.chars().take(80).collect());
        if starts_with_sip_slash(line) {
            // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase; a missing
            // reason phrase (even without the SP, RFC 4475 noreason) is tolerated.
            let mut parts = line.splitn(3, ' ');
            let version = parts.next().ok_or_else(bad)?;
            check_version(version)?;
            let code = parts.next().ok_or_else(bad)?;
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CodecError::BadStatusCode(code.chars().take(20).collect()));
            }
            let code: u16 = code.parse().map_err(|_| bad())?;
            if !(100..=699).contains(&code) {
                return Err(CodecError::BadStatusCode(code.to_string()));
            }
            let reason = parts.next().unwrap_or("").to_string();
            return Ok(Self::Response { code, reason });
        }
        // Request-Line = Method SP Request-URI SP SIP-Version: exactly one SP each,
        // so LWS inside the URI or extra/trailing spaces (lwsruri, lwsstart, trws) fail.
        let parts: Vec<&str> = line.split(' ').collect();
        let [method, uri, version] = parts.as_slice() else {
            return Err(bad());
        };
        if !is_token(method) {
            return Err(bad());
        }
        if uri.is_empty() || uri.chars().any(|c| c.is_control() || c == '\t') {
            return Err(CodecError::BadRequestUri(uri.chars().take(80).collect()));
        }
        check_version(version)?;
        if uri.starts_with('<') {
            return Err(CodecError::BadRequestUri(uri.chars().take(80).collect()));
        }
        let scheme = uri.split(':').next().unwrap_or("");
        let is_sip = scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips");
        if !is_sip && !scheme.eq_ignore_ascii_case("tel") {
            return Err(CodecError::UnsupportedUriScheme(
                scheme.chars().take(40).collect(),
            ));
        }
        // RFC 3261 §19.1.5: a SIP Request-URI never carries URI headers (escruri).
        // The user part may hold a '?' (intmeth), so look only after the '@'.
        let after_user = uri.split_once('@').map_or(*uri, |(_, rest)| rest);
        if is_sip && after_user.contains('?') {
            return Err(CodecError::BadRequestUri(uri.chars().take(80).collect()));
        }
        let known =
            method.parse::<rsip::Method>().is_ok() && *method == method.to_ascii_uppercase();
        Ok(Self::Request {
            method: method.to_string(),
            uri: uri.to_string(),
            known,
        })
    }

    fn normalized(&self) -> String {
        match self {
            Self::Request { method, uri, .. } => {
                format!("{method} {} SIP/2.0", rsip_friendly_uri(uri))
            }
            Self::Response { code, reason } => format!("SIP/2.0 {code} {reason}"),
        }
    }
}

/// rsip's URI parser ends the user part at the first ';' (rsip deviation, RFC
/// 4475 semiuri): a user part such as `user;par=u%40example.net` is handed to it
/// with those ';' escaped. Only the Request-URI is affected, which a UA does not
/// echo; everything it answers with (Via, From, To, Call-ID, CSeq) is untouched.
fn rsip_friendly_uri(uri: &str) -> std::borrow::Cow<'_, str> {
    match uri.split_once('@') {
        Some((user, host)) if user.contains(';') => {
            format!("{}@{host}", user.replace(';', "%3B")).into()
        }
        _ => uri.into(),
    }
}

/// Byte-wise so that a multi-byte character in the first four bytes (found by
/// fuzzing: a BOM before the start line) cannot split a char.
fn starts_with_sip_slash(s: &str) -> bool {
    s.len() > 4
        && s.as_bytes()
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

fn check_version(version: &str) -> Result<(), CodecError> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        Ok(())
    } else if starts_with_sip_slash(version) {
        Err(CodecError::UnsupportedVersion(
            version.chars().take(20).collect(),
        ))
    } else {
        Err(CodecError::BadStartLine(version.chars().take(20).collect()))
    }
}

/// A message cut into start line, unfolded headers (long names) and framed body.
struct Framed<'a> {
    start: StartLine,
    headers: Vec<(String, String)>,
    body: &'a [u8],
}

impl<'a> Framed<'a> {
    fn split(bytes: &'a [u8]) -> Result<Self, CodecError> {
        // RFC 3261 §7.5: CRLFs before the start line are ignored.
        let start_at = bytes
            .iter()
            .position(|b| *b != b'\r' && *b != b'\n')
            .ok_or(CodecError::Empty)?;
        let bytes = &bytes[start_at..];
        let (head, body) = match find(bytes, b"\r\n\r\n") {
            Some(i) => (&bytes[..i], &bytes[i + 4..]),
            // A header block ending the frame without the empty line is still framed.
            None => (bytes, &bytes[bytes.len()..]),
        };
        let head = std::str::from_utf8(head).map_err(|_| CodecError::NotUtf8)?;
        let mut lines = head.split("\r\n");
        let start = StartLine::parse(lines.next().unwrap_or(""))?;
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            // A bare CR or LF inside the header block would survive unfolding
            // and split the header differently when we print it (found by fuzzing).
            if line.contains(['\r', '\n']) {
                return Err(CodecError::BadHeaderLine(truncated(line)));
            }
            if line.is_empty() {
                // Only the block's end can be empty here (a header block that
                // ends the frame with a single CRLF).
                continue;
            }
            if line.starts_with([' ', '\t']) {
                // Folded continuation (RFC 3261 §7.3.1): joined with a single SP.
                let Some((_, value)) = headers.last_mut() else {
                    return Err(CodecError::BadHeaderLine(truncated(line)));
                };
                let more = line.trim_matches([' ', '\t']);
                if !more.is_empty() {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(more);
                }
                continue;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| CodecError::BadHeaderLine(truncated(line)))?;
            let name = name.trim_end_matches([' ', '\t']);
            if !is_token(name) {
                return Err(CodecError::BadHeaderLine(truncated(line)));
            }
            headers.push((
                long_header_name(name).to_string(),
                value.trim_matches([' ', '\t']).to_string(),
            ));
        }
        let headers = tidy_structured_headers(headers)?;
        if let StartLine::Request {
            method,
            known: false,
            ..
        } = &start
        {
            return Err(unknown_method(method, &headers));
        }
        let body = frame_body(&headers, body)?;
        Ok(Self {
            start,
            headers,
            body,
        })
    }
}

/// An unknown method is answered 501, unless its CSeq names another method:
/// then the request is malformed (RFC 4475 mismatch02) and gets a 400.
fn unknown_method(method: &str, headers: &[(String, String)]) -> CodecError {
    let cseq_method = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("CSeq"))
        .and_then(|(_, v)| v.split_whitespace().nth(1));
    match cseq_method {
        Some(m) if m != method => CodecError::CSeqMismatch {
            method: method.to_string(),
            cseq: m.to_string(),
        },
        _ => CodecError::UnknownMethod(method.to_string()),
    }
}

/// Headers whose values are name-addr/Via lists: rsip's typed parsers choke on
/// the LWS RFC 3261 allows around `/ ; =` (RFC 4475 wsinv) and on several values
/// in one line, so they are tidied and split here. `true` marks list headers.
const STRUCTURED: &[(&str, bool)] = &[
    ("Via", true),
    ("Contact", true),
    ("Route", true),
    ("Record-Route", true),
    ("From", false),
    ("To", false),
];

fn tidy_structured_headers(
    headers: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, CodecError> {
    let mut out = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let Some((canonical, list)) = STRUCTURED
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        else {
            out.push((name, value));
            continue;
        };
        for v in tidy_value(canonical, &value, *list)? {
            out.push((canonical.to_string(), v));
        }
    }
    Ok(out)
}

/// Removes LWS around `/ ; =`, collapses other runs to one SP, splits a list at
/// commas outside quotes and `<>`; rejects unbalanced quotes or brackets
/// (quotbal), spaces inside `<>` (badaspec), empty list elements (badinv01), and
/// in an addr-spec without `<>` a comma or `?` (baddn, regbadct: §20 says such
/// URIs must be bracketed).
fn tidy_value(name: &'static str, value: &str, list: bool) -> Result<Vec<String>, CodecError> {
    let bad = || CodecError::BadHeader(name);
    let mut out = Vec::new();
    let mut cur = String::with_capacity(value.len());
    let (mut quoted, mut escaped, mut angle) = (false, false, false);
    let (mut space, mut glue) = (false, false);
    let finish = |cur: &mut String, out: &mut Vec<String>| {
        if cur.is_empty() {
            return Err(bad());
        }
        out.push(std::mem::take(cur));
        Ok(())
    };
    for c in value.chars() {
        if quoted {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
            continue;
        }
        if angle {
            match c {
                '>' => angle = false,
                c if c.is_whitespace() => return Err(bad()),
                _ => {}
            }
            cur.push(c);
            continue;
        }
        match c {
            ' ' | '\t' => space = true,
            ';' | '=' | '/' => {
                cur.push(c);
                (space, glue) = (false, true);
            }
            ',' if list => {
                finish(&mut cur, &mut out)?;
                (space, glue) = (false, false);
            }
            ',' | '?' | '>' => return Err(bad()),
            _ => {
                if space && !glue && !cur.is_empty() {
                    cur.push(' ');
                }
                (space, glue) = (false, false);
                match c {
                    '"' => quoted = true,
                    '<' => angle = true,
                    _ => {}
                }
                cur.push(c);
            }
        }
    }
    if quoted || angle {
        return Err(bad());
    }
    finish(&mut cur, &mut out)?;
    Ok(out)
}

fn truncated(s: &str) -> String {
    s.chars().take(80).collect()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Applies Content-Length (RFC 3261 §18.3): a longer body is cut to the declared size
/// (extra octets are dropped, RFC 4475 dblreq), a shorter one is an error (clerr).
/// Without the header the frame boundary of the message-oriented transport decides.
fn frame_body<'b>(headers: &[(String, String)], body: &'b [u8]) -> Result<&'b [u8], CodecError> {
    let mut lengths = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Content-Length"));
    let Some((_, value)) = lengths.next() else {
        return Ok(body);
    };
    if lengths.next().is_some() {
        return Err(CodecError::DuplicateHeader("Content-Length"));
    }
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CodecError::BadHeader("Content-Length"));
    }
    let declared: usize = value
        .parse()
        .map_err(|_| CodecError::BadHeader("Content-Length"))?;
    body.get(..declared).ok_or(CodecError::BodyTruncated {
        declared,
        actual: body.len(),
    })
}

/// The checks RFC 3261 §8.2 / §16.3 imply before a UA acts on a message.
fn validate(msg: &SipMessage) -> Result<(), CodecError> {
    let hs = msg.headers();
    let mut vias = 0;
    let (mut from, mut to, mut call_id, mut cseq) = (0, 0, 0, 0);
    for h in hs.iter() {
        match h {
            Header::Via(v) => {
                // Only the top Via is ours to interpret (RFC 3261 §8.1.3.3, §18.2.2);
                // the others are copied into responses verbatim, so an unknown
                // transport below it (RFC 4475 transports) is no reason to refuse.
                if vias == 0 {
                    v.typed().map_err(|_| CodecError::BadHeader("Via"))?;
                }
                vias += 1;
            }
            Header::From(f) => {
                from += 1;
                f.typed().map_err(|_| CodecError::BadHeader("From"))?;
            }
            Header::To(t) => {
                to += 1;
                t.typed().map_err(|_| CodecError::BadHeader("To"))?;
            }
            Header::CallId(c) => {
                call_id += 1;
                if c.value().trim().is_empty() {
                    return Err(CodecError::BadHeader("Call-ID"));
                }
            }
            Header::CSeq(c) => {
                cseq += 1;
                let typed = c.typed().map_err(|_| CodecError::BadHeader("CSeq"))?;
                // RFC 3261 §8.1.1.5: the sequence number is below 2**31.
                if typed.seq >= 1 << 31 {
                    return Err(CodecError::BadHeader("CSeq"));
                }
            }
            Header::MaxForwards(m) => {
                let ok = m.value().parse::<u32>().is_ok_and(|n| n <= 255);
                if !ok {
                    return Err(CodecError::BadHeader("Max-Forwards"));
                }
            }
            Header::Expires(e) if e.value().parse::<u32>().is_err() => {
                return Err(CodecError::BadHeader("Expires"));
            }
            _ => {}
        }
    }
    let single = |n: usize, name: &'static str| match n {
        0 => Err(CodecError::MissingHeader(name)),
        1 => Ok(()),
        _ => Err(CodecError::DuplicateHeader(name)),
    };
    if vias == 0 {
        return Err(CodecError::MissingHeader("Via"));
    }
    single(from, "From")?;
    single(to, "To")?;
    single(call_id, "Call-ID")?;
    single(cseq, "CSeq")?;
    if let SipMessage::Request(req) = msg {
        let Some((_, method)) = self::cseq(msg) else {
            return Err(CodecError::BadHeader("CSeq"));
        };
        if method != req.method {
            return Err(CodecError::CSeqMismatch {
                method: req.method.to_string(),
                cseq: method.to_string(),
            });
        }
    }
    Ok(())
}

/// Prints a message for the wire. rsip's Display is already in the shape Kamailio,
/// JsSIP and SIP.js accept (canonical names such as `Call-ID`, `CSeq`,
/// `WWW-Authenticate`; CRLF line ends), but it never adds `Content-Length`, which
/// RFC 3261 §20.14 requires on stream transports and JsSIP relies on: this replaces
/// any stale value with the real body length. A status line gets the RFC's
/// reason phrase ([`status::reason_phrase`]) instead of rsip's variant name.
pub fn serialize(msg: &SipMessage) -> String {
    let mut msg = msg.clone();
    // The transport is a WebSocket text frame, so the body goes out as UTF-8;
    // Content-Length must count what is really sent, not the bytes we held.
    let body = String::from_utf8_lossy(msg.body()).into_owned();
    msg.body_mut().clear();
    let hs = msg.headers_mut();
    hs.retain(|h| {
        !header_name_value(h)
            .0
            .eq_ignore_ascii_case("Content-Length")
    });
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    hs.push(Header::ContentLength(rsip::headers::ContentLength::from(
        len,
    )));
    let mut text = msg.to_string();
    // rsip prints its variant name as the reason phrase (`486 BusyHere`).
    if let (SipMessage::Response(r), Some(end)) = (&msg, text.find("\r\n")) {
        let code = r.status_code.code();
        let line = format!("SIP/2.0 {code} {}", status::wire_phrase(&r.status_code));
        text.replace_range(..end, &line);
    }
    text.push_str(&body);
    text
}

macro_rules! header_name_value {
    ($h:expr, $($variant:ident => $name:literal),* $(,)?) => {
        match $h {
            Header::Other(name, value) => (long_header_name(name), value.as_str()),
            $(Header::$variant(inner) => ($name, UntypedHeader::value(inner)),)*
        }
    };
}

/// The (long) name and raw value of any header, typed by rsip or not.
pub fn header_name_value(h: &Header) -> (&str, &str) {
    header_name_value!(h,
        Accept => "Accept", AcceptEncoding => "Accept-Encoding",
        AcceptLanguage => "Accept-Language", AlertInfo => "Alert-Info", Allow => "Allow",
        AuthenticationInfo => "Authentication-Info", Authorization => "Authorization",
        CSeq => "CSeq", CallId => "Call-ID", CallInfo => "Call-Info", Contact => "Contact",
        ContentDisposition => "Content-Disposition", ContentEncoding => "Content-Encoding",
        ContentLanguage => "Content-Language", ContentLength => "Content-Length",
        ContentType => "Content-Type", Date => "Date", ErrorInfo => "Error-Info",
        Event => "Event", Expires => "Expires", From => "From", InReplyTo => "In-Reply-To",
        MaxForwards => "Max-Forwards", MimeVersion => "MIME-Version",
        MinExpires => "Min-Expires", Organization => "Organization", Priority => "Priority",
        ProxyAuthenticate => "Proxy-Authenticate", ProxyAuthorization => "Proxy-Authorization",
        ProxyRequire => "Proxy-Require", RecordRoute => "Record-Route", ReplyTo => "Reply-To",
        Require => "Require", RetryAfter => "Retry-After", Route => "Route", Server => "Server",
        Subject => "Subject", SubscriptionState => "Subscription-State",
        Supported => "Supported", Timestamp => "Timestamp", To => "To",
        Unsupported => "Unsupported", UserAgent => "User-Agent", Via => "Via",
        Warning => "Warning", WwwAuthenticate => "WWW-Authenticate",
    )
}

/// Option tags in `Require` that are not in `supported` (RFC 3261 §8.2.2.3): when
/// this is not empty a UAS answers 420 Bad Extension listing them in `Unsupported`.
pub fn unsupported_requirements<M: HasHeaders + ?Sized>(
    msg: &M,
    supported: &[&str],
) -> Vec<String> {
    headers(msg, "Require")
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty() && !supported.iter().any(|s| s.eq_ignore_ascii_case(t)))
        .map(str::to_string)
        .collect()
}

/// The value of the first header called `name` (case-insensitive; compact forms such
/// as `o` for Event are accepted on either side).
pub fn header<'a, M: HasHeaders + ?Sized>(msg: &'a M, name: &str) -> Option<&'a str> {
    headers(msg, name).into_iter().next()
}

/// The values of every header called `name`, in message order. A header line holding
/// a comma-separated list is returned as one value.
pub fn headers<'a, M: HasHeaders + ?Sized>(msg: &'a M, name: &str) -> Vec<&'a str> {
    let want = long_header_name(name);
    msg.headers()
        .iter()
        .map(header_name_value)
        .filter(|(n, _)| n.eq_ignore_ascii_case(want))
        .map(|(_, v)| v)
        .collect()
}

/// The `tag` parameter of From, if any.
pub fn from_tag<M: HasHeaders + ?Sized>(msg: &M) -> Option<String> {
    msg.headers().iter().find_map(|h| match h {
        Header::From(f) => f.typed().ok()?.tag().map(|t| t.value().to_string()),
        _ => None,
    })
}

/// The `tag` parameter of To, if any.
pub fn to_tag<M: HasHeaders + ?Sized>(msg: &M) -> Option<String> {
    msg.headers().iter().find_map(|h| match h {
        Header::To(t) => t.typed().ok()?.tag().map(|t| t.value().to_string()),
        _ => None,
    })
}

/// The Call-ID value.
pub fn call_id<M: HasHeaders + ?Sized>(msg: &M) -> Option<&str> {
    msg.headers().iter().find_map(|h| match h {
        Header::CallId(c) => Some(UntypedHeader::value(c)),
        _ => None,
    })
}

/// CSeq sequence number and method.
pub fn cseq<M: HasHeaders + ?Sized>(msg: &M) -> Option<(u32, Method)> {
    msg.headers().iter().find_map(|h| match h {
        Header::CSeq(c) => c.typed().ok().map(|c| (c.seq, c.method)),
        _ => None,
    })
}

/// The `branch` of the topmost Via: the transaction key of RFC 3261 §17.
pub fn top_via_branch<M: HasHeaders + ?Sized>(msg: &M) -> Option<String> {
    let top = msg.headers().iter().find_map(|h| match h {
        Header::Via(v) => Some(v),
        _ => None,
    })?;
    Some(top.typed().ok()?.branch()?.value().to_string())
}

/// The media type of Content-Type, lower-cased and without parameters
/// (`application/sdp`), so callers can compare it directly.
pub fn content_type<M: HasHeaders + ?Sized>(msg: &M) -> Option<String> {
    let value = header(msg, "Content-Type")?;
    let media = value.split(';').next().unwrap_or("").trim();
    (!media.is_empty()).then(|| media.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(lines: &[&str], body: &str) -> Vec<u8> {
        let mut s = lines.join("\r\n");
        s.push_str("\r\n\r\n");
        s.push_str(body);
        s.into_bytes()
    }

    fn options(extra: &[&str]) -> Vec<u8> {
        let mut lines = vec![
            "OPTIONS sip:pbx.test SIP/2.0",
            "Via: SIP/2.0/WSS a.invalid;branch=z9hG4bKx1",
            "From: \"Alice\" <sip:1001@pbx.test>;tag=f1",
            "To: <sip:1002@pbx.test>;tag=t2",
            "Call-ID: abc@x",
            "CSeq: 7 OPTIONS",
        ];
        lines.extend_from_slice(extra);
        msg(&lines, "")
    }

    #[test]
    fn compact_forms_reach_rsips_typed_accessors() {
        let bytes = msg(
            &[
                "NOTIFY sip:1001@a.invalid;transport=ws SIP/2.0",
                "v: SIP/2.0/WSS pbx.test;branch=z9hG4bKabc",
                "f: <sip:1002@pbx.test>;tag=n1",
                "t: <sip:1001@pbx.test>;tag=s1",
                "i: call-1",
                "CSeq: 2 NOTIFY",
                "o: dialog;id=7",
                "u: dialog, presence",
                "c: application/dialog-info+xml",
                "l: 3",
            ],
            "abc",
        );
        let m = parse(&bytes).unwrap();
        assert_eq!(call_id(&m), Some("call-1"));
        assert_eq!(from_tag(&m).as_deref(), Some("n1"));
        assert_eq!(to_tag(&m).as_deref(), Some("s1"));
        assert_eq!(cseq(&m), Some((2, Method::Notify)));
        assert_eq!(top_via_branch(&m).as_deref(), Some("z9hG4bKabc"));
        assert_eq!(
            content_type(&m).as_deref(),
            Some("application/dialog-info+xml")
        );
        assert_eq!(header(&m, "Event"), Some("dialog;id=7"));
        assert_eq!(header(&m, "o"), Some("dialog;id=7"));
        assert_eq!(header(&m, "allow-events"), Some("dialog, presence"));
        assert_eq!(m.body(), b"abc");
    }

    #[test]
    fn folded_headers_and_spaced_colons_are_unfolded() {
        let bytes = options(&["Subject  :  a\r\n  folded\r\n\tline"]);
        let m = parse(&bytes).unwrap();
        assert_eq!(header(&m, "subject"), Some("a folded line"));
    }

    #[test]
    fn oversized_messages_are_refused_before_parsing() {
        let big = vec![b'a'; MAX_MESSAGE_SIZE + 1];
        assert_eq!(parse(&big), Err(CodecError::TooLarge(MAX_MESSAGE_SIZE + 1)));
    }

    #[test]
    fn multibyte_characters_at_the_start_line_are_refused_not_panicked_on() {
        // Fuzzing regression: slicing "SIP/" off a line starting with U+FEFF.
        assert!(parse("\u{feff}IP/2.0 200 OK\r\n\r\n".as_bytes()).is_err());
        assert!(parse("OPTIONS sip:a SI\u{feff}\r\n\r\n".as_bytes()).is_err());
        assert!(parse("OPTIONS sip:a SIP\u{feff}\r\n\r\n".as_bytes()).is_err());
    }

    #[test]
    fn bare_cr_or_lf_in_a_folded_line_is_refused() {
        // Fuzzing regression: the continuation carried "\r\t\n", which unfolded
        // into the value and printed as a different header block.
        let bytes = options(&["Subject: a\r\n\tb\rc\n\td"]);
        assert!(matches!(parse(&bytes), Err(CodecError::BadHeaderLine(_))));
    }

    #[test]
    fn serialize_counts_the_body_it_really_sends() {
        let mut m = parse(&options(&["Content-Type: text/plain"])).unwrap();
        *m.body_mut() = vec![b'a', 0xff, b'b'];
        let text = serialize(&m);
        assert!(
            text.ends_with("Content-Length: 5\r\n\r\na\u{fffd}b"),
            "{text}"
        );
        assert_eq!(parse(text.as_bytes()).unwrap().body().len(), 5);
    }

    #[test]
    fn headers_ending_the_frame_without_the_empty_line_are_framed() {
        let mut bytes = options(&[]);
        bytes.truncate(bytes.len() - 2);
        assert!(parse(&bytes).is_ok());
    }

    #[test]
    fn utf8_display_names_and_several_contacts_in_one_line() {
        let bytes = msg(
            &[
                "SIP/2.0 200 OK",
                "Via: SIP/2.0/WSS a.invalid;branch=z9hG4bKx1;rport=5;received=127.0.0.1",
                "From: \"张三\" <sip:1001@pbx.test>;tag=f1",
                "To: \"张三\" <sip:1001@pbx.test>;tag=t1",
                "Call-ID: abc@x",
                "CSeq: 2 REGISTER",
                "Contact: <sip:a@b.invalid;transport=ws>;expires=600;+sip.instance=\"<urn:uuid:1>\";reg-id=1, \
                 <sip:c@d.invalid;transport=ws;alias=127.0.0.1~5~1>;expires=30",
            ],
            "",
        );
        let m = parse(&bytes).unwrap();
        let contacts = headers(&m, "Contact");
        assert_eq!(contacts.len(), 2, "{contacts:?}");
        assert!(contacts[0].ends_with("+sip.instance=\"<urn:uuid:1>\";reg-id=1"));
        assert_eq!(from_tag(&m).as_deref(), Some("f1"));
    }

    #[test]
    fn crlf_keepalive_is_empty_not_garbage() {
        assert_eq!(parse(b"\r\n\r\n"), Err(CodecError::Empty));
        assert_eq!(parse(b""), Err(CodecError::Empty));
    }

    #[test]
    fn essentials_are_required() {
        let no_call_id = msg(
            &[
                "OPTIONS sip:pbx.test SIP/2.0",
                "Via: SIP/2.0/WSS a.invalid;branch=z9hG4bKx1",
                "From: <sip:1001@pbx.test>;tag=f1",
                "To: <sip:1002@pbx.test>",
                "CSeq: 7 OPTIONS",
            ],
            "",
        );
        assert_eq!(
            parse(&no_call_id),
            Err(CodecError::MissingHeader("Call-ID"))
        );
        let mismatch = options(&[]).replace_all("CSeq: 7 OPTIONS", "CSeq: 7 INVITE");
        assert!(matches!(
            parse(&mismatch),
            Err(CodecError::CSeqMismatch { .. })
        ));
    }

    #[test]
    fn content_length_frames_the_body() {
        let extra = msg(
            &[
                "MESSAGE sip:pbx.test SIP/2.0",
                "Via: SIP/2.0/WSS a.invalid;branch=z9hG4bKx1",
                "From: <sip:1001@pbx.test>;tag=f1",
                "To: <sip:1002@pbx.test>",
                "Call-ID: abc@x",
                "CSeq: 7 MESSAGE",
                "Content-Length: 2",
            ],
            "hi and more",
        );
        assert_eq!(parse(&extra).unwrap().body(), b"hi");
        let short = String::from_utf8(extra)
            .unwrap()
            .replace("Content-Length: 2", "Content-Length: 200");
        assert!(matches!(
            parse(short.as_bytes()),
            Err(CodecError::BodyTruncated { declared: 200, .. })
        ));
    }

    #[test]
    fn unknown_method_and_version_are_classified_for_the_response() {
        let m = options(&[])
            .replace_all("OPTIONS sip", "FOO sip")
            .replace_all("7 OPTIONS", "7 FOO");
        let e = parse(&m).unwrap_err();
        assert_eq!(e, CodecError::UnknownMethod("FOO".into()));
        assert_eq!(e.status_code(), Some(501));
        let v = options(&[]).replace_all("SIP/2.0\r\nVia", "SIP/7.0\r\nVia");
        assert_eq!(parse(&v).unwrap_err().status_code(), Some(505));
    }

    #[test]
    fn serialize_always_states_the_real_content_length() {
        let bytes = msg(
            &[
                "SIP/2.0 200 OK",
                "v: SIP/2.0/WSS a.invalid;branch=z9hG4bKx1",
                "f: <sip:1001@pbx.test>;tag=f1",
                "t: <sip:1002@pbx.test>;tag=t1",
                "i: abc@x",
                "CSeq: 7 INVITE",
            ],
            "v=0\r\n",
        );
        let text = serialize(&parse(&bytes).unwrap());
        assert!(text.starts_with("SIP/2.0 200 OK\r\n"), "{text}");
        assert!(text.contains("\r\nCall-ID: abc@x\r\n"), "{text}");
        assert!(
            text.contains("\r\nContent-Length: 5\r\n\r\nv=0\r\n"),
            "{text}"
        );
        assert_eq!(parse(text.as_bytes()).unwrap().body(), b"v=0\r\n");
    }

    #[test]
    fn status_lines_carry_the_rfc_reason_phrase() {
        let request = parse(&options(&[])).unwrap();
        let SipMessage::Request(request) = request else {
            panic!("a request")
        };
        let line = |status: rsip::StatusCode| {
            let response = rsip::Response {
                status_code: status,
                version: rsip::Version::V2,
                headers: request.headers.clone(),
                body: Vec::new(),
            };
            let text = serialize(&SipMessage::Response(response));
            text.split("\r\n").next().unwrap_or_default().to_string()
        };
        assert_eq!(line(486.into()), "SIP/2.0 486 Busy Here");
        assert_eq!(line(487.into()), "SIP/2.0 487 Request Terminated");
        assert_eq!(
            line(481.into()),
            "SIP/2.0 481 Call/Transaction Does Not Exist"
        );
        assert_eq!(line(202.into()), "SIP/2.0 202 Accepted");
        assert_eq!(line(489.into()), "SIP/2.0 489 Bad Event");
        assert_eq!(line(422.into()), "SIP/2.0 422 Session Interval Too Small");
        assert_eq!(line(412.into()), "SIP/2.0 412 Conditional Request Failed");
        // A code rsip does not know keeps the phrase it arrived with.
        let received = b"SIP/2.0 299 Quite Fine\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bKx1\r\n\
            From: <sip:1@p>;tag=a\r\nTo: <sip:2@p>;tag=b\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let text = serialize(&parse(received).unwrap());
        assert!(text.starts_with("SIP/2.0 299 Quite Fine\r\n"), "{text}");
    }

    trait ReplaceAll {
        fn replace_all(&self, from: &str, to: &str) -> Vec<u8>;
    }
    impl ReplaceAll for Vec<u8> {
        fn replace_all(&self, from: &str, to: &str) -> Vec<u8> {
            String::from_utf8_lossy(self).replace(from, to).into_bytes()
        }
    }
}
