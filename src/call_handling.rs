//! What happens to an incoming call: the caller-number rules, then the
//! current status's handling for internal or external callers, then
//! auto-answer. Pure decisions on a [`CallHandlingConfig`]; the supervisor
//! (`supervisor::inbound`) carries them out on the INVITE.
//!
//! Ringside does this itself instead of asking the PBX, so forwarding works
//! on any PBX: a forward is a 302 to the target, a rejection a 486.
//!
//! Caller patterns follow what PBX users know from dial plans: `X` any digit,
//! `Z` 1–9, `N` 2–9, `[1-5]` or `[135]` a set, `.` one or more of anything,
//! `!` zero or more, everything else literal; an Asterisk-style leading `_`
//! is accepted and ignored. So `9011.` is every number starting 9011, `1XXX`
//! every four-digit number starting 1.

use std::time::Duration;

use thiserror::Error;

use crate::presence::Status;
use crate::protocol::presence::{
    AgentAction, AgentCodes, CallHandlingConfig, FirstAction, Handling, RuleAction, StatusHandling,
    Target, AUTO_ANSWER_MAX_DELAY_S, MAX_NUMBER_CHARS,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PatternError {
    #[error("empty pattern")]
    Empty,
    #[error("pattern longer than {MAX_NUMBER_CHARS} characters")]
    TooLong,
    #[error("unclosed or empty [set]")]
    BadSet,
    #[error("character not allowed in a pattern")]
    BadChar,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// Inclusive character ranges.
    Set(Vec<(char, char)>),
    OneOrMore,
    ZeroOrMore,
}

/// A compiled caller-number pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(Vec<Token>);

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let text = text.trim();
        let text = text.strip_prefix('_').unwrap_or(text);
        if text.is_empty() {
            return Err(PatternError::Empty);
        }
        if text.chars().count() > MAX_NUMBER_CHARS {
            return Err(PatternError::TooLong);
        }
        let mut tokens = Vec::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            let token = match c.to_ascii_uppercase() {
                'X' => Token::Set(vec![('0', '9')]),
                'Z' => Token::Set(vec![('1', '9')]),
                'N' => Token::Set(vec![('2', '9')]),
                '.' => Token::OneOrMore,
                '!' => Token::ZeroOrMore,
                '[' => Token::Set(parse_set(&mut chars)?),
                _ if c.is_ascii_alphanumeric() || matches!(c, '*' | '#' | '+' | '-') => {
                    Token::Literal(c.to_ascii_lowercase())
                }
                _ => return Err(PatternError::BadChar),
            };
            tokens.push(token);
        }
        Ok(Pattern(tokens))
    }

    pub fn matches(&self, number: &str) -> bool {
        let chars: Vec<char> = number
            .trim()
            .chars()
            .map(|c| c.to_ascii_lowercase())
            .collect();
        // Numbers and patterns are at most a few dozen characters: plain
        // backtracking is fine and bounded by the pattern length check.
        chars.len() <= 256 && match_from(&self.0, &chars)
    }
}

fn parse_set(chars: &mut std::str::Chars<'_>) -> Result<Vec<(char, char)>, PatternError> {
    let mut ranges = Vec::new();
    let mut previous: Option<char> = None;
    let mut dash = false;
    for c in chars.by_ref() {
        match c {
            ']' => {
                if dash {
                    return Err(PatternError::BadSet);
                }
                if let Some(p) = previous {
                    ranges.push((p, p));
                }
                return if ranges.is_empty() {
                    Err(PatternError::BadSet)
                } else {
                    Ok(ranges)
                };
            }
            '-' if previous.is_some() && !dash => dash = true,
            c if c.is_ascii_digit() || matches!(c, '*' | '#' | '+') => {
                if dash {
                    let from = previous.take().ok_or(PatternError::BadSet)?;
                    if from > c {
                        return Err(PatternError::BadSet);
                    }
                    ranges.push((from, c));
                    dash = false;
                } else {
                    if let Some(p) = previous.replace(c) {
                        ranges.push((p, p));
                    }
                }
            }
            _ => return Err(PatternError::BadSet),
        }
    }
    Err(PatternError::BadSet)
}

