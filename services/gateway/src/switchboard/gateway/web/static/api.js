// What every staff page shares: the session, calls to the gateway API, the live socket,
// and building DOM. Patient data is only ever set as text (never innerHTML).

const TOKEN = 'switchboard.token';
const USER = 'switchboard.user';

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === 'string' ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN); },
  get user() { return JSON.parse(sessionStorage.getItem(USER) || 'null'); },
  save(token, user) {
    sessionStorage.setItem(TOKEN, token);
    sessionStorage.setItem(USER, JSON.stringify(user));
  },
  clear() { sessionStorage.removeItem(TOKEN); sessionStorage.removeItem(USER); },
};

// A call to the gateway API: JSON in and out, the session's bearer token, errors as ApiError
// with the server's reason (a 401 signs out: the token expired).
export async function api(path, { method = 'GET', body, headers = {}, raw = false } = {}) {
  const init = { method, headers: { ...headers } };
  if (session.token) init.headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) {
    if (body instanceof Blob || body instanceof ArrayBuffer) {
      init.body = body;
    } else {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
  }
  const r = await fetch(path, init);
  if (r.status === 401 && session.token) {
    session.clear();
    location.reload();
  }
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail ?? detail; } catch { /* not JSON */ }
    throw new ApiError(r.status, detail);
  }
  if (raw) return r;
  return r.status === 204 ? null : r.json();
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// el('button', {class: 'x', onclick: f, 'aria-label': 'y'}, 'text', child, ...)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const today = new Date();
  return d.toDateString() === today.toDateString()
    ? d.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' })
    : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

// Status and errors where a screen reader hears them (the page has one #status live region).
export function announce(text, { error = false } = {}) {
  const box = document.getElementById('status');
  if (!box) return;
  box.textContent = text;
  box.classList.toggle('error', error);
}

// The sign-in form: resolves with the user once signed in (at once if already).
export function signIn() {
  const form = document.getElementById('signin');
  if (session.token) {
    form.hidden = true;
    return Promise.resolve(session.user);
  }
  form.hidden = false;
  form.querySelector('input').focus();
  return new Promise((resolve) => {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const data = new FormData(form);
      try {
        const r = await api('/api/auth/login', {
          method: 'POST',
          body: { username: data.get('username'), password: data.get('password') },
        });
        const me = await fetch('/api/me', { headers: { authorization: `Bearer ${r.token}` } });
        session.save(r.token, { ...r.user, ...(await me.json()) });
        form.hidden = true;
        announce('');
        resolve(session.user);
      } catch (e) {
        announce(e.message, { error: true });
      }
    });
  });
}

export function signOut() {
  session.clear();
  location.href = '/';
}

// The live socket (I-LIVE-1): calls onMessage with every message, reconnects after a drop
// (and calls onReconnect, so the page re-reads what it may have missed). Returns send().
export function connectLive(onMessage, onReconnect = () => {}) {
  let socket;
  let queue = [];
  let retry = 500;
  const open = (again) => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(
      `${scheme}://${location.host}/api/live?token=${encodeURIComponent(session.token)}`);
    socket.addEventListener('open', () => {
      retry = 500;
      for (const m of queue) socket.send(JSON.stringify(m));
      queue = [];
      if (again) onReconnect();
    });
    socket.addEventListener('message', (ev) => onMessage(JSON.parse(ev.data)));
    socket.addEventListener('close', (ev) => {
      if (ev.code === 4401) { signOut(); return; }
      setTimeout(() => open(true), retry);
      retry = Math.min(retry * 2, 10000);
    });
  };
  open(false);
  return (message) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    else queue.push(message);
  };
}

// Every page starts here: sign in, show the navigation for this user, reveal #app.
export async function startPage() {
  const user = await signIn();
  document.getElementById('topnav').hidden = false;
  document.getElementById('whoami').textContent = user.display_name;
  document.getElementById('admin-link').hidden = user.role !== 'practice_admin';
  document.getElementById('signout').addEventListener('click', signOut);
  const app = document.getElementById('app');
  app.hidden = false;
  return { user, app };
}
