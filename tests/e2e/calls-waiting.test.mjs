// Call waiting and the local 3-way conference with three Chromium instances
// running Ringside (1001, 1002, 1003) through the local Kamailio, real media.
// 1002 is the user with two calls: 1001 is talking to them when 1003 calls.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audio, callIn, connect, hangupAll as hangupEvery, level, live, ringsidesForFile, until } from './lib/ringside.mjs';

let pbx;
let a;
let b;
let c;

const hangupAll = () => hangupEvery([a, b, c]);

/** 1003 calls 1002 while 1002 talks to 1001: the second call rings softly. */
async function secondCall() {
  const ab = await connect(a, b);
  const dialled = await c.send({ type: 'dial', number: b.user });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  const waiting = await callIn(b, 'a waiting call', (x) => x.state === 'ringing' && x.number === c.user);
  assert.equal(waiting.waiting, true);
  await until('the call-waiting tone at 1002', async () => {
    const r = await b.send({ type: 'media_status' });
    return r?.status?.tone === 'waiting';
  });
  return { ab, cb: { out: dialled.call, in: waiting.id } };
}

ringsidesForFile(['1001', '1002', '1003'], (p, sides) => {
  pbx = p;
  [a, b, c] = sides;
});

test('call waiting: answer holds the first call, the second has audio both ways', async () => {
  const { ab, cb } = await secondCall();
  assert.equal((await b.send({ type: 'answer', call: cb.in })).type, 'ok');
  await callIn(b, 'the first call held', (x) => x.id === ab.in && x.state === 'held');
  await callIn(a, 'held by 1002', (x) => x.id === ab.out && x.remote_hold);
  await callIn(c, 'answered', (x) => x.id === cb.out && x.state === 'active');
  await audio(b, cb.in);
  await audio(c, cb.out);
  // The waiting call is the only one ringing no more: the tone stops.
  await until('no tone at 1002', async () => (await b.send({ type: 'media_status' }))?.status?.tone === 'none');
  await hangupAll();
});

test('call waiting: end-and-answer ends the first call', async () => {
  const { ab, cb } = await secondCall();
  assert.equal((await b.send({ type: 'answer', call: cb.in, end_others: true })).type, 'ok');
  const first = await callIn(a, 'the first call ended', (x) => x.id === ab.out && x.state === 'ended');
  assert.equal(first.end, 'remote_hung_up');
  await callIn(c, 'answered', (x) => x.id === cb.out && x.state === 'active');
  await audio(c, cb.out);
  assert.deepEqual((await live(b)).map((x) => x.id), [cb.in]);
  await hangupAll();
});

test('call waiting: decline gives the second caller 603, or 486 when busy; the first call goes on', async () => {
  const ab = await connect(a, b);
  for (const [busy, code, end] of [[false, 603, 'rejected'], [true, 486, 'busy']]) {
    const dialled = await c.send({ type: 'dial', number: b.user });
    const waiting = await callIn(b, 'a waiting call', (x) => x.state === 'ringing' && x.number === c.user);
    assert.equal((await b.send({ type: 'decline', call: waiting.id, busy })).type, 'ok');
    const theirs = await callIn(c, 'the refusal', (x) => x.id === dialled.call && x.state === 'ended');
    assert.equal(theirs.status_code, code);
    assert.equal(theirs.end, end);
  }
  await callIn(b, 'the first call still active', (x) => x.id === ab.in && x.state === 'active');
  await audio(a, ab.out);
  await hangupAll();
});

test('merge: a local 3-way conference where each party hears the other two', async () => {
  const { ab, cb } = await secondCall();
  assert.equal((await b.send({ type: 'answer', call: cb.in })).type, 'ok');
  await callIn(b, 'the first call held', (x) => x.id === ab.in && x.state === 'held');
  const merged = await b.send({ type: 'merge', call: cb.in, with: ab.in });
  assert.equal(merged.type, 'ok', JSON.stringify(merged));
  await callIn(b, 'merged', (x) => x.id === ab.in && x.state === 'active' && x.merged_with === cb.in);
  await callIn(a, 'resumed', (x) => x.id === ab.out && !x.remote_hold);
  await until('energy at 1001', async () => (await level(a, ab.out)) > 0.001);
  await until('energy at 1003', async () => (await level(c, cb.out)) > 0.001);
  // With 1002's microphone muted on both legs, what 1001 and 1003 still hear
  // can only be each other, mixed by 1002's offscreen document.
  for (const call of [ab.in, cb.in]) {
    assert.equal((await b.send({ type: 'mute', call, muted: true })).type, 'ok');
  }
  // Control: 1002's own voice is gone from a leg that is not mixed, shown
  // by muting 1003 for a moment: 1001 then hears silence.
  assert.equal((await c.send({ type: 'mute', call: cb.out, muted: true })).type, 'ok');
  await until('silence at 1001 while 1002 and 1003 are muted', async () => (await level(a, ab.out)) < 0.0005, 20_000);
  assert.equal((await c.send({ type: 'mute', call: cb.out, muted: false })).type, 'ok');
  await until('1003 heard at 1001 through the mix', async () => (await level(a, ab.out)) > 0.001, 20_000);
  await until('1001 heard at 1003 through the mix', async () => (await level(c, cb.out)) > 0.001, 20_000);
  // And 1002 hears both.
  await until('1001 heard at 1002', async () => (await level(b, ab.in)) > 0.001);
  await until('1003 heard at 1002', async () => (await level(b, cb.in)) > 0.001);
  await hangupAll();
});
