//! Click-to-call: finds phone numbers in page text and turns them, or a
//! selection, into the digits the user's PBX should dial.
//!
//! The content script sends the worker batches of text-node strings; the
//! worker answers each with [`find_numbers`]. Offsets are in UTF-16 code
//! units because that is how JavaScript indexes strings (`Range.setStart`
//! on the same text node). A number split across text nodes
//! (`<b>415</b>-555-0132`) is not found.
//!
//! Which numbers are found: international ones (`+`, `00`, and `011` for
//! NANP users) for every country code, checked against the numbering plans of
//! [`Region`] and against E.164's lengths elsewhere; national ones in the
//! user's own region ([`DialRules::region`]); and NANP layouts such as
//! `(415) 555-0132` from anywhere. A national number of another country
//! (`020 7946 0958` for a user in France) is left alone: it cannot be dialled
//! without knowing its country.
//!
//! "Call <selection>" and `tel:`/`callto:` links: [`dial_selection`] (a
//! number found in the selection keeps its extension apart; otherwise the
//! selection is read as typed by hand with [`normalize_dial`]).
//!
//! ```
//! use ringside::phone::{find_numbers, DialRules, Region};
//!
//! let rules = DialRules { outbound_prefix: "9".into(), ..DialRules::for_region(Region::GB) };
//! let found = find_numbers("T: +44 20 7946 0958 ext. 12 · M: 07700 900123", &rules);
//! assert_eq!(found[0].dial, "902079460958");
//! assert_eq!(found[0].extension.as_deref(), Some("12"));
//! assert_eq!((found[0].start_utf16, found[0].end_utf16), (3, 27));
//! assert_eq!(found[1].e164, "+447700900123");
//! ```

mod detect;
mod normalize;
mod region;
mod rules;
mod scan;

use serde::{Deserialize, Serialize};

pub use normalize::{dial_selection, normalize_dial, Dial, DialError};
pub use region::Region;
pub use rules::{DialRules, InternationalFormat, NationalFormat};

/// A phone number found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneMatch {
    /// Where the number (with its extension) starts, in UTF-16 code units.
    pub start_utf16: usize,
    /// Where it ends (exclusive), in UTF-16 code units.
    pub end_utf16: usize,
    /// The number as written on the page.
    pub text: String,
    /// What to dial, by the user's [`DialRules`]; show it in the confirmation.
    pub dial: String,
    /// The number in E.164 form (`+442079460958`), for display and history.
    pub e164: String,
    /// Digits to send as DTMF once the call is answered.
    pub extension: Option<String>,
    /// The number's country, when it is one the detector knows.
    pub region: Option<Region>,
}

/// Every phone number in `text`, in order. Linear in the text's length;
/// never panics.
pub fn find_numbers(text: &str, rules: &DialRules) -> Vec<PhoneMatch> {
    detect::find(text, rules)
}

/// [`find_numbers`] over a batch of text nodes: one list per node, in order.
pub fn find_numbers_in_batch<S: AsRef<str>>(
    texts: &[S],
    rules: &DialRules,
) -> Vec<Vec<PhoneMatch>> {
    texts
        .iter()
        .map(|t| find_numbers(t.as_ref(), rules))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_matches(text: &str, rules: &DialRules) {
        let utf16: Vec<u16> = text.encode_utf16().collect();
        let mut last_end = 0;
        for m in find_numbers(text, rules) {
            assert!(
                last_end <= m.start_utf16 && m.start_utf16 < m.end_utf16,
                "{m:?}"
            );
            last_end = m.end_utf16;
            // Never a piece of a longer run of digits or letters.
            let glued =
                |u: Option<&u16>| u.is_some_and(|&u| u < 128 && (u as u8).is_ascii_alphanumeric());
            assert!(
                !glued(m.start_utf16.checked_sub(1).and_then(|i| utf16.get(i))),
                "{m:?}"
            );
            assert!(!glued(utf16.get(m.end_utf16)), "{m:?}");
            let slice = utf16
                .get(m.start_utf16..m.end_utf16)
                .expect("offsets inside the text");
            assert_eq!(String::from_utf16_lossy(slice), m.text);
            let digits = m.dial.strip_prefix('+').unwrap_or(&m.dial);
            assert!(
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
                "{m:?}"
            );
        }
        if let Ok(dial) = normalize_dial(text, rules) {
            assert!(
                dial.chars()
                    .all(|c| c.is_ascii_digit() || "*#+".contains(c)),
                "{dial}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn phone_like_noise_never_panics(
            text in "[0-9０-９ +()（）.\\-–/xX转@:,#$a-z\u{a0}\u{3000}电话😀\n]{0,120}",
            region in proptest::sample::select(Region::ALL.to_vec()),
        ) {
            check_matches(&text, &DialRules::for_region(region));
        }

        #[test]
        fn numbers_glued_to_anything_keep_the_invariants(
            before in "[a-z0-9 .\\-/:,+(@#$=]{0,4}",
            number in proptest::sample::select(vec![
                "415-555-0132", "+44 20 7946 0958", "13812345678", "010-62345678", "(030) 1234 5678",
                "01 23 45 67 89", "090-1234-5678", "+91 98765 43210", "0755-86001234转8",
            ]),
            after in "[a-z0-9 .\\-/:,)@%x]{0,4}",
            region in proptest::sample::select(Region::ALL.to_vec()),
        ) {
            check_matches(&format!("{before}{number}{after}"), &DialRules::for_region(region));
        }

        #[test]
        fn any_text_never_panics(text in any::<String>()) {
            check_matches(&text, &DialRules::default());
        }
    }

    #[test]
    fn json_shapes_the_content_script_and_settings_rely_on() {
        let rules = DialRules {
            outbound_prefix: "9".into(),
            ..DialRules::for_region(Region::GB)
        };
        let m = &find_numbers("Tel: 020 7946 0958 x12", &rules)[0];
        assert_eq!(
            serde_json::to_value(m).unwrap(),
            serde_json::json!({
                "start_utf16": 5, "end_utf16": 22, "text": "020 7946 0958 x12",
                "dial": "902079460958", "e164": "+442079460958", "extension": "12", "region": "GB"
            })
        );
        assert_eq!(
            serde_json::to_value(&rules).unwrap(),
            serde_json::json!({
                "region": "GB", "outbound_prefix": "9", "international": "region_prefix",
                "national": "region_default", "internal_max_digits": 6
            })
        );
        let custom = DialRules {
            international: InternationalFormat::Prefix("00".into()),
            ..rules
        };
        assert_eq!(
            serde_json::to_value(&custom).unwrap()["international"],
            serde_json::json!({"prefix": "00"})
        );
    }

    #[test]
    fn batches_keep_node_order() {
        let rules = DialRules::for_region(Region::CN);
        let found =
            find_numbers_in_batch(&["手机：13812345678", "无", "传真 010-62345679"], &rules);
        let dials: Vec<Vec<&str>> = found
            .iter()
            .map(|n| n.iter().map(|m| m.dial.as_str()).collect())
            .collect();
        assert_eq!(dials, [vec!["13812345678"], vec![], vec!["01062345679"]]);
    }

    #[test]
    fn a_huge_run_of_numbers_stays_linear() {
        let page = "Tel 415-555-0132, fax (415) 555-0199; ".repeat(20_000);
        assert_eq!(find_numbers(&page, &DialRules::default()).len(), 40_000);
        let digits = "1 ".repeat(200_000);
        assert!(find_numbers(&digits, &DialRules::default()).is_empty());
    }
}
