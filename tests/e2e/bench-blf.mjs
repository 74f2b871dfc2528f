// BLF benchmarks for `cargo xtask bench`; prints one JSON line on stdout:
//   {"metrics":[{"name","value","unit"}]}
//
// blf.first_state_ms: Ringside 1003 with 120 BLF keys (extensions
//   2000-2119, dialog + presence each) logs in → the first snapshot push in
//   which every key shows a state, minus the push that said "registered".
//   Median of RINGSIDE_BENCH_SAMPLES (default 3) log-out/log-in cycles.
// blf.storm_cpu_pct: CPU of the extension's renderer process (which hosts
//   only the service worker once the test page is closed; utime+stime from
//   /proc) while the PBX sends the 120 subscriptions 50 NOTIFY/s in total
//   for RINGSIDE_BENCH_STORM_S seconds (default 60). The NOTIFYs are caused
//   by trusted dialog-info PUBLISHes (X-Ringside-Inject over UDP), one
//   extension after the other, alternating ringing / in call / idle.
//   Baseline, same run and storm: a JsSIP 3.13 UA in its own Node process
//   (1006) subscribed to the same 120 dialogs (no browser bundle of JsSIP
//   is available offline), its process CPU measured the same way.
//
// Env: RINGSIDE_PBX_BIN / RINGSIDE_DIST as for the e2e tests.

import dgram from 'node:dgram';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFile, readdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { startPbx } from '../peers/index.js';
import { distDir, launchExtension } from './lib/extension.mjs';

const samples = Number(process.env.RINGSIDE_BENCH_SAMPLES ?? 3);
const stormSeconds = Number(process.env.RINGSIDE_BENCH_STORM_S ?? 60);
const RATE = 50;
const KEYS = 120;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
async function until(fn, timeout = 30_000) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    const v = await fn().catch(() => null);
    if (v) return v;
    await sleep(20);
  }
  throw new Error('timed out');
}
const hex = () => randomBytes(6).toString('hex');

