// Names and small helpers the inbox modules share. Patient data is only ever set as text.
import { api, el } from '../api.js';

// code -> label, from the router's reason catalogue (R-REASON-1) when the directory loads;
// a code it does not name is shown humanized.
export const REASONS = {};
export const CHANNELS = {
  sms: 'SMS', email: 'Email', secure_email: 'Secure email', web_chat: 'Chat',
  voicemail: 'Voicemail',
};
export const GROUPS = { my: 'My Inbox', 'care-team': 'Care Team', all: 'All Patients', shared: 'Shared inboxes' };
export const VIEWS = {
  assigned: 'Assigned to me', routed: 'Routed to me', 'primary-contact': 'Primary Contact',
  unrecognized: 'Unrecognized', sent: 'Sent', directed: 'Directed', unassigned: 'Unassigned',
};

export function humanize(code) {
  if (!code) return '';
  return code.replace(/[_-]+/g, ' ').replace(/^./, (c) => c.toUpperCase());
}
export const reasonName = (code) => REASONS[code] || humanize(code);
export const channelName = (code) => CHANNELS[code] || humanize(code);
export function viewName(v) {
  if (v.group === 'shared' && v.name !== 'unassigned') return humanize(v.name);
  return VIEWS[v.name] || humanize(v.name);
}
export function inboxName(id) {  // a decision's inbox: "unassigned" | "shared:refills"
  return id === 'unassigned' ? 'Unassigned' : humanize(id.replace(/^shared:/, ''));
}

// What the page knows beyond one conversation: staff names, lines, templates.
export const directory = {
  staff: new Map(), roles: new Map(), lines: [], templates: [],
  staffName(id) { return id ? (this.staff.get(id) || id) : ''; },
  // Staff and admins: the accounts a picker offers (not operators or API clients).
  isPerson(id) { return ['staff', 'practice_admin'].includes(this.roles.get(id) || 'staff'); },
  lineLabel(address) {
    const line = this.lines.find((l) => l.address === address);
    return line && line.label ? line.label : address;
  },
};

// GET that degrades to `fallback` when an endpoint is missing or refuses (optional features).
export async function optional(path, fallback) {
  try { return await api(path); } catch { return fallback; }
}

export async function loadDirectory() {
  const [staff, lines, templates, offered] = await Promise.all([
    optional('/api/staff', []),
    optional('/api/lines', { lines: [] }),
    optional('/api/templates', { templates: [] }),
    optional('/api/routing/reasons', { reasons: [], catalogue: [] }),
  ]);
  // The catalogue, platform-added reasons included, named as the router names them.
  for (const r of [...(offered.catalogue || []), ...(offered.reasons || [])]) {
    if (r.code && r.label) REASONS[r.code] = r.label;
  }
  directory.locationRouting = offered.location_routing !== false;
  for (const s of staff) {
    directory.staff.set(s.user_id, s.display_name);
    if (s.role) directory.roles.set(s.user_id, s.role);
  }
  directory.lines = lines.lines || [];
  directory.templates = templates.templates || [];
}

export function displayName(conv) {
  if (conv.patient && conv.patient.name) return conv.patient.name;
  return conv.sender;
}

export function badge(text, kind = '') {
  return el('span', { class: `badge ${kind}`.trim() }, text);
}

export function labels(conv) {
  const out = [];
  if (conv.reason) out.push(badge(reasonName(conv.reason), 'reason'));
  if (conv.location_id || conv.location_name || (conv.reason && directory.locationRouting)) {
    out.push(badge(conv.location_name || (conv.location_id ? humanize(conv.location_id) : 'Location unknown'), 'location'));
  }
  return out;
}

// {{first_name}} etc. filled from the conversation's patient, the user and the location.
export function fillTemplate(body, vars) {
  return body.replace(/\{\{\s*(\w+)\s*\}\}/g, (m, key) => (vars[key] ?? m));
}

export function debounce(fn, ms) {
  let t;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}
