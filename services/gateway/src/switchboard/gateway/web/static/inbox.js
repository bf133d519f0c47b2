// The staff inbox: inbox navigation with counts, the conversation list (search, filters,
// pages of 50), the open conversation, live updates and presence (I-LIVE-1).
// The selected inbox, search and conversation live in the URL hash (reload and back work).
import { announce, api, connectLive, el, formatTime, query, startPage } from './api.js';
import {
  GROUPS, REASONS, badge, reasonName, channelName, debounce, directory, displayName, labels, loadDirectory,
  viewName,
} from './inbox/common.js';
import { Conversation } from './inbox/conversation.js';
import { hiddenFilters, landingView } from './inbox/landing.js';
import './inbox/popups.js';

const PAGE = 50;
const t0 = performance.now();
const { user } = await startPage();
await loadDirectory();
if (!directory.staff.has(user.user_id)) directory.staff.set(user.user_id, user.display_name);

const nav = document.getElementById('inbox-nav');
const list = document.getElementById('conversation-list');
const summaryLine = document.getElementById('list-summary');
const loadMore = document.getElementById('load-more');
const form = document.getElementById('search-form');
const searchBox = document.getElementById('search-q');
const clearSearch = document.getElementById('search-clear');
const listTitle = document.getElementById('list-title');

const state = {
  views: [], items: [], cursor: null, total: null, loading: false, generation: 0,
  locations: new Map(),
};

// --- the URL hash: #inbox=my/assigned&q=...&c=<conversation id> ---
function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  return { inbox: h.get('inbox'), q: h.get('q') || '', c: h.get('c') };
}
function hashFor({ inbox, q, c }) {
  const h = new URLSearchParams();
  if (inbox) h.set('inbox', inbox);
  if (q) h.set('q', q);
  if (c) h.set('c', c);
  return `#${h.toString()}`;
}
function go(changes) {
  const next = { ...readHash(), ...changes };
  const hash = hashFor(next);
  if (hash !== location.hash) location.hash = hash; else route();
}

// --- inbox navigation with counts ---
async function loadViews() {
  try {
    state.views = await api('/api/inboxes');
  } catch (e) {
    announce(`Inboxes could not be loaded: ${e.message}`, { error: true });
    return;
  }
  renderNav();
}

function renderNav() {
  const current = readHash().inbox;
  const groups = new Map();
  for (const v of state.views) {
    const g = v.group === 'shared' && v.name === 'unassigned' ? 'unassigned' : v.group;
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(v);
  }
  const order = ['my', 'care-team', 'all', 'unassigned', 'shared'];
  const sections = [];
  for (const g of order) {
    const views = groups.get(g);
    if (!views) continue;
    const headingId = `nav-${g}`;
    sections.push(el('h2', { id: headingId }, g === 'unassigned' ? 'Unassigned' : GROUPS[g]));
    sections.push(el('ul', { 'aria-labelledby': headingId }, views.map((v) => {
      const open = v.counts.open;
      return el('li', {}, el('a', {
        href: hashFor({ inbox: v.path }),
        'aria-current': v.path === current ? 'page' : null,
        'aria-label': `${g === 'unassigned' ? 'Unassigned' : `${GROUPS[g]}: ${viewName(v)}`}, ${open} open of ${v.counts.total}`,
        dataset: { path: v.path },
      }, el('span', {}, viewName(v)),
      el('span', { class: `badge ${open ? 'count' : ''}`, title: `${open} open, ${v.counts.total} in all` }, String(open))));
    })));
  }
  nav.replaceChildren(...sections);
}

// --- the list ---
function filters() {
  const data = new FormData(form);
  return {
    status: data.get('status'), channel: data.get('channel'), reason: data.get('reason'),
    location: data.get('location'), unassigned_only: data.get('unassigned_only') ? 'true' : '',
  };
}

function listPath(cursor, limit = PAGE) {
  const { inbox, q } = readHash();
  const f = filters();
  if (q) return `/api/search${query({ q, ...f, limit, cursor })}`;
  return `/api/inboxes/${inbox}${query({ ...f, limit, cursor, counts: !cursor })}`;
}

