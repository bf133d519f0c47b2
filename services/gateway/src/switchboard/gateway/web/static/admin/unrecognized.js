// Replies to unrecognized senders (X-UNREPLY-1): the practice setting, off by default, and
// every change with who made it and when. Staff also need the inbox.reply_unrecognized
// policy; the reply box then says the sender is not verified (inbox/unverified.js).
import { api, announce, el } from '../api.js';

const SETTING = '/api/admin/settings/reply-unrecognized';

function changes(history) {
  if (!history.length) return el('p', { class: 'muted' }, 'Never changed: off (the default).');
  return el('ol', { class: 'setting-history', 'aria-label': 'Changes' }, history.slice().reverse().map((h) =>
    el('li', {}, `${h.value ? 'Allowed' : 'Stopped'} by ${h.changed_by}, `,
      el('time', { datetime: h.changed_at }, new Date(h.changed_at).toLocaleString()))));
}

export async function unrecognizedReplies(panel, again) {
  const state = await api(SETTING);
  const box = el('input', { type: 'checkbox', id: 'reply-unrecognized', checked: state.value });
  const save = el('button', { type: 'button', class: 'primary' }, 'Save');
  save.addEventListener('click', async () => {
    save.disabled = true;
    try {
      await api(SETTING, { method: 'PUT', body: { value: box.checked } });
      announce(box.checked ? 'Replies to unrecognized senders allowed.' : 'Replies to unrecognized senders stopped.');
      await again();
    } catch (e) {
      announce(`Not saved: ${e.message}`, { error: true });
      save.disabled = false;
    }
  });
  panel.append(
    el('p', {}, 'Staff with the "reply to unrecognized senders" policy (inbox.reply_unrecognized) may answer a message no patient is linked to. ',
      'The reply goes only to the number or address that wrote, from the line it wrote to; patient placeholders are refused; each reply is audited.'),
    el('label', { for: 'reply-unrecognized', class: 'inline' }, box, 'Allow replies to unrecognized senders'),
    el('p', {}, save),
    el('h3', {}, 'History'),
    changes(state.history));
}
