// The walking skeleton end to end: the built extension (dist/ringside) in Debian's
// Chromium registers to the local Kamailio, each test with its own PBX and browser.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startPbx } from '../peers/pbx.js';
import {
  configureAccount,
  killWorker,
  launchExtension,
  openPopup,
  regState,
  sleep,
  snapshot,
  until,
  waitForState,
} from './lib/extension.mjs';

/** A PBX and a browser with the extension, both stopped after the test. */
async function setUp(t) {
  const pbx = await startPbx();
  t.after(() => pbx.stop());
  const ext = await launchExtension();
  t.after(() => ext.close());
  return { pbx, ext };
}

const account = (pbx, password = 'pass1001') => ({
  server: pbx.ws_url,
  username: '1001',
  password,
  displayName: 'Alice',
});

describe('registration', () => {
  test('the popup form configures the account and the worker registers it at the PBX', async (t) => {
    const { pbx, ext } = await setUp(t);
    const popup = await openPopup(ext);
    await configureAccount(popup, account(pbx));
    await waitForState(popup, 'registered');
    const contacts = await until('a contact for 1001 in ul.dump', async () => {
      const found = await pbx.contacts('1001');
      return found.length > 0 && found;
    }, 5_000);
    assert.equal(contacts.length, 1, `one binding expected: ${contacts}`);
    assert.match(contacts[0], /;transport=ws/i);
    assert.match(await pbx.ulDump(), /AoR: 1001/);
    const { text } = await regState(popup);
    assert.ok(text.length > 0, 'the state is a sentence, not only an attribute');
  });

  test('a wrong password shows auth failed and the worker stops retrying', async (t) => {
    const { pbx, ext } = await setUp(t);
    const popup = await openPopup(ext);
    const started = Date.now() / 1000;
    await configureAccount(popup, account(pbx, 'wrong-password'));
    await waitForState(popup, 'auth_failed');
    // Long enough for several backoff retries (first ≤ 1 s) if it kept hammering.
    await sleep(20_000);
    const registers = await pbx.registerCount('1001', started);
    assert.ok(registers >= 1, 'the REGISTER reached the PBX');
    assert.ok(registers <= 3, `${registers} REGISTERs in 20 s for a rejected credential`);
    assert.equal((await regState(popup)).state, 'auth_failed');
    assert.deepEqual(await pbx.contacts('1001'), []);
  });

  test('after a PBX restart on the same ports it re-registers within 5 s', async (t) => {
    const { pbx, ext } = await setUp(t);
    const popup = await openPopup(ext);
    await configureAccount(popup, account(pbx));
    await waitForState(popup, 'registered');
    const ports = { sipPort: pbx.sip_port, wsPort: pbx.ws_port, wssPort: pbx.wss_port };
    await pbx.stop();
    // Down long enough for the worker to notice and back off a little.
    await sleep(3_000);
    assert.notEqual((await regState(popup)).state, 'registered', 'the popup still says registered with the PBX down');
    const again = await startPbx(ports);
    t.after(() => again.stop());
    const back = Date.now();
    await until('a contact for 1001 after the restart', async () => (await again.contacts('1001')).length > 0, 5_000, 50);
    const took = Date.now() - back;
    await waitForState(popup, 'registered', 2_000);
    t.diagnostic(`re-registered ${took} ms after the PBX was back`);
  });

  test('a killed worker registers again within 1 s of the next wake', async (t) => {
    const { pbx, ext } = await setUp(t);
    let popup = await openPopup(ext);
    await configureAccount(popup, account(pbx));
    await waitForState(popup, 'registered');
    await popup.close();
    const before = await pbx.registerCount('1001');
    await killWorker(ext);
    await sleep(500);
    const woke = Date.now();
    popup = await openPopup(ext);
    await waitForState(popup, 'registered', 3_000);
    const wall = Date.now() - woke;
    const { registered_in_ms: registeredIn } = await snapshot(popup);
    t.diagnostic(`registered ${registeredIn?.toFixed?.(0)} ms after the worker started (${wall} ms after opening the popup)`);
    assert.ok(typeof registeredIn === 'number', 'the snapshot carries registered_in_ms');
    assert.ok(registeredIn <= 1_000, `registered ${registeredIn} ms after the worker started`);
    assert.ok((await pbx.registerCount('1001')) > before, 'the new worker sent a REGISTER');
  });
});
