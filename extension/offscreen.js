// Ringside's offscreen document: WebRTC media glue for the service worker,
// which keeps all signalling and call state. It outlives the worker (Chrome
// may stop the worker mid-call; the connections and audio stay here), so a
// restarted worker can ask `media_list` which calls still have media.
//
// Requests are the `media_*` messages of src/protocol/calls.rs; every other
// runtime message is meant for the worker and is ignored here (no reply).

const V = 1;
const calls = new Map(); // call id -> { pc, stream, audio, held, muted, firstMediaAt, stats timer }
let micPromise = null;
let mixer = null; // { ctx, nodes } while calls are merged
let tone = { name: 'none', ctx: null, timer: null };

function reply(type, fields = {}) {
  return { v: V, type, ...fields };
}
function mediaError(error, message) {
  return reply('media_error', { error, message: String(message ?? '') });
}
function validId(x) {
  return Number.isSafeInteger(x) && x >= 0;
}

async function microphone() {
  // One capture shared by all calls; a track per call is cloned from it.
  if (!micPromise) {
    micPromise = navigator.mediaDevices.getUserMedia({ audio: true, video: false }).catch((e) => {
      micPromise = null;
      throw e;
    });
  }
  return micPromise;
}

function iceServers(list) {
  return Array.isArray(list)
    ? list.filter((s) => s && Array.isArray(s.urls)).map((s) => ({ urls: s.urls.map(String), username: s.username, credential: s.credential }))
    : [];
}

// Resolves once gathering completes or the deadline passes: a STUN server that
// does not answer must not hold the call up; host candidates are enough on a LAN.
function gathered(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, Math.min(Math.max(Number(timeoutMs) || 1500, 100), 10000));
    pc.addEventListener('icegatheringstatechange', check);
  });
}

async function newCall(id, msg) {
  let stream;
  try {
    stream = await microphone();
  } catch (e) {
    const denied = e && (e.name === 'NotAllowedError' || e.name === 'SecurityError');
    throw Object.assign(new Error(e?.message ?? 'getUserMedia failed'), { code: denied ? 'microphone_denied' : 'microphone_failed' });
  }
  const pc = new RTCPeerConnection({ iceServers: iceServers(msg.ice_servers) });
  const track = stream.getAudioTracks()[0].clone();
  const sender = pc.addTrack(track, new MediaStream([track]));
  const audio = new Audio();
  audio.autoplay = true;
  document.body.appendChild(audio);
  const call = { id, pc, track, sender, audio, held: false, muted: false, firstMediaAt: null, remote: null };
  pc.ontrack = (ev) => {
    call.remote = ev.streams[0] ?? new MediaStream([ev.track]);
    audio.srcObject = call.remote;
    audio.play().catch(() => {});
    rebuildMix();
  };
  calls.set(id, call);
  call.watch = setInterval(() => firstMedia(call), 50);
  return call;
}

async function firstMedia(call) {
  if (call.firstMediaAt !== null) {
    clearInterval(call.watch);
    return;
  }
  const s = await stats(call).catch(() => null);
  if (s && s.bytes_received > 0 && call.firstMediaAt === null) {
    call.firstMediaAt = performance.now();
    clearInterval(call.watch);
  }
}

function close(id) {
  const call = calls.get(id);
  if (!call) return;
  clearInterval(call.watch);
  call.pc.close();
  call.track.stop();
  call.audio.srcObject = null;
  call.audio.remove();
  calls.delete(id);
  if (mixer && mixer.ids.includes(id)) unmix();
  if (calls.size === 0 && micPromise) {
    // Release the microphone between calls (the recording indicator goes away).
    micPromise.then((s) => s.getTracks().forEach((t) => t.stop())).catch(() => {});
    micPromise = null;
  }
}

function applyOutgoing(call) {
  // Hold and mute both stop what we send; hold also silences what we play.
  call.track.enabled = !call.muted && !call.held;
  if (!mixer || !mixer.ids.includes(call.id)) call.audio.muted = call.held;
}

async function stats(call) {
  const out = {
    bytes_received: 0, bytes_sent: 0, packets_received: 0, packets_sent: 0, audio_level: null,
    first_media_at: call.firstMediaAt, ice_state: call.pc.iceConnectionState,
    direction: call.pc.getTransceivers()[0]?.currentDirection ?? '', muted: call.muted, held: call.held,
  };
  const report = await call.pc.getStats();
  report.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') {
      out.bytes_received += r.bytesReceived ?? 0;
      out.packets_received += r.packetsReceived ?? 0;
      if (typeof r.audioLevel === 'number') out.audio_level = r.audioLevel;
    } else if (r.type === 'outbound-rtp' && r.kind === 'audio') {
      out.bytes_sent += r.bytesSent ?? 0;
      out.packets_sent += r.packetsSent ?? 0;
    }
  });
  return out;
}

