//! SIP transactions (RFC 3261 §17, with the RFC 6026 `Accepted` states) for
//! a reliable transport — the WebSocket of RFC 7118.
//!
//! Over a reliable transport nothing is retransmitted by the transaction
//! layer: Timers A, E and G never run, and Timers D, I, J and K are zero, so
//! a completed transaction ends at once. What remains is:
//! - Timer B / F (64·T1): a client transaction without a final response
//!   times out and the owner is told;
//! - Timer H (64·T1): an INVITE server transaction waits that long for the
//!   ACK of its non-2xx final response;
//! - Timer L / M (64·T1, RFC 6026): an INVITE transaction that saw a 2xx stays
//!   to absorb retransmitted INVITEs (server) and pass retransmitted 2xx to
//!   the dialog (client), which re-sends its ACK.
//!
//! The layer never reads a clock: every entry point takes `now`, and the
//! next deadline comes out of [`TransactionLayer::poll_timeout`]. Each client
//! transaction carries an owner tag `O` chosen by the caller (the
//! registration, a call, ...) so responses find their way back without the
//! layer knowing what the owners are.

use std::collections::VecDeque;
use std::time::Duration;

use rsip::headers::UntypedHeader;
use rsip::message::HasHeaders;
use rsip::{Header, Method, Request, Response, SipMessage};

use crate::codec;
use crate::time::Instant;

/// RTT estimate of RFC 3261 §17.1.1.1.
pub const T1: Duration = Duration::from_millis(500);
/// Timer B, F, H, L and M are all 64·T1.
pub const TRANSACTION_TIMEOUT: Duration = Duration::from_millis(64 * 500);

/// RFC 3261 §17.1.3 / §17.2.3: a transaction is identified by the top Via
/// branch and the method, where an ACK belongs to its INVITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionKey {
    pub branch: String,
    pub method: Method,
}

impl TransactionKey {
    fn of_message(msg: &impl HasHeaders) -> Option<TransactionKey> {
        let branch = codec::top_via_branch(msg)?;
        let (_, method) = codec::cseq(msg)?;
        let method = if method == Method::Ack {
            Method::Invite
        } else {
            method
        };
        Some(TransactionKey { branch, method })
    }
}

/// States of RFC 3261 Figures 5–8 that exist on a reliable transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// INVITE "Calling" / non-INVITE "Trying": sent, nothing heard yet.
    Calling,
    Proceeding,
    /// RFC 6026: INVITE got a 2xx; later 2xx are passed up for the dialog.
    Accepted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// Request passed to the owner, no final response yet.
    Proceeding,
    /// INVITE answered with a non-2xx: waiting for its ACK (Timer H).
    Completed,
    /// RFC 6026: INVITE answered with a 2xx (Timer L).
    Accepted,
}

/// What a client transaction tells its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    Provisional(Response),
    /// A final response. For INVITE 2xx this may repeat (retransmissions
    /// from the UAS core); the dialog answers each with its ACK.
    Final(Response),
    /// Timer B or F fired.
    Timeout,
    /// The connection went away before a final response.
    TransportError,
}

/// What the layer made of an incoming request.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerInput {
    /// A new request the owner must answer through [`TransactionLayer::respond`].
    New(Request),
    /// A retransmission or the ACK of a non-2xx: handled here, nothing to do.
    Absorbed,
    /// An ACK that matches no server transaction: the ACK of a 2xx, which
    /// belongs to the dialog (RFC 3261 §17.2.1 / §13.3.1.4).
    AckFor2xx(Request),
}

/// A server transaction ended without the normal outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// Timer H: our non-2xx final response to an INVITE was never ACKed.
    AckTimeout(TransactionKey),
}

#[derive(Debug)]
struct ClientTransaction<O> {
    key: TransactionKey,
    owner: O,
    request: Request,
    state: ClientState,
    /// Timer B/F/M; `None` for an INVITE in Proceeding, which RFC 3261
    /// lets ring for as long as the callee's side wants.
    deadline: Option<Instant>,
}

#[derive(Debug)]
struct ServerTransaction {
    key: TransactionKey,
    state: ServerState,
    last_response: Option<String>,
    deadline: Option<Instant>,
}

