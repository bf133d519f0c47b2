"""The fault harness (issue 21): drives a whole local system through every channel while
faults are injected on a schedule, then checks the delivery invariants and prints figures.

Pure parts (no I/O, unit-tested): `plan` (the fault schedule), `ledger` (what was sent and
answered, availability per fault window, lost and duplicated), `report` (the figures table).
The I/O driver is `driver` (`python -m tools.faults`, `make faults`)."""
