// Statuses handle calls (issue 6): Ringside 1001 through the local Kamailio,
// called by JsSIP peers and by a second Ringside (1002), whose engine follows
// a 302 the way phones do. Configuration and status go through the worker's
// runtime-message protocol (`set_call_handling`, `set_status`); the schedule
// is evaluated at chosen instants with `schedule_tick`, the same code path
// the worker's alarm runs with the real clock.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { JsSIP, jssipCall, jssipUA, nextIncoming, startPbx } from '../peers/index.js';
import { ringside, until } from './lib/ringside.mjs';

let pbx;
let a; // Ringside 1001: the statuses under test
let b; // Ringside 1002: a caller that follows redirects
const peers = {};

/** Store `config` on 1001; the reply is the stored configuration. */
async function configure(config) {
  const reply = await a.send({ type: 'set_call_handling', config });
  assert.equal(reply.type, 'call_handling', JSON.stringify(reply));
  return reply.config;
}

async function setStatus(status) {
  const reply = await a.send({ type: 'set_status', change: { status } });
  assert.equal(reply.type, 'snapshot', JSON.stringify(reply));
  assert.equal(reply.snapshot.presence.status, status);
}

/** A JsSIP peer calls 1001; resolves with how it ended or 'ringing', and whether a 180 came. */
function jssipOutcome(peer, ringsFor = 1500) {
  const session = jssipCall(peer, '1001');
  let rang = false;
  return new Promise((resolve) => {
    let timer;
    session.on('progress', () => {
      rang = true;
      // Still ringing after a while: the call got through; stop it.
      timer ??= setTimeout(() => {
        resolve({ outcome: 'ringing' });
        session.terminate();
      }, ringsFor);
    });
    session.on('failed', (e) => {
      clearTimeout(timer);
      resolve({ outcome: 'failed', code: e.message?.status_code, cause: e.cause, rang });
    });
    session.on('confirmed', () => resolve({ outcome: 'answered' }));
  });
}

before(async () => {
  pbx = await startPbx();
  [a, b] = await Promise.all([ringside(pbx, '1001'), ringside(pbx, '1002')]);
  for (const user of ['1003', '1004', '1005', '1006']) {
    peers[user] = await jssipUA({ wsUrl: pbx.ws_url, user });
  }
  for (const side of [a, b]) {
    await until(`${side.user} registered`, async () => (await side.snap()).state === 'registered', 20_000);
  }
});

after(async () => {
  for (const peer of Object.values(peers)) peer.stop();
  await Promise.all([a?.ext.close(), b?.ext.close()]);
  await pbx?.stop();
});

test('Do Not Disturb rejects an incoming call with 486 and nothing rings', async () => {
  await configure({});
  await setStatus('do_not_disturb');
  const result = await jssipOutcome(peers['1004']);
  assert.deepEqual([result.outcome, result.code], ['failed', 486], JSON.stringify(result));
  assert.equal(result.cause, JsSIP.C.causes.BUSY);
  assert.equal(result.rang, false, 'no 180 before the 486: the caller hears no ringback');
  assert.deepEqual((await a.snap()).calls, []);
  await setStatus('available');
  assert.equal((await jssipOutcome(peers['1004'])).outcome, 'ringing');
});

test('Away with forward-always redirects to the target, which rings', async () => {
  const forward = { action: { kind: 'forward', to: { kind: 'number', number: '1003' } } };
  await configure({ statuses: [{ status: 'away', internal: forward, external: forward }] });
  await setStatus('away');
  const incoming = nextIncoming(peers['1003'], 10_000);
  const dialled = await b.send({ type: 'dial', number: '1001' });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  const atTarget = await incoming;
  assert.match(atTarget.remote_identity.uri.user, /^1002$/, 'the original caller reaches the target');
  assert.ok(!(await a.snap()).calls.some((c) => c.state === 'ringing'), '1001 itself never rang');
  atTarget.terminate({ status_code: 486 });
  await until('the caller to see the end', async () => (await b.snap()).calls.every((c) => c.state === 'ended'));
  await setStatus('available');
});

