// What the patient page says about the practice before anything else (X-PATIENTPAGE-1): the
// emergency notice, how soon the practice usually answers (its response target), its business
// hours and coming holidays. Pure formatting here; patient.js fetches and places it.

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

// "45 minutes", "2 hours", "1 hour 30 minutes", "2 days".
export function duration(minutes) {
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (minutes < 60) return plural(minutes, 'minute');
  if (minutes < 24 * 60) {
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return m ? `${plural(h, 'hour')} ${plural(m, 'minute')}` : plural(h, 'hour');
  }
  return plural(Math.round(minutes / (24 * 60)), 'day');
}

export function responseText(minutes) {
  if (!minutes) return null;
  return `We usually reply within ${duration(minutes)} during business hours.`;
}

// "09:00" -> "9:00 AM"; "24:00" -> "midnight".
export function clock(hhmm) {
  if (hhmm === '24:00' || hhmm === '00:00') return 'midnight';
  const [h, m] = hhmm.split(':').map(Number);
  const suffix = h < 12 ? 'AM' : 'PM';
  return `${((h + 11) % 12) + 1}:${String(m).padStart(2, '0')} ${suffix}`;
}

// [[weekday, start, end], ...] -> ["Mon–Fri: 8:30 AM – 5:30 PM", "Sat: 9:00 AM – 12:00 PM",
// "Sun: closed"]: consecutive days with the same hours share a line.
export function hoursLines(windows) {
  const byDay = DAYS.map((_, d) => windows.filter((w) => w[0] === d)
    .sort((a, b) => (a[1] < b[1] ? -1 : 1))
    .map((w) => `${clock(w[1])} \u2013 ${clock(w[2])}`).join(', ') || 'closed');
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
    const part = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'long' })
      .formatToParts(new Date()).find((p) => p.type === 'timeZoneName');
    return part ? part.value : zone;
  } catch (e) {
    return zone;
  }
}

export function holidayText(iso) {
  return new Intl.DateTimeFormat(undefined, {
    weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC',
  }).format(new Date(`${iso}T00:00:00Z`));
}

// Fill the page's #emergency and #office from GET /patient/{p}/practice.
export function showOffice(info, $, el) {
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
    $('holidays').textContent = `Closed on ${office.holidays.map(holidayText).join(', ')}.`;
    $('holidays').hidden = false;
  }
  $('office').hidden = !(reply || office.business_hours.length);
}
