// An inbox as it stood (X-ASOF-1): pick a view and a moment; see what was in it and who
// could see it then, with everyone's role and policies of that moment (X-ASOF-1b).
import { api, el, formatTime, query } from '../api.js';
import { act, errorBox } from './common.js';
import { staffName } from './staff_names.js';

const VIEWS = [
  ['shared/unassigned', 'Unassigned (shared)'],
  ['all/directed', 'Everything routed to someone'],
  ['all/unrecognized', 'Unrecognized senders'],
];

export async function inboxAsOf(panel) {
  const view = el('select', { id: 'asof-view' },
    ...VIEWS.map(([v, name]) => el('option', { value: v }, name)));
  const when = el('input', { id: 'asof-at', type: 'datetime-local', required: true });
  const show = el('button', { type: 'button' }, 'Show');
  const err = errorBox();
  const out = el('div', { class: 'asof-result', 'aria-live': 'polite' });
  show.addEventListener('click', () => act(show, async () => {
    if (!when.value) throw new Error('Pick a date and time.');
    const at = new Date(when.value).toISOString();
    const r = await api(`/api/inboxes/${view.value}/as-of${query({ at })}`);
    const since = r.access_recorded_from
      ? `Roles and policies on record since ${formatTime(r.access_recorded_from)}.`
      : 'No roles or policies on record yet: today\'s are used.';
    out.replaceChildren(
      el('h3', {}, `${view.selectedOptions[0].textContent} at ${formatTime(r.at)}: `
        + `${r.items.length} conversation(s)`),
      el('p', {}, `Could see it then: ${r.visible_to.map(staffName).join(', ') || 'nobody'}. ${since}`),
      el('ul', {}, ...r.items.map((i) => el('li', {},
        el('a', { href: `/#c=${encodeURIComponent(i.conversation_id)}` }, who(i)),
        ` ${i.channel}, in it since ${formatTime(i.in_from)}`))));
  }, err));
  panel.append(
    el('p', {}, 'Show an inbox as it stood at a past moment, and who could see it then.'),
    el('div', { class: 'asof-controls' },
      el('div', {}, el('label', { for: 'asof-view' }, 'Inbox'), view),
      el('div', {}, el('label', { for: 'asof-at' }, 'At'), when), show),
    err, out);
}

// A conversation by who wrote it: the patient's name, else the unrecognized sender.
function who(item) {
  return item.patient_name || `Unrecognized sender ${item.sender}`;
}
