//! Numbering plans of the regions the detector knows well, and the country
//! calling codes of all others.
//!
//! Every number is reduced to a country calling code and a national
//! significant number (NSN, ITU-T E.164: the digits after the country code,
//! without the national trunk prefix). The rules here are deliberately short:
//! each plan checks the NSN's length and leading digits, which is what tells a
//! phone number from the other digit runs on a web page.

use serde::{Deserialize, Serialize};

/// A country whose numbering plan the detector knows, and the user's own
/// country in [`DialRules`](super::DialRules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Region {
    /// United States (NANP, +1).
    US,
    /// Canada (NANP, +1).
    CA,
    /// China (+86).
    CN,
    /// United Kingdom (+44).
    GB,
    /// Germany (+49).
    DE,
    /// France (+33).
    FR,
    /// Japan (+81).
    JP,
    /// India (+91).
    IN,
}

impl Region {
    /// All regions, for settings pickers.
    pub const ALL: [Region; 8] = [
        Region::US,
        Region::CA,
        Region::CN,
        Region::GB,
        Region::DE,
        Region::FR,
        Region::JP,
        Region::IN,
    ];

    /// The ISO 3166-1 alpha-2 code (also the serde form).
    pub fn code(self) -> &'static str {
        match self {
            Region::US => "US",
            Region::CA => "CA",
            Region::CN => "CN",
            Region::GB => "GB",
            Region::DE => "DE",
            Region::FR => "FR",
            Region::JP => "JP",
            Region::IN => "IN",
        }
    }

    /// The region of an ISO 3166-1 code (`"GB"`), or of a browser locale
    /// (`"en-GB"`, `"zh-CN"`, `"de"`) for a first default in settings.
    pub fn from_code(code: &str) -> Option<Region> {
        let code = code.trim();
        let country = match code.split(['-', '_']).nth(1) {
            Some(country) => country.to_ascii_uppercase(),
            // A bare language: the country most of its speakers call from.
            None => match code.to_ascii_lowercase().as_str() {
                "zh" => "CN".into(),
                "de" => "DE".into(),
                "fr" => "FR".into(),
                "ja" => "JP".into(),
                "hi" => "IN".into(),
                "en" => "US".into(),
                _ => code.to_ascii_uppercase(),
            },
        };
        Region::ALL.into_iter().find(|r| r.code() == country)
    }

    /// The country calling code.
    pub fn country_code(self) -> u16 {
        match self {
            Region::US | Region::CA => 1,
            Region::CN => 86,
            Region::GB => 44,
            Region::DE => 49,
            Region::FR => 33,
            Region::JP => 81,
            Region::IN => 91,
        }
    }

    /// The prefix dialled from this country to reach another one.
    pub fn international_prefix(self) -> &'static str {
        match self {
            Region::US | Region::CA => "011",
            Region::JP => "010",
            _ => "00",
        }
    }

    /// The national trunk prefix written before the NSN inside the country.
    pub fn trunk_prefix(self) -> char {
        match self {
            Region::US | Region::CA => '1',
            _ => '0',
        }
    }

    /// Whether `nsn` (ASCII digits) is a valid national significant number.
    pub fn is_valid_nsn(self, nsn: &str) -> bool {
        let b = nsn.as_bytes();
        let len = b.len();
        let first = b.first().copied().unwrap_or(b'0');
        if first == b'0' || !b.iter().all(u8::is_ascii_digit) {
            return false;
        }
        match self {
            Region::US | Region::CA => is_nanp_nsn(b),
            Region::CN => is_cn_mobile(b) || is_cn_service(b) || is_cn_landline(b),
            Region::GB => {
                (len == 10 && matches!(first, b'1' | b'2' | b'3' | b'5' | b'7' | b'8' | b'9'))
                    || (len == 9 && (first == b'1' || nsn.starts_with("800")))
            }
            // German area codes and subscriber numbers vary in length; short
            // NSNs are rejected because most six-digit runs on a page are not
            // phone numbers.
            Region::DE => (7..=11).contains(&len),
            Region::FR => len == 9,
            Region::JP => {
                len == 9
                    || (len == 10
                        && b.get(1) == Some(&b'0')
                        && matches!(first, b'2' | b'5' | b'6' | b'7' | b'8' | b'9'))
            }
            Region::IN => len == 10 || (len == 11 && is_in_service(nsn)),
        }
    }

    /// The number as dialled inside the country: the NSN with the trunk
    /// prefix where the plan wants one.
    pub(crate) fn national_form(self, nsn: &str, with_trunk_prefix: bool) -> String {
        let b = nsn.as_bytes();
        let trunk = with_trunk_prefix
            && match self {
                // Mobiles and 400/800 numbers are dialled without the 0.
                Region::CN => is_cn_landline(b) && !is_cn_mobile(b) && !is_cn_service(b),
                Region::IN => !is_in_service(nsn),
                _ => true,
            };
        let mut out = String::with_capacity(nsn.len() + 1);
        if trunk {
            out.push(self.trunk_prefix());
        }
        out.push_str(nsn);
        out
    }

    /// The region that owns a country code and NSN, if it is one of ours.
    pub(crate) fn for_country_code(cc: u16, nsn: &str) -> Option<Region> {
        Some(match cc {
            1 => {
                if nsn
                    .get(..3)
                    .is_some_and(|area| CANADIAN_AREA_CODES.contains(&area))
                {
                    Region::CA
                } else {
                    Region::US
                }
            }
            86 => Region::CN,
            44 => Region::GB,
            49 => Region::DE,
            33 => Region::FR,
            81 => Region::JP,
            91 => Region::IN,
            _ => return None,
        })
    }

    /// Reads a number written in this country's national format (`digits`
    /// without separators) and returns its NSN.
    pub(crate) fn parse_national(self, digits: &str) -> Option<String> {
        let b = digits.as_bytes();
        let nsn = match self {
            Region::US | Region::CA => match b.len() {
                10 => digits,
                11 if b[0] == b'1' => &digits[1..],
                _ => return None,
            },
            Region::CN if b.first() != Some(&b'0') => {
                if is_cn_mobile(b) || is_cn_service(b) {
                    digits
                } else {
                    return None;
                }
            }
            Region::IN if b.first() != Some(&b'0') => {
                let mobile = b.len() == 10 && matches!(b[0], b'6'..=b'9');
                if mobile || (b.len() == 11 && is_in_service(digits)) {
                    digits
                } else {
                    return None;
                }
            }
            _ => digits.strip_prefix('0')?,
        };
        self.is_valid_nsn(nsn).then(|| nsn.to_string())
    }
}

