"""An agency order (代购 / 代销) a station records for a household: the ledger row.

Money is integer fen; the quantity is a decimal with its unit. ``county`` and
``village`` name the station; ``ledger_date`` is the local (station) date the order
counts on; ``poor_registered`` is whether the household was 建档立卡 when served.
A cancelled order stays in the ledger with its status; edits are audited.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow
from storage.models.audit import AuditEntry


class OrderKind(StrEnum):
    PURCHASE = "purchase"  # 代购: the station buys for the household
    SALE = "sale"  # 代销: the station sells the household's produce


class OrderStatus(StrEnum):
    REGISTERED = "registered"  # 已登记
    SHIPPED = "shipped"  # 已发货
    DONE = "done"  # 已完成
    CANCELLED = "cancelled"  # 已取消


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_station_date", "county", "village", "ledger_date"),
        Index("ix_orders_county_date", "county", "ledger_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default=OrderStatus.REGISTERED.value)
    county: Mapped[str] = mapped_column(String(32))
    village: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="RESTRICT"), index=True
    )
    poor_registered: Mapped[bool] = mapped_column(default=False)
    product: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3, asdecimal=True))
    unit: Mapped[str] = mapped_column(String(8))
    unit_price_fen: Mapped[int | None] = mapped_column(BigInteger)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    platform: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(String(200))
    ledger_date: Mapped[date]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    shipped_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    @property
    def kind_enum(self) -> OrderKind:
        return OrderKind(self.kind)

    @property
    def status_enum(self) -> OrderStatus:
        return OrderStatus(self.status)


# An order's history (who changed what) is read from the audit log by target; this index
# keeps that read from scanning the whole log. Declared here, by the feature that needs it.
Index("ix_audit_log_target", AuditEntry.target_type, AuditEntry.target_id)
