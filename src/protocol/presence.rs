//! What each status does with incoming calls, the caller-number rules, the
//! office-hours schedule, auto-answer and the queue agent codes: one
//! configuration, edited in the popup, stored by the worker under
//! [`CALL_HANDLING_KEY`] in chrome.storage.local and applied by
//! `supervisor::inbound`.
//!
//! Requests: `get_call_handling` → `call_handling`; `set_call_handling
//! {config}` → `call_handling` or `call_handling_invalid {errors}`;
//! `schedule_tick {now_ms}` evaluates the schedule at a given wall-clock time
//! (the worker's own alarm sends the real time through the same path; tests
//! send a chosen one) → `snapshot`.
//!
//! Validation collects every problem with the path of its field, so a form
//! can mark each one; every error has a translated message key.

use serde::{Deserialize, Serialize};

use crate::presence::{Status, StatusChange};

/// chrome.storage.local key of the stored [`CallHandlingConfig`].
pub const CALL_HANDLING_KEY: &str = "call_handling";
/// Ring timeout bounds before the no-answer rule applies, seconds.
pub const RING_TIMEOUT_MIN_S: u16 = 5;
pub const RING_TIMEOUT_MAX_S: u16 = 300;
pub const RING_TIMEOUT_DEFAULT_S: u16 = 30;
/// Longest auto-answer delay, seconds.
pub const AUTO_ANSWER_MAX_DELAY_S: u8 = 60;
pub const MAX_RULES: usize = 100;
pub const MAX_HOLIDAYS: usize = 100;
pub const MAX_INTERNAL_PATTERNS: usize = 20;
/// Longest pattern, number or feature code.
pub const MAX_NUMBER_CHARS: usize = 64;

/// Where a forwarded call goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A number or SIP URI, as dialled.
    Number { number: String },
    /// The configured voicemail target (call settings' `voicemail_target`).
    Voicemail,
}

/// What happens first when a call comes in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FirstAction {
    /// Ring here; the busy and no-answer rules may still apply.
    #[default]
    Ring,
    /// Forward always: 302 to the target without ringing.
    Forward { to: Target },
    /// 486 Busy Here without ringing (Do Not Disturb).
    Reject,
}

/// Call handling for one kind of caller (internal or external) in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handling {
    #[serde(default)]
    pub action: FirstAction,
    /// Forward when busy (a call is already up here); `None`: it rings as a
    /// waiting call.
    #[serde(default)]
    pub when_busy: Option<Target>,
    /// Forward when not answered within `ring_timeout_s`; `None`: it rings
    /// until the caller gives up.
    #[serde(default)]
    pub no_answer: Option<Target>,
    #[serde(default = "ring_timeout_default")]
    pub ring_timeout_s: u16,
}

fn ring_timeout_default() -> u16 {
    RING_TIMEOUT_DEFAULT_S
}

impl Default for Handling {
    fn default() -> Self {
        Handling {
            action: FirstAction::Ring,
            when_busy: None,
            no_answer: None,
            ring_timeout_s: RING_TIMEOUT_DEFAULT_S,
        }
    }
}

/// The queue agent action a status triggers when it becomes the status.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AgentAction {
    #[default]
    None,
    Login,
    Logout,
    /// Dial the pause code followed by `reason` (digits, may be empty).
    Pause {
        #[serde(default)]
        reason: String,
    },
    Unpause,
}

/// One status's call handling and agent action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusHandling {
    pub status: Status,
    #[serde(default)]
    pub internal: Handling,
    #[serde(default)]
    pub external: Handling,
    #[serde(default)]
    pub agent: AgentAction,
    /// The status message used when the user switches to this status
    /// without typing one (at most [`crate::presence::MAX_NOTE_CHARS`]).
    #[serde(default)]
    pub message: String,
}