/// All transactions of one user agent on its one connection.
#[derive(Debug)]
pub struct TransactionLayer<O> {
    clients: Vec<ClientTransaction<O>>,
    servers: Vec<ServerTransaction>,
    outbox: VecDeque<String>,
}

impl<O> Default for TransactionLayer<O> {
    fn default() -> Self {
        TransactionLayer {
            clients: Vec::new(),
            servers: Vec::new(),
            outbox: VecDeque::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    #[error("request has no Via branch or CSeq")]
    Unkeyed,
    #[error("a transaction with this branch and method already exists")]
    Duplicate,
    #[error("no server transaction for this response")]
    NoServerTransaction,
}

impl<O: Clone> TransactionLayer<O> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a client transaction and queues the request for sending.
    /// ACK is not a transaction (RFC 3261 §17): use [`Self::send_stateless`].
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        owner: O,
    ) -> Result<TransactionKey, TransactionError> {
        let key = TransactionKey::of_message(&request).ok_or(TransactionError::Unkeyed)?;
        if self.clients.iter().any(|c| c.key == key) {
            return Err(TransactionError::Duplicate);
        }
        self.outbox
            .push_back(codec::serialize(&SipMessage::Request(request.clone())));
        self.clients.push(ClientTransaction {
            key: key.clone(),
            owner,
            request,
            state: ClientState::Calling,
            deadline: Some(now + TRANSACTION_TIMEOUT),
        });
        Ok(key)
    }

    /// Queues a message outside any transaction (the ACK of a 2xx).
    pub fn send_stateless(&mut self, msg: SipMessage) {
        self.outbox.push_back(codec::serialize(&msg));
    }

    /// Matches a response to its client transaction (RFC 3261 §17.1.3).
    /// `None` for a stray response, which is dropped.
    pub fn on_response(&mut self, now: Instant, response: Response) -> Option<(O, ClientEvent)> {
        let key = TransactionKey::of_message(&response)?;
        let idx = self.clients.iter().position(|c| c.key == key)?;
        let code = response.status_code.code();
        let tx = self.clients.get_mut(idx)?;
        let owner = tx.owner.clone();
        let is_invite = tx.key.method == Method::Invite;
        match (tx.state, code) {
            (ClientState::Accepted, 200..=299) => Some((owner, ClientEvent::Final(response))),
            // Late provisionals and non-2xx after a 2xx are meaningless.
            (ClientState::Accepted, _) => None,
            (_, 100..=199) => {
                // Timer B stops once the INVITE is Proceeding (RFC 3261
                // §17.1.1.2); Timer F goes on for non-INVITE.
                if is_invite && tx.state == ClientState::Calling {
                    tx.deadline = None;
                }
                tx.state = ClientState::Proceeding;
                Some((owner, ClientEvent::Provisional(response)))
            }
            (_, 200..=299) if is_invite => {
                tx.state = ClientState::Accepted;
                tx.deadline = Some(now + TRANSACTION_TIMEOUT);
                Some((owner, ClientEvent::Final(response)))
            }
            _ => {
                if is_invite {
                    let ack = ack_for_non_2xx(&tx.request, &response);
                    self.outbox
                        .push_back(codec::serialize(&SipMessage::Request(ack)));
                }
                // Timer D / K are zero on a reliable transport.
                self.clients.remove(idx);
                Some((owner, ClientEvent::Final(response)))
            }
        }
    }

