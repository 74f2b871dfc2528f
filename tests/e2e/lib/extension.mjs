// Ringside in a real Chromium for the browser tests, the demo and the bench.
//
//   const ext = await launchExtension();      // Debian's chromium + dist/ringside, via playwright-core
//   const popup = await openPopup(ext);       // chrome-extension://ID/popup.html in a tab
//   await configureAccount(popup, { server, username: '1001', password: 'pass1001' });
//   await waitForState(popup, 'registered');
//   await killWorker(ext);                    // CDP Target.closeTarget on the service worker
//   await ext.close();
//
// The DOM and message contract is CONTRACT.md section 3 (ids in popup.html, #reg-state[data-state]).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const distDir = process.env.RINGSIDE_DIST ?? path.join(repoRoot, 'dist', 'ringside');
export const chromiumPath = process.env.RINGSIDE_CHROMIUM ?? '/usr/bin/chromium';

// Flags that keep a test browser quiet and deterministic (no updates, sync or
// network chatter) and give WebRTC a fake microphone without a prompt.
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
];

// A first start with a fresh profile takes ~1 s on an idle machine but much longer on a
// loaded 2-core CI box (several browsers start side by side).
export const LAUNCH_TIMEOUT_MS = 60_000;

/** `handleSignals: false` leaves Ctrl-C to the caller (the demo closes the browser itself). */
export async function launchExtension({ headless = true, handleSignals = true } = {}) {
  const profile = await mkdtemp(path.join(tmpdir(), 'ringside-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless,
    timeout: LAUNCH_TIMEOUT_MS,
    handleSIGINT: handleSignals,
    handleSIGTERM: handleSignals,
    // Playwright disables extensions by default; the test is the extension.
    ignoreDefaultArgs: ['--disable-extensions'],
    args: [`--disable-extensions-except=${distDir}`, `--load-extension=${distDir}`, ...CHROMIUM_FLAGS],
  });
  try {
    const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: LAUNCH_TIMEOUT_MS }));
    const extensionId = new URL(worker.url()).host;
    return {
      context,
      extensionId,
      popupUrl: `chrome-extension://${extensionId}/popup.html`,
      async close() {
        await context.close().catch(() => {});
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await context.close().catch(() => {});
    await rm(profile, { recursive: true, force: true });
    throw new Error(`the extension's service worker did not start from ${distDir}: ${error.message}`);
  }
}

export async function openPopup(ext) {
  const page = await ext.context.newPage();
  await page.goto(ext.popupUrl);
  await page.waitForSelector('#reg-state', { timeout: 20_000 });
  return page;
}

export async function configureAccount(page, { server, username, password, authId = '', displayName = '' }) {
  await page.fill('#server', server);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.fill('#auth-id', authId);
  await page.fill('#display-name', displayName);
  await page.click('#save');
}

export async function regState(page) {
  return page.$eval('#reg-state', (el) => ({ state: el.dataset.state, text: el.textContent.trim() }));
}

/** Waits until #reg-state shows `state`; the error says what it showed instead. */
export async function waitForState(page, state, timeout = 10_000) {
  try {
    await page.waitForSelector(`#reg-state[data-state="${state}"]`, { timeout });
  } catch {
    const now = await regState(page).catch(() => ({ state: '(no #reg-state)', text: '' }));
    throw new Error(`#reg-state did not become "${state}" within ${timeout} ms; it shows "${now.state}": ${now.text}`);
  }
}

/** The worker's snapshot through the runtime-message protocol (`get_snapshot`). */
export async function snapshot(page) {
  const reply = await page.evaluate(() => chrome.runtime.sendMessage({ v: 1, type: 'get_snapshot' }));
  const decoded = typeof reply === 'string' ? JSON.parse(reply) : reply;
  if (decoded?.type !== 'snapshot') throw new Error(`get_snapshot answered ${JSON.stringify(reply)}`);
  return decoded.snapshot;
}

/** A CDP session on the browser target (Target.* over all targets). */
export async function browserCdp(ext) {
  const browser = ext.context.browser();
  if (!browser) throw new Error('no browser object for the persistent context');
  return browser.newBrowserCDPSession();
}

async function workerTargets(cdp, extensionId) {
  const { targetInfos } = await cdp.send('Target.getTargets');
  return targetInfos.filter((t) => t.type === 'service_worker' && t.url.startsWith(`chrome-extension://${extensionId}/`));
}

/** Terminates the extension's service worker the way Chrome's idle timeout does. */
export async function killWorker(ext) {
  const cdp = await browserCdp(ext);
  try {
    const targets = await workerTargets(cdp, ext.extensionId);
    if (targets.length === 0) throw new Error('no service worker target to kill');
    for (const t of targets) await cdp.send('Target.closeTarget', { targetId: t.targetId });
    const deadline = Date.now() + 5_000;
    while ((await workerTargets(cdp, ext.extensionId)).length > 0) {
      if (Date.now() > deadline) throw new Error('the service worker survived Target.closeTarget');
      await sleep(50);
    }
  } finally {
    await cdp.detach().catch(() => {});
  }
}

export async function until(what, predicate, timeout, interval = 100) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(interval);
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