/// Indian toll-free (1800) and shared-cost (1860) numbers, dialled without 0.
fn is_in_service(nsn: &str) -> bool {
    nsn.starts_with("1800") || nsn.starts_with("1860")
}

fn is_nanp_nsn(b: &[u8]) -> bool {
    // NXX-NXX-XXXX; N11 codes are service codes, not area codes.
    b.len() == 10
        && matches!(b[0], b'2'..=b'9')
        && !(b[1] == b'1' && b[2] == b'1')
        && matches!(b[3], b'2'..=b'9')
}

fn is_cn_mobile(b: &[u8]) -> bool {
    b.len() == 11 && b[0] == b'1' && matches!(b[1], b'3'..=b'9')
}

fn is_cn_service(b: &[u8]) -> bool {
    b.len() == 10 && (b.starts_with(b"400") || b.starts_with(b"800"))
}

fn is_cn_landline(b: &[u8]) -> bool {
    // Two-digit area codes (10 Beijing, 2x big cities) carry 8-digit
    // subscriber numbers; three-digit ones 7 or 8. Subscriber numbers start 2-8.
    let subscriber_ok = |i: usize| b.get(i).is_some_and(|d| matches!(d, b'2'..=b'8'));
    match b.first() {
        Some(b'1') => b.len() == 10 && b.get(1) == Some(&b'0') && subscriber_ok(2),
        Some(b'2') => b.len() == 10 && subscriber_ok(2),
        Some(b'3'..=b'9') => (10..=11).contains(&b.len()) && subscriber_ok(3),
        _ => false,
    }
}