// Local 3-way conference: each party is sent our microphone plus the other
// party's audio, mixed with WebAudio; we hear both through their own elements.
function rebuildMix() {
  if (!mixer) return;
  const ids = mixer.ids;
  unmix();
  mix(ids);
}
function mix(ids) {
  const members = ids.map((id) => calls.get(id)).filter(Boolean);
  if (members.length < 2) return;
  const ctx = new AudioContext();
  const nodes = [];
  for (const call of members) {
    const dest = ctx.createMediaStreamDestination();
    ctx.createMediaStreamSource(new MediaStream([call.track])).connect(dest);
    for (const other of members) {
      if (other !== call && other.remote) ctx.createMediaStreamSource(other.remote).connect(dest);
    }
    const mixed = dest.stream.getAudioTracks()[0];
    call.sender.replaceTrack(mixed);
    nodes.push(dest);
  }
  mixer = { ctx, ids, nodes };
}
function unmix() {
  if (!mixer) return;
  const old = mixer;
  mixer = null;
  for (const id of old.ids) {
    const call = calls.get(id);
    if (call) call.sender.replaceTrack(call.track);
  }
  old.ctx.close().catch(() => {});
}

// Tones are generated: nothing to ship, and call waiting can be quieter.
function playTone(name) {
  if (tone.name === name) return;
  if (tone.timer) clearInterval(tone.timer);
  if (tone.ctx) tone.ctx.close().catch(() => {});
  tone = { name, ctx: null, timer: null };
  const patterns = {
    ring: { freqs: [440, 480], on: 2000, period: 6000, gain: 0.2 },
    waiting: { freqs: [440], on: 300, period: 5000, gain: 0.05 },
    ringback: { freqs: [440, 480], on: 2000, period: 6000, gain: 0.1 },
    busy: { freqs: [480, 620], on: 500, period: 1000, gain: 0.1 },
  };
  const p = patterns[name];
  if (!p) return;
  const ctx = new AudioContext();
  const burst = () => {
    const gain = ctx.createGain();
    gain.gain.value = p.gain;
    gain.connect(ctx.destination);
    for (const f of p.freqs) {
      const osc = ctx.createOscillator();
      osc.frequency.value = f;
      osc.connect(gain);
      osc.start();
      osc.stop(ctx.currentTime + p.on / 1000);
    }
  };
  burst();
  tone = { name, ctx, timer: setInterval(burst, p.period) };
}

async function handle(msg) {
  const id = msg.call;
  const call = calls.get(id);
  switch (msg.type) {
    case 'media_offer': {
      if (!validId(id)) return mediaError('bad_request', 'call');
      if (call) close(id);
      const c = await newCall(id, msg);
      await c.pc.setLocalDescription(await c.pc.createOffer());
      await gathered(c.pc, msg.ice_timeout_ms);
      return reply('media_sdp', { call: id, sdp: c.pc.localDescription.sdp });
    }
    case 'media_answer': {
      if (!validId(id) || typeof msg.sdp !== 'string') return mediaError('bad_request', 'call/sdp');
      if (call) close(id);
      const c = await newCall(id, msg);
      await c.pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      await c.pc.setLocalDescription(await c.pc.createAnswer());
      await gathered(c.pc, msg.ice_timeout_ms);
      return reply('media_sdp', { call: id, sdp: c.pc.localDescription.sdp });
    }
    case 'media_remote':
      if (!call || typeof msg.sdp !== 'string') return mediaError('no_such_call', id);
      if (call.pc.signalingState === 'have-local-offer') await call.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      return reply('media_ok');
    case 'media_hold':
      if (!call) return mediaError('no_such_call', id);
      call.held = !!msg.hold;
      applyOutgoing(call);
      return reply('media_ok');
    case 'media_mute':
      if (!call) return mediaError('no_such_call', id);
      call.muted = !!msg.muted;
      applyOutgoing(call);
      return reply('media_ok');
    case 'media_dtmf': {
      if (!call) return mediaError('no_such_call', id);
      const dtmf = call.sender.dtmf;
      if (!dtmf || !dtmf.canInsertDTMF || typeof msg.digits !== 'string') return reply('media_dtmf', { sent: false });
      dtmf.insertDTMF(msg.digits, 100, 70);
      return reply('media_dtmf', { sent: true });
    }
    case 'media_merge':
      unmix();
      if (Array.isArray(msg.calls) && msg.calls.length >= 2) mix(msg.calls.filter(validId));
      return reply('media_ok');
    case 'media_close':
      close(id);
      return reply('media_ok');
    case 'media_tone':
      playTone(String(msg.tone));
      return reply('media_ok');
    case 'media_stats':
      if (!call) return mediaError('no_such_call', id);
      return reply('media_stats', { stats: await stats(call) });
    case 'media_list':
      return reply('media_calls', { calls: [...calls.keys()] });
    default:
      return mediaError('bad_request', msg.type);
  }
}

chrome.runtime.onMessage.addListener((msg, _sender, sendResponse) => {
  if (!msg || msg.v !== V || typeof msg.type !== 'string' || !msg.type.startsWith('media_')) return false;
  handle(msg).then(sendResponse, (e) => sendResponse(mediaError(e?.code ?? 'sdp', e?.message ?? e)));
  return true;
});
