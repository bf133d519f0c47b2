// Answering an unrecognized sender (X-UNREPLY-1): the reply box says plainly that the
// sender is not verified, where the reply goes (the number or address that wrote, from the
// line it wrote to: the server takes both from the conversation) and that patient
// placeholders are refused. Whether this user may answer comes with the conversation
// (`unverified_reply`: the practice setting and the inbox.reply_unrecognized policy).
import { el } from '../api.js';
import { channelName, directory } from './common.js';

const PATIENT_PLACEHOLDERS = ['first_name', 'last_name', 'full_name', 'location'];
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

// { state: 'none' } for a conversation with a patient; otherwise whether the reply box may
// be used ('allowed') or why not ('refused', with `why`).
export function unverifiedState(conv) {
  if (conv.answerable || conv.patient_id) return { state: 'none' };
  const u = conv.unverified_reply;
  if (u && u.allowed) return { state: 'allowed' };
  return { state: 'refused', why: (u && u.why) || 'Link this conversation to a patient before replying.' };
}

// The warning above the reply text, or null when the sender is a patient.
export function unverifiedWarning(conv) {
  if (unverifiedState(conv).state !== 'allowed') return null;
  const line = conv.line ? directory.lineLabel(conv.line) : '';
  return el('div', { class: 'unverified-warning', role: 'note', 'aria-label': 'Sender not verified' },
    el('strong', {}, 'Sender not verified. '),
    'No patient is linked to this conversation: anyone may have written it. ',
    `Your ${channelName(conv.channel)} goes only to ${conv.sender}`,
    line ? `, from ${line}` : '',
    '. Do not include patient information; patient placeholders ({{first_name}} …) are refused.');
}

// The patient placeholders in a text, for the box to name before sending.
export function patientPlaceholders(text) {
  const names = [...(text || '').matchAll(PLACEHOLDER)].map((m) => m[1]);
  return [...new Set(names)].filter((n) => PATIENT_PLACEHOLDERS.includes(n));
}
