// A third-party web phone (SIP.js 0.21's SimpleUser, served from
// tests/node_modules as plain ES modules to an http page in Chromium, real
// WebRTC with the fake devices) calls Ringside and is called by it, with
// audio both ways; video calls both ways (VP8, switch to audio, audio-only
// answer). Ringside is account 1001, the web phone 1005.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startPbx } from '../peers/index.js';
import { launchExtension, repoRoot } from './lib/extension.mjs';
import { until } from './lib/ringside.mjs';

const sipjsDir = path.join(repoRoot, 'tests', 'node_modules', 'sip.js');
let pbx;
let ext;
let server;
let ring;
let phone;

const PAGE = `<!doctype html><meta charset="utf-8"><audio id="remote" autoplay></audio>
<script type="module">
import { Web } from '/lib/index.js';
const params = new URLSearchParams(location.search);
const incoming = [];
const user = new Web.SimpleUser(params.get('ws'), {
  aor: 'sip:1005@pbx.test',
  userAgentOptions: { authorizationUsername: '1005', authorizationPassword: 'pass1005' },
  media: { constraints: { audio: true, video: false }, remote: { audio: document.getElementById('remote') } },
  delegate: { onCallReceived: () => incoming.push(Date.now()), onCallHangup: () => { window.hungUp = (window.hungUp ?? 0) + 1; } },
});
window.phone = {
  user, incoming,
  async bytes() {
    const pc = user.session?.sessionDescriptionHandler?.peerConnection;
    if (!pc) return { received: 0, sent: 0 };
    let received = 0, sent = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') received += r.bytesReceived;
      if (r.type === 'outbound-rtp' && r.kind === 'audio') sent += r.bytesSent;
    });
    return { received, sent };
  },
  // Inbound video: frames decoded, codec, and live video transceivers.
  async video() {
    const pc = user.session?.sessionDescriptionHandler?.peerConnection;
    if (!pc) return { frames: 0, codec: '', live: 0 };
    let frames = 0, codec = '';
    const report = await pc.getStats();
    report.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        frames += r.framesDecoded ?? 0;
        codec = report.get(r.codecId)?.mimeType ?? codec;
      }
    });
    const live = pc.getTransceivers().filter((t) => t.receiver.track.kind === 'video' && !['stopped', 'inactive', null].includes(t.currentDirection)).length;
    return { frames, codec, live };
  },
};
await user.connect();
await user.register();
window.ready = true;
</script>`;

const callIn = (pred) => until('a Ringside call', async () => (await ring.snap()).calls.find(pred));

async function audioBothWays(call) {
  const stats = async () => (await ring.send({ type: 'media_stats', call })).stats;
  const r1 = await until('Ringside inbound audio', async () => { const s = await stats(); return s.bytes_received > 0 && s; });
  const p1 = await until('web phone inbound audio', async () => { const s = await phone.evaluate(() => window.phone.bytes()); return s.received > 0 && s; });
  await new Promise((r) => setTimeout(r, 700));
  const r2 = await stats();
  const p2 = await phone.evaluate(() => window.phone.bytes());
  assert.ok(r2.bytes_received > r1.bytes_received, `Ringside receives: ${r1.bytes_received} → ${r2.bytes_received}`);
  assert.ok(p2.received > p1.received, `web phone receives: ${p1.received} → ${p2.received}`);
}

