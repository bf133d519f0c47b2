from __future__ import annotations

from switchboard.platform.settings import ServiceSettings


class ProjectionSettings(ServiceSettings):
    http_port: int = 8003
