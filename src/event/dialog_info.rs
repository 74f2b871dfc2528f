//! `application/dialog-info+xml` (RFC 4235) reduced to what a busy-lamp field shows.
//!
//! The notifier sends a `full` document first, then `partial` ones that only list
//! changed dialogs, each with `version` one higher (RFC 4235 §4.1.2). A
//! [`DialogInfoTracker`] applies them in order, ignores stale copies and asks for a
//! resubscription ([`TrackerUpdate::Resync`]) when it sees a gap, because a missed
//! partial document leaves the dialog set unknowable.

use std::collections::BTreeMap;

use super::{body_text, parse_xml, BodyError};

const NS: &str = "urn:ietf:params:xml:ns:dialog-info";

/// `state` attribute of `<dialog-info>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocState {
    Full,
    Partial,
}

/// `<state>` of one dialog (RFC 4235 §3.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    Trying,
    Proceeding,
    Early,
    Confirmed,
    Terminated,
}

/// `direction`: whether the watched user placed (initiator) or received (recipient) the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogDirection {
    Initiator,
    Recipient,
}

/// `<identity display="Bob">sip:1002@pbx.test</identity>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uri: String,
    pub display: Option<String>,
}

/// One `<dialog>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: String,
    pub call_id: Option<String>,
    /// Tags as seen from the watched user's side: what a pickup INVITE's
    /// `Replaces` needs (RFC 3891 with `early-only`).
    pub local_tag: Option<String>,
    pub remote_tag: Option<String>,
    pub direction: Option<DialogDirection>,
    pub state: DialogState,
    pub local_identity: Option<Identity>,
    pub remote_identity: Option<Identity>,
    /// The watched user's side has `+sip.rendering="no"` on its target (RFC 4235
    /// §4.1.1, RFC 3840): they put the call on hold.
    pub held: bool,
}

/// A whole `<dialog-info>` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogInfo {
    pub version: u32,
    pub state: DocState,
    pub entity: String,
    pub dialogs: Vec<Dialog>,
}

/// What a BLF key shows for one watched extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlfState {
    Idle,
    /// An early dialog. With `direction == Some(Recipient)` the extension is being
    /// called and the call can be picked up with the ids below.
    Ringing {
        direction: Option<DialogDirection>,
        remote: Option<Identity>,
        call_id: Option<String>,
        local_tag: Option<String>,
        remote_tag: Option<String>,
    },
    InCall,
    OnHold,
}

impl DialogInfo {
    /// Parses a dialog-info body (size-capped, DTDs refused).
    pub fn parse(body: &[u8]) -> Result<Self, BodyError> {
        let doc = parse_xml(body_text(body)?)?;
        let root = doc.root_element();
        if root.tag_name().name() != "dialog-info" || root.tag_name().namespace() != Some(NS) {
            return Err(BodyError::Unexpected("root is not dialog-info".into()));
        }
        let version = root
            .attribute("version")
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| BodyError::Unexpected("missing or bad version".into()))?;
        let state = match root.attribute("state") {
            Some("full") => DocState::Full,
            Some("partial") => DocState::Partial,
            _ => return Err(BodyError::Unexpected("state is not full/partial".into())),
        };
        let dialogs = children(root, "dialog")
            .map(parse_dialog)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            version,
            state,
            entity: root.attribute("entity").unwrap_or_default().to_string(),
            dialogs,
        })
    }

    /// The BLF state these dialogs add up to (see [`blf_state`]).
    pub fn blf(&self) -> BlfState {
        blf_state(self.dialogs.iter())
    }
}

fn children<'a, 'input: 'a>(
    node: roxmltree::Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'input>> {
    node.children()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

fn child<'a, 'input: 'a>(
    node: roxmltree::Node<'a, 'input>,
    name: &'static str,
) -> Option<roxmltree::Node<'a, 'input>> {
    children(node, name).next()
}

fn parse_dialog(node: roxmltree::Node<'_, '_>) -> Result<Dialog, BodyError> {
    let id = node
        .attribute("id")
        .ok_or_else(|| BodyError::Unexpected("dialog without id".into()))?;
    let state_text = child(node, "state")
        .and_then(|s| s.text())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let state = match state_text.as_str() {
        "trying" => DialogState::Trying,
        "proceeding" => DialogState::Proceeding,
        "early" => DialogState::Early,
        "confirmed" => DialogState::Confirmed,
        "terminated" => DialogState::Terminated,
        other => return Err(BodyError::Unexpected(format!("dialog state {other:?}"))),
    };
    let identity = |side: &'static str| {
        let id = child(child(node, side)?, "identity")?;
        Some(Identity {
            uri: id.text().unwrap_or_default().trim().to_string(),
            display: id.attribute("display").map(str::to_string),
        })
    };
    let held = child(node, "local")
        .and_then(|l| child(l, "target"))
        .is_some_and(|t| {
            children(t, "param").any(|p| {
                p.attribute("pname")
                    .is_some_and(|n| n.eq_ignore_ascii_case("+sip.rendering"))
                    && p.attribute("pvalue")
                        .is_some_and(|v| v.trim_matches('"').eq_ignore_ascii_case("no"))
            })
        });
    Ok(Dialog {
        id: id.to_string(),
        call_id: node.attribute("call-id").map(str::to_string),
        local_tag: node.attribute("local-tag").map(str::to_string),
        remote_tag: node.attribute("remote-tag").map(str::to_string),
        direction: match node.attribute("direction") {
            Some("initiator") => Some(DialogDirection::Initiator),
            Some("recipient") => Some(DialogDirection::Recipient),
            _ => None,
        },
        state,
        local_identity: identity("local"),
        remote_identity: identity("remote"),
        held,
    })
}

