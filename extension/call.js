// Call window loader (call.html?call=ID, opened by the worker): the popup's
// Yew app (pkg/ringside_popup.js) renders the call view into #call-app, with
// the same components and styles as the popup's Calls screen.
import init from './pkg/ringside_popup.js';
import { start } from './locales.js';

start(init).catch((error) => console.error('ringside: call window failed to start', error));

// Video: the call's MediaStreams live in the offscreen document, an
// extension page in this same process, so its window is reachable with
// chrome.extension.getViews() and its streams can play here directly. The
// Yew view renders <video data-call data-stream>; this keeps each one
// showing its stream (a stream appears when the call connects and goes
// away when it switches to audio).
function offscreenWindow() {
  try {
    return chrome.extension.getViews().find((w) => typeof w.ringsideVideo === 'function') ?? null;
  } catch {
    return null;
  }
}

setInterval(() => {
  const elements = document.querySelectorAll('video[data-call][data-stream]');
  if (elements.length === 0) return;
  const offscreen = offscreenWindow();
  for (const el of elements) {
    const stream = offscreen?.ringsideVideo(el.dataset.call)?.[el.dataset.stream] ?? null;
    if (el.srcObject === stream) continue;
    el.muted = true;
    el.srcObject = stream;
    if (stream) el.play().catch(() => {});
  }
}, 250);
