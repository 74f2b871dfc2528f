//! View-model of the options page's call-handling settings (per-status handling,
//! office hours, caller-number rules, auto-answer): the form's choices and
//! how they map onto [`CallHandlingConfig`], and which refused field belongs
//! to which input.
//!
//! Plain Rust so it is tested natively; `options/src/status_settings.rs` and
//! `options/src/rules.rs` render it. The configuration is the worker's: the
//! page edits a copy and sends it back whole.

use crate::presence::Status;
use crate::protocol::presence::{
    AgentAction, CallHandlingConfig, FieldError, FirstAction, RuleAction, StatusHandling, Target,
};

/// Every status once, in [`Status::ALL`] order, so a status's position in
/// `statuses` (and so in the worker's error paths) is stable while editing.
pub fn normalize(config: &CallHandlingConfig) -> CallHandlingConfig {
    let mut next = config.clone();
    next.statuses = Status::ALL
        .iter()
        .map(|status| {
            config
                .statuses
                .iter()
                .find(|h| h.status == *status)
                .cloned()
                .unwrap_or_else(|| StatusHandling::default_for(*status))
        })
        .collect();
    next
}

/// Position of `status` in a normalized configuration.
pub fn status_index(status: Status) -> usize {
    Status::ALL.iter().position(|s| *s == status).unwrap_or(0)
}

/// A destination `<select>`: `none` (keep ringing / ring as a waiting call),
/// `number` or `voicemail`.
pub fn target_choice(target: Option<&Target>) -> &'static str {
    match target {
        None => "none",
        Some(Target::Number { .. }) => "number",
        Some(Target::Voicemail) => "voicemail",
    }
}

pub fn target_number(target: Option<&Target>) -> &str {
    match target {
        Some(Target::Number { number }) => number,
        _ => "",
    }
}

/// The destination a choice and the number field make; switching to
/// `number` keeps what was typed before.
pub fn target_from(choice: &str, number: &str) -> Option<Target> {
    match choice {
        "number" => Some(Target::Number {
            number: number.trim().to_owned(),
        }),
        "voicemail" => Some(Target::Voicemail),
        _ => None,
    }
}

/// The first-action `<select>`: `ring`, `forward` or `reject`.
pub fn first_action_choice(action: &FirstAction) -> &'static str {
    match action {
        FirstAction::Ring => "ring",
        FirstAction::Forward { .. } => "forward",
        FirstAction::Reject => "reject",
    }
}

/// Forward always needs a destination: the one already chosen for another
/// rule of the same handling is a better guess than nothing.
pub fn first_action_from(choice: &str, current: &FirstAction) -> FirstAction {
    match (choice, current) {
        ("forward", FirstAction::Forward { to }) => FirstAction::Forward { to: to.clone() },
        ("forward", _) => FirstAction::Forward {
            to: Target::Voicemail,
        },
        ("reject", _) => FirstAction::Reject,
        _ => FirstAction::Ring,
    }
}

pub const AGENT_CHOICES: [&str; 5] = ["none", "login", "logout", "pause", "unpause"];

pub fn agent_choice(action: &AgentAction) -> &'static str {
    match action {
        AgentAction::None => "none",
        AgentAction::Login => "login",
        AgentAction::Logout => "logout",
        AgentAction::Pause { .. } => "pause",
        AgentAction::Unpause => "unpause",
    }
}

pub fn agent_from(choice: &str, reason: &str) -> AgentAction {
    match choice {
        "login" => AgentAction::Login,
        "logout" => AgentAction::Logout,
        "pause" => AgentAction::Pause {
            reason: reason.trim().to_owned(),
        },
        "unpause" => AgentAction::Unpause,
        _ => AgentAction::None,
    }
}

pub fn agent_key(choice: &str) -> &'static str {
    match choice {
        "login" => "agentLogin",
        "logout" => "agentLogout",
        "pause" => "agentPause",
        "unpause" => "agentUnpause",
        _ => "agentNone",
    }
}

