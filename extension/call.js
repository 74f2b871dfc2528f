// Call window loader (call.html?call=ID, opened by the worker): the popup's
// Yew app (pkg/ringside_popup.js) renders the call view into #call-app, with
// the same components and styles as the popup's Calls screen.
import init from './pkg/ringside_popup.js';
import { start } from './locales.js';

start(init).catch((error) => console.error('ringside: call window failed to start', error));