impl StatusHandling {
    /// The defaults: Do Not Disturb rejects with 486, every other status rings.
    pub fn default_for(status: Status) -> StatusHandling {
        let handling = Handling {
            action: if status == Status::DoNotDisturb {
                FirstAction::Reject
            } else {
                FirstAction::Ring
            },
            ..Handling::default()
        };
        StatusHandling {
            status,
            internal: handling.clone(),
            external: handling,
            agent: AgentAction::None,
            message: String::new(),
        }
    }
}

/// What a caller-number rule does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleAction {
    /// Reject at once (486 Busy Here: the caller hears busy, not a decline).
    HangUp,
    Forward {
        number: String,
    },
    Voicemail,
    /// Let the call through to the status's handling (an allow rule above a
    /// block rule).
    Accept,
}

/// `pattern` is an exact number or a PBX pattern: `X` any digit, `Z` 1–9,
/// `N` 2–9, `[1-5]`/`[135]` a set, `.` one or more of anything, `!` zero or
/// more; an optional leading `_` (Asterisk style) is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerRule {
    pub pattern: String,
    pub action: RuleAction,
}

/// `"HH:MM"` local time, `"24:00"` allowed as an end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    pub start: String,
    pub end: String,
}

/// A holiday from `from` to `to` inclusive, `"YYYY-MM-DD"` local dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    #[serde(default)]
    pub name: String,
    pub from: String,
    pub to: String,
}

/// Weekly office hours, a daily break and holidays, each mapped to a status.
/// Priority: holiday > break > office hours > outside office hours. The
/// status switches at each boundary; a status set by hand in between stays
/// until the next boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    #[serde(default)]
    pub enabled: bool,
    /// ISO weekdays with office hours: 1 = Monday … 7 = Sunday.
    #[serde(default = "workdays")]
    pub days: Vec<u8>,
    pub office: TimeRange,
    /// A break inside office hours (on office days only).
    #[serde(default)]
    pub break_time: Option<TimeRange>,
    #[serde(default)]
    pub holidays: Vec<Holiday>,
    #[serde(default = "available")]
    pub office_status: Status,
    #[serde(default = "lunch")]
    pub break_status: Status,
    #[serde(default = "off_work")]
    pub outside_status: Status,
    #[serde(default = "off_work")]
    pub holiday_status: Status,
    /// Minutes east of UTC the times are in; `None`: the browser's zone.
    #[serde(default)]
    pub utc_offset_minutes: Option<i32>,
}

fn workdays() -> Vec<u8> {
    vec![1, 2, 3, 4, 5]
}
fn available() -> Status {
    Status::Available
}
fn lunch() -> Status {
    Status::LunchBreak
}
fn off_work() -> Status {
    Status::OffWork
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            enabled: false,
            days: workdays(),
            office: TimeRange {
                start: "09:00".into(),
                end: "18:00".into(),
            },
            break_time: Some(TimeRange {
                start: "12:00".into(),
                end: "13:00".into(),
            }),
            holidays: Vec::new(),
            office_status: Status::Available,
            break_status: Status::LunchBreak,
            outside_status: Status::OffWork,
            holiday_status: Status::OffWork,
            utc_offset_minutes: None,
        }
    }
}

/// Answering by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoAnswer {
    /// Ordinary calls: off by default.
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub delay_s: u8,
    /// A short beep when a call is answered automatically.
    #[serde(default)]
    pub beep: bool,
    /// Honour an intercom/paging request (`Call-Info: answer-after=N`,
    /// `Alert-Info: …auto-answer`).
    #[serde(default = "yes")]
    pub intercom: bool,
    /// An intercom call may be answered over a call in progress (which is
    /// put on hold); off: it rings as a waiting call.
    #[serde(default)]
    pub barge_in: bool,
}

fn yes() -> bool {
    true
}

impl Default for AutoAnswer {
    fn default() -> Self {
        AutoAnswer {
            enabled: false,
            delay_s: 0,
            beep: false,
            intercom: true,
            barge_in: false,
        }
    }
}

