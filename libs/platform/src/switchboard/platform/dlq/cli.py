"""switchboard-dlq: list, show and replay dead letters.

    switchboard-dlq list [--consumer C] [--reason TEXT] [--since 2h|ISO] [--topic T] [--json]
    switchboard-dlq show ID [--with-patient-data --why TICKET] [--operator NAME]
    switchboard-dlq replay (ID... | --consumer/--reason/--since/--topic... | --all)
                           [--dry-run] [--force] [--operator NAME] [--why TICKET]

Settings come from the services' environment (SWITCHBOARD_KAFKA_BOOTSTRAP,
SWITCHBOARD_TOPIC_PREFIX, SWITCHBOARD_KAFKA_SECURITY_PROTOCOL, ...). Replay sends a dead
letter to its consumer group's replay topic; the group applies it once (ADR 0007).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from switchboard.events import DeadLetterPayloadViewed, DeadLetterReplayed
from switchboard.platform.dlq import kafka_io
from switchboard.platform.dlq.letters import (
    DeadLetter,
    Filter,
    metadata,
    parse_id,
    parse_since,
    payload_text,
    select,
    table,
)
from switchboard.platform.settings import ServiceSettings

Out = Callable[[str], None]


class UsageError(Exception):
    pass


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="switchboard-dlq", description="Inspect and re-drive dead letters."
    )
    sub = top.add_subparsers(dest="command", required=True)

    def filters(p: argparse.ArgumentParser) -> None:
        p.add_argument("--consumer", action="append", default=[], help="consumer group (repeat)")
        p.add_argument("--reason", help="part of the error, any case")
        p.add_argument("--since", help="failed since: 30m, 2h, 3d, 1w or an ISO time")
        p.add_argument("--topic", action="append", default=[], help="topic it failed on")

    def operator(p: argparse.ArgumentParser) -> None:
        p.add_argument("--operator", default=os.environ.get("USER"), help="who (default $USER)")

    listing = sub.add_parser("list", help="dead letters by consumer, reason and time")
    filters(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object a line")

    show = sub.add_parser("show", help="one dead letter's metadata")
    show.add_argument("id", help="partition:offset, as `list` prints it")
    show.add_argument(
        "--with-patient-data",
        action="store_true",
        help="also print the payload (patient data); audited, needs --why",
    )
    show.add_argument("--why", help="the reason, e.g. a ticket reference")
    operator(show)

    replay = sub.add_parser("replay", help="send dead letters back to their consumer")
    replay.add_argument("ids", nargs="*", help="partition:offset ids")
    filters(replay)
    replay.add_argument("--all", action="store_true", help="every dead letter (no filter)")
    replay.add_argument("--dry-run", action="store_true", help="say what would be replayed")
    replay.add_argument("--force", action="store_true", help="replay already replayed ones")
    replay.add_argument("--why", help="the reason, e.g. a ticket reference")
    operator(replay)
    return top


def make_filter(args: argparse.Namespace, now: datetime, ids: Sequence[str] = ()) -> Filter:
    try:
        since = parse_since(args.since, now) if args.since else None
        for i in ids:
            parse_id(i)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return Filter(
        consumers=frozenset(args.consumer),
        reason=args.reason,
        since=since,
        topics=frozenset(args.topic),
        ids=frozenset(i.strip() for i in ids),
    )


async def run(
    argv: Sequence[str], settings: ServiceSettings | None = None, out: Out = print
) -> int:
    """The command line; returns the exit code (0 done, 1 some not done, 2 usage)."""
    args = parser().parse_args(list(argv))
    settings = settings or ServiceSettings(service_name="switchboard-dlq")
    try:
        if args.command == "list":
            return await list_(args, settings, out)
        if args.command == "show":
            return await show(args, settings, out)
        return await replay(args, settings, out)
    except UsageError as exc:
        print(f"switchboard-dlq: {exc}", file=sys.stderr)
        return 2


async def list_(args: argparse.Namespace, settings: ServiceSettings, out: Out) -> int:
    flt = make_filter(args, datetime.now(UTC))
    letters = select(await kafka_io.dead_letters(settings), flt, settings.topic_prefix)
    done = {k: len(v) for k, v in (await kafka_io.replays(settings)).items()}
    if args.json:
        for d in letters:
            out(json.dumps(metadata(d, done.get(d.id, 0))))
    else:
        out(table(letters, done, settings.topic_prefix))
    return 0


async def _one(settings: ServiceSettings, text: str) -> DeadLetter:
    try:
        where = parse_id(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    found = await kafka_io.dead_letters(settings, only=where)
    if not found:
        raise UsageError(f"no dead letter {text}")
    return found[0]


def _operator(args: argparse.Namespace) -> str:
    if not (args.operator or "").strip():
        raise UsageError("who is asking: --operator NAME (or $USER)")
    return str(args.operator).strip()


async def show(args: argparse.Namespace, settings: ServiceSettings, out: Out) -> int:
    if args.with_patient_data and not (args.why or "").strip():
        raise UsageError("--with-patient-data needs --why (a ticket reference)")
    operator = _operator(args) if args.with_patient_data else None
    letter = await _one(settings, args.id)
    done = len((await kafka_io.replays(settings)).get(letter.id, []))
    if operator is not None:
        # The audit record is in Kafka (acks=all) before a byte of the payload is printed.
        viewed = DeadLetterPayloadViewed(
            **kafka_io.action_envelope(letter), operator=operator, why=args.why.strip()
        )
        async with kafka_io.Writer(settings) as writer:
            await writer.record([viewed])
    out(json.dumps(metadata(letter, done), indent=2))
    if operator is not None:
        out("--- payload (patient data) ---")
        out(payload_text(letter))
    return 0


async def replay(args: argparse.Namespace, settings: ServiceSettings, out: Out) -> int:
    flt = make_filter(args, datetime.now(UTC), args.ids)
    if flt.empty and not args.all:
        raise UsageError("name dead letters by id or filter, or say --all")
    operator = _operator(args)
    letters = select(await kafka_io.dead_letters(settings), flt, settings.topic_prefix)
    missing = sorted(flt.ids - {d.id for d in letters}) if flt.ids else []
    for i in missing:
        out(f"{i}: no such dead letter (or it does not match the filters)")
    done = await kafka_io.replays(settings)
    plan: list[tuple[DeadLetter, str]] = []
    refused = bool(missing)
    for d in letters:
        topic = kafka_io.replay_topic(settings, d.consumer)
        if topic is None:
            out(f"{d.id}: {d.consumer} is not a consumer group with a replay topic: skipped")
            refused = True
        elif d.value is None:
            out(f"{d.id}: no payload to replay: skipped")
            refused = True
        elif done.get(d.id) and not args.force:
            out(f"{d.id}: already replayed ({len(done[d.id])}x): skipped (--force to resend)")
        else:
            plan.append((d, topic))
    if args.dry_run:
        for d, topic in plan:
            out(f"{d.id}: would replay to {topic}")
        return 1 if refused else 0
    if plan:
        async with kafka_io.Writer(settings) as writer:
            for d, topic in plan:
                # The record first, then the fact: a crash between them leaves a replay with
                # no record, which a second replay repeats and the consumer drops (same id).
                await writer.replay(d, topic)
                await writer.record(
                    [
                        DeadLetterReplayed(
                            **kafka_io.action_envelope(d),
                            operator=operator,
                            replay_topic=topic,
                            forced=bool(done.get(d.id)),
                            why=(args.why or "").strip() or None,
                        )
                    ]
                )
                out(f"{d.id}: replayed to {topic}")
    out(f"{len(plan)} replayed")
    return 1 if refused else 0


def main() -> None:
    sys.exit(asyncio.run(run(sys.argv[1:])))
