// Calls end to end: two Chromium instances with Ringside (1001 and 1002)
// through the local Kamailio, real WebRTC media with Chromium's fake devices.
// Commands and state go through the worker's runtime-message protocol
// (CONTRACT 4a); media statistics come from the offscreen documents
// (`media_stats`, answered by the offscreen document only).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPbx } from '../peers/index.js';
import { killWorker } from './lib/extension.mjs';
import { ringside, stats, until } from './lib/ringside.mjs';

let pbx;
let a;
let b;

const callIn = (side, pred) => until(`a call on ${side.user}`, async () => (await side.snap()).calls.find(pred));

async function mediaGrows(side, call) {
  const first = await until(`inbound audio on ${side.user}`, async () => {
    const s = await stats(side, call);
    return s.bytes_received > 0 && s;
  });
  await new Promise((r) => setTimeout(r, 700));
  const second = await stats(side, call);
  assert.ok(second.bytes_received > first.bytes_received, `${side.user}: bytesReceived ${first.bytes_received} → ${second.bytes_received}`);
  assert.ok(second.bytes_sent > 0, `${side.user} sends audio`);
  return second;
}

async function connect(from, to) {
  const dialled = await from.send({ type: 'dial', number: to.user });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  const ringing = await callIn(to, (c) => c.state === 'ringing');
  const answered = await to.send({ type: 'answer', call: ringing.id });
  assert.equal(answered.type, 'ok', JSON.stringify(answered));
  await callIn(from, (c) => c.id === dialled.call && c.state === 'active');
  await callIn(to, (c) => c.id === ringing.id && c.state === 'active');
  return { out: dialled.call, in: ringing.id };
}

async function ended(side, id) {
  return callIn(side, (c) => c.id === id && c.state === 'ended');
}

before(async () => {
  pbx = await startPbx();
  [a, b] = await Promise.all([ringside(pbx, '1001'), ringside(pbx, '1002')]);
  for (const side of [a, b]) {
    await until(`${side.user} registered`, async () => (await side.snap()).state === 'registered');
  }
});

after(async () => {
  await Promise.all([a?.ext.close(), b?.ext.close()]);
  await pbx?.stop();
});

/** Keeps what the worker passes to chrome.notifications.create, by id. */
async function recordNotifications(side) {
  await side.worker().evaluate(() => {
    if (self.__notes) return;
    self.__notes = {};
    const create = chrome.notifications.create.bind(chrome.notifications);
    chrome.notifications.create = (id, options, ...rest) => {
      self.__notes[id] = options;
      return create(id, options, ...rest);
    };
  });
  return (id) => until(`notification ${id}`, () => side.worker().evaluate((n) => self.__notes[n], id));
}

test('1001 calls 1002: notification, answer from its button, audio both ways, caller hangs up', async () => {
  const shown = await recordNotifications(b);
  const dialled = await a.send({ type: 'dial', number: '1002' });
  assert.equal(dialled.type, 'call');
  const ringing = await callIn(b, (c) => c.state === 'ringing');
  assert.equal(ringing.number, '1001');
  assert.equal(ringing.direction, 'incoming');
  const id = `ringside-call-${ringing.id}`;
  const notes = await until('the notification', async () => {
    const all = await b.page.evaluate(() => chrome.notifications.getAll());
    return all[id] && all;
  });
  assert.ok(notes[id]);
  const note = await shown(id);
  assert.equal(note.title, 'Incoming call');
  assert.equal(note.message, '1001');
  assert.deepEqual(note.buttons.map((x) => x.title), ['Answer', 'Decline']);
  assert.equal(note.requireInteraction, true);
  await b.worker().evaluate((n) => self.ringside.notificationButton(n, 0), id);
  await callIn(a, (c) => c.id === dialled.call && c.state === 'active');
  await callIn(b, (c) => c.id === ringing.id && c.state === 'active');
  await until('the notification to go', async () => !(await b.page.evaluate(() => chrome.notifications.getAll()))[id]);
  await mediaGrows(a, dialled.call);
  await mediaGrows(b, ringing.id);
  assert.equal((await a.send({ type: 'hangup', call: dialled.call })).type, 'ok');
  const theirs = await ended(b, ringing.id);
  assert.equal(theirs.end, 'remote_hung_up');
  const history = await b.send({ type: 'get_history' });
  assert.equal(history.entries[0].kind, 'incoming');
  assert.equal(history.entries[0].result, 'answered');
});

test('1002 calls 1001 and the callee hangs up', async () => {
  const call = await connect(b, a);
  await mediaGrows(a, call.in);
  await mediaGrows(b, call.out);
  await a.send({ type: 'hangup', call: call.in });
  const mine = await ended(b, call.out);
  assert.equal(mine.end, 'remote_hung_up');
});

