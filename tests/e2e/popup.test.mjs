// The popup (issue 5) in the real extension against the local Kamailio: login
// answers, the status (persisted across a worker restart, temporary status
// reverting), the runtime language switch, dialling from the pad and from the
// search, history filters and notes, an axe-core audit of every screen (and of
// the options page) in both languages and colour schemes, and screenshots under
// target/screenshots/.

import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { answerOptions, jssipUA, nextIncoming } from '../peers/index.js';
import { startPbx } from '../peers/pbx.js';
import {
  configureAccount,
  killWorker,
  launchExtension,
  openPopup,
  regState,
  repoRoot,
  until,
  waitForState,
} from './lib/extension.mjs';

const SCREENS = ['dial', 'calls', 'history', 'keys', 'settings'];
const screenshotDir = path.join(repoRoot, 'target', 'screenshots');
const axePath = path.join(repoRoot, 'tests', 'node_modules', 'axe-core', 'axe.min.js');

async function setUp(t) {
  const pbx = await startPbx();
  t.after(() => pbx.stop());
  const ext = await launchExtension();
  t.after(() => ext.close());
  return { pbx, ext };
}

async function openSized(ext) {
  const popup = await openPopup(ext);
  await popup.setViewportSize({ width: 360, height: 600 });
  return popup;
}

async function login(popup, pbx, password = 'pass1001') {
  await configureAccount(popup, { server: pbx.ws_url, username: '1001', password, displayName: 'Alice' });
}

async function loggedIn(ext, pbx) {
  const popup = await openSized(ext);
  await login(popup, pbx);
  await waitForState(popup, 'registered');
  await popup.waitForSelector('#tab-dial');
  return popup;
}

/** The options page (the editors used rarely) in a tab, rendered in `language`. */
async function openOptions(ext, language) {
  const page = await ext.context.newPage();
  await page.goto(`chrome-extension://${ext.extensionId}/options.html`);
  await page.waitForFunction((tag) => document.documentElement.lang === tag, language === 'zh_CN' ? 'zh-CN' : 'en');
  await page.waitForSelector('#keys-add', { timeout: 20_000 });
  await page.waitForSelector('#ch-statuses');
  return page;
}

const send = (popup, message) => popup.evaluate((m) => chrome.runtime.sendMessage({ v: 1, ...m }), message);

async function show(popup, screen) {
  await popup.click(`#tab-${screen}`);
  await popup.waitForSelector(`#panel-${screen}`);
}

async function setLanguage(popup, language) {
  await show(popup, 'settings');
  await popup.selectOption('#setting-language', language);
  await popup.waitForFunction((tag) => document.documentElement.lang === tag, language === 'zh_CN' ? 'zh-CN' : 'en');
}

/** Visible text (and accessible names) of the page, for the language checks. */
const visibleText = (popup) =>
  popup.evaluate(() => {
    // Audio device names are the system's, not the UI's: leave them out.
    let text = document.body.innerText;
    for (const option of document.querySelectorAll('#setting-microphone option, #setting-speaker option, #setting-ringer option')) {
      if (option.value) text = text.replace(option.textContent, '');
    }
    const parts = [text, document.title];
    for (const el of document.querySelectorAll('[aria-label],[title],[placeholder]')) {
      parts.push(el.getAttribute('aria-label') ?? '', el.getAttribute('title') ?? '', el.getAttribute('placeholder') ?? '');
    }
    return parts.join('\n');
  });

// Words allowed in the Chinese UI: product and proper names, protocol names,
// the language menu's own endonym, user data (numbers, addresses) and keys.
const PROPER = new Set(['Ringside', 'English', 'SIP', 'PBX', 'ID', 'Alice', 'ABC', 'DEF', 'GHI', 'JKL', 'MNO', 'PQRS', 'TUV', 'WXYZ', 'Alt', 'Shift']);

function englishWords(text) {
  return text
    .replace(/\b[a-z]+:\/\/\S+/gi, '')
    .replace(/\S+@\S+/g, '')
    .split(/[^A-Za-z]+/)
    .filter((w) => w.length >= 3 && !PROPER.has(w));
}