async function loadList({ append = false, keep = false } = {}) {
  const generation = ++state.generation;
  const { inbox, q } = readHash();
  if (!inbox && !q) return;
  state.loading = true;
  loadMore.disabled = true;
  list.setAttribute('aria-busy', 'true');
  try {
    // A live refresh re-reads as many as are shown (up to 200) and keeps the rest.
    const limit = keep ? Math.min(200, Math.max(PAGE, state.items.length)) : PAGE;
    const page = await api(listPath(append ? state.cursor : null, limit));
    if (generation !== state.generation) return;
    if (append) {
      const seen = new Set(state.items.map((i) => i.conversation_id));
      state.items.push(...page.items.filter((i) => !seen.has(i.conversation_id)));
      state.cursor = page.next_cursor;
    } else if (keep && state.items.length > page.items.length) {
      const fresh = new Set(page.items.map((i) => i.conversation_id));
      state.items = [...page.items, ...state.items.slice(page.items.length).filter((i) => !fresh.has(i.conversation_id))];
    } else {
      state.items = page.items;
      state.cursor = page.next_cursor;
    }
    if (page.counts) state.total = page.counts.total;
    if (q) state.total = null;
    renderList();
  } catch (e) {
    if (generation === state.generation) announce(`The list could not be loaded: ${e.message}`, { error: true });
  } finally {
    if (generation === state.generation) {
      state.loading = false;
      loadMore.disabled = false;
      list.removeAttribute('aria-busy');
    }
  }
}

function rowFor(c, selected) {
  for (const [id, name] of [[c.location_id, c.location_name]]) {
    if (id && !state.locations.has(id)) state.locations.set(id, name || id);
  }
  const who = displayName(c);
  const line = directory.lineLabel(c.line);
  const status = { closed: 'Closed', snoozed: 'Snoozed' }[c.status] || 'Open';
  const assignee = c.assignee ? directory.staffName(c.assignee) : 'Unassigned';
  return el('li', { class: `conv ${c.status}${c.unread ? ' unread' : ''}` },
    el('a', {
      href: hashFor({ ...readHash(), c: c.conversation_id }),
      'aria-current': selected ? 'true' : null,
      dataset: { id: c.conversation_id },
    },
    el('span', { class: 'conv-top' },
      el('span', { class: 'who' }, c.unread ? el('span', { class: 'dot', 'aria-label': 'Unread' }) : null,
        who, c.unrecognized ? badge('Unrecognized', 'warn') : null),
      el('time', { datetime: c.last_message_at || '' }, formatTime(c.last_message_at))),
    el('span', { class: 'conv-meta' },
      badge(channelName(c.channel), 'channel'),
      el('span', { class: 'line', title: 'Line' }, line),
      ...labels(c)),
    el('span', { class: 'conv-meta' },
      el('span', { class: `status ${c.status}` }, status),
      el('span', { class: 'assignee' }, `· ${assignee}`),
      el('span', { class: 'muted' }, `· ${c.message_count} message${c.message_count === 1 ? '' : 's'}`))));
}

function renderList() {
  const selected = readHash().c;
  const rows = state.items.map((c) => rowFor(c, c.conversation_id === selected));
  if (!rows.length) rows.push(el('li', { class: 'muted empty' }, 'No conversations.'));
  list.replaceChildren(...rows);
  loadMore.hidden = !state.cursor;
  const shown = state.items.length;
  summaryLine.textContent = state.total != null
    ? `Showing ${shown} of ${state.total}`
    : `Showing ${shown}${state.cursor ? '+' : ''}`;
  renderLocationFilter();
}

function renderLocationFilter() {
  const select = form.elements.location;
  const value = select.value;
  const known = new Set([...select.options].map((o) => o.value));
  for (const [id, name] of state.locations) {
    if (!known.has(id)) select.append(el('option', { value: id }, name));
  }
  select.value = value;
}

loadMore.addEventListener('click', () => loadList({ append: true }));
// Infinite scroll: the next page when "Load more" comes into view.
new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting) && state.cursor && !state.loading) loadList({ append: true });
}, { root: document.getElementById('list-pane') }).observe(loadMore);

