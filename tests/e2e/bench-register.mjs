// `cargo xtask bench`: register.cold_ms samples. Each round kills the service
// worker (CDP Target.closeTarget), wakes it by opening the popup and reads the
// worker's own measure of start → registered (`registered_in_ms` of get_snapshot).
// The last stdout line is {"samples":[ms, ...]}.

import assert from 'node:assert/strict';
import {
  configureAccount,
  killWorker,
  launchExtension,
  openPopup,
  sleep,
  snapshot,
  until,
  waitForState,
} from './lib/extension.mjs';

const server = process.env.RINGSIDE_WS_URL;
const rounds = Number(process.env.RINGSIDE_BENCH_SAMPLES ?? 11);
assert.ok(server, 'RINGSIDE_WS_URL is not set (run `cargo xtask bench`)');

const ext = await launchExtension();
const samples = [];
try {
  const first = await openPopup(ext);
  await configureAccount(first, { server, username: '1001', password: 'pass1001' });
  await waitForState(first, 'registered');
  await first.close();
  for (let round = 0; round < rounds; round++) {
    await killWorker(ext);
    await sleep(300);
    const popup = await openPopup(ext);
    const snap = await until('registered_in_ms', async () => {
      const s = await snapshot(popup);
      return s.state === 'registered' && typeof s.registered_in_ms === 'number' && s;
    }, 10_000, 20);
    samples.push(Math.round(snap.registered_in_ms * 10) / 10);
    console.error(`bench: round ${round + 1}/${rounds}: ${samples.at(-1)} ms`);
    await popup.close();
  }
} finally {
  await ext.close();
}
console.log(JSON.stringify({ samples }));
