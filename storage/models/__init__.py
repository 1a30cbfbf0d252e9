"""One model per module; importing this package registers every table on ``Base.metadata``."""

from storage.models.audit import AuditEntry
from storage.models.dialog_state import DialogState
from storage.models.identity import Identity
from storage.models.inbox import InboxItem, InboxStatus
from storage.models.info_item import InfoItem
from storage.models.invite import Invite
from storage.models.job_run import JobRun
from storage.models.link_code import LinkCode
from storage.models.order import Order, OrderKind, OrderStatus
from storage.models.outbox import Blob, OutboxMessage, OutboxStatus, Priority
from storage.models.person import Person
from storage.models.price import Price
from storage.models.subscription import Subscription
from storage.models.user import Role, User

__all__ = [
    "AuditEntry",
    "Blob",
    "DialogState",
    "Identity",
    "InboxItem",
    "InboxStatus",
    "InfoItem",
    "Invite",
    "JobRun",
    "LinkCode",
    "Order",
    "OrderKind",
    "OrderStatus",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "Price",
    "Priority",
    "Role",
    "Subscription",
    "User",
]