fn match_from(tokens: &[Token], chars: &[char]) -> bool {
    let Some((token, rest)) = tokens.split_first() else {
        return chars.is_empty();
    };
    match token {
        Token::Literal(l) => {
            chars.first() == Some(l) && match_from(rest, chars.get(1..).unwrap_or(&[]))
        }
        Token::Set(ranges) => {
            chars
                .first()
                .is_some_and(|c| ranges.iter().any(|(a, b)| (a..=b).contains(&c)))
                && match_from(rest, chars.get(1..).unwrap_or(&[]))
        }
        Token::OneOrMore => {
            (1..=chars.len()).any(|n| match_from(rest, chars.get(n..).unwrap_or(&[])))
        }
        Token::ZeroOrMore => {
            (0..=chars.len()).any(|n| match_from(rest, chars.get(n..).unwrap_or(&[])))
        }
    }
}

/// Whether `number` is a colleague's: by the configured internal patterns,
/// or else by having as many digits as the user's own extension.
pub fn is_internal(config: &CallHandlingConfig, own_extension: &str, number: &str) -> bool {
    if !config.internal_patterns.is_empty() {
        return config
            .internal_patterns
            .iter()
            .filter_map(|p| Pattern::parse(p).ok())
            .any(|p| p.matches(number));
    }
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    digits(own_extension) && digits(number) && number.len() == own_extension.len()
}

/// The handling of `status`, or its default when the config has none.
pub fn status_handling(config: &CallHandlingConfig, status: Status) -> StatusHandling {
    config
        .statuses
        .iter()
        .find(|h| h.status == status)
        .cloned()
        .unwrap_or_else(|| StatusHandling::default_for(status))
}

/// What the supervisor knows about an incoming call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCall<'a> {
    /// The caller's number (user part of From).
    pub number: &'a str,
    /// Another call is up here already.
    pub busy: bool,
    /// The INVITE asks to be answered automatically after this many seconds
    /// (intercom / paging: Call-Info answer-after or Alert-Info).
    pub intercom_after_s: Option<u32>,
}

/// Why a call was handled without the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A caller-number rule (its index).
    Rule(usize),
    /// The status's first action (forward always / reject).
    Status,
    /// Forward when busy.
    Busy,
}

/// What to do with the INVITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Final response without ringing (486).
    Reject { code: u16, cause: Cause },
    /// 302 to the target.
    Redirect { target: Target, cause: Cause },
    Ring {
        /// Forward to this target if still ringing after the duration.
        no_answer: Option<(Duration, Target)>,
        /// Answer by itself after the duration.
        auto_answer: Option<Duration>,
        /// Auto-answer because the caller asked (intercom), so it may
        /// barge in over a call in progress.
        intercom: bool,
    },
}

pub const BUSY_HERE: u16 = 486;

