// Team work in one conversation: internal notes with @mentions (I-NOTE-1) and snooze
// (I-SNOOZE-1). A note is for staff only: it is never sent to the patient, and the thread
// shows it apart from messages. Patient data is only ever set as text.
import { announce, api, ApiError, el, formatTime } from '../api.js';
import { badge, directory } from './common.js';

// A note in the thread: visibly not a message to or from the patient.
export function noteNode(m) {
  const mentions = (m.details && m.details.mentions) || [];
  return el('li', { class: 'msg note', 'aria-label': 'Internal note' },
    el('div', { class: 'msg-head' },
      badge('Internal note', 'note-badge'), ' ',
      el('strong', {}, directory.staffName(m.actor) || m.actor || 'Staff'), ' ',
      el('span', { class: 'muted' }, '· not sent to the patient · '),
      el('time', { datetime: m.sent_at, title: new Date(m.sent_at).toLocaleString() }, formatTime(m.sent_at))),
    el('div', { class: 'msg-body' }, m.body),
    mentions.length
      ? el('div', { class: 'muted mentions' }, `Mentioned: ${mentions.map((id) => directory.staffName(id)).join(', ')}`)
      : null);
}

function inOneHour() { return new Date(Date.now() + 3600e3); }
function tomorrowAt8() {
  const d = new Date(); d.setDate(d.getDate() + 1); d.setHours(8, 0, 0, 0); return d;
}
function localInput(d) {  // a Date as <input type="datetime-local"> wants it
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export class Teamwork {
  constructor(conv, { done }) {
    this.conv = conv;
    this.done = done;  // (result) after an applied action
    this.mentions = new Map();  // user id -> display name, picked for the note being written
    this.snoozeLine = el('p', { class: 'snooze-line', role: 'status' });
    this.snoozeWhen = el('select', { 'aria-label': 'Snooze until' },
      el('option', { value: 'hour' }, 'In one hour'),
      el('option', { value: 'tomorrow' }, 'Tomorrow 8:00'),
      el('option', { value: 'reply' }, 'Until the patient answers'),
      el('option', { value: 'custom' }, 'Pick a time…'));
    this.snoozeAt = el('input', { type: 'datetime-local', step: '1', 'aria-label': 'Snooze until (time)', hidden: true });
    this.snoozeWhen.addEventListener('change', () => {
      this.snoozeAt.hidden = this.snoozeWhen.value !== 'custom';
      if (!this.snoozeAt.hidden && !this.snoozeAt.value) this.snoozeAt.value = localInput(inOneHour());
    });
    this.snoozeButton = el('button', { type: 'button', onclick: () => this.snooze() }, 'Snooze');
    this.snoozeBar = el('div', { class: 'snooze-bar inline-form' },
      el('label', { class: 'inline' }, 'Snooze', this.snoozeWhen), this.snoozeAt, this.snoozeButton);

    this.text = el('textarea', { id: 'note-body', name: 'note', rows: 2, placeholder: 'Internal note for colleagues. Type @ to mention someone.' });
    this.suggest = el('ul', { class: 'mention-suggest', role: 'listbox', 'aria-label': 'Colleagues to mention', hidden: true });
    this.error = el('p', { class: 'error-box', role: 'alert', hidden: true });
    this.text.addEventListener('input', () => this.suggestions());
    this.text.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') this.suggest.hidden = true;
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); this.add(); }
    });
    this.form = el('form', { class: 'note-box', 'aria-labelledby': 'note-title', onsubmit: (ev) => { ev.preventDefault(); this.add(); } },
      el('h3', { id: 'note-title' }, 'Internal note ', el('span', { class: 'muted' }, '(never sent to the patient)')),
      el('label', { for: 'note-body', class: 'visually-hidden' }, 'Internal note'),
      this.text, this.suggest, this.error,
      el('button', { type: 'submit' }, 'Add note'));
    this.root = el('div', { class: 'teamwork' }, this.snoozeLine, this.snoozeBar, this.form);
    this.update(conv);
  }

  update(conv) {
    this.conv = conv;
    const snoozed = conv.status === 'snoozed';
    this.snoozeLine.hidden = !snoozed;
    this.snoozeBar.hidden = snoozed || conv.status === 'closed';
    if (snoozed) {
      const until = conv.snoozed_until ? `until ${new Date(conv.snoozed_until).toLocaleString()}` : 'until the patient answers';
      this.snoozeLine.replaceChildren(badge('Snoozed', 'snoozed'), ` ${until} or the patient writes. The response timer is paused meanwhile. `,
        el('button', { type: 'button', class: 'link', onclick: () => this.reopen() }, 'Reopen now'));
    }
  }

  focusNote() { this.text.focus(); }

  // "@fra" at the cursor: colleagues whose name or id starts so.
  suggestions() {
    const upto = this.text.value.slice(0, this.text.selectionStart);
    const m = /(^|\s)@([\w .-]{0,30})$/.exec(upto);
    if (!m) { this.suggest.hidden = true; return; }
    const q = m[2].toLowerCase();
    const hits = [...directory.staff].filter(([id, name]) => id.toLowerCase().startsWith(q) || name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q)) || name.toLowerCase().startsWith(q)).slice(0, 6);
    this.suggest.replaceChildren(...hits.map(([id, name]) => el('li', {},
      el('button', { type: 'button', role: 'option', onclick: () => this.pick(id, name, m[2].length) }, `${name} (${id})`))));
    this.suggest.hidden = !hits.length;
  }

  pick(id, name, typed) {
    const at = this.text.selectionStart;
    const before = this.text.value.slice(0, at - typed);
    this.text.value = `${before}${name} ${this.text.value.slice(at)}`;
    this.mentions.set(id, name);
    this.suggest.hidden = true;
    this.text.focus();
  }

  async add() {
    const body = this.text.value.trim();
    if (!body) { this.text.focus(); return; }
    // a picked colleague counts while "@Name" is still in the text
    const mentions = [...this.mentions].filter(([, name]) => body.includes(`@${name}`)).map(([id]) => id);
    this.error.hidden = true;
    try {
      const r = await api(`/api/conversations/${this.conv.conversation_id}/notes`, { method: 'POST', body: { body, mentions } });
      this.text.value = '';
      this.mentions.clear();
      announce(r.mentions.length ? `Note added; ${r.mentions.map((id) => directory.staffName(id)).join(', ')} notified` : 'Note added');
      this.done(r);
    } catch (e) {
      this.error.textContent = e instanceof ApiError && e.status === 422 ? `Not added: ${e.message}` : e.message;
      this.error.hidden = false;
    }
  }

  async snooze() {
    const choice = this.snoozeWhen.value;
    let until = null;
    if (choice === 'hour') until = inOneHour();
    else if (choice === 'tomorrow') until = tomorrowAt8();
    else if (choice === 'custom') until = this.snoozeAt.value ? new Date(this.snoozeAt.value) : null;
    if (choice === 'custom' && !until) { this.snoozeAt.focus(); return; }
    try {
      const r = await api(`/api/conversations/${this.conv.conversation_id}/snooze`, {
        method: 'POST', body: { until: until && until.toISOString(), expected_version: this.conv.version },
      });
      announce(until ? `Snoozed until ${until.toLocaleString()}` : 'Snoozed until the patient answers');
      this.done(r);
    } catch (e) { announce(e.message, { error: true }); }
  }

  async reopen() {
    try {
      const r = await api(`/api/conversations/${this.conv.conversation_id}/status`, { method: 'POST', body: { status: 'open' } });
      announce('Conversation reopened');
      this.done(r);
    } catch (e) { announce(e.message, { error: true }); }
  }
}
