// A wss:// server whose certificate the browser does not trust must be reported as a
// certificate problem ("tls_error"), not as an unreachable server: the user can fix the
// first by accepting or replacing the certificate, and nothing about the network.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { startPbx } from '../peers/pbx.js';
import { configureAccount, launchExtension, openPopup, regState, sleep, waitForState } from './lib/extension.mjs';

/** A port nothing listens on: bound, read back, released. */
async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('certificate errors', () => {
  test("the PBX's self-signed wss:// certificate shows tls_error with the link to check it", async (t) => {
    const pbx = await startPbx();
    t.after(() => pbx.stop());
    const ext = await launchExtension();
    t.after(() => ext.close());
    const popup = await openPopup(ext);
    await configureAccount(popup, { server: pbx.wss_url, username: '1001', password: 'pass1001' });
    await waitForState(popup, 'tls_error', 15_000);
    const { text } = await regState(popup);
    assert.match(text, new RegExp(pbx.wss_url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const link = await popup.$eval('a[href^="https://"]', (a) => a.href);
    assert.equal(link, `https://127.0.0.1:${pbx.wss_port}/`);
  });

  test('a closed wss:// port stays "unreachable", not a certificate problem', async (t) => {
    const ext = await launchExtension();
    t.after(() => ext.close());
    const popup = await openPopup(ext);
    const port = await closedPort();
    await configureAccount(popup, { server: `wss://127.0.0.1:${port}`, username: '1001', password: 'pass1001' });
    await waitForState(popup, 'unreachable', 15_000);
    // Long enough for the probe of the https origin to have come back.
    await sleep(2_000);
    assert.equal((await regState(popup)).state, 'unreachable');
  });
});