/// Decide the fate of an incoming call while the user's status is `status`.
pub fn decide(
    config: &CallHandlingConfig,
    status: Status,
    own_extension: &str,
    call: &IncomingCall<'_>,
) -> Decision {
    let rule = config.rules.iter().enumerate().find(|(_, r)| {
        Pattern::parse(&r.pattern)
            .map(|p| p.matches(call.number))
            .unwrap_or(false)
    });
    if let Some((index, rule)) = rule {
        let cause = Cause::Rule(index);
        match &rule.action {
            RuleAction::HangUp => {
                return Decision::Reject {
                    code: BUSY_HERE,
                    cause,
                }
            }
            RuleAction::Forward { number } => {
                return Decision::Redirect {
                    target: Target::Number {
                        number: number.clone(),
                    },
                    cause,
                }
            }
            RuleAction::Voicemail => {
                return Decision::Redirect {
                    target: Target::Voicemail,
                    cause,
                }
            }
            RuleAction::Accept => {}
        }
    }
    let handling = status_handling(config, status);
    let handling: &Handling = if is_internal(config, own_extension, call.number) {
        &handling.internal
    } else {
        &handling.external
    };
    match &handling.action {
        FirstAction::Reject => {
            return Decision::Reject {
                code: BUSY_HERE,
                cause: Cause::Status,
            }
        }
        FirstAction::Forward { to } => {
            return Decision::Redirect {
                target: to.clone(),
                cause: Cause::Status,
            }
        }
        FirstAction::Ring => {}
    }
    if call.busy {
        if let Some(to) = &handling.when_busy {
            return Decision::Redirect {
                target: to.clone(),
                cause: Cause::Busy,
            };
        }
    }
    let timeout = Duration::from_secs(u64::from(handling.ring_timeout_s.clamp(
        crate::protocol::presence::RING_TIMEOUT_MIN_S,
        crate::protocol::presence::RING_TIMEOUT_MAX_S,
    )));
    let auto = &config.auto_answer;
    let max = u32::from(AUTO_ANSWER_MAX_DELAY_S);
    let intercom = call
        .intercom_after_s
        .filter(|_| auto.intercom && (!call.busy || auto.barge_in))
        .map(|s| Duration::from_secs(u64::from(s.min(max))));
    let ordinary = (auto.enabled && !call.busy)
        .then(|| Duration::from_secs(u64::from(auto.delay_s.min(AUTO_ANSWER_MAX_DELAY_S))));
    Decision::Ring {
        no_answer: handling.no_answer.clone().map(|t| (timeout, t)),
        auto_answer: intercom.or(ordinary),
        intercom: intercom.is_some(),
    }
}

/// The number to dial for a status's agent action; `None` when there is
/// nothing to do or its code is not configured.
pub fn agent_dial(codes: &AgentCodes, action: &AgentAction) -> Option<String> {
    let dial = match action {
        AgentAction::None => return None,
        AgentAction::Login => codes.login.clone(),
        AgentAction::Logout => codes.logout.clone(),
        AgentAction::Pause { .. } if codes.pause.is_empty() => String::new(),
        AgentAction::Pause { reason } => format!("{}{}", codes.pause, reason.trim()),
        AgentAction::Unpause => codes.unpause.clone(),
    };
    let dial = dial.trim().to_owned();
    (!dial.is_empty()).then_some(dial)
}