test('caller gives up before an answer: missed call, badge, missed notification', async () => {
  await b.send({ type: 'get_history' }); // clears the badge
  const dialled = await a.send({ type: 'dial', number: '1002' });
  const ringing = await callIn(b, (c) => c.state === 'ringing');
  await a.send({ type: 'hangup', call: dialled.call });
  const gone = await ended(b, ringing.id);
  assert.equal(gone.end, 'cancelled');
  const snap = await b.snap();
  assert.equal(snap.missed_calls, 1);
  assert.equal(await b.page.evaluate(() => chrome.action.getBadgeText({})), '1');
  const all = await b.page.evaluate(() => chrome.notifications.getAll());
  assert.ok(all[`ringside-missed-${ringing.id}`], JSON.stringify(all));
  assert.ok(!all[`ringside-call-${ringing.id}`]);
  const history = await b.send({ type: 'get_history' });
  assert.equal(history.entries[0].kind, 'missed');
  assert.equal(await b.page.evaluate(() => chrome.action.getBadgeText({})), '');
});

test('notifications speak the language chosen in Settings, not only the browser\'s', async () => {
  const shown = await recordNotifications(b);
  const current = (await b.send({ type: 'get_settings' })).settings;
  const saved = await b.send({ type: 'set_settings', settings: { ...current, language: 'zh_CN' } });
  assert.equal(saved.type, 'settings', JSON.stringify(saved));
  try {
    const dialled = await a.send({ type: 'dial', number: '1002' });
    const ringing = await callIn(b, (c) => c.state === 'ringing');
    const note = await shown(`ringside-call-${ringing.id}`);
    assert.equal(note.title, '来电');
    assert.deepEqual(note.buttons.map((x) => x.title), ['接听', '拒接']);
    await a.send({ type: 'hangup', call: dialled.call });
    await ended(b, ringing.id);
    assert.equal((await shown(`ringside-missed-${ringing.id}`)).title, '未接来电');
  } finally {
    await b.send({ type: 'set_settings', settings: current });
  }
});

test('decline: the caller sees 603, or 486 when busy', async () => {
  for (const [busy, code, end] of [[false, 603, 'rejected'], [true, 486, 'busy']]) {
    const dialled = await a.send({ type: 'dial', number: '1002' });
    const ringing = await callIn(b, (c) => c.state === 'ringing');
    assert.equal((await b.send({ type: 'decline', call: ringing.id, busy })).type, 'ok');
    const mine = await ended(a, dialled.call);
    assert.equal(mine.status_code, code);
    assert.equal(mine.end, end);
  }
});

test('hold and resume change the direction on both sides; DTMF by INFO arrives', async () => {
  await a.send({ type: 'set_call_settings', settings: { dtmf_info: true } });
  const call = await connect(a, b);
  assert.equal((await a.send({ type: 'hold', call: call.out })).type, 'ok');
  await callIn(b, (c) => c.id === call.in && c.remote_hold);
  await callIn(a, (c) => c.id === call.out && c.state === 'held');
  assert.equal((await a.send({ type: 'resume', call: call.out })).type, 'ok');
  await callIn(b, (c) => c.id === call.in && !c.remote_hold);
  await callIn(a, (c) => c.id === call.out && c.state === 'active');
  assert.equal((await a.send({ type: 'dtmf', call: call.out, digits: '5#' })).type, 'ok');
  await callIn(b, (c) => c.id === call.in && c.dtmf_received === '5#');
  await a.send({ type: 'set_call_settings', settings: {} });
  await b.send({ type: 'hangup', call: call.in });
  await ended(a, call.out);
});

test('mute stops outbound audio energy; unmute brings it back', async () => {
  const call = await connect(a, b);
  const level = async () => (await stats(b, call.in)).audio_level ?? 0;
  await until('audio energy at 1002', async () => (await level()) > 0.001);
  assert.equal((await a.send({ type: 'mute', call: call.out, muted: true })).type, 'ok');
  assert.ok((await a.snap()).calls.find((c) => c.id === call.out).muted);
  await until('silence at 1002', async () => (await level()) < 0.0005);
  await a.send({ type: 'mute', call: call.out, muted: false });
  await until('audio energy again', async () => (await level()) > 0.001);
  await a.send({ type: 'hangup', call: call.out });
  await ended(b, call.in);
});

test('bad commands get typed errors', async () => {
  assert.equal((await a.send({ type: 'hangup', call: 999 })).error.code, 'no_such_call');
  assert.equal((await a.send({ type: 'dial', number: 'x y z' })).error.code, 'invalid_number');
  assert.equal((await a.send({ type: 'send_to_voicemail', call: 1 })).error.code, 'not_configured');
});

test('killing the callee\'s worker mid-call: the offscreen document keeps the media flowing', async () => {
  const call = await connect(a, b);
  await mediaGrows(b, call.in);
  await killWorker(b.ext);
  // media_stats is answered by the offscreen document alone: the connection
  // outlived the worker that set it up.
  await mediaGrows(b, call.in);
  await mediaGrows(a, call.out);
  await a.send({ type: 'hangup', call: call.out });
  await ended(a, call.out);
});
