//! Who we are on the wire, and how a UAC builds a request outside a dialog
//! (RFC 3261 §8.1.1). Registration, keepalive, calls, subscriptions and
//! MESSAGE all start from here, so the Via/From/Contact shapes that Kamailio,
//! JsSIP and SIP.js accept are decided once.

use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Request};

use crate::random::Random;

/// RFC 7118 §5: the WebSocket transport as it appears in Via.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Transport {
    Ws,
    #[default]
    Wss,
}

impl Transport {
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }
}

/// Our identity on this connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalParty {
    /// Address of record, `sip:user@domain`.
    pub aor: String,
    pub display_name: Option<String>,
    pub domain: String,
    /// RFC 7118 §5: a browser cannot be reached at an address of its own, so
    /// the Contact is a random name under `.invalid` and the proxy routes
    /// over the WebSocket connection the REGISTER arrived on.
    pub contact_uri: String,
    /// The Via sent-by host: the same random `.invalid` host.
    pub via_host: String,
    pub transport: Transport,
    /// RFC 5626 §4.1 `+sip.instance`, a `urn:uuid:…`.
    pub instance_id: String,
    pub user_agent: String,
}

impl LocalParty {
    /// Draws the random Contact user and host from `random`.
    pub fn new(
        user: &str,
        domain: &str,
        display_name: Option<String>,
        transport: Transport,
        instance_id: String,
        user_agent: String,
        random: &mut Random,
    ) -> Self {
        let contact_user = random.token(8);
        let via_host = format!("{}.invalid", random.token(12));
        LocalParty {
            aor: format!("sip:{user}@{domain}"),
            display_name,
            domain: domain.to_string(),
            contact_uri: format!("sip:{contact_user}@{via_host};transport=ws"),
            via_host,
            transport,
            instance_id,
            user_agent,
        }
    }

    /// `"Name" <sip:user@domain>` for From (and To of a REGISTER).
    pub fn name_addr(&self) -> String {
        match &self.display_name {
            Some(name) if !name.is_empty() => {
                format!("\"{}\" <{}>", quote_escape(name), self.aor)
            }
            _ => format!("<{}>", self.aor),
        }
    }

    /// A Via for a new client transaction (RFC 3261 §8.1.1.7).
    pub fn via(&self, branch: &str) -> String {
        format!(
            "SIP/2.0/{} {};branch={branch}",
            self.transport.via_token(),
            self.via_host
        )
    }

    /// The Contact of dialog-creating requests and responses.
    pub fn contact(&self) -> String {
        format!("<{}>", self.contact_uri)
    }
}

fn quote_escape(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// The parts of a request that differ from one use to the next.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: Method,
    pub uri: rsip::Uri,
    /// To as a name-addr, with a tag inside a dialog.
    pub to: String,
    /// From as a name-addr without tag; `None` means our AOR. Inside a dialog
    /// it is the dialog's local URI (RFC 3261 §12.2.1.1).
    pub from: Option<String>,
    pub from_tag: String,
    pub call_id: String,
    pub cseq: u32,
    /// Route set (RFC 3261 §12.2.1.1), already in `<uri>` form.
    pub route: Vec<String>,
    pub headers: Vec<(String, String)>,
    pub body: Option<(String, Vec<u8>)>,
}

impl RequestSpec {
    pub fn new(
        method: Method,
        uri: rsip::Uri,
        to: String,
        from_tag: String,
        call_id: String,
        cseq: u32,
    ) -> Self {
        RequestSpec {
            method,
            uri,
            to,
            from: None,
            from_tag,
            call_id,
            cseq,
            route: Vec::new(),
            headers: Vec::new(),
            body: None,
        }
    }
}

/// Builds the request with a fresh Via branch (a new client transaction).
pub fn build_request(local: &LocalParty, spec: RequestSpec, random: &mut Random) -> Request {
    let branch = random.branch();
    let mut headers = rsip::Headers::default();
    headers.push(Header::Via(rsip::headers::Via::new(local.via(&branch))));
    headers.push(Header::MaxForwards(rsip::headers::MaxForwards::new("70")));
    for r in &spec.route {
        headers.push(Header::Route(rsip::headers::Route::new(r.clone())));
    }
    headers.push(Header::To(rsip::headers::To::new(spec.to)));
    let from = spec.from.unwrap_or_else(|| local.name_addr());
    headers.push(Header::From(rsip::headers::From::new(format!(
        "{from};tag={}",
        spec.from_tag
    ))));
    headers.push(Header::CallId(rsip::headers::CallId::new(spec.call_id)));
    headers.push(Header::CSeq(rsip::headers::CSeq::new(format!(
        "{} {}",
        spec.cseq, spec.method
    ))));
    for (name, value) in spec.headers {
        headers.push(make_header(&name, value));
    }
    if !local.user_agent.is_empty() {
        headers.push(Header::UserAgent(rsip::headers::UserAgent::new(
            local.user_agent.clone(),
        )));
    }
    let body = match spec.body {
        Some((content_type, body)) => {
            headers.push(Header::ContentType(rsip::headers::ContentType::new(
                content_type,
            )));
            body
        }
        None => Vec::new(),
    };
    Request {
        method: spec.method,
        uri: spec.uri,
        version: rsip::Version::V2,
        headers,
        body,
    }
}

