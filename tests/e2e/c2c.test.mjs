// Click-to-call end to end (issue 7): the built extension in Debian's Chromium on
// local pages served over http. Numbers become callable without moving the page,
// a trusted click shows a confirmation with the exact dial string, Enter on it
// places the call through the worker's `dial` path; page scripts cannot call;
// the per-site toggle removes the affordances.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jssipUA, nextIncoming } from '../peers/index.js';
import { startPbx } from '../peers/pbx.js';
import { configureAccount, launchExtension, sleep, until } from './lib/extension.mjs';
import { numbersPage, servePages, shadowText } from './lib/c2c-pages.mjs';

const PLAIN = `<!doctype html><html><head><meta charset="utf-8"><title>plain</title>
<script>
  // Taken before the content script runs (document_idle): where things sat.
  addEventListener('DOMContentLoaded', () => {
    window.before = JSON.stringify(['after', 'para'].map((id) => document.getElementById(id).getBoundingClientRect()));
  });
</script></head><body>
<p id="para">Sales: <span id="sales">+1 415-555-0132</span> <span id="after">(mornings)</span></p>
<p>Desk: <a id="tel" href="tel:1003">extension 1003</a> · <a id="sip" href="sip:1003@pbx.test">SIP</a></p>
<p>Code: <code>+1 415-555-0177</code></p>
<textarea>+1 415-555-0188</textarea>
<div contenteditable="true">+1 415-555-0199</div>
<p>Order 20231127 shipped 2026-11-28 for $1,299.00</p>
</body></html>`;

const CSP = {
  headers: { 'content-security-policy': "default-src 'none'; style-src 'self'" },
  body: `<!doctype html><html><head><meta charset="utf-8"><title>csp</title></head><body>
<p>Hotline: <span id="n">+44 20 7946 0958</span></p><p>Desk: <a id="tel" href="tel:1003">1003</a></p></body></html>`,
};

const SPA = `<!doctype html><html><head><meta charset="utf-8"><title>spa</title></head><body>
<div id="app">Loading…</div>
<script>
  setTimeout(() => {
    const app = document.getElementById('app');
    app.textContent = '';
    for (let i = 0; i < 3; i++) {
      const row = document.createElement('p');
      row.innerHTML = 'Contact ' + i + ': <b>+1 212-555-010' + i + '</b>';
      app.append(row);
    }
  }, 800);
</script></body></html>`;

const SYNTHETIC = `<!doctype html><html><head><meta charset="utf-8"><title>evil</title></head><body>
<p>Premium line: <span id="n">+1 212-555-0123</span></p><a id="tel" href="tel:1003">1003</a>
<script>
  // A hostile page tries everything a page script can do to start a call.
  window.attack = () => {
    const n = document.querySelector('ringside-c2c');
    n.click();
    n.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }));
    n.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    window.postMessage({ v: 1, type: 'call_number', number: "+12125550123" }, '*');
    return !!n;
  };
  // Last: Chromium then shows its external-protocol prompt, which blocks page input.
  window.attackLink = () => document.getElementById('tel').click();
</script></body></html>`;

async function setUp(t, pages) {
  const site = await servePages(pages);
  t.after(() => site.close());
  const ext = await launchExtension();
  t.after(() => ext.close());
  // What the worker logs: "click-to-call from <site>: dialling <dial>".
  const logs = [];
  const listen = (w) => w.on('console', (m) => logs.push(m.text()));
  ext.context.serviceWorkers().forEach(listen);
  ext.context.on('serviceworker', listen);
  const page = await ext.context.newPage();
  return { site, ext, page, logs };
}

/** An extension page to send privileged messages from (the popup's powers). */
async function extensionPage(ext) {
  const page = await ext.context.newPage();
  await page.goto(ext.popupUrl);
  return page;
}

const send = (page, message) => page.evaluate((m) => chrome.runtime.sendMessage({ v: 1, ...m }), message);

async function callable(page, count, timeout = 10_000) {
  await until(`${count} callable number(s)`, async () => (await page.locator('ringside-c2c').count()) >= count, timeout, 50);
  return page.locator('ringside-c2c');
}

