// JsSIP running in a real web page: the baseline a browser softphone is
// compared with. npm's JsSIP ships CommonJS only (no browser bundle, and
// nothing to bundle with offline), so the page loads it with a small
// CommonJS loader over synchronous XHR from a local server that exposes
// just the packages it needs. Measured on Chromium 156: JsSIP's PEG.js 0.7
// grammar parses ~100x slower in the page than in Node 20 (a URI: ~7-15 ms
// vs ~0.1 ms; the same with no DevTools attached and with a <script> tag
// instead of the loader), so an INVITE takes JsSIP ~150 ms to surface in a
// page: that is the browser baseline, not an artefact of this harness.
//
//   const server = await serveJssipPage();
//   const page = await context.newPage();
//   await openJssipPhone(page, server, { wsUrl, user: '1004' });
//   await page.evaluate(() => window.phone.lastIncomingAt);
//   server.close();

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const modules = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules');
const PACKAGES = ['jssip', 'events', 'debug', 'sdp-transform', 'ms'];

const PAGE = `<!doctype html><meta charset="utf-8"><title>JsSIP phone</title>
<script>
const ENTRY = {
  jssip: '/nm/jssip/lib/JsSIP.js',
  events: '/nm/events/events.js',
  debug: '/nm/debug/src/browser.js',
  'sdp-transform': '/nm/sdp-transform/lib/index.js',
  ms: '/nm/ms/index.js',
};
const cache = new Map();
function fetchText(url) {
  const x = new XMLHttpRequest();
  x.open('GET', url, false);
  x.send();
  return x.status === 200 ? x.responseText : null;
}
function resolve(spec, from) {
  if (ENTRY[spec]) return ENTRY[spec];
  const base = new URL(spec, location.origin + from).pathname;
  for (const candidate of [base, base + '.js', base + '/index.js']) {
    if (cache.has(candidate) || fetchText(candidate) !== null) return candidate;
  }
  throw new Error('cannot resolve ' + spec + ' from ' + from);
}
function load(url) {
  if (cache.has(url)) return cache.get(url).exports;
  const text = fetchText(url);
  const module = { exports: {} };
  cache.set(url, module);
  if (url.endsWith('.json')) {
    module.exports = JSON.parse(text);
  } else {
    new Function('require', 'module', 'exports', text)(
      (spec) => load(resolve(spec, url)), module, module.exports);
  }
  return module.exports;
}
window.JsSIP = load(ENTRY.jssip);
</script>`;

/** A local HTTP server with the loader page at `/` and the packages under `/nm/`. */
export async function serveJssipPage() {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    const rel = path.normalize(decodeURIComponent(url.pathname)).replace(/^\/nm\//, '');
    const file = path.join(modules, rel);
    const allowed = PACKAGES.some((p) => file.startsWith(path.join(modules, p) + path.sep));
    if (!url.pathname.startsWith('/nm/') || !allowed || !/\.(js|json)$/.test(file)) {
      res.writeHead(404).end();
      return;
    }
    try {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(await readFile(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  server.url = `http://127.0.0.1:${server.address().port}/`;
  return server;
}

/**
 * Opens the page in `page` and registers a JsSIP UA as `user` (password
 * pass<user>). `window.phone.lastIncomingAt` is the Date.now() of the last
 * incoming `newRTCSession`; incoming sessions are left ringing until the
 * caller gives up, as a user who has not answered yet.
 */
export async function openJssipPhone(page, server, { wsUrl, user, domain = 'pbx.test' }) {
  await page.goto(server.url);
  await page.evaluate(({ wsUrl, user, domain }) => new Promise((resolve, reject) => {
    JsSIP.debug.disable();
    const ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(wsUrl)],
      uri: `sip:${user}@${domain}`,
      password: `pass${user}`,
      register: true,
      session_timers: false,
      user_agent: 'JsSIP web page (Ringside baseline)',
    });
    window.phone = { ua, lastIncomingAt: 0 };
    ua.on('newRTCSession', (e) => {
      if (e.originator === 'remote') window.phone.lastIncomingAt = Date.now();
    });
    ua.once('registered', () => resolve());
    ua.once('registrationFailed', (e) => reject(new Error(`JsSIP page ${user}: ${e.cause}`)));
    ua.start();
  }), { wsUrl, user, domain });
}
