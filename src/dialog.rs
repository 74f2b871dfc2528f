//! Dialogs (RFC 3261 §12): the peer-to-peer relationship an INVITE, a
//! SUBSCRIBE or a REFER sets up. A dialog remembers what every later request
//! inside it needs — Call-ID and both tags, the route set recorded by the
//! proxies, the remote target (the peer's Contact, refreshed by re-INVITE and
//! UPDATE), and the CSeq counters in both directions.
//!
//! Both early (from a 1xx with a To tag) and confirmed dialogs are modelled;
//! a forking proxy can create several early dialogs for one INVITE, which the
//! call layer keeps side by side until one is confirmed.

use rsip::{Method, Request, Response};
use thiserror::Error;

use crate::codec;
use crate::codec::headers::{split_unquoted, NameAddr, Param};
use crate::random::Random;
use crate::request::{build_request, parse_uri, LocalParty, RequestSpec};

/// RFC 3261 §12: Call-ID plus local and remote tag identify a dialog.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    Early,
    Confirmed,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DialogError {
    #[error("message lacks {0}")]
    Missing(&'static str),
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// RFC 3261 §12.2.2: a request with a lower CSeq than the last one is
    /// out of order and gets a 500.
    #[error("CSeq {got} is not above {last}")]
    CSeqOutOfOrder { got: u32, last: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    pub state: DialogState,
    /// Our URI as a name-addr without tag (From of our requests).
    pub local_uri: String,
    /// The peer's URI as a name-addr without tag (To of our requests).
    pub remote_uri: String,
    /// Where in-dialog requests go: the peer's Contact URI.
    pub remote_target: String,
    /// Route set, first hop first, each as `<uri;params>`.
    pub route_set: Vec<String>,
    pub local_cseq: u32,
    pub remote_cseq: Option<u32>,
}

impl Dialog {
    /// UAC side (RFC 3261 §12.1.2), from our request and a 1xx/2xx with a To tag.
    pub fn uac(request: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let remote_tag = codec::to_tag(response).ok_or(DialogError::Missing("To tag"))?;
        let local_tag = codec::from_tag(request).ok_or(DialogError::Missing("From tag"))?;
        let call_id = codec::call_id(request).ok_or(DialogError::Missing("Call-ID"))?;
        let mut route_set = record_route(response)?;
        route_set.reverse();
        let code = response.status_code.code();
        Ok(Dialog {
            id: DialogId {
                call_id: call_id.to_string(),
                local_tag,
                remote_tag,
            },
            state: if (200..300).contains(&code) {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local_uri: untagged(codec::header(request, "From"), "From")?,
            remote_uri: untagged(codec::header(request, "To"), "To")?,
            // A 1xx may lack a Contact; then requests go to the original
            // Request-URI until one arrives.
            remote_target: contact_uri(response).unwrap_or_else(|| request.uri.to_string()),
            route_set,
            local_cseq: codec::cseq(request).map_or(1, |(n, _)| n),
            remote_cseq: None,
        })
    }

    /// UAS side (RFC 3261 §12.1.1), from the request and the tag we chose.
    pub fn uas(
        request: &Request,
        local_tag: &str,
        state: DialogState,
    ) -> Result<Dialog, DialogError> {
        let remote_tag = codec::from_tag(request).ok_or(DialogError::Missing("From tag"))?;
        let call_id = codec::call_id(request).ok_or(DialogError::Missing("Call-ID"))?;
        Ok(Dialog {
            id: DialogId {
                call_id: call_id.to_string(),
                local_tag: local_tag.to_string(),
                remote_tag,
            },
            state,
            local_uri: untagged(codec::header(request, "To"), "To")?,
            remote_uri: untagged(codec::header(request, "From"), "From")?,
            remote_target: contact_uri(request).ok_or(DialogError::Missing("Contact"))?,
            route_set: record_route(request)?,
            local_cseq: 0,
            remote_cseq: codec::cseq(request).map(|(n, _)| n),
        })
    }

    /// Does this in-dialog request belong to us? (Its To tag is ours, its
    /// From tag the peer's.)
    pub fn matches_request(&self, request: &Request) -> bool {
        codec::call_id(request) == Some(self.id.call_id.as_str())
            && codec::to_tag(request).as_deref() == Some(self.id.local_tag.as_str())
            && codec::from_tag(request).as_deref() == Some(self.id.remote_tag.as_str())
    }

    /// RFC 3261 §12.2.2: accept a request only with a CSeq above the last
    /// one, and take a target refresh from re-INVITE/UPDATE/NOTIFY.
    pub fn on_request(&mut self, request: &Request) -> Result<(), DialogError> {
        let (seq, _) = codec::cseq(request).ok_or(DialogError::Missing("CSeq"))?;
        if request.method != Method::Ack {
            if let Some(last) = self.remote_cseq {
                if seq <= last {
                    return Err(DialogError::CSeqOutOfOrder { got: seq, last });
                }
            }
            self.remote_cseq = Some(seq);
        }
        if is_target_refresh(&request.method) {
            if let Some(target) = contact_uri(request) {
                self.remote_target = target;
            }
        }
        Ok(())
    }

    /// A 2xx to our target-refresh request (or the 2xx that confirms an
    /// early dialog) carries the peer's current Contact; a 2xx confirming an
    /// early dialog also fixes the route set (RFC 3261 §13.2.2.4).
    pub fn on_response(&mut self, response: &Response, confirms: bool) {
        if let Some(target) = contact_uri(response) {
            self.remote_target = target;
        }
        if confirms && self.state == DialogState::Early {
            if let Ok(mut routes) = record_route(response) {
                routes.reverse();
                self.route_set = routes;
            }
            self.state = DialogState::Confirmed;
        }
    }

    /// A new in-dialog request with the next CSeq (RFC 3261 §12.2.1.1).
    pub fn request(&mut self, method: Method, local: &LocalParty, random: &mut Random) -> Request {
        self.local_cseq = self.local_cseq.saturating_add(1);
        let cseq = self.local_cseq;
        self.build(method, cseq, local, random)
    }

    /// The ACK of a 2xx: a new transaction-less request with the INVITE's
    /// CSeq number (RFC 3261 §13.2.2.4).
    pub fn ack(&self, invite_cseq: u32, local: &LocalParty, random: &mut Random) -> Request {
        self.build(Method::Ack, invite_cseq, local, random)
    }

    fn build(&self, method: Method, cseq: u32, local: &LocalParty, random: &mut Random) -> Request {
        // Loose routing (lr) keeps the remote target in the Request-URI; a
        // strict router in front wants to see itself there (§12.2.1.1).
        let first_is_strict = self.route_set.first().is_some_and(|r| !r.contains(";lr"));
        let (uri_text, route) = if first_is_strict {
            let mut rest: Vec<String> = self.route_set.iter().skip(1).cloned().collect();
            rest.push(format!("<{}>", self.remote_target));
            let first = self
                .route_set
                .first()
                .map(|r| bare_uri(r))
                .unwrap_or_default();
            (first, rest)
        } else {
            (self.remote_target.clone(), self.route_set.clone())
        };
        let uri = parse_uri(&uri_text)
            .or_else(|| parse_uri(&self.remote_target))
            .unwrap_or_default();
        let mut spec = RequestSpec::new(
            method,
            uri,
            format!("{};tag={}", self.remote_uri, self.id.remote_tag),
            self.id.local_tag.clone(),
            self.id.call_id.clone(),
            cseq,
        );
        spec.from = Some(self.local_uri.clone());
        spec.route = route;
        build_request(local, spec, random)
    }
}

fn is_target_refresh(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
    )
}

fn bare_uri(name_addr: &str) -> String {
    NameAddr::parse(name_addr, "Route")
        .map(|n| n.uri)
        .unwrap_or_default()
}

/// The name-addr of From/To without its tag.
fn untagged(value: Option<&str>, header: &'static str) -> Result<String, DialogError> {
    let value = value.ok_or(DialogError::Missing(header))?;
    let mut na = NameAddr::parse(value, header).map_err(|_| DialogError::Malformed(header))?;
    na.params
        .retain(|p: &Param| !p.name.eq_ignore_ascii_case("tag"));
    Ok(na.to_string())
}

/// The first Contact URI of a message.
pub fn contact_uri(msg: &impl rsip::message::HasHeaders) -> Option<String> {
    let line = codec::header(msg, "Contact")?;
    let first = split_unquoted(line, ',').into_iter().next()?;
    NameAddr::parse(first, "Contact").ok().map(|n| n.uri)
}

/// Every Record-Route entry in message order.
fn record_route(msg: &impl rsip::message::HasHeaders) -> Result<Vec<String>, DialogError> {
    let mut out = Vec::new();
    for line in codec::headers(msg, "Record-Route") {
        for entry in split_unquoted(line, ',') {
            let na = NameAddr::parse(entry, "Record-Route")
                .map_err(|_| DialogError::Malformed("Record-Route"))?;
            out.push(na.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Transport;
    use rsip::SipMessage;

    fn local() -> LocalParty {
        LocalParty::new(
            "1001",
            "pbx.test",
            None,
            Transport::Wss,
            "urn:uuid:00000000-0000-4000-8000-000000000001".into(),
            String::new(),
            &mut Random::new(5),
        )
    }

    fn parse_req(text: &str) -> Request {
        match codec::parse(text.replace('\n', "\r\n").as_bytes()) {
            Ok(SipMessage::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    fn parse_resp(text: &str) -> Response {
        match codec::parse(text.replace('\n', "\r\n").as_bytes()) {
            Ok(SipMessage::Response(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    const INVITE: &str = "INVITE sip:1002@pbx.test SIP/2.0
Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK1
From: <sip:1001@pbx.test>;tag=alice
To: <sip:1002@pbx.test>
Call-ID: call1
CSeq: 10 INVITE
Contact: <sip:a@a.invalid;transport=ws>
Content-Length: 0

";

    #[test]
    fn uac_dialog_takes_the_reversed_record_route_and_the_contact() {
        // Alice          P1          P2          Bob
        //   |--INVITE---->|---------->|---------->|
        //   |<--200 (RR: P2, P1; Contact: bob)----|
        //   |--BYE → Route: P1, P2; R-URI: bob --->|
        let invite = parse_req(INVITE);
        let ok = parse_resp(
            "SIP/2.0 200 OK
Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK1
Record-Route: <sip:p2.example;lr>, <sip:p1.example;lr>
From: <sip:1001@pbx.test>;tag=alice
To: <sip:1002@pbx.test>;tag=bob
Call-ID: call1
CSeq: 10 INVITE
Contact: <sip:bob@192.0.2.4:5060>
Content-Length: 0

",
        );
        let mut d = Dialog::uac(&invite, &ok).unwrap();
        assert_eq!(d.state, DialogState::Confirmed);
        assert_eq!(d.id.remote_tag, "bob");
        assert_eq!(
            d.route_set,
            vec!["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
        );
        let ack = d.ack(10, &local(), &mut Random::new(1));
        assert_eq!(codec::cseq(&ack).unwrap().0, 10);
        let bye = d.request(Method::Bye, &local(), &mut Random::new(1));
        assert_eq!(bye.uri.to_string(), "sip:bob@192.0.2.4:5060");
        assert_eq!(codec::cseq(&bye).unwrap(), (11, Method::Bye));
        assert_eq!(
            codec::headers(&bye, "Route"),
            vec!["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
        );
        assert_eq!(codec::to_tag(&bye).as_deref(), Some("bob"));
        assert_eq!(codec::from_tag(&bye).as_deref(), Some("alice"));
    }

    #[test]
    fn strict_router_goes_in_the_request_uri() {
        let invite = parse_req(INVITE);
        let ok = parse_resp(
            "SIP/2.0 200 OK
Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK1
Record-Route: <sip:strict.example>
From: <sip:1001@pbx.test>;tag=alice
To: <sip:1002@pbx.test>;tag=bob
Call-ID: call1
CSeq: 10 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Length: 0

",
        );
        let mut d = Dialog::uac(&invite, &ok).unwrap();
        let bye = d.request(Method::Bye, &local(), &mut Random::new(1));
        assert_eq!(bye.uri.to_string(), "sip:strict.example");
        assert_eq!(codec::headers(&bye, "Route"), vec!["<sip:bob@192.0.2.4>"]);
    }

    #[test]
    fn uas_dialog_checks_cseq_order_and_refreshes_the_target() {
        let invite = parse_req(INVITE);
        let mut d = Dialog::uas(&invite, "bobtag", DialogState::Early).unwrap();
        assert_eq!(d.remote_target, "sip:a@a.invalid;transport=ws");
        assert_eq!(d.remote_uri, "<sip:1001@pbx.test>");
        let reinvite = parse_req(
            "INVITE sip:b@b.invalid SIP/2.0
Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK2
From: <sip:1001@pbx.test>;tag=alice
To: <sip:1002@pbx.test>;tag=bobtag
Call-ID: call1
CSeq: 11 INVITE
Contact: <sip:moved@a.invalid;transport=ws>
Content-Length: 0

",
        );
        assert!(d.matches_request(&reinvite));
        d.on_request(&reinvite).unwrap();
        assert_eq!(d.remote_target, "sip:moved@a.invalid;transport=ws");
        assert_eq!(
            d.on_request(&reinvite),
            Err(DialogError::CSeqOutOfOrder { got: 11, last: 11 })
        );
    }

    #[test]
    fn early_dialog_is_confirmed_by_the_2xx_with_its_route_set() {
        let invite = parse_req(INVITE);
        let ringing = parse_resp(
            "SIP/2.0 180 Ringing
Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK1
From: <sip:1001@pbx.test>;tag=alice
To: <sip:1002@pbx.test>;tag=bob
Call-ID: call1
CSeq: 10 INVITE
Content-Length: 0

",
        );
        let mut d = Dialog::uac(&invite, &ringing).unwrap();
        assert_eq!(d.state, DialogState::Early);
        assert_eq!(d.remote_target, "sip:1002@pbx.test");
        let ok = parse_resp(
            "SIP/2.0 200 OK
Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK1
Record-Route: <sip:p1.example;lr>
From: <sip:1001@pbx.test>;tag=alice
To: <sip:1002@pbx.test>;tag=bob
Call-ID: call1
CSeq: 10 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Length: 0

",
        );
        d.on_response(&ok, true);
        assert_eq!(d.state, DialogState::Confirmed);
        assert_eq!(d.route_set, vec!["<sip:p1.example;lr>"]);
        assert_eq!(d.remote_target, "sip:bob@192.0.2.4");
    }

    #[test]
    fn missing_tags_are_errors_not_panics() {
        let invite = parse_req(INVITE);
        let no_tag = parse_resp(
            "SIP/2.0 180 Ringing
Via: SIP/2.0/WSS a.invalid;branch=z9hG4bK1
From: <sip:1001@pbx.test>;tag=alice
To: <sip:1002@pbx.test>
Call-ID: call1
CSeq: 10 INVITE
Content-Length: 0

",
        );
        assert_eq!(
            Dialog::uac(&invite, &no_tag),
            Err(DialogError::Missing("To tag"))
        );
    }
}
