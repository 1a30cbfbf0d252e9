"""Feature handlers, one module per feature. ``ROUTERS`` is the priority order:
the first router that claims a command or option wins; policy comes last because
it takes whatever free text nobody else wanted."""

from handlers import (
    admin,
    broadcast,
    connect,
    info,
    location,
    policy,
    prices,
    privacy,
    profile,
    reports,
    reports_admin,
    start,
    training,
)
from handlers.ledger import router as ledger_router
from handlers.orders import router as orders_router

ROUTERS = (
    start.router,
    profile.router,
    admin.router,
    privacy.router,
    training.router,
    orders_router,
    ledger_router,
    reports.router,
    reports_admin.router,
    info.router,
    prices.router,
    broadcast.router,
    connect.router,
    location.router,
    policy.router,
)

__all__ = ["ROUTERS"]
