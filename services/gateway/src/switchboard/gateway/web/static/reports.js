// Reports for practice admins (X-REPORT-1): a period and the one before it, as charts drawn
// by plotly.js (served from the installed `plotly` package) and a table of the headline
// figures; CSV download. Only ids, times and counts: no patient data.
import { ApiError, announce, api, el, query, startPage } from './api.js';

const { user, app } = await startPage();

const DIMENSIONS = [['reason', 'Reason'], ['location', 'Location'], ['channel', 'Channel'],
  ['staff', 'Staff']];
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const HEADLINES = {
  conversations: 'Conversations opened',
  messages: 'Patient messages',
  first_response_p50_s: 'First response, median (p50)',
  first_response_p90_s: 'First response, p90',
  time_to_close_p50_s: 'Time to close, median (p50)',
  time_to_close_p90_s: 'Time to close, p90',
  sla_share: 'Answered within the SLA',
};
// for these, a lower figure is better
const LOWER_IS_BETTER = new Set(['first_response_p50_s', 'first_response_p90_s',
  'time_to_close_p50_s', 'time_to_close_p90_s']);
const CURRENT = '#0b5cad';
const PREVIOUS = '#9aa5b1';
const P90 = '#e07b00';

function duration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const s = Math.abs(seconds);
  const sign = seconds < 0 ? '−' : '';
  if (s < 60) return `${sign}${Math.round(s)} s`;
  if (s < 3600) return `${sign}${Math.round(s / 60)} min`;
  if (s < 86400) return `${sign}${(s / 3600).toFixed(1)} h`;
  return `${sign}${(s / 86400).toFixed(1)} days`;
}

function figure(name, value) {
  if (value === null || value === undefined) return '–';
  if (name === 'sla_share') return `${Math.round(value * 100)} %`;
  if (name.endsWith('_s')) return duration(value);
  return String(value);
}

function change(name, value) {
  if (value === null || value === undefined) return el('td', {}, '–');
  const text = name === 'sla_share'
    ? `${value > 0 ? '+' : ''}${Math.round(value * 100)} pts`
    : name.endsWith('_s') ? `${value > 0 ? '+' : ''}${duration(value)}`
      : `${value > 0 ? '+' : ''}${value}`;
  const good = LOWER_IS_BETTER.has(name) ? value < 0 : value > 0;
  return el('td', { class: value === 0 ? '' : good ? 'better' : 'worse' }, text);
}

function headlines(r) {
  return el('table', { class: 'headlines', 'aria-label': 'Headline figures' },
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, 'Figure'),
      el('th', { scope: 'col' }, `${r.current.period.first_day} – ${r.current.period.last_day}`),
      el('th', { scope: 'col' }, `${r.previous.period.first_day} – ${r.previous.period.last_day}`),
      el('th', { scope: 'col' }, 'Change'))),
    el('tbody', {}, r.comparison.map((c) => el('tr', {},
      el('th', { scope: 'row' }, HEADLINES[c.figure] || c.figure),
      el('td', {}, figure(c.figure, c.current)),
      el('td', {}, figure(c.figure, c.previous)),
      change(c.figure, c.change)))));
}

const LAYOUT = {
  margin: { l: 60, r: 10, t: 10, b: 60 },
  barmode: 'group',
  legend: { orientation: 'h', y: -0.25 },
  font: { family: 'system-ui, sans-serif', size: 12 },
};
const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['select2d', 'lasso2d'] };

function chartCard(id, title) {
  return el('section', { class: 'chart-card', 'aria-labelledby': `${id}-title` },
    el('h2', { id: `${id}-title` }, title),
    el('div', { class: 'chart', id, role: 'img', 'aria-label': title }));
}

function plot(id, data, layout = {}) {
  window.Plotly.react(id, data, { ...LAYOUT, ...layout }, CONFIG);
}

function minutes(s) { return s === null ? null : Math.round(s / 6) / 10; }

function drawBreakdown(r, dimension) {
  const rows = r.current.by[dimension];
  const keys = rows.map((x) => x.key);
  const pick = (m, q) => rows.map((x) => minutes(x[m][q]));
  const hover = '%{x}: %{y} min<extra>%{fullData.name}</extra>';
  plot('chart-first-response', [
    { type: 'bar', name: 'p50', x: keys, y: pick('first_response', 'p50'), marker: { color: CURRENT }, hovertemplate: hover },
    { type: 'bar', name: 'p90', x: keys, y: pick('first_response', 'p90'), marker: { color: P90 }, hovertemplate: hover },
  ], { yaxis: { title: { text: 'minutes' } } });
  plot('chart-close', [
    { type: 'bar', name: 'p50', x: keys, y: pick('time_to_close', 'p50'), marker: { color: CURRENT }, hovertemplate: hover },
    { type: 'bar', name: 'p90', x: keys, y: pick('time_to_close', 'p90'), marker: { color: P90 }, hovertemplate: hover },
  ], { yaxis: { title: { text: 'minutes' } } });
}

