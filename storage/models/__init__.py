"""One model per module; importing this package registers every table on ``Base.metadata``."""

from storage.models.attendance import Attendance
from storage.models.audit import AuditEntry
from storage.models.broadcast import Broadcast, BroadcastScope, BroadcastStatus
from storage.models.course import Course, CourseStatus
from storage.models.dialog_state import DialogState
from storage.models.followup import FollowUp, FollowUpOutcome
from storage.models.identity import Identity
from storage.models.inbox import InboxItem, InboxStatus
from storage.models.info_item import InfoItem, InfoItemStatus
from storage.models.invite import Invite
from storage.models.job_run import JobRun
from storage.models.link_code import LinkCode
from storage.models.order import Order, OrderKind, OrderStatus
from storage.models.outbox import Blob, OutboxMessage, OutboxStatus, Priority
from storage.models.person import Person
from storage.models.policy import PolicyFaq, PolicyLastAnswer, PolicyQuestion, QuestionStatus
from storage.models.price import Price
from storage.models.registration import ACTIVE_STATUSES, Registration, RegistrationStatus
from storage.models.report import Report, ReportRevision
from storage.models.report_excuse import ExcuseStatus, ReportExcuse
from storage.models.report_lock import ReportLock
from storage.models.report_type import ReportTypeOverride
from storage.models.subscription import Subscription
from storage.models.user import Role, User

__all__ = [
    "ACTIVE_STATUSES",
    "Attendance",
    "AuditEntry",
    "Blob",
    "Broadcast",
    "BroadcastScope",
    "BroadcastStatus",
    "Course",
    "CourseStatus",
    "DialogState",
    "ExcuseStatus",
    "FollowUp",
    "FollowUpOutcome",
    "Identity",
    "InboxItem",
    "InboxStatus",
    "InfoItem",
    "InfoItemStatus",
    "Invite",
    "JobRun",
    "LinkCode",
    "Order",
    "OrderKind",
    "OrderStatus",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "PolicyFaq",
    "PolicyLastAnswer",
    "PolicyQuestion",
    "Price",
    "Priority",
    "QuestionStatus",
    "Registration",
    "RegistrationStatus",
    "Report",
    "ReportExcuse",
    "ReportLock",
    "ReportRevision",
    "ReportTypeOverride",
    "Role",
    "Subscription",
    "User",
]
