//! Click-to-call policy: on which sites the content script makes numbers
//! callable, whether a call from a site needs the confirmation, and the caps
//! on what a content script may ask the worker to scan.
//!
//! The worker stores [`C2cSettings`] in `chrome.storage.local` under
//! [`SETTINGS_KEY`]. A site is a host name (`crm.example.com`); an exclusion
//! entry `example.com` also covers its subdomains, so one entry silences a
//! whole web mail or intranet.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// `chrome.storage.local` key of the settings.
pub const SETTINGS_KEY: &str = "c2c_settings";

/// Most text nodes in one `detect` request.
pub const MAX_DETECT_TEXTS: usize = 256;
/// Most UTF-16 code units in one `detect` request, all texts together. Even
/// when JSON escapes every unit as `\uXXXX` the request stays under the
/// protocol's 64 kB message cap, so a batch is never refused for its size.
pub const MAX_DETECT_UTF16: usize = 8 * 1024;

/// Most entries in the exclusion list or the per-site table; far above what a
/// user types, low enough that the settings stay a small storage item.
pub const MAX_SITES: usize = 1000;
/// A DNS name is at most 253 characters.
const MAX_HOST_LEN: usize = 253;

/// The user's click-to-call choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct C2cSettings {
    /// The global switch: off, no page is scanned anywhere.
    pub enabled: bool,
    /// Hosts (and their subdomains) never scanned.
    pub excluded: Vec<String>,
    /// Per-site choices, by exact host.
    pub sites: BTreeMap<String, SitePrefs>,
}

impl Default for C2cSettings {
    fn default() -> Self {
        C2cSettings {
            enabled: true,
            excluded: Vec::new(),
            sites: BTreeMap::new(),
        }
    }
}

/// What the user chose for one site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SitePrefs {
    /// The popup's "click-to-call on this site" toggle.
    pub enabled: bool,
    /// Call at once, without the confirmation (the user trusts this site's
    /// numbers, e.g. their own CRM).
    pub skip_confirmation: bool,
}

impl Default for SitePrefs {
    fn default() -> Self {
        SitePrefs {
            enabled: true,
            skip_confirmation: false,
        }
    }
}

/// Click-to-call as it applies to one site: what the content script and the
/// popup's per-site toggle need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteState {
    /// The host, `None` for pages that are not http(s) (nothing is scanned).
    pub site: Option<String>,
    /// Numbers on this site are made callable: the global switch is on, the
    /// site is not excluded and its toggle is on.
    pub active: bool,
    /// The global switch.
    pub enabled: bool,
    /// The site or a parent domain is in the exclusion list.
    pub excluded: bool,
    /// The site's own toggle.
    pub site_enabled: bool,
    pub skip_confirmation: bool,
}

/// A per-site change from the popup; absent fields stay as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_confirmation: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingsError {
    #[error("more than {MAX_SITES} sites")]
    TooManySites,
    #[error("not a host name")]
    InvalidHost,
}

impl C2cSettings {
    /// Checks a settings object from the popup or from storage, lower-cases
    /// the hosts and drops duplicate exclusions.
    pub fn validate(mut self) -> Result<C2cSettings, SettingsError> {
        if self.excluded.len() > MAX_SITES || self.sites.len() > MAX_SITES {
            return Err(SettingsError::TooManySites);
        }
        let mut excluded = Vec::with_capacity(self.excluded.len());
        for entry in &self.excluded {
            let host = exclusion_host(entry).ok_or(SettingsError::InvalidHost)?;
            if !excluded.contains(&host) {
                excluded.push(host);
            }
        }
        self.excluded = excluded;
        let mut sites = BTreeMap::new();
        for (host, prefs) in self.sites {
            let host = valid_host(&host).ok_or(SettingsError::InvalidHost)?;
            sites.insert(host, prefs);
        }
        self.sites = sites;
        Ok(self)
    }

    /// The state for the page at `url`.
    pub fn site_state(&self, url: &str) -> SiteState {
        let Some(site) = site_of(url) else {
            return SiteState {
                site: None,
                active: false,
                enabled: self.enabled,
                excluded: false,
                site_enabled: false,
                skip_confirmation: false,
            };
        };
        let excluded = self.excluded.iter().any(|e| covers(e, &site));
        let prefs = self.sites.get(&site).copied().unwrap_or_default();
        SiteState {
            active: self.enabled && !excluded && prefs.enabled,
            enabled: self.enabled,
            excluded,
            site_enabled: prefs.enabled,
            skip_confirmation: prefs.skip_confirmation,
            site: Some(site),
        }
    }

