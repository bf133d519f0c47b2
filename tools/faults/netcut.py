"""The network cut fault's firewall rules. Pure: it builds iptables argument lists only.

A cut drops every TCP packet to and from a dependency's ports on the loopback interface, so
the services see what a partition looks like (connections that hang until they time out,
not a refusal as when the process is stopped). The rules carry a comment naming the run,
so they are removed exactly, and a run that crashed leaves rules the next run can find."""

from __future__ import annotations

COMMENT_PREFIX = "sb-faults-"


def comment(run: str) -> str:
    return f"{COMMENT_PREFIX}{run}"


def cut_rules(ports: list[int], run: str) -> list[list[str]]:
    """`iptables` arguments that drop loopback TCP to and from `ports` (insert at the top, so
    no earlier ACCEPT rule lets packets through)."""
    rules = []
    for port in ports:
        for direction in ("--dport", "--sport"):
            rules.append(
                [
                    "-w",
                    "-I",
                    "OUTPUT",
                    "-o",
                    "lo",
                    "-p",
                    "tcp",
                    direction,
                    str(port),
                    "-m",
                    "comment",
                    "--comment",
                    comment(run),
                    "-j",
                    "DROP",
                ]
            )
    return rules


def undo(rule: list[str]) -> list[str]:
    """The same rule, deleted."""
    return [("-D" if arg == "-I" else arg) for arg in rule]


def leftovers(listing: str, run: str | None = None) -> list[list[str]]:
    """Delete commands for the harness's rules in `iptables -S OUTPUT` output (every run's,
    or only `run`'s)."""
    wanted = comment(run) if run else COMMENT_PREFIX
    out = []
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) > 1 and parts[0] == "-A" and any(p.startswith(wanted) for p in parts):
            out.append(["-w", "-D", *parts[1:]])
    return out
