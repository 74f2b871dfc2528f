//! The popup's state: ONE reducer over the worker's snapshots plus the
//! popup's own navigation, and the view-model helpers the screens use
//! (history filters, search as you type, redial, durations).
//!
//! Plain Rust so it is tested natively; the Yew app in `popup/` wraps it.
//! The popup never owns call state: calls, registration and the status come
//! only from [`Snapshot`]s; the popup's own state is which screen is shown.

use crate::history::{HistoryEntry, HistoryKind};
use crate::phone::{normalize_dial, DialError, DialRules, InternationalFormat};
use crate::protocol::calls::{CallPhase, CallView};
use crate::protocol::Snapshot;
use crate::settings::{Language, Settings};

/// Most search results shown under the dial field.
pub const MAX_SEARCH_RESULTS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    Dial,
    Calls,
    History,
    FunctionKeys,
    Settings,
}

impl Screen {
    pub const ALL: [Screen; 5] = [
        Screen::Dial,
        Screen::Calls,
        Screen::History,
        Screen::FunctionKeys,
        Screen::Settings,
    ];

    /// Element ids (`tab-dial`, `panel-dial`) and `data-screen`.
    pub fn as_str(self) -> &'static str {
        match self {
            Screen::Dial => "dial",
            Screen::Calls => "calls",
            Screen::History => "history",
            Screen::FunctionKeys => "keys",
            Screen::Settings => "settings",
        }
    }

    pub fn message_key(self) -> &'static str {
        match self {
            Screen::Dial => "tabDial",
            Screen::Calls => "tabCalls",
            Screen::History => "tabHistory",
            Screen::FunctionKeys => "tabFunctionKeys",
            Screen::Settings => "tabSettings",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum HistoryFilter {
    #[default]
    All,
    Incoming,
    Outgoing,
    Missed,
}

impl HistoryFilter {
    pub const ALL: [HistoryFilter; 4] = [
        HistoryFilter::All,
        HistoryFilter::Incoming,
        HistoryFilter::Outgoing,
        HistoryFilter::Missed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HistoryFilter::All => "all",
            HistoryFilter::Incoming => "incoming",
            HistoryFilter::Outgoing => "outgoing",
            HistoryFilter::Missed => "missed",
        }
    }

    pub fn message_key(self) -> &'static str {
        match self {
            HistoryFilter::All => "filterAll",
            HistoryFilter::Incoming => "filterIncoming",
            HistoryFilter::Outgoing => "filterOutgoing",
            HistoryFilter::Missed => "filterMissed",
        }
    }

    /// "Incoming" is every call that came in, missed or not, as in the
    /// reference product; "Missed" is those not answered here.
    pub fn matches(self, kind: HistoryKind) -> bool {
        match self {
            HistoryFilter::All => true,
            HistoryFilter::Outgoing => kind == HistoryKind::Outgoing,
            HistoryFilter::Incoming => kind != HistoryKind::Outgoing,
            HistoryFilter::Missed => kind == HistoryKind::Missed,
        }
    }
}

pub fn history_kind_key(kind: HistoryKind) -> &'static str {
    match kind {
        HistoryKind::Outgoing => "kindOutgoing",
        HistoryKind::Incoming => "kindIncoming",
        HistoryKind::Missed => "kindMissed",
        HistoryKind::Rejected => "kindRejected",
        HistoryKind::Forwarded => "kindForwarded",
    }
}

