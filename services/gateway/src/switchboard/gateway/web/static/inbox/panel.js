// The patient panel beside a conversation (I-PANEL-1): name, age, contacts, demographics,
// preferred language, local time, care team and primary contact, up to five encounters.
import { api, el } from '../api.js';
import { directory } from './common.js';

const LANGUAGES = { en: 'English', es: 'Spanish', zh: 'Chinese', ru: 'Russian', fr: 'French', ar: 'Arabic', ko: 'Korean' };

export class PatientPanel {
  constructor(conv) {
    this.conv = conv;
    this.data = null;
    this.body = el('div', { id: 'patient-panel-body', class: 'panel-body' });
    this.toggle = el('button', {
      type: 'button', class: 'panel-toggle', 'aria-expanded': 'true', 'aria-controls': 'patient-panel-body',
      onclick: () => {
        const open = this.toggle.getAttribute('aria-expanded') !== 'true';
        this.toggle.setAttribute('aria-expanded', String(open));
        this.body.hidden = !open;
        this.root.classList.toggle('collapsed', !open);
      },
    }, 'Patient info');
    this.root = el('aside', { class: 'patient-panel', 'aria-label': 'Patient information' },
      el('h3', {}, this.toggle), this.body);
  }

  update(conv) {
    const relinked = conv.patient_id !== this.conv.patient_id;
    this.conv = conv;
    if (relinked) this.load();
  }

  async load() {
    const c = this.conv;
    if (!c.patient_id) {
      this.data = null;
      this.body.replaceChildren(el('p', { class: 'muted' }, 'Unrecognized sender: no patient linked yet.'));
      return;
    }
    this.body.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    try {
      this.data = await api(`/api/conversations/${c.conversation_id}/panel`);
      this.render();
    } catch (e) {
      this.body.replaceChildren(el('p', { class: 'error-box' }, `Patient details unavailable: ${e.message}`));
    }
  }

  render() {
    const p = this.data;
    // Only with the patient's zone: a time in the browser's zone would pass for theirs.
    const local = p.local_time && p.timezone
      ? new Date(p.local_time).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit', timeZone: p.timezone })
      : null;
    const row = (term, ...value) => [el('dt', {}, term), el('dd', {}, ...value)];
    const copy = (text) => el('button', {
      type: 'button', class: 'link', 'aria-label': `Copy ${text}`,
      onclick: () => navigator.clipboard && navigator.clipboard.writeText(text),
    }, 'copy');
    this.body.replaceChildren(
      el('p', { class: 'panel-name' }, el('strong', {}, `${p.given_name} ${p.family_name}`),
        p.age != null ? `, ${p.age}` : ''),
      el('dl', {},
        row('Born', p.birth_date || '—'),
        row('Phone', ...(p.phones.length ? p.phones.flatMap((x, i) => [i ? ', ' : '', el('a', { href: `tel:${x}` }, x)]) : ['—'])),
        row('Email', ...(p.emails.length ? p.emails.flatMap((x, i) => [i ? ', ' : '', x, ' ', copy(x)]) : ['—'])),
        p.sex || p.gender ? row('Sex', p.sex || p.gender) : [],
        row('Language', LANGUAGES[p.preferred_language] || p.preferred_language || '—'),
        local ? row('Local time', `${local} (${p.timezone.replace(/_/g, ' ')})`) : [],
        row('Primary contact', directory.staffName(p.primary_contact) || '—'),
        row('Care team', (p.care_team || []).map((id) => directory.staffName(id)).join(', ') || '—')),
      el('h4', {}, 'Recent encounters'),
      p.encounters && p.encounters.length
        ? el('ol', { class: 'encounters' }, p.encounters.map((e) => el('li', {},
          el('time', { datetime: e.start }, new Date(e.start).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })),
          el('span', { class: 'muted' }, ` · ${e.status}`),
          el('div', {}, [e.provider_name, e.location_name].filter(Boolean).join(' · ')))))
        : el('p', { class: 'muted' }, 'No encounters.'));
  }

  // Template variables from the patient (falls back on the list's name).
  vars() {
    const p = this.data;
    if (p) return { first_name: p.given_name, last_name: p.family_name, full_name: `${p.given_name} ${p.family_name}` };
    const name = this.conv.patient ? this.conv.patient.name : '';
    const [first, ...rest] = name.split(' ');
    return { first_name: first || '', last_name: rest.join(' '), full_name: name };
  }

  location() {
    const p = this.data;
    return this.conv.location_name
      || (p && p.next_appointment && p.next_appointment.location_name)
      || (p && p.encounters && p.encounters[0] && p.encounters[0].location_name) || '';
  }
}
