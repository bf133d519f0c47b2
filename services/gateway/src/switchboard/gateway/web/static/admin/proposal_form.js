// Saving a routing proposal from the screen (X-WHATIF-1c): a name, the routing dimensions to
// turn on or off (or keep), and the people whose subscription would change, each edited from
// what they have today. POST /api/admin/routing/proposals keeps it to replay and apply later.
// A person's providers and inbox subscriptions are carried over as they are today.
import { api, el } from '../api.js';
import {
  UNKNOWN_LOCATION, act, checkboxes, errorBox, locationName, reasonLabel, state,
} from './common.js';
import { staffName } from './staff_names.js';

const DIMENSIONS = [
  ['reason_routing', 'Route by reason'],
  ['location_routing', 'Route by location'],
  ['provider_routing', 'Route by provider'],
];

function dimensionPicker(key, label) {
  const today = state.routing?.[key] ? 'on' : 'off';
  const select = el('select', { id: `proposal-${key}` },
    el('option', { value: '' }, `Keep as today (${today})`),
    el('option', { value: 'true' }, 'On'),
    el('option', { value: 'false' }, 'Off'));
  return {
    node: el('label', { for: `proposal-${key}` }, label, select),
    value: () => (select.value === '' ? null : select.value === 'true'),
  };
}

function describe(change) {
  const reasons = change.reasons.map(reasonLabel).join(', ') || 'no reasons';
  const locations = change.locations.map(locationName).join(', ') || 'no locations';
  return `${staffName(change.staff_id)}: ${reasons}; ${locations}`;
}

// The people whose subscription the proposal replaces: pick one, edit, add; listed below.
function subscriptionChanges() {
  const changes = new Map();
  const staff = state.routing?.staff || [];
  const who = el('select', { id: 'proposal-staff' },
    el('option', { value: '' }, 'Choose a person'),
    ...staff.map((s) => el('option', { value: s.user_id }, s.display_name)));
  const editor = el('div', { class: 'proposal-editor' });
  const list = el('ul', { class: 'plain', 'aria-label': 'Subscription changes' });
  const renderList = () => {
    list.replaceChildren(...(changes.size ? [...changes.values()].map((c) => {
      const remove = el('button', { type: 'button', class: 'link',
        'aria-label': `Remove the change for ${staffName(c.staff_id)}` }, 'Remove');
      remove.addEventListener('click', () => { changes.delete(c.staff_id); renderList(); });
      return el('li', {}, describe(c), ' ', remove);
    }) : [el('li', { class: 'muted' }, 'Nobody\'s subscription changes.')]));
  };
  who.addEventListener('change', () => {
    const id = who.value;
    if (!id) { editor.replaceChildren(); return; }
    const today = (state.routing?.subscriptions || []).find((s) => s.staff_id === id)
      || { reasons: [], locations: [], providers: [], inboxes: [] };
    const start = changes.get(id) || today;
    const reasons = checkboxes('Reasons',
      (state.routing?.reasons || []).map((r) => ({ value: r.code, label: r.label })),
      start.reasons, 'proposal-reasons');
    const locations = checkboxes('Locations',
      [...(state.routing?.locations || []), UNKNOWN_LOCATION]
        .map((l) => ({ value: l.id, label: l.name })), start.locations, 'proposal-locations');
    const add = el('button', { type: 'button' }, `Add the change for ${staffName(id)}`);
    add.addEventListener('click', () => {
      changes.set(id, {
        staff_id: id, reasons: reasons.values(), locations: locations.values(),
        providers: today.providers, inboxes: today.inboxes,
      });
      renderList();
      editor.replaceChildren();
      who.value = '';
    });
    editor.replaceChildren(reasons.node, locations.node, add);
  });
  renderList();
  return {
    node: el('fieldset', {}, el('legend', {}, 'Subscriptions that would change'),
      el('label', { for: 'proposal-staff' }, 'Person '), who, editor, list),
    value: () => (changes.size ? [...changes.values()] : null),
    clear: () => { changes.clear(); renderList(); editor.replaceChildren(); who.value = ''; },
  };
}

export function proposalForm(onSaved) {
  const name = el('input', { id: 'proposal-name', required: true, maxlength: 200,
    autocomplete: 'off' });
  const dims = DIMENSIONS.map(([key, label]) => [key, dimensionPicker(key, label)]);
  const subs = subscriptionChanges();
  const err = errorBox();
  const save = el('button', { class: 'primary', type: 'submit' }, 'Save proposal');
  const form = el('form', { class: 'proposal-form' },
    el('label', { for: 'proposal-name' }, 'Proposal name', name),
    el('fieldset', {}, el('legend', {}, 'Routing'),
      el('div', { class: 'inline-form' }, ...dims.map(([, d]) => d.node))),
    subs.node,
    el('div', { class: 'actions' }, save), err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(save, async () => {
      const body = { name: name.value.trim(), subscriptions: subs.value() };
      for (const [key, d] of dims) body[key] = d.value();
      const saved = await api('/api/admin/routing/proposals', { method: 'POST', body });
      form.reset();
      subs.clear();
      await onSaved(saved);
    }, err);
  });
  return el('details', { class: 'new-proposal' },
    el('summary', {}, 'Save a new proposal'), form);
}
