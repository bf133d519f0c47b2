"""A minimal patient page over the patient API, so the messenger and a secure email's link
work end to end before the UI has its own: sign in (name, date of birth, and the mobile
number for the messenger), pick a reason when asked, write, read the practice's replies
(which records the read receipt). Data is only ever set as text, never as HTML."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)
Practice = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}

HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Message your care team</title>
<style>
body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.5rem 0}input,select,textarea{width:100%;padding:.4rem}
.msg{border-radius:.5rem;padding:.5rem .75rem;margin:.4rem 0;white-space:pre-wrap}
.patient{background:#e8f0fe;margin-left:3rem}.practice{background:#f1f3f4;margin-right:3rem}
.hidden{display:none}#error{color:#b00020}
</style></head><body>
<h1>Message your care team</h1>
<p id="error" role="alert"></p>
<form id="signin">
  <label>First name <input name="given_name" required autocomplete="given-name"></label>
  <label>Last name <input name="family_name" required autocomplete="family-name"></label>
  <label>Date of birth <input name="birth_date" type="date" required></label>
  <label id="phone-label">Mobile number <input name="phone" autocomplete="tel"></label>
  <button>Continue</button>
</form>
<section id="chat" class="hidden">
  <div id="messages"></div>
  <form id="compose">
    <label id="reason-label" class="hidden">What is this about?
      <select name="reason" id="reason"></select></label>
    <label>Your message <textarea name="body" rows="4"></textarea></label>
    <label>Attach a file <input name="file" type="file"></label>
    <button>Send</button>
  </form>
</section>
<script src="/patient-page.js"></script>
</body></html>
"""

JS = """(() => {
const parts = location.pathname.split('/').filter(Boolean);  // patient/<practice>[/secure/<id>]
const practice = parts[1];
const secureId = parts[2] === 'secure' ? parts[3] : null;
const api = `/patient/${practice}`;
let token = null;
const $ = (id) => document.getElementById(id);
const fail = (text) => { $('error').textContent = text || ''; };
if (secureId) $('phone-label').classList.add('hidden');

async function call(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  if (token) headers['authorization'] = `Bearer ${token}`;
  const r = await fetch(api + path, Object.assign({}, opts, {headers}));
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail; } catch (e) {}
    throw new Error(typeof detail === 'string' ? detail : 'please check the form');
  }
  return r.status === 204 ? null : r.json();
}

$('signin').addEventListener('submit', async (ev) => {
  ev.preventDefault(); fail();
  const f = new FormData(ev.target);
  const body = {given_name: f.get('given_name'), family_name: f.get('family_name'),
                birth_date: f.get('birth_date')};
  if (secureId) {
    body.secure_message_id = secureId;
    body.secure_token = new URLSearchParams(location.search).get('t');
  } else { body.phone = f.get('phone'); }
  try {
    token = (await call('/sessions', {method: 'POST', body: JSON.stringify(body),
                                      headers: {'content-type': 'application/json'}})).token;
    $('signin').classList.add('hidden'); $('chat').classList.remove('hidden');
    await refresh(); setInterval(() => refresh().catch(() => {}), 5000);
  } catch (e) { fail(e.message); }
});

async function refresh() {
  const [reasons, list] = await Promise.all([call('/reasons'), call('/messages')]);
  const select = $('reason');
  if (reasons.show_picker) {
    if (!select.options.length) {
      for (const r of reasons.reasons) select.add(new Option(r.label, r.code));
    }
    $('reason-label').classList.remove('hidden');
  } else { $('reason-label').classList.add('hidden'); select.length = 0; }
  const box = $('messages'); box.replaceChildren();
  for (const m of list.messages) {
    const div = document.createElement('div');
    div.className = `msg ${m.from}`;
    div.textContent = m.body;
    for (const a of m.attachments) {
      const link = document.createElement('button');
      link.textContent = `📎 ${a.filename || 'file'}`;
      link.addEventListener('click', () => download(a));
      div.append(document.createElement('br'), link);
    }
    box.append(div);
    if (m.from === 'practice' && !m.read_at) {
      call(`/messages/${m.message_id}/read`, {method: 'POST'}).catch(() => {});
    }
  }
}

async function download(a) {
  const r = await fetch(`${api}/${a.url}`, {headers: {authorization: `Bearer ${token}`}});
  const url = URL.createObjectURL(await r.blob());
  const link = document.createElement('a'); link.href = url; link.download = a.filename || 'file';
  link.click(); URL.revokeObjectURL(url);
}

$('compose').addEventListener('submit', async (ev) => {
  ev.preventDefault(); fail();
  const f = new FormData(ev.target);
  const body = {client_message_id: crypto.randomUUID(), body: f.get('body') || ''};
  if (!$('reason-label').classList.contains('hidden')) body.reason = f.get('reason');
  try {
    const file = f.get('file');
    if (file && file.size) {
      const up = await call(`/attachments?filename=${encodeURIComponent(file.name)}`,
        {method: 'POST', body: file,
         headers: {'content-type': file.type || 'application/octet-stream'}});
      body.attachment_ids = [up.attachment_id];
    }
    await call('/messages', {method: 'POST', body: JSON.stringify(body),
                             headers: {'content-type': 'application/json'}});
    ev.target.reset(); await refresh();
  } catch (e) { fail(e.message); }
});
})();
"""


@router.get("/patient/{practice}")
async def messenger_page(practice: Practice) -> HTMLResponse:
    return HTMLResponse(HTML, headers=HEADERS)


@router.get("/patient/{practice}/secure/{message_id}")
async def secure_page(practice: Practice, message_id: uuid.UUID) -> HTMLResponse:
    return HTMLResponse(HTML, headers=HEADERS)


@router.get("/patient-page.js")
async def script() -> Response:
    return Response(JS, media_type="text/javascript", headers=HEADERS)