/// Queue feature codes (Asterisk-like PBXs: e.g. `*71` login, `*72` logout).
/// Empty: the action is not available and nothing is dialled.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AgentCodes {
    #[serde(default)]
    pub login: String,
    #[serde(default)]
    pub logout: String,
    #[serde(default)]
    pub pause: String,
    #[serde(default)]
    pub unpause: String,
}

/// Everything `set_call_handling` stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallHandlingConfig {
    /// One entry per status; a missing status has
    /// [`StatusHandling::default_for`].
    #[serde(default)]
    pub statuses: Vec<StatusHandling>,
    /// Caller numbers that count as internal (same patterns as rules).
    /// Empty: a caller is internal when its number is all digits and as
    /// long as the account's own extension (1001 calling from 1002).
    #[serde(default)]
    pub internal_patterns: Vec<String>,
    /// Caller-number rules, first match wins; checked before the status.
    #[serde(default)]
    pub rules: Vec<CallerRule>,
    #[serde(default)]
    pub schedule: Schedule,
    #[serde(default)]
    pub auto_answer: AutoAnswer,
    #[serde(default)]
    pub agent_codes: AgentCodes,
}

impl Default for CallHandlingConfig {
    fn default() -> Self {
        CallHandlingConfig {
            statuses: Status::ALL
                .iter()
                .map(|s| StatusHandling::default_for(*s))
                .collect(),
            internal_patterns: Vec::new(),
            rules: Vec::new(),
            schedule: Schedule::default(),
            auto_answer: AutoAnswer::default(),
            agent_codes: AgentCodes::default(),
        }
    }
}

/// Why a configuration is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum CallHandlingError {
    #[error("the ring timeout must be 5 to 300 seconds")]
    RingTimeout,
    #[error("the forwarding number is empty or not a number")]
    ForwardTarget,
    #[error("a status appears twice")]
    DuplicateStatus,
    #[error("too many rules")]
    TooManyRules,
    #[error("the number pattern is not valid")]
    Pattern,
    #[error("the time is not HH:MM")]
    Time,
    #[error("the end is not after the start")]
    TimeOrder,
    #[error("weekdays are 1 (Monday) to 7 (Sunday), each once")]
    Days,
    #[error("the date is not YYYY-MM-DD")]
    Date,
    #[error("too many holidays")]
    TooManyHolidays,
    #[error("the UTC offset must be within ±14 hours")]
    UtcOffset,
    #[error("the auto-answer delay must be 0 to 60 seconds")]
    AutoAnswerDelay,
    #[error("a feature code may contain digits, * and # only")]
    FeatureCode,
    #[error("this status dials a feature code that is not configured")]
    AgentCodeMissing,
    #[error("the status message is too long")]
    StatusMessage,
}

impl CallHandlingError {
    pub fn message_key(self) -> &'static str {
        match self {
            CallHandlingError::RingTimeout => "errRingTimeout",
            CallHandlingError::ForwardTarget => "errForwardTarget",
            CallHandlingError::DuplicateStatus => "errDuplicateStatus",
            CallHandlingError::TooManyRules => "errTooManyRules",
            CallHandlingError::Pattern => "errNumberPattern",
            CallHandlingError::Time => "errScheduleTime",
            CallHandlingError::TimeOrder => "errScheduleTimeOrder",
            CallHandlingError::Days => "errScheduleDays",
            CallHandlingError::Date => "errHolidayDate",
            CallHandlingError::TooManyHolidays => "errTooManyHolidays",
            CallHandlingError::UtcOffset => "errUtcOffset",
            CallHandlingError::AutoAnswerDelay => "errAutoAnswerDelay",
            CallHandlingError::FeatureCode => "errFeatureCode",
            CallHandlingError::AgentCodeMissing => "errAgentCodeMissing",
            CallHandlingError::StatusMessage => "errNoteTooLong",
        }
    }
}

/// One refused field: `field` is its path in the configuration, e.g.
/// `statuses.2.external.ring_timeout_s`, `rules.0.pattern`,
/// `schedule.holidays.1.from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub error: CallHandlingError,
}

