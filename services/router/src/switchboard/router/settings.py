from __future__ import annotations

from switchboard.platform.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    http_port: int = 8002
