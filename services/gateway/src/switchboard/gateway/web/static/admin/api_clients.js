// API clients (issue 16, ADR 0024): programs that read every inbox of the practice and act
// (reply, assign, close) through the staff API, with the client credentials grant. An admin
// creates, rotates and revokes them here. A secret is shown once, right after it is made,
// with a copy button: the gateway keeps only a hash of it.
import { api, announce, el, formatTime } from '../api.js';
import { act, errorBox } from './common.js';

const BASE = '/api/admin/api-clients';

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API (an http page): select the field so Ctrl+C copies it.
    const field = button.previousElementSibling;
    if (field && field.select) field.select();
    announce('Select and copy it with Ctrl+C.');
    return;
  }
  button.textContent = 'Copied';
  announce('Copied to the clipboard.');
  setTimeout(() => { button.textContent = 'Copy'; }, 2000);
}

function copyField(label, value, name) {
  const field = el('input', { readonly: true, value, name, class: 'copy-value', spellcheck: 'false' });
  const copy = el('button', { type: 'button', 'aria-label': `Copy the ${label.toLowerCase()}` },
    'Copy');
  copy.addEventListener('click', () => copyText(value, copy));
  return el('div', { class: 'copy-row' }, el('label', {}, label, field), copy);
}

// Shown once: after create or rotate. Dismissed for good with "I stored it".
function secretNotice(made, onDone) {
  const done = el('button', { type: 'button', class: 'primary' }, 'I have stored the secret');
  const box = el('div', { class: 'notice api-secret', role: 'alert' },
    el('p', {}, el('strong', {}, 'Copy the secret now: it is not shown again. '),
      'Switchboard keeps only a hash of it. Whoever has it can read every inbox of the '
      + 'practice and act in it, so keep it in a secret store, never in code or chat.'),
    copyField('Client ID', made.client.client_id, 'client_id'),
    copyField('Client secret', made.client_secret, 'client_secret'),
    el('p', { class: 'muted' }, 'A program exchanges them for a token: ',
      el('code', {}, `POST ${made.token_url}`), ' with ',
      el('code', {}, 'grant_type=client_credentials'), ', then calls the API with ',
      el('code', {}, 'Authorization: Bearer <token>'), '.'),
    el('div', { class: 'actions' }, done));
  done.addEventListener('click', () => { box.remove(); onDone(); });
  return box;
}

function stateOf(c) {
  if (!c.active) return `Revoked ${formatTime(c.revoked_at)} by ${c.revoked_by}`;
  return c.last_used_at ? `Active, last token ${formatTime(c.last_used_at)}` : 'Active, never used';
}

function clientRow(c, refresh, err) {
  const actions = el('td', { class: 'actions' });
  if (c.active) {
    const rotate = el('button', { type: 'button' }, 'New secret');
    rotate.addEventListener('click', () => act(rotate, async () => {
      const made = await api(`${BASE}/${c.client_id}/rotate-secret`, { method: 'POST' });
      announce(`New secret for ${c.name}: the old one stopped working.`);
      await refresh(made);
    }, err));
    const revoke = el('button', { type: 'button', class: 'danger' }, 'Revoke…');
    const sure = el('button', { type: 'button', class: 'danger' }, 'Revoke for good');
    const cancel = el('button', { type: 'button' }, 'Cancel');
    const confirm = el('span', { class: 'confirm', hidden: true },
      'Programs using it stop at once. ', sure, cancel);
    revoke.addEventListener('click', () => { confirm.hidden = false; revoke.hidden = true; sure.focus(); });
    cancel.addEventListener('click', () => { confirm.hidden = true; revoke.hidden = false; revoke.focus(); });
    sure.addEventListener('click', () => act(sure, async () => {
      await api(`${BASE}/${c.client_id}`, { method: 'DELETE' });
      announce(`${c.name} revoked.`);
      await refresh();
    }, err));
    actions.append(rotate, revoke, confirm);
  }
  return el('tr', { class: c.active ? 'api-client' : 'api-client revoked' },
    el('th', { scope: 'row' }, c.name),
    el('td', {}, el('code', {}, c.client_id)),
    el('td', {}, `${formatTime(c.created_at)} by ${c.created_by}`),
    el('td', {}, stateOf(c)),
    actions);
}

function clientTable(clients, refresh, err) {
  if (!clients.length) return el('p', { class: 'muted' }, 'No API clients yet.');
  return el('div', { class: 'table-scroll' }, el('table', { class: 'api-clients' },
    el('thead', {}, el('tr', {},
      ['Name', 'Client ID', 'Created', 'State', 'Actions'].map(
        (h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, clients.map((c) => clientRow(c, refresh, err)))));
}

function createForm(refresh) {
  const name = el('input', {
    name: 'name', required: true, maxlength: '80', placeholder: 'Data warehouse export',
  });
  const save = el('button', { class: 'primary', type: 'submit' }, 'Create API client');
  const err = errorBox();
  const form = el('form', { class: 'api-client-new' },
    el('label', {}, 'Name (what program is it?) ', name), save, err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(save, async () => {
      const made = await api(BASE, { method: 'POST', body: { name: name.value } });
      name.value = '';
      announce(`API client ${made.client.name} created. Copy its secret now.`);
      await refresh(made);
    }, err);
  });
  return form;
}

export async function apiClients(panel) {
  const secretSlot = el('div');
  const list = el('div');
  const err = errorBox();
  const intro = el('p', {});
  panel.append(intro, secretSlot, list, err, el('h3', {}, 'Create an API client'));
  const refresh = async (made) => {
    const data = await api(BASE);
    intro.replaceChildren(
      'Programs (a data warehouse, a CRM, your own automation) use the Inbox API: they read '
      + 'every inbox of the practice and reply, assign and close, named as the client. They '
      + 'sign in with the OAuth 2.0 client credentials grant at ',
      el('code', {}, data.token_url),
      `; a token lasts ${Math.round(data.token_ttl_s / 60)} minutes. Every call is in the `
      + 'access record. Revoking a client stops its tokens at once.');
    if (made) secretSlot.replaceChildren(secretNotice(made, () => list.querySelector('button')?.focus()));
    list.replaceChildren(clientTable(data.clients, refresh, err));
  };
  await refresh();
  panel.append(createForm(refresh));
}
