// The patient page's words (X-LANG-1, X-LANG-2). One catalogue on the server
// (domain/page_text.py), fetched one language at a time: `t(key, values)` for the scripts,
// `data-t` (text) and `data-t-label` (aria-label) for the page's own elements. The switch in
// the header sets the language for this browser session (sessionStorage); until the patient
// uses it, the server chooses (the patient's preferred language, else Accept-Language).

const SWITCH_KEY = 'sb-patient-language';
let words = {};
let current = null;

export function t(key, values = {}) {
  const text = Object.hasOwn(words, key) ? words[key] : key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (Object.hasOwn(values, name) ? String(values[name]) : m));
}

// The language the page shows (null until one is loaded).
export function language() {
  return current;
}

// The language the patient picked with the switch in this browser session, if any.
export function switched() {
  return sessionStorage.getItem(SWITCH_KEY);
}

// Intl's locale for dates and times: English keeps the browser's own (en-US, en-GB...).
export function locale() {
  return current && current !== 'en' ? current : undefined;
}

function apply() {
  document.documentElement.lang = current;
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);
  for (const node of document.querySelectorAll('[data-t-label]')) {
    node.setAttribute('aria-label', t(node.dataset.tLabel));
  }
  for (const b of document.querySelectorAll('#languages button')) {
    b.setAttribute('aria-pressed', String(b.lang === current));
  }
}

// Load and show `lang`; false (and nothing changes) when it cannot be loaded.
export async function useLanguage(lang) {
  if (lang === current) return true;
  try {
    const r = await fetch(`/patient-assets/text/${encodeURIComponent(lang)}`);
    if (!r.ok) return false;
    words = await r.json();
  } catch (e) {
    return false;
  }
  current = lang;
  apply();
  return true;
}

// The switch: one button per language, each named in its own language.
export function showSwitch(languages, onPick) {
  const box = document.getElementById('languages');
  box.replaceChildren(...languages.map((l) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.lang = l.code;
    b.className = 'link';
    b.textContent = l.name;
    b.setAttribute('aria-pressed', String(l.code === current));
    b.addEventListener('click', async () => {
      // A choice even when it is the language shown: it outranks the preferred one at sign-in.
      sessionStorage.setItem(SWITCH_KEY, l.code);
      if (l.code === current) return;
      if (await useLanguage(l.code)) onPick(l.code);
    });
    return b;
  }));
  box.hidden = languages.length < 2;
}
