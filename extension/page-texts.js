// The words of the small extension pages (click-to-call confirmation,
// microphone permission) in the language chosen in Ringside's Settings:
// chrome.i18n knows only the browser's language, so the worker is asked
// (`get_texts`), and chrome.i18n answers for what it did not send (the user
// follows the browser's language, or the worker could not answer).
export async function pageTexts(keys) {
  let own = {};
  try {
    const reply = await chrome.runtime.sendMessage({ v: 1, type: 'get_texts', keys });
    if (reply?.type === 'texts') own = reply.texts;
  } catch {
    // No worker to ask: the browser's language it is.
  }
  return (name, ...subs) =>
    name in own
      ? subs.reduce((text, value, i) => text.replaceAll(`$${i + 1}`, value), own[name])
      : chrome.i18n.getMessage(name, subs) || name;
}
