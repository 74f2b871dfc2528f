// `cargo xtask bench`: popup.open_to_interactive_ms. Each round opens
// popup.html in a new tab and takes the page's own clock (performance.now(),
// origin = navigation start) at the moment the dial field exists and accepts
// input. The baseline is a static HTML page of the same byte size as the
// popup's files, with the same field, loaded and timed the same way.
// The last stdout line is {"popup":[ms, ...],"baseline":[ms, ...]}.

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { distDir, launchExtension, sleep } from './lib/extension.mjs';

const rounds = Number(process.env.RINGSIDE_BENCH_SAMPLES ?? 21);

// Records when #dial-input is in the DOM and enabled; runs before any page script.
const probe = `(() => {
  const check = () => {
    const input = document.getElementById('dial-input');
    if (input && !input.disabled && window.__interactive === undefined) {
      window.__interactive = performance.now();
      return true;
    }
    return false;
  };
  new MutationObserver((_, observer) => { if (check()) observer.disconnect(); })
    .observe(document, { childList: true, subtree: true });
})();`;

async function popupBytes() {
  let total = 0;
  for (const file of ['popup.html', 'popup.css', 'popup.js', 'pkg/ringside_popup.js', 'pkg/ringside_popup_bg.wasm']) {
    total += (await stat(path.join(distDir, file))).size;
  }
  return total;
}

async function timeOpen(context, url) {
  const page = await context.newPage();
  await page.addInitScript(probe);
  await page.goto(url);
  await page.waitForFunction(() => window.__interactive !== undefined, null, { timeout: 10_000 });
  // Prove the field takes input, as a user would type into it.
  await page.focus('#dial-input');
  await page.keyboard.type('1');
  const value = await page.evaluate(() => [window.__interactive, document.getElementById('dial-input').value]);
  await page.close();
  if (value[1] !== '1') throw new Error(`the dial field did not take input at ${url}`);
  return Math.round(value[0] * 10) / 10;
}

const ext = await launchExtension();
const scratch = await mkdtemp(path.join(tmpdir(), 'ringside-bench-popup-'));
const popup = [];
const baseline = [];
try {
  // An account on an unused port: the main screens show (unreachable) without a PBX.
  const setup = await ext.context.newPage();
  await setup.goto(ext.popupUrl);
  await setup.evaluate(() =>
    chrome.storage.local.set({ account: { server: 'ws://127.0.0.1:9', username: '1001', password: 'pass1001' } }),
  );
  await setup.waitForSelector('#dial-input', { timeout: 10_000 });
  await setup.close();

  const size = await popupBytes();
  const head = '<!doctype html><html><head><meta charset="utf-8"><title>baseline</title></head><body><input id="dial-input"><!--';
  const tail = '--></body></html>';
  const filler = 'x'.repeat(Math.max(0, size - head.length - tail.length));
  const staticPage = path.join(scratch, 'static.html');
  await writeFile(staticPage, head + filler + tail);
  console.error(`bench: popup files ${size} bytes; static baseline ${(await readFile(staticPage)).length} bytes`);

  for (let round = 0; round < rounds; round++) {
    popup.push(await timeOpen(ext.context, ext.popupUrl));
    baseline.push(await timeOpen(ext.context, `file://${staticPage}`));
    console.error(`bench: round ${round + 1}/${rounds}: popup ${popup.at(-1)} ms, static ${baseline.at(-1)} ms`);
    await sleep(50);
  }
} finally {
  await ext.close();
  await rm(scratch, { recursive: true, force: true });
}
console.log(JSON.stringify({ popup, baseline }));
