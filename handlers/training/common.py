"""What every part of the training feature shares: its router, the keyword lists people
choose from, who may manage a course, and a course as template data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.router import Router
from storage.models import Course, Role
from storage.repositories.training import Seats

router = Router("training")
router.menu("menu_courses", "/courses", order=20)
router.menu("menu_my_courses", "/my_courses", roles=(Role.HOUSEHOLD,), order=21)
router.menu("menu_trainees", "/trainees", roles=(Role.STAFF, Role.ADMIN), order=22)

MANAGERS = (Role.STAFF, Role.ADMIN)
TOPICS = ("直播带货", "社交电商", "网店运营", "电商基础", "产品包装与品牌", "物流快递")
AUDIENCES = ("农户", "村干部", "电商带头人")
CATEGORIES = (
    "贫困户",
    "返乡农民工",
    "大学生",
    "退伍军人",
    "残疾人",
    "村干部",
    "第一书记",
    "电商带头人",
    "其他",
)
KIND = "training"


def zone(ctx: Context) -> ZoneInfo:
    return ZoneInfo(ctx.settings.timezone)


def local_now(ctx: Context) -> datetime:
    return ctx.now.astimezone(zone(ctx))


def local_day(ctx: Context, moment: datetime) -> date:
    return moment.astimezone(zone(ctx)).date()


def from_local(ctx: Context, text: str) -> datetime:
    """``YYYY-MM-DD HH:MM`` in the configured timezone as an aware UTC instant."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=zone(ctx))


def to_local_text(ctx: Context, moment: datetime) -> str:
    return moment.astimezone(zone(ctx)).strftime("%Y-%m-%d %H:%M")


def is_manager(ctx: Context) -> bool:
    return ctx.role in MANAGERS


def scope_county(ctx: Context) -> str | None:
    """The county whose trainees this person may see: None for a province administrator."""
    if ctx.role is Role.ADMIN and not ctx.user.county:
        return None
    return ctx.user.county or ""


def can_manage(ctx: Context, course: Course) -> bool:
    """Staff and administrators of the course's county (province administrators: all)."""
    if not is_manager(ctx):
        return False
    scope = scope_county(ctx)
    return scope is None or scope == course.county or course.created_by == ctx.user.id


def course_data(course: Course, seats: Seats | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": course.id,
        "title": course.title,
        "topics": course.topics,
        "county": course.county,
        "place": course.place,
        "starts_at": course.starts_at,
        "ends_at": course.ends_at,
        "capacity": course.capacity,
        "teacher": course.teacher,
        "audience": course.audience,
        "open": course.is_open,
    }
    if seats is not None:
        data["confirmed"] = seats.confirmed
        data["waiting"] = seats.waiting
        data["free"] = max(0, course.capacity - seats.confirmed)
    return data


def parse_id(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 12 else None
