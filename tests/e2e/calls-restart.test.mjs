// A call outlives its service worker: two Chromium instances with Ringside
// (1001 and 1002) through the local Kamailio; 1002's worker is killed mid-call
// (CDP Target.closeTarget, as Chrome's idle timeout does). The offscreen
// document keeps the media; the next worker reads the calls it stored in
// chrome.storage.session, registers again and takes the dialog over with a
// target-refreshing re-INVITE (the PBX routes to the new connection from
// then on). Then the call is held, resumed and hung up from either side.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { killWorker } from './lib/extension.mjs';
import { audio, callIn, connect, registered, ringsidesForFile, until } from './lib/ringside.mjs';

let pbx;
let a;
let b;

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
  const shown = await callIn(side, `call ${id} shown by the new worker`, (c) => c.id === id);
  assert.equal(shown.state, 'active');
  await registered(side);
  await until('the target-refreshing re-INVITE', async () => (await invitesSince(offset)) >= 1);
}

ringsidesForFile(['1001', '1002'], (p, [x, y]) => {
  pbx = p;
  a = x;
  b = y;
});

test('after a worker restart the callee holds, resumes and hangs up; the caller gets the BYE', async () => {
  const call = await connect(a, b);
  await audio(b, call.in);
  await restart(b, call.in);
  await audio(b, call.in);
  await audio(a, call.out);
  assert.equal((await b.send({ type: 'hold', call: call.in })).type, 'ok');
  await callIn(a, 'the caller to see the hold', (c) => c.id === call.out && c.remote_hold);
  assert.equal((await b.send({ type: 'resume', call: call.in })).type, 'ok');
  await callIn(a, 'the caller to see the resume', (c) => c.id === call.out && !c.remote_hold);
  assert.equal((await b.send({ type: 'hangup', call: call.in })).type, 'ok');
  const theirs = await callIn(a, 'the BYE at the caller', (c) => c.id === call.out && c.state === 'ended');
  assert.equal(theirs.end, 'remote_hung_up');
  await until('the callee\'s connection closed', async () => (await b.send({ type: 'media_stats', call: call.in }))?.type !== 'media_stats');
  const history = await b.send({ type: 'get_history' });
  assert.equal(history.entries[0].result, 'answered');
});

test('after a worker restart the peer\'s BYE reaches the new connection and closes the media', async () => {
  const call = await connect(a, b);
  await audio(b, call.in);
  await restart(b, call.in);
  assert.equal((await a.send({ type: 'hangup', call: call.out })).type, 'ok');
  const mine = await callIn(b, 'the BYE at the restarted callee', (c) => c.id === call.in && c.state === 'ended');
  assert.equal(mine.end, 'remote_hung_up');
  await until('the callee\'s connection closed', async () => (await b.send({ type: 'media_stats', call: call.in }))?.type !== 'media_stats');
});

test('the caller\'s worker restarts too: its transfer still works in the old dialog', async () => {
  const call = await connect(a, b);
  await restart(a, call.out);
  await audio(a, call.out);
  // A blind transfer is a REFER in the restored dialog; 1002 accepts it and
  // calls the target, which does not exist: the transfer reports a failure.
  assert.equal((await a.send({ type: 'transfer_blind', call: call.out, target: '1099' })).type, 'ok');
  await callIn(a, 'transfer progress', (c) => c.id === call.out && c.transfer_status !== null && c.transfer_status !== undefined);
  assert.equal((await a.send({ type: 'hangup', call: call.out })).type, 'ok');
  const theirs = await callIn(b, 'the BYE at the callee', (c) => c.id === call.in && c.state === 'ended');
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
  // Counted by kind: the previous test's transfer call may still be landing in 1002's history.
  const missedEntries = async () =>
    (await b.send({ type: 'get_history', seen: false })).entries.filter((e) => e.kind === 'missed');
  const before = (await missedEntries()).length;
  const dialled = await a.send({ type: 'dial', number: b.user });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  const ringing = await callIn(b, 'ringing', (c) => c.state === 'ringing');
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
  const missed = await missedEntries();
  assert.equal(missed.length, before + 1);
  assert.equal(missed[0].number, a.user);
  const notes = await until('the incoming-call notification replaced by a missed-call one', async () => {
    const all = await b.page.evaluate(() => chrome.notifications.getAll());
    return !all[notification] && all[`ringside-missed-${ringing.id}`] && all;
  });
  assert.ok(notes);
  assert.equal(await b.page.evaluate(() => chrome.action.getBadgeText({})), String(missedBefore + 1));
  await until('the call window closed', async () => callWindows(b, ringing.id).length === 0);
  await until('the ringtone stopped', async () => (await b.send({ type: 'media_status' }))?.status?.tone === 'none');
  const theirs = await callIn(a, 'the caller to hear the 480', (c) => c.id === dialled.call && c.state === 'ended');
  assert.equal(theirs.status_code, 480, JSON.stringify(theirs));
  const text = (await readFile(kamailioLog())).subarray(offset).toString();
  assert.ok(!text.includes('RINGSIDE-REQ CANCEL'), 'no CANCEL was needed');
});

test('an outgoing call ringing when the worker dies is cancelled at the callee through the new connection', async () => {
  const dialled = await a.send({ type: 'dial', number: b.user });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  const ringing = await callIn(b, 'ringing', (c) => c.state === 'ringing');
  await callIn(a, 'early', (c) => c.id === dialled.call && c.state === 'early');
  await until('the ringback', async () => (await a.send({ type: 'media_status' }))?.status?.tone === 'ringback');
  await ringingStored(a);
  const offset = (await stat(kamailioLog())).size;
  await killWorker(a.ext);
  const mine = await callIn(a, 'the new worker to end the call', (c) => c.id === dialled.call && c.state === 'ended');
  assert.equal(mine.end, 'connection_lost');
  await until('the ringback stopped', async () => (await a.send({ type: 'media_status' }))?.status?.tone !== 'ringback');
  const theirs = await callIn(b, 'the CANCEL at the callee', (c) => c.id === ringing.id && c.state === 'ended');
  assert.equal(theirs.end, 'cancelled');
  const text = (await readFile(kamailioLog())).subarray(offset).toString();
  const cancel = text.split('\n').find((l) => l.includes('RINGSIDE-REQ CANCEL'));
  assert.ok(cancel, 'the CANCEL went through Kamailio');
  console.log(`CANCEL on the new connection: ${cancel.trim()}`);
  const history = await a.send({ type: 'get_history', seen: false });
  assert.equal(history.entries[0].result, 'connection_lost');
});
