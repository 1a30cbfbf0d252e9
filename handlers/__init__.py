"""Feature handlers, one module per feature. ``ROUTERS`` is the priority order:
the first router that claims a command or option wins; policy comes last because
it takes whatever free text nobody else wanted."""

from handlers import admin, connect, location, policy, profile, start

ROUTERS = (
    start.router,
    profile.router,
    admin.router,
    connect.router,
    location.router,
    policy.router,
)

__all__ = ["ROUTERS"]
