// Baseline for engine.notify_per_s: JsSIP's own SIP parser
// (jssip/lib/Parser.js parseMessage, what its transport runs on every
// incoming WebSocket message) over the very NOTIFYs the engine bench fed
// its engine. Parsing only: no transaction, dialog or 200 OK, which the
// engine's figure includes.
//
//   node tests/peers/bench-notify.mjs MESSAGES.json   → {"per_s":…,"count":…,"samples":[…]}

import { readFileSync } from 'node:fs';
import Parser from 'jssip/lib/Parser.js';
import JsSIP from 'jssip';

const ROUNDS = 3;
JsSIP.debug.disable();

const messages = JSON.parse(readFileSync(process.argv[2], 'utf8'));
if (!Array.isArray(messages) || messages.length === 0) {
  console.error('usage: bench-notify.mjs MESSAGES.json (a non-empty JSON array of SIP messages)');
  process.exit(2);
}

// parseMessage stores the UA on requests (to reply later); parsing never uses it
const ua = {};

function round() {
  const start = process.hrtime.bigint();
  let parsed = 0;
  for (const text of messages) {
    const message = Parser.parseMessage(text, ua);
    if (message && message.method === 'NOTIFY' && message.event && message.body) parsed += 1;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  if (parsed !== messages.length) throw new Error(`JsSIP parsed ${parsed} of ${messages.length} NOTIFYs`);
  return messages.length / secs;
}

round(); // warm-up: let the JIT see the parser
const samples = Array.from({ length: ROUNDS }, round).sort((a, b) => a - b);
console.log(
  JSON.stringify({
    per_s: Math.round(samples[Math.floor(samples.length / 2)]),
    count: messages.length,
    samples: samples.map(Math.round),
  }),
);
