from __future__ import annotations

from typing import Annotated

from switchboard.platform.secret_settings import InternalCallers, Secret
from switchboard.platform.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    http_port: int = 8002
    # The callers its internal API accepts, each with its token(s): required in production.
    internal_callers: Annotated[InternalCallers, Secret(min_length=16)] = {}
