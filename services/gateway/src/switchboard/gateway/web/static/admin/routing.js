// Routing settings, Sync with EHR, voicemail extensions (the seed's set-up steps 1-3).
import { api, announce, el } from '../api.js';
import { act, applied, errorBox, loadRouting, reasonLabel, state } from './common.js';
import { offeredReasons } from './reasons.js';

const DIMENSIONS = [
  ['reason_routing', 'Route by reason', 'Patients pick a reason; subscribers of that reason receive it.'],
  ['location_routing', 'Route by location',
    'The patient\'s location (from the EHR) decides who receives it.'],
  ['provider_routing', 'Route by provider', 'The patient\'s provider decides who receives it.'],
];

function activeList(title, items) {
  return el('div', { class: 'list-col' },
    el('h3', {}, title),
    items.length
      ? el('ul', { class: 'plain' }, items.map((x) => el('li', {}, x.name,
        x.active === false ? el('span', { class: 'badge' }, 'inactive') : null)))
      : el('p', { class: 'muted' }, 'None yet: use Sync with EHR.'));
}

export function routingSettings(panel, rerender) {
  const r = state.routing;
  const boxes = DIMENSIONS.map(([key]) => el('input', {
    type: 'checkbox', id: `set-${key}`, checked: !!r[key],
    'aria-describedby': `set-${key}-help`,
  }));
  const err = errorBox();
  const save = el('button', { class: 'primary', type: 'submit' }, 'Save routing settings');
  const form = el('form', {},
    el('fieldset', {}, el('legend', {}, 'Route messages by'),
      DIMENSIONS.map(([key, label, help], i) => el('div', { class: 'setting' },
        el('label', { class: 'inline', for: `set-${key}` }, boxes[i], label),
        el('p', { class: 'muted help', id: `set-${key}-help` }, help)))),
    el('div', { class: 'actions' }, save), err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = {};
    DIMENSIONS.forEach(([key], i) => { body[key] = boxes[i].checked; });
    act(save, async () => {
      const result = await api('/api/admin/routing/settings', { method: 'PATCH', body });
      await loadRouting();
      applied(result, 'Routing settings');
      rerender();
    }, err);
  });

  // Auto-assignment of the shared Unassigned inbox (X-BALANCE-1).
  const policy = el('select', { id: 'auto-assign' },
    el('option', { value: '' }, 'Off: staff take messages themselves'),
    el('option', { value: 'round_robin' }, 'Round robin'),
    el('option', { value: 'least_open' }, 'Fewest open conversations'));
  policy.value = (r.auto_assign || {}).unassigned || '';
  const policyErr = errorBox();
  const policySave = el('button', { type: 'button' }, 'Save auto-assignment');
  policySave.addEventListener('click', () => act(policySave, async () => {
    const result = await api('/api/admin/routing/auto-assign/unassigned',
      { method: 'PUT', body: { policy: policy.value || null } });
    await loadRouting();
    applied(result, 'Auto-assignment');
  }, policyErr));

  panel.append(
    form,
    offeredReasons(r),
    el('div', { class: 'two-col' },
      activeList('Locations', r.locations), activeList('Providers', r.providers)),
    el('p', { class: 'muted' }, 'Locations and providers come from the EHR; inactive ones are '
      + 'turned off there. Use Sync with EHR to fetch them now.'),
    el('h3', {}, 'Shared Unassigned inbox'),
    el('label', { for: 'auto-assign' }, 'Auto-assign new messages'), policy, ' ', policySave,
    policyErr);
}

