//! Decides which runs of digit groups are phone numbers.
//!
//! A run (see [`scan`](super::scan)) is tried whole first, then as pieces cut
//! where only spaces, a slash or an opening bracket separate two groups,
//! longest first. A piece is a number when its layout is one
//! people write phone numbers in, its digits fit a numbering plan, and nothing
//! around it says it is a date, price, ID, version, address or URL.

use super::region::{split_country_code, Region};
use super::scan::{for_each_run, is_word_char, Group, Run, Text};
use super::{DialRules, PhoneMatch};

pub(crate) fn find(source: &str, rules: &DialRules) -> Vec<PhoneMatch> {
    // Most text nodes have no digit at all (full-width digits are EF BC 9x).
    if !source.bytes().any(|b| b.is_ascii_digit() || b == 0xef) {
        return Vec::new();
    }
    let text = Text::new(source);
    let mut out = Vec::new();
    for_each_run(&text.chars, |run| {
        detect_in_run(&text, run, rules, &mut out)
    });
    out
}

fn detect_in_run(t: &Text, run: &Run, rules: &DialRules, out: &mut Vec<PhoneMatch>) {
    let g = run.groups.len();
    if is_card_like(t, run) {
        return;
    }
    let mut k = 0;
    while k < g {
        if k > 0 && !splittable(t, run, k) {
            k += 1;
            continue;
        }
        let mut found = None;
        for j in (k..g).rev() {
            if j + 1 < g && !splittable(t, run, j + 1) {
                continue;
            }
            let m = candidate(t, run, k, j, false, rules).or_else(|| {
                if j > k {
                    candidate(t, run, k, j, true, rules)
                } else {
                    None
                }
            });
            if let Some(m) = m {
                found = Some((j, m));
                break;
            }
        }
        match found {
            Some((j, m)) => {
                out.push(m);
                k = j + 1;
            }
            None => k += 1,
        }
    }
}

fn sep<'t>(t: &'t Text, run: &Run, k: usize) -> &'t [char] {
    let (a, b) = (run.groups[k - 1].end, run.groups[k].start);
    t.chars.get(a..b).unwrap_or(&[])
}

/// A run may be cut where only whitespace, a slash or an opening bracket
/// separates two groups.
fn splittable(t: &Text, run: &Run, k: usize) -> bool {
    let s = sep(t, run, k);
    !s.is_empty() && s.iter().all(|c| matches!(c, ' ' | '/' | '(' | '['))
}

/// A cut that leaves no doubt two things were listed: a slash, a double
/// space or a bracket.
fn wide(t: &Text, run: &Run, k: usize) -> bool {
    let s = sep(t, run, k);
    s.iter().any(|c| matches!(c, '/' | '(' | '[')) || s.iter().filter(|&&c| c == ' ').count() > 1
}

/// Payment cards are written in blocks of four (Amex 4-6-5): never a phone.
fn is_card_like(t: &Text, run: &Run) -> bool {
    if run.plus.is_some() || run.groups.len() < 3 {
        return false;
    }
    let lens: Vec<usize> = run.groups.iter().map(|g| g.end - g.start).collect();
    let total: usize = lens.iter().sum();
    let blocks = lens[..lens.len() - 1].iter().all(|&l| l == 4);
    let same_sep = (1..run.groups.len()).all(|k| sep(t, run, k) == sep(t, run, 1));
    total >= 13 && same_sep && (blocks || lens == [4, 6, 5])
}