    /// Matches a request to its server transaction (RFC 3261 §17.2.3).
    pub fn on_request(&mut self, now: Instant, request: Request) -> ServerInput {
        let Some(key) = TransactionKey::of_message(&request) else {
            // The codec refuses requests without Via/CSeq; a branchless
            // RFC 2543 peer gets no retransmission absorption, nothing worse.
            return ServerInput::New(request);
        };
        let is_ack = request.method == Method::Ack;
        if let Some(idx) = self.servers.iter().position(|s| s.key == key) {
            let Some(tx) = self.servers.get_mut(idx) else {
                return ServerInput::Absorbed;
            };
            if is_ack {
                if tx.state == ServerState::Completed {
                    // Confirmed, and Timer I is zero on a reliable transport.
                    self.servers.remove(idx);
                    return ServerInput::Absorbed;
                }
                if tx.state == ServerState::Accepted {
                    // RFC 6026 §8.7: the ACK of a 2xx goes to the TU.
                    return ServerInput::AckFor2xx(request);
                }
                return ServerInput::Absorbed;
            }
            if let Some(last) = &tx.last_response {
                if tx.state != ServerState::Accepted {
                    self.outbox.push_back(last.clone());
                }
            }
            return ServerInput::Absorbed;
        }
        if is_ack {
            return ServerInput::AckFor2xx(request);
        }
        let mut tx = ServerTransaction {
            key,
            state: ServerState::Proceeding,
            last_response: None,
            deadline: None,
        };
        if request.method == Method::Invite {
            // RFC 3261 §17.2.1: answer 100 at once so the proxy stops
            // retransmitting, rather than guessing how fast the user is.
            let trying = codec::serialize(&SipMessage::Response(response_to(&request, 100, None)));
            self.outbox.push_back(trying.clone());
            tx.last_response = Some(trying);
        }
        let _ = now;
        self.servers.push(tx);
        ServerInput::New(request)
    }

    /// Sends a response through the server transaction of `request`.
    pub fn respond(&mut self, now: Instant, response: Response) -> Result<(), TransactionError> {
        let key = TransactionKey::of_message(&response).ok_or(TransactionError::Unkeyed)?;
        let idx = self
            .servers
            .iter()
            .position(|s| s.key == key && s.state == ServerState::Proceeding)
            .ok_or(TransactionError::NoServerTransaction)?;
        let code = response.status_code.code();
        let text = codec::serialize(&SipMessage::Response(response));
        self.outbox.push_back(text.clone());
        let Some(tx) = self.servers.get_mut(idx) else {
            return Err(TransactionError::NoServerTransaction);
        };
        tx.last_response = Some(text);
        match (key.method == Method::Invite, code) {
            (_, 100..=199) => {}
            (true, 200..=299) => {
                tx.state = ServerState::Accepted;
                tx.deadline = Some(now + TRANSACTION_TIMEOUT);
            }
            (true, _) => {
                tx.state = ServerState::Completed;
                tx.deadline = Some(now + TRANSACTION_TIMEOUT);
            }
            // Timer J is zero on a reliable transport.
            (false, _) => {
                self.servers.remove(idx);
            }
        }
        Ok(())
    }

    /// Fires due timers. Client timeouts go to their owners.
    pub fn handle_timeout(&mut self, now: Instant) -> (Vec<(O, ClientEvent)>, Vec<ServerEvent>) {
        let mut client_events = Vec::new();
        self.clients.retain(|c| {
            if c.deadline.is_none_or(|d| d > now) {
                return true;
            }
            if c.state != ClientState::Accepted {
                client_events.push((c.owner.clone(), ClientEvent::Timeout));
            }
            false
        });
        let mut server_events = Vec::new();
        self.servers.retain(|s| match s.deadline {
            Some(d) if d <= now => {
                if s.state == ServerState::Completed {
                    server_events.push(ServerEvent::AckTimeout(s.key.clone()));
                }
                false
            }
            _ => true,
        });
        (client_events, server_events)
    }

    /// The connection is gone: every client transaction fails, and server
    /// transactions can no longer answer (a new connection is a new flow the
    /// proxy will not route old responses over).
    pub fn transport_lost(&mut self) -> Vec<(O, ClientEvent)> {
        self.servers.clear();
        self.outbox.clear();
        self.clients
            .drain(..)
            .filter(|c| c.state != ClientState::Accepted)
            .map(|c| (c.owner, ClientEvent::TransportError))
            .collect()
    }

