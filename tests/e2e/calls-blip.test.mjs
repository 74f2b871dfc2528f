// A network blip does not drop a call: two Chromium instances with Ringside
// (1001 and 1002) through the local Kamailio; 1001 reaches the PBX through a
// small TCP relay that this test can cut (both directions reset, like a
// dropped Wi-Fi or a NAT/proxy that forgot the connection) and keep refusing
// for a while. The worker stays alive; its call waits (the media runs
// peer to peer, not over the signalling connection), the worker reconnects
// and registers again, and the call's target-refreshing re-INVITE points
// 1002 at the new connection. Then the call goes on and ends normally; a
// hang-up during the outage, on either side, still ends it on both.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { startPbx } from '../peers/index.js';
import { audio, callIn, connect, registered, ringside, until } from './lib/ringside.mjs';

let pbx;
let relay;
let a;
let b;

/** A TCP relay to Kamailio's ws port: `cut()` resets every connection, `refuse` holds new ones off. */
async function tcpRelay(targetPort) {
  const open = new Set();
  let refusing = false;
  let refused = 0;
  const server = net.createServer((client) => {
    if (refusing) {
      refused += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    open.add(pair);
    const end = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    refused: () => refused,
    cut() {
      refusing = true;
      for (const { client, upstream } of open) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
      open.clear();
    },
    heal() {
      refusing = false;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const kamailioLog = () => path.join(pbx.run_dir, 'kamailio.log');
const logSize = async () => (await stat(kamailioLog())).size;
/** Kamailio's RINGSIDE-REQ lines for `method` after byte `offset` of its log. */
async function requestsSince(offset, method) {
  const text = (await readFile(kamailioLog())).subarray(offset).toString();
  return text.split('\n').filter((l) => l.includes(`RINGSIDE-REQ ${method} `));
}

/** Cuts 1001's connection and waits until its worker noticed, with the call `id` still up. */
async function blip(id) {
  relay.cut();
  await until('1001 to notice the drop', async () => (await a.snap()).state !== 'registered');
  const call = (await a.snap()).calls.find((c) => c.id === id);
  assert.equal(call?.state, 'active', `the call survives the drop: ${JSON.stringify(call)}`);
  assert.equal(call.reconnecting, true);
}

before(async () => {
  pbx = await startPbx();
  relay = await tcpRelay(Number(new URL(pbx.ws_url).port));
  [a, b] = await Promise.all([ringside({ ws_url: `ws://127.0.0.1:${relay.port}` }, '1001'), ringside(pbx, '1002')]);
  for (const side of [a, b]) await registered(side);
});

after(async () => {
  await Promise.all([a?.ext.close(), b?.ext.close()]);
  await relay?.close();
  await pbx?.stop();
});

test('a dropped connection keeps the call: re-REGISTER, re-INVITE, media both ways, the peer hangs up', async () => {
  const call = await connect(a, b);
  await audio(a, call.out);
  const offset = await logSize();
  const cutAt = Date.now();
  await blip(call.out);
  // The outage lasts: the media does not need the signalling connection,
  // and the worker's first reconnect attempts fail.
  const refusedBefore = relay.refused();
  await audio(a, call.out);
  await audio(b, call.in);
  await until('two refused reconnects', async () => relay.refused() >= refusedBefore + 2);
  assert.equal((await a.snap()).calls.find((c) => c.id === call.out)?.state, 'active');
  // The call window tells the user what is going on.
  const window = await a.ext.context.newPage();
  await window.goto(`chrome-extension://${a.ext.extensionId}/call.html?call=${call.out}`);
  const flag = window.locator(`li.call[data-call-id="${call.out}"] .flag[role="status"]`);
  await flag.waitFor();
  assert.equal(await flag.textContent(), 'Reconnecting…');
  const healedAt = Date.now();
  relay.heal();
  await registered(a);
  const registeredAt = Date.now();
  const invites = await until('the target-refreshing re-INVITE', async () => {
    const l = await requestsSince(offset, 'INVITE');
    return l.length >= 1 && l;
  });
  await until('the ACK of the re-INVITE', async () => (await requestsSince(offset, 'ACK')).length >= 1);
  const refreshedAt = Date.now();
  const after = (await a.snap()).calls.find((c) => c.id === call.out);
  assert.equal(after?.state, 'active');
  assert.equal(after.reconnecting, false);
  await flag.waitFor({ state: 'detached' });
  await window.close();
  assert.equal((await b.snap()).calls.find((c) => c.id === call.in)?.state, 'active');
  await audio(a, call.out);
  await audio(b, call.in);
  // 1002's BYE follows the refreshed target to 1001's new connection.
  assert.equal((await b.send({ type: 'hangup', call: call.in })).type, 'ok');
  const mine = await callIn(a, 'the BYE at 1001', (c) => c.id === call.out && c.state === 'ended');
  assert.equal(mine.end, 'remote_hung_up');
  const history = await a.send({ type: 'get_history', seen: false });
  assert.equal(history.entries[0].result, 'answered');
  console.log(`outage ${healedAt - cutAt} ms; registered ${registeredAt - healedAt} ms after the relay healed, ` +
    `re-INVITE ACKed ${refreshedAt - healedAt} ms after; re-INVITE through the PBX: ${invites[0].trim()}`);
});

test('hanging up during the outage ends the call at once; the BYE reaches the peer after the reconnect', async () => {
  const call = await connect(a, b);
  await blip(call.out);
  assert.equal((await a.send({ type: 'hangup', call: call.out })).type, 'ok');
  const mine = await callIn(a, 'the hang-up shown at once', (c) => c.id === call.out && c.state === 'ended');
  assert.equal(mine.end, 'hung_up');
  assert.equal((await b.snap()).calls.find((c) => c.id === call.in)?.state, 'active', 'the peer cannot know yet');
  relay.heal();
  const theirs = await callIn(b, 'the BYE at 1002 after the reconnect', (c) => c.id === call.in && c.state === 'ended');
  assert.equal(theirs.end, 'remote_hung_up');
});

test('the peer hanging up during the outage: the refresh gets 481 and the call ends', async () => {
  const call = await connect(a, b);
  await blip(call.out);
  assert.equal((await b.send({ type: 'hangup', call: call.in })).type, 'ok');
  await callIn(b, '1002 ended', (c) => c.id === call.in && c.state === 'ended');
  assert.equal((await a.snap()).calls.find((c) => c.id === call.out)?.state, 'active', 'the BYE could not reach 1001');
  const offset = await logSize();
  relay.heal();
  const mine = await callIn(a, 'the refresh refused at 1001', (c) => c.id === call.out && c.state === 'ended');
  assert.equal(mine.end, 'remote_hung_up');
  assert.equal((await requestsSince(offset, 'INVITE')).length, 1, 'ended by the answer to its re-INVITE');
  await until('1001\'s media closed', async () => (await a.send({ type: 'media_stats', call: call.out }))?.type !== 'media_stats');
});

test('no connection within 30 s: the call ends as lost, and the peer gets the BYE once one is back', async () => {
  const call = await connect(a, b);
  const cutAt = Date.now();
  await blip(call.out);
  const mine = await until(
    'the recovery limit at 1001',
    async () => (await a.snap()).calls.find((c) => c.id === call.out && c.state === 'ended'),
    45_000,
  );
  const waited = Date.now() - cutAt;
  assert.equal(mine.end, 'connection_lost');
  assert.ok(waited >= 29_000, `ended after ${waited} ms`);
  const history = await a.send({ type: 'get_history', seen: false });
  assert.equal(history.entries[0].result, 'connection_lost');
  await until('1001\'s media closed', async () => (await a.send({ type: 'media_stats', call: call.out }))?.type !== 'media_stats');
  assert.equal((await b.snap()).calls.find((c) => c.id === call.in)?.state, 'active', '1002 cannot know yet');
  relay.heal();
  // A popup opening reconnects at once instead of waiting out the backoff.
  await a.page.evaluate(() => {
    globalThis.statePort = chrome.runtime.connect({ name: 'ringside-state' });
  });
  const theirs = await callIn(b, 'the owed BYE at 1002', (c) => c.id === call.in && c.state === 'ended');
  assert.equal(theirs.end, 'remote_hung_up');
  console.log(`recovery limit: call ended ${waited} ms after the drop`);
});

/** Lets 1001 reconnect now: the relay passes again and a popup opening skips the backoff. */
async function healNow() {
  relay.heal();
  await a.page.evaluate(() => {
    globalThis.statePort?.disconnect();
    globalThis.statePort = chrome.runtime.connect({ name: 'ringside-state' });
  });
}

test('calls ringing at the drop end, and the PBX hears of it on the next connection: 480 to the caller, CANCEL to the callee', async () => {
  // 1002 calls 1001, which rings when its connection drops.
  const dialled = await b.send({ type: 'dial', number: a.user });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  const ringing = await callIn(a, 'ringing', (c) => c.state === 'ringing' && c.number === b.user);
  relay.cut();
  const missed = await callIn(a, 'the ringing call ended by the drop', (c) => c.id === ringing.id && c.state === 'ended');
  assert.equal(missed.end, 'connection_lost');
  assert.equal((await a.send({ type: 'get_history', seen: false })).entries[0].kind, 'missed');
  assert.equal((await b.snap()).calls.find((c) => c.id === dialled.call)?.state, 'early', 'the caller still hears ringing');
  await healNow();
  const theirs = await callIn(b, 'the 480 at the caller', (c) => c.id === dialled.call && c.state === 'ended');
  assert.equal(theirs.status_code, 480, JSON.stringify(theirs));
  await registered(a);

  // 1001 calls 1002, which rings when 1001's connection drops.
  const ours = await a.send({ type: 'dial', number: b.user });
  assert.equal(ours.type, 'call', JSON.stringify(ours));
  const at1002 = await callIn(b, 'ringing', (c) => c.state === 'ringing' && c.number === a.user);
  const offset = await logSize();
  relay.cut();
  const lost = await callIn(a, 'the outgoing call ended by the drop', (c) => c.id === ours.call && c.state === 'ended');
  assert.equal(lost.end, 'connection_lost');
  assert.equal((await b.snap()).calls.find((c) => c.id === at1002.id)?.state, 'ringing', 'the callee still rings');
  await healNow();
  const cancelled = await callIn(b, 'the CANCEL at the callee', (c) => c.id === at1002.id && c.state === 'ended');
  assert.equal(cancelled.end, 'cancelled');
  assert.equal((await requestsSince(offset, 'CANCEL')).length, 1);
  await registered(a);
});
