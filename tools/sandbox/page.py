"""The sandbox's page: every SMS and email "sent", newest first, refreshed every 2 s, with a
button per SMS to move it on (delivered, read, undelivered) and the outcome of new messages.
All data reaches the page through /_sandbox/* and is set as text (never as HTML)."""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Switchboard sandbox: carrier and mail</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>
 body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2733; }
 h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
 p.note { color: #5b6673; margin: 0 0 1rem; }
 table { border-collapse: collapse; width: 100%; }
 th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid #e1e5ea;
          vertical-align: top; }
 th { background: #f4f6f8; font-weight: 600; }
 td.body { white-space: pre-wrap; max-width: 34rem; }
 .status { font-weight: 600; }
 .delivered, .read, .received { color: #1a7f37; }
 .undelivered, .failed { color: #b42318; }
 .queued, .sent { color: #8a6100; }
 button { font: inherit; margin: 0 .25rem .25rem 0; }
 .bar { display: flex; gap: 1rem; align-items: center; margin-bottom: 1rem; flex-wrap: wrap; }
</style></head>
<body>
<h1>Sandbox: what Switchboard "sent"</h1>
<p class="note">A local stand-in for the SMS carrier (Twilio's API) and the mail relay.
Nothing here leaves this machine. Statuses go back to Switchboard as signed callbacks.</p>
<div class="bar">
 <label>New SMS end as
  <select id="outcome">
   <option value="delivered">delivered</option>
   <option value="sent">sent (then decide with the buttons)</option>
   <option value="undelivered">undelivered (30003)</option>
   <option value="failed">failed (30008)</option>
  </select></label>
 <label>Show <select id="channel"><option value="">all</option>
  <option value="sms">SMS</option><option value="email">email</option></select></label>
 <span id="count"></span>
</div>
<table><thead><tr><th>Time</th><th>Channel</th><th>From</th><th>To</th>
<th>Subject / text</th><th>Status</th><th></th></tr></thead>
<tbody id="rows"></tbody></table>
<script>
const NEXT = {queued: ["delivered", "undelivered"], sent: ["delivered", "undelivered"],
              delivered: ["read"]};
const LABEL = {delivered: "Mark delivered", undelivered: "Mark undelivered", read: "Mark read"};
function cell(tr, text, cls) {
  const td = document.createElement("td"); td.textContent = text ?? "";
  if (cls) td.className = cls; tr.appendChild(td); return td;
}
async function move(sid, status) {
  await fetch(`/_sandbox/sms/${encodeURIComponent(sid)}/status`, {method: "POST",
    headers: {"content-type": "application/json"}, body: JSON.stringify({status})});
  refresh();
}
async function refresh() {
  const channel = document.getElementById("channel").value;
  const r = await fetch("/_sandbox/sends" + (channel ? `?channel=${channel}` : ""));
  const {sends} = await r.json();
  const tbody = document.getElementById("rows"); tbody.replaceChildren();
  for (const s of sends) {
    const tr = document.createElement("tr");
    cell(tr, new Date(s.at * 1000).toLocaleTimeString());
    cell(tr, s.channel === "sms" ? "SMS" : "email");
    cell(tr, s.sender); cell(tr, s.recipient);
    cell(tr, s.subject ? `${s.subject}\\n\\n${s.body}` : s.body, "body");
    const code = s.error_code ? ` (${s.error_code})` : "";
    const st = cell(tr, s.status + code, "status " + s.status);
    const when = (h) => `${h.status} ${new Date(h.at * 1000).toLocaleTimeString()}`;
    st.title = s.history.map(when).join("\\n");
    const actions = cell(tr, "");
    if (s.channel === "sms") for (const next of NEXT[s.status] || []) {
      const b = document.createElement("button"); b.textContent = LABEL[next];
      b.onclick = () => move(s.provider_id, next); actions.appendChild(b);
    }
    tbody.appendChild(tr);
  }
  document.getElementById("count").textContent = `${sends.length} sent`;
}
document.getElementById("outcome").onchange = async (e) => {
  await fetch("/_sandbox/outcome", {method: "PUT", headers: {"content-type": "application/json"},
    body: JSON.stringify({status: e.target.value})});
};
document.getElementById("channel").onchange = refresh;
fetch("/_sandbox/outcome").then(r => r.json()).then(o => {
  document.getElementById("outcome").value = o.default.status; });
refresh(); setInterval(refresh, 2000);
</script>
</body></html>
"""
