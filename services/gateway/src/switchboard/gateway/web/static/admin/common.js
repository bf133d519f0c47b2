// Shared by the administration sections: the routing state, labels for codes, small widgets.
import { api, announce, el } from '../api.js';

export const UNKNOWN_LOCATION = { id: 'location_unknown', name: 'Location unknown' };
export const UNKNOWN_PROVIDER = { id: 'provider_unknown', name: 'Provider unknown' };

// The routing state (GET /api/admin/routing), re-read after every change.
export const state = { routing: null };

export async function loadRouting() {
  state.routing = await api('/api/admin/routing');
  return state.routing;
}

export function reasonLabel(code) {
  const r = (state.routing?.reasons || []).find((x) => x.code === code);
  return r ? r.label : code;
}

export function locationName(id) {
  if (id === UNKNOWN_LOCATION.id) return UNKNOWN_LOCATION.name;
  const l = (state.routing?.locations || []).find((x) => x.id === id);
  return l ? l.name : id;
}

export function providerName(id) {
  if (id === UNKNOWN_PROVIDER.id) return UNKNOWN_PROVIDER.name;
  const p = (state.routing?.providers || []).find((x) => x.id === id);
  return p ? p.name : id;
}

// "Saved." or "Saved; the router is still applying it." (202) — said in the live region.
export function applied(result, what) {
  const text = result && result.applied === false
    ? `${what} recorded; the router is still applying it.`
    : `${what} saved.`;
  announce(text);
  return text;
}

// Run an action from a button: disable it meanwhile; show the server's reason on failure
// (in the live region and, if given, beside the form).
export async function act(button, fn, errorBox) {
  if (button) button.disabled = true;
  if (errorBox) { errorBox.textContent = ''; errorBox.hidden = true; }
  try {
    return await fn();
  } catch (e) {
    announce(e.message, { error: true });
    if (errorBox) { errorBox.textContent = e.message; errorBox.hidden = false; }
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function errorBox() {
  return el('p', { class: 'form-error', role: 'alert', hidden: true });
}

// A fieldset of checkboxes: items [{value, label}], checked values; returns {node, values()}.
export function checkboxes(legend, items, checked, name) {
  const set = new Set(checked);
  const boxes = items.map((it) => el('input', {
    type: 'checkbox', name, value: it.value, checked: set.has(it.value),
  }));
  const node = el('fieldset', { class: 'checks' },
    el('legend', {}, legend),
    items.length
      ? el('div', { class: 'check-grid' },
        items.map((it, i) => el('label', { class: 'inline' }, boxes[i], it.label)))
      : el('p', { class: 'muted' }, 'None yet.'));
  return { node, values: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}
