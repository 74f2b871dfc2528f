// A PBX restart mid-call, with both parties WebSocket clients of the same
// Kamailio: both connections drop at once. Each side reconnects, registers
// and sends its target refresh, but the refresh goes to the other side's
// old connection (its Contact alias), which is gone too, and Kamailio
// refuses it (500). Neither side can signal in the dialog any more, so
// instead of leaving both with a call that can never be hung up at the
// other end, each keeps retrying for 30 s (the media goes on meanwhile)
// and then ends the call as lost. (With a B2BUA PBX, whose Contact stays
// valid, the refresh passes: calls-blip.test.mjs shows that path.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audio, connect, registered, ringsidesForFile, until } from './lib/ringside.mjs';

let pbx;
let a;
let b;

ringsidesForFile(['1001', '1002'], (p, [x, y]) => {
  pbx = p;
  a = x;
  b = y;
});

test('after a PBX restart both sides retry their refresh, keep the media, then end the call as lost', async () => {
  const call = await connect(a, b);
  const restartedAt = Date.now();
  await pbx.restart();
  const view = async (side, id) => (await side.snap()).calls.find((c) => c.id === id);
  for (const [side, id] of [[a, call.out], [b, call.in]]) {
    await until(`${side.user} reconnecting`, async () => (await view(side, id))?.reconnecting === true);
  }
  for (const side of [a, b]) await registered(side);
  // Registered again, the refreshes refused: still waiting, media still flowing.
  assert.equal((await view(a, call.out)).state, 'active');
  assert.equal((await view(a, call.out)).reconnecting, true);
  await audio(a, call.out);
  await audio(b, call.in);
  const ended = async (side, id) => {
    const c = await until(`${side.user} to give up`, async () => {
      const v = await view(side, id);
      return v?.state === 'ended' && v;
    }, 50_000);
    assert.equal(c.end, 'connection_lost');
    return Date.now() - restartedAt;
  };
  const [ta, tb] = await Promise.all([ended(a, call.out), ended(b, call.in)]);
  assert.ok(ta >= 29_000 && tb >= 29_000, `${ta} / ${tb} ms`);
  console.log(`PBX restart: both calls ended as lost ${ta} / ${tb} ms after it`);
});
