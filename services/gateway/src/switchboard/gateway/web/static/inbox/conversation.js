// One conversation: header (patient, line, labels, status, assignee), who else is viewing or
// typing, linking an unrecognized sender, the history with each selected reason, why it was
// routed here, the reply box and the patient panel.
import { announce, api, ApiError, el, formatTime, query } from '../api.js';
import {
  badge, channelName, directory, displayName, humanize, inboxName, labels, reasonName,
} from './common.js';
import { renderWhy } from './explain.js';
import { announceChanges, announceLatest, deliveryNote, deliveryStates, retryReply } from './delivery.js';
import { PatientPanel } from './panel.js';
import { ReplyBox } from './reply.js';
import { noteNode, Teamwork } from './teamwork.js';

const VIEWING_EVERY_MS = 15000;

export class Conversation {
  constructor(root, { user, send, changed }) {
    this.root = root;
    this.user = user;
    this.send = send;
    this.changed = changed;
    this.id = null;
    this.conv = null;
    this.others = new Map();  // staff_id -> {name, state, expires}
    this.heartbeat = null;
    this.presenceTimer = null;
  }

  // --- presence (I-LIVE-1) ---
  tell(type) {
    if (this.id) this.send({ type, conversation_id: this.id, display_name: this.user.display_name });
  }

  presence(m) {
    if (m.conversation_id !== this.id) return;
    if (m.state === 'left') this.others.delete(m.staff_id);
    else this.others.set(m.staff_id, { name: m.display_name || directory.staffName(m.staff_id), state: m.state, expires: Date.parse(m.expires_at) });
    this.renderPresence();
  }

  renderPresence() {
    const box = this.root.querySelector('#presence');
    if (!box) return;
    const now = Date.now();
    for (const [id, o] of this.others) if (o.expires < now) this.others.delete(id);
    const parts = [...this.others.values()].map((o) => `${o.name} is ${o.state === 'typing' ? 'typing…' : 'viewing'}`);
    box.textContent = parts.join(' · ');
    box.hidden = !parts.length;
    clearTimeout(this.presenceTimer);
    if (this.others.size) this.presenceTimer = setTimeout(() => this.renderPresence(), 5000);
  }

  // --- open / close ---
  close() {
    if (this.id) this.tell('left');
    clearInterval(this.heartbeat);
    this.id = null;
    this.conv = null;
    this.others.clear();
    this.root.replaceChildren(el('p', { class: 'muted empty' }, 'Select a conversation.'));
  }

  async open(id) {
    if (this.id && this.id !== id) this.tell('left');
    clearInterval(this.heartbeat);
    this.id = id;
    this.others.clear();
    this.root.replaceChildren(el('p', { class: 'muted empty' }, 'Loading…'));
    await this.reload({ focus: true });
    if (this.id !== id || !this.conv) return;
    this.tell('viewing');
    this.heartbeat = setInterval(() => this.tell(this.reply && this.reply.typing ? 'typing' : 'viewing'), VIEWING_EVERY_MS);
  }

  async reload({ focus = false } = {}) {
    const id = this.id;
    if (!id) return;
    let conv;
    try {
      conv = await api(`/api/conversations/${id}`);
    } catch (e) {
      if (this.id !== id) return;
      this.conv = null;
      this.root.replaceChildren(el('p', { class: 'error-box', role: 'alert' }, `This conversation cannot be shown: ${e.message}`));
      return;
    }
    if (this.id !== id) return;
    const first = !this.conv || this.conv.conversation_id !== id;
    if (!first) announceChanges(deliveryStates(this.conv), conv, this.user.user_id);
    this.conv = conv;
    if (first) this.render(); else this.update();
    if (focus) this.root.querySelector('h2')?.focus();
  }

  // After a live change: re-read until the projection shows it (a few tries).
  async reloadUntilChanged() {
    const id = this.id;
    // a delivery update changes neither the version nor the messages: its state counts too
    const key = (c) => `${c.version}/${c.messages.length}/${[...deliveryStates(c).values()]}`;
    const before = this.conv ? key(this.conv) : null;
    for (const wait of [0, 150, 400, 1000]) {
      if (wait) await new Promise((r) => setTimeout(r, wait));
      if (this.id !== id) return;
      await this.reload();
      if (!this.conv || key(this.conv) !== before) return;
    }
  }

  // --- rendering ---
  render() {
    const c = this.conv;
    this.panel = new PatientPanel(c);
    this.reply = new ReplyBox(c, {
      user: this.user,
      panel: this.panel,
      typing: (on) => this.tell(on ? 'typing' : 'viewing'),
      sent: (result) => this.applied(result),
      stale: () => this.reload(),
    });
    this.teamwork = new Teamwork(c, { done: (result) => this.applied(result) });
    this.header = el('div', { class: 'conv-header' });
    this.link = el('div', { class: 'link-box' });
    this.history = el('ol', { class: 'history', 'aria-label': 'Conversation history' });
    this.why = el('details', { class: 'why' });
    const main = el('div', { class: 'conv-main' },
      this.header,
      el('p', { id: 'presence', class: 'presence', role: 'status', 'aria-live': 'polite', hidden: true }),
      this.link,
      el('h3', { class: 'visually-hidden' }, 'History'),
      this.history,
      this.why,
      this.teamwork.root,
      this.reply.root);
    this.root.replaceChildren(el('div', { class: 'conv-layout' }, main, this.panel.root));
    this.update();
    this.renderWhy();
    this.panel.load();
  }

