"""Reading and writing the notifier's folded settings and coalescing state (schema
`notifier`). A `Directory` is one transaction's view: loaded in a few queries for a whole
batch, updated in place as configuration events in the batch are applied."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import (
    NotificationPreferencesChanged,
    PracticeNotificationSettingsChanged,
    StaffAvailabilityChanged,
    WebhookSubscriptionChanged,
)
from switchboard.notifier import storage
from switchboard.notifier.model import PracticeConfig, StaffProfile, Webhook

ConfigEvent = (
    PracticeNotificationSettingsChanged
    | StaffAvailabilityChanged
    | NotificationPreferencesChanged
    | WebhookSubscriptionChanged
)
CONFIG_EVENTS = (
    PracticeNotificationSettingsChanged,
    StaffAvailabilityChanged,
    NotificationPreferencesChanged,
    WebhookSubscriptionChanged,
)


class Directory:
    """Practice settings, webhooks and staff settings of the practices and staff a batch
    touches. Newest event wins (by occurred_at), here and in the tables."""

    def __init__(self) -> None:
        self.settings: dict[str, PracticeNotificationSettingsChanged | None] = {}
        self.webhooks: dict[str, dict[str, Webhook]] = {}
        self.prefs: dict[tuple[str, str], NotificationPreferencesChanged | None] = {}
        self.avail: dict[tuple[str, str], StaffAvailabilityChanged | None] = {}
        self._configs: dict[str, PracticeConfig] = {}
        self._profiles: dict[tuple[str, str], StaffProfile] = {}

    # -- loading -------------------------------------------------------------------------
    async def load_practices(self, session: AsyncSession, practice_ids: Iterable[str]) -> None:
        wanted = sorted(set(practice_ids) - set(self.settings))
        if not wanted:
            return
        ps = storage.practice_settings
        rows = await session.execute(
            select(ps.c.practice_id, ps.c.doc).where(ps.c.practice_id.in_(wanted))
        )
        for p in wanted:
            self.settings[p] = None
            self.webhooks[p] = {}
        for practice_id, doc in rows:
            self.settings[practice_id] = PracticeNotificationSettingsChanged.model_validate(doc)
        wh = storage.webhooks
        hooks = await session.execute(
            select(wh.c.practice_id, wh.c.subscription_id, wh.c.url, wh.c.secret).where(
                wh.c.practice_id.in_(wanted), wh.c.url.is_not(None)
            )
        )
        for practice_id, sub, url, secret in hooks:
            self.webhooks[practice_id][sub] = Webhook(sub, url, secret or "")

    async def load_staff(self, session: AsyncSession, keys: Iterable[tuple[str, str]]) -> None:
        """Load staff settings, then the substitutes they name, a few hops deep."""
        wanted = set(keys) - set(self.prefs)
        for _ in range(4):
            if not wanted:
                return
            ss = storage.staff_settings
            rows = await session.execute(
                select(ss.c.practice_id, ss.c.staff_id, ss.c.kind, ss.c.doc).where(
                    tuple_(ss.c.practice_id, ss.c.staff_id).in_(sorted(wanted))
                )
            )
            for k in wanted:
                self.prefs[k] = None
                self.avail[k] = None
            for practice_id, staff_id, kind, doc in rows:
                if kind == "preferences":
                    self.prefs[(practice_id, staff_id)] = (
                        NotificationPreferencesChanged.model_validate(doc)
                    )
                else:
                    self.avail[(practice_id, staff_id)] = StaffAvailabilityChanged.model_validate(
                        doc
                    )
            wanted = {
                (k[0], a.substitute_staff_id)
                for k in wanted
                if (a := self.avail.get(k)) is not None and a.substitute_staff_id
            } - set(self.prefs)

    # -- views ---------------------------------------------------------------------------
    def config(self, practice_id: str) -> PracticeConfig:
        cached = self._configs.get(practice_id)
        if cached is None:
            cached = PracticeConfig.from_event(
                practice_id, self.settings.get(practice_id), self.webhooks.get(practice_id)
            )
            self._configs[practice_id] = cached
        return cached

    def timezone(self, practice_id: str) -> str:
        s = self.settings.get(practice_id)
        return s.timezone if s is not None else "UTC"

    def profiles(self, practice_id: str) -> dict[str, StaffProfile]:
        out: dict[str, StaffProfile] = {}
        for key in self.prefs:
            if key[0] != practice_id:
                continue
            profile = self._profiles.get(key)
            if profile is None:
                profile = StaffProfile.build(
                    key[1], self.prefs.get(key), self.avail.get(key), self.timezone(practice_id)
                )
                self._profiles[key] = profile
            out[key[1]] = profile
        return out

    # -- applying configuration events -----------------------------------------------------
    async def apply(self, session: AsyncSession, event: ConfigEvent) -> None:
        p = event.practice_id
        doc = event.model_dump(mode="json")
        if isinstance(event, PracticeNotificationSettingsChanged):
            t = storage.practice_settings
            stmt = insert(t).values(practice_id=p, doc=doc, occurred_at=event.occurred_at)
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[t.c.practice_id],
                    set_={"doc": stmt.excluded.doc, "occurred_at": stmt.excluded.occurred_at},
                    where=t.c.occurred_at <= stmt.excluded.occurred_at,
                )
            )
            await self.load_practices(session, [p])
            current = self.settings.get(p)
            if current is None or current.occurred_at <= event.occurred_at:
                self.settings[p] = event
            self._configs.pop(p, None)
            self._profiles = {k: v for k, v in self._profiles.items() if k[0] != p}
        elif isinstance(event, WebhookSubscriptionChanged):
            t = storage.webhooks
            stmt = insert(t).values(
                practice_id=p,
                subscription_id=event.subscription_id,
                url=event.url,
                secret=event.secret,
                occurred_at=event.occurred_at,
            )
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[t.c.practice_id, t.c.subscription_id],
                    set_={
                        "url": stmt.excluded.url,
                        "secret": stmt.excluded.secret,
                        "occurred_at": stmt.excluded.occurred_at,
                    },
                    where=t.c.occurred_at <= stmt.excluded.occurred_at,
                )
            )
            self.settings.pop(p, None)
            self.webhooks.pop(p, None)
            self._configs.pop(p, None)
        else:
            kind = (
                "preferences"
                if isinstance(event, NotificationPreferencesChanged)
                else "availability"
            )
            t = storage.staff_settings
            stmt = insert(t).values(
                practice_id=p,
                staff_id=event.staff_id,
                kind=kind,
                doc=doc,
                occurred_at=event.occurred_at,
            )
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[t.c.practice_id, t.c.staff_id, t.c.kind],
                    set_={"doc": stmt.excluded.doc, "occurred_at": stmt.excluded.occurred_at},
                    where=t.c.occurred_at <= stmt.excluded.occurred_at,
                )
            )
            key = (p, event.staff_id)
            # Forget and reload: the table now holds whichever is newest.
            self.prefs.pop(key, None)
            self.avail.pop(key, None)
            self._profiles.pop(key, None)
            await self.load_staff(session, [key])


class CoalesceState:
    """When each staff member was last alerted about each conversation, for one batch."""

    def __init__(self) -> None:
        self.last: dict[uuid.UUID, dict[tuple[str, str], datetime]] = {}
        self.practice: dict[uuid.UUID, str] = {}
        self.touched: set[tuple[uuid.UUID, str, str]] = set()
        self.cleared: set[uuid.UUID] = set()

    async def load(self, session: AsyncSession, conversation_ids: Iterable[uuid.UUID]) -> None:
        wanted = sorted(set(conversation_ids) - set(self.last))
        for c in wanted:
            self.last[c] = {}
        if not wanted:
            return
        t = storage.coalesce
        rows = await session.execute(
            select(t.c.conversation_id, t.c.staff_id, t.c.key, t.c.last_alert_at).where(
                t.c.conversation_id.in_(wanted)
            )
        )
        for conv, staff, key, at in rows:
            self.last[conv][(staff, key)] = at

    def for_conversation(self, conversation_id: uuid.UUID) -> dict[tuple[str, str], datetime]:
        return self.last.setdefault(conversation_id, {})

    def record(
        self, practice_id: str, conversation_id: uuid.UUID, staff_key: tuple[str, str], at: datetime
    ) -> None:
        current = self.for_conversation(conversation_id)
        if staff_key not in current or current[staff_key] < at:
            current[staff_key] = at
        self.practice[conversation_id] = practice_id
        self.touched.add((conversation_id, *staff_key))

    def clear(self, conversation_id: uuid.UUID) -> None:
        """A reply answered the conversation: the next message alerts again."""
        self.last[conversation_id] = {}
        self.cleared.add(conversation_id)
        self.touched = {k for k in self.touched if k[0] != conversation_id}

    async def save(self, session: AsyncSession) -> None:
        t = storage.coalesce
        if self.cleared:
            await session.execute(delete(t).where(t.c.conversation_id.in_(sorted(self.cleared))))
        rows = [
            {
                "conversation_id": conv,
                "staff_id": staff,
                "key": key,
                "practice_id": self.practice[conv],
                "last_alert_at": self.last[conv][(staff, key)],
            }
            for conv, staff, key in sorted(self.touched)
        ]
        if rows:
            stmt = insert(t).values(rows)
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[t.c.conversation_id, t.c.staff_id, t.c.key],
                    set_={"last_alert_at": stmt.excluded.last_alert_at},
                    where=t.c.last_alert_at < stmt.excluded.last_alert_at,
                )
            )
