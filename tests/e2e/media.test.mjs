// Media in the offscreen document, end to end: two Chromium instances with
// Ringside (1001, 1002) through the local Kamailio, Chromium's fake devices.
// Tones, devices, hold and DTMF are read from the offscreen documents
// (`media_status`, `media_stats`: answered by the offscreen document only).
// A third Chromium without the fake permission UI shows the permission page.

import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startPbx } from '../peers/index.js';
import { CHROMIUM_FLAGS, LAUNCH_TIMEOUT_MS, chromiumPath, distDir } from './lib/extension.mjs';
import { hangupAll, ringside, stats, talkTo, until } from './lib/ringside.mjs';

let pbx;
let a;
let b;

const callIn = (side, pred) => until(`a call on ${side.user}`, async () => (await side.snap()).calls.find(pred));
const ended = (side, id) => callIn(side, (c) => c.id === id && c.state === 'ended');

async function status(side) {
  const r = await side.send({ type: 'media_status' });
  if (r?.type !== 'media_status') throw new Error(JSON.stringify(r));
  return r.status;
}

async function settings(side, change) {
  const current = (await side.send({ type: 'get_settings' })).settings;
  const saved = await side.send({ type: 'set_settings', settings: { ...current, ...change } });
  assert.equal(saved.type, 'settings', JSON.stringify(saved));
}

async function connect(from, to) {
  const dialled = await from.send({ type: 'dial', number: to.user });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  const ringing = await callIn(to, (c) => c.state === 'ringing');
  assert.equal((await to.send({ type: 'answer', call: ringing.id })).type, 'ok');
  await callIn(from, (c) => c.id === dialled.call && c.state === 'active');
  await callIn(to, (c) => c.id === ringing.id && c.state === 'active');
  await until('media at both ends', async () => (await stats(from, dialled.call)).bytes_received > 0 && (await stats(to, ringing.id)).bytes_received > 0);
  return { out: dialled.call, in: ringing.id };
}

async function hangup(side, call, other, otherCall) {
  await side.send({ type: 'hangup', call });
  await ended(other, otherCall);
}

before(async () => {
  pbx = await startPbx();
  [a, b] = await Promise.all([ringside(pbx, '1001'), ringside(pbx, '1002')]);
  for (const side of [a, b]) {
    await until(`${side.user} registered`, async () => (await side.snap()).state === 'registered');
  }
});

// A test that fails mid-call must not leave the call up for the next one.
afterEach(async () => {
  if (a && b) await hangupAll([a, b]);
});

after(async () => {
  await Promise.all([a?.ext.close(), b?.ext.close()]);
  await pbx?.stop();
});

