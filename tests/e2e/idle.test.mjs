// Idle survival: with nothing attached to the service worker (Chromium started
// directly, no Playwright), Chrome kills an idle worker after 30 s. The worker's
// keepalive traffic (OPTIONS every 15 s) must keep it, and its registration, alive.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { startPbx } from '../peers/pbx.js';
import { launchChromiumDirect } from './lib/cdp.mjs';
import { sleep, until } from './lib/extension.mjs';

const execFileP = promisify(execFile);
const IDLE_MS = 150_000;

/** Kamailio's own count of OPTIONS requests received (core statistics). */
async function optionsReceived(pbx) {
  const { stdout } = await execFileP('kamcmd', ['-s', `unix:${pbx.run_dir}/kamailio_ctl`, 'stats.get_statistics', 'rcv_requests_options']);
  const match = stdout.match(/rcv_requests_options = (\d+)/);
  if (!match) throw new Error(`no OPTIONS statistic in: ${stdout}`);
  return Number(match[1]);
}

test('the worker stays registered through 150 s without user activity', { timeout: IDLE_MS + 60_000 }, async (t) => {
  const pbx = await startPbx();
  t.after(() => pbx.stop());
  const chrome = await launchChromiumDirect();
  t.after(() => chrome.close());

  // Configure through an extension page, as the popup does, then close it: only the
  // worker's own traffic may keep it alive from here on.
  const { targetId: pageId } = await chrome.cdp.send('Target.createTarget', { url: chrome.popupUrl });
  await until('the popup page to load', async () => {
    // The new target starts on about:blank, which is already "complete": wait for
    // the extension page itself, where chrome.runtime exists.
    const ready = await chrome.cdp
      .evaluateIn(pageId, `location.protocol === 'chrome-extension:' && document.readyState === 'complete' && typeof chrome.runtime?.sendMessage === 'function'`)
      .catch(() => false);
    return ready === true;
  }, 10_000);
  const account = { server: pbx.ws_url, username: '1001', password: 'pass1001' };
  const reply = await chrome.cdp.evaluateIn(
    pageId,
    `chrome.runtime.sendMessage({ v: 1, type: 'set_account', account: ${JSON.stringify(account)} })`,
  );
  assert.notEqual(reply?.type, 'error', `set_account answered ${JSON.stringify(reply)}`);
  await until('a contact for 1001', async () => (await pbx.contacts('1001')).length > 0, 10_000);
  await chrome.cdp.send('Target.closeTarget', { targetId: pageId });

  const [worker] = await chrome.workerTargets();
  assert.ok(worker, 'the service worker is running');
  assert.equal(worker.attached, false, 'no DevTools session is attached to the worker');
  const registersBefore = await pbx.registerCount('1001');
  const optionsBefore = await optionsReceived(pbx);
  const started = Date.now();
  while (Date.now() - started < IDLE_MS) {
    await sleep(5_000);
    const workers = await chrome.workerTargets();
    const elapsed = Math.round((Date.now() - started) / 1000);
    assert.ok(
      workers.some((w) => w.targetId === worker.targetId),
      `the worker was terminated after ${elapsed} s of idleness (targets now: ${JSON.stringify(workers)})`,
    );
  }
  const keepalives = (await optionsReceived(pbx)) - optionsBefore;
  const refreshes = (await pbx.registerCount('1001')) - registersBefore;
  t.diagnostic(`${keepalives} OPTIONS keepalives and ${refreshes} REGISTERs in ${IDLE_MS / 1000} s`);
  // One OPTIONS every 15 s: 10 in 150 s, allowing for the phase of the first.
  assert.ok(keepalives >= 9, `only ${keepalives} keepalives reached the PBX in 150 s`);
  assert.equal((await pbx.contacts('1001')).length, 1, 'still registered at the PBX');
});
