// A JSON-lines front end to the JsSIP and SIP.js peers of ./index.js, so a
// test in another language (tests/interop_peers.rs) can put third-party SIP
// stacks in front of Ringside's engine.
//
//   node tests/peers/driver.js
//   stdin : {"id":1,"op":"jssip","peer":"b","wsUrl":"ws://127.0.0.1:P","user":"1002"}
//   stdout: {"id":1,"ok":true}                       (or {"id":1,"error":"..."})
//   stdout: {"ev":"incoming","peer":"b","session":"s1","from":"sip:1001@pbx.test",...}
//
// Every command gets exactly one reply line with its id; everything the
// peers see on their own arrives as {"ev":...} lines. Commands reply at once
// except jssip/sipjs (after registration) and publish (after the 200), which
// need nothing from the engine under test. EOF on stdin ends the process.
//
// Ops: jssip|sipjs {peer, wsUrl, user, password?, register?} ·
// call {peer, target} → {session} · answer {session} · reject {session, status} ·
// hangup {session} · hold {session, on?: false to resume} · dtmf {session, tones} (SIP INFO) ·
// refer {session, target, replaces?: session} → REFER from the peer ·
// subscribe {peer, target, event, accept?} → {sub} · publish {peer, note, open?}.
// Events: incoming {peer, session, from, replaces} · progress {session, code} ·
// accepted {session} · ended {session, cause, code?} · hold|unhold {session, originator} ·
// held|resumed {session} (our hold/unhold's re-INVITE answered) · dtmf {session, tone}
// (received) · refer {session, target,
// replaces, child} (accepted at once: the peer calls the target; child is the
// new session) · replaces {session} (INVITE with Replaces accepted; the new
// call follows as "incoming") · notify {sub, body}.

import readline from 'node:readline';

import { jssipUA, jssipCall, jssipSubscribe, sipjsUA, sipjsPublish, sipjsSubscribe, pidf, noMedia, SIP, aor } from './index.js';

const peers = new Map();
const sessions = new Map();
let counter = 0;

