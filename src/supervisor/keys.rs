//! The function keys' subscriptions and presses, sans-IO.
//!
//! Each monitoring key needs a subscription: `dialog` (and `presence`, if
//! enabled) on a BLF key's extension, `dialog` on a park slot,
//! `message-summary` on a mailbox. Keys watching the same target share one.
//! 120 keys must not become 120–240 SUBSCRIBEs in one burst (a PBX's flood
//! protection bans for less), so new subscriptions are started one at a
//! time, [`PACE`] apart: at most [`MAX_SUBSCRIBES_PER_SECOND`] dialog-creating
//! SUBSCRIBEs per second. Dialog subscriptions go first (they give the
//! lamps), then mailboxes, then presence.
//!
//! After a lost connection the engine would re-send every subscription at
//! once; instead they are dropped when the connection goes and started
//! again, paced, once the account is registered again.
//!
//! The own status is published as PIDF + RPID (RFC 3903) while registered,
//! and republished when it changes; the engine refreshes it.

use std::collections::VecDeque;
use std::time::Duration;

use crate::engine::{Event, UserAgent};
use crate::event::dialog_info::{BlfState, DialogInfo, DialogInfoTracker, TrackerUpdate};
use crate::event::message_summary::MessageSummary;
use crate::event::pidf::Presence as Pidf;
use crate::function_keys::{
    lamp_of, mwi_of, parse_status, pickable, pidf_of, status_of, uri_user, FunctionKey,
    IntercomMode, KeyConfig, KeyKind, KeyStateView, Lamp, Mwi, PickupMode,
};
use crate::presence::Status;
use crate::protocol::ErrorCode;
use crate::publication::{PublicationHandle, PublicationStatus};
use crate::subscription::{SubscriptionHandle, SubscriptionStatus, TerminationCause};
use crate::time::Instant;

/// The pacing limit: dialog-creating SUBSCRIBEs per second (their digest
/// retries come on top, one each at most).
pub const MAX_SUBSCRIBES_PER_SECOND: u32 = 40;
/// Gap between two new subscriptions: 1000/40 ms plus 3 ms, so that 40 in
/// a row span 1.09 s and a worker busy for up to ~90 ms (a late timer, a
/// send queued behind other work) cannot squeeze a 41st into one second as
/// the PBX measures it; +1 ms was seen reaching exactly 40 under CI load.
/// 120 dialog subscriptions take 3.4 s.
pub const PACE: Duration = Duration::from_millis(1000 / MAX_SUBSCRIBES_PER_SECOND as u64 + 3);
/// Requested subscription lifetime; refreshes are spread like the starts.
pub const SUBSCRIBE_EXPIRES: u32 = 600;
/// Requested publication lifetime; the engine refreshes it.
pub const PUBLISH_EXPIRES: u32 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Package {
    // Order = start order.
    Dialog,
    MessageSummary,
    Presence,
}

impl Package {
    fn name(self) -> &'static str {
        match self {
            Package::Dialog => "dialog",
            Package::MessageSummary => "message-summary",
            Package::Presence => "presence",
        }
    }
    fn accept(self) -> &'static str {
        match self {
            Package::Dialog => "application/dialog-info+xml",
            Package::MessageSummary => "application/simple-message-summary",
            Package::Presence => "application/pidf+xml",
        }
    }
}

/// One subscription and what it has learned.
#[derive(Debug)]
struct Monitor {
    package: Package,
    target: String,
    handle: Option<SubscriptionHandle>,
    tracker: DialogInfoTracker,
    blf: Option<BlfState>,
    presence: Option<(Status, bool)>,
    mwi: Option<Mwi>,
    /// The PBX refused it (no such extension/mailbox, no presence server).
    refused: bool,
}

impl Monitor {
    fn new(package: Package, target: &str) -> Monitor {
        Monitor {
            package,
            target: target.to_string(),
            handle: None,
            tracker: DialogInfoTracker::new(),
            blf: None,
            presence: None,
            mwi: None,
            refused: false,
        }
    }

    fn forget_state(&mut self) {
        self.handle = None;
        self.tracker.reset();
        self.blf = None;
        self.presence = None;
        self.mwi = None;
    }
}

/// What a key press asks the supervisor to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPress {
    /// Place a call to `number`, with these extra INVITE headers.
    Dial {
        number: String,
        headers: Vec<(String, String)>,
    },
    /// Send digits into the active call.
    Dtmf { digits: String },
    /// Blind-transfer the active call to `target` (park).
    Transfer { target: String },
    /// Switch the own status (the worker's status path does it).
    SetStatus(Status),
}

pub struct Keys {
    config: KeyConfig,
    monitors: Vec<Monitor>,
    /// Indices into `monitors` waiting for their SUBSCRIBE.
    queue: VecDeque<usize>,
    next_start_at: Option<Instant>,
    registered: bool,
    /// Own status to publish, and what was published.
    own: Option<(Status, String)>,
    published: Option<(Status, String)>,
    publication: Option<PublicationHandle>,
    /// `sip:user@domain` of the account (the PIDF entity).
    entity: String,
    /// Agent keys' last action (key id → logged in / paused).
    agent_active: Vec<(u32, bool)>,
    /// Message-summary NOTIFYs outside a subscription, for the own mailbox.
    own_user: String,
    unsolicited_mwi: Option<Mwi>,
}

impl Default for Keys {
    fn default() -> Self {
        Self::new()
    }
}

