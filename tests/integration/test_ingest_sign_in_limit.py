"""The patient page's limit on failed identity checks is one limit for every ingest replica
and survives a restart (issue 13, item 7): two ingest apps on the same PostgreSQL share it,
a third started after both stopped still refuses, and the table names no patient."""

from __future__ import annotations

import os
import uuid

import pytest
from ingest_support import JsonServer, own_database, prepare, running_ingest
from notifier_support import free_port
from peer_answers import patient
from sqlalchemy import create_engine, text

from switchboard.ingest.settings import IngestSettings, Line

pytestmark = pytest.mark.integration

P = f"lim-{uuid.uuid4().hex[:6]}"
PHONE = "+12125550177"
PAT = patient("pat-lim", "Jane", "Doe", "1980-02-29", phones=[PHONE])
WHO = {"given_name": "Jane", "family_name": "Doe", "phone": "(212) 555-0177"}
WRONG = WHO | {"birth_date": "1999-01-01"}
RIGHT = WHO | {"birth_date": "1980-02-29"}


@pytest.fixture(scope="module")
async def setup(settings):
    def pm(call):
        if call.path.endswith("/patients"):
            phone = call.query.get("phone", [""])[0]
            found = [PAT | {"patient_id": f"pat-{phone[-4:]}", "phones": [phone]}]
            return 200, {"practice_id": P, "patients": found}
        return 404, {}

    peers = await JsonServer(pm).start()
    with own_database(int(os.environ.get("PG_PORT", "55432"))) as db:
        common = IngestSettings(
            **settings.model_dump(include={"kafka_bootstrap"}),
            database_url=db,
            topic_prefix=f"lim{uuid.uuid4().hex[:6]}.",
            service_name="ingest-lim",
            practices=[P],
            lines=[Line(practice_id=P, channel="sms", address="+12125550000")],
            pm_sync_url=peers.url,
            router_url=peers.url,
            attachment_dir=f"/tmp/sb-ingest-lim-{uuid.uuid4().hex[:6]}",
        )
        await prepare(common)
        yield common
    await peers.stop()


def replica(common: IngestSettings) -> IngestSettings:
    return common.model_copy(update={"smtp_listen_port": free_port()})


def failure_rows(setup: IngestSettings) -> list[str]:
    engine = create_engine(setup.database_url)
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT key_hash FROM ingest.sign_in_failures")).scalars().all()
    engine.dispose()
    return list(keys)


async def test_replicas_share_the_limit_and_a_restart_keeps_it(setup):
    page = f"/patient/{P}/sessions"
    limit = setup.verify_max_failures
    assert limit == 5  # the limit of today
    before = failure_rows(setup)  # the other test's rows, when it ran first
    async with running_ingest(replica(setup)) as (_a, a), running_ingest(replica(setup)) as (_b, b):
        for i in range(limit):  # alternate replicas, as a load balancer would
            r = await (a if i % 2 else b).post(page, json=WRONG)
            assert r.status_code == 401, r.text
        for client in (a, b):  # both refuse now, even the right answer
            r = await client.post(page, json=RIGHT)
            assert r.status_code == 429
            assert r.json()["detail"] == "too many attempts; try again later"
            assert 0 < int(r.headers["Retry-After"]) <= setup.verify_window_s
        # another number is not blocked by this one's failures
        other = WHO | {"phone": "(212) 555-0178", "birth_date": "1999-01-01"}
        assert (await a.post(page, json=other)).status_code == 401

    async with running_ingest(replica(setup)) as (_c, c):  # after a restart
        assert (await c.post(page, json=RIGHT)).status_code == 429

    keys = failure_rows(setup)
    assert len(keys) - len(before) == limit + 1
    assert not [k for k in keys if "555" in k or P in k]


async def test_a_success_clears_the_failures(setup):
    page = f"/patient/{P}/sessions"
    who = WHO | {"phone": "(212) 555-0179"}
    async with running_ingest(replica(setup)) as (_app, a):
        for _ in range(setup.verify_max_failures - 1):
            assert (await a.post(page, json=who | {"birth_date": "1999-01-01"})).status_code == 401
        r = await a.post(page, json=who | {"birth_date": "1980-02-29"})
        assert r.status_code == 201, r.text
        for _ in range(setup.verify_max_failures):  # counted from zero again
            assert (await a.post(page, json=who | {"birth_date": "1999-01-01"})).status_code == 401
        assert (await a.post(page, json=who | {"birth_date": "1999-01-01"})).status_code == 429
