// Ringside click-to-call: makes phone numbers on web pages callable.
//
// No wasm here: a page's CSP also binds this isolated world, and a strict one
// forbids compiling wasm. Text goes to our own service worker (and nowhere
// else), whose Rust detector answers with UTF-16 offsets into each text.
//
// The page must stay as it was: the script only wraps found numbers in an
// inline <ringside-c2c> element (no layout change; content.css gives it a
// dotted underline and a hover icon), works in idle-time slices, watches
// added nodes only, and sleeps in hidden tabs. A number split across inline
// elements (`<b>138</b>0013 8000`) is found in the text of the run of
// adjacent text nodes and gets one wrapper per piece. Nothing the page does
// can place a call: clicks must be trusted, the confirmation lives in a
// closed shadow root and checks its clicks too, and the worker accepts a
// call only from a content script on a site where click-to-call is on.
//
// In a frame, the confirmation is shown by the tab's top document instead
// (a frame can be tiny, hidden or laid over by its parent page): the worker
// hands the top document the dial string and a one-time token, which only a
// trusted click on its Call button sends back. The context menu's "Call
// <selection>" comes the same way.
(() => {
  'use strict';

  const TAG = 'ringside-c2c';
  const CONFIRM_TAG = 'ringside-c2c-confirm';
  // Where numbers are not made callable: code, editable and form text, our
  // own nodes, and links (their own click wins; tel: links are handled).
  const SKIP = `script,style,noscript,template,textarea,input,select,option,code,pre,kbd,samp,svg,a[href],${TAG},${CONFIRM_TAG}`;
  // Cheap pre-filter: at least five digits close together.
  const DIGITS = /[0-9\uFF10-\uFF19](?:[^0-9\uFF10-\uFF19]{0,4}[0-9\uFF10-\uFF19]){4}/;
  const LINK = /^\s*(tel|callto|sips?):/i;
  // Elements a number may be split across; any other element between two
  // text nodes ends a run. Links (their own click wins), sub/sup (a footnote
  // mark glued on makes another number) and struck-out text are not in it.
  const INLINE = new Set(['ABBR', 'B', 'BDI', 'BDO', 'BIG', 'CITE', 'DATA', 'DFN', 'EM', 'FONT', 'I', 'INS', 'LABEL', 'MARK', 'NOBR', 'Q', 'SMALL', 'SPAN', 'STRONG', 'TIME', 'U', 'VAR', TAG.toUpperCase()]);
  const TOP = window === window.top;
  // The worker's caps (ringside::c2c::MAX_DETECT_*).
  const MAX_TEXTS = 256;
  const MAX_UNITS = 8 * 1024;
  const IN_FLIGHT = 2;
  const SLICE_MS = 8;
  const DEBOUNCE_MS = 150;
  // Above this many candidate nodes, on-screen ones are sent first.
  const HUGE = 500;

  // Words in the language chosen in Ringside's Settings, sent by the worker
  // (chrome.i18n knows only the browser's); chrome.i18n for what it did not
  // send. A content script cannot import page-texts.js, hence the copy.
  const TEXT_KEYS = ['c2cAffordance', 'c2cConfirmTitle', 'c2cConfirmCall', 'c2cConfirmCancel',
    'c2cCallFailed', 'c2cNotRegistered', 'c2cNotANumber'];
  let texts = {};
  const msg = (name, ...subs) =>
    name in texts
      ? subs.reduce((text, value, i) => text.replaceAll(`$${i + 1}`, value), texts[name])
      : chrome.i18n.getMessage(name, subs) || name;

  let site = null; // the worker's SiteState for this page
  let running = false;
  let seen = new WeakSet(); // text nodes already queued
  const found = new WeakMap(); // <ringside-c2c> → {text, dial}
  let walkers = []; // roots still to walk: {walker, run: [text nodes]}
  // Items to send: {pieces: [{node, from, at, len}], text}; piece `len` units
  // of `node` from `from` are `text` from `at`.
  let urgent = [];
  let later = [];
  let toWrap = []; // [item, matches]
  let inFlight = 0;
  let scheduled = false;
  let observer = null;
  let debounce = 0;
  let addedRoots = [];

  function send(message) {
    return chrome.runtime.sendMessage({ v: 1, ...message });
  }

  function skipped(parent) {
    return !parent || parent.isContentEditable || parent.closest(SKIP) !== null;
  }

  // --- scheduling: idle-time slices, paused while the tab is hidden ---

  function schedule() {
    if (scheduled || !running || document.hidden) return;
    scheduled = true;
    requestIdleCallback(work, { timeout: 1000 });
  }

  function work(deadline) {
    scheduled = false;
    if (!running || document.hidden) return;
    const start = performance.now();
    const budget = Math.max(1, Math.min(SLICE_MS, deadline.timeRemaining() || SLICE_MS));
    const left = () => performance.now() - start < budget;
    while (left() && toWrap.length) wrap(...toWrap.shift());
    while (left() && walkers.length) walk(left);
    if (!walkers.length && urgent.length + later.length > 0) {
      if (later.length > HUGE && !later.ranked) rank();
      flush();
    }
    if (walkers.length || toWrap.length || (urgent.length + later.length > 0 && inFlight < IN_FLIGHT)) schedule();
  }

  function walk(left) {
    const w = walkers[0];
    let node;
    while ((node = w.walker.nextNode())) {
      const run = w.run;
      const last = run[run.length - 1];
      if (last && (run.units + node.data.length > MAX_UNITS / 2 || !joins(last, node))) {
        queueRun(run);
        w.run = [node];
        w.run.units = node.data.length;
      } else {
        run.push(node);
        run.units = (run.units ?? 0) + node.data.length;
      }
      if (!left()) return;
    }
    queueRun(w.run);
    walkers.shift();
  }

  // Whether text node `b`, the next one after `a`, continues `a`'s run: in
  // document order only inline elements are entered, left or passed between
  // them (an empty <span> is nothing, a <br>, <img> or <div> ends the run).
  function joins(a, b) {
    let n = a;
    for (let steps = 0; n !== b; steps++) {
      if (steps > 16) return false;
      if (n !== a && n.firstChild) {
        n = n.firstChild;
      } else {
        while (!n.nextSibling) {
          n = n.parentNode;
          if (!n || !INLINE.has(n.nodeName)) return false;
        }
        n = n.nextSibling;
      }
      if (n.nodeType === Node.ELEMENT_NODE && !INLINE.has(n.nodeName)) return false;
    }
    return true;
  }

  // A run of adjacent text nodes: parts in skipped elements (code, links,
  // editable text, our own wrappers) split it.
  function queueRun(run) {
    if (!run.length || (run.units ?? 0) < 5) return;
    if (run.length === 1) return queueNodes(run);
    const text = run.map((n) => n.data).join('');
    if (!DIGITS.test(text)) return;
    let part = [];
    for (const node of run) {
      if (seen.has(node) || skipped(node.parentElement)) {
        queueNodes(part);
        part = [];
      } else {
        part.push(node);
      }
    }
    queueNodes(part, part.length === run.length ? text : undefined);
  }

  // `text`: the nodes' text joined, when the caller has it already.
  function queueNodes(nodes, text) {
    if (!nodes.length) return;
    text ??= nodes.length === 1 ? nodes[0].data : nodes.map((n) => n.data).join('');
    if (text.length < 5 || !DIGITS.test(text)) return;
    if (nodes.length === 1 && (seen.has(nodes[0]) || skipped(nodes[0].parentElement))) return;
    const starts = [];
    let pos = 0;
    for (const node of nodes) {
      seen.add(node);
      starts.push(pos);
      pos += node.data.length;
    }
    // Long texts go in slices cut at white space, each within one batch.
    for (let offset = 0; offset < text.length; ) {
      let end = Math.min(text.length, offset + MAX_UNITS);
      if (end < text.length) {
        const space = text.lastIndexOf(' ', end);
        if (space > offset + MAX_UNITS / 2) end = space;
      }
      const pieces = [];
      nodes.forEach((node, i) => {
        const from = Math.max(offset, starts[i]);
        const to = Math.min(end, starts[i] + node.data.length);
        if (to > from) pieces.push({ node, from: from - starts[i], at: from - offset, len: to - from });
      });
      later.push({ pieces, text: text.slice(offset, end) });
      offset = end;
    }
  }

  // Huge pages: what is on screen goes first. One layout for all the reads,
  // as nothing is changed in between.
  function rank() {
    const onScreen = [];
    const rest = [];
    const h = innerHeight;
    for (const item of later) {
      const r = item.pieces[0].node.parentElement.getBoundingClientRect();
      (r.bottom >= 0 && r.top <= h ? onScreen : rest).push(item);
    }
    urgent.push(...onScreen);
    later = rest;
    later.ranked = true;
  }

  function flush() {
    while (inFlight < IN_FLIGHT && urgent.length + later.length > 0) {
      const queue = urgent.length ? urgent : later;
      const batch = [];
      let units = 0;
      while (queue.length && batch.length < MAX_TEXTS && units + queue[0].text.length <= MAX_UNITS) {
        const item = queue.shift();
        units += item.text.length;
        batch.push(item);
      }
      inFlight++;
      send({ type: 'detect', texts: batch.map((i) => i.text) })
        .then((reply) => {
          if (reply?.type === 'matches' && Array.isArray(reply.matches)) {
            batch.forEach((item, i) => {
              const m = reply.matches[i];
              if (Array.isArray(m) && m.length) toWrap.push([item, m]);
            });
          }
        })
        .catch(stopForGood)
        .finally(() => {
          inFlight--;
          schedule();
        });
    }
  }

  // Wraps one text's matches, last first and each match's pieces last
  // first, so that earlier offsets into the same text node stay valid. A
  // number split across elements gets a wrapper per piece, all calling the
  // same number; the first is its one tab stop.
  function wrap(item, matches) {
    const { pieces, text } = item;
    if (!running) return;
    for (const p of pieces) {
      if (!p.node.isConnected || p.node.data.slice(p.from, p.from + p.len) !== text.slice(p.at, p.at + p.len)) return;
    }
    for (let k = matches.length - 1; k >= 0; k--) {
      const m = matches[k];
      const start = m.start_utf16;
      const end = m.end_utf16;
      if (!(start >= 0 && end > start && end <= text.length)) continue;
      const number = { text: m.text, dial: m.dial };
      for (let i = pieces.length - 1; i >= 0; i--) {
        const p = pieces[i];
        const from = Math.max(start, p.at);
        const to = Math.min(end, p.at + p.len);
        if (to <= from) continue;
        const el = document.createElement(TAG);
        if (from === start) {
          el.tabIndex = 0;
          el.setAttribute('role', 'button');
        }
        el.title = msg('c2cAffordance', m.dial);
        const range = document.createRange();
        range.setStart(p.node, p.from + from - p.at);
        range.setEnd(p.node, p.from + to - p.at);
        range.surroundContents(el);
        found.set(el, number);
      }
    }
    // Our own changes are not news to the observer.
    observer?.takeRecords();
  }

  // --- dynamic pages: added nodes only, debounced ---

  function observe() {
    observer = new MutationObserver(onMutations);
    observer.observe(document.documentElement, { childList: true, subtree: true });
  }

  function onMutations(records) {
    for (const r of records) {
      for (const n of r.addedNodes) {
        if (n.nodeType === Node.ELEMENT_NODE && n.localName !== TAG && n.localName !== CONFIRM_TAG) addedRoots.push(n);
        else if (n.nodeType === Node.TEXT_NODE) addedRoots.push(n);
      }
    }
    if (addedRoots.length && !debounce) {
      debounce = setTimeout(() => {
        debounce = 0;
        const roots = addedRoots;
        addedRoots = [];
        for (const root of roots) {
          if (!root.isConnected) continue;
          if (root.nodeType === Node.TEXT_NODE) queueRun(Object.assign([root], { units: root.data.length }));
          else walkers.push({ walker: document.createTreeWalker(root, NodeFilter.SHOW_TEXT), run: [] });
        }
        schedule();
      }, DEBOUNCE_MS);
    }
  }

  // --- turning on and off ---

  function start() {
    if (running || !document.body) return;
    running = true;
    walkers.push({ walker: document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), run: [] });
    observe();
    schedule();
  }

  function stop() {
    running = false;
    observer?.disconnect();
    observer = null;
    clearTimeout(debounce);
    debounce = 0;
    walkers = [];
    urgent = [];
    later = [];
    toWrap = [];
    addedRoots = [];
    seen = new WeakSet();
    const parents = new Set();
    for (const el of document.querySelectorAll(TAG)) {
      if (!found.has(el)) continue;
      parents.add(el.parentNode);
      el.replaceWith(...el.childNodes);
    }
    for (const p of parents) p?.normalize();
  }

  // The extension was reloaded or removed: this script can no longer talk.
  function stopForGood() {
    if (running) stop();
    site = null;
  }

  async function refresh() {
    try {
      const [reply, said] = await Promise.all([
        send({ type: 'get_site' }),
        send({ type: 'get_texts', keys: TEXT_KEYS }).catch(() => null),
      ]);
      site = reply?.type === 'site' ? reply.site : null;
      texts = said?.type === 'texts' ? said.texts : {};
    } catch {
      site = null;
    }
    if (site?.active) start();
    else if (running) stop();
  }

  // --- calling ---

  function onClick(event) {
    const target = event.target;
    if (!site?.active || !(target instanceof Element)) return;
    const number = target.closest(TAG);
    if (number && found.has(number)) {
      // A page script's synthetic click is left alone: it places no call.
      if (!event.isTrusted) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      const { text, dial } = found.get(number);
      call(text, dial);
      return;
    }
    const link = target.closest('a[href]');
    const href = link?.getAttribute('href') ?? '';
    if (!link || !LINK.test(href)) return;
    // With a modifier key, the page's (or the OS's) handler wins.
    if (!event.isTrusted || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    send({ type: 'resolve_dial', text: href })
      .then((reply) => {
        if (reply?.type === 'resolved') call(href, reply.dial);
        else toast(msg('c2cNotANumber'));
      })
      .catch(stopForGood);
  }

  function onKey(event) {
    if (event.key !== 'Enter' || !event.isTrusted || !site?.active) return;
    const number = event.target instanceof Element ? event.target.closest(TAG) : null;
    if (number && found.has(number)) {
      event.preventDefault();
      const { text, dial } = found.get(number);
      call(text, dial);
    }
  }

  async function call(number, dial) {
    if (site?.skip_confirmation) return placed(send({ type: 'call_number', number }));
    if (!TOP) return placed(send({ type: 'confirm_in_top', number }));
    if (await confirmCall(dial)) placed(send({ type: 'call_number', number }));
  }

  // A notice for a call the worker could not place.
  async function placed(request) {
    let reply;
    try {
      reply = await request;
    } catch {
      reply = undefined;
    }
    if (reply?.type === 'error' || !reply) {
      const code = reply?.error?.code;
      toast(msg(code === 'not_registered' ? 'c2cNotRegistered' : code === 'invalid_number' ? 'c2cNotANumber' : 'c2cCallFailed'));
    }
  }

  // The worker asks the top document to confirm a call from a frame or from
  // the context menu; only the user's trusted click sends the token back.
  function onConfirmRequest(message, sendResponse) {
    if (!TOP || typeof message.token !== 'string' || typeof message.dial !== 'string') return;
    sendResponse({ shown: true });
    confirmCall(message.dial).then((ok) => ok && placed(send({ type: 'confirmed_call', token: message.token })));
  }

  const CONFIRM_CSS = `
    :host { all: initial; position: fixed; z-index: 2147483647; top: 16px; left: 50%; transform: translateX(-50%); }
    div { font: 14px/1.4 system-ui, sans-serif; color: #1b1b1b; background: #fff; border: 1px solid #bbb;
          border-radius: 8px; box-shadow: 0 4px 16px rgba(0,0,0,.25); padding: 12px 14px; min-width: 220px; }
    p { margin: 0 0 10px; }
    strong { display: block; font-size: 18px; letter-spacing: .02em; margin-top: 2px; }
    button { font: inherit; padding: 4px 14px; margin-right: 8px; border-radius: 6px; border: 1px solid #888;
             background: #f4f4f4; color: #1b1b1b; cursor: pointer; }
    button.call { background: #0a7d4f; border-color: #0a7d4f; color: #fff; }
    button:focus-visible { outline: 2px solid #0a5; outline-offset: 2px; }`;

  function panel() {
    const host = document.createElement(CONFIRM_TAG);
    const root = host.attachShadow({ mode: 'closed' });
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CONFIRM_CSS);
      root.adoptedStyleSheets = [sheet];
    } catch {
      // Unstyled but working is better than no confirmation.
    }
    const box = document.createElement('div');
    box.setAttribute('role', 'alertdialog');
    root.append(box);
    document.documentElement.append(host);
    return { host, box };
  }

  let open = null;
  function confirmCall(dial) {
    open?.(false);
    return new Promise((resolve) => {
      const { host, box } = panel();
      const p = document.createElement('p');
      p.textContent = msg('c2cConfirmTitle');
      const strong = document.createElement('strong');
      strong.textContent = dial;
      p.append(strong);
      const yes = document.createElement('button');
      yes.className = 'call';
      yes.textContent = msg('c2cConfirmCall');
      const no = document.createElement('button');
      no.textContent = msg('c2cConfirmCancel');
      box.append(p, yes, no);
      const done = (ok) => {
        open = null;
        host.remove();
        resolve(ok);
      };
      open = done;
      yes.addEventListener('click', (e) => e.isTrusted && done(true));
      no.addEventListener('click', (e) => e.isTrusted && done(false));
      box.addEventListener('keydown', (e) => e.isTrusted && e.key === 'Escape' && done(false));
      yes.focus();
    });
  }

  function toast(text) {
    const { host, box } = panel();
    box.setAttribute('role', 'status');
    box.textContent = text;
    setTimeout(() => host.remove(), 4000);
  }

  // --- wiring ---

  chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
    if (sender.id !== chrome.runtime.id || message?.v !== 1) return;
    if (message.type === 'site_changed') refresh();
    else if (message.type === 'confirm_call') onConfirmRequest(message, sendResponse);
    else if (message.type === 'top_page' && TOP) sendResponse({ url: location.href });
  });
  addEventListener('click', onClick, true);
  addEventListener('keydown', onKey, true);
  document.addEventListener('visibilitychange', schedule);
  refresh();
})();
