// Both `_locales` tables for the popup's wasm, which switches language at run
// time (chrome.i18n serves only the browser's language). They are files of the
// extension already: fetching them here keeps them out of the wasm download.
const LOCALES = ['en', 'zh_CN'];

// Fetches the tables and exposes them as window.ringsideMessages(locale) ->
// text ('' for a file that could not be read: the popup then shows keys).
export async function loadMessages() {
  const texts = await Promise.all(
    LOCALES.map((locale) =>
      fetch(`/_locales/${locale}/messages.json`)
        .then((response) => (response.ok ? response.text() : ''))
        .catch(() => ''),
    ),
  );
  const tables = Object.fromEntries(LOCALES.map((locale, i) => [locale, texts[i]]));
  window.ringsideMessages = (locale) => tables[locale] ?? '';
}

// Starts a page's wasm (the popup's unless `url` names another) once the
// tables are there; the wasm download runs meanwhile.
export async function start(init, url = new URL('./pkg/ringside_popup_bg.wasm', import.meta.url)) {
  const wasm = fetch(url);
  await loadMessages();
  await init({ module_or_path: wasm });
}