fn candidate(
    t: &Text,
    run: &Run,
    k: usize,
    j: usize,
    dash_extension: bool,
    rules: &DialRules,
) -> Option<PhoneMatch> {
    let written: usize = run.groups[k..=j].iter().map(|g| g.end - g.start).sum();
    if !(7..=23).contains(&written) {
        return None;
    }
    let last_of_run = j + 1 == run.groups.len();
    // "010-62345678-8001": a short group after a dash ends a Chinese number
    // as its extension.
    let (num_end, dash_ext) = if dash_extension {
        let ext = run.groups[j];
        let before = run.groups[j - 1];
        let ok = last_of_run
            && sep(t, run, j) == ['-']
            && (1..=5).contains(&(ext.end - ext.start))
            && before.end - before.start >= 7;
        if !ok {
            return None;
        }
        (j - 1, Some(ext))
    } else {
        (j, None)
    };
    let groups = &run.groups[k..=num_end];
    let plus = k == 0 && run.plus.is_some();

    let mut start = groups[0].start;
    if k == 0 {
        start = run.open.or(run.plus).unwrap_or(start);
    } else if matches!(t.at(start - 1), '(' | '[') {
        start -= 1;
    }
    let number_end = groups[groups.len() - 1].end;
    let (opens, closes) = t.chars[start..number_end]
        .iter()
        .fold((0, 0), |(o, c), ch| match ch {
            '(' | '[' => (o + 1, c),
            ')' | ']' => (o, c + 1),
            _ => (o, c),
        });
    if opens == closes + 1 && matches!(t.at(start), '(' | '[') {
        start += 1;
    } else if opens != closes {
        return None;
    }
    if k > 0 || j + 1 < run.groups.len() {
        let cut_is_clear = (k == 0 || wide(t, run, k)) && (last_of_run || wide(t, run, j + 1));
        // Spaces alone split card and account numbers into plausible pieces;
        // a piece is only taken when the cut is clear, the piece has its own
        // punctuation, or it is one unbroken number.
        let unbroken = groups.len() == 1;
        if !cut_is_clear && !unbroken && !has_punctuation(t, groups) {
            return None;
        }
        // "2024/4155550132" is a file number; "…1234/8600 1235" lists two.
        let digits_in = |gs: &[Group]| gs.iter().map(|g| g.end - g.start).sum::<usize>();
        let bare_slash = |k: usize| sep(t, run, k) == ['/'];
        // "0(030) 1234 5678": a bracket glued to digits does not start a number.
        let glued_bracket =
            k > 0 && !sep(t, run, k).contains(&' ') && !sep(t, run, k).contains(&'/');
        if glued_bracket
            || (k > 0 && bare_slash(k) && digits_in(&run.groups[..k]) < 7)
            || (!last_of_run && bare_slash(j + 1) && digits_in(&run.groups[j + 1..]) < 7)
        {
            return None;
        }
    }

    let zero_in_brackets: Vec<bool> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            i > 0
                && g.end - g.start == 1
                && t.at(g.start) == '0'
                && t.at(g.start - 1) == '('
                && t.at(g.end) == ')'
        })
        .collect();
    let digits: String = groups
        .iter()
        .zip(&zero_in_brackets)
        .filter(|(_, z)| !**z)
        .flat_map(|(g, _)| t.chars[g.start..g.end].iter())
        .collect();
    if !(7..=17).contains(&digits.len()) || !layout_ok(t, groups, &zero_in_brackets, plus) {
        return None;
    }
    let (cc, nsn, region) = parse(t, groups, &digits, plus, rules)?;

    let mut end = number_end;
    let mut extension = None;
    if let Some(ext) = dash_ext {
        end = ext.end;
        extension = Some(t.chars[ext.start..ext.end].iter().collect());
    } else if last_of_run {
        if let Some((ext, ext_end)) = extension_after(t, end) {
            if right_ok(t, ext_end) {
                extension = Some(ext);
                end = ext_end;
            }
        }
    }
    // Inside a run, the cut itself is the boundary and was checked above.
    let left = k > 0 || left_ok(t, start);
    let right = (!last_of_run && dash_ext.is_none()) || right_ok(t, end);
    if !left || !right || t.in_url(start, end) {
        return None;
    }
    if cue_before(t, start) == Some(Cue::NotAPhone) {
        return None;
    }
    Some(PhoneMatch {
        start_utf16: t.utf16[start],
        end_utf16: t.utf16[end],
        text: t.slice(start, end).to_string(),
        dial: rules.dial(cc, &nsn),
        e164: format!("+{cc}{nsn}"),
        extension,
        region,
    })
}

