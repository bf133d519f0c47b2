// Sending lines and labels (I-LINE-1), reply templates, notification settings (I-NOTIFY-1).
import { api, announce, el } from '../api.js';
import { act, errorBox, reasonLabel } from './common.js';

const CHANNEL = { sms: 'SMS', voicemail: 'Voicemail', email: 'Email' };

export async function lines(panel) {
  const { lines: all } = await api('/api/lines');
  const rows = all.map((line) => {
    const name = `${CHANNEL[line.channel]} ${line.address}`;
    const input = el('input', {
      value: line.label || '', maxlength: 80, 'aria-label': `Label for ${name}`,
      placeholder: 'No label: the number is shown',
    });
    const save = el('button', { type: 'button', 'aria-label': `Save label for ${name}` }, 'Save');
    const err = errorBox();
    save.addEventListener('click', () => act(save, async () => {
      const r = await api(
        `/api/admin/lines/${line.channel}/${encodeURIComponent(line.address)}/label`,
        { method: 'PUT', body: { label: input.value.trim() || null } });
      announce(r.applied === false
        ? `Label of ${name} recorded; it shows on new messages shortly.`
        : `Label of ${name} saved; new messages on this line show it.`);
    }, err));
    return el('tr', {},
      el('td', {}, CHANNEL[line.channel]), el('td', {}, line.address),
      el('td', {}, input, err), el('td', {}, save));
  });
  panel.append(
    el('p', {}, 'The practice\'s numbers and mailboxes. A line\'s label is shown on every '
      + 'message it receives, so staff know which line a patient wrote to.'),
    rows.length
      ? el('table', { class: 'lines' },
        el('thead', {}, el('tr', {}, ['Channel', 'Number or address', 'Label', 'Action']
          .map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, rows))
      : el('p', { class: 'muted' }, 'This practice has no lines configured.'),
    el('p', { class: 'muted' }, 'Adding or removing a number is done by your Switchboard '
      + 'operator (it is provisioned with the SMS provider).'));
}

// Sample values for the template preview.
const SAMPLE = {
  first_name: 'Ana', last_name: 'Rivera', full_name: 'Ana Rivera', location: 'Manhattan',
};

function preview(body, staffName) {
  const values = { ...SAMPLE, staff_name: staffName };
  return body.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (m, k) => (k in values ? values[k] : m));
}

function slug(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60)
    || 'template';
}

export async function templates(panel, user) {
  const data = await api('/api/templates');
  const list = el('div');
  const formSlot = el('div');
  const render = (items) => {
    list.replaceChildren(items.length
      ? el('table', { class: 'templates' },
        el('thead', {}, el('tr', {}, ['Name', 'Text', 'Actions']
          .map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, items.map((t) => {
          const edit = el('button', { type: 'button', 'aria-label': `Edit ${t.name}` }, 'Edit');
          const del = el('button', {
            type: 'button', class: 'danger', 'aria-label': `Delete ${t.name}`,
          }, 'Delete');
          edit.addEventListener('click', () => openForm(t));
          del.addEventListener('click', () => act(del, async () => {
            if (!window.confirm(`Delete the template "${t.name}"?`)) return;
            await api(`/api/admin/templates/${encodeURIComponent(t.template_id)}`,
              { method: 'DELETE' });
            announce(`Template ${t.name} deleted.`);
            await reload();
          }));
          return el('tr', {}, el('td', {}, t.name), el('td', { class: 'body' }, t.body),
            el('td', { class: 'nowrap' }, edit, ' ', del));
        })))
      : el('p', { class: 'muted' }, 'No templates yet.'));
  };
  const reload = async () => render((await api('/api/templates')).templates);

  const openForm = (t) => {
    const name = el('input', { id: 'tpl-name', required: true, maxlength: 80, value: t?.name || '' });
    const body = el('textarea', {
      id: 'tpl-body', required: true, rows: 5, maxlength: 2000, 'aria-describedby': 'tpl-help',
    });
    body.value = t?.body || '';
    // X-LANG-4: the Spanish words, used for patients whose preferred language is Spanish.
    const bodyEs = el('textarea', { id: 'tpl-body-es', rows: 4, maxlength: 2000 });
    bodyEs.value = t?.bodies?.es || '';
    const out = el('p', { class: 'preview', id: 'tpl-preview' });
    const update = () => { out.textContent = preview(body.value, user.display_name); };
    body.addEventListener('input', update);
    update();
    const inserts = data.placeholders.map((p) => {
      const b = el('button', { type: 'button', class: 'chip',
        'aria-label': `Insert placeholder ${p}` }, `{{${p}}}`);
      b.addEventListener('click', () => {
        const at = body.selectionStart ?? body.value.length;
        body.setRangeText(`{{${p}}}`, at, body.selectionEnd ?? at, 'end');
        body.focus();
        update();
      });
      return b;
    });
    const err = errorBox();
    body.addEventListener('input', () => { err.hidden = true; });
    const save = el('button', { class: 'primary', type: 'submit' }, 'Save template');
    const cancel = el('button', { type: 'button' }, 'Cancel');
    cancel.addEventListener('click', () => formSlot.replaceChildren());
    const form = el('form', { class: 'card template-form', 'aria-labelledby': 'tpl-title' },
      el('h3', { id: 'tpl-title' }, t ? `Edit template: ${t.name}` : 'New template'),
      el('label', { for: 'tpl-name' }, 'Name'), name,
      el('label', { for: 'tpl-body' }, 'Text'), body,
      el('label', { for: 'tpl-body-es' }, 'Text in Spanish (optional)'), bodyEs,
      el('p', { class: 'muted', id: 'tpl-help' },
        'Placeholders are filled in when a reply is written. Allowed: ',
        data.placeholders.map((p) => `{{${p}}}`).join(', '), '.'),
      el('div', { class: 'chips', role: 'group', 'aria-label': 'Insert a placeholder' }, inserts),
      el('h4', {}, 'Preview (sample patient Ana Rivera)'), out,
      err, el('div', { class: 'actions' }, save, ' ', cancel));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const id = t?.template_id || `${slug(name.value)}-${Date.now().toString(36)}`;
      act(save, async () => {
        await api(`/api/admin/templates/${encodeURIComponent(id)}`,
          { method: 'PUT', body: { name: name.value, body: body.value, bodies: { ...(t?.bodies || {}), es: bodyEs.value } } });
        announce(`Template ${name.value.trim()} saved.`);
        formSlot.replaceChildren();
        await reload();
      }, err);
    });
    formSlot.replaceChildren(form);
    name.focus();
  };
  const add = el('button', { type: 'button', class: 'primary' }, 'New template');
  add.addEventListener('click', () => openForm(null));
  panel.append(
    el('p', {}, 'Canned replies staff can insert when answering a patient.'),
    add, formSlot, list);
  render(data.templates);
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

