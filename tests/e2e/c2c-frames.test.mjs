// Click-to-call end to end, second part (issue 7): confirmations shown somewhere
// else than where the call was asked for, frames, numbers split across elements,
// and the popup's "this site" switch through the popup itself.
//
// - "Call <selection>" (the browser's context menu; headless Chromium cannot open
//   it, so its click handler is invoked the way Chrome does) shows the exact dial
//   string in the page's top document; only the Call button dials. Where no
//   content script runs, the extension's own confirmation window does it.
// - Numbers in same-origin, cross-origin (another loopback origin) and srcdoc
//   frames become callable; a click there is confirmed in the top document.
// - `<span>+1 (415)</span> <span>555-0100</span>` is one number, wrapped piece by
//   piece without moving anything.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jssipUA, nextIncoming } from '../peers/index.js';
import { startPbx } from '../peers/pbx.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_FLAGS, LAUNCH_TIMEOUT_MS, chromiumPath, distDir, launchExtension, sleep, until } from './lib/extension.mjs';
import { clickShadowButton, serveHttpsPages, servePages, shadowText } from './lib/c2c-pages.mjs';

const PLAIN = `<!doctype html><html><head><meta charset="utf-8"><title>plain</title></head><body>
<p id="sel">Reception: +1 (415) 555-0132, desk 1003</p></body></html>`;

const INNER = `<!doctype html><html><head><meta charset="utf-8"><title>inner</title></head><body>
<p>Frame: <span id="n">+1 650-555-0144</span></p></body></html>`;

const framesPage = (otherOrigin) => `<!doctype html><html><head><meta charset="utf-8"><title>frames</title></head><body>
<p>Top: <span id="top">+1 415-555-0132</span></p>
<iframe id="same" src="/inner" width="400" height="80"></iframe>
<iframe id="cross" src="${otherOrigin}/inner" width="400" height="80"></iframe>
<iframe id="srcdoc" srcdoc="<p>Srcdoc: <b>+1 212-555-0188</b></p>" width="400" height="80"></iframe>
</body></html>`;

const SPLIT = `<!doctype html><html><head><meta charset="utf-8"><title>split</title>
<script>
  addEventListener('DOMContentLoaded', () => {
    window.before = JSON.stringify([...document.querySelectorAll('p')].map((p) => p.getBoundingClientRect()));
  });
</script></head><body>
<p id="s1">Sales <span>+1 (415)</span> <span>555-0100</span> weekdays</p>
<p id="s2">手机 <b>+86 138</b>0013 8000</p>
<p id="s3">Fax <em>(212)</em> 555-<em>0199</em>, mornings</p>
<p id="s4">Not one: <span>+1 (415)</span><br><span>555-0101</span></p>
<div id="s5"><div>Room 415</div><div>555 0102</div></div>
<p id="s6">Order <b>2023</b>1127<b>0042</b> shipped 2026-<b>11</b>-28</p>
</body></html>`;

async function setUp(t, pages) {
  const site = await servePages(pages);
  t.after(() => site.close());
  const ext = await launchExtension();
  t.after(() => ext.close());
  const logs = [];
  const listen = (w) => w.on('console', (m) => logs.push(m.text()));
  ext.context.serviceWorkers().forEach(listen);
  ext.context.on('serviceworker', listen);
  const page = await ext.context.newPage();
  return { site, ext, page, logs, worker: ext.context.serviceWorkers()[0] };
}

