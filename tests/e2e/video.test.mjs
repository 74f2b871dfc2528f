// Video calls end to end: two Chromium instances with Ringside (1001, 1002)
// through the local Kamailio, Chromium's fake camera and microphone.
// Codec and frame counts are read from the offscreen documents
// (`media_stats`), the picture from the call window's <video> elements.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { killWorker } from './lib/extension.mjs';
import { callIn as callOn, registered, ringsidesForFile, stats, until as waitFor } from './lib/ringside.mjs';

let pbx;
let a;
let b;

// Video takes a little longer to start than audio on a loaded machine.
const until = (what, fn, timeout = 20_000) => waitFor(what, fn, timeout);
const callIn = (side, pred, what = 'a call') => callOn(side, what, pred);
const ended = (side, id) => callIn(side, (c) => c.id === id && c.state === 'ended', 'the end');

// The call window the worker opened for `call` (a popup window's page).
const callWindow = (side, call) =>
  until(`the call window of call ${call} on ${side.user}`, async () =>
    side.ext.context.pages().find((p) => p.url().endsWith(`/call.html?call=${call}`)),
  );

// What a call window's <video> shows (null: no such element).
const picture = (page, id) =>
  page.evaluate((sel) => {
    const v = document.querySelector(sel);
    return v && { width: v.videoWidth, height: v.videoHeight, paused: v.paused, time: v.currentTime, tracks: v.srcObject?.getVideoTracks().length ?? 0 };
  }, `#${id}`);

// Audio keeps flowing both ways: bytes received grow by `bytes` on each side.
async function audioFlows(x, xc, y, yc, bytes = 4000) {
  const [x0, y0] = [(await stats(x, xc)).bytes_received, (await stats(y, yc)).bytes_received];
  await until('audio both ways', async () => (await stats(x, xc)).bytes_received > x0 + bytes && (await stats(y, yc)).bytes_received > y0 + bytes);
}

// Video frames are decoded on both sides and keep coming.
async function videoFlows(x, xc, y, yc) {
  const s = await until('VP8 frames on both sides', async () => {
    const [sx, sy] = [await stats(x, xc), await stats(y, yc)];
    return sx.frames_decoded > 0 && sy.frames_decoded > 0 && [sx, sy];
  });
  await until('more frames on both sides', async () =>
    (await stats(x, xc)).frames_decoded > s[0].frames_decoded + 10 && (await stats(y, yc)).frames_decoded > s[1].frames_decoded + 10,
  );
  return s;
}

ringsidesForFile(['1001', '1002'], (p, [x, y]) => {
  pbx = p;
  a = x;
  b = y;
});

