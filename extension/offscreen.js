// Ringside's offscreen document: WebRTC media glue for the service worker,
// which keeps all signalling and call state. It outlives the worker (Chrome
// may stop the worker mid-call; the connections and audio stay here), so a
// restarted worker can ask `media_list` which calls still have media.
//
// Requests are the `media_*` messages of src/protocol/calls.rs; every other
// runtime message is meant for the worker and is ignored here (no reply).

const V = 1;
const calls = new Map(); // call id -> { pc, track, sender, audio, camera, remote, held, remoteHeld, muted, firstMediaAt, dtmfSent }
let micPromise = null;
let mixer = null; // { ctx, nodes } while calls are merged
let tone = { name: 'none', pattern: '', ctx: null, timer: null, end: null };
// The user's devices and ringtone (`media_prefs`); null device = system default.
let prefs = { microphone: null, speaker: null, ringer: null, ringtone: 'classic' };

function reply(type, fields = {}) {
  return { v: V, type, ...fields };
}
function mediaError(error, message) {
  return reply('media_error', { error, message: String(message ?? '') });
}
function validId(x) {
  return Number.isSafeInteger(x) && x >= 0;
}

async function capture(deviceId) {
  if (!deviceId) return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: { deviceId: { exact: deviceId } }, video: false });
  } catch (e) {
    // The chosen microphone was unplugged: a call with the default one beats no call.
    if (e?.name !== 'OverconstrainedError' && e?.name !== 'NotFoundError') throw e;
    return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  }
}

async function microphone() {
  // One capture shared by all calls; a track per call is cloned from it.
  if (!micPromise) {
    micPromise = capture(prefs.microphone).catch((e) => {
      micPromise = null;
      throw e;
    });
  }
  return micPromise;
}

function releaseMicrophone() {
  if (!micPromise) return;
  micPromise.then((s) => s.getTracks().forEach((t) => t.stop())).catch(() => {});
  micPromise = null;
}

function captureError(e) {
  const denied = e && (e.name === 'NotAllowedError' || e.name === 'SecurityError');
  return Object.assign(new Error(`${e?.name ?? 'Error'}: ${e?.message ?? 'getUserMedia failed'}`), {
    code: denied ? 'microphone_denied' : 'microphone_failed',
  });
}

// A new microphone chosen mid-call: every call switches to it.
async function switchMicrophone() {
  releaseMicrophone();
  if (calls.size === 0) return;
  const stream = await microphone();
  for (const call of calls.values()) {
    const old = call.track;
    call.track = stream.getAudioTracks()[0].clone();
    if (!mixer || !mixer.ids.includes(call.id)) await call.sender.replaceTrack(call.track);
    old.stop();
    applyOutgoing(call);
  }
  rebuildMix();
}

function setSink(target, deviceId) {
  if (typeof target.setSinkId !== 'function') return Promise.resolve();
  return target.setSinkId(deviceId ?? '').catch((e) => console.warn('ringside: output device', deviceId, e));
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

// A camera per video call (not shared like the microphone: each call's
// video ends on its own when it switches to audio). No camera is no reason
// to fail the call: it goes on as audio.
async function camera() {
  try {
    return (await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false })).getVideoTracks()[0] ?? null;
  } catch (e) {
    console.warn('ringside: no camera, the call is audio only', e);
    return null;
  }
}

// VP8 first (Chromium's first video codec anyway; a peer that prefers
// H.264 still gets VP8 where both support it), the rest in the browser's order.
function preferVp8(pc) {
  const caps = RTCRtpReceiver.getCapabilities?.('video');
  if (!caps) return;
  const vp8 = caps.codecs.filter((c) => c.mimeType.toLowerCase() === 'video/vp8');
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== 'video/vp8');
  for (const t of videoTransceivers(pc)) {
    try {
      t.setCodecPreferences([...vp8, ...rest]);
    } catch (e) {
      console.warn('ringside: codec preferences', e);
    }
  }
}

function videoTransceivers(pc) {
  return pc.getTransceivers().filter((t) => t.receiver.track?.kind === 'video' && t.direction !== 'stopped' && t.currentDirection !== 'stopped');
}

function offersVideo(sdp) {
  return /^m=video [1-9]/m.test(sdp);
}

