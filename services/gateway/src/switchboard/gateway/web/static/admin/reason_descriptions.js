// Reason descriptions (X-PATIENTPAGE-1): the one line the patient page shows under each
// reason, so a patient knows which to pick. Each reason starts with a sensible default; an
// admin rewords it here (PUT /api/admin/routing/reasons/{code}/description), or clears the
// box to put the default back.
import { api, el } from '../api.js';
import { act, applied, errorBox, loadRouting, state } from './common.js';

export async function reasonDescriptions(panel) {
  const rows = el('tbody');
  const render = () => {
    rows.replaceChildren(...(state.routing?.reasons || []).map((r) => {
      const id = `desc-${r.code}`;
      const input = el('input', {
        id, value: r.description || '', maxlength: 160, class: 'description',
        placeholder: 'No description: the patient sees the name only',
      });
      const err = errorBox();
      const save = el('button', { type: 'button', 'aria-label': `Save description of ${r.label}` },
        'Save');
      save.addEventListener('click', () => act(save, async () => {
        const result = await api(
          `/api/admin/routing/reasons/${encodeURIComponent(r.code)}/description`,
          { method: 'PUT', body: { description: input.value.trim() || null } });
        await loadRouting();
        applied(result, `Description of ${r.label}`);
        render();
      }, err));
      return el('tr', {},
        el('th', { scope: 'row' }, el('label', { for: id }, r.label)),
        el('td', {}, input, err), el('td', {}, save));
    }));
  };
  render();
  panel.append(
    el('p', {}, 'Patients see this line under each reason when they write from the patient '
      + 'page. Keep it short and plain. Clear a box and save to use the default again.'),
    el('table', { class: 'reason-descriptions' },
      el('thead', {}, el('tr', {}, ['Reason', 'Description', 'Action']
        .map((h) => el('th', { scope: 'col' }, h)))),
      rows));
}
