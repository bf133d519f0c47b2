"""How many routing decisions per second `decide` makes on one core.

A realistic practice: 50 staff, 3 locations, 10 providers, all three routing dimensions
on, round robin on Unassigned, a few staff away, and a mix of channels, picks, sticky
conversations and patients with and without appointments. Inputs are built up front, so
only `decide` (and, with --events, `Decision.to_event`) is timed. Target: >= 20,000/s.

    uv run python bench/decide_bench.py [-n 200000] [--events]
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

from switchboard.events import MessageReceived
from switchboard.router.catalogue import DEFAULT_REASONS, LOCATION_UNKNOWN, OTHER
from switchboard.router.decision import decide
from switchboard.router.model import (
    ConversationState,
    InboundMessage,
    NextAppointment,
    PatientState,
    RouterState,
    RoutingSettings,
    StaffAvailability,
    Subscription,
)

PRACTICE = "bench-practice"
T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
LOCATIONS = ["manhattan", "brooklyn", "queens"]
PROVIDERS = [f"prov-{i}" for i in range(10)]
REASONS = [r.code for r in DEFAULT_REASONS]
CHANNELS = ["web_chat", "web_chat", "web_chat", "sms", "email", "voicemail"]


def team(rnd: random.Random) -> tuple[Subscription, ...]:
    subs = []
    for i in range(50):
        if i < 5:  # front desk: the catch-all buckets, everywhere
            subs.append(
                Subscription(
                    f"staff-{i:02d}",
                    reasons={OTHER, "appointments", "billing", "referrals"},
                    locations={*LOCATIONS, LOCATION_UNKNOWN},
                    providers={*PROVIDERS, "provider_unknown"},
                    inboxes={"unassigned"},
                )
            )
            continue
        subs.append(
            Subscription(
                f"staff-{i:02d}",
                reasons=set(rnd.sample(REASONS, rnd.randint(1, 3))),
                locations={rnd.choice(LOCATIONS)},
                providers=set(rnd.sample(PROVIDERS, rnd.randint(1, 4))),
            )
        )
    return tuple(subs)


def cases(rnd: random.Random, count: int) -> list[tuple[InboundMessage, RouterState]]:
    subs = team(rnd)
    away = {f"staff-{i:02d}": StaffAvailability(away=True) for i in rnd.sample(range(50), 5)}
    out = []
    for n in range(count):
        conversation_id = uuid.UUID(int=n + 1)
        appointment = None
        if rnd.random() < 0.7:
            appointment = NextAppointment(
                f"appt-{n}",
                T0 + timedelta(hours=rnd.randint(-2, 24 * 30)),
                version=rnd.randint(0, 5),
                location_id=rnd.choice(LOCATIONS),
                provider_id=rnd.choice(PROVIDERS),
                event_id=uuid.UUID(int=10**6 + n),
            )
        patient = PatientState(f"pat-{n}", rnd.choice([None, *LOCATIONS]), None, appointment)
        conversation = None
        if rnd.random() < 0.6:
            conversation = ConversationState(
                conversation_id,
                reason=rnd.choice([None, *REASONS]),
                last_patient_message_at=T0 - timedelta(minutes=rnd.randint(1, 600)),
                assigned=rnd.random() < 0.4,
                status=rnd.choice(["open", "closed"]),
                patient_id=patient.patient_id,
            )
        channel = rnd.choice(CHANNELS)
        message = InboundMessage(
            message_id=uuid.UUID(int=10**7 + n),
            conversation_id=conversation_id,
            practice_id=PRACTICE,
            channel=channel,  # type: ignore[arg-type]
            recipient="+12125550100",
            received_at=T0,
            patient_id=patient.patient_id,
            selected_reason=rnd.choice(REASONS) if channel == "web_chat" else None,
            voicemail_extension=rnd.choice([None, "3", "5"]) if channel == "voicemail" else None,
            is_to_textable_number=channel == "sms",
        )
        state = RouterState(
            subscriptions=subs,
            subscriptions_version=42,
            patient=patient,
            conversation=conversation,
            availability=away,
            open_work={s.staff_id: rnd.randint(0, 12) for s in subs},
            rr_cursor={"unassigned": "staff-02"},
        )
        out.append((message, state))
    return out


def cause_for(message: InboundMessage) -> MessageReceived:
    return MessageReceived(
        event_id=uuid.uuid5(uuid.NAMESPACE_OID, str(message.message_id)),
        occurred_at=message.received_at,
        practice_id=PRACTICE,
        correlation_id=message.message_id,
        message_id=message.message_id,
        conversation_id=message.conversation_id,
        channel=message.channel,
        sender="+12125550111",
        recipient=message.recipient,
        provider="twilio",
        provider_message_id=str(message.message_id),
        received_at=message.received_at,
        patient_id=message.patient_id,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200_000, help="decisions to time")
    parser.add_argument("--events", action="store_true", help="also build MessageRouted")
    args = parser.parse_args()

    settings = RoutingSettings(
        PRACTICE,
        version=9,
        reason_routing=True,
        location_routing=True,
        provider_routing=True,
        voicemail_extensions={"3": "prescriptions_refills", "5": "shared:refills"},
        auto_assign={"unassigned": "round_robin"},
    )
    inputs = cases(random.Random(20250602), 2_000)
    causes = [cause_for(m) for m, _ in inputs] if args.events else []
    for message, state in inputs[:500]:  # warm up
        decide(message, state, settings, T0)

    recipients = 0
    start = time.perf_counter()
    for i in range(args.n):
        message, state = inputs[i % len(inputs)]
        decision = decide(message, state, settings, T0)
        recipients += len(decision.recipients)
        if args.events:
            decision.to_event(causes[i % len(inputs)])
    elapsed = time.perf_counter() - start

    what = "decide + to_event" if args.events else "decide"
    print(f"{what}: {args.n} decisions in {elapsed:.2f}s = {args.n / elapsed:,.0f} decisions/s")
    print(f"(50 staff, 3 locations, 10 providers; mean recipients {recipients / args.n:.2f})")


if __name__ == "__main__":
    main()
