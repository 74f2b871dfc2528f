//! Status codes on the wire: the reason phrases the RFCs define, and the
//! response a UA still owes for a request [`parse`](super::parse) refused.
//!
//! rsip prints its enum variant name as the reason phrase (`486 BusyHere`) and
//! knows some codes under the wrong number (202 Accepted is missing, 201 is
//! called Accepted): [`reason_phrase`] is the table [`serialize`](super::serialize)
//! uses instead.
//!
//! RFC 3261 §8.2 has a UAS answer a request it cannot process (400, 413, 416,
//! 501, 505) and RFC 4475 expects that answer for its invalid requests, but a
//! refused message gives the engine nothing to build a response from.
//! [`error_response`] salvages what RFC 3261 §8.2.6.2 copies into a response
//! (Via, From, To, Call-ID, CSeq) straight from the raw header lines.

use super::{
    find, is_token, long_header_name, starts_with_sip_slash, CodecError, MAX_MESSAGE_SIZE,
};

/// The reason phrase an RFC gives `code` (RFC 3261 §21 and the extensions a
/// softphone meets: 3265/6665, 3903, 4028, 5626, 6228, 6086, 8197, ...).
pub fn reason_phrase(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        417 => "Unknown Resource-Priority",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        424 => "Bad Location Information",
        428 => "Use Identity Header",
        429 => "Provide Referrer Identity",
        430 => "Flow Failed",
        433 => "Anonymity Disallowed",
        436 => "Bad Identity-Info",
        437 => "Unsupported Certificate",
        438 => "Invalid Identity Header",
        439 => "First Hop Lacks Outbound Support",
        440 => "Max-Breadth Exceeded",
        469 => "Bad Info Package",
        470 => "Consent Needed",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        494 => "Security Agreement Required",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        555 => "Push Notification Service Not Supported",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        607 => "Unwanted",
        608 => "Rejected",
        _ => return None,
    })
}

/// The phrase to print for an rsip status. For a code rsip has a variant for,
/// the received phrase is already gone (rsip keeps only the variant), so the
/// RFC's is printed; a code it does not know keeps the phrase it arrived with,
/// unless that is empty or the `"Other"` rsip fills in for `StatusCode::from(u16)`.
pub(super) fn wire_phrase(status: &rsip::StatusCode) -> String {
    let code = status.code();
    match status {
        rsip::StatusCode::Other(_, received) if !received.is_empty() && received != "Other" => {
            received.clone()
        }
        _ => reason_phrase(code)
            .unwrap_or_else(|| class_phrase(code))
            .to_string(),
    }
}

/// For a code no RFC we know defines (201 is one rsip has a variant for).
fn class_phrase(code: u16) -> &'static str {
    match code / 100 {
        1 => "Provisional",
        2 => "Success",
        3 => "Redirection",
        4 => "Request Failure",
        5 => "Server Failure",
        _ => "Global Failure",
    }
}

/// The response owed to the request in `bytes` that [`parse`](super::parse)
/// refused with `err`: `SIP/2.0 <code> <phrase>` with the request's Via lines,
/// From, To (with `to_tag` added when it has none), Call-ID and CSeq copied as
/// they were sent, and `Content-Length: 0`.
///
/// `None` when nothing may or can be answered: the error has no status (an
/// empty frame), the message is a response or an ACK (RFC 3261 §17.2: never
/// answered), or Via, From, To, Call-ID or CSeq is missing, not UTF-8, or (CSeq)
/// not a number and a method — without them the sender could not match the
/// response to its transaction. A header that is present but malformed is
/// copied as sent: RFC 4475 badinv01 expects a 400 even for a garbled Via.
pub fn error_response(bytes: &[u8], err: &CodecError, to_tag: &str) -> Option<String> {
    let code = err.status_code()?;
    let essentials = Essentials::salvage(bytes)?;
    let phrase = match (code, err) {
        (400, e) => format!("Bad Request ({})", explain(e)),
        (code, _) => reason_phrase(code).unwrap_or("Bad Request").to_string(),
    };
    let mut out = format!("SIP/2.0 {code} {phrase}\r\n");
    for via in &essentials.vias {
        out.push_str(&format!("Via: {via}\r\n"));
    }
    out.push_str(&format!("From: {}\r\n", essentials.from));
    if has_tag(&essentials.to) {
        out.push_str(&format!("To: {}\r\n", essentials.to));
    } else {
        out.push_str(&format!("To: {};tag={to_tag}\r\n", essentials.to));
    }
    out.push_str(&format!("Call-ID: {}\r\n", essentials.call_id));
    out.push_str(&format!("CSeq: {}\r\n", essentials.cseq));
    out.push_str("Content-Length: 0\r\n\r\n");
    Some(out)
}

