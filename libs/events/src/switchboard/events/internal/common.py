"""Pure: types shared by more than one internal API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, PlainSerializer

# A datetime written as `datetime.isoformat()` ("+00:00", not pydantic's "Z"): what these APIs
# answered before they were typed (FastAPI's encoder), so the wire JSON did not change.
IsoDateTime = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), return_type=str)]


class Place(BaseModel):
    """A location or a provider known from practice management (pm-sync's directory)."""

    id: str
    name: str
    active: bool
