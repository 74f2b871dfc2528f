// What the end-to-end tests share: a Ringside instance driven through the
// worker's runtime-message protocol, waiting for state, and the call
// steps every call test needs.
//
//   ringsidesForFile(['1001', '1002'], (p, [x, y]) => { pbx = p; a = x; b = y; });
//   const c = await ringside(pbx, '1003');        // or one by one: logs in
//   await registered(c);
//   const ab = await connect(a, b);                // { out, in } call ids
//   await audio(b, ab.in);

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { startPbx } from '../../peers/index.js';
import { launchExtension } from './extension.mjs';

/** The protocol version the tests speak (src/protocol.rs). */
export const V = 1;

/**
 * Polls `fn` every `every` ms until it returns something truthy (an error
 * counts as "not yet"); the timeout message says what was awaited and the
 * last answer.
 */
export async function until(what, fn, timeout = 15_000, every = 100) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await fn().catch((e) => e);
    if (last && !(last instanceof Error)) return last;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}

/**
 * A Chromium with Ringside and an extension page to talk to its worker.
 * With `login` (the default) the account `user`/pass<user> on `pbx` is
 * stored at once; otherwise `side.login()` stores it later.
 */
export async function ringside(pbx, user, { login = true } = {}) {
  const ext = await launchExtension();
  const page = await ext.context.newPage();
  await page.goto(`chrome-extension://${ext.extensionId}/call.html?call=0`);
  const side = talkTo(ext, page, user);
  const account = { server: pbx.ws_url, username: user, password: `pass${user}` };
  side.login = () => page.evaluate((x) => chrome.storage.local.set({ account: x }), account);
  if (login) await side.login();
  return side;
}

/** Talks to the worker from `page`, an extension page of `ext` (may be null). */
export function talkTo(ext, page, user) {
  const send = (m) => page.evaluate((x) => chrome.runtime.sendMessage(x), { v: V, ...m });
  return {
    ext,
    page,
    user,
    send,
    snap: async () => (await send({ type: 'get_snapshot' })).snapshot,
    worker: () => ext.context.serviceWorkers()[0],
  };
}

/**
 * The test file's PBX and one registered Ringside per user: started before
 * its tests, closed after them; `ready(pbx, sides)` hands them over.
 */
export function ringsidesForFile(users, ready) {
  let pbx;
  let sides = [];
  before(async () => {
    pbx = await startPbx();
    sides = await Promise.all(users.map((user) => ringside(pbx, user)));
    for (const side of sides) await registered(side);
    ready(pbx, sides);
  });
  after(async () => {
    await Promise.all(sides.map((side) => side.ext.close()));
    await pbx?.stop();
  });
}

export const registered = (side) =>
  until(`${side.user} registered`, async () => (await side.snap()).state === 'registered');

export const callIn = (side, what, pred) =>
  until(`${what} on ${side.user}`, async () => (await side.snap()).calls.find(pred));

export const live = (side) => side.snap().then((s) => s.calls.filter((x) => x.state !== 'ended'));

/** The offscreen document's statistics of `call` (answered by it only). */
export async function stats(side, call) {
  const r = await side.send({ type: 'media_stats', call });
  if (r?.type !== 'media_stats') throw new Error(JSON.stringify(r));
  return r.stats;
}

export const level = async (side, call) => (await stats(side, call)).audio_level ?? 0;

/** `from` dials `to`, `to` answers; both see the call active. */
export async function connect(from, to) {
  const dialled = await from.send({ type: 'dial', number: to.user });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  const ringing = await callIn(to, 'ringing', (x) => x.state === 'ringing' && x.number === from.user);
  assert.equal((await to.send({ type: 'answer', call: ringing.id })).type, 'ok');
  await callIn(from, 'active', (x) => x.id === dialled.call && x.state === 'active');
  await callIn(to, 'active', (x) => x.id === ringing.id && x.state === 'active');
  return { out: dialled.call, in: ringing.id };
}

/** Inbound audio of `call` on `side` arrives and keeps arriving. */
export async function audio(side, call) {
  const first = await until(`audio on ${side.user}`, async () => {
    const s = await stats(side, call);
    return s.bytes_received > 0 && s.bytes_received;
  });
  await new Promise((r) => setTimeout(r, 600));
  assert.ok((await stats(side, call)).bytes_received > first, `${side.user} keeps receiving audio`);
}

/** Hangs up every call on every side and waits until all are idle. */
export async function hangupAll(sides) {
  for (const side of sides) {
    for (const x of await live(side)) await side.send({ type: 'hangup', call: x.id });
  }
  for (const side of sides) await until(`${side.user} idle`, async () => (await live(side)).length === 0);
}
