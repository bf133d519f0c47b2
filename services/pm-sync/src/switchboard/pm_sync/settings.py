from __future__ import annotations

from switchboard.platform.settings import ServiceSettings


class PmSyncSettings(ServiceSettings):
    http_port: int = 8005
