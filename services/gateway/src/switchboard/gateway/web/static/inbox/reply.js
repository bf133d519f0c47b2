// The reply box (I-REPLY-1, I-STATUS-1, I-LINE-1): templates with patient variables, emoji,
// attachments (the patient's documents or an upload), formatting and secure send for email,
// the sending line for SMS, "Send and Close" (default) or "Send and keep Open".
import { announce, api, ApiError, el, query } from '../api.js';
import { channelName, directory, fillTemplate, optional } from './common.js';
import { templateBody } from './template_language.js';
import { patientPlaceholders, unverifiedState, unverifiedWarning } from './unverified.js';

const EMOJI = [
  ['🙂', 'slightly smiling face'], ['😊', 'smiling face'], ['👍', 'thumbs up'], ['👋', 'waving hand'],
  ['🙏', 'folded hands'], ['❤️', 'red heart'], ['✅', 'check mark'], ['📅', 'calendar'],
  ['💊', 'pill'], ['🩺', 'stethoscope'], ['📞', 'telephone'], ['📄', 'document'],
  ['⏰', 'alarm clock'], ['🎉', 'party popper'], ['😷', 'face with medical mask'], ['🤒', 'face with thermometer'],
];
const TYPING_IDLE_MS = 4000;
let popupSeq = 0;

// A button that opens a small list (disclosure pattern): Escape closes it, focus returns.
function popup(label, build, { className = '' } = {}) {
  const id = `popup-${++popupSeq}`;
  const box = el('div', { id, class: `popup ${className}`.trim(), hidden: true });
  const button = el('button', { type: 'button', 'aria-expanded': 'false', 'aria-controls': id }, label);
  const close = (focus = true) => {
    box.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    if (focus) button.focus();
  };
  button.addEventListener('click', () => {
    if (!box.hidden) { close(false); return; }
    box.replaceChildren(...build(close));
    box.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    box.querySelector('button, input, a')?.focus();
  });
  box.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { ev.preventDefault(); close(); } });
  return { wrap: el('span', { class: 'popup-wrap' }, button, box), button, close };
}

