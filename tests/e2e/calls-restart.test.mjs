// A call outlives its service worker: two Chromium instances with Ringside
// (1001 and 1002) through the local Kamailio; 1002's worker is killed mid-call
// (CDP Target.closeTarget, as Chrome's idle timeout does). The offscreen
// document keeps the media; the next worker reads the calls it stored in
// chrome.storage.session, registers again and takes the dialog over with a
// target-refreshing re-INVITE (the PBX routes to the new connection from
// then on). Then the call is held, resumed and hung up from either side.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { startPbx } from '../peers/index.js';
import { killWorker, launchExtension } from './lib/extension.mjs';

const V = 1;
let pbx;
let a;
let b;

async function ringside(user) {
  const ext = await launchExtension();
  const page = await ext.context.newPage();
  await page.goto(`chrome-extension://${ext.extensionId}/call.html?call=0`);
  await page.evaluate(
    (account) => chrome.storage.local.set({ account }),
    { server: pbx.ws_url, username: user, password: `pass${user}` },
  );
  const send = (msg) => page.evaluate((m) => chrome.runtime.sendMessage(m), { v: V, ...msg });
  const snap = async () => (await send({ type: 'get_snapshot' })).snapshot;
  return { ext, page, user, send, snap };
}

async function until(what, fn, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await fn().catch((e) => e);
    if (last && !(last instanceof Error)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}

const callIn = (side, pred, what = `a call on ${side.user}`) => until(what, async () => (await side.snap()).calls.find(pred));
const stats = async (side, call) => {
  const r = await side.send({ type: 'media_stats', call });
  if (r?.type !== 'media_stats') throw new Error(JSON.stringify(r));
  return r.stats;
};

async function mediaGrows(side, call) {
  const first = await until(`inbound audio on ${side.user}`, async () => {
    const s = await stats(side, call);
    return s.bytes_received > 0 && s;
  });
  await new Promise((r) => setTimeout(r, 700));
  const second = await stats(side, call);
  assert.ok(second.bytes_received > first.bytes_received, `${side.user}: bytesReceived ${first.bytes_received} → ${second.bytes_received}`);
}

async function connect(from, to) {
  const dialled = await from.send({ type: 'dial', number: to.user });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  const ringing = await callIn(to, (c) => c.state === 'ringing');
  assert.equal((await to.send({ type: 'answer', call: ringing.id })).type, 'ok');
  await callIn(from, (c) => c.id === dialled.call && c.state === 'active');
  await callIn(to, (c) => c.id === ringing.id && c.state === 'active');
  return { out: dialled.call, in: ringing.id };
}

const kamailioLog = () => path.join(pbx.run_dir, 'kamailio.log');

/** INVITEs Kamailio logged after byte `offset` of its log (RINGSIDE-REQ lines). */
async function invitesSince(offset) {
  const text = (await readFile(kamailioLog())).subarray(offset).toString();
  return text.split('\n').filter((l) => l.includes('RINGSIDE-REQ INVITE')).length;
}

/**
 * Kills `side`'s worker mid-call and waits until the next one has taken the
 * call `id` over: shown again, registered, and its re-INVITE through the PBX.
 */
async function restart(side, id) {
  const offset = (await stat(kamailioLog())).size;
  await killWorker(side.ext);
  // Any runtime message wakes a new worker (Chrome's alarm would, a minute later).
  const shown = await callIn(side, (c) => c.id === id, `call ${id} shown by the new worker`);
  assert.equal(shown.state, 'active');
  await until(`${side.user} registered again`, async () => (await side.snap()).state === 'registered');
  await until('the target-refreshing re-INVITE', async () => (await invitesSince(offset)) >= 1);
}

before(async () => {
  pbx = await startPbx();
  [a, b] = await Promise.all([ringside('1001'), ringside('1002')]);
  for (const side of [a, b]) {
    await until(`${side.user} registered`, async () => (await side.snap()).state === 'registered');
  }
});

after(async () => {
  await Promise.all([a?.ext.close(), b?.ext.close()]);
  await pbx?.stop();
});

test('after a worker restart the callee holds, resumes and hangs up; the caller gets the BYE', async () => {
  const call = await connect(a, b);
  await mediaGrows(b, call.in);
  await restart(b, call.in);
  await mediaGrows(b, call.in);
  await mediaGrows(a, call.out);
  assert.equal((await b.send({ type: 'hold', call: call.in })).type, 'ok');
  await callIn(a, (c) => c.id === call.out && c.remote_hold, 'the caller to see the hold');
  assert.equal((await b.send({ type: 'resume', call: call.in })).type, 'ok');
  await callIn(a, (c) => c.id === call.out && !c.remote_hold, 'the caller to see the resume');
  assert.equal((await b.send({ type: 'hangup', call: call.in })).type, 'ok');
  const theirs = await callIn(a, (c) => c.id === call.out && c.state === 'ended', 'the BYE at the caller');
  assert.equal(theirs.end, 'remote_hung_up');
  await until('the callee\'s connection closed', async () => (await b.send({ type: 'media_stats', call: call.in }))?.type !== 'media_stats');
  const history = await b.send({ type: 'get_history' });
  assert.equal(history.entries[0].result, 'answered');
});

test('after a worker restart the peer\'s BYE reaches the new connection and closes the media', async () => {
  const call = await connect(a, b);
  await mediaGrows(b, call.in);
  await restart(b, call.in);
  assert.equal((await a.send({ type: 'hangup', call: call.out })).type, 'ok');
  const mine = await callIn(b, (c) => c.id === call.in && c.state === 'ended', 'the BYE at the restarted callee');
  assert.equal(mine.end, 'remote_hung_up');
  await until('the callee\'s connection closed', async () => (await b.send({ type: 'media_stats', call: call.in }))?.type !== 'media_stats');
});

test('the caller\'s worker restarts too: its transfer still works in the old dialog', async () => {
  const call = await connect(a, b);
  await restart(a, call.out);
  await mediaGrows(a, call.out);
  // A blind transfer is a REFER in the restored dialog; 1002 accepts it and
  // calls the target, which does not exist: the transfer reports a failure.
  assert.equal((await a.send({ type: 'transfer_blind', call: call.out, target: '1099' })).type, 'ok');
  await callIn(a, (c) => c.id === call.out && c.transfer_status !== null && c.transfer_status !== undefined, 'transfer progress');
  assert.equal((await a.send({ type: 'hangup', call: call.out })).type, 'ok');
  const theirs = await callIn(b, (c) => c.id === call.in && c.state === 'ended', 'the BYE at the callee');
  assert.equal(theirs.end, 'remote_hung_up');
});

// A call still ringing when the worker dies cannot be taken over (the INVITE
// transaction died with it; Kamailio would send the caller's CANCEL to the
// dead connection): the next worker ends it. Kamailio matches a response or
// a CANCEL to its transaction by the Via branch, whatever connection it
// arrives on, so the caller hears 480 and a callee stops ringing at once.

/** Waits until `side`'s worker stored its ringing call (the store is written asynchronously). */
const ringingStored = (side) =>
  until(`${side.user}'s ringing call stored`, async () => {
    const items = await side.page.evaluate(() => chrome.storage.session.get('calls_restore'));
    return items.calls_restore?.includes('"ringing":[{');
  });

const callWindows = (side, id) => side.ext.context.pages().filter((p) => p.url().endsWith(`/call.html?call=${id}`));

test('an incoming call ringing when the worker dies becomes a missed call; the caller hears 480', async () => {
  const before = (await b.send({ type: 'get_history', seen: false })).entries.length;
  const dialled = await a.send({ type: 'dial', number: b.user });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  const ringing = await callIn(b, (c) => c.state === 'ringing');
  const notification = `ringside-call-${ringing.id}`;
  await until('the incoming-call notification', async () =>
    Object.keys(await b.page.evaluate(() => chrome.notifications.getAll())).includes(notification));
  await until('the call window', async () => callWindows(b, ringing.id).length === 1);
  await until('the ringtone', async () => (await b.send({ type: 'media_status' }))?.status?.tone === 'ring');
  await ringingStored(b);
  const missedBefore = (await b.snap()).missed_calls;
  const offset = (await stat(kamailioLog())).size;
  await killWorker(b.ext);
  // The next worker (woken by this message) ends the call at once.
  const snap = await until('the new worker', async () => {
    const s = await b.snap();
    return !s.calls.some((c) => c.id === ringing.id && c.state === 'ringing') && s;
  });
  assert.equal(snap.missed_calls, missedBefore + 1);
  const history = await b.send({ type: 'get_history', seen: false });
  assert.equal(history.entries.length, before + 1);
  assert.equal(history.entries[0].kind, 'missed');
  assert.equal(history.entries[0].number, a.user);
  const notes = await until('the incoming-call notification replaced by a missed-call one', async () => {
    const all = await b.page.evaluate(() => chrome.notifications.getAll());
    return !all[notification] && all[`ringside-missed-${ringing.id}`] && all;
  });
  assert.ok(notes);
  assert.equal(await b.page.evaluate(() => chrome.action.getBadgeText({})), String(missedBefore + 1));
  await until('the call window closed', async () => callWindows(b, ringing.id).length === 0);
  await until('the ringtone stopped', async () => (await b.send({ type: 'media_status' }))?.status?.tone === 'none');
  const theirs = await callIn(a, (c) => c.id === dialled.call && c.state === 'ended', 'the caller to hear the 480');
  assert.equal(theirs.status_code, 480, JSON.stringify(theirs));
  const text = (await readFile(kamailioLog())).subarray(offset).toString();
  assert.ok(!text.includes('RINGSIDE-REQ CANCEL'), 'no CANCEL was needed');
});

test('an outgoing call ringing when the worker dies is cancelled at the callee through the new connection', async () => {
  const dialled = await a.send({ type: 'dial', number: b.user });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  const ringing = await callIn(b, (c) => c.state === 'ringing');
  await callIn(a, (c) => c.id === dialled.call && c.state === 'early');
  await until('the ringback', async () => (await a.send({ type: 'media_status' }))?.status?.tone === 'ringback');
  await ringingStored(a);
  const offset = (await stat(kamailioLog())).size;
  await killWorker(a.ext);
  const mine = await callIn(a, (c) => c.id === dialled.call && c.state === 'ended', 'the new worker to end the call');
  assert.equal(mine.end, 'connection_lost');
  await until('the ringback stopped', async () => (await a.send({ type: 'media_status' }))?.status?.tone !== 'ringback');
  const theirs = await callIn(b, (c) => c.id === ringing.id && c.state === 'ended', 'the CANCEL at the callee');
  assert.equal(theirs.end, 'cancelled');
  const text = (await readFile(kamailioLog())).subarray(offset).toString();
  const cancel = text.split('\n').find((l) => l.includes('RINGSIDE-REQ CANCEL'));
  assert.ok(cancel, 'the CANCEL went through Kamailio');
  console.log(`CANCEL on the new connection: ${cancel.trim()}`);
  const history = await a.send({ type: 'get_history', seen: false });
  assert.equal(history.entries[0].result, 'connection_lost');
});
