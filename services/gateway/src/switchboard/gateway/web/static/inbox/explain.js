// "Why was this routed here?" (X-EXPLAIN-1, I-EXPLAIN-1): the gateway's sentence with names,
// a few notes, "why for" one staff member, and, for practice admins only, the raw record
// (rule ids and codes) in a "Details" disclosure. Fetched when the box is opened.
import { api, el, query } from '../api.js';
import { directory } from './common.js';

// The people a "why for" question can be about: staff and admins, never an operator or an
// API client (the directory says which role each account has).
export function staffChoices(user) {
  const people = [...directory.staff]
    .filter(([id]) => id !== user.user_id && directory.isPerson(id))
    .sort((a, b) => a[1].localeCompare(b[1]));
  return [[user.user_id, `${user.display_name} (me)`], ...people];
}

function details(steps) {
  return el('details', { class: 'why-details' },
    el('summary', {}, 'Details for admins (rule ids and codes)'),
    el('ol', {}, steps.map((s) => el('li', {},
      el('code', {}, s.rule), ' ', s.outcome,
      Object.keys(s.inputs || {}).length
        ? el('div', { class: 'muted why-inputs' }, Object.entries(s.inputs)
          .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') || '—' : v ?? '—'}`).join(' · '))
        : null))));
}

// Fills `box` (a <details>) for the conversation `conv` as `user` sees it.
export function renderWhy(box, conv, user) {
  const body = el('div', { class: 'why-body', 'aria-live': 'polite' },
    el('p', { class: 'muted' }, 'Loading…'));
  const out = el('p', { class: 'why-staff', 'aria-live': 'polite' });
  const staff = el('select', { 'aria-label': 'Staff member' },
    staffChoices(user).map(([id, name]) => el('option', { value: id }, name)));
  const load = async (staffId) => {
    try {
      const r = await api(`/api/conversations/${conv.conversation_id}/why${query({ staff_id: staffId })}`);
      body.replaceChildren(...[
        el('p', { class: 'why-sentence' }, r.sentence),
        r.notes.length ? el('ul', { class: 'why-notes' }, r.notes.map((n) => el('li', {}, n))) : null,
        r.details ? details(r.details) : null,
      ].filter(Boolean));  // replaceChildren would print a null
      if (staffId) out.textContent = r.staff || 'No routing decision yet.';
    } catch (e) {
      body.replaceChildren(el('p', { class: 'error-box' }, `The explanation is unavailable: ${e.message}`));
    }
  };
  box.replaceChildren(
    el('summary', {}, 'Why was this routed here?'),
    body,
    el('div', { class: 'inline-form' }, el('label', { class: 'inline' }, 'Why for', staff),
      el('button', { type: 'button', onclick: () => load(staff.value) }, 'Explain')),
    out);
  box.ontoggle = () => { if (box.open) load(); };
  if (box.open) load();
}
