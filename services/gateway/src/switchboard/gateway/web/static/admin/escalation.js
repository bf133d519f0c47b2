// Escalation and alert webhooks (X-NOTIFYADMIN-1, X-SLA-1, I-NOTIFY-1): response targets per
// reason, who is alerted first and who an overdue conversation is reassigned to, how alerts
// are combined; and the practice's outbound webhooks (GET/PUT/DELETE /api/notify/webhooks).
import { api, announce, el } from '../api.js';
import { act, checkboxes, errorBox, reasonLabel, state } from './common.js';
import { loadSettings, saveSettings } from './hours.js';

function staffName(staff, id) {
  const s = staff.find((x) => x.user_id === id);
  return s ? s.display_name : id;
}

export async function escalation(panel) {
  const [{ current }, staff] = await Promise.all([loadSettings(), api('/api/staff')]);
  const byReason = new Map(current.sla_by_reason.map((t) => [t.reason, t.minutes]));
  const reasons = (state.routing?.reasons || []).map((r) => r.code);
  for (const code of byReason.keys()) if (!reasons.includes(code)) reasons.push(code);
  const targetInputs = reasons.map((code) => {
    const input = el('input', {
      type: 'number', min: 1, max: 43200, size: 6, value: byReason.get(code) ?? '',
      'aria-label': `Response target for ${reasonLabel(code)}, minutes`,
      placeholder: current.sla_minutes ? String(current.sla_minutes) : '',
    });
    return { code, input };
  });
  const frontLine = checkboxes('Alerted first (front-line staff)',
    staff.map((s) => ({ value: s.user_id, label: s.display_name })),
    current.front_line_staff_ids, 'front-line');
  const reassign = el('select', { id: 'esc-reassign' },
    el('option', { value: '' }, 'Nobody: keep the assignee, alert again'),
    staff.map((s) => el('option', {
      value: s.user_id, selected: s.user_id === current.escalation_reassign_to,
    }, s.display_name)));
  const coalesce = el('input', {
    id: 'esc-coalesce', type: 'number', min: 0, max: 86400, size: 6,
    value: current.coalesce_seconds,
  });
  const err = errorBox();
  const save = el('button', { class: 'primary', type: 'submit' }, 'Save escalation');
  const form = el('form', { class: 'escalation' },
    el('p', {}, 'When a conversation is not answered within its response target (counted in '
      + 'business hours), it is escalated: the people below are alerted and, if you choose '
      + 'someone, it is reassigned to them.'),
    el('fieldset', {}, el('legend', {}, 'Response target by reason (minutes)'),
      el('p', { class: 'muted' }, current.sla_minutes
        ? `Empty: the practice's target, ${current.sla_minutes} minutes (set under Notifications).`
        : 'Empty: no target for that reason (the practice\'s target is set under Notifications).'),
      el('table', { class: 'targets' },
        el('tbody', {}, targetInputs.map(({ code, input }) => el('tr', {},
          el('th', { scope: 'row' }, reasonLabel(code)), el('td', {}, input, ' min')))))),
    frontLine.node,
    el('label', { for: 'esc-reassign' }, 'Reassign an overdue conversation to'), reassign,
    el('label', { for: 'esc-coalesce' },
      'Combine alerts about one conversation within (seconds)'), coalesce,
    el('div', { class: 'actions' }, save), err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(save, async () => {
      await saveSettings(current, {
        sla_by_reason: targetInputs.filter(({ input }) => input.value)
          .map(({ code, input }) => ({ reason: code, minutes: Number(input.value) })),
        front_line_staff_ids: frontLine.values(),
        escalation_reassign_to: reassign.value || null,
        coalesce_seconds: Number(coalesce.value || 0),
      });
      const who = current.escalation_reassign_to
        ? ` Overdue conversations go to ${staffName(staff, current.escalation_reassign_to)}.` : '';
      announce(`Escalation saved.${who}`);
    }, err);
  });
  panel.append(form);
}

export async function webhooks(panel) {
  const list = el('div');
  const secretBox = el('div', { 'aria-live': 'polite' });
  const reload = async () => {
    const { webhooks: all } = await api('/api/notify/webhooks');
    list.replaceChildren(all.length
      ? el('table', { class: 'webhooks' },
        el('thead', {}, el('tr', {}, ['Id', 'URL', 'Action']
          .map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, all.map((w) => {
          const remove = el('button', { type: 'button', class: 'danger',
            'aria-label': `Remove webhook ${w.subscription_id}` }, 'Remove');
          remove.addEventListener('click', () => act(remove, async () => {
            if (!window.confirm(`Remove the webhook "${w.subscription_id}"?`)) return;
            await api(`/api/notify/webhooks/${encodeURIComponent(w.subscription_id)}`,
              { method: 'DELETE' });
            announce(`Webhook ${w.subscription_id} removed.`);
            await reload();
          }));
          return el('tr', {}, el('td', {}, w.subscription_id), el('td', { class: 'url' }, w.url),
            el('td', {}, remove));
        })))
      : el('p', { class: 'muted' }, 'No webhooks yet.'));
  };
  const id = el('input', { id: 'wh-id', required: true, maxlength: 64, pattern: '[A-Za-z0-9][A-Za-z0-9_.@:\\-]*',
    placeholder: 'e.g. ehr-alerts' });
  const url = el('input', { id: 'wh-url', type: 'url', required: true, maxlength: 2000,
    placeholder: 'https://' });
  const err = errorBox();
  const add = el('button', { class: 'primary', type: 'submit' }, 'Add webhook');
  const form = el('form', { class: 'inline-form webhook-form' },
    el('label', { for: 'wh-id' }, 'Id', id), el('label', { for: 'wh-url' }, 'URL', url), add);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(add, async () => {
      const sub = id.value.trim();
      const r = await api(`/api/notify/webhooks/${encodeURIComponent(sub)}`,
        { method: 'PUT', body: { url: url.value.trim() } });
      form.reset();
      // The signing secret is shown once, now: the receiver checks signatures with it.
      secretBox.replaceChildren(el('div', { class: 'notice secret' },
        el('p', {}, `Webhook ${sub} saved. Its signing secret (shown only now; give it to the `
          + 'receiver, which checks each alert\'s signature with it):'),
        el('code', {}, r.secret || '')));
      announce(`Webhook ${sub} saved.`);
      await reload();
    }, err);
  });
  panel.append(
    el('p', {}, 'Alerts can be posted, signed, to your own systems. Staff choose a webhook by '
      + 'its id as one of their alert channels.'),
    list, el('h3', {}, 'Add or replace a webhook'), form, err, secretBox);
  await reload();
}