fn has_punctuation(t: &Text, groups: &[Group]) -> bool {
    groups
        .windows(2)
        .any(|w| t.chars[w[0].end..w[1].start].iter().any(|&c| c != ' '))
}

/// The separator's dash, dot or slash, if any.
fn mark(t: &Text, a: &Group, b: &Group) -> Option<char> {
    t.chars[a.end..b.start]
        .iter()
        .copied()
        .find(|c| matches!(c, '-' | '.' | '/'))
}

fn layout_ok(t: &Text, groups: &[Group], zero_in_brackets: &[bool], plus: bool) -> bool {
    let lens: Vec<usize> = groups.iter().map(|g| g.end - g.start).collect();
    let marks: Vec<Option<char>> = groups.windows(2).map(|w| mark(t, &w[0], &w[1])).collect();
    if marks.iter().filter(|m| **m == Some('/')).count() > 1 {
        return false;
    }
    // One-digit groups belong to country codes, NANP's leading 1, area
    // digits after a country code (+33 1, +46 8, +44 (0)20), "(0)" and a
    // German switchboard's "-0" after a long group; elsewhere they are
    // ISBNs, versions, dates and list items.
    let international = plus || t.chars[groups[0].start..groups[0].end].starts_with(&['0', '0']);
    let after_country_code =
        |i: usize| international && (i == 1 || (i == 2 && zero_in_brackets[1]));
    let dotted = marks.contains(&Some('.'));
    for (i, &len) in lens.iter().enumerate() {
        let ok = match i {
            // "0 800 123 456": the French and German trunk 0 may stand apart.
            0 => {
                plus || t.at(groups[0].start) == '1'
                    || (lens.len() > 1 && t.at(groups[0].end) == ' ')
            }
            _ if i + 1 == lens.len() => marks[i - 1] == Some('-') && lens[i - 1] >= 5,
            _ => after_country_code(i) || zero_in_brackets[i],
        };
        if len == 1 && !ok {
            return false;
        }
    }
    if dotted
        && lens.len() == 4
        && lens.iter().all(|&l| l <= 3)
        && marks.iter().all(|m| *m == Some('.'))
    {
        return false;
    }
    plus || !is_date(t, groups, &lens, &marks)
}

fn is_date(t: &Text, groups: &[Group], lens: &[usize], marks: &[Option<char>]) -> bool {
    if lens.len() < 3 || marks[0] != marks[1] || !matches!(marks[0], Some('.' | '/' | '-')) {
        return false;
    }
    let value = |g: &Group| {
        t.chars[g.start..g.end]
            .iter()
            .fold(0u32, |v, c| v * 10 + c.to_digit(10).unwrap_or(0))
    };
    let (a, b, c) = (value(&groups[0]), value(&groups[1]), value(&groups[2]));
    let day = |x: u32| (1..=31).contains(&x);
    let month = |x: u32| (1..=12).contains(&x);
    let year = |x: u32, len: usize| {
        (len == 4 && (1900..=2099).contains(&x)) || (len == 2 && lens.len() == 3)
    };
    if lens[0] == 4 && year(a, 4) && lens[1] <= 2 && lens[2] <= 2 && month(b) && day(c) {
        return true;
    }
    lens[0] <= 2
        && lens[1] <= 2
        && ((day(a) && month(b)) || (month(a) && day(b)))
        && year(c, lens[2])
}