/// What went wrong, in words that carry none of the peer's bytes (a reason
/// phrase must stay one clean line).
fn explain(err: &CodecError) -> String {
    match err {
        CodecError::MissingHeader(h) => format!("missing {h} header"),
        CodecError::BadHeader(h) => format!("malformed {h} header"),
        CodecError::DuplicateHeader(h) => format!("more than one {h} header"),
        CodecError::BadStartLine(_) => "malformed Request-Line".into(),
        CodecError::BadRequestUri(_) => "malformed Request-URI".into(),
        CodecError::BadHeaderLine(_) => "malformed header line".into(),
        CodecError::NotUtf8 => "headers are not UTF-8".into(),
        CodecError::CSeqMismatch { .. } => "CSeq method does not match the request".into(),
        CodecError::BodyTruncated { .. } => "Content-Length exceeds the body".into(),
        _ => "unparseable request".into(),
    }
}

/// The headers RFC 3261 §8.2.6.2 copies, as raw (unfolded, trimmed) values.
/// Of a header that must appear once but appears more often the first is
/// taken: the Via branch and CSeq method still let the sender match the 400.
struct Essentials {
    vias: Vec<String>,
    from: String,
    to: String,
    call_id: String,
    cseq: String,
}

impl Essentials {
    fn salvage(bytes: &[u8]) -> Option<Self> {
        let start = bytes.iter().position(|b| *b != b'\r' && *b != b'\n')?;
        let bytes = bytes.get(start..)?;
        // Even a too-large message is answered when its header block fits the cap.
        let window = bytes.get(..bytes.len().min(MAX_MESSAGE_SIZE))?;
        let head = match find(window, b"\r\n\r\n") {
            Some(i) => window.get(..i)?,
            None if bytes.len() <= MAX_MESSAGE_SIZE => window,
            None => return None,
        };
        let mut lines = Lines(head);
        let start_line = std::str::from_utf8(lines.next()?).ok()?;
        if starts_with_sip_slash(start_line) {
            return None;
        }
        let method = start_line.split(' ').next()?;
        if !is_token(method) || method == "ACK" {
            return None;
        }
        let mut fields: Vec<(String, String)> = Vec::new();
        // Whether folded lines continue an essential header (and must be copied).
        let mut continuing_essential = false;
        for line in lines {
            let text = std::str::from_utf8(line)
                .ok()
                .filter(|t| !t.contains(['\r', '\n']));
            if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                match (text, fields.last_mut()) {
                    (Some(more), Some((_, value))) if continuing_essential => {
                        let more = more.trim_matches([' ', '\t']);
                        if !more.is_empty() {
                            if !value.is_empty() {
                                value.push(' ');
                            }
                            value.push_str(more);
                        }
                    }
                    _ if continuing_essential => return None,
                    _ => {}
                }
                continue;
            }
            let lossy = String::from_utf8_lossy(line);
            let Some((name, _)) = lossy.split_once(':') else {
                continuing_essential = false;
                continue;
            };
            let name = long_header_name(name.trim_end_matches([' ', '\t']));
            let needed = ESSENTIAL.iter().any(|n| n.eq_ignore_ascii_case(name));
            match text.and_then(|t| t.split_once(':')) {
                Some((_, value)) if needed => {
                    let canonical = ESSENTIAL.iter().find(|n| n.eq_ignore_ascii_case(name))?;
                    fields.push((
                        canonical.to_string(),
                        value.trim_matches([' ', '\t']).into(),
                    ));
                    continuing_essential = true;
                }
                // An essential header we cannot copy faithfully.
                None if needed => return None,
                _ => continuing_essential = false,
            }
        }
        let first = |name: &str| {
            fields
                .iter()
                .find(|(n, v)| n == name && !v.is_empty())
                .map(|(_, v)| v.clone())
        };
        let vias: Vec<String> = fields
            .iter()
            .filter(|(n, v)| n == "Via" && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect();
        let cseq = first("CSeq")?;
        let mut parts = cseq.split_whitespace();
        let (seq, cseq_method) = (parts.next()?, parts.next()?);
        if parts.next().is_some()
            || !seq.bytes().all(|b| b.is_ascii_digit())
            || !is_token(cseq_method)
            || cseq_method == "ACK"
        {
            return None;
        }
        if vias.is_empty() {
            return None;
        }
        Some(Essentials {
            vias,
            from: first("From")?,
            to: first("To")?,
            call_id: first("Call-ID")?,
            cseq,
        })
    }
}