export class ReplyBox {
  constructor(conv, { user, panel, typing, sent, stale }) {
    this.conv = conv;
    this.user = user;
    this.panel = panel;
    this.onTyping = typing;
    this.sent = sent;
    this.stale = stale;
    this.typing = false;
    this.idle = null;
    this.attachments = [];
    this.templateId = null;
    this.busy = false;

    this.text = el('textarea', { id: 'reply-body', name: 'body', rows: 4 });
    this.text.addEventListener('input', () => this.typed());
    this.text.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); this.submit(false); }
    });
    this.subject = el('input', { id: 'reply-subject', name: 'subject', type: 'text', maxlength: 998 });
    this.subjectRow = el('label', { for: 'reply-subject', class: 'subject-row' }, 'Subject', this.subject);
    this.secure = el('input', { type: 'checkbox', name: 'secure', onchange: () => { this.secure.dataset.touched = '1'; this.renderButtons(); } });
    this.secureRow = el('label', { class: 'inline' }, this.secure, 'Secure email');
    this.line = el('select', { name: 'line' });
    this.lineRow = el('label', { class: 'inline' }, 'Send from', this.line);
    this.chosen = el('ul', { class: 'chosen', 'aria-label': 'Attached files' });
    this.statusNote = el('span', { class: 'reply-status' });
    this.note = el('p', { class: 'reply-note' });
    this.unverified = el('div', { class: 'unverified-slot' });
    this.close = el('button', { type: 'submit', class: 'primary' }, 'Send and Close');
    this.keepOpen = el('button', { type: 'button', onclick: () => this.submit(true) }, 'Send and keep Open');

    this.templates = popup('Template', (close) => this.templateList(close));
    this.emoji = popup('Emoji', (close) => [el('ul', { class: 'emoji-grid', 'aria-label': 'Emoji' },
      EMOJI.map(([ch, name]) => el('li', {}, el('button', {
        type: 'button', 'aria-label': name, title: name,
        onclick: () => { this.insert(ch); close(false); this.text.focus(); },
      }, ch))))], { className: 'emoji' });
    this.attach = popup('Attach', (close) => this.attachList(close));
    this.format = el('span', { class: 'format', role: 'group', 'aria-label': 'Formatting' },
      el('button', { type: 'button', 'aria-label': 'Bold', onclick: () => this.wrap('**') }, el('b', {}, 'B')),
      el('button', { type: 'button', 'aria-label': 'Italic', onclick: () => this.wrap('_') }, el('i', {}, 'I')),
      el('button', { type: 'button', 'aria-label': 'Bulleted list', onclick: () => this.bullets() }, '• List'));

    this.form = el('form', { class: 'reply', 'aria-labelledby': 'reply-title', onsubmit: (ev) => { ev.preventDefault(); this.submit(false); } },
      el('h3', { id: 'reply-title' }, 'Reply'),
      this.note,
      this.unverified,
      this.subjectRow,
      el('label', { for: 'reply-body', class: 'visually-hidden' }, 'Message'),
      this.text,
      this.chosen,
      el('div', { class: 'reply-tools', role: 'toolbar', 'aria-label': 'Compose tools' },
        this.templates.wrap, this.format, this.emoji.wrap, this.attach.wrap, this.secureRow, this.lineRow),
      el('div', { class: 'reply-send' }, this.statusNote, this.keepOpen, this.close));
    this.root = this.form;
    this.update(conv);
  }

  get email() { return this.conv.channel === 'email' || this.conv.channel === 'secure_email'; }

  update(conv) {
    this.conv = conv;
    const email = this.email;
    this.subjectRow.hidden = !email;
    this.format.hidden = !email;
    this.secureRow.hidden = !email;
    if (conv.channel === 'secure_email' && !this.secure.dataset.touched) this.secure.checked = true;
    const unverified = unverifiedState(conv);
    // X-UNREPLY-1: to an unverified sender only from the line it wrote to
    this.lineRow.hidden = conv.channel !== 'sms' || unverified.state === 'allowed';
    if (conv.channel === 'sms') this.renderLines();
    this.statusNote.textContent = `Status: ${conv.status === 'closed' ? 'Closed' : 'Open'}`;
    const who = conv.patient ? conv.patient.name : 'an unrecognized sender';
    let blocked = null;
    if (unverified.state === 'refused') blocked = unverified.why;
    else if (conv.channel === 'voicemail') blocked = 'A voicemail cannot be answered on its channel: call or text the patient.';
    this.blocked = blocked;
    this.note.textContent = blocked || `To ${who} by ${channelName(conv.channel)}.`;
    this.note.classList.toggle('warning', !!blocked);
    const warning = unverifiedWarning(conv);
    this.unverified.replaceChildren(...(warning ? [warning] : []));
    this.form.classList.toggle('unverified', !!warning);
    for (const c of this.form.querySelectorAll('textarea, input, select, button')) c.disabled = !!blocked;
    this.renderButtons();
  }

  renderLines() {
    const sms = directory.lines.filter((l) => l.channel === 'sms');
    const current = this.line.value || this.conv.line;
    const options = sms.some((l) => l.address === this.conv.line) ? sms : [{ address: this.conv.line, label: null }, ...sms];
    this.line.replaceChildren(...options.map((l) => el('option', { value: l.address, selected: l.address === current },
      l.label ? `${l.label} (${l.address})` : l.address, l.address === this.conv.line ? ' — this thread' : '')));
  }

  renderButtons() {
    const secure = this.email && this.secure.checked;
    this.close.textContent = secure ? 'Send securely and Close' : 'Send and Close';
    this.keepOpen.textContent = secure ? 'Send securely and keep Open' : 'Send and keep Open';
  }

  // --- typing presence ---
  typed() {
    if (!this.typing) { this.typing = true; this.onTyping(true); }
    clearTimeout(this.idle);
    this.idle = setTimeout(() => { this.typing = false; this.onTyping(false); }, TYPING_IDLE_MS);
  }

  // --- editing ---
  insert(text) {
    const t = this.text;
    const [s, e] = [t.selectionStart, t.selectionEnd];
    t.setRangeText(text, s, e, 'end');
    this.typed();
  }

  wrap(marker) {
    const t = this.text;
    const [s, e] = [t.selectionStart, t.selectionEnd];
    const inner = t.value.slice(s, e) || 'text';
    t.setRangeText(`${marker}${inner}${marker}`, s, e, 'select');
    t.setSelectionRange(s + marker.length, s + marker.length + inner.length);
    t.focus();
  }

  bullets() {
    const t = this.text;
    const [s, e] = [t.selectionStart, t.selectionEnd];
    const lines = (t.value.slice(s, e) || 'item').split('\n').map((l) => `- ${l}`).join('\n');
    const before = s > 0 && t.value[s - 1] !== '\n' ? '\n' : '';
    t.setRangeText(before + lines, s, e, 'end');
    t.focus();
  }

  templateList(close) {
    if (!directory.templates.length) return [el('p', { class: 'muted' }, 'No templates yet.')];
    return [el('ul', { class: 'menu', 'aria-label': 'Templates' }, directory.templates.map((t) => el('li', {},
      el('button', { type: 'button', onclick: () => { this.useTemplate(t); close(false); this.text.focus(); } }, t.name))))];
  }

  useTemplate(t) {
    const vars = {
      ...this.panel.vars(),
      staff_name: this.user.display_name,
      location: this.panel.location(),
    };
    // covers X-LANG-4: the body in the patient's language, else the default one
    const body = fillTemplate(templateBody(t, this.panel.data && this.panel.data.preferred_language), vars);
    this.text.value = this.text.value.trim() ? `${this.text.value}\n${body}` : body;
    this.templateId = t.template_id;
    this.typed();
  }

  // --- attachments: the patient's documents or an upload ---
  attachList(close) {
    const docs = el('ul', { class: 'menu', 'aria-label': 'Patient documents' }, el('li', { class: 'muted' }, 'Loading…'));
    this.documents().then((list) => {
      docs.replaceChildren(...(list.length ? list.map((d) => el('li', {}, el('button', {
        type: 'button', onclick: () => { this.add(d); close(false); this.text.focus(); },
      }, d.filename || d.content_type || 'document'))) : [el('li', { class: 'muted' }, 'No documents.')]));
    });
    const file = el('input', { type: 'file', id: 'reply-upload' });
    file.addEventListener('change', async () => {
      const f = file.files[0];
      if (!f) return;
      try {
        const r = await api(`/api/conversations/${this.conv.conversation_id}/attachments${query({ filename: f.name })}`, {
          method: 'POST', body: f, headers: { 'content-type': f.type || 'application/octet-stream' },
        });
        this.add(r);
        close(false);
        this.text.focus();
      } catch (e) { announce(`The file could not be uploaded: ${e.message}`, { error: true }); }
    });
    return [el('h4', {}, 'Patient documents'), docs,
      el('label', { for: 'reply-upload' }, 'Upload a file'), file];
  }

  async documents() {
    const r = await optional(`/api/conversations/${this.conv.conversation_id}/documents`, null);
    if (r && r.documents) return r.documents;
    // Without the endpoint: the files in this conversation.
    return (this.conv.messages || []).flatMap((m) => m.attachments || []).filter((a) => a.ref && a.ref.startsWith('store:'));
  }

  add(doc) {
    if (this.attachments.some((a) => a.ref === doc.ref)) return;
    if (this.attachments.length >= 10) { announce('At most 10 files per reply.', { error: true }); return; }
    this.attachments.push({ ref: doc.ref, filename: doc.filename || null, content_type: doc.content_type || null });
    this.renderChosen();
  }

  renderChosen() {
    this.chosen.replaceChildren(...this.attachments.map((a, i) => el('li', {},
      a.filename || 'file', ' ',
      el('button', { type: 'button', class: 'link', 'aria-label': `Remove ${a.filename || 'file'}`,
        onclick: () => { this.attachments.splice(i, 1); this.renderChosen(); } }, 'remove'))));
  }

  // --- sending ---
  async submit(keepOpen) {
    if (this.blocked || this.busy) return;
    const body = this.text.value;
    if (!body.trim() && !this.attachments.length) {
      announce('Write a message or attach a file first.', { error: true });
      this.text.focus();
      return;
    }
    const named = unverifiedState(this.conv).state === 'allowed' ? patientPlaceholders(`${body} ${this.subject.value}`) : [];
    if (named.length) {
      announce(`The sender is not verified: remove ${named.map((n) => `{{${n}}}`).join(', ')} first.`, { error: true });
      this.text.focus();
      return;
    }
    const payload = {
      body, keep_open: keepOpen, attachments: this.attachments,
      expected_version: this.conv.version, template_id: this.templateId,
    };
    if (this.email) {
      payload.secure = this.secure.checked;
      if (this.subject.value.trim()) payload.subject = this.subject.value.trim();
    }
    if (this.conv.channel === 'sms' && this.line.value && this.line.value !== this.conv.line) payload.line = this.line.value;
    this.busy = true;
    this.close.disabled = this.keepOpen.disabled = true;
    try {
      // One key per reply being written: a second click, or sending again after a lost
      // answer, is the same reply and is sent once (I-DELIV-6). A refusal (4xx) ends it.
      this.sendKey ||= Array.from(crypto.getRandomValues(new Uint8Array(16)),
        (b) => b.toString(16).padStart(2, '0')).join('');
      const r = await api(`/api/conversations/${this.conv.conversation_id}/reply`,
        { method: 'POST', body: payload, headers: { 'Idempotency-Key': this.sendKey } });
      this.sendKey = null;
      this.text.value = '';
      this.subject.value = '';
      this.attachments = [];
      this.templateId = null;
      this.renderChosen();
      clearTimeout(this.idle);
      if (this.typing) { this.typing = false; this.onTyping(false); }
      // queued, not sent: the channel has not accepted it yet (I-DELIV-1); the history
      // shows when it is sent or why not (delivery.js)
      announce(keepOpen
        ? 'Reply queued; the conversation stays open.'
        : 'Reply queued; the conversation closes once it is sent.');
      this.sent(r);
    } catch (e) {
      if (e instanceof ApiError && e.status < 500) this.sendKey = null;
      const stale = e instanceof ApiError && e.status === 409;
      announce(stale ? `${e.message}. Your text is kept; the conversation was reloaded.` : `Not sent: ${e.message}`, { error: true });
      if (stale) this.stale();
    } finally {
      this.busy = false;
      this.close.disabled = this.keepOpen.disabled = !!this.blocked;
    }
  }
}