export function ehrSync(panel, rerender) {
  const result = el('div', { 'aria-live': 'polite' });
  const err = errorBox();
  const button = el('button', { class: 'primary', type: 'button' }, 'Sync with EHR');
  button.addEventListener('click', () => act(button, async () => {
    result.replaceChildren(el('p', { class: 'muted' }, 'Syncing…'));
    try {
      const r = await api('/api/admin/ehr-sync', { method: 'POST' });
      await loadRouting();
      const text = `Synced ${r.locations} location${r.locations === 1 ? '' : 's'} and `
        + `${r.providers} provider${r.providers === 1 ? '' : 's'}`
        + (r.invalid ? `; ${r.invalid} record${r.invalid === 1 ? ' was' : 's were'} invalid` : '')
        + '.';
      result.replaceChildren(el('p', { class: 'ok-text' }, text));
      announce(text);
      rerender('sync');
    } catch (e) {
      result.replaceChildren();
      throw e;
    }
  }, err));
  const r = state.routing;
  panel.append(
    el('p', {}, 'Fetch the practice\'s locations and providers from its EHR now, so they can be '
      + 'chosen in routing settings and subscriptions. The EHR is also read on a schedule.'),
    button, err, result,
    el('p', { class: 'muted' },
      `Known now: ${r.locations.length} locations, ${r.providers.length} providers.`));
}

export function voicemail(panel, rerender) {
  const r = state.routing;
  const map = r.voicemail_extensions || {};
  const targetText = (t) => (t.startsWith('shared:')
    ? `Shared inbox ${t.slice(7)}` : reasonLabel(t));
  const rows = Object.keys(map).sort().map((ext) => {
    const remove = el('button', {
      type: 'button', class: 'danger', 'aria-label': `Remove extension ${ext}`,
    }, 'Remove');
    remove.addEventListener('click', () => act(remove, async () => {
      const result = await api(`/api/admin/routing/voicemail-extensions/${encodeURIComponent(ext)}`,
        { method: 'PUT', body: { target: null } });
      await loadRouting();
      applied(result, `Extension ${ext} removal`);
      rerender();
    }));
    return el('tr', {}, el('td', {}, ext), el('td', {}, targetText(map[ext])), el('td', {}, remove));
  });
  const ext = el('input', {
    id: 'vm-ext', inputmode: 'numeric', pattern: '[0-9*#]{1,16}', required: true, size: 8,
  });
  const target = el('select', { id: 'vm-target' },
    r.reasons.map((x) => el('option', { value: x.code }, x.label)),
    el('option', { value: '__shared' }, 'A shared inbox…'));
  const shared = el('input', { id: 'vm-shared', pattern: '[a-z0-9][a-z0-9_-]{0,62}' });
  const sharedLabel = el('label', { for: 'vm-shared', hidden: true }, 'Shared inbox id ',
    shared);
  target.addEventListener('change', () => { sharedLabel.hidden = target.value !== '__shared'; });
  const err = errorBox();
  const save = el('button', { class: 'primary', type: 'submit' }, 'Map extension');
  const form = el('form', { class: 'inline-form' },
    el('label', { for: 'vm-ext' }, 'Extension ', ext),
    el('label', { for: 'vm-target' }, 'Send to ', target), sharedLabel, save, err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = target.value === '__shared' ? `shared:${shared.value.trim()}` : target.value;
    act(save, async () => {
      const result = await api(
        `/api/admin/routing/voicemail-extensions/${encodeURIComponent(ext.value.trim())}`,
        { method: 'PUT', body: { target: value } });
      await loadRouting();
      applied(result, `Extension ${ext.value.trim()}`);
      rerender();
    }, err);
  });
  panel.append(
    el('p', {}, 'A caller who picks an extension in the phone menu leaves a voicemail that is '
      + 'routed as that reason, or to a shared inbox.'),
    rows.length
      ? el('table', {}, el('caption', { class: 'visually-hidden' }, 'Voicemail extensions'),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Extension'),
          el('th', { scope: 'col' }, 'Routed to'), el('th', { scope: 'col' }, 'Action'))),
        el('tbody', {}, rows))
      : el('p', { class: 'muted' }, 'No extensions mapped yet.'),
    el('h3', {}, 'Map an extension'), form);
}
