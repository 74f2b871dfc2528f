//! "Call <selection>" and pasted numbers: whatever the user selected, turned
//! into a dial string or a clear reason why not.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::region::{split_country_code, Region};
use super::scan::fold;
use super::{find_numbers, DialRules};

/// Why a selection cannot be dialled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DialError {
    #[error("there is no number to call")]
    Empty,
    #[error("'{0}' does not belong in a phone number")]
    InvalidCharacter(char),
    #[error("'+' may only start a number")]
    MisplacedPlus,
    #[error("the number is too long")]
    TooLong,
    #[error("the number does not start with a country code")]
    UnknownCountryCode,
}

/// Longest dial string accepted: E.164's 15 digits with room for prefixes
/// and feature codes.
const MAX_DIGITS: usize = 32;

/// A number to call and the extension to send once answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dial {
    pub dial: String,
    pub extension: Option<String>,
}

/// "Call <selection>" and `tel:`/`callto:` links: one number in the
/// selection (labels around it are fine) is read like page text, so its
/// extension is kept apart; anything else is read by [`normalize_dial`].
pub fn dial_selection(text: &str, rules: &DialRules) -> Result<Dial, DialError> {
    if let Some((number, params)) = tel_uri(text.trim()) {
        let extension = params
            .split(';')
            .find_map(|p| p.strip_prefix("ext="))
            .map(|e| e.chars().filter(char::is_ascii_digit).collect::<String>())
            .filter(|e| !e.is_empty());
        return Ok(Dial {
            dial: normalize_dial(number, rules)?,
            extension,
        });
    }
    let found = find_numbers(text, rules);
    if let [only] = found.as_slice() {
        let outside = text
            .encode_utf16()
            .enumerate()
            .filter(|(i, _)| *i < only.start_utf16 || *i >= only.end_utf16);
        if !outside
            .map(|(_, u)| u)
            .any(|u| (u16::from(b'0')..=u16::from(b'9')).contains(&u))
        {
            return Ok(Dial {
                dial: only.dial.clone(),
                extension: only.extension.clone(),
            });
        }
    }
    Ok(Dial {
        dial: normalize_dial(text, rules)?,
        extension: None,
    })
}

/// The number and parameters of a `tel:` or `callto:` URI (RFC 3966).
fn tel_uri(input: &str) -> Option<(&str, &str)> {
    let scheme = ["tel:", "callto:"].into_iter().find(|s| {
        input
            .get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    })?;
    let rest = &input[scheme.len()..];
    Some(rest.split_once(';').unwrap_or((rest, "")))
}

