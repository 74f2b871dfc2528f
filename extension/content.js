// Ringside click-to-call: makes phone numbers on web pages callable.
//
// No wasm here: a page's CSP also binds this isolated world, and a strict one
// forbids compiling wasm. Text goes to our own service worker (and nowhere
// else), whose Rust detector answers with UTF-16 offsets into each text.
//
// The page must stay as it was: the script only wraps found numbers in an
// inline <ringside-c2c> element (no layout change; content.css gives it a
// dotted underline and a hover icon), works in idle-time slices, watches
// added nodes only, and sleeps in hidden tabs. Nothing the page does can
// place a call: clicks must be trusted, the confirmation lives in a closed
// shadow root and checks its clicks too, and the worker accepts a call only
// from a content script on a site where click-to-call is on.
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
  // The worker's caps (ringside::c2c::MAX_DETECT_*).
  const MAX_TEXTS = 256;
  const MAX_UNITS = 8 * 1024;
  const IN_FLIGHT = 2;
  const SLICE_MS = 8;
  const DEBOUNCE_MS = 150;
  // Above this many candidate nodes, on-screen ones are sent first.
  const HUGE = 500;

  const msg = (name, ...subs) => chrome.i18n.getMessage(name, subs) || name;

  let site = null; // the worker's SiteState for this page
  let running = false;
  let seen = new WeakSet(); // text nodes already queued
  const found = new WeakMap(); // <ringside-c2c> → {text, dial}
  let walkers = []; // roots still to walk: {walker}
  let urgent = []; // items to send: {node, offset, text}
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
      queueText(node);
      if (!left()) return;
    }
    walkers.shift();
  }

  function queueText(node) {
    if (seen.has(node)) return;
    const text = node.data;
    if (text.length < 5 || !DIGITS.test(text) || skipped(node.parentElement)) return;
    seen.add(node);
    // Long texts go in slices cut at white space, each within one batch.
    for (let offset = 0; offset < text.length; ) {
      let end = Math.min(text.length, offset + MAX_UNITS);
      if (end < text.length) {
        const space = text.lastIndexOf(' ', end);
        if (space > offset + MAX_UNITS / 2) end = space;
      }
      later.push({ node, offset, text: text.slice(offset, end) });
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
      const r = item.node.parentElement.getBoundingClientRect();
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

  // Wraps one text's matches, last first, so that earlier offsets stay valid.
  function wrap(item, matches) {
    const { node, offset, text } = item;
    if (!running || !node.isConnected || node.data.slice(offset, offset + text.length) !== text) return;
    for (let k = matches.length - 1; k >= 0; k--) {
      const m = matches[k];
      const start = offset + m.start_utf16;
      const end = offset + m.end_utf16;
      if (!(start >= offset && end > start && end <= offset + text.length)) continue;
      const el = document.createElement(TAG);
      el.tabIndex = 0;
      el.setAttribute('role', 'button');
      el.title = msg('c2cAffordance', m.dial);
      const range = document.createRange();
      range.setStart(node, start);
      range.setEnd(node, end);
      range.surroundContents(el);
      found.set(el, { text: m.text, dial: m.dial });
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
          if (root.nodeType === Node.TEXT_NODE) queueText(root);
          else walkers.push({ walker: document.createTreeWalker(root, NodeFilter.SHOW_TEXT) });
        }
        schedule();
      }, DEBOUNCE_MS);
    }
  }

  // --- turning on and off ---

  function start() {
    if (running || !document.body) return;
    running = true;
    walkers.push({ walker: document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT) });
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
      const reply = await send({ type: 'get_site' });
      site = reply?.type === 'site' ? reply.site : null;
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
    if (!site?.skip_confirmation && !(await confirmCall(dial))) return;
    let reply;
    try {
      reply = await send({ type: 'call_number', number });
    } catch {
      reply = undefined;
    }
    if (reply?.type === 'error' || !reply) {
      const code = reply?.error?.code;
      toast(msg(code === 'not_registered' ? 'c2cNotRegistered' : code === 'invalid_number' ? 'c2cNotANumber' : 'c2cCallFailed'));
    }
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

  chrome.runtime.onMessage.addListener((message, sender) => {
    if (sender.id === chrome.runtime.id && message?.v === 1 && message.type === 'site_changed') refresh();
  });
  addEventListener('click', onClick, true);
  addEventListener('keydown', onKey, true);
  document.addEventListener('visibilitychange', schedule);
  refresh();
})();
