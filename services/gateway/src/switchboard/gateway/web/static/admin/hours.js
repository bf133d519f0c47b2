// Office hours (X-NOTIFYADMIN-1, X-SLA-1): the practice's time zone picked from the server's
// list (GET /api/notify/timezones, searchable, never free text), business hours per weekday
// (one or more windows a day; none = closed) and holidays. Saving sends the whole settings
// back with only these fields changed (the PUT replaces them all).
import { api, announce, el } from '../api.js';
import { act, errorBox, state } from './common.js';

export const WEEKDAY_NAMES = [
  'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday',
];

// The settings as last read or saved: every screen starts from them and saves them whole.
export async function loadSettings() {
  const { configured, ...current } = await api('/api/notify/practice-settings');
  return { configured, current };
}

export async function saveSettings(current, changes) {
  const body = { ...current, ...changes };
  await api('/api/notify/practice-settings', { method: 'PUT', body });
  Object.assign(current, changes); // the next save starts from what was just saved
}

// --- time zone -----------------------------------------------------------------------------

// A search box filtering a list box of the server's zones: the value is always one of them.
export function zonePicker(zones, chosen) {
  const search = el('input', {
    id: 'tz-search', type: 'search', autocomplete: 'off', placeholder: 'Type a city or region',
    'aria-controls': 'tz-list', 'aria-describedby': 'tz-help',
  });
  const list = el('select', { id: 'tz-list', size: 8, 'aria-label': 'Time zones' });
  const count = el('p', { class: 'muted', id: 'tz-help', 'aria-live': 'polite' });
  const shown = el('p', { class: 'tz-chosen' });
  let value = chosen;
  const say = () => { shown.textContent = `Selected: ${value.replaceAll('_', ' ')}`; };
  const fill = () => {
    const words = search.value.trim().toLowerCase().replaceAll(' ', '_').split(/[,/]+/)
      .filter(Boolean);
    const match = zones.filter((z) => words.every((w) => z.toLowerCase().includes(w)));
    list.replaceChildren(...match.slice(0, 400).map((z) => el('option', {
      value: z, selected: z === value,
    }, z.replaceAll('_', ' '))));
    count.textContent = match.length
      ? `${match.length} time zone${match.length === 1 ? '' : 's'} match.`
      : 'No time zone matches: try a larger city nearby, e.g. "Chicago".';
  };
  search.addEventListener('input', fill);
  search.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' && list.options.length) {
      ev.preventDefault();
      list.focus();
      if (list.selectedIndex < 0) list.selectedIndex = 0;
      value = list.value;
      say();
    }
  });
  list.addEventListener('change', () => { value = list.value; say(); });
  fill();
  say();
  return {
    node: el('div', { class: 'tz-picker' },
      el('label', { for: 'tz-search' }, 'Find a time zone'), search, count, list, shown),
    value: () => value,
  };
}

// --- business hours ------------------------------------------------------------------------

// "24:00" (end of day) cannot be typed in a time field: it shows and is typed as 00:00.
const shownEnd = (end) => (end === '24:00' ? '00:00' : end);
const sentEnd = (end) => (end === '00:00' ? '24:00' : end);

function windowRow(day, w, onRemove) {
  const name = WEEKDAY_NAMES[day];
  const start = el('input', {
    type: 'time', value: w.start, required: true, 'aria-label': `${name} opens at`,
  });
  const end = el('input', {
    type: 'time', value: shownEnd(w.end), required: true, 'aria-label': `${name} closes at`,
  });
  const remove = el('button', { type: 'button', class: 'link',
    'aria-label': `Remove these ${name} hours` }, 'Remove');
  const row = el('div', { class: 'window' }, start, el('span', { 'aria-hidden': 'true' }, '\u2013'),
    end, remove);
  remove.addEventListener('click', () => onRemove(row));
  return { row, read: () => ({ weekday: day, start: start.value, end: sentEnd(end.value) }) };
}

