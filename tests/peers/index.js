// Third-party SIP peers for Ringside's tests: JsSIP and SIP.js running in
// Node 20 against the local Kamailio, for signalling-only scenarios (no
// media). Importing this module installs what the two libraries expect from
// a browser: a global WebSocket (the `ws` package, accepting the PBX's
// self-signed certificate) and a fake RTCPeerConnection that hands out a
// canned SDP.
//
//   import { startPbx, jssipUA, sipjsUA } from '../peers/index.js';
//   const pbx = await startPbx();
//   const alice = await jssipUA({ wsUrl: pbx.ws_url, user: '1001' });
//   const bob = await jssipUA({ wsUrl: pbx.ws_url, user: '1002' });
//   const incoming = nextIncoming(bob);
//   const call = jssipCall(alice, '1002');
//   (await incoming).answer(answerOptions);
//   await once(call, 'confirmed');
//
// The PBX helpers live in ./pbx.js and are re-exported here.

import WS from 'ws';
import JsSIP from 'jssip';
import JsSIPSubscriber from 'jssip/lib/Subscriber.js';
import * as SIP from 'sip.js';

export { startPbx } from './pbx.js';
export { JsSIP, SIP };

const DOMAIN = 'pbx.test';

// ---------------------------------------------------------------------------
// Browser shims

/** A browser-like WebSocket that trusts the test PBX's self-signed cert. */
class NodeWebSocket extends WS {
  constructor(url, protocols, options) {
    super(url, protocols, { rejectUnauthorized: false, ...options });
  }
}

let fakeSdpVersion = 1;

/** An SDP that JsSIP, SIP.js and Kamailio accept; no media ever flows. */
export function cannedSdp() {
  const id = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  return [
    'v=0',
    `o=- ${id} ${fakeSdpVersion++} IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'c=IN IP4 127.0.0.1',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 0',
    'a=rtpmap:111 opus/48000/2',
    'a=rtpmap:0 PCMU/8000',
    'a=ice-ufrag:ringside',
    'a=ice-pwd:ringsideringsideringside',
    'a=fingerprint:sha-256 ' + Array(32).fill('AB').join(':'),
    'a=setup:actpass',
    'a=mid:0',
    'a=rtcp-mux',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/**
 * Just enough RTCPeerConnection for JsSIP's signalling: offers/answers are
 * canned, ICE gathering is complete at once, there are no tracks.
 */
export class FakeRTCPeerConnection extends EventTarget {
  constructor() {
    super();
    this.localDescription = null;
    this.remoteDescription = null;
    this.signalingState = 'stable';
    this.iceGatheringState = 'complete';
    this.iceConnectionState = 'connected';
    this.connectionState = 'connected';
  }
  async createOffer() {
    return { type: 'offer', sdp: cannedSdp() };
  }
  async createAnswer() {
    return { type: 'answer', sdp: cannedSdp() };
  }
  async setLocalDescription(desc) {
    this.localDescription = desc;
    this.signalingState = desc.type === 'offer' ? 'have-local-offer' : 'stable';
  }
  async setRemoteDescription(desc) {
    this.remoteDescription = desc;
    this.signalingState = desc.type === 'offer' ? 'have-remote-offer' : 'stable';
  }
  getSenders() {
    return [];
  }
  getReceivers() {
    return [];
  }
  getLocalStreams() {
    return [];
  }
  getRemoteStreams() {
    return [];
  }
  addTrack() {
    return {};
  }
  close() {
    this.signalingState = 'closed';
  }
}

class FakeRTCSessionDescription {
  constructor({ type, sdp }) {
    this.type = type;
    this.sdp = sdp;
  }
}

if (globalThis.WebSocket !== NodeWebSocket) globalThis.WebSocket = NodeWebSocket;
if (!globalThis.window) globalThis.window = globalThis;
if (!globalThis.RTCPeerConnection) globalThis.RTCPeerConnection = FakeRTCPeerConnection;
if (!globalThis.RTCSessionDescription) globalThis.RTCSessionDescription = FakeRTCSessionDescription;

// JsSIP 3.13 re-arms a subscription's refresh timer on the 200 to its own
// un-SUBSCRIBE (it reads "Expires: 0" as missing), which would keep a
// finished test process alive for minutes. Refreshes still happen while
// the process runs; they just no longer hold it open.
{
  const schedule = JsSIPSubscriber.prototype._scheduleSubscribe;
  JsSIPSubscriber.prototype._scheduleSubscribe = function scheduleSubscribe(...args) {
    schedule.apply(this, args);
    this._expires_timer?.unref?.();
  };
}

/** Options for JsSIP call()/answer() that never ask for a microphone. */
export const noMedia = { mediaConstraints: { audio: false, video: false } };
export const answerOptions = noMedia;

// ---------------------------------------------------------------------------
// Small promise helpers

/** Resolves with the first arguments of `event` on an EventEmitter. */
export function once(emitter, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, handler);
      reject(new Error(`no "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const handler = (...args) => {
      clearTimeout(timer);
      resolve(args.length > 1 ? args : args[0]);
    };
    emitter.once(event, handler);
  });
}