/** launchExtension(), trusting the test's self-signed https pages. */
async function launchTrustingCerts() {
  const profile = await mkdtemp(path.join(tmpdir(), 'ringside-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    timeout: LAUNCH_TIMEOUT_MS,
    ignoreDefaultArgs: ['--disable-extensions'],
    args: [`--disable-extensions-except=${distDir}`, `--load-extension=${distDir}`, '--ignore-certificate-errors', ...CHROMIUM_FLAGS],
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: LAUNCH_TIMEOUT_MS }));
  const extensionId = new URL(worker.url()).host;
  return {
    context,
    worker,
    popupUrl: `chrome-extension://${extensionId}/popup.html`,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

async function extensionPage(ext) {
  const page = await ext.context.newPage();
  await page.goto(ext.popupUrl);
  return page;
}

const send = (page, message) => page.evaluate((m) => chrome.runtime.sendMessage({ v: 1, ...m }), message);

async function callable(where, count, timeout = 10_000) {
  await until(`${count} callable piece(s)`, async () => (await where.locator('ringside-c2c').count()) >= count, timeout, 50);
  return where.locator('ringside-c2c');
}

async function confirmation(page) {
  return until('the confirmation', async () => {
    const text = await shadowText(page, 'ringside-c2c-confirm');
    return text.length > 0 && text;
  }, 5_000);
}

async function register(ext, pbx) {
  const popup = await extensionPage(ext);
  await popup.evaluate(
    (server) => chrome.storage.local.set({ account: { server, username: '1001', password: 'pass1001' } }),
    pbx.ws_url,
  );
  await until('registered', async () => (await send(popup, { type: 'get_snapshot' }))?.snapshot?.state === 'registered', 10_000);
  return popup;
}

/** The page whose URL contains `part`, once there is one (new windows start as about:blank). */
const pageWith = (ext, part) =>
  until(`a page at …${part}`, () => ext.context.pages().find((p) => p.url().includes(part)), 10_000, 50);

/** The id of `page`'s tab, as the worker sees it (http pages' URLs are not shown to the extension). */
async function tabId(worker, page) {
  await page.bringToFront();
  return worker.evaluate(async () => (await chrome.tabs.query({ active: true }))[0]?.id ?? null);
}

/** What Chrome does when the user picks "Call <selection>" in `tab`. */
const menuClick = (worker, selectionText, tab) =>
  worker.evaluate(
    ({ text, tab }) =>
      chrome.contextMenus.onClicked.dispatch({ menuItemId: 'ringside-call-selection', selectionText: text, frameId: 0 }, tab),
    { text: selectionText, tab },
  );

describe('click-to-call: confirmations, frames, split numbers', () => {
  test('"Call <selection>": the page shows the dial string first; Cancel places nothing, Call reaches the peer', async (t) => {
    const pbx = await startPbx();
    t.after(() => pbx.stop());
    const { site, ext, page, logs, worker } = await setUp(t, { '/plain': { body: PLAIN } });
    await register(ext, pbx);
    const peer = await jssipUA({ wsUrl: pbx.ws_url, user: '1003' });
    t.after(() => peer.stop());
    await page.goto(site.url('/plain'));
    await callable(page, 1);
    const id = await tabId(worker, page);
    assert.ok(Number.isInteger(id), 'the page has a tab id');

    await menuClick(worker, 'Reception: +1 (415) 555-0132', { id, url: site.url('/plain') });
    assert.match(await confirmation(page), /4155550132/);
    await sleep(300);
    assert.deepEqual(logs.filter((l) => l.includes('dialling')), [], 'nothing is dialled before the confirmation');
    await clickShadowButton(page, 'ringside-c2c-confirm', 1);
    await until('the confirmation closed', async () => (await page.locator('ringside-c2c-confirm').count()) === 0, 3_000);
    await sleep(500);
    assert.deepEqual(logs.filter((l) => l.includes('dialling')), [], 'Cancel places no call');

    const incoming = nextIncoming(peer, 10_000);
    await menuClick(worker, ' 1003 ', { id, url: site.url('/plain') });
    assert.match(await confirmation(page), /1003/);
    await clickShadowButton(page, 'ringside-c2c-confirm', 0);
    const session = await incoming;
    assert.equal(session.remote_identity.uri.user, '1001');
    assert.equal(session.local_identity.uri.user, '1003');
    session.terminate();
    assert.ok(logs.some((l) => l.includes('confirmed call: dialling 1003')), logs.join('\n'));
  });

  test('"Call <selection>" where no content script runs: the extension\'s window confirms, its token works once', async (t) => {
    const { ext, logs, worker } = await setUp(t, {});
    const other = await extensionPage(ext);
    const id = await tabId(worker, other);
    await menuClick(worker, 'Tel. +1 (415) 555-0132', { id, url: ext.popupUrl });
    const dialog = await pageWith(ext, '/confirm.html');
    await dialog.waitForSelector('#dial');
    assert.equal((await dialog.textContent('#dial')).trim(), '4155550132');
    assert.deepEqual(logs.filter((l) => l.includes('dialling')), []);
    const token = new URL(dialog.url()).searchParams.get('token');
    const forged = await send(other, { type: 'confirmed_call', token: token.replace(/^./, (c) => (c === '0' ? '1' : '0')) });
    assert.equal(forged.error?.code, 'forbidden', 'a wrong token is refused');
    await dialog.click('#call');
    await until('the worker dialling 4155550132', () => logs.some((l) => l.includes('confirmed call: dialling 4155550132')), 5_000);
    // No account here: the window says why instead of closing.
    await dialog.waitForSelector('#notice:not(:empty)');
    const again = await send(other, { type: 'confirmed_call', token });
    assert.equal(again.error?.code, 'forbidden', 'a token is good for one call');
  });

  test('frames: same-origin, cross-origin and srcdoc numbers are callable, confirmed in the top document', async (t) => {
    const other = await servePages({ '/inner': { body: INNER } });
    t.after(() => other.close());
    const crossOrigin = other.origin.replace('127.0.0.1', 'localhost');
    const { site, ext, page, logs } = await setUp(t, {});
    const pages = { '/frames': { body: framesPage(crossOrigin) }, '/inner': { body: INNER } };
    const framed = await servePages(pages);
    t.after(() => framed.close());
    await page.goto(framed.url('/frames'));
    await callable(page, 1);
    for (const frame of ['#same', '#cross', '#srcdoc']) await callable(page.frameLocator(frame), 1);
    assert.deepEqual(await page.frameLocator('#srcdoc').locator('ringside-c2c').allTextContents(), ['+1 212-555-0188']);

    await page.frameLocator('#cross').locator('ringside-c2c').click();
    assert.match(await confirmation(page), /6505550144/, 'the top document confirms');
    const crossFrame = page.frames().find((f) => f.url().startsWith(crossOrigin));
    assert.equal(await crossFrame.locator('ringside-c2c-confirm').count(), 0, 'nothing is shown inside the frame');
    await clickShadowButton(page, 'ringside-c2c-confirm', 0);
    await until('the worker dialling 6505550144', () => logs.some((l) => l.includes('confirmed call: dialling 6505550144')), 5_000);

    // The popup's switch for the page's site covers its frames, foreign ones too.
    const popup = await extensionPage(ext);
    const off = await send(popup, { type: 'set_site', url: framed.url('/frames'), enabled: false });
    assert.equal(off.site.active, false);
    await page.bringToFront();
    await until('affordances removed in every frame', async () => {
      const counts = await Promise.all(
        [page, ...['#same', '#cross', '#srcdoc'].map((f) => page.frameLocator(f))].map((w) => w.locator('ringside-c2c').count()),
      );
      return counts.every((c) => c === 0);
    }, 5_000);
    void site;
  });

  test('numbers split across inline elements are one callable number, wrapped piece by piece in place', async (t) => {
    const { site, page } = await setUp(t, { '/split': { body: SPLIT } });
    await page.goto(site.url('/split'));
    await callable(page, 7);
    await sleep(500);
    const pieces = await page.evaluate(() =>
      ['s1', 's2', 's3', 's4', 's5', 's6'].map((id) =>
        [...document.getElementById(id).querySelectorAll('ringside-c2c')].map((e) => [e.textContent, e.title]),
      ),
    );
    assert.deepEqual(pieces[0].map(([text]) => text), ['+1 (415)', ' ', '555-0100']);
    assert.equal(new Set(pieces[0].map(([, title]) => title)).size, 1, 'every piece calls the same number');
    assert.deepEqual(pieces[1].map(([text]) => text), ['+86 138', '0013 8000']);
    assert.deepEqual(pieces[2].map(([text]) => text), ['(212)', ' 555-', '0199']);
    assert.deepEqual(pieces.slice(3), [[], [], []], 'a <br> or a block ends a run; glued ids and dates are no numbers');
    const moved = await page.evaluate(() => {
      const now = JSON.stringify([...document.querySelectorAll('p')].map((p) => p.getBoundingClientRect()));
      return now !== window.before ? `${window.before} → ${now}` : null;
    });
    assert.equal(moved, null, 'wrapping the pieces moves nothing');
    assert.equal(await page.locator('#s1 ringside-c2c[tabindex="0"]').count(), 1, 'one tab stop per number');

    await page.locator('#s1 ringside-c2c').nth(2).click();
    assert.match(await confirmation(page), /4155550100/);
    await page.keyboard.press('Escape');
    await page.locator('#s2 ringside-c2c').first().click();
    assert.match(await confirmation(page), /0118613800138000/);
  });

  test('the popup\'s "this site" switch, clicked in the popup, removes and restores the page\'s affordances', async (t) => {
    // https: the popup reads the page's URL through the host permissions (the toolbar
    // popup has activeTab as well, which nothing but a real click on the toolbar grants).
    const site = await serveHttpsPages({ '/plain': { body: PLAIN } });
    t.after(() => site.close());
    const ext = await launchTrustingCerts();
    t.after(() => ext.close());
    const { worker } = ext;
    const page = await ext.context.newPage();
    // An account (its server need not answer) gets the popup past its login form.
    const control = await extensionPage(ext);
    await control.evaluate(() => chrome.storage.local.set({ account: { server: 'ws://127.0.0.1:9', username: '1001', password: 'x' } }));
    await until('an account', async () => !!(await send(control, { type: 'get_snapshot' }))?.snapshot?.aor, 10_000);
    await control.close();
    await page.bringToFront();
    await page.goto(site.url('/plain'));
    await callable(page, 1);
    // The popup reads the active tab of its window: open it behind the page, as the toolbar popup sits over it.
    await worker.evaluate(() => chrome.tabs.create({ url: 'popup.html', active: false }));
    const popup = await pageWith(ext, '/popup.html');
    await popup.click('#tab-settings', { timeout: 10_000 });
    const toggle = popup.locator('#c2c-site');
    await toggle.waitFor();
    assert.match(await popup.textContent('label[for="c2c-site"]'), /127\.0\.0\.1/);
    assert.equal(await toggle.isChecked(), true);
    await toggle.click();
    await until('affordances removed', async () => (await page.locator('ringside-c2c').count()) === 0, 5_000);
    assert.equal(await toggle.isChecked(), false);
    await toggle.click();
    await page.bringToFront();
    await callable(page, 1);
  });
});
