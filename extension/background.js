// Service-worker loader. Chrome only delivers the events that woke a worker to
// listeners registered synchronously in the first turn of this script, and a
// service worker may not use import(): so the glue is imported statically, every
// listener is added right here, and events are queued until the wasm is ready.
import init, * as worker from './pkg/ringside_background.js';

const queue = [];
let state = 'starting'; // then 'ready' or 'failed'

// `fail` answers an event that can no longer be handled (the wasm did not
// start), so that a popup waiting for a reply gets one instead of hanging.
function dispatch(handler, fail = () => {}) {
  if (state === 'ready') {
    handler();
  } else if (state === 'failed') {
    fail();
  } else {
    queue.push([handler, fail]);
  }
}

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  // media_* messages are the offscreen document's (src/protocol/calls.rs); leave them to it.
  if (typeof message?.type === 'string' && message.type.startsWith('media_')) return false;
  dispatch(
    () => {
      worker.on_message(message, sender).then(sendResponse, (error) => {
        console.error('ringside: message handler failed', error);
        sendResponse(undefined);
      });
    },
    () => sendResponse(undefined),
  );
  // The reply is sent asynchronously.
  return true;
});
chrome.runtime.onConnect.addListener((port) => dispatch(() => worker.on_connect(port), () => port.disconnect()));
chrome.alarms.onAlarm.addListener((alarm) => dispatch(() => worker.on_alarm(alarm.name)));
chrome.storage.onChanged.addListener((changes, area) => dispatch(() => worker.on_storage_changed(changes, area)));
// Keyboard shortcuts from manifest.json `commands` (answer, hang up, mute).
chrome.commands?.onCommand.addListener((command) => dispatch(() => worker.on_command(command)));
// Calls: incoming-call notification buttons (0 Answer, 1 Decline) and body
// clicks; the call windows the worker opened. Exposed on self.ringside so a
// test can invoke them (nothing can click a notification in headless Chrome).
const notificationButton = (id, index) => dispatch(() => worker.on_notification_button(id, index));
const notificationClicked = (id) => dispatch(() => worker.on_notification_clicked(id));
chrome.notifications.onButtonClicked.addListener(notificationButton);
chrome.notifications.onClicked.addListener(notificationClicked);
chrome.windows.onRemoved.addListener((id) => dispatch(() => worker.on_window_removed(id)));
self.ringside = { notificationButton, notificationClicked };
chrome.runtime.onStartup.addListener(() => dispatch(() => worker.on_wake()));
chrome.runtime.onInstalled.addListener(() => dispatch(() => worker.on_wake()));
chrome.runtime.onInstalled.addListener(() => dispatch(() => worker.c2c_install()));
// First install: probe the microphone; the permission page opens if it is not allowed yet.
chrome.runtime.onInstalled.addListener((details) => dispatch(() => worker.media_install(details.reason)));
chrome.contextMenus.onClicked.addListener((info, tab) => dispatch(() => worker.on_context_menu(info, tab)));

function drain(next) {
  state = next;
  for (const [handler, fail] of queue.splice(0)) {
    if (next === 'ready') handler();
    else fail();
  }
}

init()
  .then(() => worker.start())
  .then(() => drain('ready'))
  .catch((error) => {
    console.error('ringside: worker failed to start', error);
    drain('failed');
  });
