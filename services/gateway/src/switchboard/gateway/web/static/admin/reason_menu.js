// The SMS / email reason menu (X-MENU-1, X-MENU-2): whether a recognized patient's text or email
// that starts a new topic gets an automatic reply listing the reasons by number, and how long
// the patient has to answer. Set for the whole practice and per line (a line's own setting
// wins). Read from GET /api/admin/routing/reason-menu (what the router routes with); each row
// is saved on its own through PUT (one ReasonMenuSet each), then read back.
import { api, el } from '../api.js';
import { act, applied, errorBox, state } from './common.js';

const CHANNEL = { sms: 'SMS', email: 'Email' };
const MAX_MINUTES = 1440;

const channelOf = (address) => (address.includes('@') ? 'email' : 'sms');
// The router keeps a line as it was set, an email address in lower case (menu.line_key).
const lineKey = (address) => address.trim().toLowerCase();

// The inputs of one setting: on/off and the window; `name` labels them for screen readers.
function settingInputs(idBase, name, setting) {
  const on = el('input', {
    type: 'checkbox', id: `${idBase}-on`, checked: setting.enabled,
    'aria-label': `Send the reason menu on ${name}`,
  });
  const minutes = el('input', {
    type: 'number', id: `${idBase}-minutes`, min: 1, max: MAX_MINUTES, step: 1, required: true,
    value: String(setting.window_minutes), class: 'minutes',
    'aria-label': `Answer window on ${name}, minutes`,
  });
  return {
    on,
    minutes,
    // Sent as typed: the API's reason is shown for a window out of range.
    read: () => ({ enabled: on.checked, window_minutes: Number(minutes.value) }),
  };
}

async function save(line, values, name, rerender) {
  const result = await api('/api/admin/routing/reason-menu', {
    method: 'PUT', body: { ...(line === null ? {} : { line }), ...values },
  });
  applied(result, `Reason menu on ${name}`);
  await rerender();
}

function row(idBase, cells, name, line, setting, rerender) {
  const inputs = settingInputs(idBase, name, setting);
  const err = errorBox();
  const button = el('button', { type: 'button', 'aria-label': `Save the reason menu on ${name}` },
    'Save');
  button.addEventListener('click', () => act(button,
    () => save(line, inputs.read(), name, rerender), err));
  return el('tr', {}, ...cells,
    el('td', {}, el('label', { class: 'inline' }, inputs.on, 'On')),
    el('td', {}, inputs.minutes),
    el('td', {}, button, err));
}

// A line not listed (an address typed in): the API refuses one that is neither a number nor
// an address (422), and the reason is shown here.
function otherLine(rerender) {
  const address = el('input', {
    id: 'menu-other-line', maxlength: 320, autocomplete: 'off',
    placeholder: '+12125550123 or care@practice.example',
  });
  const inputs = settingInputs('menu-other', 'another line', { enabled: true, window_minutes: 10 });
  const err = errorBox();
  const button = el('button', { type: 'button' }, 'Save for this line');
  button.addEventListener('click', () => act(button, async () => {
    const line = address.value.trim();
    if (!line) throw new Error('Type the line\'s SMS number or email address first.');
    await save(line, inputs.read(), line, rerender);
  }, err));
  return el('details', { class: 'menu-other' },
    el('summary', {}, 'Set it for a line not listed'),
    el('div', { class: 'inline-form' },
      el('label', { for: 'menu-other-line' }, 'Line (SMS number or email address)', address),
      el('label', { class: 'inline' }, inputs.on, 'On'),
      el('label', { for: 'menu-other-minutes' }, 'Answer window (minutes)', inputs.minutes),
      button),
    err);
}

export async function reasonMenu(panel) {
  const body = el('div', { class: 'reason-menu' });
  const render = async () => {
    const [menu, { lines }] = await Promise.all([
      api('/api/admin/routing/reason-menu'), api('/api/lines'),
    ]);
    const own = new Map(menu.lines.map((s) => [lineKey(s.line), s]));
    const listed = lines.filter((l) => CHANNEL[l.channel]);
    // Lines with a setting of their own that the practice no longer lists stay visible.
    const known = new Set(listed.map((l) => lineKey(l.address)));
    const extra = menu.lines.filter((s) => !known.has(lineKey(s.line)))
      .map((s) => ({ channel: channelOf(s.line), address: s.line, label: null }));
    const rows = [...listed, ...extra].map((l, i) => {
      const name = `${CHANNEL[l.channel]} ${l.address}`;
      const mine = own.get(lineKey(l.address));
      const whose = mine ? 'Its own' : 'The practice\'s';
      return row(`menu-line-${i}`, [
        el('th', { scope: 'row' }, name, l.label ? el('span', { class: 'muted' }, ` (${l.label})`) : null),
        el('td', {}, whose),
      ], name, l.address, mine || menu.practice, render);
    });
    const practiceName = 'the whole practice';
    const practiceRow = row('menu-practice', [
      el('th', { scope: 'row' }, 'Whole practice'),
      el('td', {}, 'Every line without its own'),
    ], practiceName, null, menu.practice, render);
    body.replaceChildren(
      state.routing && !state.routing.reason_routing
        ? el('p', { class: 'notice' }, 'Routing by reason is off (Routing settings): the menu '
          + 'is sent only while it is on.')
        : null,
      el('table', { class: 'reason-menu' },
        el('caption', { class: 'visually-hidden' }, 'Reason menu per line'),
        el('thead', {}, el('tr', {}, ['Line', 'Setting used', 'Menu', 'Answer window (minutes)',
          'Action'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, practiceRow, ...rows)),
      otherLine(render));
  };
  panel.append(
    el('p', {}, 'When a recognized patient\'s text or email starts a new topic, Switchboard can '
      + 'reply with the reasons by number ("Reply 1 for Billing, ...") and route the message by '
      + 'the answer. With no answer within the window, or two answers it cannot read, the '
      + 'message routes as usual. Voicemail is never asked. Off unless turned on here.'),
    body);
  await render();
}
