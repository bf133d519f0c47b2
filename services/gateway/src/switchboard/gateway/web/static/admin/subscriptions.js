// Subscriptions (R-SUB-1, R-SUB-3) and the coverage warning (X-COVERAGE-1).
import { api, el } from '../api.js';
import {
  UNKNOWN_LOCATION, UNKNOWN_PROVIDER, act, applied, checkboxes, errorBox, loadRouting,
  locationName, providerName, reasonLabel, state,
} from './common.js';

// The editor for one person's subscription. `choices`: {reasons, locations, providers}.
function editor(choices, sub, onSave) {
  const reasons = checkboxes('Reasons',
    choices.reasons.map((r) => ({ value: r.code, label: r.label })), sub.reasons, 'reasons');
  const locations = checkboxes('Locations',
    [...choices.locations, UNKNOWN_LOCATION].map((l) => ({
      value: l.id, label: l.active === false ? `${l.name} (inactive)` : l.name,
    })), sub.locations, 'locations');
  const providers = checkboxes('Providers',
    [...choices.providers, UNKNOWN_PROVIDER].map((p) => ({ value: p.id, label: p.name })),
    sub.providers, 'providers');
  const unassigned = el('input', {
    type: 'checkbox', checked: (sub.inboxes || []).includes('unassigned'),
  });
  const err = errorBox();
  const save = el('button', { class: 'primary', type: 'submit' }, 'Save subscriptions');
  const form = el('form', { class: 'subscription' },
    reasons.node, locations.node,
    el('details', { open: (sub.providers || []).length > 0 },
      el('summary', {}, 'Providers (used when routing by provider is on)'), providers.node),
    el('label', { class: 'inline' }, unassigned, 'Also watch the shared Unassigned inbox'),
    el('div', { class: 'actions' }, save), err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const others = (sub.inboxes || []).filter((i) => i !== 'unassigned');
    act(save, () => onSave({
      reasons: reasons.values(),
      locations: locations.values(),
      providers: providers.values(),
      inboxes: unassigned.checked ? ['unassigned', ...others] : others,
    }), err);
  });
  return form;
}

function describeSub(sub) {
  const parts = [];
  if (sub.reasons.length) parts.push(sub.reasons.map(reasonLabel).join(', '));
  if (sub.locations.length) parts.push(`at ${sub.locations.map(locationName).join(', ')}`);
  return parts.join(' ') || 'nothing';
}

// The coverage warning: every reason x location nobody receives.
async function renderCoverage(box) {
  box.replaceChildren(el('h3', {}, 'Coverage'));
  let cov;
  try {
    cov = await api('/api/admin/routing/coverage');
  } catch (e) {
    box.append(el('p', { class: 'form-error' }, `Coverage unavailable: ${e.message}`));
    return;
  }
  const gaps = cov.gaps || [];
  // The router says which state coverage is in (I-COVERAGE-1); an older router without
  // `state` is read from the gaps alone.
  const kind = cov.state || (gaps.length ? 'gaps' : 'covered');
  if (kind === 'routing_off') {
    box.className = 'coverage info';
    box.append(el('p', {}, 'Routing is off: the practice does not route by reason, location or '
      + 'provider, so every message goes to the shared Unassigned inbox. Turn routing on in '
      + 'Routing settings.'));
    return;
  }
  if (kind === 'nobody_subscribed') {
    box.className = 'coverage warning';
    box.append(el('p', {}, el('strong', {}, 'Warning: nobody is subscribed. '),
      'Every message goes only to the shared Unassigned inbox until someone subscribes to '
      + 'what routing uses.'));
    return;
  }
  if (kind === 'covered') {
    box.className = 'coverage ok';
    box.append(el('p', {}, 'Every reason patients are offered, at every location, has someone '
      + 'who receives it.'));
    return;
  }
  box.className = 'coverage warning';
  box.append(
    el('p', {}, el('strong', {}, `Warning: nobody receives ${gaps.length} `
      + `combination${gaps.length === 1 ? '' : 's'}. `),
    'Messages like these go only to the shared Unassigned inbox:'),
    el('ul', { 'aria-label': 'Combinations nobody receives' }, gaps.map((g) => el('li', {},
      [g.reason ? reasonLabel(g.reason) : 'Any reason',
        g.location ? locationName(g.location) : 'any location',
        g.provider ? providerName(g.provider) : null].filter(Boolean).join(' × ')))));
}

// Admins: pick anyone of the practice.
export function adminSubscriptions(panel) {
  const coverage = el('section', { class: 'coverage', 'aria-live': 'polite' });
  const slot = el('div');
  // People only: an operator or API client never receives routed messages.
  const staff = (state.routing.staff || []).filter((s) => ['staff', 'practice_admin'].includes(s.role));
  const picker = el('select', { id: 'sub-staff' },
    el('option', { value: '' }, 'Choose a staff member…'),
    staff.map((s) => el('option', { value: s.user_id }, s.display_name)));
  const summary = el('div');
  const show = () => {
    const id = picker.value;
    slot.replaceChildren();
    if (!id) return;
    const r = state.routing;
    const sub = (r.subscriptions || []).find((s) => s.staff_id === id)
      || { reasons: [], locations: [], providers: [], inboxes: [] };
    slot.append(editor(r, sub, async (body) => {
      const result = await api(`/api/admin/routing/subscriptions/${encodeURIComponent(id)}`,
        { method: 'PUT', body });
      await loadRouting();
      renderSummary();
      await renderCoverage(coverage);
      const who = picker.selectedOptions[0].textContent;
      applied(result, `Subscriptions of ${who}`);
    }));
  };
  const renderSummary = () => {
    const subs = (state.routing.subscriptions || []).filter(
      (s) => s.reasons.length || s.locations.length || s.providers.length);
    const name = (id) => (staff.find((s) => s.user_id === id) || {}).display_name || id;
    summary.replaceChildren(el('h3', {}, 'Who receives what'),
      subs.length
        ? el('ul', { class: 'plain' }, subs.map((s) => el('li', {},
          el('strong', {}, name(s.staff_id)), `: ${describeSub(s)}`)))
        : el('p', { class: 'muted' }, 'Nobody is subscribed yet.'));
  };
  picker.addEventListener('change', show);
  panel.append(
    el('p', { class: 'muted' },
      'A staff member receives a message when it matches what they subscribed to in every '
      + 'dimension that routing uses (reason, location, provider).'),
    el('label', { for: 'sub-staff' }, 'Staff member'), picker, slot, coverage, summary);
  renderSummary();
  renderCoverage(coverage);
}

// Staff: their own subscriptions only (R-SUB-3).
export async function ownSubscriptions(panel, user) {
  const mine = await api('/api/me/subscriptions');
  const on = ['reason', 'location', 'provider'].filter((d) => mine[`${d}_routing`]);
  panel.append(
    el('p', { class: 'muted' }, on.length
      ? `Your practice routes messages by ${on.join(', ')}.`
      : 'Your practice does not route by reason, location or provider at the moment.'),
    editor(mine, mine.subscription, async (body) => {
      const result = await api(
        `/api/admin/routing/subscriptions/${encodeURIComponent(user.user_id)}`,
        { method: 'PUT', body });
      applied(result, 'Your subscriptions');
    }));
}
