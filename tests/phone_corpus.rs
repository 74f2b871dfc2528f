//! Precision and recall of the click-to-call detector on a labelled corpus
//! (issue 7): `tests/corpus/phone/positive.tsv` and `negative.tsv`, written
//! for this test (see `generate.py` there). Each row names the user's dialling
//! rules (`GB`, `US;out=9`, `DE;intl=plus`), since a national number only
//! means something in the reader's own country.
//!
//! Positive rows also give the number's E.164 form, so that detectors without
//! dialling rules (libphonenumber-js in the bench) can be scored on the same
//! rows.
//!
//! A positive counts as found when a match dials the expected string; any
//! other match (in a negative, or an unexpected one in a positive) is a false
//! positive.

use std::collections::BTreeMap;

use ringside::phone::{find_numbers, DialRules, InternationalFormat, Region};

const POSITIVE: &str = include_str!("corpus/phone/positive.tsv");
const NEGATIVE: &str = include_str!("corpus/phone/negative.tsv");

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn rows(tsv: &str) -> impl Iterator<Item = (usize, Vec<String>)> + '_ {
    tsv.lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.split('\t').map(unescape).collect()))
}

fn rules(spec: &str) -> DialRules {
    let mut parts = spec.split(';');
    let region = match parts.next().unwrap_or("") {
        "US" => Region::US,
        "CA" => Region::CA,
        "CN" => Region::CN,
        "GB" => Region::GB,
        "DE" => Region::DE,
        "FR" => Region::FR,
        "JP" => Region::JP,
        "IN" => Region::IN,
        other => panic!("unknown region {other:?} in the corpus"),
    };
    let mut rules = DialRules::for_region(region);
    for part in parts {
        match part.split_once('=') {
            Some(("out", prefix)) => rules.outbound_prefix = prefix.to_string(),
            Some(("intl", "plus")) => rules.international = InternationalFormat::Plus,
            _ => panic!("unknown rule {part:?} in the corpus"),
        }
    }
    rules
}

#[derive(Default)]
struct Expected {
    /// Line, matched text, dial string, extension, E.164.
    dials: Vec<(usize, String, String, String, String)>,
}

#[test]
fn corpus_precision_and_recall() {
    // Rows sharing a snippet (two numbers in one text) are judged together.
    let mut snippets: BTreeMap<(String, String), Expected> = BTreeMap::new();
    let mut positives = 0;
    for (line, cols) in rows(POSITIVE) {
        assert!(
            cols.len() >= 4,
            "positive.tsv:{line}: needs rules, snippet, text, dial"
        );
        let ext = cols.get(4).cloned().unwrap_or_default();
        let e164 = cols.get(5).cloned().unwrap_or_default();
        snippets
            .entry((cols[0].clone(), cols[1].clone()))
            .or_default()
            .dials
            .push((line, cols[2].clone(), cols[3].clone(), ext, e164));
        positives += 1;
    }

    let (mut found, mut false_pos, mut inexact) = (0usize, 0usize, 0usize);
    for ((spec, snippet), expected) in &snippets {
        let matches = find_numbers(snippet, &rules(spec));
        for (line, text, dial, ext, e164) in &expected.dials {
            match matches.iter().find(|m| &m.dial == dial) {
                Some(m) => {
                    found += 1;
                    let want_ext = (!ext.is_empty()).then_some(ext.as_str());
                    if &m.text != text || m.extension.as_deref() != want_ext || &m.e164 != e164 {
                        inexact += 1;
                        println!(
                            "inexact  positive.tsv:{line}: {snippet:?} → {:?} ext {:?} {}",
                            m.text, m.extension, m.e164
                        );
                    }
                }
                None => println!(
                    "missed   positive.tsv:{line} [{spec}] {snippet:?} want {dial} got {:?}",
                    matches
                        .iter()
                        .map(|m| (&m.text, &m.dial))
                        .collect::<Vec<_>>()
                ),
            }
        }
        for m in &matches {
            if !expected
                .dials
                .iter()
                .any(|(_, _, dial, _, _)| dial == &m.dial)
            {
                false_pos += 1;
                println!("extra    [{spec}] {snippet:?}: {:?} → {}", m.text, m.dial);
            }
        }
    }

    let mut negatives = 0;
    let mut traps: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (line, cols) in rows(NEGATIVE) {
        assert!(
            cols.len() >= 3,
            "negative.tsv:{line}: needs rules, snippet, trap"
        );
        negatives += 1;
        let matches = find_numbers(&cols[1], &rules(&cols[0]));
        let trap = traps.entry(cols[2].clone()).or_default();
        trap.0 += 1;
        if !matches.is_empty() {
            trap.1 += 1;
            false_pos += matches.len();
            for m in &matches {
                println!(
                    "false    negative.tsv:{line} ({}) [{}] {:?}: {:?} → {}",
                    cols[2], cols[0], cols[1], m.text, m.dial
                );
            }
        }
    }

    let precision = found as f64 / (found + false_pos).max(1) as f64;
    let recall = found as f64 / positives.max(1) as f64;
    println!("corpus: {positives} positive rows, {negatives} negative snippets");
    for (trap, (n, hit)) in &traps {
        println!("  trap {trap:<11} {n:>3} snippets, {hit} with a match");
    }
    println!(
        "found {found}, missed {}, false positives {false_pos}, inexact text/extension/E.164 {inexact}",
        positives - found
    );
    println!("precision {precision:.4}  recall {recall:.4}");
    assert!(
        positives >= 300 && negatives >= 300,
        "the corpus needs 300 of each"
    );
    assert!(precision >= 0.98, "precision {precision:.4} < 0.98");
    assert!(recall >= 0.95, "recall {recall:.4} < 0.95");
}
