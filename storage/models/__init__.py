"""One model per module; importing this package registers every table on ``Base.metadata``."""

from storage.models.audit import AuditEntry
from storage.models.dialog_state import DialogState
from storage.models.identity import Identity
from storage.models.invite import Invite
from storage.models.user import Role, User

__all__ = ["AuditEntry", "DialogState", "Identity", "Invite", "Role", "User"]