const hasCjk = (text) => /[\u4e00-\u9fff]/.test(text.replace('中文', ''));

describe('popup', () => {
  test('login: a wrong password says so and what to do; the right one opens the main screens', async (t) => {
    const { pbx, ext } = await setUp(t);
    const popup = await openSized(ext);
    await login(popup, pbx, 'wrong');
    await waitForState(popup, 'auth_failed');
    const hint = await popup.textContent('.status .hint');
    assert.ok(hint.trim().length > 10, `a hint says what to do next: ${hint}`);
    assert.equal(await popup.isVisible('#server'), true, 'the form stays for a correction');
    await popup.fill('#password', 'pass1001');
    await popup.click('#save');
    await waitForState(popup, 'registered');
    await popup.waitForSelector('#tab-dial[aria-selected="true"]');
    assert.equal((await popup.textContent('#own-extension')).trim(), '1001');
    await show(popup, 'settings');
    await popup.click('#logout');
    await popup.waitForSelector('#server');
    const { state } = await regState(popup);
    assert.equal(state, 'unregistered');
    await until('the binding to be removed at the PBX', async () => (await pbx.contacts('1001')).length === 0, 5_000);
  });

  test('login without "remember password" keeps the account only for the session', async (t) => {
    const { pbx, ext } = await setUp(t);
    const popup = await openSized(ext);
    await popup.uncheck('#remember-password');
    await login(popup, pbx);
    await waitForState(popup, 'registered');
    const stored = await popup.evaluate(async () => ({
      local: (await chrome.storage.local.get('account')).account ?? null,
      session: (await chrome.storage.session.get('account')).account ?? null,
    }));
    assert.equal(stored.local, null, 'no password in local storage');
    assert.equal(stored.session?.password, 'pass1001');
    await killWorker(ext);
    const again = await openSized(ext);
    await waitForState(again, 'registered', 5_000);
  });

  test('a status change persists across a worker restart and shows in the header', async (t) => {
    const { pbx, ext } = await setUp(t);
    const popup = await loggedIn(ext, pbx);
    await popup.click('#status-button');
    await popup.check('#status-away');
    await popup.fill('#status-note', 'In a meeting');
    await popup.click('#status-save');
    await popup.waitForSelector('#status-button[data-status="away"]');
    assert.match(await popup.textContent('#status-button'), /In a meeting/);
    await killWorker(ext);
    // The open popup loses its port, reconnects, and shows the new worker's state.
    await popup.waitForSelector('#status-button[data-status="away"]');
    await waitForState(popup, 'registered', 5_000);
    const reopened = await openSized(ext);
    await reopened.waitForSelector('#status-button[data-status="away"]', { timeout: 5_000 });
    assert.match(await reopened.textContent('#status-button'), /In a meeting/);
  });

  test('a temporary status shows when it ends and reverts by itself', async (t) => {
    const { pbx, ext } = await setUp(t);
    const popup = await loggedIn(ext, pbx);
    const reply = await send(popup, { type: 'set_status', change: { status: 'lunch_break', note: '', until: { seconds: 3 } } });
    assert.equal(reply.type, 'snapshot', JSON.stringify(reply));
    await popup.waitForSelector('#status-button[data-status="lunch_break"]');
    const title = await popup.getAttribute('#status-button', 'title');
    assert.match(title, /until \d/i, `the hover says when it ends: ${title}`);
    await popup.waitForSelector('#status-button[data-status="available"]', { timeout: 10_000 });
    // Through the UI: a duration from the menu is accepted too.
    await popup.click('#status-button');
    await popup.check('#status-do_not_disturb');
    await popup.selectOption('#status-duration', '30');
    await popup.click('#status-save');
    await popup.waitForSelector('#status-button[data-status="do_not_disturb"]');
    assert.match(await popup.getAttribute('#status-button', 'title'), /until/i);
  });

  test('switching the language changes every visible string', async (t) => {
    const { pbx, ext } = await setUp(t);
    const popup = await loggedIn(ext, pbx);
    await setLanguage(popup, 'zh_CN');
    for (const screen of SCREENS) {
      await show(popup, screen);
      const words = englishWords(await visibleText(popup));
      assert.deepEqual(words, [], `English left on ${screen} in Chinese`);
    }
    const options = await openOptions(ext, 'zh_CN');
    assert.deepEqual(englishWords(await visibleText(options)), [], 'English left on the options page in Chinese');
    await options.close();
    await setLanguage(popup, 'en');
    for (const screen of SCREENS) {
      await show(popup, screen);
      assert.equal(hasCjk(await visibleText(popup)), false, `Chinese left on ${screen} in English`);
    }
    const english = await openOptions(ext, 'en');
    assert.equal(hasCjk(await visibleText(english)), false, 'Chinese left on the options page in English');
    // An options tab left open follows a switch made in the popup.
    await setLanguage(popup, 'zh_CN');
    await english.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    assert.deepEqual(englishWords(await visibleText(english)), [], 'the open options page switched to Chinese');
  });

  test('every screen passes axe in both languages and colour schemes; screenshots', async (t) => {
    const { pbx, ext } = await setUp(t);
    await mkdir(screenshotDir, { recursive: true });
    const popup = await loggedIn(ext, pbx);
    const found = [];
    const audit = async (label, page = popup) => {
      // Evaluated over CDP: the extension's CSP refuses injected <script> tags.
      await page.evaluate(await readFile(axePath, 'utf8'));
      const result = await page.evaluate(async () => {
        // eslint-disable-next-line no-undef
        const r = await axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      });
      found.push(...result.map((v) => `${label}: ${v}`));
    };
    for (const language of ['en', 'zh_CN']) {
      await setLanguage(popup, language);
      for (const scheme of ['light', 'dark']) {
        await popup.emulateMedia({ colorScheme: scheme });
        for (const screen of SCREENS) {
          await show(popup, screen);
          await audit(`${screen} ${language} ${scheme}`);
          await popup.screenshot({ path: path.join(screenshotDir, `popup-${screen}-${language}-${scheme}.png`) });
        }
        await show(popup, 'dial');
        await popup.click('#status-button');
        await popup.waitForSelector('#status-panel');
        await audit(`status ${language} ${scheme}`);
        await popup.screenshot({ path: path.join(screenshotDir, `popup-status-${language}-${scheme}.png`) });
        await popup.keyboard.press('Escape');
        // The options page, opened from Settings; its editors' inner screens
        // are audited in popup-keys.test.mjs.
        const options = await openOptions(ext, language);
        await options.emulateMedia({ colorScheme: scheme });
        await audit(`options ${language} ${scheme}`, options);
        await options.screenshot({ path: path.join(screenshotDir, `options-${language}-${scheme}.png`), fullPage: true });
        await options.close();
      }
    }
    assert.deepEqual(found, [], 'axe violations');
    // The login screen, from a fresh browser.
    const other = await launchExtension();
    t.after(() => other.close());
    const fresh = await openSized(other);
    for (const scheme of ['light', 'dark']) {
      await fresh.emulateMedia({ colorScheme: scheme });
      await fresh.evaluate(await readFile(axePath, 'utf8'));
      const violations = await fresh.evaluate(async () => (await axe.run(document)).violations.map((v) => v.id));
      assert.deepEqual(violations, [], `axe violations on login ${scheme}`);
      await fresh.screenshot({ path: path.join(screenshotDir, `popup-login-en-${scheme}.png`) });
    }
  });

  test('the keyboard reaches every tab and the dial pad', async (t) => {
    const { pbx, ext } = await setUp(t);
    const popup = await loggedIn(ext, pbx);
    await popup.focus('#tab-dial');
    await popup.keyboard.press('ArrowRight');
    await popup.waitForSelector('#tab-calls[aria-selected="true"]');
    assert.equal(await popup.evaluate(() => document.activeElement.id), 'tab-calls');
    await popup.keyboard.press('End');
    await popup.waitForSelector('#tab-settings[aria-selected="true"]');
    await popup.keyboard.press('Home');
    await popup.waitForSelector('#tab-dial[aria-selected="true"]');
    await popup.focus('#dial-input');
    await popup.keyboard.type('1002');
    assert.equal(await popup.inputValue('#dial-input'), '1002');
  });

  test('dial from the pad and from the search places calls the PBX routes; history filters and notes', async (t) => {
    const { pbx, ext } = await setUp(t);
    const peer = await jssipUA({ wsUrl: pbx.ws_url, user: '1002' });
    t.after(() => peer.stop());
    const popup = await loggedIn(ext, pbx);
    const incoming = nextIncoming(peer, 10_000);
    for (const key of ['1', '0', '0', '2']) await popup.click(`.pad-key[data-key="${key}"]`);
    assert.equal(await popup.inputValue('#dial-input'), '1002');
    await popup.click('#dial-call');
    const session = await incoming;
    assert.match(session.remote_identity.uri.user, /1001/);
    await popup.waitForSelector('#tab-calls[aria-selected="true"]');
    await popup.waitForSelector('.call[data-call-id]');
    await mkdir(screenshotDir, { recursive: true });
    await popup.screenshot({ path: path.join(screenshotDir, 'popup-calls-ringing-en-light.png') });
    session.answer(answerOptions);
    await popup.waitForSelector('.call[data-state="active"]', { timeout: 10_000 });
    await popup.click('.call [data-control="mute"]');
    await popup.waitForSelector('.call [data-control="mute"][aria-pressed="true"]');
    await popup.screenshot({ path: path.join(screenshotDir, 'popup-calls-active-en-light.png') });
    // The call window shows the same call with the same controls.
    const callId = await popup.getAttribute('.call[data-call-id]', 'data-call-id');
    const callWindow = await ext.context.newPage();
    await callWindow.setViewportSize({ width: 360, height: 300 });
    await callWindow.goto(`chrome-extension://${ext.extensionId}/call.html?call=${callId}`);
    await callWindow.waitForSelector(`.call[data-call-id="${callId}"][data-state="active"] [data-control="hold"]`);
    await callWindow.evaluate(await readFile(axePath, 'utf8'));
    const violations = await callWindow.evaluate(async () => (await axe.run(document)).violations.map((v) => v.id));
    assert.deepEqual(violations, [], 'axe violations in the call window');
    await callWindow.screenshot({ path: path.join(screenshotDir, 'call-window-active-en-light.png') });
    await popup.click('.call [data-control="hangup"]');
    await callWindow.waitForSelector('#call-ended', { timeout: 10_000 });
    await popup.waitForSelector('#calls-empty', { timeout: 10_000 });

    // The history now has the call: search as you type, then Enter on the match.
    await show(popup, 'dial');
    await popup.fill('#dial-input', '100');
    const match = '#dial-results .result[data-number="1002"]';
    await popup.waitForSelector(match);
    const second = nextIncoming(peer, 10_000);
    await popup.focus(match);
    await popup.keyboard.press('Enter');
    (await second).terminate();
    await popup.waitForSelector('#calls-empty', { timeout: 10_000 });

    await show(popup, 'history');
    await popup.waitForSelector('#history-list .entry');
    await popup.click('#filter-missed');
    await popup.waitForSelector('#history-empty');
    await popup.click('#filter-outgoing');
    await popup.waitForSelector('#history-list .entry[data-kind="outgoing"]');
    await popup.click('#history-list .entry .edit-note');
    await popup.fill('#history-list textarea', 'Call back about the invoice');
    await popup.click('#history-list .save-note');
    await popup.waitForSelector('#history-list .note');
    assert.match(await popup.textContent('#history-list .note'), /invoice/);
    await popup.click('#filter-all');
    await popup.screenshot({ path: path.join(screenshotDir, 'popup-history-notes-en-light.png') });
  });
});
