// Call benchmarks for `cargo xtask bench`; prints one JSON line on stdout:
//   {"metrics":[{"name","value","unit","baseline"?}]}
//
// incoming.invite_to_notification_ms: a JsSIP caller sends INVITE (timestamp
//   taken right before JsSIP's call(), which writes the INVITE synchronously)
//   → Ringside's worker calls chrome.notifications.create (wrapped to record
//   Date.now()). Baseline, same run and PBX: the same caller → a JsSIP web
//   page's `newRTCSession` (JsSIP loaded into a Chromium page, see
//   lib/jssip-page.mjs). Median of RINGSIDE_BENCH_SAMPLES (default 21).
// call.answer_to_media_ms: Ringside 1002 answers a call from Ringside 1001 →
//   the callee's offscreen document sees the first inbound RTP bytes
//   (media_stats polled every 5 ms). Median of 7.
//
// Env: RINGSIDE_PBX_BIN / RINGSIDE_DIST as for the e2e tests.

import { jssipUA, jssipCall, startPbx, noMedia } from '../peers/index.js';
import { launchExtension } from './lib/extension.mjs';
import { serveJssipPage, openJssipPhone } from './lib/jssip-page.mjs';

const samples = Number(process.env.RINGSIDE_BENCH_SAMPLES ?? 21);
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(fn, timeout = 15_000) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    const v = await fn().catch(() => null);
    if (v) return v;
    await sleep(5);
  }
  throw new Error('timed out');
}

const pbx = await startPbx();
const jssipServer = await serveJssipPage();
const opened = [];
try {
  async function ringside(user) {
    const ext = await launchExtension();
    opened.push(ext);
    const page = await ext.context.newPage();
    await page.goto(`chrome-extension://${ext.extensionId}/call.html?call=0`);
    await page.evaluate((account) => chrome.storage.local.set({ account }), {
      server: pbx.ws_url, username: user, password: `pass${user}`,
    });
    const send = (m) => page.evaluate((x) => chrome.runtime.sendMessage(x), { v: 1, ...m });
    const snap = async () => (await send({ type: 'get_snapshot' })).snapshot;
    await until(async () => (await snap()).state === 'registered');
    return { ext, page, send, snap, worker: () => ext.context.serviceWorkers()[0] };
  }
  const a = await ringside('1001');
  const b = await ringside('1002');
  const caller = await jssipUA({ wsUrl: pbx.ws_url, user: '1003' });
  const peer = await a.ext.context.newPage();
  await openJssipPhone(peer, jssipServer, { wsUrl: pbx.ws_url, user: '1004' });

  await b.worker().evaluate(() => {
    const create = chrome.notifications.create.bind(chrome.notifications);
    chrome.notifications.create = (...args) => {
      if (String(args[0]).startsWith('ringside-call-')) self.__notifiedAt = Date.now();
      return create(...args);
    };
  });
  const notified = [];
  const baseline = [];
  for (let i = 0; i < samples; i++) {
    await b.worker().evaluate(() => { self.__notifiedAt = 0; });
    const t0 = Date.now();
    const session = jssipCall(caller, '1002', noMedia);
    const at = await until(() => b.worker().evaluate(() => self.__notifiedAt));
    notified.push(at - t0);
    const ringingCall = await until(async () => (await b.snap()).calls.find((c) => c.state === 'ringing'));
    session.terminate();
    await until(async () => !(await b.snap()).calls.some((c) => c.id === ringingCall.id && c.state !== 'ended'));

    await peer.evaluate(() => { window.phone.lastIncomingAt = 0; });
    const u0 = Date.now();
    const other = jssipCall(caller, '1004', noMedia);
    const seenAt = await until(() => peer.evaluate(() => window.phone.lastIncomingAt));
    baseline.push(seenAt - u0);
    other.terminate();
    await sleep(100);
  }
  await b.send({ type: 'get_history' });

  const media = [];
  for (let i = 0; i < 7; i++) {
    const dialled = await a.send({ type: 'dial', number: '1002' });
    const ringing = await until(async () => (await b.snap()).calls.find((c) => c.state === 'ringing'));
    await sleep(200);
    const t0 = Date.now();
    await b.send({ type: 'answer', call: ringing.id });
    await until(async () => {
      const r = await b.send({ type: 'media_stats', call: ringing.id });
      return r?.stats?.bytes_received > 0;
    });
    media.push(Date.now() - t0);
    await a.send({ type: 'hangup', call: dialled.call });
    await until(async () => !(await b.snap()).calls.some((c) => c.state !== 'ended'));
  }
  caller.stop();
  console.error(`bench-calls: notification ${JSON.stringify(notified)} baseline ${JSON.stringify(baseline)} media ${JSON.stringify(media)}`);
  console.log(JSON.stringify({
    metrics: [
      { name: 'incoming.invite_to_notification_ms', value: median(notified), unit: 'ms', baseline: median(baseline) },
      { name: 'call.answer_to_media_ms', value: median(media), unit: 'ms' },
    ],
  }));
} finally {
  await Promise.all(opened.map((e) => e.close()));
  jssipServer.close();
  await pbx.stop();
}