/// Country code, NSN and region of the digits, or `None` if they fit no plan.
fn parse(
    t: &Text,
    groups: &[Group],
    digits: &str,
    plus: bool,
    rules: &DialRules,
) -> Option<(u16, String, Option<Region>)> {
    // "(86-10) 6553 1234": country and area code in one bracket.
    let bracketed_country = groups.len() > 2
        && groups[0].start > 0
        && t.at(groups[0].start - 1) == '('
        && t.chars[groups[0].end..groups[1].start] == ['-']
        && t.at(groups[1].end) == ')';
    if plus || bracketed_country {
        return international(digits);
    }
    let prefixed = match rules.region {
        Region::US | Region::CA => digits.strip_prefix("011"),
        _ => None,
    }
    .or_else(|| digits.strip_prefix("00"));
    if let Some(rest) = prefixed {
        return if groups.len() >= 2 && !rest.starts_with('0') {
            international(rest)
        } else {
            None
        };
    }
    if let Some(nsn) = rules.region.parse_national(digits) {
        let cc = rules.region.country_code();
        let region = Region::for_country_code(cc, &nsn);
        return Some((cc, nsn, region));
    }
    // "(415) 555-0132" and "415-555-0132" are unmistakably North American,
    // whatever the user's own region.
    let lens: Vec<usize> = groups.iter().map(|g| g.end - g.start).collect();
    let punctuated = groups
        .windows(2)
        .all(|w| mark(t, &w[0], &w[1]).is_some_and(|m| m != '/'));
    let area_in_brackets = groups[0].start > 0 && t.at(groups[0].start - 1) == '(';
    let nanp_layout = lens == [3, 3, 4] && (punctuated || area_in_brackets);
    if nanp_layout && Region::US.is_valid_nsn(digits) {
        return Some((1, digits.to_string(), Region::for_country_code(1, digits)));
    }
    None
}

fn international(digits: &str) -> Option<(u16, String, Option<Region>)> {
    let (cc, rest) = split_country_code(digits)?;
    if let Some(region) = Region::for_country_code(cc, rest) {
        // "+49 030 …" and "+44 (0)20 …": the trunk 0 is not dialled from abroad.
        let nsn = if region.trunk_prefix() == '0' {
            rest.strip_prefix('0').unwrap_or(rest)
        } else {
            rest
        };
        return region
            .is_valid_nsn(nsn)
            .then(|| (cc, nsn.to_string(), Some(region)));
    }
    // Other countries: E.164's length limits only.
    (digits.len() <= 15 && rest.len() >= 6).then(|| (cc, rest.to_string(), None))
}

fn left_ok(t: &Text, s: usize) -> bool {
    if s == 0 {
        return true;
    }
    let l = t.at(s - 1);
    let ll = if s >= 2 { t.at(s - 2) } else { ' ' };
    let glued = matches!(
        l,
        '@' | '#' | '%' | '&' | '=' | '\\' | '/' | '~' | '^' | '*' | '+' | '§' | '№'
    );
    if is_word_char(l) || is_currency(l) || glued {
        return false;
    }
    if matches!(l, '.' | ':' | '-' | '\'') && ll.is_ascii_digit() {
        return false;
    }
    if l == '-' && is_word_char(ll) {
        return false;
    }
    // "TIMEOUT = 4155550132": an assignment in code, config or logs.
    if (0..s)
        .rev()
        .take(4)
        .map(|i| t.at(i))
        .find(|c| *c != ' ')
        .is_some_and(|c| c == '=')
    {
        return false;
    }
    // "1,299,000": a group of at most three digits before a comma is a
    // thousands separator; a list of phone numbers ends in longer groups.
    l != ',' || !(1..=3).contains(&digits_from(t, (0..s - 1).rev()))
}

/// How many digits (up to four) follow one another along `positions`.
fn digits_from(t: &Text, positions: impl Iterator<Item = usize>) -> usize {
    positions
        .take_while(|&i| t.at(i).is_ascii_digit())
        .take(4)
        .count()
}

