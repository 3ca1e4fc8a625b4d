"""Background jobs: folders with a spec, progress, a log and output parts; see store.py."""

from japagen_core.jobs.store import Job, JobError, JobStore

__all__ = ["Job", "JobError", "JobStore"]
