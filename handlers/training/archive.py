"""The trainee archive for staff (their county) and administrators: /trainees figures by
category, course, attendance and follow-up outcome; the Excel export (audited); the list of
建档立卡 trainees who attended and may claim the living/transport/lodging subsidy."""

from __future__ import annotations

from bot.context import Context
from bot.messages import XLSX_MIME, Attachment, Incoming, Option, Reply
from handlers.training.common import MANAGERS, local_day, router, scope_county
from handlers.training.export import build_workbook
from storage.models import Role

MAX_COURSES = 10
MAX_SUBSIDY = 50


@router.command("trainees", aliases=("学员档案",), roles=MANAGERS, summary="help_trainees")
async def trainees(msg: Incoming, ctx: Context) -> list[Reply]:
    """Archive figures for the county this person may see."""
    county = scope_county(ctx)
    summary = await ctx.repos.training.summary(county)
    data = {
        "county": county,
        "summary": summary,
        "courses": summary.by_course[:MAX_COURSES],
        "more_courses": max(0, len(summary.by_course) - MAX_COURSES),
    }
    options = (
        Option("export_archive", "texport:xlsx"),
        Option("subsidy_list", "tsubsidy:list"),
        Option("followups", "/followups"),
    )
    return [Reply("training/archive", data, options)]


@router.option("texport", roles=MANAGERS)
async def export(msg: Incoming, ctx: Context) -> list[Reply]:
    """The archive as Excel: full numbers for administrators, masked for staff; audited."""
    county = scope_county(ctx)
    full = ctx.role is Role.ADMIN
    rows = await ctx.repos.training.archive(county)
    content = build_workbook(
        rows,
        id_number=ctx.repos.people.id_number,
        full=full,
        timezone=ctx.settings.timezone,
        words=ctx.services.notifier.renderer,
    )
    await ctx.repos.audit.record(
        action="trainees.export",
        target_type="archive",
        target_id=county or "all",
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"rows": len(rows), "full_numbers": full},
    )
    name = f"trainees-{local_day(ctx, ctx.now):%Y%m%d}.xlsx"
    attachment = Attachment(filename=name, content=content, mime_type=XLSX_MIME)
    data = {"rows": len(rows), "full": full, "county": county}
    return [Reply("training/exported", data, attachment=attachment)]


@router.option("tsubsidy", roles=MANAGERS)
async def subsidy(msg: Incoming, ctx: Context) -> list[Reply]:
    """建档立卡 trainees who attended: eligible for the training subsidy."""
    rows = await ctx.repos.training.subsidy_eligible(scope_county(ctx))
    items = [
        {"name": p.name, "phone": p.phone, "village": p.village, "title": c.title, "sessions": n}
        for p, c, n in rows[:MAX_SUBSIDY]
    ]
    data = {"rows": items, "total": len(rows)}
    return [Reply("training/subsidy", data, (Option("export_archive", "texport:xlsx"),))]