function out(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function newId(prefix) {
  counter += 1;
  return `${prefix}${counter}`;
}

// --- JsSIP sessions ----------------------------------------------------------

function wireJssip(session, peer) {
  const id = newId('s');
  sessions.set(id, { kind: 'jssip', session, peer });
  session.on('progress', (e) => {
    if (e.originator === 'remote') out({ ev: 'progress', session: id, code: e.response?.status_code ?? 0 });
  });
  session.on('accepted', () => out({ ev: 'accepted', session: id }));
  session.on('ended', (e) => out({ ev: 'ended', session: id, cause: e.cause, originator: e.originator }));
  session.on('failed', (e) =>
    out({ ev: 'ended', session: id, cause: e.cause, originator: e.originator, code: e.message?.status_code }),
  );
  session.on('hold', (e) => out({ ev: 'hold', session: id, originator: e.originator }));
  session.on('unhold', (e) => out({ ev: 'unhold', session: id, originator: e.originator }));
  session.on('newDTMF', (e) => {
    if (e.originator === 'remote') out({ ev: 'dtmf', session: id, tone: e.dtmf.tone });
  });
  session.on('refer', (e) => {
    const replaces = e.request.refer_to.uri.hasHeader('replaces');
    const target = e.request.refer_to.uri.clone();
    target.clearHeaders();
    e.accept((child) => {
      const childId = wireJssip(child, peer);
      out({ ev: 'refer', session: id, target: target.toString(), replaces, child: childId });
    }, noMedia);
  });
  session.on('replaces', (e) => {
    out({ ev: 'replaces', session: id });
    e.accept();
  });
  return id;
}

function addJssip(name, ua) {
  ua.on('newRTCSession', (e) => {
    if (e.originator !== 'remote') return;
    const id = wireJssip(e.session, name);
    out({
      ev: 'incoming',
      peer: name,
      session: id,
      from: e.session.remote_identity.uri.toString(),
      replaces: e.request.hasHeader('replaces'),
    });
  });
  peers.set(name, { kind: 'jssip', ua });
}

// --- SIP.js sessions ---------------------------------------------------------

function wireSipjs(session, peer) {
  const id = newId('s');
  sessions.set(id, { kind: 'sipjs', session, peer });
  session.stateChange.addListener((state) => {
    if (state === SIP.SessionState.Established) out({ ev: 'accepted', session: id });
    if (state === SIP.SessionState.Terminated) out({ ev: 'ended', session: id, cause: 'terminated' });
  });
  return id;
}

async function addSipjs(name, peer) {
  peers.set(name, { kind: 'sipjs', peer, ua: peer.ua });
  for (;;) {
    let invitation;
    try {
      invitation = await peer.nextInvitation(2 ** 30);
    } catch {
      return;
    }
    const id = wireSipjs(invitation, name);
    out({ ev: 'incoming', peer: name, session: id, from: invitation.remoteIdentity.uri.toString(), replaces: false });
  }
}

// --- commands ----------------------------------------------------------------

function peerOf(cmd) {
  const p = peers.get(cmd.peer);
  if (!p) throw new Error(`no peer ${cmd.peer}`);
  return p;
}

function sessionOf(cmd, key = 'session') {
  const s = sessions.get(cmd[key]);
  if (!s) throw new Error(`no session ${cmd[key]}`);
  return s;
}

const ops = {
  async jssip(cmd) {
    const ua = await jssipUA({ wsUrl: cmd.wsUrl, user: cmd.user, password: cmd.password, register: cmd.register ?? true });
    addJssip(cmd.peer, ua);
    return {};
  },
  async sipjs(cmd) {
    const peer = await sipjsUA({ wsUrl: cmd.wsUrl, user: cmd.user, password: cmd.password, register: cmd.register ?? true });
    addSipjs(cmd.peer, peer);
    return {};
  },
  call(cmd) {
    const p = peerOf(cmd);
    if (p.kind === 'jssip') return { session: wireJssip(jssipCall(p.ua, cmd.target), cmd.peer) };
    const target = SIP.UserAgent.makeURI(aor(cmd.target));
    const inviter = new SIP.Inviter(p.ua, target);
    const id = wireSipjs(inviter, cmd.peer);
    inviter.invite().catch((e) => out({ ev: 'ended', session: id, cause: String(e) }));
    return { session: id };
  },
  answer(cmd) {
    const s = sessionOf(cmd);
    if (s.kind === 'jssip') s.session.answer(noMedia);
    else s.session.accept();
    return {};
  },
  reject(cmd) {
    const s = sessionOf(cmd);
    if (s.kind === 'jssip') s.session.terminate({ status_code: cmd.status });
    else s.session.reject({ statusCode: cmd.status });
    return {};
  },
  hangup(cmd) {
    const s = sessionOf(cmd);
    if (s.kind === 'jssip') s.session.terminate();
    else if (s.session.state === SIP.SessionState.Established) s.session.bye();
    else if (s.session.cancel) s.session.cancel();
    else s.session.reject();
    return {};
  },
  hold(cmd) {
    const s = sessionOf(cmd);
    if (s.kind !== 'jssip') throw new Error('hold: JsSIP sessions only');
    // JsSIP refuses a new offer while one is in flight: wait for "held"/"resumed"
    const done = () => out({ ev: cmd.on === false ? 'resumed' : 'held', session: cmd.session });
    const started = cmd.on === false ? s.session.unhold({}, done) : s.session.hold({}, done);
    if (!started) throw new Error('JsSIP is not ready for a new offer');
    return {};
  },
  dtmf(cmd) {
    const s = sessionOf(cmd);
    if (s.kind !== 'jssip') throw new Error('dtmf: JsSIP sessions only');
    s.session.sendDTMF(cmd.tones, { transportType: 'INFO', duration: 160 });
    return {};
  },
  refer(cmd) {
    const s = sessionOf(cmd);
    if (s.kind !== 'jssip') throw new Error('refer: JsSIP sessions only');
    const options = {};
    if (cmd.replaces) options.replaces = sessionOf(cmd, 'replaces').session;
    const subscriber = s.session.refer(aor(cmd.target), options);
    subscriber.on('accepted', () => out({ ev: 'refer_accepted', session: cmd.session }));
    subscriber.on('failed', (e) => out({ ev: 'refer_failed', session: cmd.session, code: e?.response?.status_code }));
    return {};
  },
  subscribe(cmd) {
    const p = peerOf(cmd);
    const handle =
      p.kind === 'jssip'
        ? jssipSubscribe(p.ua, cmd.target, cmd.event, cmd.accept)
        : sipjsSubscribe(p.peer, cmd.target, cmd.event);
    const sub = newId('sub');
    let seen = 0;
    // index.js collects bodies; forward each new one as it lands
    setInterval(() => {
      while (seen < handle.notifies.length) {
        out({ ev: 'notify', sub, body: handle.notifies[seen] });
        seen += 1;
      }
    }, 10);
    return { sub };
  },
  async publish(cmd) {
    const p = peerOf(cmd);
    if (p.kind !== 'sipjs') throw new Error('publish: SIP.js peers only');
    await sipjsPublish(p.peer, pidf(p.peer.user, { open: cmd.open ?? true, note: cmd.note ?? '' }));
    return {};
  },
};

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    out({ error: `bad JSON: ${e.message}` });
    return;
  }
  try {
    const op = ops[cmd.op];
    if (!op) throw new Error(`unknown op ${cmd.op}`);
    out({ id: cmd.id, ok: true, ...(await op(cmd)) });
  } catch (e) {
    out({ id: cmd.id, error: e.message });
  }
});
// the peers' sockets and timers would keep the process alive
lines.on('close', () => process.exit(0));
out({ ev: 'ready' });
