// Transfers, voicemail and park with three Chromium instances running
// Ringside (1001, 1002, 1003) through the local Kamailio, real media.
// 1002 is the user who transfers; 1001 is the other party; 1003 the target.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audio, callIn, connect, hangupAll as hangupEvery, live, ringsidesForFile, until } from './lib/ringside.mjs';

let pbx;
let a;
let b;
let c;

const hangupAll = () => hangupEvery([a, b, c]);

ringsidesForFile(['1001', '1002', '1003'], (p, sides) => {
  pbx = p;
  [a, b, c] = sides;
});

test('blind transfer: 1002 sends 1001 to 1003', async () => {
  const ab = await connect(a, b);
  assert.equal((await b.send({ type: 'transfer_blind', call: ab.in, target: '1003' })).type, 'ok');
  const ringing = await callIn(c, 'the transferred call', (x) => x.state === 'ringing' && x.number === '1001');
  await c.send({ type: 'answer', call: ringing.id });
  const ac = await callIn(a, 'the new call', (x) => x.number === '1003' && x.state === 'active');
  const done = await callIn(b, 'the end of the transferred call', (x) => x.id === ab.in && x.state === 'ended');
  assert.equal(done.end, 'transferred');
  await audio(a, ac.id);
  await audio(c, ringing.id);
  await hangupAll();
});

test('attended transfer: 1002 consults 1003, then connects 1001 to 1003', async () => {
  const ab = await connect(a, b);
  assert.equal((await b.send({ type: 'hold', call: ab.in })).type, 'ok');
  const bc = await connect(b, c);
  const r = await b.send({ type: 'transfer_attended', call: ab.in, consult: bc.out });
  assert.equal(r.type, 'ok', JSON.stringify(r));
  const ac = await callIn(a, 'the replacing call', (x) => x.id !== ab.out && x.direction === 'outgoing' && x.state === 'active');
  await callIn(c, 'the replaced consult call', (x) => x.id === bc.in && x.state === 'ended');
  const cNew = await callIn(c, 'the call from 1001', (x) => x.number === '1001' && x.state === 'active');
  await until('1002 out of both calls', async () => (await live(b)).length === 0);
  await audio(a, ac.id);
  await audio(c, cNew.id);
  await hangupAll();
});

// 1002 answers 302 to the configured target; 1001's engine follows it
// (b267ce4) and authenticates the retried INVITE afresh (b289a32).
test('send to voicemail: 302 to the configured target', async () => {
  assert.equal((await b.send({ type: 'set_call_settings', settings: { voicemail_target: '1003', park_target: '1003' } })).type, 'ok');
  await a.send({ type: 'dial', number: '1002' });
  const ringing = await callIn(b, 'ringing', (x) => x.state === 'ringing');
  assert.equal((await b.send({ type: 'send_to_voicemail', call: ringing.id })).type, 'ok');
  const forwarded = await callIn(b, 'forwarded', (x) => x.id === ringing.id && x.state === 'ended');
  assert.equal(forwarded.end, 'forwarded');
  const history = await b.send({ type: 'get_history' });
  assert.equal(history.entries[0].kind, 'forwarded');
  try {
    await callIn(c, 'the redirected call', (x) => x.state === 'ringing' && x.number === '1001');
  } finally {
    await hangupAll();
  }
});

test('park: transfer to the configured park number', async () => {
  assert.equal((await b.send({ type: 'set_call_settings', settings: { park_target: '1003' } })).type, 'ok');
  const ab = await connect(a, b);
  assert.equal((await b.send({ type: 'park', call: ab.in })).type, 'ok');
  await callIn(c, 'the parked call', (x) => x.state === 'ringing' && x.number === '1001');
  await hangupAll();
});
