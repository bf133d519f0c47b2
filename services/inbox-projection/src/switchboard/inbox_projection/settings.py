from __future__ import annotations

from switchboard.platform.settings import ServiceSettings


class ProjectionSettings(ServiceSettings):
    http_port: int = 8003
    # Bigger polls: the fold's cost per batch is mostly fixed (a few COPYs and look-ups).
    consumer_batch_max: int = 2000
    # How often the snooze wake-up timer looks for snoozes that are due (I-SNOOZE-1).
    snooze_wake_every_s: float = 1.0