fn valid_target(target: &Target) -> bool {
    match target {
        Target::Voicemail => true,
        Target::Number { number } => {
            let n = number.trim();
            !n.is_empty()
                && n.len() <= 256
                && !n.chars().any(|c| c.is_control() || c.is_whitespace())
        }
    }
}

impl CallHandlingConfig {
    /// Every problem, each with its field path; empty: valid.
    pub fn validate(&self) -> Vec<FieldError> {
        use crate::call_handling::{valid_feature_code, Pattern};
        use crate::schedule::{parse_date, parse_time};
        let mut errors = Vec::new();
        let mut push = |field: String, error| errors.push(FieldError { field, error });
        let mut seen = Vec::new();
        for (i, s) in self.statuses.iter().enumerate() {
            if seen.contains(&s.status) {
                push(
                    format!("statuses.{i}.status"),
                    CallHandlingError::DuplicateStatus,
                );
            }
            seen.push(s.status);
            if s.message.trim().chars().count() > crate::presence::MAX_NOTE_CHARS {
                push(
                    format!("statuses.{i}.message"),
                    CallHandlingError::StatusMessage,
                );
            }
            for (kind, h) in [("internal", &s.internal), ("external", &s.external)] {
                if !(RING_TIMEOUT_MIN_S..=RING_TIMEOUT_MAX_S).contains(&h.ring_timeout_s) {
                    push(
                        format!("statuses.{i}.{kind}.ring_timeout_s"),
                        CallHandlingError::RingTimeout,
                    );
                }
                let targets = [
                    (
                        "action",
                        matches!(&h.action, FirstAction::Forward { to } if !valid_target(to)),
                    ),
                    (
                        "when_busy",
                        h.when_busy.as_ref().is_some_and(|t| !valid_target(t)),
                    ),
                    (
                        "no_answer",
                        h.no_answer.as_ref().is_some_and(|t| !valid_target(t)),
                    ),
                ];
                for (field, bad) in targets {
                    if bad {
                        push(
                            format!("statuses.{i}.{kind}.{field}"),
                            CallHandlingError::ForwardTarget,
                        );
                    }
                }
            }
            let codes = &self.agent_codes;
            let missing = match &s.agent {
                AgentAction::None => false,
                AgentAction::Login => codes.login.trim().is_empty(),
                AgentAction::Logout => codes.logout.trim().is_empty(),
                AgentAction::Pause { reason } => {
                    if !valid_feature_code(reason.trim()) {
                        push(
                            format!("statuses.{i}.agent.reason"),
                            CallHandlingError::FeatureCode,
                        );
                    }
                    codes.pause.trim().is_empty()
                }
                AgentAction::Unpause => codes.unpause.trim().is_empty(),
            };
            if missing {
                push(
                    format!("statuses.{i}.agent"),
                    CallHandlingError::AgentCodeMissing,
                );
            }
        }
        if self.internal_patterns.len() > MAX_INTERNAL_PATTERNS {
            push("internal_patterns".into(), CallHandlingError::TooManyRules);
        }
        for (i, p) in self.internal_patterns.iter().enumerate() {
            if Pattern::parse(p).is_err() {
                push(format!("internal_patterns.{i}"), CallHandlingError::Pattern);
            }
        }
        if self.rules.len() > MAX_RULES {
            push("rules".into(), CallHandlingError::TooManyRules);
        }
        for (i, r) in self.rules.iter().enumerate() {
            if Pattern::parse(&r.pattern).is_err() {
                push(format!("rules.{i}.pattern"), CallHandlingError::Pattern);
            }
            if let RuleAction::Forward { number } = &r.action {
                if !valid_target(&Target::Number {
                    number: number.clone(),
                }) {
                    push(
                        format!("rules.{i}.action"),
                        CallHandlingError::ForwardTarget,
                    );
                }
            }
        }
        let s = &self.schedule;
        let mut days = s.days.clone();
        days.sort_unstable();
        days.dedup();
        if days.len() != s.days.len() || s.days.iter().any(|d| !(1..=7).contains(d)) {
            push("schedule.days".into(), CallHandlingError::Days);
        }
        for (name, range) in std::iter::once(("office", &s.office))
            .chain(s.break_time.as_ref().map(|b| ("break_time", b)))
        {
            match (parse_time(&range.start), parse_time(&range.end)) {
                (Some(start), Some(end)) if start >= end => {
                    push(format!("schedule.{name}.end"), CallHandlingError::TimeOrder)
                }
                (start, end) => {
                    if start.is_none() {
                        push(format!("schedule.{name}.start"), CallHandlingError::Time);
                    }
                    if end.is_none() {
                        push(format!("schedule.{name}.end"), CallHandlingError::Time);
                    }
                }
            }
        }
        if s.holidays.len() > MAX_HOLIDAYS {
            push(
                "schedule.holidays".into(),
                CallHandlingError::TooManyHolidays,
            );
        }
        for (i, h) in s.holidays.iter().enumerate() {
            match (parse_date(&h.from), parse_date(&h.to)) {
                (Some(from), Some(to)) if from > to => push(
                    format!("schedule.holidays.{i}.to"),
                    CallHandlingError::TimeOrder,
                ),
                (from, to) => {
                    if from.is_none() {
                        push(
                            format!("schedule.holidays.{i}.from"),
                            CallHandlingError::Date,
                        );
                    }
                    if to.is_none() {
                        push(format!("schedule.holidays.{i}.to"), CallHandlingError::Date);
                    }
                }
            }
        }
        if s.utc_offset_minutes
            .is_some_and(|o| !(-14 * 60..=14 * 60).contains(&o))
        {
            push(
                "schedule.utc_offset_minutes".into(),
                CallHandlingError::UtcOffset,
            );
        }
        if self.auto_answer.delay_s > AUTO_ANSWER_MAX_DELAY_S {
            push(
                "auto_answer.delay_s".into(),
                CallHandlingError::AutoAnswerDelay,
            );
        }
        let c = &self.agent_codes;
        for (name, code) in [
            ("login", &c.login),
            ("logout", &c.logout),
            ("pause", &c.pause),
            ("unpause", &c.unpause),
        ] {
            if !valid_feature_code(code.trim()) {
                push(
                    format!("agent_codes.{name}"),
                    CallHandlingError::FeatureCode,
                );
            }
        }
        errors
    }