/** Polls `check` until it returns a truthy value. */
export async function until(check, timeoutMs = 5000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function aor(user, domain = DOMAIN) {
  return `sip:${user}@${domain}`;
}

// ---------------------------------------------------------------------------
// JsSIP

/**
 * A JsSIP UA for `user` (password pass<user>). Resolves once registered
 * (or once connected when `register` is false); rejects with the cause on
 * a failed registration.
 */
export async function jssipUA({ wsUrl, user, password, domain = DOMAIN, register = true, debug = false }) {
  if (debug) JsSIP.debug.enable('JsSIP:*');
  else JsSIP.debug.disable();
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(wsUrl)],
    uri: aor(user, domain),
    password: password ?? `pass${user}`,
    register,
    register_expires: 300,
    session_timers: false,
    user_agent: 'JsSIP peer (Ringside tests)',
  });
  const ready = new Promise((resolve, reject) => {
    if (register) {
      ua.once('registered', () => resolve());
      ua.once('registrationFailed', (e) => reject(new Error(`JsSIP ${user} registration failed: ${e.cause}`)));
    } else {
      ua.once('connected', () => resolve());
    }
    ua.once('disconnected', () => reject(new Error(`JsSIP ${user} could not connect to ${wsUrl}`)));
  });
  ua.start();
  try {
    await withTimeout(ready, 5000, `JsSIP ${user} to register`);
  } catch (e) {
    ua.stop();
    throw e;
  }
  return ua;
}

/** Resolves with the next incoming JsSIP RTCSession of `ua`. */
export function nextIncoming(ua, timeoutMs = 5000) {
  return withTimeout(
    new Promise((resolve) => {
      const handler = (e) => {
        if (e.originator === 'remote') {
          ua.removeListener('newRTCSession', handler);
          resolve(e.session);
        }
      };
      ua.on('newRTCSession', handler);
    }),
    timeoutMs,
    'an incoming call',
  );
}

/** Starts a call from a JsSIP UA; returns the RTCSession. */
export function jssipCall(ua, target, options = {}) {
  const uri = target.includes('@') ? target : aor(target);
  return ua.call(uri, { ...noMedia, ...options });
}

/**
 * Subscribes a JsSIP UA to `event` of `target` (e.g. 'dialog' for BLF,
 * 'presence', 'message-summary'). Returns { subscriber, notifies, next }:
 * every NOTIFY body is pushed to `notifies`; next(pred) resolves with the
 * first body (already received or future) for which pred is true.
 */
export function jssipSubscribe(ua, target, event, accept) {
  const uri = target.includes('@') ? target : aor(target);
  const subscriber = ua.subscribe(uri, event, accept, { expires: 300 });
  // JsSIP emits "notify" only for NOTIFYs with a body; "active" says the
  // subscription is up even when the first NOTIFY was empty
  const active = new Promise((resolve) => subscriber.once('active', resolve));
  const handle = collectNotifies(subscriber, (on) =>
    subscriber.on('notify', (isFinal, request, body) => on(body ?? request.body ?? '')),
  ).start(() => subscriber.subscribe());
  handle.active = () => withTimeout(active, 5000, `the ${event} subscription to become active`);
  return handle;
}

// ---------------------------------------------------------------------------
// SIP.js

/** SIP.js session description handler with canned SDP: signalling only. */
class CannedSdh {
  constructor() {
    this.remote = null;
  }
  close() {}
  async getDescription() {
    return { body: cannedSdp(), contentType: 'application/sdp' };
  }
  hasDescription(contentType) {
    return contentType === 'application/sdp';
  }
  async rollbackDescription() {}
  async setDescription(sdp) {
    this.remote = sdp;
  }
  sendDtmf() {
    return false;
  }
}

/**
 * A SIP.js UserAgent for `user`, started and (by default) registered.
 * Returns { ua, registerer, nextInvitation, unsolicited }: nextInvitation()
 * resolves with the next incoming SIP.js Invitation; `unsolicited` collects
 * the bodies of out-of-dialog NOTIFYs (accepted with 200).
 */
