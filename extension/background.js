// Service-worker loader. Chrome only delivers the events that woke a worker to
// listeners registered synchronously in the first turn of this script, and a
// service worker may not use import(): so the glue is imported statically, every
// listener is added right here, and events are queued until the wasm is ready.
import init, * as worker from './pkg/ringside_background.js';

const queue = [];
let ready = false;

function dispatch(handler) {
  if (ready) {
    handler();
  } else {
    queue.push(handler);
  }
}

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  dispatch(() => {
    worker.on_message(message, sender).then(sendResponse, (error) => {
      console.error('ringside: message handler failed', error);
      sendResponse(undefined);
    });
  });
  // The reply is sent asynchronously.
  return true;
});
chrome.runtime.onConnect.addListener((port) => dispatch(() => worker.on_connect(port)));
chrome.alarms.onAlarm.addListener((alarm) => dispatch(() => worker.on_alarm(alarm.name)));
chrome.storage.onChanged.addListener((changes, area) => dispatch(() => worker.on_storage_changed(changes, area)));
chrome.runtime.onStartup.addListener(() => dispatch(() => worker.on_wake()));
chrome.runtime.onInstalled.addListener(() => dispatch(() => worker.on_wake()));

init()
  .then(() => worker.start())
  .then(() => {
    ready = true;
    for (const handler of queue.splice(0)) {
      handler();
    }
  })
  .catch((error) => console.error('ringside: worker failed to start', error));
