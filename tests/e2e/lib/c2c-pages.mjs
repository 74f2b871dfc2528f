// Local web pages for the click-to-call tests and bench, served over http on
// 127.0.0.1 (content scripts do not run on file:// or data: pages).
//
//   const site = await servePages({ '/plain': { body: html }, '/csp': { body, headers } });
//   await page.goto(site.url('/plain'));  ...  await site.close();

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * `servePages` over https with a fresh self-signed certificate for 127.0.0.1 (the browser
 * must be started with --ignore-certificate-errors): the extension's host permissions
 * cover https sites only, and with them the browser tells it a tab's URL.
 */
export async function serveHttpsPages(pages) {
  const dir = await mkdtemp(path.join(tmpdir(), 'ringside-cert-'));
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ]);
    const [key, cert] = await Promise.all(['key.pem', 'cert.pem'].map((f) => readFile(path.join(dir, f))));
    return await servePages(pages, { key, cert });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function servePages(pages, tls = null) {
  const scheme = tls ? 'https' : 'http';
  const handler = (req, res) => {
    const page = pages[new URL(req.url, 'http://x').pathname];
    if (!page) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...(page.headers ?? {}) });
    res.end(page.body);
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `${scheme}://127.0.0.1:${port}`,
    url: (path) => `${scheme}://127.0.0.1:${port}${path}`,
    // The browser keeps connections alive; close() alone would wait for them.
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

/** The text of every text node under the element `localName`'s shadow roots (closed ones too), via CDP. */
export async function shadowText(page, localName) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { root } = await cdp.send('DOM.getDocument', { depth: -1, pierce: true });
    const texts = [];
    const visit = (node, inside) => {
      const here = inside || node.localName === localName;
      if (here && node.nodeType === 3) texts.push(node.nodeValue);
      for (const child of [...(node.children ?? []), ...(node.shadowRoots ?? [])]) visit(child, here);
    };
    visit(root, false);
    return texts.join(' ');
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/** A page of `count` numbers in about `bytes` of text: rows of filler prose, numbers in varied formats. */
export function numbersPage({ count, bytes, title = 'numbers' }) {
  const filler =
    'Order 20231127 shipped on 2026-11-28 at 14:05 for $1,299.00 (v2.4.1), see 192.168.0.1 and ISBN 978-3-16-148410-0. ';
  const formats = [
    (i) => `(415) 555-${String(i % 10000).padStart(4, '0')}`,
    (i) => `+44 20 7946 ${String(i % 10000).padStart(4, '0')}`,
    (i) => `+1 212-555-${String(i % 10000).padStart(4, '0')}`,
    (i) => `+49 30 ${String(1000000 + (i % 9000000)).slice(0, 7)}`,
  ];
  const perRow = Math.max(0, Math.round(bytes / count) - 40);
  const rows = [];
  const numbers = [];
  for (let i = 0; i < count; i++) {
    const number = formats[i % formats.length](i);
    numbers.push(number);
    const prose = filler.repeat(Math.ceil(perRow / filler.length)).slice(0, perRow);
    rows.push(`<p>${prose} Call <b>${number}</b> today.</p>`);
  }
  const body = `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>\n${rows.join('\n')}\n</body></html>`;
  return { body, numbers, text: rows.map((r) => r.replace(/<[^>]+>/g, '')).join('\n') };
}

/**
 * Clicks, as the user would (trusted input at its place on screen), the `index`th button under the
 * closed shadow root of the page's `localName` element (the confirmation: 0 = Call, 1 = Cancel).
 */
export async function clickShadowButton(page, localName, index) {
  const cdp = await page.context().newCDPSession(page);
  let box;
  try {
    const { root } = await cdp.send('DOM.getDocument', { depth: -1, pierce: true });
    const buttons = [];
    const visit = (node, inside) => {
      const here = inside || node.localName === localName;
      if (here && node.localName === 'button') buttons.push(node.nodeId);
      for (const child of [...(node.children ?? []), ...(node.shadowRoots ?? [])]) visit(child, here);
    };
    visit(root, false);
    if (buttons[index] === undefined) throw new Error(`no button ${index} in <${localName}> (${buttons.length} found)`);
    ({ model: box } = await cdp.send('DOM.getBoxModel', { nodeId: buttons[index] }));
  } finally {
    await cdp.detach().catch(() => {});
  }
  const [x1, y1, , , x3, y3] = box.content;
  await page.mouse.click((x1 + x3) / 2, (y1 + y3) / 2);
}
