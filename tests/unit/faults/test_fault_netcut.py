"""The network cut's firewall rules: both directions of every port, removable exactly, and a
crashed run's rules found again. The last test applies them for real where iptables works."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from tools.faults import netcut


def test_a_cut_drops_both_directions_of_every_port_on_loopback_only():
    rules = netcut.cut_rules([29492, 15492], "r1")
    assert len(rules) == 4
    for rule in rules:
        assert rule[rule.index("-o") + 1] == "lo" and rule[-1] == "DROP"
        assert rule[rule.index("--comment") + 1] == "sb-faults-r1"
    ports = {(r[7], r[8]) for r in rules}
    assert ports == {
        ("--dport", "29492"),
        ("--sport", "29492"),
        ("--dport", "15492"),
        ("--sport", "15492"),
    }


def test_undo_deletes_the_same_rule():
    rule = netcut.cut_rules([1], "r1")[0]
    assert netcut.undo(rule) == [("-D" if a == "-I" else a) for a in rule]
    assert "-I" not in netcut.undo(rule)


LISTING = """-P OUTPUT ACCEPT
-A OUTPUT -o lo -p tcp -m tcp --dport 29492 -m comment --comment sb-faults-r1 -j DROP
-A OUTPUT -o lo -p tcp -m tcp --sport 15492 -m comment --comment sb-faults-r2 -j DROP
-A OUTPUT -p tcp -m tcp --dport 443 -j ACCEPT
"""


def test_leftovers_finds_the_harness_rules_only_of_one_run_or_of_all():
    first = LISTING.splitlines()[1].split()[1:]
    assert netcut.leftovers(LISTING, "r1") == [["-w", "-D", *first]]
    assert len(netcut.leftovers(LISTING)) == 2  # never the operator's own rule


def _iptables_usable() -> bool:
    if shutil.which("iptables") is None:
        return False
    return subprocess.run(["iptables", "-w", "-S", "OUTPUT"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _iptables_usable(), reason="iptables needs root and a netfilter kernel")
def test_a_cut_makes_a_listening_port_hang_and_undoing_it_restores_it():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    rules = netcut.cut_rules([port], "unit-test")
    try:
        for rule in rules:
            subprocess.run(["iptables", *rule], check=True)
        # A dropped SYN is not refused: the connection attempt times out.
        with pytest.raises(TimeoutError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5)
    finally:
        for rule in rules:
            subprocess.run(["iptables", *netcut.undo(rule)], check=True)
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    server.close()
    listing = subprocess.run(["iptables", "-w", "-S", "OUTPUT"], capture_output=True, text=True)
    assert "sb-faults-unit-test" not in listing.stdout