async function confirmation(page) {
  return until('the confirmation', async () => {
    const text = await shadowText(page, 'ringside-c2c-confirm');
    return text.length > 0 && text;
  }, 5_000);
}

/** A registered account for 1001, written where the worker picks it up. */
async function register(ext, pbx) {
  const popup = await extensionPage(ext);
  await popup.evaluate(
    (server) => chrome.storage.local.set({ account: { server, username: '1001', password: 'pass1001' } }),
    pbx.ws_url,
  );
  await until('registered', async () => (await send(popup, { type: 'get_snapshot' }))?.snapshot?.state === 'registered', 10_000);
  return popup;
}

describe('click-to-call', () => {
  test('plain page: numbers become callable in place, code/inputs/editable text are left alone', async (t) => {
    const { site, page } = await setUp(t, { '/plain': { body: PLAIN } });
    await page.goto(site.url('/plain'));
    const numbers = await callable(page, 1);
    await sleep(500); // anything else would have been wrapped by now
    assert.deepEqual(await numbers.allTextContents(), ['+1 415-555-0132']);
    const moved = await page.evaluate(() => {
      const now = ['after', 'para'].map((id) => document.getElementById(id).getBoundingClientRect());
      return JSON.stringify(now) !== window.before ? `${window.before} → ${JSON.stringify(now)}` : null;
    });
    assert.equal(moved, null, 'wrapping a number must not move the text around it');
    assert.equal(await page.locator('#sales > ringside-c2c').count(), 1);
  });

  test('a trusted click shows the dial string, Enter places the call; tel: links reach a peer', async (t) => {
    const pbx = await startPbx();
    t.after(() => pbx.stop());
    const { site, ext, page, logs } = await setUp(t, { '/plain': { body: PLAIN } });
    const control = await register(ext, pbx);
    const peer = await jssipUA({ wsUrl: pbx.ws_url, user: '1003' });
    t.after(() => peer.stop());

    await page.goto(site.url('/plain'));
    const numbers = await callable(page, 1);
    await numbers.first().click();
    assert.match(await confirmation(page), /4155550132/);
    await page.keyboard.press('Enter');
    await until('the worker dialling 4155550132', () => logs.some((l) => l.includes('dialling 4155550132')), 5_000);
    // The call went down the popup's dial path (the PBX has no such user, so it fails there).
    await until('a call to 4155550132 in the snapshot', async () => {
      const { snapshot } = await send(control, { type: 'get_snapshot' });
      return snapshot.calls?.some((c) => c.number.includes('4155550132'));
    }, 5_000);

    // A tel: link: same confirmation, and the INVITE reaches 1003.
    await sleep(300);
    const incoming = nextIncoming(peer, 10_000);
    await page.click('#tel');
    assert.match(await confirmation(page), /1003/);
    await page.keyboard.press('Enter');
    const session = await incoming;
    assert.equal(session.remote_identity.uri.user, '1001');
    assert.equal(session.local_identity.uri.user, '1003');
    session.terminate();
  });

  test('the affordance, the confirmation and the confirmation window speak the language chosen in Settings', async (t) => {
    const { site, ext, page } = await setUp(t, { '/plain': { body: PLAIN } });
    const control = await extensionPage(ext);
    const { settings } = await send(control, { type: 'get_settings' });
    const saved = await send(control, { type: 'set_settings', settings: { ...settings, language: 'zh_CN' } });
    assert.equal(saved.type, 'settings', JSON.stringify(saved));
    await page.goto(site.url('/plain'));
    const numbers = await callable(page, 1);
    assert.equal(await numbers.first().getAttribute('title'), '用 Ringside 呼叫 4155550132');
    await numbers.first().click();
    const shown = await confirmation(page);
    assert.match(shown, /呼叫此号码？/);
    assert.doesNotMatch(shown, /Call this number/);
    await page.keyboard.press('Escape');
    const dialog = await ext.context.newPage();
    await dialog.goto(`chrome-extension://${ext.extensionId}/confirm.html?token=00&dial=1003`);
    await until('the window in Chinese', async () => (await dialog.textContent('#call')) === '呼叫', 5_000);
    assert.equal(await dialog.getAttribute('html', 'lang'), 'zh-CN');
  });

  test('"Call <selection>" context menu: the item exists after install (its confirmation: c2c-frames.test.mjs)', async (t) => {
    const { ext } = await setUp(t, {});
    const [worker] = ext.context.serviceWorkers();
    // Created once the worker's wasm is up after onInstalled.
    await until('the menu item created on install', () =>
      worker.evaluate(
        () => new Promise((r) => chrome.contextMenus.update('ringside-call-selection', {}, () => r(!chrome.runtime.lastError))),
      ),
    5_000);
  });

  test('strict CSP page: detection, affordance and confirmation still work', async (t) => {
    const { site, page, logs } = await setUp(t, { '/csp': CSP });
    const violations = [];
    page.on('console', (m) => /Content Security Policy/i.test(m.text()) && violations.push(m.text()));
    await page.goto(site.url('/csp'));
    const numbers = await callable(page, 1);
    assert.deepEqual(await numbers.allTextContents(), ['+44 20 7946 0958']);
    await numbers.first().click();
    // US rules by default: 011 44 …
    assert.match(await confirmation(page), /011442079460958/);
    await page.keyboard.press('Enter');
    await until('the worker dialling', () => logs.some((l) => l.includes('dialling 011442079460958')), 5_000);
    assert.deepEqual(violations, []);
  });

  test('single-page app: numbers added later become callable', async (t) => {
    const { site, page } = await setUp(t, { '/spa': { body: SPA } });
    await page.goto(site.url('/spa'));
    const numbers = await callable(page, 3);
    assert.deepEqual(await numbers.allTextContents(), ['+1 212-555-0100', '+1 212-555-0101', '+1 212-555-0102']);
  });

  test('a page with 10,000 numbers: on-screen ones first, then all of them', async (t) => {
    const big = numbersPage({ count: 10_000, bytes: 2_000_000, title: 'big' });
    const { site, page } = await setUp(t, { '/big': { body: big.body } });
    await page.goto(site.url('/big'));
    await callable(page, 1, 20_000);
    const firstOnScreen = await page.evaluate(() => {
      const wrapped = document.querySelectorAll('ringside-c2c');
      return { count: wrapped.length, topWrapped: !!document.querySelector('p:first-of-type ringside-c2c') };
    });
    assert.ok(firstOnScreen.topWrapped, `the first number on screen is wrapped early (${firstOnScreen.count} so far)`);
    await callable(page, 10_000, 120_000);
  });

  test('skip-confirmation per site: a trusted click calls at once; detect batches are capped', async (t) => {
    const { site, ext, page, logs } = await setUp(t, { '/plain': { body: PLAIN } });
    const popup = await extensionPage(ext);
    const skip = await send(popup, { type: 'set_site', url: site.url('/plain'), skip_confirmation: true });
    assert.equal(skip.site.skip_confirmation, true);
    await page.goto(site.url('/plain'));
    await (await callable(page, 1)).first().click();
    await until('the worker dialling 4155550132', () => logs.some((l) => l.includes('dialling 4155550132')), 5_000);
    // No account here: instead of a confirmation, the dial path's error shows as a translated notice.
    const shown = await confirmation(page);
    assert.doesNotMatch(shown, /Call this number/);
    assert.match(shown, /not connected/);
    const tooMany = await send(popup, { type: 'detect', texts: Array(257).fill('x') });
    assert.equal(tooMany.error?.code, 'bad_request');
    const tooLong = await send(popup, { type: 'detect', texts: ['1'.repeat(8193)] });
    assert.equal(tooLong.error?.code, 'bad_request');
    const ok = await send(popup, { type: 'detect', texts: ['电话：+86 138 0013 8000', 'none'] });
    assert.deepEqual(ok.matches.map((m) => m.map((x) => [x.start_utf16, x.e164])), [[[3, '+8613800138000']], []]);
  });

  test('page scripts cannot start a call: synthetic clicks, keys and messages do nothing', async (t) => {
    const { site, page, logs } = await setUp(t, { '/evil': { body: SYNTHETIC } });
    await page.goto(site.url('/evil'));
    await callable(page, 1);
    assert.equal(await page.evaluate(() => window.attack()), true);
    await sleep(1000);
    assert.equal(await shadowText(page, 'ringside-c2c-confirm'), '', 'no confirmation appears');
    assert.equal(await page.locator('ringside-c2c-confirm').count(), 0);
    assert.deepEqual(logs.filter((l) => l.includes('dialling')), []);
    // Cancel really cancels.
    await page.locator('ringside-c2c').first().click();
    await confirmation(page);
    await page.keyboard.press('Escape');
    await sleep(300);
    assert.equal(await page.locator('ringside-c2c-confirm').count(), 0);
    await page.evaluate(() => window.attackLink());
    await sleep(1000);
    assert.equal(await page.locator('ringside-c2c-confirm').count(), 0, 'a synthetic click on a tel: link is left to the page');
    assert.deepEqual(logs.filter((l) => l.includes('dialling')), []);
  });

  test("the options page's global click-to-call switch removes the affordances from open pages", async (t) => {
    const pbx = await startPbx();
    t.after(() => pbx.stop());
    const { site, ext, page } = await setUp(t, { '/plain': { body: PLAIN } });
    await page.goto(site.url('/plain'));
    await callable(page, 1);
    const popup = await ext.context.newPage();
    await popup.goto(ext.popupUrl);
    await configureAccount(popup, { server: pbx.ws_url, username: '1001', password: 'pass1001' });
    await popup.click('#tab-settings', { timeout: 10_000 });
    // The popup's Settings opens the options page, which holds the global switch.
    const [options] = await Promise.all([ext.context.waitForEvent('page'), popup.click('#open-options')]);
    await options.waitForSelector('#setting-c2c:checked', { timeout: 20_000 });
    await options.click('#setting-c2c');
    await until('affordances removed', async () => (await page.locator('ringside-c2c').count()) === 0, 5_000);
    await options.click('#setting-c2c');
    await callable(page, 1);
  });

  test('the site toggle removes the affordances and brings them back; content scripts may not change it', async (t) => {
    const { site, ext, page } = await setUp(t, { '/plain': { body: PLAIN }, '/csp': CSP });
    await page.goto(site.url('/plain'));
    await callable(page, 1);
    const original = await page.evaluate(() => document.getElementById('para').innerHTML);
    const popup = await extensionPage(ext);
    const off = await send(popup, { type: 'set_site', url: site.url('/plain'), enabled: false });
    assert.equal(off.type, 'site');
    assert.equal(off.site.active, false);
    assert.equal(off.site.site, '127.0.0.1');
    await until('affordances removed', async () => (await page.locator('ringside-c2c').count()) === 0, 5_000);
    assert.equal(await page.evaluate(() => document.getElementById('sales').childNodes.length), 1, 'text nodes merged back');
    // Another page of the same site stays off; the exclusion list and the global switch work the same way.
    const other = await ext.context.newPage();
    await other.goto(site.url('/csp'));
    await sleep(1500);
    assert.equal(await other.locator('ringside-c2c').count(), 0);
    const on = await send(popup, { type: 'set_site', url: site.url('/plain'), enabled: true });
    assert.equal(on.site.active, true);
    await callable(page, 1);
    assert.equal(await page.evaluate(() => document.getElementById('para').innerHTML), original);
    const settings = await send(popup, { type: 'get_c2c_settings' });
    const excluded = await send(popup, {
      type: 'set_c2c_settings',
      settings: { ...settings.settings, excluded: ['127.0.0.1'] },
    });
    assert.deepEqual(excluded.settings.excluded, ['127.0.0.1']);
    await until('excluded site cleared', async () => (await page.locator('ringside-c2c').count()) === 0, 5_000);
    // Privileged requests from anything but an extension page are refused:
    // the worker checks the sender, so a compromised content script cannot use them either.
    const reply = await send(popup, { type: 'call_number', number: '1003' });
    assert.equal(reply.error?.code, 'forbidden', 'call_number from an extension page is refused');
  });
});
