// Ringside: the confirmation for a click-to-call asked for where no page can
// show one (the context menu on a PDF, the web store, a chrome:// page). The
// worker opened this window with the call's one-time token and the exact
// dial string; a trusted click on Call sends the token back, nothing else
// can.
import { pageTexts } from './page-texts.js';

const msg = await pageTexts([
  'htmlLang', 'appName', 'c2cConfirmTitle', 'c2cConfirmCall', 'c2cConfirmCancel', 'c2cNotRegistered', 'c2cCallFailed',
]);
const params = new URLSearchParams(location.search);
const token = params.get('token') ?? '';
const dial = params.get('dial') ?? '';
const $ = (id) => document.getElementById(id);

document.documentElement.lang = msg('htmlLang');
document.title = msg('appName');
$('title').textContent = msg('c2cConfirmTitle');
$('dial').textContent = dial;
$('call').textContent = msg('c2cConfirmCall');
$('cancel').textContent = msg('c2cConfirmCancel');

$('call').addEventListener('click', async (event) => {
  if (!event.isTrusted) return;
  $('call').disabled = true;
  let reply;
  try {
    reply = await chrome.runtime.sendMessage({ v: 1, type: 'confirmed_call', token });
  } catch {
    reply = undefined;
  }
  if (reply && reply.type !== 'error') {
    window.close();
    return;
  }
  const code = reply?.error?.code;
  $('notice').textContent = msg(code === 'not_registered' ? 'c2cNotRegistered' : 'c2cCallFailed');
});
$('cancel').addEventListener('click', (event) => event.isTrusted && window.close());
addEventListener('keydown', (event) => event.isTrusted && event.key === 'Escape' && window.close());
$('call').focus();