/// Reduces dialogs to one key state. Priority follows what a receptionist acts
/// on: an incoming ringing call (pickup) first, then an active call, then a held
/// one, then an outgoing call still ringing; terminated dialogs count for nothing.
pub fn blf_state<'a>(dialogs: impl Iterator<Item = &'a Dialog> + Clone) -> BlfState {
    let live = dialogs.filter(|d| d.state != DialogState::Terminated);
    let is_early = |d: &&Dialog| {
        matches!(
            d.state,
            DialogState::Trying | DialogState::Proceeding | DialogState::Early
        )
    };
    let ringing = |d: &Dialog| BlfState::Ringing {
        direction: d.direction,
        remote: d.remote_identity.clone(),
        call_id: d.call_id.clone(),
        local_tag: d.local_tag.clone(),
        remote_tag: d.remote_tag.clone(),
    };
    if let Some(d) = live
        .clone()
        .filter(is_early)
        .find(|d| d.direction == Some(DialogDirection::Recipient))
    {
        return ringing(d);
    }
    let confirmed = || live.clone().filter(|d| d.state == DialogState::Confirmed);
    if confirmed().any(|d| !d.held) {
        return BlfState::InCall;
    }
    if confirmed().next().is_some() {
        return BlfState::OnHold;
    }
    live.clone().find(is_early).map_or(BlfState::Idle, ringing)
}

/// Outcome of feeding one NOTIFY body to a [`DialogInfoTracker`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackerUpdate {
    /// Applied; the entity's state is now this.
    Applied(BlfState),
    /// Old or duplicate version: nothing changed (RFC 4235 §4.1.2).
    Stale,
    /// A version was skipped: the state is unknown until a full document arrives.
    /// The subscriber should refresh the subscription (a new SUBSCRIBE makes the
    /// notifier send full state).
    Resync,
}

/// The dialog set of one watched entity, kept across full and partial NOTIFYs.
#[derive(Debug, Clone, Default)]
pub struct DialogInfoTracker {
    version: Option<u32>,
    dialogs: BTreeMap<String, Dialog>,
}