impl Keys {
    pub fn new() -> Keys {
        Keys {
            config: KeyConfig::default(),
            monitors: Vec::new(),
            queue: VecDeque::new(),
            next_start_at: None,
            registered: false,
            own: None,
            published: None,
            publication: None,
            entity: String::new(),
            agent_active: Vec::new(),
            own_user: String::new(),
            unsolicited_mwi: None,
        }
    }

    pub fn config(&self) -> &KeyConfig {
        &self.config
    }

    /// A new account (or none): everything subscribed belonged to the old
    /// user agent.
    pub fn reset_account(&mut self, user: &str, domain: &str) {
        for m in &mut self.monitors {
            m.forget_state();
            m.refused = false;
        }
        self.queue.clear();
        self.next_start_at = None;
        self.registered = false;
        self.publication = None;
        self.published = None;
        self.own_user = user.to_string();
        self.entity = format!("sip:{user}@{domain}");
        self.unsolicited_mwi = None;
    }

    /// Apply a validated configuration: subscriptions no key needs any more
    /// end, new ones are queued.
    pub fn set_config(&mut self, now: Instant, ua: Option<&mut UserAgent>, config: KeyConfig) {
        let wanted = wanted_monitors(&config);
        let mut ua = ua;
        let mut kept = Vec::new();
        for m in self.monitors.drain(..) {
            if wanted.contains(&(m.package, m.target.clone())) {
                kept.push(m);
            } else if let (Some(h), Some(ua)) = (m.handle, ua.as_deref_mut()) {
                let _ = ua.unsubscribe(now, h);
            }
        }
        for (package, target) in wanted {
            if !kept
                .iter()
                .any(|m| m.package == package && m.target == target)
            {
                kept.push(Monitor::new(package, &target));
            }
        }
        kept.sort_by_key(|m| m.package);
        self.monitors = kept;
        self.agent_active
            .retain(|(id, _)| config.keys.iter().any(|k| k.id == *id));
        self.config = config;
        self.requeue(now);
    }

    fn requeue(&mut self, now: Instant) {
        self.queue.clear();
        if !self.registered {
            return;
        }
        for (i, m) in self.monitors.iter().enumerate() {
            if m.handle.is_none() && !m.refused {
                self.queue.push_back(i);
            }
        }
        if !self.queue.is_empty() && self.next_start_at.is_none() {
            self.next_start_at = Some(now);
        }
    }

    /// The account is registered (first time or again).
    pub fn on_registered(&mut self, now: Instant, ua: &mut UserAgent) {
        if !self.registered {
            self.registered = true;
            self.requeue(now);
        }
        self.publish(now, ua);
    }

    /// The connection is gone: drop the subscriptions (the engine would
    /// resend them all at once on the next connection) and show "unknown".
    pub fn on_disconnected(&mut self, now: Instant, ua: Option<&mut UserAgent>) {
        self.registered = false;
        let mut ua = ua;
        for m in &mut self.monitors {
            if let (Some(h), Some(ua)) = (m.handle, ua.as_deref_mut()) {
                let _ = ua.unsubscribe(now, h);
            }
            m.forget_state();
        }
        self.queue.clear();
        self.next_start_at = None;
    }

    /// The own status (from the worker's presence): published while
    /// registered, republished on change.
    pub fn set_presence(
        &mut self,
        now: Instant,
        ua: Option<&mut UserAgent>,
        status: Status,
        note: &str,
    ) {
        let own = Some((status, note.to_string()));
        if self.own == own {
            return;
        }
        self.own = own;
        if let Some(ua) = ua {
            self.publish(now, ua);
        }
    }

    fn publish(&mut self, now: Instant, ua: &mut UserAgent) {
        if !self.registered || self.own.is_none() || self.own == self.published {
            return;
        }
        let Some((status, note)) = self.own.clone() else {
            return;
        };
        let body = pidf_of(status, &note, &self.entity).to_xml();
        let alive = self
            .publication
            .and_then(|p| ua.publication_status(p))
            .is_some_and(|s| {
                !matches!(
                    s,
                    PublicationStatus::Removed | PublicationStatus::Failed { .. }
                )
            });
        let sent = match self.publication {
            Some(p) if alive => ua.republish(now, p, &body).is_ok(),
            _ => match ua.publish(
                now,
                "presence",
                "application/pidf+xml",
                &body,
                PUBLISH_EXPIRES,
            ) {
                Ok(p) => {
                    self.publication = Some(p);
                    true
                }
                Err(_) => false,
            },
        };
        if sent {
            self.published = self.own.clone();
        }
    }

    /// Logging out: remove the published status (colleagues see the user
    /// go offline now, not when the publication expires).
    pub fn withdraw(&mut self, now: Instant, ua: &mut UserAgent) {
        if let Some(p) = self.publication.take() {
            let _ = ua.unpublish(now, p);
        }
        self.published = None;
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.queue.is_empty() {
            None
        } else {
            self.next_start_at
        }
    }