/// Turns a selected or pasted number into the digits to dial.
///
/// Keeps digits, `*`, `#` and a leading `+`; drops spaces (also NBSP and
/// full-width), dashes, dots, slashes and brackets, a `tel:`/`callto:`
/// scheme with its parameters and a `(0)` after the country code. Short
/// numbers and feature codes (`*72`, `#31#`) are internal and dialled as
/// they are. Numbers in national
/// or international format are dialled by the [`DialRules`]; national numbers
/// that do not fit the user's plan are dialled as written, with the outbound
/// prefix.
pub fn normalize_dial(input: &str, rules: &DialRules) -> Result<String, DialError> {
    let input = input.trim();
    let input = match tel_uri(input) {
        Some((number, _)) => number,
        None => input,
    };
    let folded: Vec<char> = input.chars().map(fold).collect();
    let mut out = String::new();
    let mut plus = false;
    let mut i = 0;
    while let Some(&c) = folded.get(i) {
        match c {
            '0'..='9' | '*' | '#' => out.push(c),
            '+' if out.is_empty() && !plus => plus = true,
            '+' => return Err(DialError::MisplacedPlus),
            '(' if plus && folded.get(i + 1) == Some(&'0') && folded.get(i + 2) == Some(&')') => {
                i += 2
            }
            ' ' | '-' | '.' | '/' | '(' | ')' | '[' | ']' => {}
            c if c.is_whitespace() => {}
            c => return Err(DialError::InvalidCharacter(c)),
        }
        i += 1;
        if out.len() > MAX_DIGITS {
            return Err(DialError::TooLong);
        }
    }
    if out.is_empty() {
        return Err(DialError::Empty);
    }
    let internal = out.contains(['*', '#']);
    if internal || (!plus && out.len() <= usize::from(rules.internal_max_digits)) {
        return Ok(if plus { format!("+{out}") } else { out });
    }
    let international = if plus {
        Some(out.as_str())
    } else {
        [rules.region.international_prefix(), "00"]
            .into_iter()
            .find_map(|p| out.strip_prefix(p))
    };
    if let Some(rest) = international {
        let (cc, rest) = split_country_code(rest).ok_or(DialError::UnknownCountryCode)?;
        let nsn = match Region::for_country_code(cc, rest) {
            Some(r) if r.trunk_prefix() == '0' => rest.strip_prefix('0').unwrap_or(rest),
            _ => rest,
        };
        return Ok(rules.dial(cc, nsn));
    }
    Ok(match rules.region.parse_national(&out) {
        Some(nsn) => rules.dial(rules.region.country_code(), &nsn),
        None => format!("{}{out}", rules.outbound_prefix),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::{InternationalFormat, NationalFormat};

    #[test]
    fn selections_become_dial_strings() {
        let gb = DialRules::for_region(Region::GB);
        assert_eq!(
            normalize_dial("+44 (0)20 7946 0958", &gb).unwrap(),
            "02079460958"
        );
        assert_eq!(
            normalize_dial(" 020 7946 0958\n", &gb).unwrap(),
            "02079460958"
        );
        assert_eq!(
            normalize_dial("+1 (415) 555-0132", &gb).unwrap(),
            "0014155550132"
        );
        assert_eq!(
            normalize_dial("tel:+33-1-23-45-67-89", &gb).unwrap(),
            "0033123456789"
        );
        let us = DialRules {
            outbound_prefix: "9".into(),
            ..DialRules::default()
        };
        assert_eq!(normalize_dial("415.555.0132", &us).unwrap(), "94155550132");
        assert_eq!(
            normalize_dial("011 44 20 7946 0958", &us).unwrap(),
            "9011442079460958"
        );
        let cn = DialRules::for_region(Region::CN);
        assert_eq!(
            normalize_dial("１３８－１２３４－５６７８", &cn).unwrap(),
            "13812345678"
        );
    }

    #[test]
    fn extensions_and_feature_codes_are_dialled_as_they_are() {
        let rules = DialRules {
            outbound_prefix: "9".into(),
            ..DialRules::default()
        };
        assert_eq!(normalize_dial("1001", &rules).unwrap(), "1001");
        assert_eq!(
            normalize_dial("*72 415 555 0132", &rules).unwrap(),
            "*724155550132"
        );
        assert_eq!(normalize_dial("#31#", &rules).unwrap(), "#31#");
    }

    #[test]
    fn international_format_follows_the_rules() {
        let rules = DialRules {
            region: Region::FR,
            outbound_prefix: "0".into(),
            international: InternationalFormat::Plus,
            national: NationalFormat::International,
            internal_max_digits: 4,
        };
        assert_eq!(
            normalize_dial("01 23 45 67 89", &rules).unwrap(),
            "+33123456789"
        );
        assert_eq!(
            normalize_dial("0049 30 12345678", &rules).unwrap(),
            "+493012345678"
        );
    }

    #[test]
    fn selections_keep_the_extension_apart() {
        let us = DialRules::default();
        let dial = |d: &str, e: Option<&str>| Dial {
            dial: d.into(),
            extension: e.map(Into::into),
        };
        assert_eq!(
            dial_selection("Phone: +1 415-555-0132 ext. 12", &us),
            Ok(dial("4155550132", Some("12")))
        );
        assert_eq!(
            dial_selection("tel:+1-415-555-0132;ext=12", &us),
            Ok(dial("4155550132", Some("12")))
        );
        assert_eq!(dial_selection("callto:1001", &us), Ok(dial("1001", None)));
        assert_eq!(dial_selection("555 0132", &us), Ok(dial("5550132", None)));
        assert_eq!(
            dial_selection("hello", &us),
            Err(DialError::InvalidCharacter('h'))
        );
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let rules = DialRules::default();
        assert_eq!(normalize_dial("   ", &rules), Err(DialError::Empty));
        assert_eq!(
            normalize_dial("call me", &rules),
            Err(DialError::InvalidCharacter('c'))
        );
        assert_eq!(
            normalize_dial("12+34", &rules),
            Err(DialError::MisplacedPlus)
        );
        assert_eq!(
            normalize_dial(&"1".repeat(40), &rules),
            Err(DialError::TooLong)
        );
        assert_eq!(
            normalize_dial("+0 123 456", &rules),
            Err(DialError::UnknownCountryCode)
        );
    }
}
