//! One pass over the text: folds full-width and look-alike characters to
//! ASCII, keeps UTF-16 offsets for the content script, and cuts out runs of
//! digit groups joined by phone separators. Also tells whether a place lies
//! in a URL or e-mail address.

/// The text as folded characters with their offsets.
pub(crate) struct Text<'a> {
    pub source: &'a str,
    pub chars: Vec<char>,
    /// UTF-16 offset of each char, and one past the end.
    pub utf16: Vec<usize>,
    /// Byte offset of each char, and one past the end.
    pub bytes: Vec<usize>,
}

impl<'a> Text<'a> {
    pub fn new(source: &'a str) -> Self {
        let mut chars = Vec::with_capacity(source.len());
        let mut utf16 = Vec::with_capacity(source.len() + 1);
        let mut bytes = Vec::with_capacity(source.len() + 1);
        let mut u = 0;
        for (b, c) in source.char_indices() {
            chars.push(fold(c));
            utf16.push(u);
            bytes.push(b);
            u += c.len_utf16();
        }
        utf16.push(u);
        bytes.push(source.len());
        Text {
            source,
            chars,
            utf16,
            bytes,
        }
    }

    pub fn at(&self, i: usize) -> char {
        self.chars.get(i).copied().unwrap_or('\n')
    }

    pub fn slice(&self, start: usize, end: usize) -> &'a str {
        let b = |i: usize| self.bytes.get(i).copied().unwrap_or(self.source.len());
        self.source.get(b(start)..b(end)).unwrap_or("")
    }
}

/// Full-width forms (common on Chinese and Japanese pages), exotic spaces and
/// dashes become their ASCII counterparts so the rules see one alphabet.
pub(crate) fn fold(c: char) -> char {
    match c {
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
        '\u{a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' => ' ',
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{30fc}' => '-',
        _ => c,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Digit,
    Space,
    Dash,
    Dot,
    Slash,
    Open,
    Close,
    Other,
}

pub(crate) fn kind(c: char) -> Kind {
    match c {
        '0'..='9' => Kind::Digit,
        ' ' => Kind::Space,
        '-' => Kind::Dash,
        '.' => Kind::Dot,
        '/' => Kind::Slash,
        '(' | '[' => Kind::Open,
        ')' | ']' => Kind::Close,
        _ => Kind::Other,
    }
}

/// Letters and digits that glue to a number and make it part of a word,
/// an ID or a longer run. CJK text around a number is normal, so it does not.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || (c.is_alphanumeric() && !is_cjk(c))
}

pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2e80..=0x9fff | 0xac00..=0xd7af | 0xf900..=0xfaff | 0xff66..=0xff9f | 0x20000..=0x3134f)
}

/// Longest token looked at around a number; anything longer without a
/// space is not prose (minified data, base64, long URLs).
const MAX_TOKEN: usize = 256;

impl Text<'_> {
    /// Whether `chars[start..end]` lies in a URL or e-mail address: the token
    /// around it (split at spaces, quotes, brackets and non-ASCII text) has a
    /// scheme, `www.`, `@`, a query, or a host before a path.
    pub fn in_url(&self, start: usize, end: usize) -> bool {
        let boundary = |c: char| {
            c.is_whitespace()
                || !c.is_ascii()
                || matches!(
                    c,
                    '"' | '\'' | '<' | '>' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | ',' | ';'
                )
        };
        let before = (0..start)
            .rev()
            .take(MAX_TOKEN + 1)
            .take_while(|&i| !boundary(self.chars[i]))
            .count();
        let after = (end..self.chars.len())
            .take(MAX_TOKEN + 1)
            .take_while(|&i| !boundary(self.chars[i]))
            .count();
        if before > MAX_TOKEN || after > MAX_TOKEN {
            return true;
        }
        is_url_like(&self.chars[start - before..end + after])
    }
}

fn is_url_like(token: &[char]) -> bool {
    let has = |pat: &str| {
        let pat: Vec<char> = pat.chars().collect();
        token.windows(pat.len()).any(|w| {
            w.iter()
                .zip(&pat)
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
        })
    };
    if has("://")
        || has("www.")
        || token.contains(&'@')
        || token.contains(&'=')
        || token.contains(&'?')
    {
        return true;
    }
    // A bare host and path ("example.com/orders/123"): a dot between
    // letters before the first slash.
    let Some(slash) = token.iter().position(|&c| c == '/') else {
        return false;
    };
    token[..slash]
        .windows(3)
        .any(|w| w[0].is_ascii_alphabetic() && w[1] == '.' && w[2].is_ascii_alphabetic())
}