/// Units and counters that follow quantities, never phone numbers:
/// "2125550187 ns", "13812345678 位访客".
fn unit_after(t: &Text, e: usize) -> bool {
    let mut p = e;
    while t.at(p) == ' ' && p - e < 2 {
        p += 1;
    }
    if matches!(
        t.at(p),
        '次' | '个' | '位' | '人' | '件' | '条' | '名' | '回' | '万' | '亿' | '块' | '円' | '元'
    ) {
        return true;
    }
    if p == e {
        return false;
    }
    let word: String = (p..p + 6)
        .map(|i| t.at(i))
        .take_while(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    UNITS.contains(&word.as_str())
}

const UNITS: &[&str] = &[
    "ns", "ms", "us", "sec", "secs", "bytes", "kb", "mb", "gb", "tb", "km", "kg", "lbs", "views",
    "visits", "users", "times", "rows", "items", "usd", "eur", "gbp", "rmb", "cny", "inr", "jpy",
];

fn is_currency(c: char) -> bool {
    matches!(
        c,
        '$' | '€' | '£' | '¥' | '₹' | '₩' | '₽' | '฿' | '¢' | '₫' | '₺' | '₱'
    )
}

fn right_ok(t: &Text, e: usize) -> bool {
    let r = t.at(e);
    let rr = t.at(e + 1);
    let glued = matches!(r, '@' | '%' | '_' | '元' | '円' | '°' | '‰' | '+');
    if is_word_char(r) || is_currency(r) || glued {
        return false;
    }
    if matches!(r, ':' | '.' | '-' | '/') && rr.is_ascii_digit() {
        return false;
    }
    if unit_after(t, e) {
        return false;
    }
    // "030123456,00 €": a short group after a comma is a decimal part.
    if r == ',' && (1..=3).contains(&digits_from(t, e + 1..)) {
        return false;
    }
    !(r == '-' && is_word_char(rr))
}

const EXTENSION_MARKERS: [&str; 13] = [
    "extension",
    "ext.",
    "ext",
    "x",
    "转",
    "轉",
    "分机",
    "分機",
    "内线",
    "內線",
    "内線",
    "poste",
    "durchwahl",
];

/// `x123`, `ext. 123`, `转123` right after the number.
fn extension_after(t: &Text, e: usize) -> Option<(String, usize)> {
    let mut p = e;
    if t.at(p) == ',' {
        p += 1;
    }
    while t.at(p) == ' ' && p - e < 3 {
        p += 1;
    }
    for marker in EXTENSION_MARKERS {
        let len = marker.chars().count();
        let matches = marker
            .chars()
            .enumerate()
            .all(|(i, m)| t.at(p + i).to_ascii_lowercase() == m);
        if !matches || (marker.is_ascii() && t.at(p + len).is_ascii_alphabetic()) {
            continue;
        }
        let mut q = p + len;
        while matches!(t.at(q), ' ' | ':' | '.' | '#') && q - (p + len) < 3 {
            q += 1;
        }
        let digits_start = q;
        while t.at(q).is_ascii_digit() {
            q += 1;
        }
        return (1..=6)
            .contains(&(q - digits_start))
            .then(|| (t.chars[digits_start..q].iter().collect(), q));
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cue {
    Phone,
    NotAPhone,
}

const PHONE_WORDS: &[&str] = &[
    "tel",
    "tel.",
    "telefonnummer",
    "faxnummer",
    "handynummer",
    "rufnummer",
    "mobilnummer",
    "servicenummer",
    "kontaktnummer",
    "notrufnummer",
    "durchwahl",
    "phone",
    "telephone",
    "mobile",
    "mob",
    "cell",
    "fax",
    "call",
    "ph",
    "hotline",
    "whatsapp",
    "contact",
    "direct",
    "office",
    "landline",
    "telefon",
    "handy",
    "mobil",
    "tél",
    "téléphone",
    "portable",
    "fixe",
    "t",
    "m",
    "f",
    "电话",
    "手机",
    "传真",
    "热线",
    "联系",
    "座机",
    "客服",
    "電話",
    "電話番号",
    "携帯番号",
    "fax番号",
    "tel番号",
    "携帯",
    "ファックス",
    "☎",
    "📞",
];

const NOT_PHONE_WORDS: &[&str] = &[
    "nummer",
    "artikel",
    "kunden",
    "rechnungs",
    "auftrags",
    "bestell",
    "vertrags",
    "mitglieds",
    "versicherungs",
    "steuer",
    "steuernummer",
    "ust-id",
    "hrb",
    "blz",
    "konto",
    "kto",
    "bic",
    "routing",
    "ssn",
    "ein",
    "order",
    "invoice",
    "tracking",
    "track",
    "ref",
    "reference",
    "id",
    "isbn",
    "issn",
    "sku",
    "serial",
    "s/n",
    "po",
    "acct",
    "account",
    "iban",
    "card",
    "zip",
    "postcode",
    "plz",
    "qq",
    "ticket",
    "case",
    "claim",
    "policy",
    "patent",
    "lot",
    "batch",
    "version",
    "ver",
    "build",
    "ip",
    "asin",
    "upc",
    "ean",
    "gtin",
    "vat",
    "gst",
    "gstin",
    "siret",
    "siren",
    "pan",
    "aadhaar",
    "otp",
    "pin",
    "passport",
    "licence",
    "license",
    "imei",
    "kundennummer",
    "bestellnummer",
    "rechnungsnummer",
    "auftragsnummer",
    "sendungsnummer",
    "commande",
    "facture",
    "colis",
    "订单",
    "单号",
    "编号",
    "工号",
    "学号",
    "身份证",
    "账号",
    "帐号",
    "卡号",
    "银行卡",
    "邮编",
    "发票",
    "批次",
    "型号",
    "版本",
    "验证码",
    "快递",
    "运单",
    "注文番号",
    "番号",
    "第",
    "dossier",
    "pnr",
    "会員番号",
    "郵便番号",
    "伝票番号",
    "〒",
];

/// The label nearest before the number on the same line, if it is one of
/// ours: "Order 4155550132" is not a phone, "Hotline for orders: …" is.
fn cue_before(t: &Text, start: usize) -> Option<Cue> {
    let from = (start.saturating_sub(24)..start)
        .rev()
        .take_while(|&i| t.at(i) != '\n')
        .last()?;
    let window: Vec<char> = t.chars[from..start]
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    // Walk back from the number; the first label that ends is the nearest.
    for end in (1..=window.len()).rev() {
        let last = window[end - 1];
        if last.is_whitespace() || (last.is_ascii_punctuation() && last != '.') {
            continue;
        }
        let mut best: Option<(usize, Cue)> = None;
        for (words, cue) in [(PHONE_WORDS, Cue::Phone), (NOT_PHONE_WORDS, Cue::NotAPhone)] {
            for word in words {
                if let Some(len) = word_ending_at(&window, end, word) {
                    if best.is_none_or(|(l, _)| len > l) {
                        best = Some((len, cue));
                    }
                }
            }
        }
        if let Some((_, cue)) = best {
            return Some(cue);
        }
    }
    None
}

/// The length of `word` if it ends at `window[end]` and is not glued to other
/// ASCII letters or digits.
fn word_ending_at(window: &[char], end: usize, word: &str) -> Option<usize> {
    let mut at = end;
    for c in word.chars().rev() {
        if at == 0 || window[at - 1] != c {
            return None;
        }
        at -= 1;
    }
    // German compounds: "Artikelnummer", "Kundennummer" end in a label.
    let glued_before = window[at].is_ascii_alphanumeric()
        && at > 0
        && window[at - 1].is_ascii_alphanumeric()
        && word != "nummer";
    let glued_after = window[end - 1].is_ascii_alphanumeric()
        && window.get(end).is_some_and(|c| c.is_ascii_alphabetic());
    (!glued_before && !glued_after && end > at).then_some(end - at)
}
