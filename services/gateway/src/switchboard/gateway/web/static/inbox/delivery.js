// A reply's delivery in the history: its newest state (queued, sent, delivered, read, or the
// failure in words) as the server computed it (I-DELIV-3, I-DELIV-5), a Retry button on a
// failed reply (I-DELIV-4), and what to announce when a state changes live.
import { announce, api, el, formatTime } from '../api.js';

// The message's delivery note: " · Sent" beside the time, or a failure box with Retry.
export function deliveryNote(m, { retry } = {}) {
  const s = m.delivery_state;
  if (!s) return { inline: null, block: null };
  const title = s.at ? `${s.label} ${new Date(s.at).toLocaleString()}` : s.label;
  const inline = el('span', { class: `delivery delivery-${s.state}`, title, 'data-state': s.state }, ` · ${s.label}`);
  if (!s.failed) return { inline, block: null };
  const button = m.retried_by
    ? el('span', { class: 'muted' }, 'Sent again below.')
    : el('button', { type: 'button', class: 'retry', onclick: (ev) => retry && retry(m, ev.currentTarget) }, 'Retry');
  const block = el('div', { class: 'delivery-failure', role: 'note' },
    el('strong', {}, m.retried_by ? 'Not sent. ' : 'Not sent: the patient did not get this. '),
    el('span', { class: 'delivery-why' }, s.words || 'The reply could not be sent.'),
    s.why ? el('span', { class: 'muted' }, ` (${s.why}${s.at ? `, ${formatTime(s.at)}` : ''})`) : null,
    ' ', button);
  return { inline, block };
}

// Send a failed reply again. The button is disabled at once and the server derives the new
// reply's ids from the failed one, so a double click sends it once.
export async function retryReply(conversationId, m, button) {
  if (button) button.disabled = true;
  try {
    const r = await api(`/api/conversations/${conversationId}/messages/${m.message_id}/retry`, { method: 'POST', body: {} });
    announce(r.applied ? 'Reply queued again.' : 'Reply queued again; the inbox will show it shortly.');
    return r;
  } catch (e) {
    if (button) button.disabled = false;
    announce(`Not sent again: ${e.message}`, { error: true });
    return null;
  }
}

// The states of this conversation's replies, to compare before and after a reload.
export function deliveryStates(conv) {
  const out = new Map();
  for (const m of (conv && conv.messages) || []) if (m.delivery_state) out.set(m.message_id, m.delivery_state.state);
  return out;
}

function tell(s, conv) {
  if (s.failed) announce(`Not sent: ${s.words}`, { error: true });
  else if (s.state === 'sent') announce(conv.status === 'closed' ? 'Reply sent; the conversation is closed.' : 'Reply sent.');
  else if (s.state === 'delivered') announce('Reply delivered.');
  else if (s.state === 'read') announce('The patient read your reply.');
}

// Tell the sender what happened to their reply, honestly, when its state changes live.
export function announceChanges(before, conv, userId) {
  if (!before) return;
  for (const m of conv.messages || []) {
    const s = m.delivery_state;
    if (!s || m.actor !== userId || before.get(m.message_id) === s.state) continue;
    if (!before.has(m.message_id) && s.state === 'queued') continue;
    tell(s, conv);
  }
}

// Just after sending: the sender's newest reply may already have its result (a live
// update can overtake the answer to the send): say it, so "queued" is not the last word.
export function announceLatest(conv, userId) {
  const mine = (conv.messages || []).filter((m) => m.actor === userId && m.delivery_state);
  const last = mine[mine.length - 1];
  if (last && last.delivery_state.state !== 'queued') tell(last.delivery_state, conv);
}