export async function sipjsUA({ wsUrl, user, password, domain = DOMAIN, register = true }) {
  const invitations = [];
  const waiters = [];
  const unsolicited = [];
  const ua = new SIP.UserAgent({
    uri: SIP.UserAgent.makeURI(aor(user, domain)),
    authorizationUsername: user,
    authorizationPassword: password ?? `pass${user}`,
    transportOptions: { server: wsUrl, connectionTimeout: 5 },
    sessionDescriptionHandlerFactory: () => new CannedSdh(),
    logLevel: process.env.SIPJS_DEBUG ? 'debug' : 'error',
    userAgentString: 'SIP.js peer (Ringside tests)',
    delegate: {
      // out-of-dialog NOTIFY (unsolicited MWI): accepted and kept
      onNotify(notification) {
        notification.accept();
        unsolicited.push(notification.request.body ?? '');
      },
      onInvite(invitation) {
        const w = waiters.shift();
        if (w) w(invitation);
        else invitations.push(invitation);
      },
    },
  });
  await withTimeout(ua.start(), 5000, `SIP.js ${user} to connect`);
  let registerer = null;
  if (register) {
    registerer = new SIP.Registerer(ua, { expires: 300 });
    const registered = new Promise((resolve, reject) => {
      registerer.stateChange.addListener((state) => {
        if (state === SIP.RegistererState.Registered) resolve();
        if (state === SIP.RegistererState.Terminated) reject(new Error(`SIP.js ${user} registration ended`));
      });
    });
    await registerer.register({
      requestDelegate: {
        onReject: (response) => {
          throw new Error(`SIP.js ${user} registration rejected: ${response.message.statusCode}`);
        },
      },
    });
    await withTimeout(registered, 5000, `SIP.js ${user} to register`);
  }
  const nextInvitation = (timeoutMs = 5000) =>
    withTimeout(
      invitations.length ? Promise.resolve(invitations.shift()) : new Promise((r) => waiters.push(r)),
      timeoutMs,
      'an incoming SIP.js call',
    );
  return { ua, registerer, nextInvitation, unsolicited, user };
}

/** Resolves when a SIP.js Session reaches `state` (SIP.SessionState.*). */
export function sipjsSessionState(session, state, timeoutMs = 5000) {
  if (session.state === state) return Promise.resolve();
  return withTimeout(
    new Promise((resolve) => {
      const listener = (s) => {
        if (s === state) {
          session.stateChange.removeListener(listener);
          resolve();
        }
      };
      session.stateChange.addListener(listener);
    }),
    timeoutMs,
    `SIP.js session ${state}`,
  );
}

/** A PIDF document for `user` (basic open/closed plus a note). */
export function pidf(user, { open = true, note = '' } = {}) {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${aor(user)}">\n` +
    `  <tuple id="t${user}"><status><basic>${open ? 'open' : 'closed'}</basic></status></tuple>\n` +
    (note ? `  <note>${note}</note>\n` : '') +
    '</presence>\n'
  );
}

/** Publishes PIDF presence of the SIP.js peer's own AOR. */
export async function sipjsPublish(peer, body) {
  const publisher = new SIP.Publisher(peer.ua, peer.ua.configuration.uri, 'presence', { expires: 300 });
  // the request delegate sees only the first (challenged) PUBLISH; the
  // publisher's state follows the authorised retry
  const accepted = new Promise((resolve, reject) => {
    publisher.stateChange.addListener((state) => {
      if (state === SIP.PublisherState.Published) resolve();
      if (state === SIP.PublisherState.Terminated) reject(new Error('PUBLISH was not accepted'));
    });
  });
  await publisher.publish(body);
  await withTimeout(accepted, 5000, 'PUBLISH to be accepted');
  return publisher;
}

/** SIP.js Subscriber on `event` of `target`; same shape as jssipSubscribe. */
export function sipjsSubscribe(peer, target, event) {
  const uri = SIP.UserAgent.makeURI(target.includes('@') ? target : aor(target));
  let push;
  const subscriber = new SIP.Subscriber(peer.ua, uri, event, {
    expires: 300,
    delegate: {
      onNotify: (notification) => {
        notification.accept();
        push(notification.request.body ?? '');
      },
    },
  });
  const handle = collectNotifies(subscriber, (on) => {
    push = on;
  }).start(() => subscriber.subscribe());
  // SIP.js 0.21 wires its dialog delegate only after the first NOTIFY's
  // promise settles: a second NOTIFY in the same burst is answered 200 but
  // never reaches onNotify. Wait for the first one before causing more.
  handle.active = () => handle.next(() => true, 5000, `the first ${event} NOTIFY`);
  return handle;
}

// ---------------------------------------------------------------------------

function collectNotifies(subscriber, hook) {
  const notifies = [];
  const waiters = [];
  hook((body) => {
    notifies.push(body);
    for (const w of [...waiters]) {
      if (w.pred(body)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(body);
      }
    }
  });
  const next = (pred = () => true, timeoutMs = 5000, what = 'a matching NOTIFY') => {
    const seen = notifies.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return withTimeout(new Promise((resolve) => waiters.push({ pred, resolve })), timeoutMs, what).catch((e) => {
      e.message += `; NOTIFY bodies so far:\n${notifies.join('\n---\n')}`;
      throw e;
    });
  };
  const handle = { subscriber, notifies, next };
  return {
    start(go) {
      go();
      return handle;
    },
  };
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