  update() {
    const c = this.conv;
    this.renderHeader();
    this.renderLink();
    this.renderHistory();
    this.reply.update(c);
    this.teamwork.update(c);
    this.panel.update(c);
    this.renderPresence();
  }

  renderHeader() {
    const c = this.conv;
    const status = el('select', { 'aria-label': 'Status', onchange: (ev) => this.setStatus(ev.target.value) },
      el('option', { value: 'open', selected: c.status === 'open' }, 'Open'),
      el('option', { value: 'closed', selected: c.status === 'closed' }, 'Closed'),
      c.status === 'snoozed' ? el('option', { value: 'snoozed', selected: true, disabled: true }, 'Snoozed') : null);
    const assign = el('select', { 'aria-label': 'Assignee', onchange: (ev) => this.assign(ev.target.value || null) },
      el('option', { value: '' }, 'Unassigned'),
      c.assignee ? el('option', { value: c.assignee, selected: true }, directory.staffName(c.assignee)) : null);
    assign.addEventListener('focus', () => this.fillAssignees(assign), { once: true });
    assign.addEventListener('mousedown', () => this.fillAssignees(assign), { once: true });
    this.header.replaceChildren(
      el('div', { class: 'conv-title' },
        el('h2', { tabindex: '-1' }, displayName(c)),
        el('span', { class: 'line-label', title: 'The practice line of this thread' },
          `${channelName(c.channel)} · ${c.channel === 'email' || c.channel === 'secure_email' ? c.line : directory.lineLabel(c.line)}`),
        c.patient ? el('span', { class: 'muted' }, c.sender) : badge('Unrecognized', 'warn'),
        ...labels(c)),
      el('div', { class: 'conv-controls' },
        el('label', { class: 'inline' }, 'Status', status),
        el('label', { class: 'inline' }, 'Assignee', assign)));
    // <label> wrapping gives the accessible names; aria-label makes them exact.
  }

  async fillAssignees(select) {
    try {
      const people = await api(`/api/conversations/${this.id}/assignees`);
      const current = this.conv.assignee;
      for (const p of people) directory.staff.set(p.user_id, p.display_name);
      select.replaceChildren(el('option', { value: '' }, 'Unassigned'),
        ...people.map((p) => el('option', { value: p.user_id, selected: p.user_id === current }, p.display_name)));
    } catch (e) {
      announce(`Assignees could not be loaded: ${e.message}`, { error: true });
    }
  }

  async action(kind, body, done) {
    try {
      const r = await api(`/api/conversations/${this.id}/${kind}`, {
        method: 'POST', body: { ...body, expected_version: this.conv.version },
      });
      if (r.applied && r.conversation) {
        this.conv = { ...this.conv, ...r.conversation };
        this.changed(r.conversation);
      }
      announce(r.applied ? done : `${done} (the inbox will show it shortly)`);
      await this.reload();
      return true;
    } catch (e) {
      const stale = e instanceof ApiError && e.status === 409;
      announce(stale ? `${e.message}. The conversation was reloaded.` : e.message, { error: true });
      await this.reload();
      return false;
    }
  }

  setStatus(status) {
    return this.action('status', { status }, status === 'closed' ? 'Conversation closed' : 'Conversation reopened');
  }

  assign(assignee) {
    return this.action('assign', { assignee },
      assignee ? `Assigned to ${directory.staffName(assignee)}` : 'Unassigned');
  }

  async applied(result) {
    if (result && result.conversation) this.changed(result.conversation);
    await this.reload();
    if (this.conv) announceLatest(this.conv, this.user.user_id);
  }