impl DialogInfoTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets everything: call when a new subscription starts (its versions
    /// start over).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Last applied version.
    pub fn version(&self) -> Option<u32> {
        self.version
    }

    pub fn state(&self) -> BlfState {
        blf_state(self.dialogs.values())
    }

    pub fn dialogs(&self) -> impl Iterator<Item = &Dialog> {
        self.dialogs.values()
    }

    pub fn apply(&mut self, doc: &DialogInfo) -> TrackerUpdate {
        match (doc.state, self.version) {
            (_, Some(last)) if doc.version <= last => return TrackerUpdate::Stale,
            (DocState::Full, _) => {
                self.dialogs.clear();
            }
            (DocState::Partial, Some(last)) if doc.version == last.wrapping_add(1) => {}
            (DocState::Partial, _) => {
                // Before any full state, or after a gap: what we hold is unreliable.
                self.reset();
                return TrackerUpdate::Resync;
            }
        }
        self.version = Some(doc.version);
        for d in &doc.dialogs {
            if d.state == DialogState::Terminated {
                self.dialogs.remove(&d.id);
            } else {
                self.dialogs.insert(d.id.clone(), d.clone());
            }
        }
        TrackerUpdate::Applied(self.state())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(version: u32, state: &str, dialogs: &str) -> Vec<u8> {
        format!(
            r#"<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="{version}" state="{state}" entity="sip:1002@pbx.test">{dialogs}</dialog-info>"#
        )
        .into_bytes()
    }

    const RINGING_IN: &str = r#"
  <dialog id="d1" call-id="c1@x" local-tag="lt" remote-tag="rt" direction="recipient">
    <state>early</state>
    <local><identity>sip:1002@pbx.test</identity></local>
    <remote><identity display="Alice">sip:1001@pbx.test</identity></remote>
  </dialog>"#;

    const CONFIRMED: &str =
        r#"<dialog id="d1" call-id="c1@x" direction="recipient"><state>confirmed</state></dialog>"#;
    const HELD: &str = r#"<dialog id="d1" call-id="c1@x" direction="recipient"><state>confirmed</state>
        <local><target uri="sip:1002@h"><param pname="+sip.rendering" pvalue="no"/></target></local></dialog>"#;
    const TERMINATED: &str = r#"<dialog id="d1"><state event="hangup">terminated</state></dialog>"#;

    #[test]
    fn rfc4235_ringing_dialog_reduces_to_pickable_ringing() {
        let info = DialogInfo::parse(&doc(1, "full", RINGING_IN)).unwrap();
        assert_eq!(info.version, 1);
        assert_eq!(info.entity, "sip:1002@pbx.test");
        assert_eq!(
            info.blf(),
            BlfState::Ringing {
                direction: Some(DialogDirection::Recipient),
                remote: Some(Identity {
                    uri: "sip:1001@pbx.test".into(),
                    display: Some("Alice".into())
                }),
                call_id: Some("c1@x".into()),
                local_tag: Some("lt".into()),
                remote_tag: Some("rt".into()),
            }
        );
    }

    #[test]
    fn empty_full_state_is_idle() {
        let info = DialogInfo::parse(&doc(0, "full", "")).unwrap();
        assert_eq!(info.blf(), BlfState::Idle);
    }

    #[test]
    fn tracker_follows_ringing_answered_held_hangup() {
        let mut t = DialogInfoTracker::new();
        let step = |t: &mut DialogInfoTracker, v, s, d| {
            t.apply(&DialogInfo::parse(&doc(v, s, d)).unwrap())
        };
        assert!(matches!(
            step(&mut t, 0, "full", RINGING_IN),
            TrackerUpdate::Applied(BlfState::Ringing { .. })
        ));
        assert_eq!(
            step(&mut t, 1, "partial", CONFIRMED),
            TrackerUpdate::Applied(BlfState::InCall)
        );
        assert_eq!(step(&mut t, 1, "partial", TERMINATED), TrackerUpdate::Stale);
        assert_eq!(
            step(&mut t, 2, "partial", HELD),
            TrackerUpdate::Applied(BlfState::OnHold)
        );
        assert_eq!(
            step(&mut t, 3, "partial", TERMINATED),
            TrackerUpdate::Applied(BlfState::Idle)
        );
        assert_eq!(t.version(), Some(3));
    }

    #[test]
    fn version_gap_asks_for_resync_and_full_state_recovers() {
        let mut t = DialogInfoTracker::new();
        t.apply(&DialogInfo::parse(&doc(4, "full", CONFIRMED)).unwrap());
        let gap = DialogInfo::parse(&doc(6, "partial", TERMINATED)).unwrap();
        assert_eq!(t.apply(&gap), TrackerUpdate::Resync);
        assert_eq!(t.version(), None);
        let full = DialogInfo::parse(&doc(7, "full", "")).unwrap();
        assert_eq!(t.apply(&full), TrackerUpdate::Applied(BlfState::Idle));
        // A partial before any full state cannot be trusted either.
        let mut fresh = DialogInfoTracker::new();
        assert_eq!(
            fresh.apply(&DialogInfo::parse(&doc(1, "partial", CONFIRMED)).unwrap()),
            TrackerUpdate::Resync
        );
    }

    #[test]
    fn several_dialogs_per_entity_ringing_wins_over_in_call() {
        let two = format!("{CONFIRMED}{}", RINGING_IN.replace("\"d1\"", "\"d2\""));
        let info = DialogInfo::parse(&doc(1, "full", &two)).unwrap();
        assert_eq!(info.dialogs.len(), 2);
        assert!(matches!(info.blf(), BlfState::Ringing { .. }));
        let outgoing = r#"<dialog id="o" direction="initiator"><state>proceeding</state></dialog>"#;
        let info = DialogInfo::parse(&doc(1, "full", &format!("{HELD}{outgoing}"))).unwrap();
        assert_eq!(info.blf(), BlfState::OnHold);
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert!(DialogInfo::parse(b"<dialog-info/>").is_err());
        assert!(DialogInfo::parse(&doc(1, "sometimes", "")).is_err());
        assert!(
            DialogInfo::parse(&doc(1, "full", "<dialog><state>early</state></dialog>")).is_err()
        );
        assert!(DialogInfo::parse(&doc(
            1,
            "full",
            r#"<dialog id="x"><state>odd</state></dialog>"#
        ))
        .is_err());
        assert!(DialogInfo::parse(b"\xff\xfe").is_err());
        assert!(DialogInfo::parse(b"<presence xmlns='urn:ietf:params:xml:ns:pidf'/>").is_err());
    }
}