test('video call from the popup, answered with video in the call window: VP8 both ways, the remote picture plays; switch to audio keeps the call', async (t) => {
  // The popup's "Video call" button at 1001.
  const popup = await a.ext.context.newPage();
  await popup.goto(`chrome-extension://${a.ext.extensionId}/popup.html`);
  await popup.waitForSelector('#dial-input');
  await popup.fill('#dial-input', '1002');
  await popup.click('#dial-video');
  const out = await callIn(a, (c) => c.state !== 'ended' && c.video, 'an outgoing video call');
  const ringing = await callIn(b, (c) => c.state === 'ringing', 'a ringing call');
  assert.equal(ringing.video, true, 'the offer carries video');
  await popup.close();

  // 1002 answers with video from the call window the worker opened.
  const winB = await callWindow(b, ringing.id);
  await winB.click('[data-control="answer-video"]');
  await callIn(a, (c) => c.id === out.id && c.state === 'active' && c.video, 'the answered video call');
  await callIn(b, (c) => c.id === ringing.id && c.state === 'active' && c.video, 'the answered video call');

  const [sa, sb] = await videoFlows(a, out.id, b, ringing.id);
  assert.equal(sa.video_codec, 'video/VP8', JSON.stringify(sa));
  assert.equal(sb.video_codec, 'video/VP8', JSON.stringify(sb));
  assert.ok(sa.frames_encoded > 0 && sb.frames_encoded > 0, 'both send video');
  await audioFlows(a, out.id, b, ringing.id);

  // Both call windows show the far end large and the own camera small.
  const winA = await callWindow(a, out.id);
  for (const [side, win] of [[a, winA], [b, winB]]) {
    const remote = await until(`the remote picture on ${side.user}`, async () => {
      const p = await picture(win, 'remote-video');
      return p && p.width > 0 && !p.paused && p.time > 0 && p;
    });
    assert.equal(remote.tracks, 1, JSON.stringify(remote));
    t.diagnostic(`${side.user} call window: remote video ${remote.width}x${remote.height}`);
    await until(`the local preview on ${side.user}`, async () => (await picture(win, 'local-video'))?.width > 0);
  }

  // Hold and resume renegotiate the video line too; its frames come back.
  assert.equal((await a.send({ type: 'hold', call: out.id })).type, 'ok');
  await callIn(b, (c) => c.id === ringing.id && c.remote_hold, 'remote hold');
  await until('both lines held', async () => (await stats(a, out.id)).direction === 'sendonly' && (await stats(b, ringing.id)).direction === 'recvonly');
  assert.equal((await stats(a, out.id)).camera, false, 'the held party does not see us');
  assert.equal((await a.send({ type: 'resume', call: out.id })).type, 'ok');
  await callIn(b, (c) => c.id === ringing.id && !c.remote_hold, 'resumed');
  await videoFlows(a, out.id, b, ringing.id);
  assert.equal((await stats(a, out.id)).camera, true);

  // Switch to audio from the caller's call window.
  const [pa, pb] = [await stats(a, out.id), await stats(b, ringing.id)];
  await winA.click('[data-control="switch-audio"]');
  await callIn(a, (c) => c.id === out.id && c.state === 'active' && !c.video, 'the call without video');
  await callIn(b, (c) => c.id === ringing.id && c.state === 'active' && !c.video, 'the call without video');
  await until('the video transceivers stopped', async () => !(await stats(a, out.id)).video && !(await stats(b, ringing.id)).video);
  const [fa, fb] = [(await stats(a, out.id)).frames_decoded, (await stats(b, ringing.id)).frames_decoded];
  await audioFlows(a, out.id, b, ringing.id);
  const [ga, gb] = [await stats(a, out.id), await stats(b, ringing.id)];
  assert.ok(ga.frames_decoded <= fa && gb.frames_decoded <= fb, `no more frames: ${fa}→${ga.frames_decoded}, ${fb}→${gb.frames_decoded}`);
  t.diagnostic(`frames decoded at the switch ${pa.frames_decoded}/${pb.frames_decoded}; after it, while audio grew: ${ga.frames_decoded}/${gb.frames_decoded}; audio bytes received ${pa.bytes_received}→${ga.bytes_received} / ${pb.bytes_received}→${gb.bytes_received}`);
  assert.equal(ga.camera || gb.camera, false, 'both cameras released');
  assert.equal(ga.direction, 'sendrecv');
  assert.equal(gb.direction, 'sendrecv');
  await until('the video gone from the call windows', async () => (await picture(winA, 'remote-video')) === null && (await picture(winB, 'remote-video')) === null);

  await a.send({ type: 'hangup', call: out.id });
  await ended(b, ringing.id);
  await until('the call windows closed', async () => winA.isClosed() && winB.isClosed());
});