    /// Start the next queued subscription if its turn has come.
    pub fn handle_timeout(&mut self, now: Instant, ua: Option<&mut UserAgent>) {
        let Some(ua) = ua else { return };
        if !self.registered || self.next_start_at.is_none_or(|at| at > now) {
            return;
        }
        while let Some(i) = self.queue.pop_front() {
            let Some(m) = self.monitors.get_mut(i) else {
                continue;
            };
            if m.handle.is_some() || m.refused {
                continue;
            }
            m.tracker.reset();
            m.handle = ua
                .subscribe(
                    now,
                    &m.target,
                    m.package.name(),
                    Some(m.package.accept()),
                    SUBSCRIBE_EXPIRES,
                )
                .ok();
            break;
        }
        self.next_start_at = if self.queue.is_empty() {
            None
        } else {
            Some(now + PACE)
        };
    }

    /// An engine event; returns true when a key's state may have changed.
    pub fn on_event(&mut self, now: Instant, ua: Option<&mut UserAgent>, event: &Event) -> bool {
        match event {
            Event::Notify {
                subscription, body, ..
            } => {
                let Some(i) = self
                    .monitors
                    .iter()
                    .position(|m| m.handle == Some(*subscription))
                else {
                    return false;
                };
                let resync = self.apply_body(i, body.as_bytes());
                if resync {
                    // A missed partial dialog-info: only a new subscription
                    // brings full state again.
                    if let (Some(ua), Some(m)) = (ua, self.monitors.get_mut(i)) {
                        if let Some(h) = m.handle.take() {
                            let _ = ua.unsubscribe(now, h);
                        }
                        m.forget_state();
                        self.queue.push_back(i);
                        self.next_start_at.get_or_insert(now);
                    }
                }
                true
            }
            Event::SubscriptionChanged {
                subscription,
                status: SubscriptionStatus::Terminated(cause),
            } => {
                let Some(m) = self
                    .monitors
                    .iter_mut()
                    .find(|m| m.handle == Some(*subscription))
                else {
                    return false;
                };
                if *cause != TerminationCause::Unsubscribed {
                    m.forget_state();
                    m.refused = true;
                }
                true
            }
            Event::UnsolicitedNotify { package, body, .. } if package == "message-summary" => {
                match MessageSummary::parse(body.as_bytes()) {
                    Ok(summary) => {
                        self.unsolicited_mwi = Some(mwi_of(&summary));
                        true
                    }
                    Err(_) => false,
                }
            }
            _ => false,
        }
    }

    /// Feeds one NOTIFY body to monitor `i`; true when the subscription
    /// must start over. A body that does not parse changes nothing.
    fn apply_body(&mut self, i: usize, body: &[u8]) -> bool {
        let Some(m) = self.monitors.get_mut(i) else {
            return false;
        };
        match m.package {
            Package::Dialog => {
                let Ok(doc) = DialogInfo::parse(body) else {
                    return false;
                };
                match m.tracker.apply(&doc) {
                    TrackerUpdate::Applied(state) => m.blf = Some(state),
                    TrackerUpdate::Stale => {}
                    TrackerUpdate::Resync => return true,
                }
            }
            Package::Presence => {
                if let Ok(p) = Pidf::parse(body) {
                    m.presence = Some(status_of(&p));
                }
            }
            Package::MessageSummary => {
                if let Ok(s) = MessageSummary::parse(body) {
                    m.mwi = Some(mwi_of(&s));
                }
            }
        }
        false
    }

    fn monitor(&self, package: Package, target: &str) -> Option<&Monitor> {
        self.monitors
            .iter()
            .find(|m| m.package == package && m.target == target)
    }

    fn agent_is_active(&self, id: u32) -> bool {
        self.agent_active
            .iter()
            .any(|(k, active)| *k == id && *active)
    }

    /// Every key's state, in key order.
    pub fn views(&self) -> Vec<KeyStateView> {
        self.config.keys.iter().map(|k| self.view(k)).collect()
    }

    fn view(&self, key: &FunctionKey) -> KeyStateView {
        let mut v = KeyStateView {
            id: key.id,
            lamp: Lamp::None,
            ..KeyStateView::default()
        };
        match key.kind {
            KeyKind::Blf | KeyKind::Park => {
                let dialog = self.monitor(Package::Dialog, &key.value);
                v.lamp = match dialog {
                    Some(m) if m.refused => Lamp::Offline,
                    Some(Monitor { blf: Some(b), .. }) => lamp_of(b),
                    _ => Lamp::Unknown,
                };
                if let Some(Monitor {
                    blf: Some(BlfState::Ringing { remote, .. }),
                    ..
                }) = dialog
                {
                    v.peer = remote.as_ref().map(|r| uri_user(&r.uri));
                }
                v.pickup = dialog.and_then(|m| m.blf.as_ref()).is_some_and(pickable);
                if key.kind == KeyKind::Blf {
                    if let Some((status, online)) = self
                        .monitor(Package::Presence, &key.value)
                        .and_then(|m| m.presence)
                    {
                        v.status = Some(status);
                        if !online && matches!(v.lamp, Lamp::Idle | Lamp::Unknown) {
                            v.lamp = Lamp::Offline;
                        }
                    }
                }
            }
            KeyKind::Voicemail | KeyKind::GroupVoicemail => {
                let m = self.monitor(Package::MessageSummary, &key.value);
                let mwi = m.and_then(|m| m.mwi).or_else(|| {
                    (key.value == self.own_user)
                        .then_some(self.unsolicited_mwi)
                        .flatten()
                });
                v.mwi = mwi;
                v.lamp = match (m, mwi) {
                    (_, Some(_)) => Lamp::Idle,
                    (Some(m), None) if m.refused => Lamp::Offline,
                    _ => Lamp::Unknown,
                };
            }
            KeyKind::AgentLogin | KeyKind::AgentPause => v.active = self.agent_is_active(key.id),
            KeyKind::SetStatus => {
                v.active = self.own.as_ref().map(|(s, _)| *s) == parse_status(&key.value)
            }
            KeyKind::SpeedDial | KeyKind::Intercom | KeyKind::Dtmf => {}
        }
        v
    }