    /// Applies the popup's per-site change for the page at `url`; `false` if
    /// that page has no site. A site back at the defaults is forgotten, so
    /// the table only holds real choices.
    pub fn change_site(&mut self, url: &str, change: SiteChange) -> Result<bool, SettingsError> {
        let Some(site) = site_of(url) else {
            return Ok(false);
        };
        let mut prefs = self.sites.get(&site).copied().unwrap_or_default();
        prefs.enabled = change.enabled.unwrap_or(prefs.enabled);
        prefs.skip_confirmation = change.skip_confirmation.unwrap_or(prefs.skip_confirmation);
        if prefs == SitePrefs::default() {
            self.sites.remove(&site);
        } else {
            if !self.sites.contains_key(&site) && self.sites.len() >= MAX_SITES {
                return Err(SettingsError::TooManySites);
            }
            self.sites.insert(site, prefs);
        }
        Ok(true)
    }
}

impl C2cSettings {
    /// The state for a frame at `frame` inside the page at `top` (the tab's
    /// URL, when the browser tells it). The popup's toggles are about the
    /// page the user sees, so the top page's site decides; a frame from a
    /// site that is excluded or switched off stays off all the same, and
    /// skips the confirmation only if both sites do. A frame without a site
    /// of its own (`about:blank`, `srcdoc`) is its page's.
    pub fn frame_state(&self, frame: &str, top: Option<&str>) -> SiteState {
        let own = self.site_state(frame);
        let Some(top) = top.filter(|t| site_of(t).is_some()) else {
            return own;
        };
        let mut state = self.site_state(top);
        if own.site.is_some() {
            state.active &= own.active;
            state.skip_confirmation &= own.skip_confirmation;
        }
        state
    }
}

/// How long a call waits for its confirmation (in a page or in the
/// confirmation window) before the worker forgets it.
pub const PENDING_CALL_TTL_MS: u64 = 2 * 60 * 1000;

/// A call the user asked for (the context menu, or a number in a frame) that
/// waits for their confirmation somewhere else: in the top document of the
/// tab, or in the extension's confirmation window. Whoever confirms must
/// present `token`, which only that confirmation was given, so no page can
/// confirm a call it did not see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCall {
    /// Random, from the worker; hex.
    pub token: String,
    /// What goes to `dial`.
    pub target: String,
    /// What the confirmation shows: the exact dial string.
    pub dial: String,
    /// The tab whose top document shows the confirmation; `None` when the
    /// extension's window shows it.
    pub tab: Option<i64>,
    /// Wall-clock milliseconds (the worker may be restarted meanwhile, so no
    /// monotonic clock of its own spans the wait).
    pub created_ms: u64,
}

/// Why a confirmation was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PendingError {
    #[error("no call waits for that confirmation")]
    Unknown,
    #[error("the confirmation came from another tab")]
    WrongTab,
    #[error("the confirmation came too late")]
    Expired,
}

impl PendingCall {
    /// Whether a confirmation with `token`, from `tab` (a content script's
    /// tab; `None` for the extension's own pages), at `now_ms` confirms
    /// this call. A content script may only confirm what its own tab showed;
    /// the extension's pages may confirm any.
    pub fn confirms(&self, token: &str, tab: Option<i64>, now_ms: u64) -> Result<(), PendingError> {
        if self.token.is_empty() || !constant_time_eq(self.token.as_bytes(), token.as_bytes()) {
            return Err(PendingError::Unknown);
        }
        if tab.is_some() && tab != self.tab {
            return Err(PendingError::WrongTab);
        }
        if now_ms.saturating_sub(self.created_ms) > PENDING_CALL_TTL_MS || now_ms < self.created_ms
        {
            return Err(PendingError::Expired);
        }
        Ok(())
    }
}

/// Compares tokens without stopping at the first difference, so timing
/// tells a guesser nothing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the exclusion `entry` covers `host`: the same host or a subdomain.
fn covers(entry: &str, host: &str) -> bool {
    host == entry
        || host
            .strip_suffix(entry)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// The host of an http(s) URL, lower-cased; `None` for other schemes and
/// for anything that does not parse.
pub fn site_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        // IPv6 literal: keep the brackets, the port follows the `]`.
        let end = v6.find(']')?;
        host_port.get(..end + 2)?
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    valid_host(host)
}

/// A user-typed exclusion: a host, or a URL whose host is taken.
fn exclusion_host(entry: &str) -> Option<String> {
    let entry = entry.trim();
    if entry.contains("://") {
        site_of(entry)
    } else {
        valid_host(entry.trim_start_matches("*.").trim_end_matches('/'))
    }
}

fn valid_host(host: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let ok = !host.is_empty()
        && host.len() <= MAX_HOST_LEN
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
    ok.then_some(host)
}

