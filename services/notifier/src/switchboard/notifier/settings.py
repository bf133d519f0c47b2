from __future__ import annotations

from switchboard.platform.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    http_port: int = 8004
