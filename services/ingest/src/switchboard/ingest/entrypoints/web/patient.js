// The patient messenger and the secure-email page, over ingest's patient API.
// Every piece of data goes into the page as text (textContent, text nodes), never as HTML.
// New replies arrive by polling GET /messages every few seconds: simple and enough here.
import { showOffice } from './patient_office.js';

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

const FRIENDLY = {
  'we could not verify these details':
    'We could not verify these details. Check your name, date of birth and mobile number ' +
    'match what your practice has on file.',
  'too many attempts; try again later':
    'Too many attempts. For your security, please wait a few minutes and try again.',
  'a valid mobile number is required': 'Enter a valid mobile number, for example 212 555 0123.',
  'this link is not valid': 'This link is not valid. Use the link in the email you received.',
};

async function call(path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  let r;
  try {
    r = await fetch(api + path, { ...opts, headers });
  } catch (e) {
    throw new ApiError(0, 'We could not reach the practice. Check your connection and try again.');
  }
  if (!r.ok) {
    // Errors are RFC 9457 problem details: `detail` the reason, `errors` the fields.
    let problem = {};
    try {
      problem = (await r.json()) || {};
    } catch (e) { /* not JSON */ }
    let text = typeof problem.detail === 'string' ? problem.detail : null;
    if (text && FRIENDLY[text]) {
      text = FRIENDLY[text];
    } else if (Array.isArray(problem.errors) && problem.errors.length) {
      const names = problem.errors.map((d) => (d.loc || []).slice(-1)[0]).filter(Boolean);
      text = `Please check: ${names.join(', ').replaceAll('_', ' ')}.`;
    }
    if (!text && r.status === 413) text = 'This file is too large to send.';
    throw new ApiError(r.status, text || `Something went wrong (${r.status}). Please try again.`);
  }
  return r.status === 204 ? null : r.json();
}

// --- practice ----------------------------------------------------------------------------------

async function loadPractice() {
  try {
    const info = await call('/practice');
    if (info.name) {
      $('practice-name').textContent = info.name;
      document.title = `Message ${info.name}`;
    }
    showOffice(info, $, el);
  } catch (e) {
    if (e.status === 404) {
      showError('This practice is not known. Check the address you were given.');
      $('signin').hidden = true;
    }
  }
}

// --- sign in -------------------------------------------------------------------------------------

function setupMode() {
  if (secureId) {
    $('title').textContent = 'Your secure message';
    $('intro').textContent =
      'Your care team sent you a secure message. Confirm who you are to read it.';
    $('phone-field').hidden = true;
    $('phone').required = false;
    $('thread-heading').textContent = 'Messages';
    $('compose-heading').textContent = 'Reply';
    $('empty').textContent = 'There is nothing here yet.';
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
    showError(`Please fill in: ${names.join(', ')}.`);
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
  if (e.status === 401) signOut('Your session has ended. Please confirm your details again.');
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

const timeFormat = new Intl.DateTimeFormat(undefined, {
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
  if (!r.ok) throw new ApiError(r.status, 'This file could not be opened.');
  const url = URL.createObjectURL(await r.blob());
  state.blobs.push(url);
  return url;
}

async function download(a) {
  try {
    const url = await fetchBlob(a);
    const link = el('a', { href: url, download: a.filename || 'attachment' });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (e) {
    handleFailure(e);
  }
}

function attachmentItem(a) {
  const name = a.filename || 'attachment';
  const button = el('button', {
    type: 'button',
    onclick: () => download(a),
    'aria-label': `Download ${name}`,
  });
  if ((a.content_type || '').startsWith('image/')) {
    const img = el('img', { alt: `Picture: ${name}` });
    fetchBlob(a).then((url) => { img.src = url; }).catch(() => img.remove());
    button.append(img);
  }
  button.append(el('span', { class: 'name', text: name }), el('span', { class: 'dl', text: 'Download' }));
  return el('li', {}, button);
}

function messageItem(m) {
  const mine = m.from === 'patient';
  const at = new Date(m.at);
  const item = el(
    'li',
    { class: `msg ${mine ? 'patient' : 'practice'}`, 'data-id': m.message_id },
    el('p', { class: 'who', text: mine ? 'You' : 'Your care team' }),
    m.subject ? el('p', { class: 'subject', text: m.subject }) : null,
    m.body ? el('p', { class: 'text', text: m.body }) : null,
  );
  if (m.attachments.length) item.append(el('ul', { class: 'files' }, ...m.attachments.map(attachmentItem)));
  item.append(
    el('p', { class: 'meta' }, el('time', { datetime: m.at, text: timeFormat.format(at) })),
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
    showError('Please choose what your message is about.');
    document.querySelector('input[name="reason"]').focus();
    return;
  }
  if (!text.trim() && !state.files.length) {
    showError('Write a message or attach a file.');
    $('body').focus();
    return;
  }
  if (state.files.length > 10) {
    showError('You can send at most 10 files at a time.');
    return;
  }
  const button = $('send');
  button.disabled = true;
  setStatus('Sending…');
  try {
    const ids = [];
    for (const file of state.files) {
      setStatus(`Uploading ${file.name}…`);
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
    setStatus('Sent.');
    await Promise.all([refreshMessages(), refreshReasons()]);
    $('body').focus();
  } catch (e) {
    setStatus('');
    if (e.status === 422 && /reason/.test(e.message)) {
      await refreshReasons().catch(() => {});
      showError('Please choose what your message is about.');
    } else {
      handleFailure(e);
    }
  } finally {
    button.disabled = false;
  }
}

// --- start ---------------------------------------------------------------------------------------

function start() {
  setupMode();
  $('signin').addEventListener('submit', signIn);
  $('compose').addEventListener('submit', send);
  $('files').addEventListener('change', showChosen);
  $('sign-out').addEventListener('click', () => signOut(''));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.token) poll();
  });
  if (secureId && !secureToken) {
    showError('This link is incomplete. Use the whole link from the email you received.');
  }
  loadPractice();
  const saved = sessionStorage.getItem(storageKey);
  if (saved) {
    state.token = saved;
    openChat();
  }
}

start();