before(async () => {
  pbx = await startPbx();
  server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    const file = path.join(sipjsDir, path.normalize(url.pathname));
    if (!file.startsWith(sipjsDir) || !file.endsWith('.js')) return res.writeHead(404).end();
    try {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(await readFile(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  ext = await launchExtension();
  const page = await ext.context.newPage();
  await page.goto(`chrome-extension://${ext.extensionId}/call.html?call=0`);
  await page.evaluate((account) => chrome.storage.local.set({ account }), { server: pbx.ws_url, username: '1001', password: 'pass1001' });
  const send = (m) => page.evaluate((x) => chrome.runtime.sendMessage(x), { v: 1, ...m });
  ring = { page, send, snap: async () => (await send({ type: 'get_snapshot' })).snapshot };
  await until('1001 registered', async () => (await ring.snap()).state === 'registered');
  phone = await ext.context.newPage();
  await phone.goto(`http://127.0.0.1:${server.address().port}/?ws=${encodeURIComponent(pbx.ws_url)}`);
  await phone.waitForFunction(() => window.ready === true, null, { timeout: 15_000 });
});

after(async () => {
  await ext?.close();
  server?.close();
  await pbx?.stop();
});

test('Ringside calls the SIP.js web phone; audio both ways; the web phone hangs up', async () => {
  const dialled = await ring.send({ type: 'dial', number: '1005' });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  await phone.waitForFunction(() => window.phone.incoming.length === 1, null, { timeout: 15_000 });
  await phone.evaluate(() => window.phone.user.answer());
  await callIn((c) => c.id === dialled.call && c.state === 'active');
  await audioBothWays(dialled.call);
  await phone.evaluate(() => window.phone.user.hangup());
  const done = await callIn((c) => c.id === dialled.call && c.state === 'ended');
  assert.equal(done.end, 'remote_hung_up');
});

test('the SIP.js web phone calls Ringside; audio both ways; Ringside hangs up', async () => {
  await phone.evaluate(() => { window.phone.user.call('sip:1001@pbx.test'); });
  const ringing = await callIn((c) => c.state === 'ringing');
  assert.equal(ringing.number, '1005');
  assert.equal((await ring.send({ type: 'answer', call: ringing.id })).type, 'ok');
  await callIn((c) => c.id === ringing.id && c.state === 'active');
  await audioBothWays(ringing.id);
  await ring.send({ type: 'hangup', call: ringing.id });
  await phone.waitForFunction(() => (window.hungUp ?? 0) >= 2, null, { timeout: 10_000 });
});

test('Ringside video-calls the SIP.js web phone, which answers with video (VP8); Ringside switches to audio and the call goes on', async () => {
  const before = await phone.evaluate(() => window.phone.incoming.length);
  const dialled = await ring.send({ type: 'dial', number: '1005', video: true });
  assert.equal(dialled.type, 'call', JSON.stringify(dialled));
  await phone.waitForFunction((n) => window.phone.incoming.length > n, before, { timeout: 15_000 });
  await phone.evaluate(() => window.phone.user.answer({ sessionDescriptionHandlerOptions: { constraints: { audio: true, video: true } } }));
  await callIn((c) => c.id === dialled.call && c.state === 'active' && c.video);
  const stats = async () => (await ring.send({ type: 'media_stats', call: dialled.call })).stats;
  const seen = await until('video both ways', async () => {
    const [s, p] = [await stats(), await phone.evaluate(() => window.phone.video())];
    return s.frames_decoded > 0 && p.frames > 0 && { s, p };
  });
  assert.equal(seen.s.video_codec, 'video/VP8');
  assert.equal(seen.p.codec, 'video/VP8');

  assert.equal((await ring.send({ type: 'stop_video', call: dialled.call })).type, 'ok');
  await callIn((c) => c.id === dialled.call && c.state === 'active' && !c.video);
  await until('the web phone without video', async () => (await phone.evaluate(() => window.phone.video())).live === 0);
  await until('Ringside without video', async () => !(await stats()).video);
  await audioBothWays(dialled.call);
  await ring.send({ type: 'hangup', call: dialled.call });
  await callIn((c) => c.id === dialled.call && c.state === 'ended');
});

test('the SIP.js web phone video-calls Ringside: it rings as a video call; answered audio only, both have an audio call', async () => {
  await phone.evaluate(() => {
    window.phone.user.call('sip:1001@pbx.test', { sessionDescriptionHandlerOptions: { constraints: { audio: true, video: true } } });
  });
  const ringing = await callIn((c) => c.state === 'ringing');
  assert.equal(ringing.video, true, 'the offer carries video');
  assert.equal((await ring.send({ type: 'answer', call: ringing.id })).type, 'ok');
  await callIn((c) => c.id === ringing.id && c.state === 'active' && !c.video);
  await audioBothWays(ringing.id);
  assert.equal((await phone.evaluate(() => window.phone.video())).live, 0, 'the web phone has no video either');
  await ring.send({ type: 'hangup', call: ringing.id });
  await callIn((c) => c.id === ringing.id && c.state === 'ended');
});
