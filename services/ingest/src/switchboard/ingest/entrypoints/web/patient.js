// The patient messenger and the secure-email page, over ingest's patient API.
// Every piece of data goes into the page as text (textContent, text nodes), never as HTML.
// New replies arrive by polling GET /messages every few seconds: simple and enough here.
// Its words come from patient_text.js (X-LANG-1); every call says the page's language in
// Accept-Language, so the server answers in it (reasons, the emergency notice).
import { showOffice } from './patient_office.js';
import { language, locale, showSwitch, switched, t, useLanguage } from './patient_text.js';

const POLL_MS = 4000;
const parts = location.pathname.split('/').filter(Boolean); // patient/<practice>[/secure/<id>]
const practice = parts[1];
const secureId = parts[2] === 'secure' ? parts[3] : null;
const secureToken = new URLSearchParams(location.search).get('t');
const api = `/patient/${encodeURIComponent(practice)}`;
const storageKey = `sb-patient:${practice}:${secureId || 'messenger'}`;

const $ = (id) => document.getElementById(id);
const state = {
  token: null,
  timer: null,
  rendered: new Map(), // message_id -> element
  reasonCodes: '', // the codes currently offered, to redraw only on a change
  picker: false,
  files: [],
  blobs: [],
};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c != null) node.append(c); // strings become text nodes
  return node;
}

function showError(text) {
  $('error').textContent = text || '';
}

