"""Feature handlers, one module per feature. ``ROUTERS`` is the priority order:
the first router that claims a command or option wins; policy comes last because
it takes whatever free text nobody else wanted."""

from handlers import admin, policy, privacy, profile, start

ROUTERS = (start.router, profile.router, admin.router, privacy.router, policy.router)

__all__ = ["ROUTERS"]
