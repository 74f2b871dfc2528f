// The local test PBX from node: runs `ringside-pbx serve` (crate
// ringside-testkit) and talks to it through the binary's subcommands.
//
//   const pbx = await startPbx();          // free ports
//   pbx.ws_url, pbx.wss_url, pbx.sip_port, pbx.run_dir, pbx.ready_ms
//   await pbx.contacts('1001')             // ['sip:...;transport=ws', ...]
//   await pbx.registerCount('1001', sinceUnixSeconds?)
//   await pbx.injectMwi('1001', 2, 1)      // PUBLISH message-summary (subscribers get a NOTIFY)
//   await pbx.restart()                    // same ports, new Kamailio (SIGHUP to serve)
//   await pbx.stop()
//
// The binary is $RINGSIDE_PBX_BIN, or built with cargo on first use (the
// target dir follows $CARGO_TARGET_DIR as usual).

import { spawn, execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let binary = null;

/** Path of the ringside-pbx binary, building it if needed. */
export async function pbxBinary() {
  if (process.env.RINGSIDE_PBX_BIN) return process.env.RINGSIDE_PBX_BIN;
  if (binary) return binary;
  const { stdout } = await execFileP(
    'cargo',
    ['build', '-q', '-p', 'ringside-testkit', '--bin', 'ringside-pbx', '--message-format=json-render-diagnostics'],
    { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 },
  );
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line);
    if (msg.reason === 'compiler-artifact' && msg.target?.name === 'ringside-pbx' && msg.executable) {
      binary = msg.executable;
    }
  }
  if (!binary) throw new Error('cargo built no ringside-pbx executable');
  return binary;
}

/**
 * Starts Kamailio through `ringside-pbx serve`. `ports` may fix
 * { sipPort, wsPort, wssPort }. Resolves with the JSON the binary prints
 * plus helper methods.
 */
export async function startPbx(ports = {}) {
  const bin = await pbxBinary();
  const args = ['serve'];
  if (ports.sipPort) args.push('--sip-port', String(ports.sipPort));
  if (ports.wsPort) args.push('--ws-port', String(ports.wsPort));
  if (ports.wssPort) args.push('--wss-port', String(ports.wssPort));
  // stdin is a pipe: closing it (or this process dying) stops the PBX
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const lines = createInterface({ input: child.stdout });
  const announcements = [];
  const waiting = [];
  lines.on('line', (line) => {
    const info = JSON.parse(line);
    const w = waiting.shift();
    if (w) w.resolve(info);
    else announcements.push(info);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(({ code, signal }) => {
    for (const w of waiting.splice(0)) {
      w.reject(new Error(`ringside-pbx serve exited (${code ?? signal}):\n${stderr}`));
    }
  });
  const nextAnnouncement = () =>
    announcements.length
      ? Promise.resolve(announcements.shift())
      : new Promise((resolve, reject) => waiting.push({ resolve, reject }));

  const pbx = { ...(await nextAnnouncement()) };
  const run = async (...a) => (await execFileP(bin, [...a, '--run-dir', pbx.run_dir])).stdout;
  Object.assign(pbx, {
    process: child,
    async ulDump() {
      return run('ul-dump');
    },
    async contacts(user) {
      return JSON.parse(await run('contacts', '--user', user));
    },
    async registerCount(user, sinceUnixSeconds) {
      const extra = sinceUnixSeconds === undefined ? [] : ['--since', String(sinceUnixSeconds)];
      return Number((await run('register-count', '--user', user, ...extra)).trim());
    },
    async injectMwi(user, newMessages, oldMessages) {
      await run('inject-mwi', '--user', user, '--new', String(newMessages), '--old', String(oldMessages));
    },
    async injectMwiUnsolicited(user, newMessages, oldMessages) {
      const out = await run('inject-mwi', '--user', user, '--new', String(newMessages), '--old', String(oldMessages), '--unsolicited');
      return Number(out.trim());
    },
    async restart() {
      child.kill('SIGHUP');
      Object.assign(pbx, await nextAnnouncement());
      return pbx;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.stdin.end();
      return exited;
    },
  });
  return pbx;
}
