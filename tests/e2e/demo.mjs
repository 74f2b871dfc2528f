// `cargo xtask demo`: Chromium with the extension, account 1001 configured through
// the popup against the local PBX that the xtask started (RINGSIDE_WS_URL).
// Headed when a display exists. Prints the registration state and a screenshot path,
// then waits for Ctrl-C (or exits at once with --once).

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { configureAccount, launchExtension, openPopup, regState, repoRoot, waitForState } from './lib/extension.mjs';

const once = process.argv.includes('--once');
const server = process.env.RINGSIDE_WS_URL;
const outDir = process.env.RINGSIDE_DEMO_DIR ?? path.join(repoRoot, 'target', 'demo');
if (!server) {
  console.error('demo: RINGSIDE_WS_URL is not set (run `cargo xtask demo`)');
  process.exit(2);
}

const headless = !process.env.DISPLAY;
const ext = await launchExtension({ headless, handleSignals: false });
let closing = false;
const shutdown = async (code) => {
  if (closing) return;
  closing = true;
  await ext.close();
  process.exit(code);
};
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

let registered = false;
try {
  console.log(`demo: Chromium ${headless ? 'headless (no $DISPLAY)' : 'on ' + process.env.DISPLAY}, extension ${ext.extensionId}`);
  const popup = await openPopup(ext);
  await popup.setViewportSize({ width: 380, height: 560 });
  await configureAccount(popup, { server, username: '1001', password: 'pass1001', displayName: 'Demo 1001' });
  await waitForState(popup, 'registered', 15_000).then(
    () => {
      registered = true;
    },
    () => {},
  );
  const { state, text } = await regState(popup);
  console.log(`demo: account 1001 at ${server}: ${state} — ${text}`);
  await mkdir(outDir, { recursive: true });
  const screenshot = path.join(outDir, 'popup.png');
  await popup.screenshot({ path: screenshot });
  console.log(`demo: popup screenshot ${screenshot}`);
} catch (error) {
  console.error(`demo: ${error.message}`);
  await shutdown(1);
}
if (once) {
  await shutdown(registered ? 0 : 1);
} else {
  console.log('demo: running; press Ctrl-C to stop');
}