/// Splits `digits` (after `+` or an international prefix) into a country
/// calling code and the rest.
pub(crate) fn split_country_code(digits: &str) -> Option<(u16, &str)> {
    let b = digits.as_bytes();
    let d = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u16::from(c - b'0'))
    };
    let first = d(0)?;
    if first == 0 {
        return None;
    }
    if first == 1 || first == 7 {
        return Some((first, &digits[1..]));
    }
    let two = first * 10 + d(1)?;
    if TWO_DIGIT_CODES.contains(&two) {
        return Some((two, &digits[2..]));
    }
    // The two-digit prefixes 28, 83 and 89 are spare in E.164.
    if matches!(two, 28 | 83 | 89) {
        return None;
    }
    let three = two * 10 + d(2)?;
    Some((three, &digits[3..]))
}

const TWO_DIGIT_CODES: &[u16] = &[
    20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56,
    57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
];

const CANADIAN_AREA_CODES: &[&str] = &[
    "204", "226", "236", "249", "250", "289", "306", "343", "365", "367", "403", "416", "418",
    "431", "437", "438", "450", "506", "514", "519", "548", "579", "581", "587", "604", "613",
    "639", "647", "672", "705", "709", "778", "780", "782", "807", "819", "825", "867", "873",
    "902", "905", "263", "354", "368",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_formats_reduce_to_nsn() {
        assert_eq!(
            Region::US.parse_national("14155550132").as_deref(),
            Some("4155550132")
        );
        assert_eq!(
            Region::GB.parse_national("02079460958").as_deref(),
            Some("2079460958")
        );
        assert_eq!(
            Region::CN.parse_national("13812345678").as_deref(),
            Some("13812345678")
        );
        assert_eq!(
            Region::CN.parse_national("075588888888").as_deref(),
            Some("75588888888")
        );
        assert_eq!(
            Region::CN.parse_national("4008208820").as_deref(),
            Some("4008208820")
        );
        assert_eq!(
            Region::IN.parse_national("9876543210").as_deref(),
            Some("9876543210")
        );
        assert_eq!(Region::US.parse_national("4115550132"), None);
        assert_eq!(Region::FR.parse_national("123456789"), None);
    }

    #[test]
    fn trunk_prefix_only_where_the_plan_dials_it() {
        assert_eq!(Region::CN.national_form("13812345678", true), "13812345678");
        assert_eq!(Region::CN.national_form("1062345678", true), "01062345678");
        assert_eq!(Region::GB.national_form("2079460958", true), "02079460958");
        assert_eq!(Region::US.national_form("4155550132", true), "14155550132");
    }

    #[test]
    fn regions_from_codes_and_locales() {
        assert_eq!(Region::from_code("GB"), Some(Region::GB));
        assert_eq!(Region::from_code("en-GB"), Some(Region::GB));
        assert_eq!(Region::from_code("zh_cn"), Some(Region::CN));
        assert_eq!(Region::from_code("ja"), Some(Region::JP));
        assert_eq!(Region::from_code("pt-BR"), None);
        assert_eq!(Region::from_code(""), None);
    }

    #[test]
    fn country_codes_of_one_two_and_three_digits() {
        assert_eq!(split_country_code("14155550132"), Some((1, "4155550132")));
        assert_eq!(split_country_code("442079460958"), Some((44, "2079460958")));
        assert_eq!(split_country_code("35312345678"), Some((353, "12345678")));
        assert_eq!(split_country_code("0123"), None);
        assert_eq!(split_country_code("2"), None);
    }
}