test('ringback sounds while the callee rings (its chosen ringtone on its ringing device) and both stop on answer', async () => {
  const outputs = await b.page.evaluate(async () =>
    (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audiooutput').map((d) => d.deviceId),
  );
  assert.ok(outputs.length > 0, 'the fake devices include an audio output');
  const ringer = outputs[outputs.length - 1];
  await settings(b, { ringtone: 'digital', ringer });

  const dialled = await a.send({ type: 'dial', number: '1002' });
  const ringing = await callIn(b, (c) => c.state === 'ringing');
  // An AudioContext starts 'suspended' and resumes asynchronously (later
  // still when it must open a chosen output device): wait for 'running'.
  await until('ringback running at 1001', async () => {
    const s = await status(a);
    return s.tone === 'ringback' && s.tone_state === 'running';
  });
  const ring = await until('the ringtone running at 1002', async () => {
    const s = await status(b);
    return s.tone === 'ring' && s.tone_state === 'running' && s;
  });
  assert.equal(ring.tone_pattern, 'digital');
  assert.notEqual(ringer, 'default');
  assert.equal(ring.tone_sink, ringer);
  assert.equal(ring.prefs.ringer, ringer);

  assert.equal((await b.send({ type: 'answer', call: ringing.id })).type, 'ok');
  await callIn(a, (c) => c.id === dialled.call && c.state === 'active');
  await until('silence at 1001', async () => (await status(a)).tone === 'none');
  await until('silence at 1002', async () => (await status(b)).tone === 'none');
  await hangup(a, dialled.call, b, ringing.id);
  await settings(b, { ringtone: 'classic', ringer: null });
});

test('busy: the caller hears the busy tone, which stops by itself', async () => {
  const dialled = await a.send({ type: 'dial', number: '1002' });
  const ringing = await callIn(b, (c) => c.state === 'ringing');
  await b.send({ type: 'decline', call: ringing.id, busy: true });
  await ended(a, dialled.call);
  await until('the busy tone', async () => (await status(a)).tone === 'busy');
  await until('the busy tone to stop', async () => (await status(a)).tone === 'none', 6_000);
});

test('a second incoming call during a call rings softly (call-waiting tone)', async () => {
  const call = await connect(a, b);
  // 1002 is in a call with 1001; 1001 rings 1002 again from nowhere else, so
  // a third party is needed: 1001's second line is a second dial.
  const second = await a.send({ type: 'dial', number: '1002' });
  assert.equal(second.type, 'call', JSON.stringify(second));
  const waiting = await callIn(b, (c) => c.state === 'ringing' && c.waiting);
  await until('the call-waiting tone at 1002', async () => (await status(b)).tone === 'waiting');
  await b.send({ type: 'decline', call: waiting.id, busy: false });
  await ended(a, second.call);
  await until('no tone at 1002', async () => (await status(b)).tone === 'none');
  await hangup(a, call.out, b, call.in);
});

test('chosen microphone and speaker: capture from that input, audio element on that output', async () => {
  const devices = await a.page.evaluate(async () =>
    (await navigator.mediaDevices.enumerateDevices()).map((d) => ({ kind: d.kind, id: d.deviceId })),
  );
  const inputs = devices.filter((d) => d.kind === 'audioinput' && d.id !== 'default' && d.id !== 'communications');
  const outputs = devices.filter((d) => d.kind === 'audiooutput');
  assert.ok(inputs.length > 0 && outputs.length > 0, JSON.stringify(devices));
  const microphone = inputs[inputs.length - 1].id;
  const speaker = outputs[outputs.length - 1].id;
  await settings(a, { microphone, speaker });
  const call = await connect(a, b);
  const s = await stats(a, call.out);
  assert.equal(s.sink_id, speaker);
  assert.equal(s.microphone, microphone);
  // A change mid-call applies at once: output, and the captured input.
  const other = inputs[0].id;
  assert.notEqual(other, microphone);
  await settings(a, { speaker: null, microphone: other });
  await until('the default output again', async () => (await stats(a, call.out)).sink_id === '');
  await until('capture from the other input', async () => (await stats(a, call.out)).microphone === other);
  const sent = (await stats(a, call.out)).bytes_sent;
  await until('audio still going out', async () => (await stats(a, call.out)).bytes_sent > sent);
  await hangup(a, call.out, b, call.in);
  await settings(a, { microphone: null, speaker: null });
});

test('hold renegotiates the connections: sendonly / recvonly while held, sendrecv after resume', async () => {
  const call = await connect(a, b);
  assert.equal((await stats(a, call.out)).direction, 'sendrecv');
  assert.equal((await a.send({ type: 'hold', call: call.out })).type, 'ok');
  await until('1001 sends only', async () => (await stats(a, call.out)).direction === 'sendonly');
  await until('1002 receives only', async () => (await stats(b, call.in)).direction === 'recvonly');
  // Both ends put each other on hold: nothing flows.
  await callIn(b, (c) => c.id === call.in && c.remote_hold);
  assert.equal((await b.send({ type: 'hold', call: call.in })).type, 'ok');
  await until('1002 inactive', async () => (await stats(b, call.in)).direction === 'inactive');
  await until('1001 inactive', async () => (await stats(a, call.out)).direction === 'inactive');
  // One re-INVITE at a time (crossing ones are the engine's glare case).
  await b.send({ type: 'resume', call: call.in });
  await callIn(a, (c) => c.id === call.out && !c.remote_hold);
  await a.send({ type: 'resume', call: call.out });
  await until('1001 sendrecv', async () => (await stats(a, call.out)).direction === 'sendrecv');
  await until('1002 sendrecv', async () => (await stats(b, call.in)).direction === 'sendrecv');
  const before = (await stats(b, call.in)).bytes_received;
  await until('audio again at 1002', async () => (await stats(b, call.in)).bytes_received > before);
  await hangup(a, call.out, b, call.in);
});

test('DTMF goes as RTP events by default (no INFO reaches the peer); INFO when the setting says so', async () => {
  const call = await connect(a, b);
  const s = await stats(a, call.out);
  assert.ok(s.dtmf_negotiated, 'telephone-event negotiated');
  assert.equal((await a.send({ type: 'dtmf', call: call.out, digits: '12#' })).type, 'ok');
  // Chrome does not surface received RFC 4733 events to a page: the sender's
  // ontonechange (each digit played into the RTP stream) is the evidence.
  await until('the digits played out as RTP events', async () => (await stats(a, call.out)).dtmf_sent === '12#');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await b.snap()).calls.find((c) => c.id === call.in).dtmf_received, '', 'no SIP INFO was sent');
  await a.send({ type: 'set_call_settings', settings: { dtmf_info: true } });
  await a.send({ type: 'dtmf', call: call.out, digits: '9' });
  await callIn(b, (c) => c.id === call.in && c.dtmf_received === '9');
  await a.send({ type: 'set_call_settings', settings: {} });
  await hangup(a, call.out, b, call.in);
});

