"""Certificates of completion: a trainee who attended a course that is over gets a one-page
PDF (/certificates). The words come from training/certificate.j2; the page uses the PDF
standard Chinese font STSong-Light, which viewers supply, so no font file is needed."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from bot.context import Context
from bot.messages import Attachment, Incoming, Option, Reply
from handlers.training.common import can_manage, course_data, local_day, parse_id, router

FONT = "STSong-Light"
PDF_MIME = "application/pdf"


def draw_certificate(lines: list[str]) -> bytes:
    """One landscape A4 page: the first line as the title, the rest centred below it."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    out = io.BytesIO()
    width, height = landscape(A4)
    page = canvas.Canvas(out, pagesize=(width, height), invariant=True)
    page.setLineWidth(3)
    page.rect(30, 30, width - 60, height - 60)
    page.setFont(FONT, 40)
    page.drawCentredString(width / 2, height - 130, lines[0])
    page.setFont(FONT, 18)
    y = height - 200
    for line in lines[1:]:
        page.drawCentredString(width / 2, y, line)
        y -= 34
    page.showPage()
    page.save()
    return out.getvalue()


@router.command("certificates", aliases=("结业证书", "我的证书"), summary="help_certificates")
async def certificates(msg: Incoming, ctx: Context) -> list[Reply]:
    """The courses this person completed, each with a button for its certificate."""
    rows = await ctx.repos.training.completed_by_user(ctx.user.id, ctx.now)
    items = [{**course_data(c), "sessions": n} for _, c, n in rows]
    options = tuple(
        Option("certificate", f"tcert:{r.id}", {"title": c.title}) for r, c, _ in rows[:20]
    )
    return [Reply("training/certificates", {"items": items}, options)]


@router.option("tcert")
async def certificate(msg: Incoming, ctx: Context) -> list[Reply]:
    """The certificate of one completed registration, as a PDF."""
    reg_id = parse_id((msg.option or "").split(":")[-1])
    reg = None if reg_id is None else await ctx.repos.training.registration(reg_id)
    course = reg and await ctx.repos.training.course(reg.course_id)
    person = reg and await ctx.repos.people.get(reg.person_id)
    if reg is None or course is None or person is None:
        return [Reply("training/registration_missing")]
    if reg.user_id != ctx.user.id and not can_manage(ctx, course):
        return [Reply("training/registration_missing")]
    done = {
        r.id for r, _, _ in await ctx.repos.training.completed_by_user(reg.user_id or 0, ctx.now)
    }
    if reg.id not in done:
        return [Reply("training/certificate_not_yet", course_data(course))]
    data = {
        **course_data(course),
        "name": person.name,
        "number": f"{course.id:04d}-{reg.id:06d}",
        "first_day": local_day(ctx, course.starts_at).isoformat(),
        "last_day": local_day(ctx, course.ends_at).isoformat(),
        "issued": local_day(ctx, ctx.now).isoformat(),
    }
    text = ctx.services.notifier.renderer.text("training/certificate", data)
    pdf = draw_certificate([line.strip() for line in text.splitlines() if line.strip()])
    name = f"certificate-{data['number']}.pdf"
    attachment = Attachment(filename=name, content=pdf, mime_type=PDF_MIME)
    return [Reply("training/certificate_sent", data, attachment=attachment)]