async function newCall(id, msg, video) {
  let stream;
  try {
    stream = await microphone();
  } catch (e) {
    throw captureError(e);
  }
  const pc = new RTCPeerConnection({ iceServers: iceServers(msg.ice_servers) });
  const track = stream.getAudioTracks()[0].clone();
  const cam = video ? await camera() : null;
  // One stream for both tracks, so the far end gets them as one (msid).
  const local = new MediaStream(cam ? [track, cam] : [track]);
  const sender = pc.addTrack(track, local);
  if (cam) pc.addTrack(cam, local);
  const audio = new Audio();
  audio.autoplay = true;
  document.body.appendChild(audio);
  await setSink(audio, prefs.speaker);
  const call = {
    id, pc, track, sender, audio, camera: cam, local, held: false, remoteHeld: false, muted: false, firstMediaAt: null, remote: null, dtmfSent: '',
  };
  // What the RFC 4733 sender really played out, for the UI's echo and the tests.
  if (sender.dtmf) sender.dtmf.ontonechange = (ev) => (call.dtmfSent += ev.tone);
  pc.ontrack = (ev) => {
    // Audio and video arrive as two tracks of one stream; a peer that sends
    // no msid gets its tracks gathered into one stream here.
    call.remote = ev.streams[0] ?? call.remote ?? new MediaStream();
    if (!call.remote.getTracks().includes(ev.track)) call.remote.addTrack(ev.track);
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
  call.camera?.stop();
  call.audio.srcObject = null;
  call.audio.remove();
  calls.delete(id);
  if (mixer && mixer.ids.includes(id)) unmix();
  // Release the microphone between calls (the recording indicator goes away).
  if (calls.size === 0) releaseMicrophone();
}

function applyOutgoing(call) {
  // Hold and mute both stop what we send; hold also silences what we play.
  call.track.enabled = !call.muted && !call.held;
  // The held party does not see us either (mute is the microphone only).
  if (call.camera) call.camera.enabled = !call.held;
  if (!mixer || !mixer.ids.includes(call.id)) call.audio.muted = call.held;
}

const MIRROR = { sendrecv: 'sendrecv', sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive' };
const NO_SEND = { sendrecv: 'recvonly', sendonly: 'inactive', recvonly: 'recvonly', inactive: 'inactive' };
const NO_RECV = { sendrecv: 'sendonly', sendonly: 'sendonly', recvonly: 'inactive', inactive: 'inactive' };
const DIRECTION = /^a=(sendrecv|sendonly|recvonly|inactive)(?=\r?$)/m;

// The remote description as the far end's answer to our directions `wants`
// (by mid): the same codecs, ICE and DTLS parameters (so
// nothing restarts), each section's mirrored direction, and a fixed DTLS
// role where the remote SDP was an offer (actpass).
function mirroredAnswer(remote, local, wants, rejected = new Set()) {
  const ours = /a=setup:(active|passive)/.exec(local)?.[1];
  // A stream we stopped (switch to audio) is rejected in the answer too.
  const [session, ...sections] = rejectSections(remote, rejected).split(/\r?\n(?=m=)/);
  const mirrored = sections.map((section, i) => {
    // A section without a mid (not from a browser) is matched by position.
    const mid = /^a=mid:(\S+)/m.exec(section)?.[1];
    if (mid !== undefined && rejected.has(mid)) return section;
    const want = mid === undefined ? [...wants.values()][i] : wants.get(mid);
    if (!want) return section;
    const line = `a=${MIRROR[want]}`;
    return DIRECTION.test(section) ? section.replace(DIRECTION, line) : `${section.replace(/\r?\n$/, '')}\r\n${line}`;
  });
  let sdp = [session, ...mirrored].join('\r\n');
  if (!sdp.endsWith('\n')) sdp += '\r\n';
  if (ours) sdp = sdp.replace(/a=setup:actpass/g, `a=setup:${ours === 'active' ? 'passive' : 'active'}`);
  return sdp;
}

// The sections of `mids` disabled (port 0, RFC 3264 §6) and out of the
// BUNDLE group (RFC 8843; the browser refuses a group naming a rejected
// section). Chromium answers a transceiver stopped before createAnswer with
// a=inactive on a live port, which a peer reads as a video stream on hold,
// not as an audio call; this makes it the refusal it is.
function rejectSections(sdp, mids) {
  if (mids.size === 0) return sdp;
  const [session, ...sections] = sdp.split(/\r?\n(?=m=)/);
  const grouped = session.replace(/^(a=group:BUNDLE)(.*)$/m, (_, g, ids) => `${g}${ids.split(' ').filter((id) => !mids.has(id)).join(' ')}`);
  const out = sections.map((section) => {
    const mid = /^a=mid:(\S+)/m.exec(section)?.[1];
    return mid !== undefined && mids.has(mid) ? section.replace(/^m=(\S+) \d+/, 'm=$1 0') : section;
  });
  return [grouped, ...out].join('\r\n');
}

// Hold is signalled by the engine (re-INVITE with sendonly / inactive). The
// connection follows with a local renegotiation against the SDP the far end
// already gave, so the transceivers' directions really change (Chrome stops
// sending, or receiving) without a second offer/answer on the wire. A line
// we send on goes sendrecv minus what hold takes away; a line we only
// receive (a video offer answered without a camera) stays receive-only.
// Renegotiations of one call run one after the other, each from the flags
// as they are when it starts: a local and a remote hold change arriving
// together must both end up applied.
function redirect(call) {
  call.redirecting = (call.redirecting ?? Promise.resolve()).then(() => renegotiate(call));
  return call.redirecting;
}

async function renegotiate(call) {
  const remote = call.pc.currentRemoteDescription?.sdp;
  if (!remote || call.pc.signalingState !== 'stable') return;
  // Stopped by a switch to audio, not yet negotiated away.
  const stopping = call.pc.getTransceivers().filter((t) => t.direction === 'stopped' && t.currentDirection !== 'stopped' && t.mid !== null);
  const rejected = new Set(stopping.map((t) => t.mid));
  const transceivers = call.pc.getTransceivers().filter((t) => t.direction !== 'stopped' && t.mid !== null);
  const wants = new Map();
  for (const t of transceivers) {
    let want = t.sender.track ? 'sendrecv' : 'recvonly';
    // Holding, we stop listening (a=sendonly, RFC 3264 §8.4); held, we stop sending.
    if (call.held) want = NO_RECV[want];
    if (call.remoteHeld) want = NO_SEND[want];
    wants.set(t.mid, want);
  }
  if (rejected.size === 0 && transceivers.every((t) => t.currentDirection === wants.get(t.mid))) return;
  for (const t of transceivers) t.direction = wants.get(t.mid);
  try {
    await call.pc.setLocalDescription(await call.pc.createOffer());
    const local = call.pc.currentLocalDescription?.sdp ?? call.pc.localDescription.sdp;
    await call.pc.setRemoteDescription({ type: 'answer', sdp: mirroredAnswer(remote, local, wants, rejected) });
  } catch (e) {
    console.warn('ringside: hold renegotiation failed', e);
    if (call.pc.signalingState === 'have-local-offer') await call.pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
  }
}

async function stats(call) {
  const out = {
    bytes_received: 0, bytes_sent: 0, packets_received: 0, packets_sent: 0, audio_level: null,
    first_media_at: call.firstMediaAt, ice_state: call.pc.iceConnectionState,
    direction: call.pc.getTransceivers()[0]?.currentDirection ?? '', muted: call.muted, held: call.held,
    remote_held: call.remoteHeld, sink_id: call.audio.sinkId ?? '', microphone: call.track.getSettings().deviceId ?? '',
    dtmf_sent: call.dtmfSent, dtmf_negotiated: dtmfNegotiated(call),
    video: videoTransceivers(call.pc).length > 0, video_codec: '', frames_decoded: 0, frames_encoded: 0, frame_width: 0,
    camera: !!call.camera && call.camera.readyState === 'live' && call.camera.enabled,
  };
  const report = await call.pc.getStats();
  report.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') {
      out.frames_decoded += r.framesDecoded ?? 0;
      out.frame_width = r.frameWidth ?? out.frame_width;
      out.video_codec = report.get(r.codecId)?.mimeType ?? out.video_codec;
    } else if (r.type === 'outbound-rtp' && r.kind === 'video') {
      out.frames_encoded += r.framesEncoded ?? 0;
    } else if (r.type === 'inbound-rtp' && r.kind === 'audio') {
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
  ctx.resume().catch(() => {});
  const nodes = [];
  for (const call of members) {
    const dest = ctx.createMediaStreamDestination();
    ctx.createMediaStreamSource(new MediaStream([call.track])).connect(dest);
    for (const other of members) {
      // A leg that was on hold has no remote track until its resume is
      // negotiated (createMediaStreamSource would throw and leave no mix);
      // its ontrack rebuilds the mix with it.
      if (other !== call && other.remote?.getAudioTracks().length) ctx.createMediaStreamSource(other.remote).connect(dest);
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
// Each pattern is bursts of `freqs` (alternating per burst when `alternate`)
// `on` ms long every `period` ms; busy and failed stop by themselves.
const RINGTONES = {
  classic: { freqs: [440, 480], on: 2000, period: 6000, gain: 0.2 },
  digital: { freqs: [1200], alternate: [1200, 1500], on: 120, gap: 80, bursts: 6, period: 3000, gain: 0.12 },
  soft: { freqs: [660], on: 1200, period: 5000, gain: 0.06, fade: true },
};
const TONES = {
  waiting: { freqs: [440], on: 300, gap: 200, bursts: 2, period: 5000, gain: 0.05 },
  ringback: { freqs: [440, 480], on: 2000, period: 6000, gain: 0.1 },
  busy: { freqs: [480, 620], on: 500, period: 1000, gain: 0.1, stopAfter: 3000 },
  failed: { freqs: [480, 620], on: 250, period: 500, gain: 0.1, stopAfter: 3000 },
};

function stopTone() {
  if (tone.timer) clearInterval(tone.timer);
  if (tone.end) clearTimeout(tone.end);
  if (tone.ctx) tone.ctx.close().catch(() => {});
  tone = { name: 'none', pattern: '', ctx: null, timer: null, end: null };
}

// The auto-answer beep (150 ms, 1 kHz, speaker) is a one-shot beside the
// current tone: the ring it follows is stopped by its own 'none'.
let beeps = 0;
function beep() {
  beeps += 1;
  const ctx = new AudioContext();
  setSink(ctx, prefs.speaker);
  ctx.resume().catch(() => {});
  const gain = ctx.createGain();
  gain.gain.value = 0.1;
  gain.connect(ctx.destination);
  const osc = ctx.createOscillator();
  osc.frequency.value = 1000;
  osc.connect(gain);
  osc.start();
  osc.stop(ctx.currentTime + 0.15);
  setTimeout(() => ctx.close().catch(() => {}), 500);
}

function playTone(name) {
  if (name === 'auto_answer') return beep();
  if (tone.name === name) return;
  stopTone();
  const ringtone = prefs.ringtone;
  const pattern = name === 'ring' ? ringtone : name;
  const p = name === 'ring' ? RINGTONES[ringtone] : TONES[name];
  tone = { name, pattern, ctx: null, timer: null, end: null };
  if (!p) return; // none, or the silent ringtone (the notification still shows)
  const ctx = new AudioContext();
  // Ringing and call waiting go to the ringing device (a loudspeaker across
  // the room); ringback and busy belong with the call, on the speaker.
  setSink(ctx, name === 'ring' || name === 'waiting' ? prefs.ringer ?? prefs.speaker : prefs.speaker);
  ctx.resume().catch(() => {});
  const burst = () => {
    const bursts = p.bursts ?? 1;
    for (let i = 0; i < bursts; i++) {
      const at = ctx.currentTime + (i * (p.on + (p.gap ?? 0))) / 1000;
      const stop = at + p.on / 1000;
      const gain = ctx.createGain();
      gain.gain.setValueAtTime(p.fade ? 0 : p.gain, at);
      if (p.fade) {
        gain.gain.linearRampToValueAtTime(p.gain, at + p.on / 2000);
        gain.gain.linearRampToValueAtTime(0, stop);
      }
      gain.connect(ctx.destination);
      const freqs = p.alternate ? [p.alternate[i % p.alternate.length]] : p.freqs;
      for (const f of freqs) {
        const osc = ctx.createOscillator();
        osc.frequency.value = f;
        osc.connect(gain);
        osc.start(at);
        osc.stop(stop);
      }
    }
  };
  burst();
  tone.ctx = ctx;
  tone.timer = setInterval(burst, p.period);
  if (p.stopAfter) tone.end = setTimeout(stopTone, p.stopAfter);
}

function dtmfNegotiated(call) {
  return /telephone-event\//i.test(call.pc.currentRemoteDescription?.sdp ?? '');
}

async function applyPrefs(next) {
  const str = (x) => (typeof x === 'string' && x !== '' && x.length <= 256 ? x : null);
  const old = prefs;
  prefs = {
    microphone: str(next?.microphone),
    speaker: str(next?.speaker),
    ringer: str(next?.ringer),
    ringtone: RINGTONES[next?.ringtone] || next?.ringtone === 'silent' ? next.ringtone : 'classic',
  };
  if (prefs.speaker !== old.speaker) await Promise.all([...calls.values()].map((c) => setSink(c.audio, prefs.speaker)));
  if (prefs.microphone !== old.microphone) await switchMicrophone();
  // A ringing tone restarts with the new ringtone or device.
  if (tone.name !== 'none' && (prefs.ringtone !== old.ringtone || prefs.ringer !== old.ringer || prefs.speaker !== old.speaker)) {
    const name = tone.name;
    stopTone();
    playTone(name);
  }
}

// First run: can we capture without asking? (An offscreen document cannot
// show the permission prompt; the permission page can.)
async function probe() {
  try {
    const stream = await capture(prefs.microphone);
    stream.getTracks().forEach((t) => t.stop());
    return reply('media_ok');
  } catch (e) {
    const err = captureError(e);
    return mediaError(err.code, err.message);
  }
}

async function handle(msg) {
  const id = msg.call;
  const call = calls.get(id);
  switch (msg.type) {
    case 'media_offer': {
      if (!validId(id)) return mediaError('bad_request', 'call');
      if (call) close(id);
      const c = await newCall(id, msg, !!msg.video);
      preferVp8(c.pc);
      await c.pc.setLocalDescription(await c.pc.createOffer());
      await gathered(c.pc, msg.ice_timeout_ms);
      return reply('media_sdp', { call: id, sdp: c.pc.localDescription.sdp });
    }
    case 'media_answer': {
      if (!validId(id) || typeof msg.sdp !== 'string') return mediaError('bad_request', 'call/sdp');
      if (call) close(id);
      const c = await newCall(id, msg, !!msg.video && offersVideo(msg.sdp));
      await c.pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      // Answered audio only: the offered video is refused (port 0), which
      // any peer takes as an audio call (RFC 3264 §6).
      const refused = new Set();
      for (const t of videoTransceivers(c.pc)) {
        if (t.sender.track) continue;
        t.stop();
        refused.add(t.mid);
      }
      preferVp8(c.pc);
      const answer = await c.pc.createAnswer();
      await c.pc.setLocalDescription({ type: 'answer', sdp: rejectSections(answer.sdp, refused) });
      await gathered(c.pc, msg.ice_timeout_ms);
      return reply('media_sdp', { call: id, sdp: c.pc.localDescription.sdp });
    }
    case 'media_remote':
      if (!call || typeof msg.sdp !== 'string') return mediaError('no_such_call', id);
      if (call.pc.signalingState === 'have-local-offer') await call.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      // Answered audio only: the browser stopped the video; so does the camera.
      if (videoTransceivers(call.pc).length === 0) call.camera?.stop();
      return reply('media_ok');
    case 'media_video_off':
      if (!call) return mediaError('no_such_call', id);
      for (const t of videoTransceivers(call.pc)) t.stop();
      call.camera?.stop();
      await redirect(call);
      return reply('media_ok');
    case 'media_hold':
      if (!call) return mediaError('no_such_call', id);
      call.held = !!msg.hold;
      applyOutgoing(call);
      await redirect(call);
      return reply('media_ok');
    case 'media_remote_hold':
      if (!call) return mediaError('no_such_call', id);
      call.remoteHeld = !!msg.held;
      await redirect(call);
      return reply('media_ok');
    case 'media_mute':
      if (!call) return mediaError('no_such_call', id);
      call.muted = !!msg.muted;
      applyOutgoing(call);
      return reply('media_ok');
    case 'media_dtmf': {
      if (!call) return mediaError('no_such_call', id);
      const dtmf = call.sender.dtmf;
      const ok = dtmf && dtmf.canInsertDTMF && dtmfNegotiated(call) && typeof msg.digits === 'string' && /^[0-9*#A-Da-d]{1,32}$/.test(msg.digits);
      if (!ok) return reply('media_dtmf', { sent: false });
      // Digits still queued keep their place: a fast typist's keys all go out.
      dtmf.insertDTMF(dtmf.toneBuffer + msg.digits, 100, 70);
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
    case 'media_prefs':
      await applyPrefs(msg.prefs);
      return reply('media_ok');
    case 'media_probe':
      return probe();
    case 'media_status':
      return reply('media_status', {
        status: {
          tone: tone.name, tone_state: tone.ctx?.state ?? '', tone_sink: typeof tone.ctx?.sinkId === 'string' ? tone.ctx.sinkId : '', tone_pattern: tone.pattern, beeps, prefs,
        },
      });
    default:
      return mediaError('bad_request', msg.type);
  }
}

// The call window (an extension page in the same process) shows a call's
// video by reading the streams straight from this document
// (chrome.extension.getViews): a MediaStream cannot be sent in a message.
globalThis.ringsideVideo = (id) => {
  const call = calls.get(Number(id));
  if (!call) return null;
  return { remote: call.remote, local: call.camera && call.camera.readyState === 'live' ? call.local : null };
};

chrome.runtime.onMessage.addListener((msg, _sender, sendResponse) => {
  if (!msg || msg.v !== V || typeof msg.type !== 'string' || !msg.type.startsWith('media_')) return false;
  handle(msg).then(sendResponse, (e) => sendResponse(mediaError(e?.code ?? 'sdp', e?.message ?? e)));
  return true;
});
