// Keyboard shortcuts in the inbox: j/k move through the list, Enter opens, r reply, e close,
// a assign, n note, ? the list of shortcuts. Never while typing in a field (a letter typed
// into a reply is a letter). It drives the page through its own controls (DOM only).
import { el } from '../api.js';

const list = document.getElementById('conversation-list');
const SHORTCUTS = [
  ['j', 'Next conversation'], ['k', 'Previous conversation'], ['Enter', 'Open it'],
  ['r', 'Reply'], ['e', 'Close the conversation'], ['a', 'Assign'], ['n', 'Internal note'],
  ['?', 'Show this list'], ['Esc', 'Close this list'],
];

const dialog = el('dialog', { class: 'shortcuts', 'aria-labelledby': 'shortcuts-title' },
  el('h2', { id: 'shortcuts-title' }, 'Keyboard shortcuts'),
  el('dl', {}, SHORTCUTS.flatMap(([k, what]) => [el('dt', {}, el('kbd', {}, k)), el('dd', {}, what)])),
  el('form', { method: 'dialog' }, el('button', { type: 'submit' }, 'Close')));
document.body.append(dialog);

function typing(target) {
  if (!(target instanceof Element)) return false;
  return target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]') !== null;
}

function links() { return [...list.querySelectorAll('li.conv > a[data-id]')]; }

function move(step) {
  const all = links();
  if (!all.length) return;
  let i = all.findIndex((a) => a.classList.contains('kb-cursor'));
  if (i < 0) i = all.findIndex((a) => a.getAttribute('aria-current') === 'true');
  const next = all[Math.max(0, Math.min(all.length - 1, i < 0 ? 0 : i + step))];
  for (const a of all) a.classList.remove('kb-cursor');
  next.classList.add('kb-cursor');
  next.focus();
  next.scrollIntoView({ block: 'nearest' });
}

function pane() { return document.getElementById('conversation-pane'); }

function setSelect(select, value) {
  if (!select) return false;
  select.value = value;
  select.dispatchEvent(new Event('change', { bubbles: true }));
  return true;
}

const ACTIONS = {
  j: () => move(1),
  k: () => move(-1),
  Enter: () => list.querySelector('a.kb-cursor')?.click(),
  r: () => pane().querySelector('#reply-body')?.focus(),
  n: () => pane().querySelector('#note-body')?.focus(),
  a: () => { const s = pane().querySelector('select[aria-label="Assignee"]'); if (s) { s.focus(); s.dispatchEvent(new Event('focus')); } },
  e: () => setSelect(pane().querySelector('select[aria-label="Status"]'), 'closed'),
  '?': () => (dialog.open ? dialog.close() : dialog.showModal()),
};

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented) return;
  if (typing(ev.target)) return;
  const run = ACTIONS[ev.key];
  if (!run) return;
  if (ev.key === 'Enter') {
    // on the row itself the link opens as links do; elsewhere (nothing focused) it opens the
    // row under the cursor; on any other control Enter is that control's
    const cursor = list.querySelector('a.kb-cursor');
    if (!cursor || ev.target === cursor || ev.target !== document.body) return;
  }
  ev.preventDefault();
  run();
});
