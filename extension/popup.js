// Popup loader: the Yew app (pkg/ringside_popup.js) renders into #app on init.
import init from './pkg/ringside_popup.js';

init().catch((error) => console.error('ringside: popup failed to start', error));
