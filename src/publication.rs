//! Event state publication (RFC 3903 PUBLISH), used for our own presence:
//! the first PUBLISH carries the state and gets an entity tag (SIP-ETag);
//! refreshes carry only `SIP-If-Match` and no body; a change carries the new
//! body with `SIP-If-Match`; removal is `Expires: 0`. A 412 means the server
//! forgot our entity: publish the full state again.

use std::time::Duration;

use rsip::{Method, Request, Response};

use crate::auth::DigestSession;
use crate::codec;
use crate::engine::{Event, Io, Owner};
use crate::request::{build_request, parse_uri, RequestSpec};
use crate::time::Instant;
use crate::transaction::ClientEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicationHandle(pub u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicationStatus {
    Publishing,
    Published {
        expires_at: Instant,
    },
    Retrying {
        at: Instant,
    },
    /// Removed by us (Expires: 0).
    Removed,
    /// Refused with a final response retrying cannot cure.
    Failed {
        code: u16,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublicationError {
    #[error("no such publication")]
    NoSuchPublication,
    #[error("not connected")]
    NotConnected,
}

const REFRESH_LEAD: Duration = Duration::from_secs(30);
const RETRY_BASE: Duration = Duration::from_secs(30);
const RETRY_MAX: Duration = Duration::from_secs(1800);

#[derive(Debug)]
pub(crate) struct Publication {
    pub handle: PublicationHandle,
    package: String,
    content_type: String,
    body: String,
    expires: u32,
    etag: Option<String>,
    status: PublicationStatus,
    call_id: String,
    from_tag: String,
    cseq: u32,
    digest: DigestSession,
    last_sent: Option<Request>,
    generation: u64,
    refresh_at: Option<Instant>,
    retry_at: Option<Instant>,
    failures: u32,
    removing: bool,
}

impl Publication {
    pub fn new(
        io: &mut Io<'_>,
        handle: PublicationHandle,
        package: &str,
        content_type: &str,
        body: &str,
        expires: u32,
    ) -> Publication {
        let mut p = Publication {
            handle,
            package: package.to_string(),
            content_type: content_type.to_string(),
            body: body.to_string(),
            expires,
            etag: None,
            status: PublicationStatus::Publishing,
            call_id: io.random.call_id(),
            from_tag: io.random.tag(),
            cseq: 0,
            digest: DigestSession::new(),
            last_sent: None,
            generation: 0,
            refresh_at: None,
            retry_at: None,
            failures: 0,
            removing: false,
        };
        p.publish(io, true);
        p
    }

    pub fn status(&self) -> &PublicationStatus {
        &self.status
    }

    pub fn is_finished(&self) -> bool {
        matches!(
            self.status,
            PublicationStatus::Removed | PublicationStatus::Failed { .. }
        ) && self.last_sent.is_none()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.refresh_at, self.retry_at].into_iter().flatten().min()
    }

    /// New state for the same entity (RFC 3903 §4.4: body + SIP-If-Match).
    pub fn modify(&mut self, io: &mut Io<'_>, body: &str) {
        self.body = body.to_string();
        self.publish(io, true);
    }

    pub fn remove(&mut self, io: &mut Io<'_>) {
        self.refresh_at = None;
        self.retry_at = None;
        self.removing = true;
        if self.etag.is_some() {
            self.send(io, 0, false);
        } else {
            self.last_sent = None;
        }
        self.set_status(io, PublicationStatus::Removed);
    }

    fn publish(&mut self, io: &mut Io<'_>, with_body: bool) {
        self.digest.start_request();
        self.set_status(io, PublicationStatus::Publishing);
        let expires = self.expires;
        self.send(io, expires, with_body || self.etag.is_none());
    }

    fn send(&mut self, io: &mut Io<'_>, expires: u32, with_body: bool) {
        let Some(uri) = parse_uri(&io.local.aor) else {
            return;
        };
        self.cseq = self.cseq.saturating_add(1);
        let mut spec = RequestSpec::new(
            Method::Publish,
            uri,
            format!("<{}>", io.local.aor),
            self.from_tag.clone(),
            self.call_id.clone(),
            self.cseq,
        );
        spec.headers.push(("Event".into(), self.package.clone()));
        spec.headers.push(("Expires".into(), expires.to_string()));
        if let Some(etag) = &self.etag {
            spec.headers.push(("SIP-If-Match".into(), etag.clone()));
        }
        if with_body {
            spec.body = Some((self.content_type.clone(), self.body.as_bytes().to_vec()));
        }
        let request = build_request(io.local, spec, io.random);
        self.generation = self.generation.wrapping_add(1);
        self.last_sent = Some(request.clone());
        io.send(request, Owner::Publication(self.handle, self.generation));
    }

    pub fn on_client_event(&mut self, io: &mut Io<'_>, generation: u64, event: ClientEvent) {
        if generation != self.generation {
            return;
        }
        match event {
            ClientEvent::Provisional(_) => {}
            ClientEvent::Final(r) => self.on_final(io, r),
            ClientEvent::Timeout | ClientEvent::TransportError => {
                self.last_sent = None;
                if !self.removing {
                    self.retry_later(io, None);
                }
            }
        }
    }

    fn on_final(&mut self, io: &mut Io<'_>, r: Response) {
        let code = r.status_code.code();
        if matches!(code, 401 | 407) {
            if let Some(original) = self.last_sent.clone() {
                let next = self.cseq.saturating_add(1);
                if let Ok(retry) = io.reauthorize(&mut self.digest, &original, &r, next) {
                    self.cseq = next;
                    self.generation = self.generation.wrapping_add(1);
                    self.last_sent = Some(retry.clone());
                    io.send(retry, Owner::Publication(self.handle, self.generation));
                    return;
                }
            }
        }
        self.last_sent = None;
        if self.removing {
            return;
        }
        match code {
            200..=299 => {
                self.failures = 0;
                if let Some(etag) = codec::header(&r, "SIP-ETag") {
                    self.etag = Some(etag.trim().to_string());
                }
                let granted = codec::header(&r, "Expires")
                    .and_then(|e| e.trim().parse::<u32>().ok())
                    .unwrap_or(self.expires);
                let lifetime = Duration::from_secs(u64::from(granted));
                self.refresh_at = Some(io.now + (lifetime - REFRESH_LEAD.min(lifetime / 2)));
                self.set_status(
                    io,
                    PublicationStatus::Published {
                        expires_at: io.now + lifetime,
                    },
                );
            }
            // RFC 3903 §4.5: the server lost our entity; start it over.
            412 => {
                self.etag = None;
                self.publish(io, true);
            }
            423 => {
                match codec::header(&r, "Min-Expires").and_then(|v| v.trim().parse::<u32>().ok()) {
                    Some(min) if min > self.expires => {
                        self.expires = min;
                        self.publish(io, true);
                    }
                    _ => self.set_status(io, PublicationStatus::Failed { code }),
                }
            }
            408 | 480 | 500..=599 => self.retry_later(io, None),
            _ => self.set_status(io, PublicationStatus::Failed { code }),
        }
    }

    pub fn on_timeout(&mut self, io: &mut Io<'_>) {
        let now = io.now;
        if self.retry_at.is_some_and(|t| t <= now) {
            self.retry_at = None;
            self.publish(io, true);
        }
        if self.refresh_at.is_some_and(|t| t <= now) {
            self.refresh_at = None;
            // RFC 3903 §4.3: a refresh has no body, only the entity tag.
            self.publish(io, false);
        }
    }

    pub fn on_transport_lost(&mut self, io: &mut Io<'_>) {
        self.last_sent = None;
        self.refresh_at = None;
        if !self.removing && !matches!(self.status, PublicationStatus::Failed { .. }) {
            self.retry_at = None;
            self.set_status(io, PublicationStatus::Retrying { at: io.now });
        }
    }

    pub fn on_connected(&mut self, io: &mut Io<'_>) {
        if matches!(self.status, PublicationStatus::Retrying { .. }) && self.retry_at.is_none() {
            self.publish(io, true);
        }
    }

    fn retry_later(&mut self, io: &mut Io<'_>, after: Option<Duration>) {
        let step = RETRY_BASE
            .saturating_mul(1u32 << self.failures.min(6))
            .min(RETRY_MAX);
        self.failures = self.failures.saturating_add(1);
        let half = step.as_millis() as u64 / 2;
        let at = io.now + after.unwrap_or(Duration::from_millis(half + io.random.below(half + 1)));
        self.retry_at = Some(at);
        self.set_status(io, PublicationStatus::Retrying { at });
    }

    fn set_status(&mut self, io: &mut Io<'_>, status: PublicationStatus) {
        if self.status != status {
            self.status = status.clone();
            io.emit(Event::PublicationChanged {
                publication: self.handle,
                status,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support::*;
    use crate::engine::Event;

    const PIDF: &str = "<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:1001@pbx.test\"/>";

    #[test]
    fn publish_etag_refresh_without_body_then_remove() {
        // UA                       Presence server
        // |--- PUBLISH (PIDF) ------->|
        // |<-- 200 SIP-ETag: e1 ------|
        // |--- PUBLISH If-Match: e1 ->|  refresh, no body
        // |<-- 200 SIP-ETag: e2 ------|
        // |--- PUBLISH If-Match: e2, Expires: 0
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        let p = ua
            .publish(t0, "presence", "application/pidf+xml", PIDF, 300)
            .unwrap();
        let first = sent_requests(&mut ua).remove(0);
        assert_eq!(first.method, Method::Publish);
        assert_eq!(first.uri.to_string(), "sip:1001@pbx.test");
        assert_eq!(header(&first, "Event"), Some("presence"));
        assert!(header(&first, "SIP-If-Match").is_none());
        assert_eq!(String::from_utf8_lossy(&first.body), PIDF);
        ua.handle_transport(
            t0,
            &reply(&first, 200, &[("SIP-ETag", "e1"), ("Expires", "300")]),
        )
        .unwrap();
        assert_eq!(
            ua.publication_status(p),
            Some(PublicationStatus::Published {
                expires_at: at_secs(300)
            })
        );
        ua.handle_timeout(at_secs(270));
        let refresh = sent_requests(&mut ua)
            .into_iter()
            .find(|r| r.method == Method::Publish)
            .unwrap();
        assert_eq!(header(&refresh, "SIP-If-Match"), Some("e1"));
        assert!(refresh.body.is_empty());
        ua.handle_transport(
            at_secs(270),
            &reply(&refresh, 200, &[("SIP-ETag", "e2"), ("Expires", "300")]),
        )
        .unwrap();
        ua.unpublish(at_secs(280), p).unwrap();
        let remove = sent_requests(&mut ua).remove(0);
        assert_eq!(header(&remove, "SIP-If-Match"), Some("e2"));
        assert_eq!(header(&remove, "Expires"), Some("0"));
        ua.handle_transport(at_secs(280), &reply(&remove, 200, &[]))
            .unwrap();
        assert!(ua.publication_status(p).is_none());
        let evs = events(&mut ua);
        assert!(evs.contains(&Event::PublicationChanged {
            publication: p,
            status: PublicationStatus::Removed
        }));
    }

    #[test]
    fn conditional_request_failed_412_republishes_the_full_state() {
        let t0 = at_secs(0);
        let mut ua = connected_ua(t0);
        let p = ua
            .publish(t0, "presence", "application/pidf+xml", PIDF, 300)
            .unwrap();
        let first = sent_requests(&mut ua).remove(0);
        ua.handle_transport(t0, &reply(&first, 200, &[("SIP-ETag", "e1")]))
            .unwrap();
        ua.republish(at_secs(10), p, PIDF).unwrap();
        let modify = sent_requests(&mut ua).remove(0);
        assert_eq!(header(&modify, "SIP-If-Match"), Some("e1"));
        assert!(!modify.body.is_empty());
        ua.handle_transport(at_secs(10), &reply(&modify, 412, &[]))
            .unwrap();
        let fresh = sent_requests(&mut ua).remove(0);
        assert!(header(&fresh, "SIP-If-Match").is_none());
        assert_eq!(String::from_utf8_lossy(&fresh.body), PIDF);
    }
}