pub fn call_phase_key(phase: CallPhase) -> &'static str {
    match phase {
        CallPhase::Dialing => "phaseDialing",
        CallPhase::Early => "phaseEarly",
        CallPhase::Ringing => "phaseRinging",
        CallPhase::Active => "phaseActive",
        CallPhase::Held => "phaseHeld",
        CallPhase::Ended => "phaseEnded",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct UiState {
    /// The last snapshot from the worker; `None` until the first arrives.
    pub snapshot: Option<Snapshot>,
    /// The worker's port closed and no new snapshot arrived yet.
    pub worker_lost: bool,
    pub screen: Screen,
    pub settings: Settings,
    /// The browser's UI language, used while `settings.language` is `None`.
    pub browser_language: Language,
    /// Newest first; `None` until loaded.
    pub history: Option<Vec<HistoryEntry>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum UiAction {
    Snapshot(Snapshot),
    /// The state port disconnected (the worker stopped or restarted).
    WorkerLost,
    Show(Screen),
    Settings(Settings),
    History(Vec<HistoryEntry>),
}

impl UiState {
    pub fn new(browser_language: Language) -> UiState {
        UiState {
            snapshot: None,
            worker_lost: false,
            screen: Screen::Dial,
            settings: Settings::default(),
            browser_language,
            history: None,
        }
    }

    pub fn reduce(&self, action: UiAction) -> UiState {
        let mut next = self.clone();
        match action {
            UiAction::Snapshot(snapshot) => {
                // A call that was not there before (dialled here, from a web
                // page, or ringing in) brings the call panel forward.
                let known = |id| {
                    self.snapshot
                        .as_ref()
                        .is_some_and(|s| s.calls.iter().any(|c| c.id == id))
                };
                if snapshot
                    .calls
                    .iter()
                    .any(|c| c.state != CallPhase::Ended && !known(c.id))
                {
                    next.screen = Screen::Calls;
                }
                next.snapshot = Some(snapshot);
                next.worker_lost = false;
            }
            UiAction::WorkerLost => next.worker_lost = true,
            UiAction::Show(screen) => next.screen = screen,
            UiAction::Settings(settings) => next.settings = settings,
            UiAction::History(entries) => next.history = Some(entries),
        }
        next
    }

    pub fn language(&self) -> Language {
        self.settings.language.unwrap_or(self.browser_language)
    }

    /// An account is configured: the main screens, else the login screen.
    pub fn logged_in(&self) -> bool {
        self.snapshot.as_ref().is_some_and(|s| s.aor.is_some())
    }

    /// Calls not yet ended, in the worker's order.
    pub fn live_calls(&self) -> Vec<&CallView> {
        self.snapshot
            .iter()
            .flat_map(|s| s.calls.iter())
            .filter(|c| c.state != CallPhase::Ended)
            .collect()
    }
}

/// The entries a filter shows, newest first.
pub fn filter_history(entries: &[HistoryEntry], filter: HistoryFilter) -> Vec<&HistoryEntry> {
    entries.iter().filter(|e| filter.matches(e.kind)).collect()
}

/// Search as you type: entries whose name contains the query (any case) or
/// whose number contains its digits, one per number, newest first.
pub fn search<'a>(entries: &'a [HistoryEntry], query: &str) -> Vec<&'a HistoryEntry> {
    let query = query.trim();
    if query.is_empty() {
        return Vec::new();
    }
    let lower = fold_case(query);
    let digits: String = query
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '*' || *c == '#')
        .collect();
    let mut found: Vec<&HistoryEntry> = Vec::new();
    for entry in entries {
        if found.len() == MAX_SEARCH_RESULTS {
            break;
        }
        let by_name = entry
            .name
            .as_ref()
            .is_some_and(|n| fold_case(n).contains(&lower));
        let by_number = !digits.is_empty() && entry.number.contains(&digits);
        if (by_name || by_number) && !found.iter().any(|f| f.number == entry.number) {
            found.push(entry);
        }
    }
    found
}

/// Lower case for the search, by rule rather than with `str::to_lowercase`,
/// whose Unicode tables are ~8 kB of the popup's gzipped wasm: ASCII,
/// Latin-1, Latin Extended-A, Greek and Cyrillic capitals (the cased scripts
/// of names in a phone directory). Other characters, CJK among them (no
/// case), stay as they are.
fn fold_case(text: &str) -> String {
    text.chars()
        .map(|c| {
            let code = u32::from(c);
            let folded = match code {
                0x41..=0x5A
                | 0xC0..=0xD6
                | 0xD8..=0xDE
                | 0x391..=0x3A1
                | 0x3A3..=0x3AB
                | 0x410..=0x42F => code + 0x20,
                0x400..=0x40F => code + 0x50,
                // Latin Extended-A pairs capitals with the next code point;
                // İ (0x130) and ı (0x131) have no such partner.
                0x100..=0x12F | 0x132..=0x137 | 0x14A..=0x177 if code % 2 == 0 => code + 1,
                0x139..=0x148 | 0x179..=0x17E if code % 2 == 1 => code + 1,
                0x178 => 0xFF,
                _ => code,
            };
            char::from_u32(folded).unwrap_or(c)
        })
        .collect()
}

/// The number the call button refills on an empty field.
pub fn last_dialled(entries: &[HistoryEntry]) -> Option<&str> {
    entries
        .iter()
        .find(|e| e.kind == HistoryKind::Outgoing)
        .map(|e| e.number.as_str())
}