export function weeklyHours(windows) {
  const days = WEEKDAY_NAMES.map((name, day) => {
    const rows = [];
    const box = el('div', { class: 'windows' });
    const closed = el('span', { class: 'muted closed' }, 'Closed');
    const sync = () => { closed.hidden = rows.length > 0; };
    const add = (w) => {
      const r = windowRow(day, w, (row) => {
        rows.splice(rows.findIndex((x) => x.row === row), 1);
        row.remove();
        sync();
      });
      rows.push(r);
      box.append(r.row);
      sync();
    };
    windows.filter((w) => w.weekday === day).sort((a, b) => (a.start < b.start ? -1 : 1))
      .forEach(add);
    sync();
    const more = el('button', { type: 'button', 'aria-label': `Add hours on ${name}` }, 'Add hours');
    more.addEventListener('click', () => {
      const last = rows.length ? rows[rows.length - 1].read() : null;
      add(last ? { start: last.end === '24:00' ? '23:00' : last.end, end: '24:00' }
        : { start: '09:00', end: '17:00' });
      box.lastElementChild.querySelector('input').focus();
    });
    const row = el('tr', {}, el('th', { scope: 'row' }, name),
      el('td', {}, closed, box), el('td', {}, more));
    return { row, rows, add, clear: () => { rows.splice(0).forEach((r) => r.row.remove()); sync(); } };
  });
  const copy = el('button', { type: 'button' }, 'Copy Monday to Tuesday\u2013Friday');
  copy.addEventListener('click', () => {
    const monday = days[0].rows.map((r) => r.read());
    for (const d of days.slice(1, 5)) {
      d.clear();
      monday.forEach((w) => d.add({ ...w, end: w.end }));
    }
    announce('Monday\'s hours copied to Tuesday to Friday (not saved yet).');
  });
  const node = el('div', {},
    el('table', { class: 'hours' },
      el('caption', { class: 'visually-hidden' }, 'Business hours per weekday'),
      el('thead', {}, el('tr', {}, ['Day', 'Open', ''].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, days.map((d) => d.row))),
    el('div', { class: 'actions' }, copy));
  return { node, value: () => days.flatMap((d) => d.rows.map((r) => r.read())) };
}

// --- holidays --------------------------------------------------------------------------------

const dateFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC',
});

export function holidayList(initial) {
  const dates = new Set(initial);
  const list = el('ul', { class: 'plain holidays', 'aria-label': 'Holidays' });
  const input = el('input', { id: 'holiday-date', type: 'date' });
  const add = el('button', { type: 'button' }, 'Add holiday');
  const render = () => {
    const sorted = [...dates].sort();
    list.replaceChildren(...(sorted.length ? sorted.map((d) => {
      const shown = dateFormat.format(new Date(`${d}T00:00:00Z`));
      const remove = el('button', { type: 'button', class: 'link',
        'aria-label': `Remove holiday ${shown}` }, 'Remove');
      remove.addEventListener('click', () => { dates.delete(d); render(); });
      return el('li', {}, el('time', { datetime: d }, shown), ' ', remove);
    }) : [el('li', { class: 'muted' }, 'No holidays.')]));
  };
  add.addEventListener('click', () => {
    if (!input.value) { announce('Choose a date first.', { error: true }); input.focus(); return; }
    dates.add(input.value);
    input.value = '';
    render();
  });
  render();
  return {
    node: el('div', {}, list, el('div', { class: 'inline-form' },
      el('label', { for: 'holiday-date' }, 'Date', input), add)),
    value: () => [...dates].sort(),
  };
}

// --- the tab ---------------------------------------------------------------------------------

export async function officeHours(panel) {
  const [{ configured, current }, { zones }] = await Promise.all([
    loadSettings(), api('/api/notify/timezones'),
  ]);
  // Never configured: suggest the practice's routing time zone, else New York.
  const routingZone = state.routing?.timezone;
  const start = configured ? current.timezone
    : (routingZone && routingZone !== 'UTC' ? routingZone : 'America/New_York');
  const zone = zonePicker(zones, zones.includes(start) ? start : 'UTC');
  const hours = weeklyHours(current.business_hours);
  const holidays = holidayList(current.holidays);
  const err = errorBox();
  const save = el('button', { class: 'primary', type: 'submit' }, 'Save office hours');
  const form = el('form', { class: 'office-hours' },
    el('p', {}, 'Response timers count only the practice\'s business hours, in its time zone, '
      + 'and skip holidays. The patient page shows these hours.'),
    configured ? null : el('p', { class: 'notice' }, 'Office hours have not been set for this '
      + 'practice yet; these are the defaults.'),
    el('fieldset', {}, el('legend', {}, 'Time zone'), zone.node),
    el('fieldset', {}, el('legend', {}, 'Business hours'),
      el('p', { class: 'muted' }, 'A day with no hours is closed. A day can have several '
        + 'windows (e.g. closed for lunch); 00:00 as a closing time means midnight.'),
      hours.node),
    el('fieldset', {}, el('legend', {}, 'Holidays'), holidays.node),
    el('div', { class: 'actions' }, save), err);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(save, async () => {
      await saveSettings(current, {
        timezone: zone.value(),
        business_hours: hours.value(),
        holidays: holidays.value(),
      });
      announce('Office hours saved.');
    }, err);
  });
  panel.append(form);
}