    /// New voicemail messages over every voicemail key (the badge).
    pub fn new_messages(&self) -> u32 {
        self.views()
            .iter()
            .filter_map(|v| v.mwi)
            .fold(0u32, |sum, m| sum.saturating_add(m.new))
    }

    /// What pressing key `id` does now. `in_call`: a call is active.
    pub fn press(&mut self, id: u32, in_call: bool, domain: &str) -> Result<KeyPress, ErrorCode> {
        let key = self.config.key(id).cloned().ok_or(ErrorCode::BadRequest)?;
        let s = &self.config.settings;
        let dial = |number: String| KeyPress::Dial {
            number,
            headers: Vec::new(),
        };
        Ok(match key.kind {
            KeyKind::SpeedDial => dial(key.value),
            KeyKind::Blf => {
                let blf = self
                    .monitor(Package::Dialog, &key.value)
                    .and_then(|m| m.blf.clone());
                match blf {
                    Some(ref b @ BlfState::Ringing { .. }) if pickable(b) => {
                        pickup(b, &key.value, s.pickup, &s.pickup_code)
                    }
                    _ => dial(key.value),
                }
            }
            KeyKind::Voicemail | KeyKind::GroupVoicemail => {
                dial(format!("{}{}", s.voicemail_code, key.value))
            }
            KeyKind::Park => {
                let occupied = self
                    .monitor(Package::Dialog, &key.value)
                    .and_then(|m| m.blf.as_ref())
                    .is_some_and(|b| *b != BlfState::Idle);
                if occupied {
                    dial(key.value)
                } else if in_call {
                    KeyPress::Transfer { target: key.value }
                } else {
                    return Err(ErrorCode::NoSuchCall);
                }
            }
            KeyKind::Intercom => {
                let header = match s.intercom {
                    IntercomMode::CallInfo => (
                        "Call-Info".to_string(),
                        format!("<sip:{domain}>;answer-after=0"),
                    ),
                    IntercomMode::AlertInfo => (
                        "Alert-Info".to_string(),
                        "<http://127.0.0.1>;info=alert-autoanswer;delay=0".to_string(),
                    ),
                };
                KeyPress::Dial {
                    number: key.value,
                    headers: vec![header],
                }
            }
            KeyKind::Dtmf => {
                if !in_call {
                    return Err(ErrorCode::NoSuchCall);
                }
                KeyPress::Dtmf { digits: key.value }
            }
            KeyKind::AgentLogin => {
                let code = if self.agent_is_active(id) {
                    &s.agent_logout_code
                } else {
                    &s.agent_login_code
                };
                dial(format!("{code}{}", key.value))
            }
            KeyKind::AgentPause => {
                let code = if self.agent_is_active(id) {
                    &s.agent_resume_code
                } else {
                    &s.agent_pause_code
                };
                dial(format!("{code}{}", key.value))
            }
            KeyKind::SetStatus => {
                KeyPress::SetStatus(parse_status(&key.value).ok_or(ErrorCode::BadRequest)?)
            }
        })
    }

    /// The press of agent key `id` went out: flip what it shows.
    pub fn pressed(&mut self, id: u32) {
        let is_agent = self
            .config
            .key(id)
            .is_some_and(|k| matches!(k.kind, KeyKind::AgentLogin | KeyKind::AgentPause));
        if !is_agent {
            return;
        }
        match self.agent_active.iter_mut().find(|(k, _)| *k == id) {
            Some((_, active)) => *active = !*active,
            None => self.agent_active.push((id, true)),
        }
    }

    /// Subscriptions started so far (tests, console).
    pub fn subscribed(&self) -> usize {
        self.monitors.iter().filter(|m| m.handle.is_some()).count()
    }
}

/// Pickup of a call ringing at `extension`: INVITE the caller with
/// Replaces naming its early dialog (RFC 3891 §3: at the caller, the to-tag
/// is the caller's own tag, which the callee's dialog-info calls the remote
/// tag), or the directed-pickup feature code when that is configured or the
/// dialog-info lacks the ids.
fn pickup(blf: &BlfState, extension: &str, mode: PickupMode, code: &str) -> KeyPress {
    if let (
        PickupMode::Replaces,
        BlfState::Ringing {
            remote: Some(remote),
            call_id: Some(call_id),
            local_tag: Some(local_tag),
            remote_tag: Some(remote_tag),
            ..
        },
    ) = (mode, blf)
    {
        return KeyPress::Dial {
            number: remote.uri.clone(),
            headers: vec![(
                "Replaces".to_string(),
                format!("{call_id};to-tag={remote_tag};from-tag={local_tag};early-only"),
            )],
        };
    }
    KeyPress::Dial {
        number: format!("{code}{extension}"),
        headers: Vec::new(),
    }
}