test('notifications off: an incoming call rings without a notification', async () => {
  await settings(b, { notifications: false });
  const dialled = await a.send({ type: 'dial', number: '1002' });
  const ringing = await callIn(b, (c) => c.state === 'ringing');
  await until('the ringtone', async () => (await status(b)).tone === 'ring');
  const all = await b.page.evaluate(() => chrome.notifications.getAll());
  assert.ok(!all[`ringside-call-${ringing.id}`], JSON.stringify(all));
  await a.send({ type: 'hangup', call: dialled.call });
  await ended(b, ringing.id);
  await settings(b, { notifications: true });
});

test('microphone blocked: the permission page opens on install and after a failed call, and shows the result', async () => {
  const profile = await mkdtemp(path.join(tmpdir(), 'ringside-profile-'));
  // No --use-fake-ui-for-media-stream: the prompt is denied instead.
  const flags = CHROMIUM_FLAGS.filter((f) => f !== '--use-fake-ui-for-media-stream');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    timeout: LAUNCH_TIMEOUT_MS,
    ignoreDefaultArgs: ['--disable-extensions'],
    args: [`--disable-extensions-except=${distDir}`, `--load-extension=${distDir}`, '--deny-permission-prompts', ...flags],
  });
  try {
    const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: LAUNCH_TIMEOUT_MS }));
    const id = new URL(worker.url()).host;
    const permissionPage = () => context.pages().find((p) => p.url() === `chrome-extension://${id}/permission.html`);
    const first = await until('the permission page on install', async () => permissionPage(), 20_000);
    await first.waitForSelector('#result[data-state="denied"]', { timeout: 10_000 });
    assert.match(await first.textContent('#title'), /microphone/i);
    await first.close();

    const page = await context.newPage();
    await page.goto(`chrome-extension://${id}/call.html?call=0`);
    await page.evaluate((account) => chrome.storage.local.set({ account }), {
      server: pbx.ws_url,
      username: '1003',
      password: 'pass1003',
    });
    const c = talkTo(null, page, '1003');
    await until('1003 registered', async () => (await c.snap()).state === 'registered');
    const dialled = await c.send({ type: 'dial', number: '1001' });
    const failed = await ended(c, dialled.call);
    assert.equal(failed.end, 'media_failed');
    const again = await until('the permission page after the failed capture', async () => permissionPage());
    await again.waitForSelector('#result[data-state="denied"]', { timeout: 10_000 });

    // Once allowed, the page's button shows success.
    const cdp = await context.browser()?.newBrowserCDPSession();
    if (cdp) {
      await cdp.send('Browser.grantPermissions', { origin: `chrome-extension://${id}`, permissions: ['audioCapture'] });
      await again.click('#allow');
      await again.waitForSelector('#result[data-state="granted"]', { timeout: 10_000 });
      await cdp.detach().catch(() => {});
    }
  } finally {
    await context.close().catch(() => {});
    await rm(profile, { recursive: true, force: true });
  }
});
