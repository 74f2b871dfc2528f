// Options page loader: the editors used rarely (pkg/ringside_options.js, a
// wasm of its own so the popup's stays small) render into #options-app.
import init from './pkg/ringside_options.js';
import { start } from './locales.js';

// The extension's keyboard shortcuts as Chrome has them, for the shortcuts list.
window.ringsideCommands = async () => {
  const commands = await chrome.commands.getAll();
  return commands.map((c) => ({ name: c.name, shortcut: c.shortcut ?? '', description: c.description ?? '' }));
};

start(init, new URL('./pkg/ringside_options_bg.wasm', import.meta.url)).catch((error) =>
  console.error('ringside: options page failed to start', error),
);