pub const RULE_CHOICES: [&str; 4] = ["hang_up", "forward", "voicemail", "accept"];

pub fn rule_choice(action: &RuleAction) -> &'static str {
    match action {
        RuleAction::HangUp => "hang_up",
        RuleAction::Forward { .. } => "forward",
        RuleAction::Voicemail => "voicemail",
        RuleAction::Accept => "accept",
    }
}

pub fn rule_from(choice: &str, number: &str) -> RuleAction {
    match choice {
        "forward" => RuleAction::Forward {
            number: number.trim().to_owned(),
        },
        "voicemail" => RuleAction::Voicemail,
        "accept" => RuleAction::Accept,
        _ => RuleAction::HangUp,
    }
}

pub fn rule_key(choice: &str) -> &'static str {
    match choice {
        "forward" => "ruleForward",
        "voicemail" => "ruleVoicemail",
        "accept" => "ruleAccept",
        _ => "ruleHangUp",
    }
}

/// Whether the refused field `field` is the input at `path` or inside it
/// (`statuses.0.internal.action` holds `statuses.0.internal.action.to`).
pub fn within(field: &str, path: &str) -> bool {
    field == path
        || field
            .strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// The translated message for the input at `path` (e.g.
/// `statuses.2.external.ring_timeout_s`), if the worker refused it.
pub fn error_at(errors: &[FieldError], path: &str) -> Option<&'static str> {
    errors
        .iter()
        .find(|e| within(&e.field, path))
        .map(|e| e.error.message_key())
}

/// Refused fields no shown input holds (another status's, or a path this
/// form does not know): they are listed at the top of the form so nothing
/// is refused silently.
pub fn unplaced_errors<'a>(errors: &'a [FieldError], shown: &[String]) -> Vec<&'a FieldError> {
    errors
        .iter()
        .filter(|e| !shown.iter().any(|p| within(&e.field, p)))
        .collect()
}

/// The status a refused `statuses.N…` field belongs to, to name it.
pub fn error_status(field: &str) -> Option<Status> {
    let index: usize = field
        .strip_prefix("statuses.")?
        .split('.')
        .next()?
        .parse()
        .ok()?;
    Status::ALL.get(index).copied()
}

/// ISO weekdays, Monday first, with their message keys.
pub const WEEKDAYS: [(u8, &str); 7] = [
    (1, "dayMon"),
    (2, "dayTue"),
    (3, "dayWed"),
    (4, "dayThu"),
    (5, "dayFri"),
    (6, "daySat"),
    (7, "daySun"),
];

