// Chromium started directly, driven over a raw CDP WebSocket. Playwright keeps
// every service worker attached (and so alive); the idle-lifetime test needs a
// browser where nothing is attached to the worker, as for a real user.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { CHROMIUM_FLAGS, LAUNCH_TIMEOUT_MS, chromiumPath, distDir, sleep, until } from './extension.mjs';

export class Cdp {
  #ws;
  #nextId = 1;
  #pending = new Map();

  static async connect(url) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new Cdp(ws);
  }

  constructor(ws) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString());
      const pending = message.id !== undefined && this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.error) pending.reject(new Error(`${pending.method}: ${message.error.message}`));
      else pending.resolve(message.result);
    });
    ws.on('close', () => {
      for (const p of this.#pending.values()) p.reject(new Error(`${p.method}: CDP connection closed`));
      this.#pending.clear();
    });
  }

  send(method, params = {}, sessionId = undefined) {
    const id = this.#nextId++;
    this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject, method }));
  }

  /** Evaluates `expression` in a target through a short-lived session, then detaches. */
  async evaluateIn(targetId, expression) {
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    try {
      const { result, exceptionDetails } = await this.send(
        'Runtime.evaluate',
        { expression, awaitPromise: true, returnByValue: true },
        sessionId,
      );
      if (exceptionDetails) throw new Error(`evaluate failed: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
      return result.value;
    } finally {
      await this.send('Target.detachFromTarget', { sessionId }).catch(() => {});
    }
  }

  close() {
    this.#ws.close();
  }
}

/** Chromium with a DevTools port, the extension loaded by CDP Extensions.loadUnpacked. */
export async function launchChromiumDirect() {
  const profile = await mkdtemp(path.join(tmpdir(), 'ringside-direct-'));
  const browser = spawn(
    chromiumPath,
    [
      '--headless',
      '--remote-debugging-port=0',
      // Lets CDP load an unpacked extension (Extensions.loadUnpacked).
      '--enable-unsafe-extension-debugging',
      `--user-data-dir=${profile}`,
      ...CHROMIUM_FLAGS,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  browser.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise((resolve) => browser.once('exit', resolve));
  const close = async () => {
    if (browser.exitCode === null && browser.signalCode === null) {
      browser.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
      if (browser.exitCode === null && browser.signalCode === null) browser.kill('SIGKILL');
    }
    await rm(profile, { recursive: true, force: true });
  };
  try {
    const activePort = await until('DevToolsActivePort', async () => {
      if (browser.exitCode !== null) throw new Error(`chromium exited: ${stderr}`);
      return readFile(path.join(profile, 'DevToolsActivePort'), 'utf8').catch(() => null);
    }, LAUNCH_TIMEOUT_MS);
    const [port, wsPath] = activePort.trim().split('\n');
    const cdp = await Cdp.connect(`ws://127.0.0.1:${port}${wsPath}`);
    const { id: extensionId } = await cdp.send('Extensions.loadUnpacked', { path: distDir });
    return {
      cdp,
      extensionId,
      popupUrl: `chrome-extension://${extensionId}/popup.html`,
      async workerTargets() {
        const { targetInfos } = await cdp.send('Target.getTargets');
        return targetInfos.filter(
          (t) => t.type === 'service_worker' && t.url.startsWith(`chrome-extension://${extensionId}/`),
        );
      },
      async close() {
        cdp.close();
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}
