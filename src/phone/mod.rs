//! Click-to-call: finds phone numbers in page text and turns them, or a
//! selection, into the digits the user's PBX should dial.
//!
//! The content script sends the worker batches of text-node strings; the
//! worker answers each with [`find_numbers`]. Offsets are in UTF-16 code
//! units because that is how JavaScript indexes strings (`Range.setStart`
//! on the same text node). A number split across text nodes
//! (`<b>415</b>-555-0132`) is not found.
//!
//! "Call <selection>": run [`find_numbers`] on the selection first (it keeps
//! an extension apart); when that finds nothing, [`normalize_dial`] reads the
//! selection as a number typed by hand.
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

pub use normalize::{normalize_dial, DialError};
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