/// `days` with `day` switched on or off, sorted, each once.
pub fn toggle_day(days: &[u8], day: u8, on: bool) -> Vec<u8> {
    let mut next: Vec<u8> = days.iter().copied().filter(|d| *d != day).collect();
    if on {
        next.push(day);
    }
    next.sort_unstable();
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::presence::{CallHandlingError, Handling};

    #[test]
    fn normalize_puts_every_status_in_order() {
        let config = CallHandlingConfig {
            statuses: vec![StatusHandling {
                status: Status::Away,
                internal: Handling {
                    action: FirstAction::Reject,
                    ..Handling::default()
                },
                external: Handling::default(),
                agent: AgentAction::Logout,
                message: String::new(),
            }],
            ..CallHandlingConfig::default()
        };
        let n = normalize(&config);
        let order: Vec<Status> = n.statuses.iter().map(|h| h.status).collect();
        assert_eq!(order, Status::ALL);
        let away = &n.statuses[status_index(Status::Away)];
        assert_eq!(away.internal.action, FirstAction::Reject);
        assert_eq!(away.agent, AgentAction::Logout);
        let dnd = &n.statuses[status_index(Status::DoNotDisturb)];
        assert_eq!(
            dnd.external.action,
            FirstAction::Reject,
            "DND defaults to 486"
        );
    }

    #[test]
    fn choices_round_trip() {
        for choice in ["none", "number", "voicemail"] {
            let target = target_from(choice, " 1002 ");
            assert_eq!(target_choice(target.as_ref()), choice);
        }
        assert_eq!(
            target_number(target_from("number", " 1002 ").as_ref()),
            "1002"
        );
        for choice in AGENT_CHOICES {
            assert_eq!(agent_choice(&agent_from(choice, "3")), choice);
        }
        assert_eq!(
            agent_from("pause", " 3 "),
            AgentAction::Pause { reason: "3".into() }
        );
        for choice in RULE_CHOICES {
            assert_eq!(rule_choice(&rule_from(choice, "1")), choice);
        }
        for choice in ["ring", "forward", "reject"] {
            assert_eq!(
                first_action_choice(&first_action_from(choice, &FirstAction::Ring)),
                choice
            );
        }
        let to = Target::Number {
            number: "2000".into(),
        };
        assert_eq!(
            first_action_from("forward", &FirstAction::Forward { to: to.clone() }),
            FirstAction::Forward { to },
            "switching keeps the destination"
        );
    }

    #[test]
    fn errors_find_their_input() {
        let errors = vec![
            FieldError {
                field: "statuses.1.external.ring_timeout_s".into(),
                error: CallHandlingError::RingTimeout,
            },
            FieldError {
                field: "internal_patterns.0".into(),
                error: CallHandlingError::Pattern,
            },
        ];
        assert_eq!(
            error_at(&errors, "statuses.1.external.ring_timeout_s"),
            Some("errRingTimeout")
        );
        assert_eq!(
            error_at(&errors, "statuses.1.internal.ring_timeout_s"),
            None
        );
        assert_eq!(error_at(&errors, "statuses.1"), Some("errRingTimeout"));
        assert_eq!(
            error_at(&errors, "statuses.1.ext"),
            None,
            "whole segments only"
        );
        let shown = vec!["statuses.1.external".to_owned()];
        let left = unplaced_errors(&errors, &shown);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].field, "internal_patterns.0");
        assert_eq!(
            error_status("statuses.3.internal.action"),
            Some(Status::DoNotDisturb)
        );
        assert_eq!(error_status("statuses.9.internal"), None);
        assert_eq!(error_status("rules.0.pattern"), None);
    }

    #[test]
    fn weekdays_toggle() {
        assert_eq!(toggle_day(&[1, 2, 3, 4, 5], 6, true), [1, 2, 3, 4, 5, 6]);
        assert_eq!(toggle_day(&[1, 2, 3], 2, false), [1, 3]);
        assert_eq!(toggle_day(&[3, 1], 1, true), [1, 3]);
    }

    #[test]
    fn every_choice_and_error_is_translated() {
        let path = format!(
            "{}/extension/_locales/en/messages.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let en: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut keys: Vec<&str> = AGENT_CHOICES.iter().map(|c| agent_key(c)).collect();
        keys.extend(RULE_CHOICES.iter().map(|c| rule_key(c)));
        keys.extend(WEEKDAYS.iter().map(|(_, k)| *k));
        keys.extend(
            [
                CallHandlingError::RingTimeout,
                CallHandlingError::ForwardTarget,
                CallHandlingError::DuplicateStatus,
                CallHandlingError::TooManyRules,
                CallHandlingError::Pattern,
                CallHandlingError::Time,
                CallHandlingError::TimeOrder,
                CallHandlingError::Days,
                CallHandlingError::Date,
                CallHandlingError::TooManyHolidays,
                CallHandlingError::UtcOffset,
                CallHandlingError::AutoAnswerDelay,
                CallHandlingError::FeatureCode,
                CallHandlingError::AgentCodeMissing,
            ]
            .map(CallHandlingError::message_key),
        );
        let missing: Vec<&&str> = keys.iter().filter(|k| !en.contains_key(**k)).collect();
        assert!(missing.is_empty(), "{missing:?}");
    }
}