/** Trusted PUBLISHes of dialog-info over UDP, one entity tag per extension. */
function publisher(pbx) {
  const socket = dgram.createSocket('udp4');
  const etags = new Map();
  const pending = new Map();
  socket.on('message', (data) => {
    const text = data.toString();
    const callId = /^Call-ID:\s*(.+)$/im.exec(text)?.[1]?.trim();
    const status = Number(/^SIP\/2\.0 (\d+)/.exec(text)?.[1]);
    const user = pending.get(callId);
    if (!user || status < 200) return;
    pending.delete(callId);
    const etag = /^SIP-ETag:\s*(.+)$/im.exec(text)?.[1]?.trim();
    if (status === 200 && etag) etags.set(user, etag);
    else etags.delete(user);
  });
  let version = 0;
  const send = (user, state) => {
    const aor = `sip:${user}@${pbx.domain}`;
    version += 1;
    const dialog =
      state === 'idle'
        ? ''
        : `<dialog id="d${user}" call-id="c${user}" local-tag="l${user}" remote-tag="r${user}" direction="recipient"><state>${state}</state><remote><identity>sip:1001@${pbx.domain}</identity></remote></dialog>`;
    const body = `<?xml version="1.0"?>\r\n<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="${version}" state="full" entity="${aor}">${dialog}</dialog-info>\r\n`;
    const callId = hex();
    pending.set(callId, user);
    const { port } = socket.address();
    const ifMatch = etags.has(user) ? `SIP-If-Match: ${etags.get(user)}\r\n` : '';
    const request =
      `PUBLISH ${aor} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${hex()}\r\n` +
      `Max-Forwards: 70\r\nFrom: <${aor}>;tag=${hex()}\r\nTo: <${aor}>\r\nCall-ID: ${callId}\r\n` +
      `CSeq: 1 PUBLISH\r\nEvent: dialog\r\nExpires: 120\r\n${ifMatch}X-Ringside-Inject: ${pbx.token}\r\n` +
      `Content-Type: application/dialog-info+xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    socket.send(request, pbx.sip_port, '127.0.0.1');
  };
  return {
    ready: new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve)),
    send,
    close: () => socket.close(),
  };
}

/** utime+stime (clock ticks) of the renderer hosting our extension: an
 * `--extension-process` renderer under a browser that loaded `distDir`
 * (other test browsers may run at the same time), the newest if several. */
async function extensionProcessTicks() {
  const procs = new Map();
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    procs.set(pid, { cmdline, ppid: f[1], ticks: Number(f[11]) + Number(f[12]), start: Number(f[19]) });
  }
  const ours = (pid) => {
    for (let p = procs.get(pid), hops = 0; p && hops < 8; p = procs.get(p.ppid), hops++) {
      if (p.cmdline.includes(`--load-extension=${distDir}`)) return true;
    }
    return false;
  };
  const found = [...procs.entries()]
    .filter(([pid, p]) => p.cmdline.includes('--extension-process') && ours(pid))
    .sort((x, y) => y[1].start - x[1].start)[0];
  if (!found) throw new Error('no extension renderer process found');
  return { pid: found[0], ticks: found[1].ticks };
}

/** A JsSIP UA in a child Node process with 120 dialog subscriptions; its
 * CPU ticks and NOTIFY count. */
async function jssipWatcher(pbx) {
  const peers = new URL('../peers/index.js', import.meta.url).href;
  const code = `
    const { jssipUA, jssipSubscribe } = await import(${JSON.stringify(peers)});
    const ua = await jssipUA({ wsUrl: ${JSON.stringify(pbx.ws_url)}, user: '1006' });
    const subs = Array.from({ length: ${KEYS} }, (_, i) => jssipSubscribe(ua, String(2000 + i), 'dialog', 'application/dialog-info+xml'));
    await Promise.all(subs.map((s) => s.active()));
    console.log('ready');
    process.stdin.on('end', () => { console.log(subs.reduce((n, s) => n + s.notifies.length, 0)); process.exit(0); });
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const next = () => new Promise((resolve) => lines.once('line', resolve));
  if ((await next()) !== 'ready') throw new Error('the JsSIP watcher did not start');
  const ticks = async () => {
    const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  return {
    ticks,
    async stop() {
      const count = next();
      child.stdin.end();
      return Number(await count);
    },
  };
}

const pbx = await startPbx();
let ext;
try {
  ext = await launchExtension();
  const page = await ext.context.newPage();
  await page.goto(`chrome-extension://${ext.extensionId}/call.html?call=0`);
  const send = (m) => page.evaluate((x) => chrome.runtime.sendMessage(x), { v: 1, ...m });
  const config = {
    keys: Array.from({ length: KEYS }, (_, i) => ({ id: i + 1, kind: 'blf', value: String(2000 + i) })),
    settings: {},
  };
  const set = await send({ type: 'set_keys', config });
  if (set.type !== 'keys') throw new Error(`set_keys: ${JSON.stringify(set)}`);
  await page.evaluate(() => {
    window.pushes = [];
    chrome.runtime.connect({ name: 'ringside-state' }).onMessage.addListener((m) => {
      const s = m.snapshot;
      if (s) window.pushes.push({ t: Date.now(), state: s.state, known: (s.keys ?? []).filter((k) => k.lamp !== 'unknown').length });
    });
  });
  const account = { server: pbx.ws_url, username: '1003', password: 'pass1003' };
  const firstState = [];
  for (let i = 0; i < samples; i++) {
    await send({ type: 'logout' });
    await until(async () => (await send({ type: 'get_snapshot' })).snapshot.state === 'unregistered');
    const since = Date.now();
    await page.evaluate((a) => chrome.storage.local.set({ account: a }), account);
    const registered = await until(() => page.evaluate((s) => window.pushes.find((p) => p.t >= s && p.state === 'registered')?.t, since));
    const all = await until(() => page.evaluate((s) => window.pushes.find((p) => p.t >= s && p.known === 120)?.t, since));
    firstState.push(all - registered);
  }
  await page.close();
  await sleep(1000);

  const pub = publisher(pbx);
  await pub.ready;
  const jssip = await jssipWatcher(pbx);
  await sleep(1000);
  const ticksPerSecond = 100;
  const before = await extensionProcessTicks();
  const jssipBefore = await jssip.ticks();
  const t0 = Date.now();
  const states = ['early', 'confirmed', 'idle'];
  let sent = 0;
  while (Date.now() - t0 < stormSeconds * 1000) {
    const due = Math.floor(((Date.now() - t0) / 1000) * RATE);
    while (sent < due) {
      pub.send(String(2000 + (sent % KEYS)), states[Math.floor(sent / KEYS) % states.length]);
      sent += 1;
    }
    await sleep(5);
  }
  const elapsed = (Date.now() - t0) / 1000;
  const after = await extensionProcessTicks();
  const jssipAfter = await jssip.ticks();
  pub.close();
  const jssipNotifies = await jssip.stop();
  const cpu = (100 * (after.ticks - before.ticks)) / ticksPerSecond / elapsed;
  const jssipCpu = (100 * (jssipAfter - jssipBefore)) / ticksPerSecond / elapsed;
  // The storm must have reached the keys: some lamps are not idle now.
  const check = await ext.context.newPage();
  await check.goto(`chrome-extension://${ext.extensionId}/call.html?call=0`);
  const { snapshot } = await check.evaluate(() => chrome.runtime.sendMessage({ v: 1, type: 'get_snapshot' }));
  const lit = snapshot.keys.filter((k) => k.lamp === 'ringing' || k.lamp === 'in_call').length;
  if (lit === 0) throw new Error(`no key shows the storm: ${JSON.stringify(snapshot.keys.slice(0, 5))}`);
  console.error(`bench-blf: first state ${JSON.stringify(firstState)} ms; storm ${sent} PUBLISHes in ${elapsed.toFixed(1)} s, extension process ${after.pid} CPU ${cpu.toFixed(1)} %, ${lit} keys lit after; JsSIP watcher CPU ${jssipCpu.toFixed(1)} % (${jssipNotifies} NOTIFYs)`);
  console.log(JSON.stringify({
    metrics: [
      { name: 'blf.first_state_ms', value: median(firstState), unit: 'ms' },
      { name: 'blf.storm_cpu_pct', value: Math.round(cpu * 10) / 10, unit: 'pct', baseline: Math.round(jssipCpu * 10) / 10 },
    ],
  }));
} finally {
  await ext?.close();
  await pbx.stop();
}
