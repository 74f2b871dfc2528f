// Minimal call window (call.html?call=ID) until the popup crate's Yew call
// view takes this page over: shows one call from the worker's snapshot and
// sends answer / decline / voicemail / hangup commands. It owns no state.
const V = 1;
const id = Number(new URLSearchParams(location.search).get('call'));
const t = (key, fallback) => chrome.i18n.getMessage(key) || fallback;
const $ = (x) => document.getElementById(x);

const buttons = {
  'call-answer': ['callAnswer', 'Answer', { type: 'answer', call: id }],
  'call-decline': ['callDecline', 'Decline', { type: 'decline', call: id }],
  'call-voicemail': ['callVoicemail', 'Voicemail', { type: 'send_to_voicemail', call: id }],
  'call-hangup': ['callHangup', 'Hang up', { type: 'hangup', call: id }],
};
for (const [elId, [key, fallback, command]] of Object.entries(buttons)) {
  $(elId).textContent = t(key, fallback);
  $(elId).addEventListener('click', () => chrome.runtime.sendMessage({ v: V, ...command }));
}

function render(snapshot) {
  const call = (snapshot.calls ?? []).find((c) => c.id === id);
  if (!call) {
    $('call-state').dataset.state = 'gone';
    return;
  }
  $('call-party').textContent = call.name ? `${call.name} (${call.number})` : call.number;
  $('call-state').dataset.state = call.state;
  $('call-state').textContent = call.state;
  const ringing = call.state === 'ringing';
  $('call-answer').hidden = !ringing;
  $('call-decline').hidden = !ringing;
  $('call-voicemail').hidden = !ringing;
  $('call-hangup').hidden = ringing || call.state === 'ended';
}

const port = chrome.runtime.connect({ name: 'ringside-state' });
port.onMessage.addListener((msg) => {
  if (msg?.v === V && msg.type === 'snapshot') render(msg.snapshot);
});
