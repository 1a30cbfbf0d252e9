"""Scheduled work: reminders, follow-ups, digests and the outbox delivery worker (later issues)."""
