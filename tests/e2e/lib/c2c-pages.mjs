// Local web pages for the click-to-call tests and bench, served over http on
// 127.0.0.1 (content scripts do not run on file:// or data: pages).
//
//   const site = await servePages({ '/plain': { body: html }, '/csp': { body, headers } });
//   await page.goto(site.url('/plain'));  ...  await site.close();

import http from 'node:http';

export async function servePages(pages) {
  const server = http.createServer((req, res) => {
    const page = pages[new URL(req.url, 'http://x').pathname];
    if (!page) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...(page.headers ?? {}) });
    res.end(page.body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    url: (path) => `http://127.0.0.1:${port}${path}`,
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