test('A block pattern hangs up; an allow rule above it lets one number through', async () => {
  await configure({
    rules: [
      { pattern: '1005', action: { kind: 'accept' } },
      { pattern: '100[4-9]', action: { kind: 'hang_up' } },
    ],
  });
  const blocked = await jssipOutcome(peers['1004']);
  assert.deepEqual([blocked.outcome, blocked.code, blocked.rang], ['failed', 486, false], JSON.stringify(blocked));
  const allowed = jssipOutcome(peers['1005']);
  const ringing = await until('1005 ringing on 1001', async () =>
    (await a.snap()).calls.find((c) => c.number === '1005' && c.state === 'ringing'),
  );
  assert.equal(ringing.direction, 'incoming');
  assert.equal((await allowed).outcome, 'ringing');
  // A bad pattern is refused with its field and a translated key.
  const refused = await a.send({
    type: 'set_call_handling',
    config: { rules: [{ pattern: '[9-1]', action: { kind: 'hang_up' } }] },
  });
  assert.equal(refused.type, 'call_handling_invalid', JSON.stringify(refused));
  assert.deepEqual(refused.errors, [{ field: 'rules.0.pattern', error: 'pattern' }]);
});

test('An intercom call (Call-Info answer-after=0) is answered by itself, with a beep', async () => {
  await configure({ auto_answer: { beep: true } });
  // 1002's intercom key sends the auto-answer request (helper "keys").
  const keys = { keys: [{ id: 1, kind: 'intercom', label: '1001', value: '1001' }], settings: {} };
  assert.equal((await b.send({ type: 'set_keys', config: keys })).type, 'keys');
  const pressed = await b.send({ type: 'press_key', id: 1 });
  assert.equal(pressed.type, 'call', JSON.stringify(pressed));
  // Nobody answers on 1001: it answers by itself.
  const mine = await until('1001 answered the intercom call', async () =>
    (await a.snap()).calls.find((c) => c.number === '1002' && c.state === 'active'),
  );
  await until('1002 connected', async () => (await b.snap()).calls.find((c) => c.id === pressed.call && c.state === 'active'));
  // The offscreen document counts the auto-answer beeps it played.
  await until('1001 beeped', async () => (await a.send({ type: 'media_status' })).status?.beeps === 1);
  assert.equal((await a.send({ type: 'hangup', call: mine.id })).type, 'ok');
  await until('1002 sees the end', async () => (await b.snap()).calls.every((c) => c.state === 'ended'));
});

test('A status with a queue agent action dials its feature code', async () => {
  // The "feature code" is pause code 100 + reason 6 = 1006, a JsSIP peer
  // standing in for the PBX's queue application.
  await configure({
    statuses: [{ status: 'lunch_break', agent: { kind: 'pause', reason: '6' } }],
    agent_codes: { pause: '100' },
  });
  const incoming = nextIncoming(peers['1006'], 10_000);
  await setStatus('lunch_break');
  const code = await incoming;
  assert.equal(code.remote_identity.uri.user, '1001');
  code.terminate({ status_code: 480 });
  await until('the agent call to end', async () => (await a.snap()).calls.every((c) => c.state === 'ended'));
  await setStatus('available');
});

test('The office-hours schedule switches the status at a boundary', async () => {
  await configure({
    schedule: {
      enabled: true,
      days: [1, 2, 3, 4, 5, 6, 7],
      office: { start: '09:00', end: '18:00' },
      break_time: null,
      office_status: 'available',
      outside_status: 'off_work',
      utc_offset_minutes: 0,
    },
  });
  const tick = async (iso) => {
    const reply = await a.send({ type: 'schedule_tick', now_ms: Date.parse(iso) });
    assert.equal(reply.type, 'snapshot', JSON.stringify(reply));
    return reply.snapshot.presence.status;
  };
  assert.equal(await tick('2026-11-23T17:59:00Z'), 'available');
  // A status picked by hand stays until the next boundary…
  await setStatus('away');
  assert.equal(await tick('2026-11-23T17:59:59Z'), 'away');
  // …where the schedule takes over.
  assert.equal(await tick('2026-11-23T18:00:00Z'), 'off_work');
  assert.equal(await tick('2026-11-24T09:00:00Z'), 'available');
  const alarm = await a.page.evaluate(() => chrome.alarms.get('ringside-schedule'));
  assert.ok(alarm && alarm.scheduledTime > Date.now(), `next boundary alarm: ${JSON.stringify(alarm)}`);
  await configure({});
});
