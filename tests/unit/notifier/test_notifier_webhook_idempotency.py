"""The webhook Idempotency-Key: the same for every attempt of the same alerts, whatever
their order, and different for different alerts."""

from __future__ import annotations

import uuid

from switchboard.notifier.senders import OutboxItem, idempotency_key


def item(alert_id: uuid.UUID, attempts: int = 1) -> OutboxItem:
    return OutboxItem(alert_id, "p1", "webhook", "webhook:p1:pager", "pager", {}, attempts)


def test_one_alert_is_keyed_by_its_alert_id_on_every_attempt():
    a = uuid.uuid4()
    assert idempotency_key([item(a, 1)]) == idempotency_key([item(a, 3)]) == str(a)


def test_a_batch_key_ignores_order_and_changes_with_its_alerts():
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ab = idempotency_key([item(a), item(b)])
    assert ab == idempotency_key([item(b), item(a)])
    assert ab not in {str(a), str(b), idempotency_key([item(a), item(c)])}
