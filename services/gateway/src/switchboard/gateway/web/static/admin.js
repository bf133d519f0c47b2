// Administration: the practice's set-up steps as tabs (routing, EHR sync, subscriptions,
// voicemail, lines, templates, notifications). Staff who are not admins see only their own
// subscriptions (R-SUB-3).
import { announce, el, startPage } from './api.js';
import { loadRouting } from './admin/common.js';
import { ehrSync, routingSettings, voicemail } from './admin/routing.js';
import { adminSubscriptions, ownSubscriptions } from './admin/subscriptions.js';
import { lines, notifications, templates } from './admin/config.js';
import { officeHours } from './admin/hours.js';
import { escalation, webhooks } from './admin/escalation.js';
import { reasonDescriptions } from './admin/reason_descriptions.js';
import { reasonMenu } from './admin/reason_menu.js';
import { eventWebhooks } from './admin/event_webhooks.js';
import { unrecognizedReplies } from './admin/unrecognized.js';
import { routingProposals } from './admin/proposals.js';
import { inboxAsOf } from './admin/as_of.js';
import { apiClients } from './admin/api_clients.js';

const { user, app } = await startPage();

const SECTIONS = [
  ['routing', 'Routing settings', (p, again) => routingSettings(p, again)],
  ['ehr', 'Sync with EHR', (p, again) => ehrSync(p, again)],
  ['subscriptions', 'Subscriptions', (p) => adminSubscriptions(p)],
  ['voicemail', 'Voicemail extensions', (p, again) => voicemail(p, again)],
  ['lines', 'Sending lines', (p) => lines(p)],
  ['templates', 'Templates', (p) => templates(p, user)],
  ['notifications', 'Notifications', (p) => notifications(p)],
  ['hours', 'Office hours', (p) => officeHours(p)],
  ['escalation', 'Escalation', (p) => escalation(p)],
  ['webhooks', 'Alert webhooks', (p) => webhooks(p)],
  ['reason-descriptions', 'Reason descriptions', (p) => reasonDescriptions(p)],
  ['reason-menu', 'Reason menu', (p) => reasonMenu(p)],
  ['event-webhooks', 'Event webhooks', (p) => eventWebhooks(p)],
  ['unrecognized', 'Unrecognized senders', (p, again) => unrecognizedReplies(p, again)],
  ['proposals', 'Routing proposals', (p) => routingProposals(p)],
  ['as-of', 'Inbox history', (p) => inboxAsOf(p)],
  ['api-clients', 'API clients', (p) => apiClients(p)],
];

// A tab list (WAI-ARIA tabs: arrow keys, Home/End move between tabs; Tab enters the panel).
function tabs(sections) {
  const list = el('div', { role: 'tablist', 'aria-label': 'Administration sections' });
  const panels = el('div', { class: 'panels' });
  const buttons = [];
  const show = async (index, focus = false) => {
    const [id, title, render] = sections[index];
    buttons.forEach((b, i) => {
      b.setAttribute('aria-selected', String(i === index));
      b.tabIndex = i === index ? 0 : -1;
    });
    if (focus) buttons[index].focus();
    history.replaceState(null, '', `#${id}`);
    const panel = el('section', {
      role: 'tabpanel', id: `panel-${id}`, 'aria-labelledby': `tab-${id}`, tabindex: '0',
    }, el('h2', {}, title));
    panels.replaceChildren(panel);
    try {
      await render(panel, () => show(index));
    } catch (e) {
      panel.append(el('p', { class: 'form-error', role: 'alert' }, e.message));
      announce(e.message, { error: true });
    }
  };
  sections.forEach(([id, title], i) => {
    const b = el('button', {
      role: 'tab', id: `tab-${id}`, type: 'button', 'aria-controls': `panel-${id}`,
      'aria-selected': 'false', tabindex: '-1',
    }, title);
    b.addEventListener('click', () => show(i));
    b.addEventListener('keydown', (ev) => {
      const n = sections.length;
      const to = { ArrowRight: (i + 1) % n, ArrowDown: (i + 1) % n, ArrowLeft: (i - 1 + n) % n,
        ArrowUp: (i - 1 + n) % n, Home: 0, End: n - 1 }[ev.key];
      if (to !== undefined) { ev.preventDefault(); show(to, true); }
    });
    buttons.push(b);
    list.append(b);
  });
  const start = Math.max(0, sections.findIndex(([id]) => `#${id}` === location.hash));
  show(start);
  return el('div', { class: 'tabs' }, list, panels);
}

// The tabs need the routing settings. A router that is restarting or busy answers 503/504
// for a moment: try again on our own a few times (1, 2, 4 s), then leave it to a button.
const RETRY_AFTER_S = [1, 2, 4];

async function administration() {
  app.append(el('h1', {}, 'Administration'));
  const problem = el('div', { class: 'load-problem' });
  app.append(problem);
  let attempt = 0;
  let timer = null;
  let busy = false;
  const load = async () => {
    if (busy) return;
    busy = true;
    try {
      await loadRouting();
    } catch (e) {
      busy = false;
      const wait = RETRY_AFTER_S[attempt];
      attempt += 1;
      const retry = el('button', { type: 'button' }, 'Try again');
      retry.addEventListener('click', () => { clearTimeout(timer); attempt = 0; load(); });
      problem.replaceChildren(el('p', { class: 'form-error', role: 'alert' },
        `The routing settings could not be loaded: ${e.message}`
        + (wait ? ` Trying again in ${wait} s.` : '')), retry);
      if (wait) timer = setTimeout(load, wait * 1000);
      return;
    }
    problem.remove();
    app.append(tabs(SECTIONS));
  };
  await load();
}

if (user.role === 'practice_admin') {
  await administration();
} else {
  const panel = el('section', { 'aria-labelledby': 'own-title' },
    el('h2', { id: 'own-title' }, 'My subscriptions'));
  app.append(el('h1', {}, 'Settings'),
    el('p', { class: 'notice' }, 'Routing settings, lines, templates and notifications are '
      + 'managed by practice admins. You can choose which messages you receive.'), panel);
  try {
    await ownSubscriptions(panel, user);
  } catch (e) {
    panel.append(el('p', { class: 'form-error', role: 'alert' }, e.message));
  }
}