/// (package, target) of every subscription the keys need, deduplicated.
fn wanted_monitors(config: &KeyConfig) -> Vec<(Package, String)> {
    let mut out: Vec<(Package, String)> = Vec::new();
    let mut add = |p: Package, t: &str| {
        if !out.iter().any(|(q, u)| *q == p && u == t) {
            out.push((p, t.to_string()));
        }
    };
    for k in &config.keys {
        if k.kind.watches_dialog() {
            add(Package::Dialog, &k.value);
        }
        if k.kind.watches_mailbox() {
            add(Package::MessageSummary, &k.value);
        }
        if k.kind == KeyKind::Blf && config.settings.blf_presence {
            add(Package::Presence, &k.value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;
    use crate::engine::test_support::{at_secs, connected_ua, header, sent_requests};
    use crate::function_keys::KeySettings;
    use rsip::{Method, Request};

    fn key(id: u32, kind: KeyKind, value: &str) -> FunctionKey {
        FunctionKey {
            id,
            kind,
            label: String::new(),
            value: value.into(),
        }
    }

    fn config(keys: Vec<FunctionKey>) -> KeyConfig {
        KeyConfig {
            keys,
            settings: KeySettings::default(),
        }
    }

    /// Runs the keys' timer until nothing is queued; returns every request
    /// sent with the time it went out.
    fn run(keys: &mut Keys, ua: &mut UserAgent, from: Instant) -> Vec<(Instant, Request)> {
        let mut out = Vec::new();
        let mut now = from;
        while let Some(at) = keys.poll_timeout() {
            now = at.max(now);
            keys.handle_timeout(now, Some(ua));
            out.extend(sent_requests(ua).into_iter().map(|r| (now, r)));
        }
        out
    }

    /// A NOTIFY for `subscribe` from a notifier that tagged its side `n1`.
    fn notify(subscribe: &Request, cseq: u32, content_type: &str, body: &str) -> Vec<u8> {
        let event = header(subscribe, "Event").unwrap_or_default();
        format!(
            "NOTIFY sip:1001@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/WSS 192.0.2.9;branch=z9hG4bKk{cseq}\r\n\
             From: <sip:x@pbx.test>;tag=n1\r\nTo: <sip:1001@pbx.test>;tag={}\r\n\
             Call-ID: {}\r\nCSeq: {cseq} NOTIFY\r\nContact: <sip:pbx@192.0.2.9>\r\nEvent: {event}\r\n\
             Subscription-State: active;expires=600\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            codec::from_tag(subscribe).unwrap(),
            codec::call_id(subscribe).unwrap(),
            body.len()
        )
        .into_bytes()
    }

    fn feed(keys: &mut Keys, ua: &mut UserAgent, now: Instant, bytes: &[u8]) {
        ua.handle_transport(now, bytes).unwrap();
        while let Some(e) = ua.poll_event() {
            keys.on_event(now, Some(ua), &e);
        }
    }

    fn dialog_info(version: u32, dialogs: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="{version}" state="full" entity="sip:1002@pbx.test">{dialogs}</dialog-info>"#
        )
    }

    const RINGING: &str = r#"<dialog id="d1" call-id="abc@a" local-tag="btag" remote-tag="atag" direction="recipient"><state>early</state><remote><identity>sip:1001@pbx.test</identity></remote></dialog>"#;
    const TALKING: &str = r#"<dialog id="d1" call-id="abc@a" local-tag="btag" remote-tag="atag" direction="recipient"><state>confirmed</state></dialog>"#;

    fn registered(keys: &mut Keys, ua: &mut UserAgent, cfg: KeyConfig) -> Vec<(Instant, Request)> {
        let t0 = at_secs(0);
        keys.reset_account("1001", "pbx.test");
        keys.set_config(t0, Some(ua), cfg);
        keys.on_registered(t0, ua);
        run(keys, ua, t0)
    }

    fn subscribe_for<'a>(sent: &'a [(Instant, Request)], event: &str, target: &str) -> &'a Request {
        &sent
            .iter()
            .find(|(_, r)| {
                r.method == Method::Subscribe
                    && header(r, "Event") == Some(event)
                    && r.uri.to_string().contains(target)
            })
            .unwrap()
            .1
    }

    #[test]
    fn a_hundred_and_twenty_keys_subscribe_paced_dialogs_first() {
        let mut ua = connected_ua(at_secs(0));
        let mut keys = Keys::new();
        let cfg = config(
            (0..120)
                .map(|i| key(i, KeyKind::Blf, &(2000 + i).to_string()))
                .collect(),
        );
        let sent = registered(&mut keys, &mut ua, cfg);
        let subscribes: Vec<_> = sent
            .iter()
            .filter(|(_, r)| r.method == Method::Subscribe)
            .collect();
        assert_eq!(subscribes.len(), 240, "dialog + presence for each key");
        for (i, (at, _)) in subscribes.iter().enumerate() {
            let in_window = subscribes
                .iter()
                .filter(|(t, _)| *t >= *at && *t < *at + Duration::from_secs(1))
                .count();
            assert!(
                in_window <= MAX_SUBSCRIBES_PER_SECOND as usize,
                "{in_window} SUBSCRIBEs in the second after #{i}"
            );
        }
        assert!(subscribes[..120]
            .iter()
            .all(|(_, r)| header(r, "Event") == Some("dialog")));
        let last_dialog = subscribes[119].0;
        assert!(last_dialog - at_secs(0) <= Duration::from_millis(3400));
        assert_eq!(keys.views().len(), 120);
        assert!(keys.views().iter().all(|v| v.lamp == Lamp::Unknown));
    }

    #[test]
    fn dialog_info_drives_the_lamp_and_a_press_picks_up_with_replaces() {
        //  Keys            PBX (dialog-info of 1002)
        //  SUBSCRIBE -->
        //            <-- NOTIFY early, recipient, caller 1001   lamp ringing, pickup
        //  press: INVITE sip:1001@pbx.test  Replaces: abc@a;to-tag=atag;from-tag=btag;early-only
        //            <-- NOTIFY confirmed                       lamp in_call
        let mut ua = connected_ua(at_secs(0));
        let mut keys = Keys::new();
        let mut cfg = config(vec![key(1, KeyKind::Blf, "1002")]);
        cfg.settings.blf_presence = false;
        let sent = registered(&mut keys, &mut ua, cfg);
        let sub = subscribe_for(&sent, "dialog", "1002").clone();
        let now = at_secs(1);
        feed(
            &mut keys,
            &mut ua,
            now,
            &notify(&sub, 1, "application/dialog-info+xml", &dialog_info(0, "")),
        );
        assert_eq!(keys.views()[0].lamp, Lamp::Idle);
        feed(
            &mut keys,
            &mut ua,
            now,
            &notify(
                &sub,
                2,
                "application/dialog-info+xml",
                &dialog_info(1, RINGING),
            ),
        );
        let v = &keys.views()[0];
        assert_eq!(
            (v.lamp, v.pickup, v.peer.as_deref()),
            (Lamp::Ringing, true, Some("1001"))
        );
        assert_eq!(
            keys.press(1, false, "pbx.test"),
            Ok(KeyPress::Dial {
                number: "sip:1001@pbx.test".into(),
                headers: vec![(
                    "Replaces".into(),
                    "abc@a;to-tag=atag;from-tag=btag;early-only".into()
                )]
            })
        );
        keys.config.settings.pickup = PickupMode::FeatureCode;
        assert_eq!(
            keys.press(1, false, "pbx.test"),
            Ok(KeyPress::Dial {
                number: "**1002".into(),
                headers: vec![]
            })
        );
        feed(
            &mut keys,
            &mut ua,
            now,
            &notify(
                &sub,
                3,
                "application/dialog-info+xml",
                &dialog_info(2, TALKING),
            ),
        );
        assert_eq!(keys.views()[0].lamp, Lamp::InCall);
        // Not ringing: a press calls the colleague.
        assert_eq!(
            keys.press(1, false, "pbx.test"),
            Ok(KeyPress::Dial {
                number: "1002".into(),
                headers: vec![]
            })
        );
    }

    #[test]
    fn a_lost_connection_drops_the_subscriptions_and_they_come_back_paced() {
        let mut ua = connected_ua(at_secs(0));
        let mut keys = Keys::new();
        let cfg = config(
            (0..50)
                .map(|i| key(i, KeyKind::Park, &(700 + i).to_string()))
                .collect(),
        );
        let first = registered(&mut keys, &mut ua, cfg);
        assert_eq!(first.len(), 50);
        let now = at_secs(60);
        ua.handle_disconnected(now);
        keys.on_disconnected(now, Some(&mut ua));
        ua.handle_connected(now);
        let burst: Vec<_> = sent_requests(&mut ua)
            .into_iter()
            .filter(|r| r.method == Method::Subscribe)
            .collect();
        assert!(
            burst.is_empty(),
            "the engine resent {} SUBSCRIBEs",
            burst.len()
        );
        assert!(keys.views().iter().all(|v| v.lamp == Lamp::Unknown));
        keys.on_registered(now, &mut ua);
        let again = run(&mut keys, &mut ua, now);
        assert_eq!(again.len(), 50);
        assert!(
            again.last().unwrap().0 - now <= Duration::from_millis(50 * PACE.as_millis() as u64)
        );
    }

    #[test]
    fn message_summary_sets_the_voicemail_key_and_the_badge_total() {
        let mut ua = connected_ua(at_secs(0));
        let mut keys = Keys::new();
        let sent = registered(
            &mut keys,
            &mut ua,
            config(vec![
                key(1, KeyKind::Voicemail, "1001"),
                key(2, KeyKind::GroupVoicemail, "6000"),
            ]),
        );
        let sub = subscribe_for(&sent, "message-summary", "6000").clone();
        feed(
            &mut keys,
            &mut ua,
            at_secs(1),
            &notify(
                &sub,
                1,
                "application/simple-message-summary",
                "Messages-Waiting: yes\r\nVoice-Message: 3/1\r\n",
            ),
        );
        assert_eq!(keys.views()[1].mwi, Some(Mwi { new: 3, old: 1 }));
        assert_eq!(keys.new_messages(), 3);
        assert_eq!(
            keys.press(1, false, "pbx.test"),
            Ok(KeyPress::Dial {
                number: "*971001".into(),
                headers: vec![]
            })
        );
    }

    #[test]
    fn the_own_status_is_published_on_registration_and_on_change() {
        let mut ua = connected_ua(at_secs(0));
        let mut keys = Keys::new();
        keys.set_presence(at_secs(0), Some(&mut ua), Status::Away, "back soon");
        assert!(sent_requests(&mut ua).is_empty(), "not before registration");
        registered(&mut keys, &mut ua, config(vec![]));
        let publish = sent_requests(&mut ua);
        let publish = publish
            .iter()
            .find(|r| r.method == Method::Publish)
            .unwrap();
        let body = String::from_utf8_lossy(&publish.body).to_string();
        assert!(
            body.contains("<rpid:away/>") && body.contains("back soon"),
            "{body}"
        );
        assert_eq!(header(publish, "Event"), Some("presence"));
        let etag = ("SIP-ETag", "e1");
        let ok = crate::engine::test_support::reply(publish, 200, &[etag, ("Expires", "600")]);
        ua.handle_transport(at_secs(1), &ok).unwrap();
        keys.withdraw(at_secs(2), &mut ua);
        let removal = sent_requests(&mut ua);
        let removal = removal
            .iter()
            .find(|r| r.method == Method::Publish)
            .unwrap();
        assert_eq!(header(removal, "Expires"), Some("0"));
        assert_eq!(header(removal, "SIP-If-Match"), Some("e1"));
    }

    #[test]
    fn park_intercom_dtmf_and_agent_keys() {
        let mut ua = connected_ua(at_secs(0));
        let mut keys = Keys::new();
        let mut cfg = config(vec![
            key(1, KeyKind::Park, "701"),
            key(2, KeyKind::Intercom, "1003"),
            key(3, KeyKind::Dtmf, "123#"),
            key(4, KeyKind::AgentLogin, "8001"),
            key(5, KeyKind::SetStatus, "lunch_break"),
        ]);
        cfg.settings.intercom = IntercomMode::CallInfo;
        let sent = registered(&mut keys, &mut ua, cfg);
        let sub = subscribe_for(&sent, "dialog", "701").clone();
        feed(
            &mut keys,
            &mut ua,
            at_secs(1),
            &notify(&sub, 1, "application/dialog-info+xml", &dialog_info(0, "")),
        );
        assert_eq!(
            keys.press(1, true, "pbx.test"),
            Ok(KeyPress::Transfer {
                target: "701".into()
            })
        );
        assert_eq!(keys.press(1, false, "pbx.test"), Err(ErrorCode::NoSuchCall));
        feed(
            &mut keys,
            &mut ua,
            at_secs(2),
            &notify(
                &sub,
                2,
                "application/dialog-info+xml",
                &dialog_info(1, TALKING),
            ),
        );
        assert_eq!(keys.views()[0].lamp, Lamp::InCall, "occupied");
        assert_eq!(
            keys.press(1, true, "pbx.test"),
            Ok(KeyPress::Dial {
                number: "701".into(),
                headers: vec![]
            }),
            "retrieve"
        );
        assert_eq!(
            keys.press(2, false, "pbx.test"),
            Ok(KeyPress::Dial {
                number: "1003".into(),
                headers: vec![("Call-Info".into(), "<sip:pbx.test>;answer-after=0".into())]
            })
        );
        assert_eq!(keys.press(3, false, "pbx.test"), Err(ErrorCode::NoSuchCall));
        assert_eq!(
            keys.press(3, true, "pbx.test"),
            Ok(KeyPress::Dtmf {
                digits: "123#".into()
            })
        );
        let login = keys.press(4, false, "pbx.test");
        assert_eq!(
            login,
            Ok(KeyPress::Dial {
                number: "*458001".into(),
                headers: vec![]
            })
        );
        keys.pressed(4);
        assert!(keys.views()[3].active);
        assert_eq!(
            keys.press(4, false, "pbx.test"),
            Ok(KeyPress::Dial {
                number: "*468001".into(),
                headers: vec![]
            })
        );
        assert_eq!(
            keys.press(5, false, "pbx.test"),
            Ok(KeyPress::SetStatus(Status::LunchBreak))
        );
        assert_eq!(
            keys.press(99, false, "pbx.test"),
            Err(ErrorCode::BadRequest)
        );
    }

    #[test]
    fn a_refused_subscription_shows_offline_and_is_not_retried() {
        let mut ua = connected_ua(at_secs(0));
        let mut keys = Keys::new();
        let mut cfg = config(vec![key(1, KeyKind::Blf, "1099")]);
        cfg.settings.blf_presence = false;
        let sent = registered(&mut keys, &mut ua, cfg);
        let sub = subscribe_for(&sent, "dialog", "1099").clone();
        feed(
            &mut keys,
            &mut ua,
            at_secs(1),
            &crate::engine::test_support::reply(&sub, 404, &[]),
        );
        assert_eq!(keys.views()[0].lamp, Lamp::Offline);
        assert_eq!(keys.poll_timeout(), None);
    }

    #[test]
    fn removing_a_key_ends_its_subscription() {
        let mut ua = connected_ua(at_secs(0));
        let mut keys = Keys::new();
        let mut cfg = config(vec![
            key(1, KeyKind::Blf, "1002"),
            key(2, KeyKind::Blf, "1003"),
        ]);
        cfg.settings.blf_presence = false;
        registered(&mut keys, &mut ua, cfg.clone());
        assert_eq!(keys.subscribed(), 2);
        cfg.keys.remove(0);
        keys.set_config(at_secs(5), Some(&mut ua), cfg);
        assert_eq!(keys.subscribed(), 1);
        assert_eq!(keys.views().len(), 1);
    }
    #[test]
    fn a_pressed_key_s_headers_reach_the_invite() {
        use crate::protocol::calls::{MediaReply, MediaRequest};
        use crate::protocol::Reply;
        use crate::supervisor::calls::{CallAction, Calls};
        let now = at_secs(0);
        let mut ua = connected_ua(now);
        let mut calls = Calls::new();
        let reply = calls.dial_with_headers(
            true,
            now,
            "sip:1001@pbx.test",
            vec![(
                "Replaces".into(),
                "abc@a;to-tag=atag;from-tag=btag;early-only".into(),
            )],
        );
        let Reply::Call { call } = reply else {
            panic!("{reply:?}")
        };
        let offer = std::iter::from_fn(|| calls.poll_action())
            .find_map(|a| match a {
                CallAction::Media(m @ MediaRequest::MediaOffer { .. }) => Some(m),
                _ => None,
            })
            .unwrap();
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nc=IN IP4 127.0.0.1\r\nm=audio 9 RTP/AVP 0\r\n";
        calls.handle_media_reply(
            Some(&mut ua),
            now,
            &offer,
            Ok(MediaReply::MediaSdp {
                call,
                sdp: sdp.into(),
            }),
        );
        let invite = sent_requests(&mut ua).remove(0);
        assert_eq!(invite.method, Method::Invite);
        assert_eq!(
            header(&invite, "Replaces"),
            Some("abc@a;to-tag=atag;from-tag=btag;early-only")
        );
        assert!(invite.uri.to_string().starts_with("sip:1001@pbx.test"));
    }
    /// Through the supervisor: keys subscribe after registration, a drop
    /// shows every lamp unknown, the reconnect sends the REGISTER alone and
    /// the subscriptions follow it, paced.
    #[test]
    fn the_supervisor_resubscribes_after_re_registration() {
        use crate::account::Account;
        use crate::engine::test_support::reply;
        use crate::supervisor::{Action, Supervisor};

        fn requests(s: &mut Supervisor) -> Vec<Request> {
            std::iter::from_fn(|| s.poll_action())
                .filter_map(|a| match a {
                    Action::Send { text, .. } => match codec::parse(text.as_bytes()) {
                        Ok(rsip::SipMessage::Request(r)) => Some(r),
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        }
        fn register(s: &mut Supervisor, now: Instant, generation: u64) {
            s.handle_open(now, generation);
            let first = requests(s);
            assert_eq!(first.len(), 1, "the REGISTER alone: {first:?}");
            let challenge = (
                "WWW-Authenticate",
                r#"Digest realm="pbx.test", nonce="abc", algorithm=MD5"#,
            );
            s.handle_message(now, generation, &reply(&first[0], 401, &[challenge]))
                .unwrap();
            let second = requests(s);
            s.handle_message(
                now,
                generation,
                &reply(&second[0], 200, &[("Expires", "600")]),
            )
            .unwrap();
        }
        fn subscribes(s: &mut Supervisor, from: Instant) -> usize {
            let mut n = requests(s).len();
            let mut now = from;
            for _ in 0..20 {
                match s.poll_timeout() {
                    Some(at) if at <= from + Duration::from_secs(1) => now = at.max(now),
                    _ => break,
                }
                s.handle_timeout(now);
                n += requests(s)
                    .iter()
                    .filter(|r| r.method == Method::Subscribe)
                    .count();
            }
            n
        }

        let mut s = Supervisor::new(String::new(), 7);
        let mut cfg = config(vec![
            key(1, KeyKind::Blf, "1002"),
            key(2, KeyKind::Blf, "1003"),
            key(3, KeyKind::Park, "701"),
        ]);
        cfg.settings.blf_presence = false;
        s.set_keys(at_secs(0), cfg);
        let account = Account {
            server: "ws://127.0.0.1:8088".into(),
            username: "1001".into(),
            password: "pass1001".into(),
            auth_id: None,
            display_name: None,
        }
        .validate()
        .unwrap();
        s.set_account(at_secs(0), Some(account));
        let _ = requests(&mut s);
        register(&mut s, at_secs(0), 1);
        assert_eq!(subscribes(&mut s, at_secs(0)), 3);

        s.handle_closed(at_secs(10), 1);
        assert!(s.snapshot().keys.iter().all(|k| k.lamp == Lamp::Unknown));
        let retry = s.retry_at().unwrap();
        s.handle_timeout(retry);
        let _ = requests(&mut s);
        register(&mut s, retry, 2);
        assert_eq!(
            subscribes(&mut s, retry),
            3,
            "resubscribed after registering"
        );
    }
    /// Both intercom flavours are what Ringside's own auto-answer (and the
    /// phones it imitates) recognise.
    #[test]
    fn intercom_headers_read_as_auto_answer_requests() {
        use crate::codec::headers::{AlertInfo, CallInfo, ExtHeader};
        let mut keys = Keys::new();
        let mut cfg = config(vec![key(1, KeyKind::Intercom, "1003")]);
        for mode in [IntercomMode::CallInfo, IntercomMode::AlertInfo] {
            cfg.settings.intercom = mode;
            keys.set_config(at_secs(0), None, cfg.clone());
            let Ok(KeyPress::Dial { headers, .. }) = keys.press(1, false, "pbx.test") else {
                panic!("{mode:?}")
            };
            let (name, value) = &headers[0];
            let auto = match name.as_str() {
                "Call-Info" => CallInfo::parse(value).unwrap().answer_after() == Some(0),
                "Alert-Info" => AlertInfo::parse(value).unwrap().auto_answer(),
                other => panic!("{other}"),
            };
            assert!(auto, "{name}: {value}");
        }
    }
}