  // --- linking an unrecognized conversation (I-UNREC-1) ---
  renderLink() {
    const c = this.conv;
    if (c.patient_id) { this.link.replaceChildren(); this.link.hidden = true; return; }
    this.link.hidden = false;
    if (this.link.dataset.for === c.conversation_id && this.link.childElementCount) return;
    this.link.dataset.for = c.conversation_id;
    const results = el('ul', { class: 'candidates', 'aria-label': 'Patients found' });
    const matching = el('ul', { class: 'candidates', 'aria-label': 'Patients matching the sender' });
    const choose = (p) => el('li', {}, el('span', {}, p.name, ' ', el('span', { class: 'muted' }, `born ${p.birth_date || '?'} · ${[...(p.phones || []), ...(p.emails || [])].join(', ')}`)),
      el('button', { type: 'button', onclick: () => this.linkTo(p) , 'aria-label': `Link to ${p.name}` }, 'Link'));
    const search = el('form', {
      class: 'inline-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const q = ev.target.elements.q.value.trim();
        if (q.length < 2) return;
        try {
          // searched from the conversation: whoever may read it may link it (I-UNREC-1)
          const found = (await api(`/api/conversations/${c.conversation_id}/link-candidates${query({ q })}`)).search;
          results.replaceChildren(...(found.length ? found.map(choose) : [el('li', { class: 'muted' }, 'No patient found.')]));
        } catch (e) { announce(e.message, { error: true }); }
      },
    }, el('label', { class: 'inline' }, 'Find a patient', el('input', { name: 'q', type: 'search', placeholder: 'Name, phone or email' })),
    el('button', { type: 'submit' }, 'Find'));
    this.link.replaceChildren(el('div', { class: 'warning' },
      el('h3', {}, 'Unrecognized sender'),
      el('p', {}, c.unverified_reply && c.unverified_reply.allowed  // X-UNREPLY-1
        ? 'You may answer the sender below without patient details, or link a patient first.'
        : 'Link this conversation to a patient before replying.'),
      matching, search, results));
    api(`/api/conversations/${c.conversation_id}/link-candidates`).then((r) => {
      matching.replaceChildren(...r.matching.map(choose));
      if (!r.matching.length) matching.replaceChildren(el('li', { class: 'muted' }, 'No patient has this sender\'s phone or email: search by name.'));
    }).catch((e) => announce(e.message, { error: true }));
  }

  async linkTo(p) {
    const ok = await this.action('link', { patient_id: p.patient_id }, `Linked to ${p.name}`);
    if (ok) { this.link.dataset.for = ''; this.panel.load(); }
  }

  // --- history: messages and each routing decision ---
  renderHistory() {
    const c = this.conv;
    const entries = [
      ...c.messages.map((m) => ({ at: m.sent_at, node: this.message(m) })),
      ...c.decisions.map((d) => ({ at: d.decided_at, node: this.decision(d) })),
    ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const atBottom = this.history.scrollHeight - this.history.scrollTop - this.history.clientHeight < 40;
    this.history.replaceChildren(...entries.map((e) => e.node));
    if (atBottom || !this.history.dataset.seen) this.history.scrollTop = this.history.scrollHeight;
    this.history.dataset.seen = '1';
  }

  message(m) {
    if (m.direction === 'note') return noteNode(m);  // internal, never sent (I-NOTE-1)
    const inbound = m.direction === 'inbound';
    const who = inbound ? displayName(this.conv) : directory.staffName(m.actor) || 'Practice';
    // the newest state by time, a failure in words with Retry (delivery.js, I-DELIV-3)
    const delivery = deliveryNote(m, { retry: (msg, button) => this.retry(msg, button) });
    return el('li', { class: `msg ${inbound ? 'in' : 'out'}` },
      el('div', { class: 'msg-head' },
        el('strong', {}, who), ' ',
        el('span', { class: 'muted' }, `${channelName(m.channel)} · `),
        el('time', { datetime: m.sent_at, title: new Date(m.sent_at).toLocaleString() }, formatTime(m.sent_at)),
        delivery.inline,
        m.details && m.details.secure ? badge('Secure') : null),
      m.subject ? el('div', { class: 'msg-subject' }, m.subject) : null,
      el('div', { class: 'msg-body' }, m.body),
      m.attachments && m.attachments.length
        ? el('ul', { class: 'attachments', 'aria-label': 'Attachments' }, m.attachments.map((a) => el('li', {},
          a.ref && a.ref.startsWith('store:')
            ? el('a', { href: '#', onclick: (ev) => { ev.preventDefault(); this.download(a); } }, a.filename || a.content_type || 'attachment')
            : el('span', {}, a.filename || a.content_type || 'attachment'),
          a.duration_s ? ` (${Math.round(a.duration_s)} s)` : '')))
        : null,
      delivery.block);
  }

  async retry(m, button) {
    if (await retryReply(this.id, m, button)) await this.applied(null);
  }

  async download(a) {
    try {
      const r = await api(`/api/conversations/${this.id}/attachments${query({ ref: a.ref })}`, { raw: true });
      const url = URL.createObjectURL(await r.blob());
      const link = el('a', { href: url, download: a.filename || 'attachment' });
      document.body.append(link); link.click(); link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) { announce(`The file could not be opened: ${e.message}`, { error: true }); }
  }

  decision(d) {
    const where = [
      ...d.recipients.map((r) => directory.staffName(r)),
      ...d.inboxes.map(inboxName),
    ];
    return el('li', { class: 'decision' },
      el('span', {}, d.trigger === 'message' ? 'Routed' : 'Re-routed (appointment changed)', ': reason ',
        el('strong', {}, reasonName(d.reason)),
        ' · location ', el('strong', {}, d.location_name || (d.location_id ? humanize(d.location_id) : 'unknown')),
        where.length ? ` → ${where.join(', ')}` : ''),
      ' ', el('time', { class: 'muted', datetime: d.decided_at }, formatTime(d.decided_at)));
  }

  // --- why it was routed here (X-EXPLAIN-1), and why not for a staff member: explain.js ---
  renderWhy() {
    renderWhy(this.why, this.conv, this.user);
  }
}
