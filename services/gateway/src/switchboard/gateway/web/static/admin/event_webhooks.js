// Event webhooks (issue 16): the practice's endpoints for public conversation events, each
// with its subscribed types, state (paused after repeated failures), delivery log, resume,
// secret rotation and redelivery from a point in time. Secrets are shown once, when made.
import { api, announce, el } from '../api.js';
import { act, checkboxes, errorBox } from './common.js';

const BASE = '/api/admin/event-webhooks';

function secretNotice(secret) {
  return el('div', { class: 'notice', role: 'status' },
    el('p', {}, 'Signing secret (Standard Webhooks). Copy it now: it is not shown again.'),
    el('code', { class: 'secret' }, secret));
}

function typeItems(types, contentTypes) {
  return types.map((t) => ({
    value: t,
    label: contentTypes.includes(t) ? `${t} (patient data)` : t,
  }));
}

function endpointForm(data, onDone, existing) {
  const url = el('input', {
    name: 'url', type: 'url', required: true, value: existing?.url || '',
    placeholder: 'https://ehr.example/hooks/switchboard',
  });
  const description = el('input', { name: 'description', value: existing?.description || '' });
  const types = checkboxes('Event types', typeItems(data.event_types, data.content_types),
    existing?.event_types || data.event_types.filter((t) => !data.content_types.includes(t)),
    'event_types');
  const err = errorBox();
  const save = el('button', { class: 'primary', type: 'submit' },
    existing ? 'Save endpoint' : 'Add endpoint');
  const form = el('form', { class: 'event-webhook' },
    el('label', {}, 'URL (https) ', url),
    el('label', {}, 'Description ', description),
    types.node, el('div', { class: 'actions' }, save), err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(save, async () => {
      const body = {
        url: url.value, description: description.value, event_types: types.values(),
      };
      const done = existing
        ? await api(`${BASE}/${existing.endpoint_id}`, { method: 'PUT', body })
        : await api(BASE, { method: 'POST', body });
      announce(existing ? 'Endpoint saved.' : 'Endpoint added.');
      await onDone(done.secret);
    }, err);
  });
  return form;
}

function deliveryTable(deliveries) {
  if (!deliveries.length) return el('p', { class: 'muted' }, 'Nothing sent yet.');
  return el('table', { class: 'deliveries' },
    el('caption', {}, 'Newest first'),
    el('thead', {}, el('tr', {},
      ['Event', 'Type', 'Happened', 'State', 'Attempts', 'Last answer'].map(
        (h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, deliveries.map((d) => el('tr', {},
      el('td', {}, el('code', {}, d.event_id.slice(0, 8))),
      el('td', {}, d.event_type),
      el('td', {}, new Date(d.occurred_at).toLocaleString()),
      el('td', {}, d.redelivery ? `${d.status} (redelivery)` : d.status),
      el('td', {}, String(d.attempts)),
      el('td', {}, d.last_error || (d.last_status ? `HTTP ${d.last_status}` : '—'))))));
}

function endpointCard(data, ep, refresh) {
  const log = el('div', { class: 'delivery-log' });
  const err = errorBox();
  const showLog = el('button', { type: 'button' }, 'Delivery log');
  showLog.addEventListener('click', () => act(showLog, async () => {
    const found = await api(`${BASE}/${ep.endpoint_id}/deliveries?limit=100`);
    log.replaceChildren(deliveryTable(found.deliveries));
  }, err));
  const resume = el('button', { type: 'button', hidden: ep.status !== 'paused' }, 'Resume');
  resume.addEventListener('click', () => act(resume, async () => {
    await api(`${BASE}/${ep.endpoint_id}/resume`, { method: 'POST' });
    announce('Endpoint resumed.');
    await refresh();
  }, err));
  const rotate = el('button', { type: 'button' }, 'New secret');
  rotate.addEventListener('click', () => act(rotate, async () => {
    const done = await api(`${BASE}/${ep.endpoint_id}/rotate-secret`, { method: 'POST' });
    await refresh(done.secret);
  }, err));
  const since = el('input', { type: 'datetime-local', name: 'since', required: true });
  const again = el('button', { type: 'submit' }, 'Redeliver');
  const redeliver = el('form', { class: 'inline' },
    el('label', {}, 'Send again everything since ', since), again);
  redeliver.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(again, async () => {
      const done = await api(`${BASE}/${ep.endpoint_id}/redeliver`,
        { method: 'POST', body: { since: new Date(since.value).toISOString() } });
      announce(`${done.queued} event(s) queued again.`);
    }, err);
  });
  const remove = el('button', { type: 'button', class: 'danger' }, 'Remove');
  remove.addEventListener('click', () => act(remove, async () => {
    await api(`${BASE}/${ep.endpoint_id}`, { method: 'DELETE' });
    announce('Endpoint removed.');
    await refresh();
  }, err));
  const edit = el('details', {}, el('summary', {}, 'Change'),
    endpointForm(data, () => refresh(), ep));
  const state = ep.status === 'paused'
    ? el('strong', { class: 'form-error' }, `Paused: ${ep.paused_reason || 'failing'}`)
    : el('span', {}, ep.consecutive_failures
      ? `Active, ${ep.consecutive_failures} failure(s) in a row` : 'Active');
  return el('article', { class: 'card event-webhook-endpoint' },
    el('h3', {}, ep.description || ep.url),
    el('p', {}, el('code', {}, ep.url), ' — ', state),
    el('p', { class: 'muted' }, ep.event_types.join(', ')),
    el('div', { class: 'actions' }, showLog, resume, rotate, remove),
    redeliver, edit, err, log);
}

export async function eventWebhooks(panel) {
  const body = el('div');
  panel.append(el('p', {}, 'Send the practice\'s conversation events to your systems. Each '
    + 'request is signed (Standard Webhooks: webhook-id, webhook-timestamp, '
    + 'webhook-signature); events of one conversation arrive in order, retried until '
    + 'delivered. An endpoint that keeps failing is paused until you resume it.'), body);
  const refresh = async (secret) => {
    const data = await api(BASE);
    body.replaceChildren(
      secret ? secretNotice(secret) : '',
      ...(data.endpoints.length
        ? data.endpoints.map((ep) => endpointCard(data, ep, refresh))
        : [el('p', { class: 'muted' }, 'No endpoints yet.')]),
      el('h3', {}, 'Add an endpoint'),
      endpointForm(data, refresh));
  };
  await refresh();
}