form.elements.reason.append(...Object.entries(REASONS).map(([code, name]) => el('option', { value: code }, name)));
form.addEventListener('change', (ev) => { if (ev.target !== searchBox) loadList(); });
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = searchBox.value.trim();
  if (q.length === 1) { announce('Type at least two characters to search.', { error: true }); return; }
  go({ q, c: null });
});
clearSearch.addEventListener('click', () => { searchBox.value = ''; go({ q: '', c: null }); });

// --- the conversation ---
const pane = document.getElementById('conversation-pane');
let send = () => {};
const conversation = new Conversation(pane, {
  user,
  send: (m) => send(m),
  changed: (conv) => {  // an action succeeded: update its row, the counts
    const i = state.items.findIndex((x) => x.conversation_id === conv.conversation_id);
    if (i >= 0) { state.items[i] = { ...state.items[i], ...conv, unread: false }; renderList(); }
    refreshSoon();
  },
});

// --- routing between hash states ---
let lastListKey = null;
// Routes overlap (each awaits the list): only the newest may go on, or a stale one (say the
// landing's, started before a link was followed) closes the conversation just opened.
let routeSeq = 0;
async function route() {
  const seq = ++routeSeq;
  let { inbox, q, c } = readHash();
  if (!inbox && !q) {
    const first = landingView(state.views);  // the first inbox with open work
    if (!first) return;
    location.replace(hashFor({ inbox: first.path, c }));
    return;
  }
  searchBox.value = q;
  clearSearch.hidden = !q;
  const view = state.views.find((v) => v.path === inbox);
  listTitle.textContent = q ? `Search: ${q}` : view ? `${view.group === 'shared' && view.name === 'unassigned' ? '' : `${GROUPS[view.group]}: `}${viewName(view)}` : 'Conversations';
  document.title = `${listTitle.textContent} – Switchboard inbox`;
  const hide = hiddenFilters(view);  // e.g. no "Unassigned only" inside Unassigned
  for (const input of form.querySelectorAll('[data-filter]')) {
    input.closest('label').hidden = hide.includes(input.name);
    if (!hide.includes(input.name)) continue;
    if (input.type === 'checkbox') input.checked = false; else input.value = '';
  }
  renderNav();
  const key = `${inbox}|${q}`;
  if (key !== lastListKey) {
    lastListKey = key;
    state.items = []; state.cursor = null; state.total = null;
    list.replaceChildren();
    await loadList();
    if (seq !== routeSeq) return;
  } else {
    renderList();
  }
  if (c !== conversation.id) {
    c ? await conversation.open(c) : conversation.close();
  }
}
window.addEventListener('hashchange', route);

// --- live updates (I-LIVE-1) ---
// The socket names what changed once the projection has applied it (the gateway waits for
// that, up to a few seconds); a re-read that finds nothing new is still tried again shortly.
const refreshNow = () => { loadViews(); loadList({ keep: true }); };
const refreshSoon = debounce(() => { refreshNow(); setTimeout(refreshNow, 1000); }, 30);
const reloadOpen = debounce(() => conversation.reloadUntilChanged(), 50);
send = connectLive((m) => {
  if (m.type === 'conversation') {
    if (m.change === 'ConversationRead') return;  // someone read it (our own reads, too)
    if (m.conversation_id === conversation.id) reloadOpen();
    refreshSoon();
  } else if (m.type === 'presence') {
    conversation.presence(m);
  } else if (m.type === 'alert' && m.kind === 'mention') {
    announce('A colleague mentioned you in a note: see Mentions');
    refreshSoon();
  } else if (m.type === 'alert') {
    announce(`New message for you${m.reason ? ` (${reasonName(m.reason)})` : ''}`);
  }
}, () => { refreshSoon(); if (conversation.id) reloadOpen(); });
window.addEventListener('pagehide', () => conversation.close());
window.addEventListener('inbox:refresh', refreshSoon);  // bulk actions (inbox/bulk.js)

await loadViews();
await route();
// Bulk selection and keyboard shortcuts work on the rendered list (I-BULK-1).
await Promise.all([import('./inbox/bulk.js'), import('./inbox/shortcuts.js')]);
// How long until the list was usable (the browser test prints it).
window.__inboxReadyMs = performance.now() - t0;
document.body.dataset.ready = 'true';
