// Popup loader: the Yew app (pkg/ringside_popup.js) renders into #app on init.
// The helpers below wrap promise-based browser APIs the popup only reads.
import init from './pkg/ringside_popup.js';
import { start } from './locales.js';

// Audio inputs and outputs for the Settings screen. Labels are empty until
// the extension was once granted the microphone; the popup then numbers them.
window.ringsideDevices = async () => {
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices
    .filter((d) => d.kind === 'audioinput' || d.kind === 'audiooutput')
    .map((d) => ({ kind: d.kind, deviceId: d.deviceId, label: d.label }));
};

// "Test speaker": a short two-tone chime on the chosen output device.
window.ringsideTestSpeaker = async (deviceId) => {
  const context = new AudioContext();
  if (deviceId && typeof context.setSinkId === 'function') {
    await context.setSinkId(deviceId);
  }
  const gain = context.createGain();
  gain.gain.value = 0.2;
  gain.connect(context.destination);
  [660, 880].forEach((frequency, i) => {
    const tone = context.createOscillator();
    tone.frequency.value = frequency;
    tone.connect(gain);
    tone.start(context.currentTime + i * 0.25);
    tone.stop(context.currentTime + i * 0.25 + 0.2);
  });
  setTimeout(() => context.close(), 800);
};

// The page the popup was opened over, for the click-to-call site toggle.
window.ringsideActiveTabUrl = async () => {
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  return tab?.url ?? '';
};

start(init).catch((error) => console.error('ringside: popup failed to start', error));