/// What a typed or pasted text becomes in the dial field: a number is
/// normalised (spaces, dashes, brackets dropped); anything else is left for
/// the search.
pub fn clean_dial_input(text: &str, rules: &DialRules) -> String {
    let raw_rules = DialRules {
        // The field shows what was written, not the PBX's prefixes; the
        // worker applies the user's rules when the call is placed.
        outbound_prefix: String::new(),
        internal_max_digits: u8::MAX,
        international: InternationalFormat::Plus,
        ..rules.clone()
    };
    match normalize_dial(text, &raw_rules) {
        Ok(number) => number,
        Err(_) => text.trim().to_owned(),
    }
}

/// What Enter / the call button dials: the field as a number, or the first
/// search result when the field holds a name.
pub fn dial_target(field: &str, results: &[&HistoryEntry]) -> Result<String, DialError> {
    let field = field.trim();
    if field.is_empty() {
        return Err(DialError::Empty);
    }
    let is_number = field
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | '+'));
    match (is_number, results.first()) {
        (true, _) => Ok(field.to_owned()),
        (false, Some(first)) => Ok(first.number.clone()),
        (false, None) => Err(field
            .chars()
            .find(|c| !(c.is_ascii_digit() || matches!(c, '*' | '#' | '+')))
            .map(DialError::InvalidCharacter)
            .unwrap_or(DialError::Empty)),
    }
}

pub fn dial_error_key(error: &DialError) -> &'static str {
    match error {
        DialError::Empty => "errDialEmpty",
        DialError::InvalidCharacter(_) => "errDialInvalid",
        DialError::MisplacedPlus => "errDialPlus",
        DialError::TooLong => "errDialTooLong",
        DialError::UnknownCountryCode => "errDialCountry",
    }
}

