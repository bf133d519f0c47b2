// What the patient page says about the practice before anything else (X-PATIENTPAGE-1): the
// emergency notice, how soon the practice usually answers (its response target), its business
// hours and coming holidays. Pure formatting here, in the page's language (patient_text.js,
// X-LANG-1); patient.js fetches and places it.
import { language, locale, t } from './patient_text.js';

const days = () => t('days_short').split(' ');

// "45 minutes", "2 hours", "1 hour 30 minutes", "2 days" (or "1 hora y 30 minutos").
export function duration(minutes) {
  const plural = (n, unit) => t(`${unit}_${n === 1 ? 'one' : 'other'}`, { n });
  if (minutes < 60) return plural(minutes, 'minute');
  if (minutes < 24 * 60) {
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return m
      ? t('hours_and_minutes', { hours: plural(h, 'hour'), minutes: plural(m, 'minute') })
      : plural(h, 'hour');
  }
  return plural(Math.round(minutes / (24 * 60)), 'day');
}

export function responseText(minutes) {
  if (!minutes) return null;
  return t('reply_within', { duration: duration(minutes) });
}

// "09:00" -> "9:00 AM" (Spanish: "9:00", "17:30"); "24:00" -> "midnight".
export function clock(hhmm) {
  if (hhmm === '24:00' || hhmm === '00:00') return t('midnight');
  const [h, m] = hhmm.split(':').map(Number);
  if (language() !== 'en') return `${h}:${String(m).padStart(2, '0')}`;
  const suffix = h < 12 ? 'AM' : 'PM';
  return `${((h + 11) % 12) + 1}:${String(m).padStart(2, '0')} ${suffix}`;
}

// [[weekday, start, end], ...] -> ["Mon–Fri: 8:30 AM – 5:30 PM", "Sat: 9:00 AM – 12:00 PM",
// "Sun: closed"]: consecutive days with the same hours share a line.
export function hoursLines(windows) {
  const DAYS = days();
  const byDay = DAYS.map((_, d) => windows.filter((w) => w[0] === d)
    .sort((a, b) => (a[1] < b[1] ? -1 : 1))
    .map((w) => `${clock(w[1])} \u2013 ${clock(w[2])}`).join(', ') || t('closed'));
  const lines = [];
  let first = 0;
  for (let d = 1; d <= 7; d += 1) {
    if (d === 7 || byDay[d] !== byDay[first]) {
      const days = d - 1 === first ? DAYS[first] : `${DAYS[first]}\u2013${DAYS[d - 1]}`;
      lines.push(`${days}: ${byDay[first]}`);
      first = d;
    }
  }
  return lines;
}

export function zoneName(zone) {
  try {
    const part = new Intl.DateTimeFormat(locale() || 'en-US', { timeZone: zone, timeZoneName: 'long' })
      .formatToParts(new Date()).find((p) => p.type === 'timeZoneName');
    return part ? part.value : zone;
  } catch (e) {
    return zone;
  }
}

export function holidayText(iso) {
  return new Intl.DateTimeFormat(locale(), {
    weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC',
  }).format(new Date(`${iso}T00:00:00Z`));
}

// Fill the page's #emergency and #office from GET /patient/{p}/practice.
export function showOffice(info, $, el) {
  $('emergency').hidden = !info.emergency_notice;
  if (info.emergency_notice) {
    $('emergency-text').textContent = info.emergency_notice;
    $('emergency').hidden = false;
  }
  const office = info.office;
  if (!office) return;
  const reply = responseText(office.response_minutes);
  $('response-time').textContent = reply || '';
  $('response-time').hidden = !reply;
  if (office.business_hours.length) {
    $('hours-zone').textContent = `(${zoneName(office.timezone)})`;
    $('hours-list').replaceChildren(...hoursLines(office.business_hours)
      .map((line) => el('li', { text: line })));
    $('hours').hidden = false;
  }
  if (office.holidays.length) {
    $('holidays').textContent = t('closed_on', { dates: office.holidays.map(holidayText).join(', ') });
    $('holidays').hidden = false;
  }
  $('office').hidden = !(reply || office.business_hours.length);
}
