// "Reasons patients choose from" (R-REASON-1..3): every reason of the catalogue, marked
// offered or hidden now, with why a hidden one is hidden. What patients are offered comes
// from the router (GET /api/routing/reasons), so this list cannot disagree with the picker.
import { api, el } from '../api.js';

export function reasonRows(catalogue, offeredCodes, reasonRouting) {
  const offered = new Set(offeredCodes);
  return catalogue.map((r) => {
    if (!reasonRouting) return { ...r, offered: false, why: 'not asked: routing by reason is off' };
    if (r.code === 'other') return { ...r, offered: true, why: 'always offered' };
    if (offered.has(r.code)) return { ...r, offered: true, why: 'someone subscribes to it' };
    return { ...r, offered: false, why: 'hidden: nobody subscribes to it' };
  });
}

export function offeredReasons(routing) {
  const box = el('section', { class: 'reason-offer', 'aria-labelledby': 'reasons-title' },
    el('h3', { id: 'reasons-title' }, 'Reasons patients choose from'),
    el('p', { class: 'muted' }, 'Loading…'));
  api('/api/routing/reasons').then((offer) => {
    const rows = reasonRows(routing.reasons || offer.catalogue || [],
      (offer.reasons || []).map((r) => r.code), offer.reason_routing);
    const shown = rows.filter((r) => r.offered).length;
    box.replaceChildren(box.firstChild,
      el('p', { class: 'muted' }, offer.reason_routing
        ? `Patients are offered ${shown} of ${rows.length} reasons now: a reason appears once `
          + 'someone subscribes to it (Other always does).'
        : 'Patients are not asked for a reason: routing by reason is off.'),
      el('ul', { class: 'plain reason-status', 'aria-label': 'Reasons and whether patients see them' },
        rows.map((r) => el('li', { class: r.offered ? 'offered' : 'hidden-reason' },
          el('span', { class: 'reason-name' }, r.label),
          el('span', { class: `badge ${r.offered ? 'ok' : ''}` }, r.offered ? 'Offered' : 'Hidden'),
          el('span', { class: 'muted' }, r.why)))));
  }).catch((e) => {
    box.replaceChildren(box.firstChild, el('p', { class: 'form-error' }, `Unavailable: ${e.message}`));
  });
  return box;
}
