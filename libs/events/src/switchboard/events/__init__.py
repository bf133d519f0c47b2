"""Switchboard's event contract: envelope, event models, topics, keys, schemas. No I/O."""

from switchboard.events.actions import (
    ConversationAssigned,
    ConversationLinked,
    ConversationRead,
    ConversationStatusChanged,
    PracticeMessageRead,
    ReplyAttachment,
    ReplyRequested,
)
from switchboard.events.config import (
    AutoAssignPolicySet,
    LineLabelSet,
    ReasonAdded,
    RoutingSettingsChanged,
    StaffSubscriptionsSet,
    VoicemailExtensionMapped,
)
from switchboard.events.delivery import ReplyFailed, ReplySent
from switchboard.events.envelope import Event, deterministic_id
from switchboard.events.messages import (
    Attachment,
    Channel,
    EmailThreading,
    MessageDeferred,
    MessageReceived,
    MessageRouted,
    RuleFired,
)
from switchboard.events.notifications import (
    AlertFailed,
    AlertSent,
    ChannelChoice,
    ConversationEscalated,
    NotificationPreferencesChanged,
    OrphanAlertRaised,
    PracticeNotificationSettingsChanged,
    SlaTarget,
    StaffAvailabilityChanged,
    WebhookSubscriptionChanged,
    WeeklyWindow,
)
from switchboard.events.operations import DeadLetterPayloadViewed, DeadLetterReplayed
from switchboard.events.pm import (
    AppointmentChanged,
    AppointmentStatus,
    LocationUpserted,
    PatientUpserted,
    ProviderUpserted,
)
from switchboard.events.pm_extra import CareTeamUpserted
from switchboard.events.presence import PresenceChanged
from switchboard.events.receipts import ReplyDeliveryUpdated
from switchboard.events.registry import (
    UnknownEventError,
    decode,
    encode,
    event_class,
    registered_events,
)
from switchboard.events.staff import StaffAddressesSet
from switchboard.events.teamwork import ConversationSnoozed, ConversationWoke, NoteAdded
from switchboard.events.topics import Topic, topic_for

__all__ = [
    "AlertFailed",
    "AlertSent",
    "AppointmentChanged",
    "AppointmentStatus",
    "Attachment",
    "AutoAssignPolicySet",
    "CareTeamUpserted",
    "Channel",
    "ChannelChoice",
    "ConversationAssigned",
    "ConversationEscalated",
    "ConversationLinked",
    "ConversationRead",
    "ConversationSnoozed",
    "ConversationStatusChanged",
    "ConversationWoke",
    "DeadLetterPayloadViewed",
    "DeadLetterReplayed",
    "EmailThreading",
    "Event",
    "LineLabelSet",
    "LocationUpserted",
    "MessageDeferred",
    "MessageReceived",
    "MessageRouted",
    "NoteAdded",
    "NotificationPreferencesChanged",
    "OrphanAlertRaised",
    "PatientUpserted",
    "PracticeMessageRead",
    "PracticeNotificationSettingsChanged",
    "PresenceChanged",
    "ProviderUpserted",
    "ReasonAdded",
    "ReplyAttachment",
    "ReplyDeliveryUpdated",
    "ReplyFailed",
    "ReplyRequested",
    "ReplySent",
    "RoutingSettingsChanged",
    "RuleFired",
    "SlaTarget",
    "StaffAddressesSet",
    "StaffAvailabilityChanged",
    "StaffSubscriptionsSet",
    "Topic",
    "UnknownEventError",
    "VoicemailExtensionMapped",
    "WebhookSubscriptionChanged",
    "WeeklyWindow",
    "decode",
    "deterministic_id",
    "encode",
    "event_class",
    "registered_events",
    "topic_for",
]
