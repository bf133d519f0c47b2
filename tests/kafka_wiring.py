"""What a service's code does on Kafka, found statically (AST) in services/<name>/src:

- consumer groups: `consumer_for("<group>", <topics>, ...)` and `ConsumerRunner(name=...,
  topics=...)`, topics given as a list of `Topic.X` or a module-level name bound to one;
- raw `AIOKafkaConsumer(...)`s: the `Topic.X` (and topic-list names) their module names,
  with `group_id=None` (no group) or a group id whose literal prefix is taken;
- writes: the topics of every event class the service constructs (`Event(...)` or
  `Event.derive(...)`), plus the dead-letter topic wherever it is named or a ConsumerRunner
  (which dead-letters) runs.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import switchboard.events  # noqa: F401  (registers every event class)
from switchboard.events import Event, Topic

ROOT = Path(__file__).resolve().parents[1]
_TOPIC_NAMES = {"Topic", "T"}


def _event_classes() -> dict[str, Topic]:
    found: dict[str, Topic] = {}
    todo = list(Event.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "topic" in vars(cls) or hasattr(cls, "topic"):
            found[cls.__name__] = Topic(cls.topic)
    return found


@dataclass
class Found:
    groups: dict[str, set[Topic]] = field(default_factory=dict)
    group_prefixes: dict[str, set[Topic]] = field(default_factory=dict)
    reads_ungrouped: set[Topic] = field(default_factory=set)
    writes: set[Topic] = field(default_factory=set)


def _topic(node: ast.AST) -> Topic | None:
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in _TOPIC_NAMES
    ):
        return Topic[node.attr]
    return None


def _name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def scan_service(service: str) -> Found:
    package = ROOT / "services" / service / "src" / "switchboard" / service.replace("-", "_")
    trees = {p: ast.parse(p.read_text()) for p in sorted(package.rglob("*.py"))}
    lists: dict[str, set[Topic]] = {}
    for tree in trees.values():
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.List | ast.Tuple)
            ):
                topics = {_topic(e) for e in node.value.elts}
                if topics and None not in topics:
                    lists[node.targets[0].id] = {t for t in topics if t}

    def topics_of(expr: ast.AST | None) -> set[Topic]:
        if isinstance(expr, ast.List | ast.Tuple):
            return {t for e in expr.elts if (t := _topic(e))}
        if isinstance(expr, ast.Name) and expr.id in lists:
            return lists[expr.id]
        raise AssertionError(f"{service}: cannot resolve the topics {expr and ast.dump(expr)}")

    events = _event_classes()
    found = Found()
    for tree in trees.values():
        named: set[Topic] = {t for n in ast.walk(tree) if (t := _topic(n))} | {
            t
            for n in ast.walk(tree)
            if isinstance(n, ast.Name) and n.id in lists
            for t in lists[n.id]
        }
        if Topic.DEAD_LETTER in named:
            found.writes.add(Topic.DEAD_LETTER)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            fname = _name(call.func)
            kw = {k.arg: k.value for k in call.keywords}
            if fname == "consumer_for":
                group = call.args[0]
                assert isinstance(group, ast.Constant), "consumer_for's group must be a literal"
                found.groups[str(group.value)] = topics_of(call.args[1])
            elif fname == "ConsumerRunner":
                group = kw["name"]
                assert isinstance(group, ast.Constant), "ConsumerRunner's name must be a literal"
                found.groups[str(group.value)] = topics_of(kw["topics"])
            elif fname == "AIOKafkaConsumer":
                read = named - {Topic.DEAD_LETTER}
                gid = kw.get("group_id")
                if isinstance(gid, ast.Constant) and gid.value is None:
                    found.reads_ungrouped |= read
                else:
                    found.group_prefixes[_literal_prefix(tree, gid)] = read
            elif isinstance(call.func, ast.Name) and call.func.id in events:
                found.writes.add(events[call.func.id])
            elif (
                isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id in events
                and call.func.attr == "derive"  # model_validate reads a stored copy back
            ):
                found.writes.add(events[call.func.value.id])
    if found.groups:
        found.writes.add(Topic.DEAD_LETTER)  # ConsumerRunner dead-letters what it cannot apply
    for group, topics in list(found.group_prefixes.items()):
        # A reader that only uses one of the service's own groups (its committed offsets,
        # ingest's contact feed) and reads no more than that group does needs no more access.
        if topics <= found.groups.get(group, set()):
            del found.group_prefixes[group]
    return found


def _literal_prefix(tree: ast.AST, gid: ast.AST | None) -> str:
    """The literal start of a group id given as `settings.group_id(f"prefix-{x}")` or
    `group` (a parameter) fed from such a call elsewhere in the module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) == "group_id" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
                return str(arg.values[0].value)
            if isinstance(arg, ast.Constant):
                return str(arg.value)
    raise AssertionError(f"cannot find the group id of a consumer ({gid and ast.dump(gid)})")
