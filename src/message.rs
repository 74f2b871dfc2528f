//! Instant messages (RFC 3428 MESSAGE), outside any dialog: a page sent
//! and answered like any non-INVITE request, with the digest retry a
//! challenging proxy asks for.

use rsip::{Method, Request, Response};

use crate::auth::DigestSession;
use crate::codec;
use crate::engine::{Event, Io, Owner};
use crate::request::{build_request, parse_uri, RequestSpec};
use crate::transaction::{response_to, ClientEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageHandle(pub u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    /// 2xx: accepted by the recipient (or a store-and-forward server).
    Delivered {
        code: u16,
    },
    Failed {
        code: u16,
    },
    Timeout,
    TransportError,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("not a valid recipient: {0}")]
    BadTarget(String),
    #[error("not connected")]
    NotConnected,
}

#[derive(Debug)]
pub(crate) struct OutgoingMessage {
    pub handle: MessageHandle,
    request: Request,
    digest: DigestSession,
    done: bool,
}

impl OutgoingMessage {
    pub fn send(
        io: &mut Io<'_>,
        handle: MessageHandle,
        target: &str,
        content_type: &str,
        body: &str,
    ) -> Result<OutgoingMessage, MessageError> {
        let uri_text = crate::call::normalize_target(target, &io.local.domain);
        let uri =
            parse_uri(&uri_text).ok_or_else(|| MessageError::BadTarget(target.to_string()))?;
        let mut spec = RequestSpec::new(
            Method::Message,
            uri,
            format!("<{uri_text}>"),
            io.random.tag(),
            io.random.call_id(),
            1,
        );
        spec.body = Some((content_type.to_string(), body.as_bytes().to_vec()));
        let request = build_request(io.local, spec, io.random);
        io.send(request.clone(), Owner::Message(handle));
        Ok(OutgoingMessage {
            handle,
            request,
            digest: DigestSession::new(),
            done: false,
        })
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    pub fn on_client_event(&mut self, io: &mut Io<'_>, event: ClientEvent) {
        let outcome = match event {
            ClientEvent::Provisional(_) => return,
            ClientEvent::Final(r) => match r.status_code.code() {
                401 | 407 => match self.retry(io, &r) {
                    Ok(()) => return,
                    Err(code) => MessageOutcome::Failed { code },
                },
                code @ 200..=299 => MessageOutcome::Delivered { code },
                code => MessageOutcome::Failed { code },
            },
            ClientEvent::Timeout => MessageOutcome::Timeout,
            ClientEvent::TransportError => MessageOutcome::TransportError,
        };
        self.done = true;
        io.emit(Event::MessageSent {
            message: self.handle,
            outcome,
        });
    }

    fn retry(&mut self, io: &mut Io<'_>, r: &Response) -> Result<(), u16> {
        let cseq = codec::cseq(&self.request).map_or(1, |(n, _)| n.saturating_add(1));
        let retry = io
            .reauthorize(&mut self.digest, &self.request, r, cseq)
            .map_err(|_| r.status_code.code())?;
        self.request = retry.clone();
        io.send(retry, Owner::Message(self.handle));
        Ok(())
    }
}

/// An incoming MESSAGE: accepted and handed to the application.
pub(crate) fn receive(io: &mut Io<'_>, request: Request) {
    let tag = io.random.tag();
    io.respond(response_to(&request, 200, Some(&tag)));
    io.emit(Event::MessageReceived {
        from: codec::header(&request, "From")
            .unwrap_or_default()
            .to_string(),
        to: codec::header(&request, "To")
            .unwrap_or_default()
            .to_string(),
        content_type: codec::content_type(&request),
        body: String::from_utf8_lossy(&request.body).to_string(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support::*;
    use crate::engine::{Event, UaConfig, UserAgent};

    #[test]
    fn message_out_200_delivered_and_in_as_an_event() {
        // A                  B
        // |--- MESSAGE ------>|
        // |<-- 200 -----------|
        let t0 = at_secs(0);
        let mut a = connected_ua(t0);
        let mut b = UserAgent::new(UaConfig::new("1002", "pbx.test", "p"), 7);
        b.handle_connected(t0);
        let m = a.send_message(t0, "1002", "text/plain", "hello ☎").unwrap();
        let out = a.poll_transmit().unwrap();
        b.handle_transport(t0, out.text.as_bytes()).unwrap();
        let evs = events(&mut b);
        match &evs[..] {
            [Event::MessageReceived {
                from,
                content_type,
                body,
                ..
            }] => {
                assert!(from.contains("sip:1001@pbx.test"));
                assert_eq!(content_type.as_deref(), Some("text/plain"));
                assert_eq!(body, "hello ☎");
            }
            other => panic!("{other:?}"),
        }
        let ok = b.poll_transmit().unwrap();
        a.handle_transport(t0, ok.text.as_bytes()).unwrap();
        assert_eq!(
            events(&mut a),
            vec![Event::MessageSent {
                message: m,
                outcome: MessageOutcome::Delivered { code: 200 }
            }]
        );
        assert_eq!(a.transaction_count(), (0, 0));
    }

    #[test]
    fn challenged_message_is_resent_with_credentials_then_fails_on_404() {
        let t0 = at_secs(0);
        let mut a = connected_ua(t0);
        let m = a.send_message(t0, "1009", "text/plain", "hi").unwrap();
        let first = sent_requests(&mut a).remove(0);
        a.handle_transport(
            t0,
            &reply(
                &first,
                407,
                &[(
                    "Proxy-Authenticate",
                    r#"Digest realm="pbx.test", nonce="m1""#,
                )],
            ),
        )
        .unwrap();
        let second = sent_requests(&mut a).remove(0);
        assert!(header(&second, "Proxy-Authorization").is_some());
        assert_eq!(codec::cseq(&second).unwrap().0, 2);
        a.handle_transport(t0, &reply(&second, 404, &[])).unwrap();
        assert_eq!(
            events(&mut a),
            vec![Event::MessageSent {
                message: m,
                outcome: MessageOutcome::Failed { code: 404 }
            }]
        );
    }

    #[test]
    fn unanswered_message_times_out() {
        let t0 = at_secs(0);
        let mut a = connected_ua(t0);
        let m = a.send_message(t0, "1002", "text/plain", "x").unwrap();
        sent(&mut a);
        // Keepalive probes are not answered either; only MESSAGE matters here.
        a.handle_timeout(at_secs(32));
        assert!(events(&mut a).contains(&Event::MessageSent {
            message: m,
            outcome: MessageOutcome::Timeout
        }));
    }
}
