"""What the provider later says about a reply that went out (Topic.DELIVERY).

`ReplySent` says the provider accepted a reply; the provider's status callbacks say later
whether it reached the patient. A reply the provider could not deliver also gets a
`ReplyFailed`, so consumers that know only the first two events still see the failure.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from switchboard.events.delivery import DeliveryEvent
from switchboard.events.registry import register

DeliveryStatus = Literal["delivered", "undelivered", "failed", "read"]


@register
class ReplyDeliveryUpdated(DeliveryEvent):
    """A delivery status callback for a sent reply; `why` is the provider's error code,
    never message text."""

    event_type: Literal["ReplyDeliveryUpdated"] = "ReplyDeliveryUpdated"
    version: Literal[1] = 1

    provider_message_id: str = Field(min_length=1, max_length=256)
    status: DeliveryStatus
    why: str | None = Field(default=None, max_length=200)
    updated_at: AwareDatetime