function setStatus(text) {
  $('status').textContent = text || '';
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// The server's words (English, the API's) -> the page's, in the page's language.
const FRIENDLY = {
  'we could not verify these details': 'err_not_verified',
  'too many attempts; try again later': 'err_too_many',
  'a valid mobile number is required': 'err_phone',
  'this link is not valid': 'err_link_invalid',
  'this link has expired; ask the practice to send it again': 'err_link_expired',
  'cannot verify right now, try again shortly': 'err_try_shortly',
  'try again shortly': 'err_try_shortly',
  'write a message or attach a file': 'write_or_attach',
  'choose a reason for your message': 'choose_reason',
  'this reason is not offered': 'choose_reason',
  'this file could not be opened': 'err_file_open',
};

async function call(path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  const lang = language() || switched();
  if (lang) headers['accept-language'] = lang;
  let r;
  try {
    r = await fetch(api + path, { ...opts, headers });
  } catch (e) {
    throw new ApiError(0, t('err_unreachable'));
  }
  if (!r.ok) {
    // Errors are RFC 9457 problem details: `detail` the reason, `errors` the fields.
    let problem = {};
    try {
      problem = (await r.json()) || {};
    } catch (e) { /* not JSON */ }
    let text = typeof problem.detail === 'string' ? problem.detail : null;
    if (text && FRIENDLY[text]) {
      text = t(FRIENDLY[text]);
    } else if (Array.isArray(problem.errors) && problem.errors.length) {
      const names = problem.errors.map((d) => (d.loc || []).slice(-1)[0]).filter(Boolean);
      // a field is named as its label says it (a known field), else as the API does
      text = t('err_check', { names: names.map((n) => (n === t(n) ? n.replaceAll('_', ' ') : t(n))).join(', ') });
    } else if (r.status === 413) {
      text = t('err_too_large');
    } else if (r.status === 415) {
      text = t('err_file_type');
    } else if (language() !== 'en') {
      text = null; // an English detail the page has no words for: the generic line instead
    }
    throw new ApiError(r.status, text || t('err_generic', { status: r.status }));
  }
  return r.status === 204 ? null : r.json();
}

// --- practice ----------------------------------------------------------------------------------

// The practice's page data, in the language the page asks in (none yet: the browser's).
async function fetchPractice() {
  try {
    return await call('/practice');
  } catch (e) {
    return { failed: e.status || 0 };
  }
}

function showPractice(info) {
  if (info.failed === 404) {
    showError(t('err_unknown_practice'));
    $('signin').hidden = true;
    return;
  }
  if (info.failed !== undefined) return;
  if (info.name) {
    delete $('practice-name').dataset.t; // the practice's own name, in no language
    $('practice-name').textContent = info.name;
    document.title = t('doc_title', { name: info.name });
  }
  showOffice(info, $, el);
  if (info.languages) showSwitch(info.languages, switchTo);
}

// The patient used the switch: everything shown again in the new language.
async function switchTo() {
  showError();
  setStatus('');
  setupMode();
  showPractice(await fetchPractice());
  if (!state.token) return;
  state.rendered.clear();
  state.reasonCodes = '';
  $('thread').replaceChildren();
  await Promise.all([refreshMessages(), refreshReasons()]).catch(handleFailure);
}

// --- sign in -------------------------------------------------------------------------------------

function setupMode() {
  if (secureId) {
    const texts = {
      title: 'secure_title',
      intro: 'secure_intro',
      'thread-heading': 'secure_thread_heading',
      'compose-heading': 'secure_compose_heading',
      empty: 'secure_empty',
    };
    for (const [id, key] of Object.entries(texts)) {
      $(id).dataset.t = key;
      if (language()) $(id).textContent = t(key); // else when the words arrive
    }
    $('phone-field').hidden = true;
    $('phone').required = false;
  }
}

function validate(form) {
  const missing = [];
  for (const input of form.querySelectorAll('input[required]')) {
    const bad = !input.value.trim() || !input.checkValidity();
    input.setAttribute('aria-invalid', bad ? 'true' : 'false');
    if (bad) missing.push(input);
  }
  if (missing.length) {
    const names = missing.map((i) => form.querySelector(`label[for="${i.id}"]`).textContent);
    showError(t('fill_in', { names: names.join(', ') }));
    missing[0].focus();
    return false;
  }
  return true;
}

async function signIn(ev) {
  ev.preventDefault();
  showError();
  const form = ev.target;
  if (!validate(form)) return;
  const f = new FormData(form);
  const body = {
    given_name: f.get('given_name').trim(),
    family_name: f.get('family_name').trim(),
    birth_date: f.get('birth_date'),
  };
  if (switched()) body.language = switched();
  if (secureId) {
    body.secure_message_id = secureId;
    body.secure_token = secureToken || '';
  } else {
    body.phone = f.get('phone').trim();
  }
  const button = $('signin-button');
  button.disabled = true;
  try {
    const signed = await call('/sessions', {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    state.token = signed.token;
    sessionStorage.setItem(storageKey, signed.token);
    form.reset();
    // covers X-LANG-2: signed in, the page speaks the patient's language (unless switched)
    if (signed.language && signed.language !== language() && await useLanguage(signed.language)) {
      setupMode();
      showPractice(await fetchPractice());
    }
    await openChat();
  } catch (e) {
    if (e.status === 401) $('birth_date').setAttribute('aria-invalid', 'true');
    showError(e.message);
    $('given_name').focus();
  } finally {
    button.disabled = false;
  }
}

async function openChat() {
  $('signin').hidden = true;
  $('intro').hidden = true;
  $('chat').hidden = false;
  $('sign-out').hidden = false;
  try {
    await Promise.all([refreshMessages(), refreshReasons()]);
  } catch (e) {
    handleFailure(e);
  }
  if (!state.token) return;
  $('thread-heading').setAttribute('tabindex', '-1');
  $('thread-heading').focus();
  schedule();
}

function signOut(text) {
  clearTimeout(state.timer);
  state.timer = null;
  state.token = null;
  sessionStorage.removeItem(storageKey);
  for (const url of state.blobs) URL.revokeObjectURL(url);
  state.blobs = [];
  state.rendered.clear();
  state.reasonCodes = '';
  $('thread').replaceChildren();
  $('chat').hidden = true;
  $('sign-out').hidden = true;
  $('signin').hidden = false;
  $('intro').hidden = false;
  showError(text);
  $('given_name').focus();
}

function handleFailure(e) {
  if (e.status === 401) signOut(t('session_ended'));
  else showError(e.message);
}

// --- polling -------------------------------------------------------------------------------------

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(poll, POLL_MS);
}

async function poll() {
  if (!state.token) return;
  try {
    await Promise.all([refreshMessages(), refreshReasons()]);
  } catch (e) {
    if (e.status === 401) {
      handleFailure(e);
      return;
    }
    // a passing network problem: try again on the next tick, quietly
  }
  if (state.token) schedule();
}

// --- the thread ----------------------------------------------------------------------------------

const timeFormat = () => new Intl.DateTimeFormat(locale(), {
  weekday: 'short', day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit',
});

function humanSize(n) {
  if (n == null) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

async function fetchBlob(a) {
  const r = await fetch(`${api}/${a.url}`, { headers: { authorization: `Bearer ${state.token}` } });
  if (!r.ok) throw new ApiError(r.status, t('err_file_open'));
  const url = URL.createObjectURL(await r.blob());
  state.blobs.push(url);
  return url;
}

async function download(a) {
  try {
    const url = await fetchBlob(a);
    const link = el('a', { href: url, download: a.filename || t('attachment') });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (e) {
    handleFailure(e);
  }
}

function attachmentItem(a) {
  const name = a.filename || t('attachment');
  const button = el('button', {
    type: 'button',
    onclick: () => download(a),
    'aria-label': t('download_named', { name }),
  });
  if ((a.content_type || '').startsWith('image/')) {
    const img = el('img', { alt: t('picture_named', { name }) });
    fetchBlob(a).then((url) => { img.src = url; }).catch(() => img.remove());
    button.append(img);
  }
  button.append(el('span', { class: 'name', text: name }), el('span', { class: 'dl', text: t('download') }));
  return el('li', {}, button);
}

function messageItem(m) {
  const mine = m.from === 'patient';
  const at = new Date(m.at);
  const item = el(
    'li',
    { class: `msg ${mine ? 'patient' : 'practice'}`, 'data-id': m.message_id },
    el('p', { class: 'who', text: mine ? t('you') : t('care_team') }),
    m.subject ? el('p', { class: 'subject', text: m.subject }) : null,
    m.body ? el('p', { class: 'text', text: m.body }) : null,
  );
  if (m.attachments.length) item.append(el('ul', { class: 'files' }, ...m.attachments.map(attachmentItem)));
  item.append(
    el('p', { class: 'meta' }, el('time', { datetime: m.at, text: timeFormat().format(at) })),
  );
  return item;
}

async function refreshMessages() {
  const list = await call('/messages');
  const thread = $('thread');
  let added = false;
  for (const m of list.messages) {
    if (state.rendered.has(m.message_id)) continue;
    const item = messageItem(m);
    state.rendered.set(m.message_id, item);
    thread.append(item);
    added = true;
  }
  $('empty').hidden = list.messages.length > 0;
  if (added) thread.lastElementChild.scrollIntoView({ block: 'nearest' });
  markRead(list.messages);
}

const pendingReads = new Set();

function markRead(messages) {
  // A practice message counts as read once it has been shown on a visible page.
  if (document.visibilityState !== 'visible') return;
  for (const m of messages) {
    if (m.from !== 'practice' || m.read_at || pendingReads.has(m.message_id)) continue;
    pendingReads.add(m.message_id);
    call(`/messages/${m.message_id}/read`, { method: 'POST' })
      .catch(() => pendingReads.delete(m.message_id));
  }
}

// --- reasons -------------------------------------------------------------------------------------

async function refreshReasons() {
  const answer = await call('/reasons');
  const offered = answer.show_picker ? answer.reasons : [];
  const codes = offered.map((r) => r.code).join('|');
  state.picker = offered.length > 0;
  $('reasons').hidden = !state.picker;
  if (codes === state.reasonCodes) return;
  const chosen = selectedReason();
  state.reasonCodes = codes;
  const box = $('reason-options');
  box.replaceChildren(
    ...offered.map((r) => {
      const input = el('input', { type: 'radio', name: 'reason', value: r.code, required: '' });
      if (r.code === chosen) input.checked = true;
      // The one-line description under the label (X-PATIENTPAGE-1), read with it.
      const text = el('span', { class: 'reason-text' }, el('span', { text: r.label }),
        r.description ? el('span', { class: 'reason-description', text: r.description }) : null);
      return el('label', {}, input, text);
    }),
  );
}

function selectedReason() {
  const checked = document.querySelector('input[name="reason"]:checked');
  return checked ? checked.value : null;
}

// --- writing -------------------------------------------------------------------------------------

function showChosen() {
  state.files = Array.from($('files').files);
  $('chosen').replaceChildren(
    ...state.files.map((f) =>
      el('li', {}, el('span', { text: f.name }), el('span', { class: 'size', text: humanSize(f.size) })),
    ),
  );
}

async function send(ev) {
  ev.preventDefault();
  showError();
  const text = $('body').value;
  const reason = state.picker ? selectedReason() : null;
  if (state.picker && !reason) {
    showError(t('choose_reason'));
    document.querySelector('input[name="reason"]').focus();
    return;
  }
  if (!text.trim() && !state.files.length) {
    showError(t('write_or_attach'));
    $('body').focus();
    return;
  }
  if (state.files.length > 10) {
    showError(t('max_files'));
    return;
  }
  const button = $('send');
  button.disabled = true;
  setStatus(t('sending'));
  try {
    const ids = [];
    for (const file of state.files) {
      setStatus(t('uploading', { name: file.name }));
      try {
        const up = await call(`/attachments?filename=${encodeURIComponent(file.name)}`, {
          method: 'POST',
          body: file,
          headers: { 'content-type': file.type || 'application/octet-stream' },
        });
        ids.push(up.attachment_id);
      } catch (e) {
        e.message = `${file.name}: ${e.message}`;
        throw e;
      }
    }
    const body = { client_message_id: crypto.randomUUID(), body: text, attachment_ids: ids };
    if (reason) body.reason = reason;
    await call('/messages', {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    $('compose').reset();
    showChosen();
    setStatus(t('sent'));
    await Promise.all([refreshMessages(), refreshReasons()]);
    $('body').focus();
  } catch (e) {
    setStatus('');
    if (e.status === 422 && e.message === t('choose_reason')) {
      await refreshReasons().catch(() => {});
      showError(t('choose_reason'));
    } else {
      handleFailure(e);
    }
  } finally {
    button.disabled = false;
  }
}

// --- start ---------------------------------------------------------------------------------------

async function start() {
  // Listeners first: a form submitted before they are there would go out as a GET.
  setupMode();
  $('signin').addEventListener('submit', signIn);
  $('compose').addEventListener('submit', send);
  $('files').addEventListener('change', showChosen);
  $('sign-out').addEventListener('click', () => signOut(''));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.token) poll();
  });
  // The switch's language, else the server's choice from Accept-Language (X-LANG-2).
  const first = switched();
  const [info] = await Promise.all([fetchPractice(), first ? useLanguage(first) : null]);
  if (!language()) await useLanguage(info.language || 'en');
  if (!language()) await useLanguage('en');
  setupMode();
  showPractice(info);
  if (secureId && !secureToken) {
    showError(t('link_incomplete'));
  }
  const saved = sessionStorage.getItem(storageKey);
  if (saved) {
    state.token = saved;
    openChat();
  }
}

start();