// What the form does not edit but keeps: a summary, so the admin sees it is still there.
function kept(current) {
  const items = [];
  if (current.sla_by_reason.length) {
    items.push(`Response targets by reason: ${current.sla_by_reason
      .map((t) => `${reasonLabel(t.reason)} ${t.minutes} min`).join(', ')}`);
  }
  if (current.business_hours.length) {
    items.push(`Business hours: ${current.business_hours
      .map((w) => `${WEEKDAYS[w.weekday]} ${w.start}\u2013${w.end}`).join(', ')}`);
  }
  items.push(`Time zone: ${current.timezone}`);
  if (current.holidays.length) items.push(`Holidays: ${current.holidays.join(', ')}`);
  if (current.front_line_staff_ids.length) {
    items.push(`Front-line staff: ${current.front_line_staff_ids.join(', ')}`);
  }
  if (current.escalation_reassign_to) {
    items.push(`Escalations reassign to: ${current.escalation_reassign_to}`);
  }
  items.push(`Alerts about one conversation within ${current.coalesce_seconds} s are combined`);
  return el('div', { class: 'muted' },
    el('p', { id: 'nt-kept-title' }, 'Also set (kept as they are when you save; changed '
      + 'under Office hours and Escalation):'),
    el('ul', { 'aria-labelledby': 'nt-kept-title' }, items.map((t) => el('li', {}, t))));
}

// The practice's current settings (GET), shown; saving sends them all back with only the
// fields edited here changed (the PUT replaces the whole settings).
export async function notifications(panel) {
  const { configured, ...current } = await api('/api/notify/practice-settings');
  const choice = (value, label, help) => el('label', { class: 'radio' },
    el('input', {
      type: 'radio', name: 'link_target', value, checked: value === current.link_target,
    }),
    ' ', el('span', {}, label), el('span', { class: 'muted help' }, help));
  const sla = el('input', {
    id: 'nt-sla', type: 'number', min: 1, max: 43200, size: 6,
    value: current.sla_minutes ?? '',
  });
  const err = errorBox();
  const save = el('button', { class: 'primary', type: 'submit' }, 'Save notification settings');
  const form = el('form', {},
    configured ? null
      : el('p', { class: 'notice' }, 'Notification settings have not been set for this '
        + 'practice yet; these are the defaults.'),
    el('fieldset', {}, el('legend', {}, 'An alert about a new message links to'),
      choice('inbox', 'The conversation in the inbox',
        'Staff sign in to Switchboard to read it.'),
      choice('patient_page', 'The patient\'s page',
        'Opens the patient\'s page in the practice\'s EHR flow.')),
    el('label', { for: 'nt-sla' }, 'Response target in minutes (optional)'), sla,
    kept(current),
    el('div', { class: 'actions' }, save), err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = {
      ...current,
      link_target: form.querySelector('input[name=link_target]:checked').value,
      sla_minutes: sla.value ? Number(sla.value) : null,
    };
    act(save, async () => {
      await api('/api/notify/practice-settings', { method: 'PUT', body });
      Object.assign(current, body);  // the next save starts from what was just saved
      announce('Notification settings saved.');
    }, err);
  });
  panel.append(form);
}
