// Routing proposals (X-WHATIF-1, 1b, 1c): the saved what-ifs of the practice. Replaying one
// shows, per person, the reason x location combinations they would gain or lose, with
// example conversations; applying one switches it on as one change.
import { announce, api, el, formatTime } from '../api.js';
import {
  act, errorBox, loadRouting, locationName, reasonLabel,
} from './common.js';
import { proposalForm } from './proposal_form.js';
import { staffName } from './staff_names.js';

const DAYS = 7;

function comboList(combos) {
  if (!combos.length) return el('span', { class: 'muted' }, 'none');
  return el('ul', { class: 'combos' }, ...combos.map((c) => el('li', {},
    `${reasonLabel(c.reason)} × ${locationName(c.location)}: ${c.messages} message(s) `,
    ...c.examples.map((id, n) => el('a', { href: `/#c=${encodeURIComponent(id)}`,
      'aria-label': `Example conversation ${n + 1} of ${reasonLabel(c.reason)}` },
    `example ${n + 1} `)))));
}

// One row per person who gains or loses anything.
export function changesTable(report) {
  const people = [...new Set(report.combos.map((c) => c.staff_id))].sort();
  if (!people.length) {
    return el('p', { class: 'whatif-none' }, 'Nobody would gain or lose any message.');
  }
  return el('table', { class: 'whatif-people' },
    el('caption', {}, `${report.messages} messages of the last ${report.days} days replayed in `
      + `order; ${report.changed} would reach different people.`),
    el('thead', {}, el('tr', {}, ['Person', 'Would gain', 'Would lose']
      .map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...people.map((who) => el('tr', {},
      el('th', { scope: 'row' }, staffName(who)),
      el('td', {}, comboList(report.combos.filter((c) => c.staff_id === who && c.change === 'gained'))),
      el('td', {}, comboList(report.combos.filter((c) => c.staff_id === who && c.change === 'lost')))))));
}

export async function routingProposals(panel) {
  const list = el('div', { class: 'proposals' });
  const render = async () => {
    const proposals = await api('/api/admin/routing/proposals');
    if (!proposals.length) {
      list.replaceChildren(el('p', {}, 'No saved proposals yet.'));
      return;
    }
    list.replaceChildren(...proposals.map((p) => {
      const out = el('div', { class: 'whatif-result', 'aria-live': 'polite' });
      const err = errorBox();
      const replay = el('button', { type: 'button',
        'aria-label': `Replay ${p.name} over the last ${DAYS} days` }, `Replay the last ${DAYS} days`);
      replay.addEventListener('click', () => act(replay, async () => {
        const report = await api(
          `/api/admin/routing/proposals/${p.proposal_id}/what-if?days=${DAYS}`, { method: 'POST' });
        out.replaceChildren(changesTable(report));
      }, err));
      const apply = el('button', { type: 'button', disabled: Boolean(p.applied_at),
        'aria-label': p.applied_at ? null : `Apply ${p.name} in one step` },
        p.applied_at ? `Applied ${formatTime(p.applied_at)}` : 'Apply in one step');
      apply.addEventListener('click', () => act(apply, async () => {
        const result = await api(`/api/admin/routing/proposals/${p.proposal_id}/apply`,
          { method: 'POST' });
        announce(result.applied === false
          ? `Proposal ${p.name} recorded; the router is still applying it.`
          : `Proposal ${p.name} applied.`);
        await loadRouting(); // the other tabs show the settings it switched on
        await render();
      }, err));
      return el('section', { class: 'proposal' },
        el('h3', {}, p.name),
        el('p', {}, `Saved by ${staffName(p.created_by)}, ${formatTime(p.created_at)}`),
        el('div', { class: 'actions' }, replay, apply), err, out);
    }));
  };
  panel.append(el('p', {}, 'A proposal is replayed against past messages before it is '
    + 'switched on: who would gain or lose which reasons at which locations.'),
  proposalForm(async (saved) => {
    announce(`Proposal ${saved.name} saved.`);
    await render();
  }), list);
  await render();
}
