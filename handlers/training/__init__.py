"""Training: courses, trainee registration, attendance, follow-up and the trainee archive.

The parts register on one router (common.router): courses.py (list, page, course forms),
registration.py (the registration form, waiting list, cancelling), attendance.py,
followup.py (answers to the 30/90-day questions, who has not answered) and archive.py
(/trainees figures, the Excel export, the subsidy list).
"""

from handlers.training import (
    archive,
    attendance,
    certificate,
    courses,
    followup,
    registration,
)
from handlers.training.common import router

__all__ = ["archive", "attendance", "certificate", "courses", "followup", "registration", "router"]
