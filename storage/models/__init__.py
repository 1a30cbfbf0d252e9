"""One model per module; importing this package registers every table on ``Base.metadata``."""

from storage.models.attendance import Attendance
from storage.models.audit import AuditEntry
from storage.models.course import Course, CourseStatus
from storage.models.dialog_state import DialogState
from storage.models.followup import FollowUp, FollowUpOutcome
from storage.models.identity import Identity
from storage.models.inbox import InboxItem, InboxStatus
from storage.models.invite import Invite
from storage.models.job_run import JobRun
from storage.models.outbox import Blob, OutboxMessage, OutboxStatus, Priority
from storage.models.person import Person
from storage.models.registration import ACTIVE_STATUSES, Registration, RegistrationStatus
from storage.models.user import Role, User

__all__ = [
    "ACTIVE_STATUSES",
    "Attendance",
    "AuditEntry",
    "Blob",
    "Course",
    "CourseStatus",
    "DialogState",
    "FollowUp",
    "FollowUpOutcome",
    "Identity",
    "InboxItem",
    "InboxStatus",
    "Invite",
    "JobRun",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "Priority",
    "Registration",
    "RegistrationStatus",
    "Role",
    "User",
]