/// Feature codes: digits, `*` and `#`, at most [`MAX_NUMBER_CHARS`].
pub fn valid_feature_code(code: &str) -> bool {
    code.len() <= MAX_NUMBER_CHARS
        && code
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::presence::CallerRule;

    fn matches(pattern: &str, number: &str) -> bool {
        Pattern::parse(pattern).unwrap().matches(number)
    }

    #[test]
    fn pbx_patterns_match_as_dial_plans_do() {
        assert!(matches("9011.", "9011491234"));
        assert!(!matches("9011.", "9011"), "'.' needs at least one more");
        assert!(matches("9011!", "9011"));
        assert!(matches("1XXX", "1002"));
        assert!(!matches("1XXX", "10023"));
        assert!(matches("_NXXNXXXXXX", "2125551234"));
        assert!(!matches("NXX", "123"), "N is 2-9");
        assert!(matches("Z", "1") && !matches("Z", "0"));
        assert!(matches("[1-5]00", "300") && !matches("[1-5]00", "600"));
        assert!(matches("[135]", "5") && !matches("[135]", "2"));
        assert!(matches("+4930.", "+493012345"));
        assert!(matches("1002", "1002") && !matches("1002", "10021"));
        assert!(matches("alice", "Alice"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "", "_", "[", "[1-", "[]", "[5-1]", "12 3", "1;2", "[a]", "12]",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Pattern::parse(&"1".repeat(MAX_NUMBER_CHARS + 1)),
            Err(PatternError::TooLong)
        );
    }

    fn call(number: &str) -> IncomingCall<'_> {
        IncomingCall {
            number,
            busy: false,
            intercom_after_s: None,
        }
    }

    fn ring() -> Decision {
        Decision::Ring {
            no_answer: None,
            auto_answer: None,
            intercom: false,
        }
    }

    #[test]
    fn internal_callers_are_told_by_extension_length_or_pattern() {
        let mut config = CallHandlingConfig::default();
        assert!(is_internal(&config, "1001", "1002"));
        assert!(!is_internal(&config, "1001", "0301234567"));
        assert!(!is_internal(&config, "1001", "alice"));
        config.internal_patterns = vec!["2XX".into(), "1XXX".into()];
        assert!(is_internal(&config, "1001", "250"));
        assert!(!is_internal(&config, "1001", "3000"));
    }

    #[test]
    fn dnd_rejects_with_486_and_available_rings() {
        // caller                 Ringside (DND)
        //   |--- INVITE ----------->|
        //   |<-- 486 Busy Here -----|   no ringing at all
        let config = CallHandlingConfig::default();
        assert_eq!(
            decide(&config, Status::DoNotDisturb, "1001", &call("1002")),
            Decision::Reject {
                code: 486,
                cause: Cause::Status
            }
        );
        assert_eq!(
            decide(&config, Status::Available, "1001", &call("1002")),
            ring()
        );
    }

    fn away_config(internal: FirstAction, external: Handling) -> CallHandlingConfig {
        let mut config = CallHandlingConfig::default();
        for h in &mut config.statuses {
            if h.status == Status::Away {
                h.internal.action = internal.clone();
                h.external = external.clone();
            }
        }
        config
    }

    #[test]
    fn away_forwards_internal_callers_always_and_external_ones_on_no_answer() {
        // internal caller        Ringside (Away)          1003
        //   |--- INVITE ----------->|
        //   |<-- 302 Contact: 1003 -|
        //   |--- INVITE ------------------------------------>|  (the caller's UA)
        //
        // external caller        Ringside (Away)
        //   |--- INVITE ----------->|
        //   |<-- 180 Ringing -------|   20 s pass
        //   |<-- 302 Contact: voicemail
        let config = away_config(
            FirstAction::Forward {
                to: Target::Number {
                    number: "1003".into(),
                },
            },
            Handling {
                no_answer: Some(Target::Voicemail),
                ring_timeout_s: 20,
                ..Handling::default()
            },
        );
        assert_eq!(
            decide(&config, Status::Away, "1001", &call("1002")),
            Decision::Redirect {
                target: Target::Number {
                    number: "1003".into()
                },
                cause: Cause::Status
            }
        );
        assert_eq!(
            decide(&config, Status::Away, "1001", &call("004930123456")),
            Decision::Ring {
                no_answer: Some((Duration::from_secs(20), Target::Voicemail)),
                auto_answer: None,
                intercom: false,
            }
        );
    }

    #[test]
    fn busy_forwarding_applies_only_while_a_call_is_up() {
        // caller 2               Ringside (in a call with caller 1)
        //   |--- INVITE ----------->|
        //   |<-- 302 Contact: 1005 -|   forward when busy
        let config = away_config(
            FirstAction::Ring,
            Handling {
                when_busy: Some(Target::Number {
                    number: "1005".into(),
                }),
                ..Handling::default()
            },
        );
        let busy = IncomingCall {
            busy: true,
            ..call("0301234")
        };
        assert!(matches!(
            decide(&config, Status::Away, "1001", &busy),
            Decision::Redirect {
                cause: Cause::Busy,
                ..
            }
        ));
        assert_eq!(
            decide(&config, Status::Away, "1001", &call("0301234")),
            ring()
        );
    }

    #[test]
    fn an_allow_rule_above_a_block_rule_lets_one_number_through() {
        // 0900111 (allowed)      Ringside                 0900222 (blocked)
        //   |--- INVITE ----------->|<--------- INVITE ------|
        //   |<-- 180 Ringing -------|--- 486 Busy Here ----->|
        let config = CallHandlingConfig {
            rules: vec![
                CallerRule {
                    pattern: "0900111".into(),
                    action: RuleAction::Accept,
                },
                CallerRule {
                    pattern: "0900.".into(),
                    action: RuleAction::HangUp,
                },
                CallerRule {
                    pattern: "_1XXX".into(),
                    action: RuleAction::Voicemail,
                },
            ],
            ..CallHandlingConfig::default()
        };
        assert_eq!(
            decide(&config, Status::Available, "1001", &call("0900111")),
            ring()
        );
        assert_eq!(
            decide(&config, Status::Available, "1001", &call("0900222")),
            Decision::Reject {
                code: 486,
                cause: Cause::Rule(1)
            }
        );
        assert_eq!(
            decide(&config, Status::Available, "1001", &call("1002")),
            Decision::Redirect {
                target: Target::Voicemail,
                cause: Cause::Rule(2)
            }
        );
        // An accepted number still gets its status's handling.
        assert!(matches!(
            decide(&config, Status::DoNotDisturb, "1001", &call("0900111")),
            Decision::Reject {
                cause: Cause::Status,
                ..
            }
        ));
    }

    #[test]
    fn auto_answer_ordinary_and_intercom() {
        // pager                  Ringside
        //   |--- INVITE (Call-Info: answer-after=0) -->|
        //   |<-- 180 ---------------|
        //   |<-- 200 OK ------------|   at once, no user
        let mut config = CallHandlingConfig::default();
        let intercom = IncomingCall {
            intercom_after_s: Some(0),
            ..call("1002")
        };
        assert_eq!(
            decide(&config, Status::Available, "1001", &intercom),
            Decision::Ring {
                no_answer: None,
                auto_answer: Some(Duration::ZERO),
                intercom: true
            }
        );
        // Busy: rings as a waiting call unless barge-in is on.
        let busy_intercom = IncomingCall {
            busy: true,
            ..intercom.clone()
        };
        assert_eq!(
            decide(&config, Status::Available, "1001", &busy_intercom),
            ring()
        );
        config.auto_answer.barge_in = true;
        assert!(matches!(
            decide(&config, Status::Available, "1001", &busy_intercom),
            Decision::Ring { intercom: true, .. }
        ));
        // Off: the request is ignored.
        config.auto_answer.intercom = false;
        assert_eq!(
            decide(&config, Status::Available, "1001", &intercom),
            ring()
        );
        // Ordinary calls only when enabled, after the delay, never over a call.
        config.auto_answer.enabled = true;
        config.auto_answer.delay_s = 5;
        assert_eq!(
            decide(&config, Status::Available, "1001", &call("1002")),
            Decision::Ring {
                no_answer: None,
                auto_answer: Some(Duration::from_secs(5)),
                intercom: false
            }
        );
        let busy = IncomingCall {
            busy: true,
            ..call("1002")
        };
        assert_eq!(decide(&config, Status::Available, "1001", &busy), ring());
    }

    #[test]
    fn agent_actions_dial_their_feature_codes() {
        let codes = AgentCodes {
            login: "*71".into(),
            logout: "*72".into(),
            pause: "*73".into(),
            unpause: String::new(),
        };
        assert_eq!(agent_dial(&codes, &AgentAction::Login), Some("*71".into()));
        assert_eq!(
            agent_dial(&codes, &AgentAction::Pause { reason: "2".into() }),
            Some("*732".into())
        );
        assert_eq!(agent_dial(&codes, &AgentAction::Unpause), None);
        assert_eq!(agent_dial(&codes, &AgentAction::None), None);
        assert!(valid_feature_code("*73#") && !valid_feature_code("*7 3"));
    }
}