function draw(r, dimension) {
  drawBreakdown(r, dimension);
  const hours = [...Array(24).keys()].map((h) => `${String(h).padStart(2, '0')}:00`);
  plot('chart-hours', [
    { type: 'bar', name: 'this period', x: hours, y: r.current.volume.by_hour, marker: { color: CURRENT } },
    { type: 'bar', name: 'previous period', x: hours, y: r.previous.volume.by_hour, marker: { color: PREVIOUS } },
  ], { yaxis: { title: { text: 'messages' } } });
  plot('chart-weekdays', [
    { type: 'heatmap', x: hours, y: WEEKDAYS, z: r.current.volume.grid, colorscale: 'Blues', reversescale: true, // plotly's Blues runs dark to light: empty cells light
      hovertemplate: '%{y} %{x}: %{z}<extra></extra>' },
  ], { yaxis: { autorange: 'reversed' } });
  const sla = (f) => [f.sla.within, f.sla.breached, f.sla.pending];
  plot('chart-sla', [
    { type: 'bar', name: 'this period', x: ['answered in time', 'late', 'still running'], y: sla(r.current), marker: { color: CURRENT } },
    { type: 'bar', name: 'previous period', x: ['answered in time', 'late', 'still running'], y: sla(r.previous), marker: { color: PREVIOUS } },
  ], { yaxis: { title: { text: 'conversations' } } });
  plot('chart-unanswered', [
    { type: 'bar', x: r.unanswered_now.map((b) => b.bucket), y: r.unanswered_now.map((b) => b.conversations),
      marker: { color: '#a4001d' }, name: 'waiting now' },
  ], { yaxis: { title: { text: 'conversations' } }, showlegend: false });
}

function isoDay(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

async function download(params) {
  const r = await api(`/api/reports.csv${query(params)}`, { raw: true });
  const blob = await r.blob();
  const name = /filename="([^"]+)"/.exec(r.headers.get('content-disposition') || '')?.[1]
    || 'switchboard-report.csv';
  const a = el('a', { href: URL.createObjectURL(blob), download: name, hidden: true });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  announce(`Downloaded ${name}`);
}

function render() {
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 6 * 86400000);
  const first = el('input', { type: 'date', name: 'first_day', value: isoDay(weekAgo), required: true });
  const last = el('input', { type: 'date', name: 'last_day', value: isoDay(today), required: true });
  const dim = el('select', { name: 'dimension' },
    DIMENSIONS.map(([v, label]) => el('option', { value: v }, label)));
  const summary = el('div', { id: 'report-summary' });
  let report = null;
  const params = () => ({ first_day: first.value, last_day: last.value });
  const load = async () => {
    announce('Loading the report…');
    try {
      report = await api(`/api/reports${query(params())}`);
    } catch (e) {
      const text = e instanceof ApiError && e.status === 403 ? 'Reports are for practice admins.' : e.message;
      summary.replaceChildren(el('p', { class: 'form-error', role: 'alert' }, text));
      announce(text, { error: true });
      return;
    }
    summary.replaceChildren(
      el('p', { class: 'report-note' },
        `Whole days in the practice's time zone (${report.timezone}), compared with the `
        + `${report.previous.period.first_day} – ${report.previous.period.last_day} period. `
        + 'Times are from the first patient message; unanswered counts are as of now.'),
      headlines(report));
    draw(report, dim.value);
    announce(`Report for ${report.current.period.first_day} – ${report.current.period.last_day}: `
      + `${report.current.conversations} conversations`);
  };
  const form = el('form', { class: 'report-form', 'aria-label': 'Report period',
    onsubmit: (ev) => { ev.preventDefault(); load(); } },
  el('label', {}, 'First day ', first),
  el('label', {}, 'Last day ', last),
  el('button', { class: 'primary', type: 'submit' }, 'Show report'),
  el('button', { type: 'button', onclick: () => download(params()).catch((e) => announce(e.message, { error: true })) },
    'Download CSV'),
  el('label', {}, 'Break down by ', dim));
  dim.addEventListener('change', () => { if (report) drawBreakdown(report, dim.value); });
  app.replaceChildren(
    el('h1', {}, 'Reports'),
    form,
    summary,
    el('div', { class: 'charts' },
      chartCard('chart-first-response', 'First response time (p50, p90)'),
      chartCard('chart-close', 'Time to close (p50, p90)'),
      chartCard('chart-hours', 'Patient messages by hour'),
      chartCard('chart-weekdays', 'Patient messages by weekday and hour'),
      chartCard('chart-sla', 'Share answered within the SLA'),
      chartCard('chart-unanswered', 'Unanswered now, by how long the patient has waited')));
  return load();
}

// plotly.js as the `plotly` package installs it (routes/reports.py serves it): loaded once
// signed in as an admin, so the sign-in form never waits for it
function loadPlotly() {
  if (window.Plotly) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = el('script', { src: '/vendor/plotly.min.js' });
    script.addEventListener('load', resolve);
    script.addEventListener('error', () => reject(new Error('The charting library did not load.')));
    document.head.append(script);
  });
}

if (user.role !== 'practice_admin') {
  app.replaceChildren(el('h1', {}, 'Reports'),
    el('p', { class: 'form-error', role: 'alert' }, 'Reports are for practice admins.'));
} else {
  app.replaceChildren(el('h1', {}, 'Reports'), el('p', { class: 'report-note' }, 'Loading the charts…'));
  try {
    await loadPlotly();
    await render();
  } catch (e) {
    app.replaceChildren(el('h1', {}, 'Reports'), el('p', { class: 'form-error', role: 'alert' }, e.message));
  }
}
