// The microphone-permission page. The offscreen document that carries call
// audio cannot show Chrome's permission prompt; a tab of the extension can,
// and the grant then holds for every extension page. The worker opens this
// page on first install when the microphone is not allowed yet, and again
// whenever a call's capture fails with NotAllowedError.
//
// #result[data-state] is pending | checking | granted | denied | failed, and
// its text says what the getUserMedia attempt gave.

import { pageTexts } from './page-texts.js';

const t = await pageTexts([
  'htmlLang', 'permTitle', 'permWhy', 'permAllow', 'permChecking', 'permGranted', 'permDenied', 'permFailed',
]);
const result = document.getElementById('result');
const allow = document.getElementById('allow');

function show(state, text) {
  result.dataset.state = state;
  result.textContent = text;
}

async function ask() {
  allow.disabled = true;
  show('checking', t('permChecking'));
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    // Only the grant matters here: release the device at once.
    stream.getTracks().forEach((track) => track.stop());
    show('granted', t('permGranted'));
  } catch (e) {
    const denied = e?.name === 'NotAllowedError' || e?.name === 'SecurityError';
    show(denied ? 'denied' : 'failed', denied ? t('permDenied') : t('permFailed', `${e?.name ?? 'Error'}: ${e?.message ?? ''}`));
  } finally {
    allow.disabled = false;
  }
}

document.documentElement.lang = t('htmlLang');
document.title = t('permTitle');
document.getElementById('title').textContent = t('permTitle');
document.getElementById('why').textContent = t('permWhy');
allow.textContent = t('permAllow');
allow.addEventListener('click', ask);
// Opened for a reason: ask at once, so the prompt shows without a click.
ask();