test('a video offer answered audio only (the notification\'s Answer) is an audio call, and the callee can switch a video call to audio too', async () => {
  const dialled = await a.send({ type: 'dial', number: '1002', video: true });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  const ringing = await callIn(b, (c) => c.state === 'ringing' && c.video, 'a ringing video call');
  // The notification's first button answers audio only: the camera goes on
  // only from the call window's "Answer with video".
  const note = `ringside-call-${ringing.id}`;
  await until('the notification', async () => (await b.page.evaluate(() => chrome.notifications.getAll()))[note]);
  await b.worker().evaluate((n) => self.ringside.notificationButton(n, 0), note);
  await callIn(a, (c) => c.id === dialled.call && c.state === 'active' && !c.video, 'an audio call');
  await callIn(b, (c) => c.id === ringing.id && c.state === 'active' && !c.video, 'an audio call');
  await audioFlows(a, dialled.call, b, ringing.id);
  for (const [side, call] of [[a, dialled.call], [b, ringing.id]]) {
    const s = await stats(side, call);
    assert.equal(s.video, false, JSON.stringify(s));
    assert.equal(s.frames_decoded, 0, JSON.stringify(s));
    assert.equal(s.camera, false, `no camera left on at ${side.user}`);
  }
  const refused = await a.send({ type: 'stop_video', call: dialled.call });
  assert.equal(refused.error?.code, 'invalid_state', JSON.stringify(refused));
  await a.send({ type: 'hangup', call: dialled.call });
  await ended(b, ringing.id);

  // Answered with video; this time the callee switches to audio.
  const second = await a.send({ type: 'dial', number: '1002', video: true });
  const rings = await callIn(b, (c) => c.state === 'ringing' && c.video, 'a ringing video call');
  assert.equal((await b.send({ type: 'answer', call: rings.id, video: true })).type, 'ok');
  await callIn(a, (c) => c.id === second.call && c.state === 'active' && c.video, 'a video call');
  await videoFlows(a, second.call, b, rings.id);
  assert.equal((await b.send({ type: 'stop_video', call: rings.id })).type, 'ok');
  await callIn(a, (c) => c.id === second.call && !c.video, 'the call without video');
  await until('the video transceivers stopped', async () => !(await stats(a, second.call)).video && !(await stats(b, rings.id)).video);
  await audioFlows(a, second.call, b, rings.id);
  // Hold still works on the audio-only call (its offers keep video off).
  assert.equal((await a.send({ type: 'hold', call: second.call })).type, 'ok');
  await callIn(b, (c) => c.id === rings.id && c.remote_hold, 'remote hold');
  assert.equal((await a.send({ type: 'resume', call: second.call })).type, 'ok');
  await callIn(b, (c) => c.id === rings.id && !c.remote_hold, 'resumed');
  await audioFlows(a, second.call, b, rings.id);
  await b.send({ type: 'hangup', call: rings.id });
  await ended(a, second.call);
});

test('a video call survives the callee\'s worker restart, which can still switch it to audio', async () => {
  const dialled = await a.send({ type: 'dial', number: '1002', video: true });
  const ringing = await callIn(b, (c) => c.state === 'ringing' && c.video, 'a ringing video call');
  assert.equal((await b.send({ type: 'answer', call: ringing.id, video: true })).type, 'ok');
  await callIn(a, (c) => c.id === dialled.call && c.state === 'active' && c.video, 'a video call');
  await videoFlows(a, dialled.call, b, ringing.id);

  // Kill 1002's worker; the next one takes the call over (registers again
  // and refreshes the dialog's target by re-INVITE) while the offscreen
  // document keeps the media.
  const log = path.join(pbx.run_dir, 'kamailio.log');
  const offset = (await stat(log)).size;
  await killWorker(b.ext);
  const shown = await callIn(b, (c) => c.id === ringing.id, 'the call shown by the new worker');
  assert.equal(shown.video, true, JSON.stringify(shown));
  await registered(b);
  await until('the target-refreshing re-INVITE', async () =>
    (await readFile(log)).subarray(offset).toString().includes('RINGSIDE-REQ INVITE'),
  );
  await videoFlows(a, dialled.call, b, ringing.id);

  assert.equal((await b.send({ type: 'stop_video', call: ringing.id })).type, 'ok');
  await callIn(a, (c) => c.id === dialled.call && c.state === 'active' && !c.video, 'the call without video');
  await until('the video transceivers stopped', async () => !(await stats(a, dialled.call)).video && !(await stats(b, ringing.id)).video);
  await audioFlows(a, dialled.call, b, ringing.id);
  await a.send({ type: 'hangup', call: dialled.call });
  await ended(b, ringing.id);
});
