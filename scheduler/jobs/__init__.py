"""Every scheduled job, in one tuple: each feature's job module contributes its ``SPECS``.

Add a line per feature module; keep them sorted by name so merges stay trivial.
"""

from __future__ import annotations

from scheduler.jobs import info
from scheduler.jobs.base import JobFunc, JobRuntime, JobSpec

JOBS: tuple[JobSpec, ...] = (
    # feature job modules add ``*module.SPECS,`` here
    *info.SPECS,
)

__all__ = ["JOBS", "JobFunc", "JobRuntime", "JobSpec"]