/// Digits of one group: `chars[start..end]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Group {
    pub start: usize,
    pub end: usize,
}

/// Digit groups joined by separators, with a leading `+` or `(`.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub plus: Option<usize>,
    pub open: Option<usize>,
    pub groups: Vec<Group>,
}

/// Enough groups for any phone number with an extension, few enough that
/// trying every sub-run stays cheap on long tables of numbers.
const MAX_GROUPS: usize = 10;

/// Calls `f` with every run in `chars`, left to right. Every digit belongs to
/// exactly one run and runs never end next to a digit, so a match can never
/// be a piece of a longer digit run.
pub(crate) fn for_each_run(chars: &[char], mut f: impl FnMut(&Run)) {
    let n = chars.len();
    let digit = |i: usize| i < n && chars[i].is_ascii_digit();
    let mut i = 0;
    while i < n {
        let c = chars[i];
        let (plus, open, first) = if c.is_ascii_digit() {
            (None, None, i)
        } else if c == '+' && digit(i + 1) {
            (Some(i), None, i + 1)
        } else if c == '(' && digit(i + 1) {
            (None, Some(i), i + 1)
        } else if c == '(' && chars.get(i + 1) == Some(&'+') && digit(i + 2) {
            (Some(i + 1), Some(i), i + 2)
        } else {
            i += 1;
            continue;
        };
        let mut groups = Vec::new();
        let mut depth = usize::from(open.is_some());
        let mut at = first;
        loop {
            let start = at;
            while digit(at) {
                at += 1;
            }
            groups.push(Group { start, end: at });
            if groups.len() == MAX_GROUPS {
                break;
            }
            match separator(chars, at, depth) {
                Some((next, new_depth)) if digit(next) => {
                    depth = new_depth;
                    at = next;
                }
                _ => break,
            }
        }
        f(&Run { plus, open, groups });
        i = at.max(i + 1);
    }
}

/// Reads the separator at `at`: up to three characters, at most one dash,
/// dot or slash, brackets only balanced. Returns where it ends.
fn separator(chars: &[char], at: usize, mut depth: usize) -> Option<(usize, usize)> {
    let mut end = at;
    let mut marks = 0;
    while end < chars.len() && end - at < 3 {
        match kind(chars[end]) {
            Kind::Space => {}
            Kind::Dash | Kind::Dot | Kind::Slash => marks += 1,
            Kind::Open if depth == 0 => depth = 1,
            Kind::Close if depth == 1 => depth = 0,
            _ => break,
        }
        end += 1;
    }
    (end > at && marks <= 1).then_some((end, depth))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(s: &str) -> Vec<String> {
        let text = Text::new(s);
        let mut out = Vec::new();
        for_each_run(&text.chars, |r| {
            let start = r.plus.or(r.open).unwrap_or(r.groups[0].start);
            out.push(
                text.slice(start, r.groups[r.groups.len() - 1].end)
                    .to_string(),
            );
        });
        out
    }

    #[test]
    fn runs_take_phone_separators_and_stop_at_others() {
        assert_eq!(
            runs("Tel: +1 (415) 555-0132, fax 415.555.0199"),
            ["+1 (415) 555-0132", "415.555.0199"]
        );
        assert_eq!(
            runs("电话：０２１－１２３４５６７８"),
            ["０２１－１２３４５６７８"]
        );
        assert_eq!(runs("10:30 1,299"), ["10", "30 1", "299"]);
        assert_eq!(runs("a--1 2..3"), ["1 2", "3"]);
    }

    #[test]
    fn offsets_count_utf16_units() {
        let text = Text::new("😀电话 1");
        assert_eq!(text.utf16, [0, 2, 3, 4, 5, 6]);
        assert_eq!(text.chars[4], '1');
    }

    #[test]
    fn urls_and_mail_are_recognised() {
        let text = Text::new("see https://x.io/a/4155550132 or 4155550132@qq.com, call 4155550132");
        let at = |needle: &str, nth: usize| {
            let byte = text
                .source
                .match_indices(needle)
                .nth(nth)
                .map(|(b, _)| b)
                .unwrap_or(0);
            let start = text.bytes.iter().position(|&b| b == byte).unwrap_or(0);
            (start, start + needle.chars().count())
        };
        let url = |(s, e): (usize, usize)| text.in_url(s, e);
        assert!(url(at("4155550132", 0)));
        assert!(url(at("4155550132", 1)));
        assert!(!url(at("4155550132", 2)));
        assert!(Text::new(&"a1".repeat(300)).in_url(10, 11));
    }
}
