// Click-to-call figures for `cargo xtask bench` (issue 7). Prints progress on
// stderr and, as its LAST stdout line, a JSON array of
// {"name","value","unit","baseline"?}; each baseline is libphonenumber-js
// measured in this same run on the same input.
//
// - c2c.scan_ms: a 1 MB page with 2,000 numbers, from DOMContentLoaded until all
//   2,000 are callable (counted by a page-side MutationObserver). Baseline:
//   findPhoneNumbersInText over the page's text, in one synchronous call.
// - c2c.longest_task_ms: the longest main-thread task (PerformanceObserver
//   'longtask', ≥ 50 ms, else 0) after DOMContentLoaded while the page is
//   made callable. Baseline: that same synchronous findPhoneNumbersInText call.
// - c2c.precision / c2c.recall: the shipped wasm detector (through the worker's
//   `detect`, with each corpus row's dialling rules) vs libphonenumber-js with
//   the row's region as default country, on tests/corpus/phone/*.tsv, scored as
//   tests/phone_corpus.rs does (a positive is found by its dial string, resp. E.164).
// - bundle.content.gz_bytes: content.js + content.css, gzip -9.
//
//   RINGSIDE_DIST=dist/ringside node tests/e2e/bench-c2c.mjs

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { findPhoneNumbersInText } from 'libphonenumber-js';
import { distDir, launchExtension, repoRoot, until } from './lib/extension.mjs';
import { numbersPage, servePages } from './lib/c2c-pages.mjs';

const COUNT = 2000;
const log = (...a) => console.error('bench-c2c:', ...a);

// Counts our wrappers as they appear and keeps long tasks: the page's own
// script, so that measuring adds no work to the content script's.
const PROBE = `<script>
  window.bench = { count: 0, allAt: null, tasks: [] };
  new PerformanceObserver((l) => { for (const e of l.getEntries()) bench.tasks.push([e.startTime, e.duration]); })
    .observe({ type: 'longtask', buffered: true });
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) if (n.localName === 'ringside-c2c') bench.count++;
    if (bench.allAt === null && bench.count >= ${COUNT}) bench.allAt = performance.now();
  }).observe(document.documentElement, { childList: true, subtree: true });
</script>`;

function unescape(s) {
  return s.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

function rows(file) {
  return readFileSync(path.join(repoRoot, 'tests/corpus/phone', file), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t').map(unescape));
}

function dialRules(spec) {
  const [region, ...parts] = spec.split(';');
  const rules = { region };
  for (const p of parts) {
    const [k, v] = p.split('=');
    if (k === 'out') rules.outbound_prefix = v;
    else if (k === 'intl' && v === 'plus') rules.international = 'plus';
  }
  return rules;
}

/** Precision and recall as tests/phone_corpus.rs computes them; `find(spec, snippets)` → per snippet, a list of keys. */
async function score(find, key) {
  const snippets = new Map();
  let positives = 0;
  for (const [spec, snippet, , dial, , e164] of rows('positive.tsv')) {
    const id = `${spec}\t${snippet}`;
    if (!snippets.has(id)) snippets.set(id, { spec, snippet, want: [] });
    snippets.get(id).want.push(key === 'dial' ? dial : e164);
    positives++;
  }
  const negatives = rows('negative.tsv').map(([spec, snippet]) => ({ spec, snippet, want: [] }));
  const all = [...snippets.values(), ...negatives];
  const found = await find(all);
  let hits = 0;
  let falsePos = 0;
  all.forEach((s, i) => {
    const got = found[i];
    hits += s.want.filter((w) => got.includes(w)).length;
    falsePos += got.filter((g) => !s.want.includes(g)).length;
  });
  return { precision: hits / Math.max(1, hits + falsePos), recall: hits / Math.max(1, positives) };
}

const metrics = [];
const content = ['content.js', 'content.css'].map((f) => readFileSync(path.join(distDir, f)));
metrics.push({ name: 'bundle.content.gz_bytes', value: gzipSync(Buffer.concat(content), { level: 9 }).length, unit: 'bytes' });

const big = numbersPage({ count: COUNT, bytes: 1_000_000, title: 'bench' });
const body = big.body.replace('<title>', `${PROBE}<title>`);
log(`page: ${(body.length / 1e6).toFixed(2)} MB, ${COUNT} numbers`);

// Baseline: libphonenumber-js over the same text (US default country, as our worker's default rules).
findPhoneNumbersInText(big.text.slice(0, 20000), 'US'); // warm up
const t0 = performance.now();
const theirs = findPhoneNumbersInText(big.text, 'US');
const baselineMs = performance.now() - t0;
log(`libphonenumber-js: ${theirs.length} numbers in ${baselineMs.toFixed(1)} ms`);

const site = await servePages({ '/bench': { body } });
const ext = await launchExtension();
try {
  const page = await ext.context.newPage();
  await page.goto(site.url('/bench'));
  const result = await until('all numbers callable', () => page.evaluate(() => bench.allAt !== null && bench), 120_000, 100);
  const dcl = await page.evaluate(() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd);
  const scanMs = result.allAt - dcl;
  const longest = Math.max(0, ...result.tasks.filter(([start]) => start >= dcl).map(([, d]) => d));
  log(`ringside: ${result.count} callable ${scanMs.toFixed(1)} ms after DOMContentLoaded; longest task ${longest.toFixed(1)} ms`);
  metrics.push({ name: 'c2c.scan_ms', value: round(scanMs), unit: 'ms', baseline: round(baselineMs) });
  metrics.push({ name: 'c2c.longest_task_ms', value: round(longest), unit: 'ms', baseline: round(baselineMs) });

  // Our detector as shipped: the worker's `detect`, from an extension page, with each row's rules.
  const ours = await score(async (all) => {
    const ctl = await ext.context.newPage();
    await ctl.goto(ext.popupUrl);
    const out = new Array(all.length);
    const bySpec = new Map();
    all.forEach((s, i) => (bySpec.get(s.spec) ?? bySpec.set(s.spec, []).get(s.spec)).push(i));
    for (const [spec, indices] of bySpec) {
      const lists = await ctl.evaluate(
        async ({ rules, texts }) => {
          const { settings = {} } = await chrome.storage.local.get('settings');
          await chrome.storage.local.set({ settings: { ...settings, dial_rules: rules } });
          await new Promise((r) => setTimeout(r, 50)); // the worker drops its cached rules on storage.onChanged
          const reply = await chrome.runtime.sendMessage({ v: 1, type: 'detect', texts });
          return reply.matches.map((ms) => ms.map((m) => m.dial));
        },
        { rules: dialRules(spec), texts: indices.map((i) => all[i].snippet) },
      );
      indices.forEach((i, k) => (out[i] = lists[k]));
    }
    return out;
  }, 'dial');
  const lib = await score(
    async (all) => all.map((s) => findPhoneNumbersInText(s.snippet, s.spec.split(';')[0]).map((m) => m.number.number)),
    'e164',
  );
  log(`corpus: ringside P ${ours.precision.toFixed(4)} R ${ours.recall.toFixed(4)}; libphonenumber-js P ${lib.precision.toFixed(4)} R ${lib.recall.toFixed(4)}`);
  metrics.push({ name: 'c2c.precision', value: round(ours.precision, 4), unit: 'ratio', baseline: round(lib.precision, 4) });
  metrics.push({ name: 'c2c.recall', value: round(ours.recall, 4), unit: 'ratio', baseline: round(lib.recall, 4) });
} finally {
  await ext.close();
  await site.close();
}
console.log(JSON.stringify(metrics));

function round(x, digits = 1) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