/// What to hand to `dial` (and to [`dial_selection`](crate::phone::dial_selection)
/// for the confirmation) for a link's `href` or a match's text: a `sip:` or
/// `sips:` URI's user part; anything else (text, `tel:`, `callto:`) as it is.
pub fn dial_input(text: &str) -> &str {
    let text = text.trim();
    let rest = ["sips:", "sip:"].into_iter().find_map(|scheme| {
        text.get(..scheme.len())
            .filter(|p| p.eq_ignore_ascii_case(scheme))
            .and_then(|_| text.get(scheme.len()..))
    });
    match rest {
        Some(rest) => rest.split(['@', ';', '?']).next().unwrap_or(""),
        None => text,
    }
}

/// Why a `detect` request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DetectError {
    #[error("more than {MAX_DETECT_TEXTS} texts")]
    TooManyTexts,
    #[error("more than {MAX_DETECT_UTF16} UTF-16 code units")]
    TooLong,
}

/// Checks a `detect` request's caps before any text is scanned.
pub fn check_detect<S: AsRef<str>>(texts: &[S]) -> Result<(), DetectError> {
    if texts.len() > MAX_DETECT_TEXTS {
        return Err(DetectError::TooManyTexts);
    }
    let mut total = 0usize;
    for text in texts {
        // A UTF-16 length is at most the UTF-8 length: skip counting when
        // the bytes alone fit.
        let text = text.as_ref();
        total += if text.len() <= MAX_DETECT_UTF16 {
            text.encode_utf16().count()
        } else {
            text.encode_utf16().take(MAX_DETECT_UTF16 + 1).count()
        };
        if total > MAX_DETECT_UTF16 {
            return Err(DetectError::TooLong);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_http_page_is_active_by_default() {
        let s = C2cSettings::default();
        let state = s.site_state("https://CRM.Example.com:8443/contacts?id=1#x");
        assert_eq!(state.site.as_deref(), Some("crm.example.com"));
        assert!(state.active && state.enabled && state.site_enabled);
        assert!(!state.excluded && !state.skip_confirmation);
        assert_eq!(
            s.site_state("http://user:pw@127.0.0.1:8080/")
                .site
                .as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            s.site_state("http://[::1]:80/").site.as_deref(),
            Some("[::1]")
        );
    }

    #[test]
    fn extension_pages_and_other_schemes_are_never_scanned() {
        let s = C2cSettings::default();
        for url in [
            "chrome-extension://abc/popup.html",
            "file:///tmp/x.html",
            "about:blank",
            "",
            "https://",
        ] {
            let state = s.site_state(url);
            assert!(!state.active && state.site.is_none(), "{url}");
        }
    }

    #[test]
    fn exclusions_cover_subdomains_but_not_lookalikes() {
        let s = C2cSettings {
            excluded: vec![
                "Example.com".into(),
                "https://mail.test/inbox".into(),
                "*.corp.test".into(),
            ],
            ..C2cSettings::default()
        }
        .validate()
        .unwrap();
        assert_eq!(s.excluded, ["example.com", "mail.test", "corp.test"]);
        assert!(s.site_state("https://example.com/").excluded);
        assert!(s.site_state("https://a.b.example.com/").excluded);
        assert!(!s.site_state("https://notexample.com/").excluded);
        assert!(s.site_state("https://mail.test/").excluded);
        assert!(!s.site_state("https://mail.test/").active);
    }

    #[test]
    fn global_switch_and_site_toggle_both_turn_it_off() {
        let mut s = C2cSettings::default();
        assert!(s
            .change_site(
                "https://crm.test/a",
                SiteChange {
                    enabled: Some(false),
                    skip_confirmation: None
                }
            )
            .unwrap());
        let state = s.site_state("https://crm.test/b");
        assert!(!state.active && !state.site_enabled && state.enabled);
        assert!(s.site_state("https://other.test/").active);
        s.change_site(
            "https://crm.test/",
            SiteChange {
                enabled: Some(true),
                skip_confirmation: Some(true),
            },
        )
        .unwrap();
        let state = s.site_state("https://crm.test/");
        assert!(state.active && state.skip_confirmation);
        s.change_site(
            "https://crm.test/",
            SiteChange {
                enabled: None,
                skip_confirmation: Some(false),
            },
        )
        .unwrap();
        assert!(s.sites.is_empty(), "defaults are not stored");
        s.enabled = false;
        assert!(!s.site_state("https://crm.test/").active);
        assert!(!s.change_site("about:blank", SiteChange::default()).unwrap());
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad_host = C2cSettings {
            excluded: vec!["exa mple.com".into()],
            ..C2cSettings::default()
        };
        assert_eq!(bad_host.validate(), Err(SettingsError::InvalidHost));
        let too_many = C2cSettings {
            excluded: (0..=MAX_SITES).map(|i| format!("h{i}.test")).collect(),
            ..C2cSettings::default()
        };
        assert_eq!(too_many.validate(), Err(SettingsError::TooManySites));
        let stored: C2cSettings = serde_json::from_str(r#"{"excluded":["a.test"]}"#).unwrap();
        assert!(stored.enabled, "missing fields take their defaults");
    }

    #[test]
    fn frames_follow_their_page_and_their_own_site() {
        let mut s = C2cSettings::default();
        let top = Some("http://127.0.0.1:8000/crm");
        assert!(s.frame_state("http://localhost:9000/widget", top).active);
        assert!(
            s.frame_state("about:blank", top).active,
            "srcdoc and about:blank frames are their page's"
        );
        assert!(!s.frame_state("about:blank", None).active);
        let off = SiteChange {
            enabled: Some(false),
            skip_confirmation: None,
        };
        s.change_site("http://127.0.0.1/", off).unwrap();
        assert!(
            !s.frame_state("http://localhost:9000/widget", top).active,
            "the page's toggle covers its frames"
        );
        s.change_site(
            "http://127.0.0.1/",
            SiteChange {
                enabled: Some(true),
                skip_confirmation: Some(true),
            },
        )
        .unwrap();
        let frame = s.frame_state("http://localhost:9000/widget", top);
        assert!(
            frame.active && !frame.skip_confirmation,
            "a foreign frame asks unless its own site skips too"
        );
        assert!(
            s.frame_state("http://127.0.0.1:8000/inner", top)
                .skip_confirmation
        );
        s.excluded = vec!["localhost".into()];
        assert!(
            !s.frame_state("http://localhost:9000/widget", top).active,
            "an excluded frame stays off"
        );
        assert!(s
            .frame_state("http://localhost:9000/widget", Some("chrome://newtab/"))
            .site
            .is_some());
    }

    #[test]
    fn a_pending_call_is_confirmed_only_with_its_token_from_its_tab_in_time() {
        let call = PendingCall {
            token: "a1b2".into(),
            target: "+14155550132".into(),
            dial: "4155550132".into(),
            tab: Some(7),
            created_ms: 1_000,
        };
        assert_eq!(call.confirms("a1b2", Some(7), 2_000), Ok(()));
        assert_eq!(
            call.confirms("a1b2", None, 2_000),
            Ok(()),
            "the extension's own window"
        );
        assert_eq!(
            call.confirms("a1b3", Some(7), 2_000),
            Err(PendingError::Unknown)
        );
        assert_eq!(
            call.confirms("", Some(7), 2_000),
            Err(PendingError::Unknown)
        );
        assert_eq!(
            call.confirms("a1b2", Some(8), 2_000),
            Err(PendingError::WrongTab)
        );
        assert_eq!(
            call.confirms("a1b2", Some(7), 1_001 + PENDING_CALL_TTL_MS),
            Err(PendingError::Expired)
        );
        assert_eq!(
            call.confirms("a1b2", Some(7), 999),
            Err(PendingError::Expired),
            "a clock set back"
        );
        let empty = PendingCall {
            token: String::new(),
            ..call
        };
        assert_eq!(empty.confirms("", None, 2_000), Err(PendingError::Unknown));
    }

    #[test]
    fn links_give_what_to_dial() {
        assert_eq!(dial_input(" sip:1003@pbx.test;transport=ws"), "1003");
        assert_eq!(dial_input("SIPS:+14155550132@x"), "+14155550132");
        assert_eq!(dial_input("tel:+1-415-555-0132"), "tel:+1-415-555-0132");
        assert_eq!(dial_input("(415) 555-0132"), "(415) 555-0132");
        assert_eq!(dial_input("sip:"), "");
    }

    #[test]
    fn detect_caps_count_utf16_units() {
        assert_eq!(check_detect(&["a"; MAX_DETECT_TEXTS]), Ok(()));
        assert_eq!(
            check_detect(&["a"; MAX_DETECT_TEXTS + 1]),
            Err(DetectError::TooManyTexts)
        );
        // Three UTF-8 bytes but one UTF-16 unit each.
        let cjk = "电".repeat(MAX_DETECT_UTF16);
        assert_eq!(check_detect(&[cjk.as_str()]), Ok(()));
        assert_eq!(
            check_detect(&[cjk.as_str(), "x"]),
            Err(DetectError::TooLong)
        );
        let huge = "1".repeat(10 * MAX_DETECT_UTF16);
        assert_eq!(check_detect(&[huge]), Err(DetectError::TooLong));
    }
}