/// The same request as a new transaction after a 401/407 (RFC 3261 §22.2):
/// a fresh Via branch, the next CSeq, and `credentials` in place of any
/// earlier ones; everything else (body, Route, Contact) unchanged.
pub fn retry_with_credentials(
    request: &Request,
    cseq: u32,
    credentials: Vec<(&'static str, String)>,
    local: &LocalParty,
    random: &mut Random,
) -> Request {
    let mut headers = rsip::Headers::default();
    headers.push(Header::Via(rsip::headers::Via::new(
        local.via(&random.branch()),
    )));
    for h in request.headers.iter() {
        match h {
            Header::Via(_) | Header::Authorization(_) | Header::ProxyAuthorization(_) => {}
            Header::CSeq(_) => headers.push(Header::CSeq(rsip::headers::CSeq::new(format!(
                "{cseq} {}",
                request.method
            )))),
            _ => headers.push(h.clone()),
        }
    }
    for (name, value) in credentials {
        headers.push(make_header(name, value));
    }
    Request {
        method: request.method,
        uri: request.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: request.body.clone(),
    }
}

/// A header with rsip's typed variant where one exists, so the codec's
/// accessors and rsip's own conversions find it.
pub fn make_header(name: &str, value: String) -> Header {
    use rsip::headers as h;
    match name.to_ascii_lowercase().as_str() {
        "contact" => Header::Contact(h::Contact::new(value)),
        "expires" => Header::Expires(h::Expires::new(value)),
        "authorization" => Header::Authorization(h::Authorization::new(value)),
        "proxy-authorization" => Header::ProxyAuthorization(h::ProxyAuthorization::new(value)),
        "supported" => Header::Supported(h::Supported::new(value)),
        "allow" => Header::Allow(h::Allow::new(value)),
        "accept" => Header::Accept(h::Accept::new(value)),
        "event" => Header::Event(h::Event::new(value)),
        "subscription-state" => Header::SubscriptionState(h::SubscriptionState::new(value)),
        "content-type" => Header::ContentType(h::ContentType::new(value)),
        "route" => Header::Route(h::Route::new(value)),
        "record-route" => Header::RecordRoute(h::RecordRoute::new(value)),
        "require" => Header::Require(h::Require::new(value)),
        "retry-after" => Header::RetryAfter(h::RetryAfter::new(value)),
        "min-expires" => Header::MinExpires(h::MinExpires::new(value)),
        "user-agent" => Header::UserAgent(h::UserAgent::new(value)),
        "server" => Header::Server(h::Server::new(value)),
        "www-authenticate" => Header::WwwAuthenticate(h::WwwAuthenticate::new(value)),
        "proxy-authenticate" => Header::ProxyAuthenticate(h::ProxyAuthenticate::new(value)),
        "to" => Header::To(h::To::new(value)),
        "from" => Header::From(h::From::new(value)),
        "call-id" => Header::CallId(h::CallId::new(value)),
        "cseq" => Header::CSeq(h::CSeq::new(value)),
        "via" => Header::Via(h::Via::new(value)),
        _ => Header::Other(name.to_string(), value),
    }
}

/// `sip:domain` or any URI text as an rsip URI; `None` when it does not parse.
pub fn parse_uri(text: &str) -> Option<rsip::Uri> {
    rsip::Uri::try_from(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;

    fn local() -> LocalParty {
        LocalParty::new(
            "1001",
            "pbx.test",
            Some("Ann \"A\"".into()),
            Transport::Wss,
            "urn:uuid:00000000-0000-4000-8000-000000000000".into(),
            "Ringside/0.1".into(),
            &mut Random::new(1),
        )
    }

    #[test]
    fn contact_is_a_random_name_under_invalid_over_ws() {
        let l = local();
        assert!(l.contact_uri.starts_with("sip:"));
        assert!(l.contact_uri.ends_with(".invalid;transport=ws"));
        assert!(l.via("z9hG4bK1").starts_with("SIP/2.0/WSS "));
    }

    #[test]
    fn built_request_round_trips_through_the_codec() {
        let l = local();
        let mut rng = Random::new(2);
        let spec = RequestSpec::new(
            Method::Options,
            parse_uri("sip:pbx.test").unwrap(),
            "<sip:pbx.test>".into(),
            "ft".into(),
            "cid".into(),
            3,
        );
        let req = build_request(&l, spec, &mut rng);
        let text = codec::serialize(&rsip::SipMessage::Request(req));
        let back = codec::parse(text.as_bytes()).unwrap();
        assert_eq!(codec::call_id(&back), Some("cid"));
        assert_eq!(codec::cseq(&back).map(|c| c.0), Some(3));
        assert_eq!(codec::from_tag(&back).as_deref(), Some("ft"));
        assert!(codec::top_via_branch(&back).unwrap().starts_with("z9hG4bK"));
        assert!(text.contains("From: \"Ann \\\"A\\\"\" <sip:1001@pbx.test>;tag=ft"));
    }
}