const ESSENTIAL: &[&str] = &["Via", "From", "To", "Call-ID", "CSeq"];

/// The lines of a header block, split at CRLF.
struct Lines<'a>(&'a [u8]);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.0.is_empty() {
            return None;
        }
        match find(self.0, b"\r\n") {
            Some(i) => {
                let line = self.0.get(..i)?;
                self.0 = self.0.get(i + 2..)?;
                Some(line)
            }
            None => Some(std::mem::take(&mut self.0)),
        }
    }
}

/// Whether a To value already carries a tag parameter: one after the `>` of a
/// name-addr, or anywhere after the URI of a bare addr-spec (where its
/// parameters are the header's, RFC 3261 §20). LWS around `;` and `=` is allowed.
fn has_tag(to: &str) -> bool {
    let params = match to.rfind('>') {
        Some(i) => to.get(i + 1..).unwrap_or(""),
        None => to,
    };
    let squeezed: String = params
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t'))
        .collect::<String>()
        .to_ascii_lowercase();
    squeezed.contains(";tag=")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::parse;

    fn lines(ls: &[&str]) -> Vec<u8> {
        let mut s = ls.join("\r\n");
        s.push_str("\r\n\r\n");
        s.into_bytes()
    }

    fn answer(bytes: &[u8]) -> Option<String> {
        let err = parse(bytes).expect_err("refused");
        error_response(bytes, &err, "ourtag")
    }

    #[test]
    fn an_unknown_method_gets_501_with_the_essentials_copied() {
        let bytes = lines(&[
            "FOO sip:1001@a.invalid SIP/2.0",
            "v: SIP/2.0/WSS pbx.test;branch=z9hG4bK1",
            "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2",
            "f: <sip:1002@pbx.test>;tag=a",
            "t: <sip:1001@pbx.test>",
            "i: c1",
            "CSeq: 3 FOO",
            "Subject: not copied",
        ]);
        let text = answer(&bytes).expect("answered");
        assert_eq!(
            text,
            "SIP/2.0 501 Not Implemented\r\n\
             Via: SIP/2.0/WSS pbx.test;branch=z9hG4bK1\r\n\
             Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2\r\n\
             From: <sip:1002@pbx.test>;tag=a\r\n\
             To: <sip:1001@pbx.test>;tag=ourtag\r\n\
             Call-ID: c1\r\nCSeq: 3 FOO\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn a_400_says_why_and_keeps_an_existing_to_tag() {
        let bytes = lines(&[
            "OPTIONS sip:1001@a.invalid SIP/2.0",
            "Via: SIP/2.0/WSS pbx.test;branch=z9hG4bK1",
            "From: <sip:1002@pbx.test>;tag=a",
            "To: <sip:1001@pbx.test> ; tag = b",
            "Call-ID: c1",
            "CSeq: 3 OPTIONS",
            "Max-Forwards: -1",
        ]);
        let text = answer(&bytes).expect("answered");
        assert!(
            text.starts_with("SIP/2.0 400 Bad Request (malformed Max-Forwards header)\r\n"),
            "{text}"
        );
        assert!(
            text.contains("\r\nTo: <sip:1001@pbx.test> ; tag = b\r\n"),
            "{text}"
        );
        let back = parse(text.as_bytes()).expect("our 400 parses");
        assert_eq!(super::super::to_tag(&back).as_deref(), Some("b"));
        assert_eq!(super::super::call_id(&back), Some("c1"));
    }

    #[test]
    fn responses_acks_and_headless_requests_get_nothing() {
        let response = lines(&[
            "SIP/2.0 200 OK",
            "Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK1",
            "From: <sip:1@pbx.test>;tag=a",
            "To: <sip:2@pbx.test>;tag=b",
            "Call-ID: c1",
            "CSeq: 99999999999 INVITE",
        ]);
        assert_eq!(answer(&response), None);
        let ack = lines(&[
            "ACK sip:1001@a.invalid SIP/2.0",
            "Via: SIP/2.0/WSS pbx.test;branch=z9hG4bK1",
            "From: <sip:1002@pbx.test>;tag=a",
            "To: <sip:1001@pbx.test>;tag=b",
            "Call-ID: c1",
            "CSeq: 3 ACK",
            "Max-Forwards: x",
        ]);
        assert_eq!(answer(&ack), None);
        let no_call_id = lines(&[
            "INVITE sip:1001@a.invalid SIP/2.0",
            "Via: SIP/2.0/WSS pbx.test;branch=z9hG4bK1",
            "From: <sip:1002@pbx.test>;tag=a",
            "To: <sip:1001@pbx.test>",
            "CSeq: 3 INVITE",
        ]);
        assert_eq!(answer(&no_call_id), None);
        assert_eq!(answer(b"\x00\x01garbage"), None);
        assert_eq!(answer(b"\r\n"), None);
    }

    #[test]
    fn a_too_large_request_gets_413_when_its_headers_fit() {
        let mut bytes = lines(&[
            "MESSAGE sip:1001@a.invalid SIP/2.0",
            "Via: SIP/2.0/WSS pbx.test;branch=z9hG4bK1",
            "From: <sip:1002@pbx.test>;tag=a",
            "To: <sip:1001@pbx.test>",
            "Call-ID: c1",
            "CSeq: 3 MESSAGE",
        ]);
        bytes.extend(std::iter::repeat_n(b'x', MAX_MESSAGE_SIZE));
        let text = answer(&bytes).expect("answered");
        assert!(
            text.starts_with("SIP/2.0 413 Request Entity Too Large\r\n"),
            "{text}"
        );
        let endless = vec![b'a'; MAX_MESSAGE_SIZE * 2];
        assert_eq!(answer(&endless), None);
    }

    #[test]
    fn a_non_utf8_essential_is_not_copied() {
        let bytes = b"FOO sip:1001@a.invalid SIP/2.0\r\nVia: SIP/2.0/WSS p;branch=z9hG4bK1\r\n\
            From: <sip:1002@pbx.test>;tag=\xff\r\nTo: <sip:1@p>\r\nCall-ID: c\r\nCSeq: 1 FOO\r\n\r\n";
        assert_eq!(answer(bytes), None);
        // In a header that is not copied it does not matter (400: not UTF-8).
        let bytes = b"FOO sip:1001@a.invalid SIP/2.0\r\nVia: SIP/2.0/WSS p;branch=z9hG4bK1\r\n\
            Subject: \xff\r\n \xfe\r\nFrom: <sip:1002@pbx.test>;tag=a\r\nTo: <sip:1@p>\r\n\
            Call-ID: c\r\nCSeq: 1 FOO\r\n\r\n";
        let text = answer(bytes).expect("answered");
        assert!(
            text.starts_with("SIP/2.0 400 Bad Request (headers are not UTF-8)\r\n"),
            "{text}"
        );
    }

    #[test]
    fn phrases_for_codes_rsip_misnames() {
        assert_eq!(wire_phrase(&rsip::StatusCode::BusyHere), "Busy Here");
        assert_eq!(
            wire_phrase(&rsip::StatusCode::CallTransactionDoesNotExist),
            "Call/Transaction Does Not Exist"
        );
        assert_eq!(wire_phrase(&rsip::StatusCode::from(202)), "Accepted");
        assert_eq!(wire_phrase(&rsip::StatusCode::Accepted), "Success");
        assert_eq!(
            wire_phrase(&rsip::StatusCode::Other(299, "Fine Indeed".into())),
            "Fine Indeed"
        );
        assert_eq!(wire_phrase(&rsip::StatusCode::from(299)), "Success");
    }
}