    /// Parse what was stored; anything unusable is the default, so a damaged
    /// storage entry never stops the worker or blocks calls.
    /// `change` with the status's default message when the user typed none.
    pub fn with_default_note(&self, change: &StatusChange) -> StatusChange {
        let mut change = change.clone();
        if change.note.trim().is_empty() {
            let handling = crate::call_handling::status_handling(self, change.status);
            change.note = handling.message.trim().to_owned();
        }
        change
    }

    pub fn from_stored(json: &str) -> CallHandlingConfig {
        serde_json::from_str::<CallHandlingConfig>(json)
            .ok()
            .filter(|c| c.validate().is_empty())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_valid_and_dnd_rejects() {
        let config = CallHandlingConfig::default();
        assert_eq!(config.validate(), vec![]);
        let dnd = config
            .statuses
            .iter()
            .find(|s| s.status == Status::DoNotDisturb)
            .unwrap();
        assert_eq!(dnd.external.action, FirstAction::Reject);
        assert!(!config.auto_answer.enabled);
    }

    #[test]
    fn wire_form_is_tagged_and_short() {
        let json = r#"{
            "statuses": [{"status": "away",
                "internal": {"action": {"kind": "forward", "to": {"kind": "number", "number": "1003"}}},
                "external": {"action": {"kind": "ring"}, "no_answer": {"kind": "voicemail"}, "ring_timeout_s": 15},
                "agent": {"kind": "pause", "reason": "2"}}],
            "rules": [{"pattern": "0900.", "action": {"kind": "hang_up"}}],
            "agent_codes": {"pause": "*73"}
        }"#;
        let config: CallHandlingConfig = serde_json::from_str(json).unwrap();
        assert_eq!(config.validate(), vec![]);
        let away = &config.statuses[0];
        assert_eq!(away.internal.ring_timeout_s, RING_TIMEOUT_DEFAULT_S);
        assert_eq!(away.external.no_answer, Some(Target::Voicemail));
        assert_eq!(config.rules[0].action, RuleAction::HangUp);
        assert!(!config.schedule.enabled);
        let again: CallHandlingConfig =
            serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn a_status_message_is_length_checked_and_fills_an_empty_note() {
        let mut config = CallHandlingConfig::default();
        let away = config
            .statuses
            .iter_mut()
            .find(|s| s.status == Status::Away)
            .unwrap();
        away.message = " back at 2 ".into();
        assert_eq!(config.validate(), vec![]);
        let change = |note: &str| StatusChange {
            status: Status::Away,
            note: note.into(),
            until: None,
        };
        assert_eq!(config.with_default_note(&change("")).note, "back at 2");
        assert_eq!(config.with_default_note(&change("  ")).note, "back at 2");
        // A typed note wins; a status without a message keeps none.
        assert_eq!(config.with_default_note(&change("lunch")).note, "lunch");
        let available = StatusChange {
            status: Status::Available,
            ..change("")
        };
        assert_eq!(config.with_default_note(&available).note, "");
        let i = config
            .statuses
            .iter()
            .position(|s| s.status == Status::Away)
            .unwrap();
        config.statuses[i].message = "x".repeat(crate::presence::MAX_NOTE_CHARS + 1);
        assert_eq!(
            config.validate(),
            vec![FieldError {
                field: format!("statuses.{i}.message"),
                error: CallHandlingError::StatusMessage,
            }]
        );
        // Stored without a message (older worker): none.
        let old: StatusHandling = serde_json::from_str(r#"{"status":"away"}"#).unwrap();
        assert_eq!(old.message, "");
    }

    #[test]
    fn every_bad_field_is_reported_with_its_path() {
        let mut config = CallHandlingConfig::default();
        config.statuses[1].external.ring_timeout_s = 4;
        config.statuses[1].internal.no_answer = Some(Target::Number { number: " ".into() });
        config.statuses[2].agent = AgentAction::Login;
        config
            .statuses
            .push(StatusHandling::default_for(Status::Available));
        config.rules.push(CallerRule {
            pattern: "[9-1]".into(),
            action: RuleAction::HangUp,
        });
        config.schedule.office.end = "08:00".into();
        config.schedule.days = vec![1, 1, 8];
        config.schedule.holidays.push(Holiday {
            name: String::new(),
            from: "2026-02-30".into(),
            to: "2026-03-01".into(),
        });
        config.auto_answer.delay_s = 61;
        config.agent_codes.pause = "*7 3".into();
        let errors: Vec<(String, CallHandlingError)> = config
            .validate()
            .into_iter()
            .map(|e| (e.field, e.error))
            .collect();
        use CallHandlingError::*;
        assert_eq!(
            errors,
            vec![
                ("statuses.1.internal.no_answer".into(), ForwardTarget),
                ("statuses.1.external.ring_timeout_s".into(), RingTimeout),
                ("statuses.2.agent".into(), AgentCodeMissing),
                ("statuses.6.status".into(), DuplicateStatus),
                ("rules.0.pattern".into(), Pattern),
                ("schedule.days".into(), Days),
                ("schedule.office.end".into(), TimeOrder),
                ("schedule.holidays.0.from".into(), Date),
                ("auto_answer.delay_s".into(), AutoAnswerDelay),
                ("agent_codes.pause".into(), FeatureCode),
            ]
        );
        for (_, e) in errors {
            assert!(e.message_key().starts_with("err"));
        }
        assert_eq!(
            CallHandlingConfig::from_stored(&serde_json::to_string(&config).unwrap()),
            CallHandlingConfig::default()
        );
        assert_eq!(
            CallHandlingConfig::from_stored("{"),
            CallHandlingConfig::default()
        );
    }
}