    /// We CANCELled this INVITE: RFC 3261 §9.1 gives its final response
    /// 64·T1, after which the transaction is considered cancelled (the
    /// owner gets a Timeout) so a peer that never answers cannot pin it.
    pub fn invite_cancelled(&mut self, now: Instant, invite: &Request) {
        let Some(key) = TransactionKey::of_message(invite) else {
            return;
        };
        if let Some(tx) = self
            .clients
            .iter_mut()
            .find(|c| c.key == key && c.state != ClientState::Accepted)
        {
            tx.deadline = Some(now + TRANSACTION_TIMEOUT);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let c = self.clients.iter().filter_map(|c| c.deadline);
        let s = self.servers.iter().filter_map(|s| s.deadline);
        c.chain(s).min()
    }

    pub fn poll_transmit(&mut self) -> Option<String> {
        self.outbox.pop_front()
    }

    /// Live transactions (client, server): the simulation checks for leaks.
    pub fn len(&self) -> (usize, usize) {
        (self.clients.len(), self.servers.len())
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty() && self.servers.is_empty()
    }
}

/// RFC 3261 §17.1.1.3: the ACK of a non-2xx reuses the INVITE's branch,
/// Request-URI, Call-ID, From, Route set and CSeq number, with the To of the
/// response (it carries the tag).
pub fn ack_for_non_2xx(invite: &Request, response: &Response) -> Request {
    let mut headers = rsip::Headers::default();
    if let Some(via) = invite.headers.iter().find(|h| matches!(h, Header::Via(_))) {
        headers.push(via.clone());
    }
    for h in invite.headers.iter() {
        match h {
            Header::From(_) | Header::CallId(_) | Header::Route(_) | Header::MaxForwards(_) => {
                headers.push(h.clone())
            }
            _ => {}
        }
    }
    if let Some(to) = response.headers.iter().find(|h| matches!(h, Header::To(_))) {
        headers.push(to.clone());
    }
    let seq = codec::cseq(invite).map_or(1, |(n, _)| n);
    headers.push(Header::CSeq(rsip::headers::CSeq::new(format!("{seq} ACK"))));
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

/// A response to `request` (RFC 3261 §8.2.6): Via, From, Call-ID, CSeq
/// copied, To copied with `to_tag` added when given and absent.
pub fn response_to(request: &Request, code: u16, to_tag: Option<&str>) -> Response {
    let mut headers = rsip::Headers::default();
    for h in request.headers.iter() {
        match h {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                headers.push(h.clone())
            }
            Header::To(to) => {
                let value = rsip::headers::UntypedHeader::value(to);
                let has_tag = codec::to_tag(request).is_some();
                match to_tag {
                    Some(tag) if !has_tag && code != 100 => headers.push(Header::To(
                        rsip::headers::To::new(format!("{value};tag={tag}")),
                    )),
                    _ => headers.push(h.clone()),
                }
            }
            _ => {}
        }
    }
    Response {
        status_code: rsip::StatusCode::from(code),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn request(method: &str, branch: &str) -> Request {
        let text = format!(
            "{method} sip:1002@pbx.test SIP/2.0\r\nVia: SIP/2.0/WSS a.invalid;branch={branch}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:1001@pbx.test>;tag=f1\r\nTo: <sip:1002@pbx.test>\r\n\
             Call-ID: c1\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
        );
        match codec::parse(text.as_bytes()) {
            Ok(SipMessage::Request(r)) => r,
            other => panic!("test request did not parse: {other:?}"),
        }
    }

    fn reply(req: &Request, code: u16) -> Response {
        let resp = response_to(req, code, Some("t9"));
        match codec::parse(codec::serialize(&SipMessage::Response(resp)).as_bytes()) {
            Ok(SipMessage::Response(r)) => r,
            other => panic!("test response did not parse: {other:?}"),
        }
    }

    fn drain(layer: &mut TransactionLayer<&'static str>) -> Vec<String> {
        std::iter::from_fn(|| layer.poll_transmit()).collect()
    }

    #[test]
    fn non_invite_client_trying_200_terminates_at_once() {
        // UAC                UAS
        //  |--- OPTIONS ------>|
        //  |<-- 200 OK --------|   (Timer K = 0 on a reliable transport)
        let mut layer = TransactionLayer::new();
        let req = request("OPTIONS", "z9hG4bKa");
        layer.send_request(at(0), req.clone(), "keepalive").unwrap();
        assert_eq!(drain(&mut layer).len(), 1);
        let (owner, ev) = layer.on_response(at(10), reply(&req, 200)).unwrap();
        assert_eq!(owner, "keepalive");
        assert!(matches!(ev, ClientEvent::Final(r) if r.status_code.code() == 200));
        assert!(layer.is_empty());
        // A retransmitted 200 finds nothing and is dropped.
        assert!(layer.on_response(at(20), reply(&req, 200)).is_none());
    }

    #[test]
    fn timer_f_fires_after_64_t1_even_after_a_provisional() {
        let mut layer = TransactionLayer::new();
        let req = request("REGISTER", "z9hG4bKb");
        layer.send_request(at(0), req.clone(), "reg").unwrap();
        assert!(matches!(
            layer.on_response(at(100), reply(&req, 100)),
            Some((_, ClientEvent::Provisional(_)))
        ));
        assert_eq!(layer.poll_timeout(), Some(at(32_000)));
        assert!(layer.handle_timeout(at(31_999)).0.is_empty());
        assert_eq!(
            layer.handle_timeout(at(32_000)).0,
            vec![("reg", ClientEvent::Timeout)]
        );
        assert!(layer.is_empty());
    }

    #[test]
    fn a_ringing_invite_has_no_timer_b_until_it_is_cancelled() {
        // UAC                UAS
        //  |--- INVITE ------->|
        //  |<-- 180 -----------|   rings as long as the callee's side wants
        //  (5 minutes pass)
        //  |--- CANCEL ------->|   no 487 ever comes: 64·T1 later, Timeout
        let mut layer = TransactionLayer::new();
        let invite = request("INVITE", "z9hG4bKring");
        layer.send_request(at(0), invite.clone(), "call").unwrap();
        layer.on_response(at(100), reply(&invite, 180)).unwrap();
        assert_eq!(layer.poll_timeout(), None);
        assert!(layer.handle_timeout(at(300_000)).0.is_empty());
        layer.invite_cancelled(at(300_000), &invite);
        assert_eq!(layer.poll_timeout(), Some(at(332_000)));
        assert_eq!(
            layer.handle_timeout(at(332_000)).0,
            vec![("call", ClientEvent::Timeout)]
        );
        assert!(layer.is_empty());
    }

    #[test]
    fn invite_client_non_2xx_is_acked_by_the_transaction_with_the_same_branch() {
        // UAC                UAS
        //  |--- INVITE ------->|
        //  |<-- 486 Busy ------|
        //  |--- ACK ---------->|   same branch, To tag of the 486
        let mut layer = TransactionLayer::new();
        let invite = request("INVITE", "z9hG4bKc");
        layer.send_request(at(0), invite.clone(), "call").unwrap();
        drain(&mut layer);
        let (_, ev) = layer.on_response(at(5), reply(&invite, 486)).unwrap();
        assert!(matches!(ev, ClientEvent::Final(_)));
        let sent = drain(&mut layer);
        assert_eq!(sent.len(), 1);
        assert!(sent[0].starts_with("ACK sip:1002@pbx.test SIP/2.0"));
        assert!(sent[0].contains("branch=z9hG4bKc"));
        assert!(sent[0].contains("tag=t9"));
        assert!(sent[0].contains("CSeq: 1 ACK"));
        assert!(layer.is_empty());
    }

    #[test]
    fn invite_client_2xx_is_accepted_and_retransmissions_reach_the_dialog() {
        let mut layer = TransactionLayer::new();
        let invite = request("INVITE", "z9hG4bKd");
        layer.send_request(at(0), invite.clone(), "call").unwrap();
        drain(&mut layer);
        assert!(matches!(
            layer.on_response(at(5), reply(&invite, 180)),
            Some((_, ClientEvent::Provisional(_)))
        ));
        assert!(matches!(
            layer.on_response(at(9), reply(&invite, 200)),
            Some((_, ClientEvent::Final(_)))
        ));
        // The transaction does not ACK a 2xx: that is the dialog's job.
        assert!(drain(&mut layer).is_empty());
        assert!(matches!(
            layer.on_response(at(500), reply(&invite, 200)),
            Some((_, ClientEvent::Final(_)))
        ));
        // Timer M ends it quietly.
        let (events, _) = layer.handle_timeout(at(9 + 32_000));
        assert!(events.is_empty());
        assert!(layer.is_empty());
    }

    #[test]
    fn invite_server_sends_100_absorbs_retransmissions_and_waits_for_the_ack() {
        // UAC                UAS
        //  |--- INVITE ------->|
        //  |<-- 100 Trying ----|
        //  |--- INVITE ------->|   retransmission → 100 again, not a new call
        //  |<-- 603 -----------|
        //  |--- ACK ---------->|   Confirmed, Timer I = 0
        let mut layer: TransactionLayer<&str> = TransactionLayer::new();
        let invite = request("INVITE", "z9hG4bKe");
        assert!(matches!(
            layer.on_request(at(0), invite.clone()),
            ServerInput::New(_)
        ));
        let sent = drain(&mut layer);
        assert!(sent[0].starts_with("SIP/2.0 100"));
        assert_eq!(
            layer.on_request(at(1), invite.clone()),
            ServerInput::Absorbed
        );
        assert_eq!(drain(&mut layer).len(), 1);
        layer
            .respond(at(2), response_to(&invite, 603, Some("u1")))
            .unwrap();
        assert!(drain(&mut layer)[0].starts_with("SIP/2.0 603"));
        let ack = ack_for_non_2xx(&invite, &reply(&invite, 603));
        assert_eq!(layer.on_request(at(3), ack), ServerInput::Absorbed);
        assert!(layer.is_empty());
    }

    #[test]
    fn timer_h_reports_a_missing_ack() {
        let mut layer: TransactionLayer<&str> = TransactionLayer::new();
        let invite = request("INVITE", "z9hG4bKf");
        layer.on_request(at(0), invite.clone());
        layer
            .respond(at(0), response_to(&invite, 486, Some("u")))
            .unwrap();
        let (_, server) = layer.handle_timeout(at(32_000));
        assert_eq!(server.len(), 1);
        assert!(layer.is_empty());
    }

    #[test]
    fn ack_of_a_2xx_belongs_to_the_dialog() {
        let mut layer: TransactionLayer<&str> = TransactionLayer::new();
        let invite = request("INVITE", "z9hG4bKg");
        layer.on_request(at(0), invite.clone());
        layer
            .respond(at(1), response_to(&invite, 200, Some("u")))
            .unwrap();
        let ack = request("ACK", "z9hG4bKother");
        assert!(matches!(
            layer.on_request(at(2), ack),
            ServerInput::AckFor2xx(_)
        ));
        // Retransmitted INVITE after the 2xx is absorbed without a resend.
        drain(&mut layer);
        assert_eq!(layer.on_request(at(3), invite), ServerInput::Absorbed);
        assert!(drain(&mut layer).is_empty());
    }

    #[test]
    fn non_invite_server_answers_once_and_repeats_for_retransmissions_while_live() {
        let mut layer: TransactionLayer<&str> = TransactionLayer::new();
        let msg = request("MESSAGE", "z9hG4bKh");
        assert!(matches!(
            layer.on_request(at(0), msg.clone()),
            ServerInput::New(_)
        ));
        assert_eq!(layer.on_request(at(1), msg.clone()), ServerInput::Absorbed);
        layer
            .respond(at(2), response_to(&msg, 200, Some("u")))
            .unwrap();
        assert!(layer.is_empty());
        assert_eq!(
            layer.respond(at(3), response_to(&msg, 200, Some("u"))),
            Err(TransactionError::NoServerTransaction)
        );
    }

    #[test]
    fn transport_loss_fails_every_pending_client_transaction() {
        let mut layer = TransactionLayer::new();
        layer
            .send_request(at(0), request("REGISTER", "z9hG4bK1"), "reg")
            .unwrap();
        layer
            .send_request(at(0), request("OPTIONS", "z9hG4bK2"), "ka")
            .unwrap();
        assert_eq!(
            layer.transport_lost(),
            vec![
                ("reg", ClientEvent::TransportError),
                ("ka", ClientEvent::TransportError)
            ]
        );
        assert!(layer.is_empty());
        assert!(layer.poll_transmit().is_none());
    }

    #[test]
    fn duplicate_branch_is_refused() {
        let mut layer = TransactionLayer::new();
        layer
            .send_request(at(0), request("OPTIONS", "z9hG4bK1"), "a")
            .unwrap();
        assert_eq!(
            layer.send_request(at(0), request("OPTIONS", "z9hG4bK1"), "b"),
            Err(TransactionError::Duplicate)
        );
    }
}
