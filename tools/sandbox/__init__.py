"""The local carrier and mail sandbox (issue 18): a Twilio-compatible SMS API stand-in that
calls back signed delivery statuses, an SMTP mail sink, and a page listing what was "sent".

`make up` starts it (scripts/up.sh, under the run's supervisord) and points ingest and notifier
at it. Never in production: it is not a workspace member, no service image installs it
(the Dockerfile copies only libs/ and services/), and scripts/up.sh is its only starter.

Modules: `carrier` (pure: the message, its status sequence, the signed callback form),
`record` (pure: what was sent, duplicates), `page` (the HTML page), `app` (HTTP: the
Twilio API, the admin API, callbacks), `mail` (the SMTP sink), `__main__` (the process).
"""