/// `m:ss`, or `h:mm:ss` from an hour on.
pub fn format_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Seconds a call has lasted at `now_ms` (talk time once answered, else
/// time since it started), never negative.
pub fn call_seconds(call: &CallView, now_ms: f64) -> u64 {
    let since = call.answered_at.unwrap_or(call.started_at);
    ((now_ms - since) / 1000.0).max(0.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::CallResult;
    use crate::protocol::RegState;

    fn entry(id: u64, kind: HistoryKind, number: &str, name: Option<&str>) -> HistoryEntry {
        HistoryEntry {
            id,
            kind,
            number: number.into(),
            name: name.map(Into::into),
            start: 1_700_000_000_000.0 - id as f64 * 60_000.0,
            duration_s: 0,
            result: CallResult::Answered,
            note: String::new(),
            status_code: None,
        }
    }

    fn call(id: u64, state: CallPhase) -> CallView {
        serde_json::from_value(serde_json::json!({
            "id": id, "direction": "outgoing", "number": "1002", "state": state,
            "started_at": 1000.0
        }))
        .unwrap()
    }

    fn snapshot(calls: Vec<CallView>) -> Snapshot {
        Snapshot {
            state: RegState::Registered,
            aor: Some("1001@127.0.0.1".into()),
            calls,
            ..Snapshot::unregistered()
        }
    }

    #[test]
    fn snapshots_replace_the_view_and_a_lost_worker_keeps_the_last_one() {
        let ui = UiState::new(Language::En);
        assert!(!ui.logged_in());
        let ui = ui.reduce(UiAction::Snapshot(snapshot(vec![])));
        assert!(ui.logged_in());
        let lost = ui.reduce(UiAction::WorkerLost);
        assert!(lost.worker_lost && lost.logged_in());
        let back = lost.reduce(UiAction::Snapshot(Snapshot::unregistered()));
        assert!(!back.worker_lost && !back.logged_in());
    }

    #[test]
    fn a_new_call_brings_the_call_panel_forward_once() {
        let ui = UiState::new(Language::En)
            .reduce(UiAction::Snapshot(snapshot(vec![])))
            .reduce(UiAction::Show(Screen::History));
        let ringing = ui.reduce(UiAction::Snapshot(snapshot(vec![call(
            7,
            CallPhase::Dialing,
        )])));
        assert_eq!(ringing.screen, Screen::Calls);
        assert_eq!(ringing.live_calls().len(), 1);
        // The user may look elsewhere while the call goes on.
        let away = ringing
            .reduce(UiAction::Show(Screen::Dial))
            .reduce(UiAction::Snapshot(snapshot(vec![call(
                7,
                CallPhase::Active,
            )])));
        assert_eq!(away.screen, Screen::Dial);
        let ended = away.reduce(UiAction::Snapshot(snapshot(vec![call(
            8,
            CallPhase::Ended,
        )])));
        assert_eq!(ended.screen, Screen::Dial);
        assert!(ended.live_calls().is_empty());
    }

    #[test]
    fn language_follows_the_browser_until_chosen() {
        let ui = UiState::new(Language::ZhCn);
        assert_eq!(ui.language(), Language::ZhCn);
        let chosen = ui.reduce(UiAction::Settings(Settings {
            language: Some(Language::En),
            ..Settings::default()
        }));
        assert_eq!(chosen.language(), Language::En);
    }

    #[test]
    fn history_filters() {
        let entries = vec![
            entry(1, HistoryKind::Missed, "1003", None),
            entry(2, HistoryKind::Outgoing, "1002", Some("Bob")),
            entry(3, HistoryKind::Incoming, "1004", Some("Carol")),
            entry(4, HistoryKind::Rejected, "1005", None),
        ];
        let ids = |f| {
            filter_history(&entries, f)
                .iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(HistoryFilter::All), [1, 2, 3, 4]);
        assert_eq!(ids(HistoryFilter::Outgoing), [2]);
        assert_eq!(ids(HistoryFilter::Incoming), [1, 3, 4]);
        assert_eq!(ids(HistoryFilter::Missed), [1]);
    }

    #[test]
    fn case_folding_matches_the_unicode_tables_where_it_folds() {
        let cased = "AZÀÖØÞĀĮĲĶĹŇŊŶŸŹŽΑΡΣΫЀЏАЯ";
        assert_eq!(fold_case(cased), cased.to_lowercase());
        let uncased = "azß×÷ıĸŉſ 张伟 123 *#";
        assert_eq!(fold_case(uncased), uncased);
        assert_eq!(fold_case("Émile Zoë"), "émile zoë");
    }

    #[test]
    fn search_by_name_or_number_one_result_per_number() {
        let entries = vec![
            entry(1, HistoryKind::Outgoing, "1002", Some("Bob Smith")),
            entry(2, HistoryKind::Incoming, "1002", Some("Bob Smith")),
            entry(
                3,
                HistoryKind::Incoming,
                "+4930123456",
                Some("Berlin office"),
            ),
            entry(4, HistoryKind::Missed, "1003", None),
        ];
        let numbers = |q| {
            search(&entries, q)
                .iter()
                .map(|e| e.number.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(numbers("bob"), ["1002"]);
        assert_eq!(numbers("B"), ["1002", "+4930123456"]);
        assert_eq!(numbers("100"), ["1002", "1003"]);
        assert_eq!(numbers("30 123"), ["+4930123456"]);
        assert!(numbers("  ").is_empty());
        assert_eq!(last_dialled(&entries), Some("1002"));
        assert_eq!(last_dialled(&entries[1..]), None);
    }

    #[test]
    fn pasted_numbers_are_cleaned_names_are_kept_for_search() {
        let rules = DialRules {
            outbound_prefix: "9".into(),
            ..DialRules::default()
        };
        assert_eq!(clean_dial_input(" (030) 123-45 ", &rules), "03012345");
        assert_eq!(clean_dial_input("+49 (0)30 1234", &rules), "+49301234");
        assert_eq!(clean_dial_input("*97", &rules), "*97");
        assert_eq!(clean_dial_input("Bob ", &rules), "Bob");
    }

    #[test]
    fn dial_target_is_the_number_or_the_first_result() {
        let bob = entry(1, HistoryKind::Outgoing, "1002", Some("Bob"));
        assert_eq!(dial_target("1002", &[]), Ok("1002".into()));
        assert_eq!(dial_target("bob", &[&bob]), Ok("1002".into()));
        assert_eq!(dial_target("", &[&bob]), Err(DialError::Empty));
        assert_eq!(
            dial_target("bob", &[]),
            Err(DialError::InvalidCharacter('b'))
        );
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(0), "0:00");
        assert_eq!(format_duration(75), "1:15");
        assert_eq!(format_duration(3_601), "1:00:01");
        let mut c = call(1, CallPhase::Active);
        c.answered_at = Some(5_000.0);
        assert_eq!(call_seconds(&c, 65_500.0), 60);
        assert_eq!(call_seconds(&c, 0.0), 0);
    }
}

/// The translation tables in `extension/_locales` (the popup compiles them
/// in and switches language at runtime).
#[cfg(test)]
mod locale_tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    /// Messages that are not prose: the product name, an example URL and
    /// the language tag.
    const PROPER: [&str; 4] = ["appName", "popupTitle", "placeholderServer", "htmlLang"];

    fn load(language: &str) -> BTreeMap<String, String> {
        let path = format!(
            "{}/extension/_locales/{language}/messages.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let table: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
        table
            .into_iter()
            .map(|(k, v)| (k, v["message"].as_str().unwrap_or_default().to_owned()))
            .collect()
    }

    fn has_cjk(text: &str) -> bool {
        text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    /// Latin words of three letters or more outside placeholders, URLs and
    /// key names: English left in a Chinese message.
    fn english_words(text: &str) -> Vec<String> {
        text.split(|c: char| {
            !(c.is_ascii_alphanumeric() || c == '$' || c == ':' || c == '/' || c == '.')
        })
        .filter(|w| {
            !w.contains('$')
                && !w.contains("://")
                && w.chars().filter(char::is_ascii_alphabetic).count() >= 3
        })
        .filter(|w| {
            ![
                "SIP",
                "PBX",
                "ID",
                "URL",
                "WebSocket",
                "Ringside",
                "https",
                "wss",
                "ws",
            ]
            .contains(&w.trim_end_matches(['.', ':']))
        })
        .map(str::to_owned)
        .collect()
    }

    #[test]
    fn both_languages_have_every_key_and_no_mixed_text() {
        let en = load("en");
        let zh = load("zh_CN");
        let missing_zh: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
        let missing_en: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
        assert!(missing_zh.is_empty(), "missing in zh_CN: {missing_zh:?}");
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
        for (key, text) in &zh {
            if PROPER.contains(&key.as_str()) {
                continue;
            }
            assert!(has_cjk(text), "zh_CN {key} is not Chinese: {text:?}");
            let words = english_words(text);
            assert!(
                words.is_empty(),
                "zh_CN {key} has English {words:?}: {text:?}"
            );
        }
        for (key, text) in &en {
            assert!(!has_cjk(text), "en {key} has Chinese: {text:?}");
        }
    }

    #[test]
    fn every_key_the_ui_uses_exists() {
        use super::*;
        use crate::presence::{PresenceError, Status};
        use crate::protocol::RegState;
        use crate::settings::{Ringtone, SettingsError};
        let en = load("en");
        let mut keys: Vec<&str> = Vec::new();
        keys.extend(Screen::ALL.map(Screen::message_key));
        keys.extend(HistoryFilter::ALL.map(HistoryFilter::message_key));
        keys.extend(Status::ALL.map(Status::message_key));
        keys.extend(Ringtone::ALL.map(Ringtone::message_key));
        keys.extend(
            [
                PresenceError::NoteTooLong,
                PresenceError::EndInPast,
                PresenceError::TooLong,
            ]
            .map(PresenceError::message_key),
        );
        keys.push(SettingsError::OutboundPrefix.message_key());
        keys.push(SettingsError::DeviceId.message_key());
        keys.extend(
            [
                CallPhase::Dialing,
                CallPhase::Early,
                CallPhase::Ringing,
                CallPhase::Active,
                CallPhase::Held,
                CallPhase::Ended,
            ]
            .map(call_phase_key),
        );
        keys.extend(
            [
                HistoryKind::Outgoing,
                HistoryKind::Incoming,
                HistoryKind::Missed,
                HistoryKind::Rejected,
                HistoryKind::Forwarded,
            ]
            .map(history_kind_key),
        );
        keys.extend(
            [
                DialError::Empty,
                DialError::InvalidCharacter('x'),
                DialError::MisplacedPlus,
                DialError::TooLong,
                DialError::UnknownCountryCode,
            ]
            .iter()
            .map(dial_error_key),
        );
        keys.extend([RegState::Registered, RegState::AuthFailed].map(RegState::message_key));
        // Literal keys in the extension pages' sources: `tr(lang, "key"`.
        let mut literal = Vec::new();
        for page in ["popup", "options", "ui"] {
            let dir = format!("{}/{page}/src", env!("CARGO_MANIFEST_DIR"));
            for file in std::fs::read_dir(dir).unwrap() {
                let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
                for part in text.split("tr(lang, \"").skip(1) {
                    literal.push(part.split('"').next().unwrap_or_default().to_owned());
                }
            }
        }
        assert!(literal.len() > 50, "found only {} keys", literal.len());
        let missing: Vec<&str> = keys
            .into_iter()
            .chain(literal.iter().map(String::as_str))
            .filter(|k| !en.contains_key(*k))
            .collect();
        assert!(missing.is_empty(), "keys without a message: {missing:?}");
    }
}
