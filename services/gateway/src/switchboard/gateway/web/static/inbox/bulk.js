// Bulk actions on a selection in any list (I-BULK-1): a checkbox on each row, and a bar to
// assign, close, reopen or snooze the selected conversations at once. The gateway checks each
// one as it would alone; those the user may not act on are skipped and listed here.
// It reads the list from the DOM (rows with a[data-id]), so the list code stays its own.
import { announce, api, el } from '../api.js';
import { directory } from './common.js';

const list = document.getElementById('conversation-list');
const selected = new Set();

const count = el('span', { class: 'bulk-count', role: 'status' });
const assignee = el('select', { 'aria-label': 'Assign selected to' },
  el('option', { value: '' }, 'Unassigned'));
const snoozeHours = el('select', { 'aria-label': 'Snooze selected for' },
  el('option', { value: '1' }, '1 hour'), el('option', { value: '24' }, '1 day'),
  el('option', { value: 'reply' }, 'until the patient answers'));
const bar = el('div', { class: 'bulk-bar', role: 'toolbar', 'aria-label': 'Bulk actions', hidden: true },
  count,
  el('button', { type: 'button', onclick: () => run('close') }, 'Close selected'),
  el('button', { type: 'button', onclick: () => run('reopen') }, 'Reopen selected'),
  el('label', { class: 'inline' }, 'Assign to', assignee),
  el('button', { type: 'button', onclick: () => run('assign') }, 'Assign selected'),
  el('label', { class: 'inline' }, 'Snooze', snoozeHours),
  el('button', { type: 'button', onclick: () => run('snooze') }, 'Snooze selected'),
  el('button', { type: 'button', class: 'link', onclick: () => { selected.clear(); decorate(); } }, 'Clear selection'));
const selectAll = el('label', { class: 'inline bulk-all' },
  el('input', { type: 'checkbox', onchange: (ev) => toggleAll(ev.target.checked) }), 'Select all shown');
list.before(el('div', {}, selectAll, bar));

function rows() { return [...list.querySelectorAll('li.conv > a[data-id]')]; }

function toggleAll(on) {
  for (const a of rows()) { if (on) selected.add(a.dataset.id); else selected.delete(a.dataset.id); }
  decorate();
}

function fillAssignees() {
  if (assignee.options.length > 1) return;
  for (const [id, name] of directory.staff) assignee.append(el('option', { value: id }, name));
}

// A checkbox per row (again after every re-render of the list).
function decorate() {
  const shown = new Set();
  for (const a of rows()) {
    const id = a.dataset.id;
    shown.add(id);
    let box = a.parentElement.querySelector(':scope > .bulk-pick');
    if (!box) {
      box = el('input', {
        type: 'checkbox', class: 'bulk-pick', 'aria-label': `Select ${a.querySelector('.who')?.textContent || 'conversation'}`,
        onchange: (ev) => { if (ev.target.checked) selected.add(id); else selected.delete(id); decorate(); },
      });
      a.before(box);
    }
    box.checked = selected.has(id);
  }
  for (const id of [...selected]) if (!shown.has(id)) selected.delete(id);
  list.classList.toggle('bulk-on', true);
  bar.hidden = !selected.size;
  count.textContent = `${selected.size} selected`;
  selectAll.querySelector('input').checked = selected.size > 0 && selected.size === shown.size;
  if (selected.size) fillAssignees();
}

async function run(action) {
  const body = { action, conversation_ids: [...selected] };
  if (action === 'assign') body.assignee = assignee.value || null;
  if (action === 'snooze' && snoozeHours.value !== 'reply') {
    body.until = new Date(Date.now() + Number(snoozeHours.value) * 3600e3).toISOString();
  }
  try {
    const r = await api('/api/conversations/bulk', { method: 'POST', body });
    const done = r.applied.length + r.pending.length;
    const verb = { close: 'Closed', reopen: 'Reopened', assign: 'Assigned', snooze: 'Snoozed' }[action];
    const skipped = r.skipped.length ? `; skipped ${r.skipped.length}: ${[...new Set(r.skipped.map((s) => s.why))].join(', ')}` : '';
    announce(`${verb} ${done} conversation${done === 1 ? '' : 's'}${skipped}`, { error: r.skipped.length > 0 && !done });
    selected.clear();
    window.dispatchEvent(new Event('inbox:refresh'));
  } catch (e) { announce(`Bulk action failed: ${e.message}`, { error: true }); }
}

new MutationObserver(() => decorate()).observe(list, { childList: true });
decorate();
