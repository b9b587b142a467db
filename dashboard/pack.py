"""The meeting pack: an XLSX of the scorecard and the exceptions, and a PDF printed by Chromium
from an HTML page (the exceptions one per page, each with a chart drawn as static SVG).

The same functions serve the command line (``python -m dashboard pack``) and the web download.
Commentary in a pack is published commentary only; an inspector's pack is built from their
(suppressed) view context, as their screens are. Every text cell of the XLSX goes through
``dashboard.exports.neutralise`` (no formula injection); the HTML is rendered by Jinja with
autoescaping (text shown as text).
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
from jinja2 import Environment
from markupsafe import escape

from . import meetings as svc
from .exports import neutralise
from .formatting import value_text
from .meeting_view import ExceptionsView, PanelNotes, _series, exceptions, overdue_text, spc_words
from .views import Context, as_at, scorecard


class PackError(RuntimeError):
    """The pack could not be made (e.g. no Chromium for the PDF); the message says why."""


def published_view(engine, ctx: Context, meeting: svc.MeetingRecord, today: dt.date | None = None) -> ExceptionsView:
    """The exceptions view with published commentary only (what a pack may carry)."""
    visible = {m.id for m in ctx.registry.metrics}
    comments = tuple(c for c in svc.current_comments(engine, ctx.la_code, drafts=False) if c.metric_id in visible)
    actions = tuple(a for a in svc.list_actions(engine, la_code=ctx.la_code) if a.metric_id in visible)
    notes = PanelNotes(comments=comments, actions=actions, today=today or dt.date.today())
    previous = svc.previous_meeting(engine, meeting)
    imported = svc.imports_between(engine, previous.date, meeting.date) if previous else {}
    return exceptions(ctx, meeting, previous, notes, imported, tuple(a for a in actions if a.meeting_id == meeting.id))


def _spc(ctx: Context, metric_id: str, day: dt.date) -> tuple[str, str]:
    """The SPC variation and assurance icons' words for a metric's headline series up to ``day`` ("" when none)."""
    metric = ctx.registry.metric(metric_id)
    variation, assurance = spc_words(metric, _series(ctx, metric, day))
    return variation or "", assurance or ""


# -- XLSX ---------------------------------------------------------------------------------------

def _cell(value):
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return neutralise(value)


def pack_xlsx(ctx: Context, view: ExceptionsView) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Scorecard"
    m = view.meeting
    head = [f"{m.title} ({m.date.isoformat()}): {ctx.la_name}", f"Data as at {as_at(ctx.snap)}",
            f"data version {ctx.snap.version_id}"]
    ws.append([_cell(" · ".join(head))])
    cols = ["metric_id", "title", "period", "value", "target", "rag", "spc_variation", "spc_assurance", "illustrative"]
    ws.append(cols)
    at = replace(ctx, state=ctx.state.with_(as_of=m.date))
    for r in scorecard(at):
        variation, assurance = _spc(ctx, r.metric_id, m.date)
        ws.append([_cell(v) for v in (r.metric_id, r.title, r.period_label, r.value, r.target, r.rag.label,
                                      variation, assurance,
                                      "Illustrative" if (r.illustrative or r.target_illustrative) else "")])
    ex = wb.create_sheet("Exceptions")
    ex.append(["order", "metric_id", "title", "reason", "detail", "published commentary", "open actions"])
    for i, it in enumerate(view.items, start=1):
        comments = " | ".join(" / ".join(t for t in (c.data_says, c.why, c.doing) if t.strip()) for c in it.comments)
        actions = " | ".join(f"{a.text} ({a.agency}, due {a.due_date.isoformat()}"
                             + (", OVERDUE" if a.overdue(view.today) else "") + ")" for a in it.actions)
        for r in it.reasons:
            ex.append([_cell(v) for v in (i, it.metric_id, it.title, r.label, r.text, comments, actions)])
    acts = wb.create_sheet("Actions")
    acts.append(["id", "metric_id", "action", "owner", "due", "status", "overdue"])
    for a in view.actions:
        acts.append([_cell(v) for v in (a.id, a.metric_id, a.text, a.agency, a.due_date.isoformat(), a.status,
                                        "Overdue" if a.overdue(view.today) else "")])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- HTML and PDF ----------------------------------------------------------------------------------

def svg_chart(series: pd.DataFrame, target: float | None = None, width: int = 640, height: int = 220) -> str:
    """A static line chart of a series, with the target as a dashed line; the only text in it (period labels)
    is escaped."""
    s = series[series["value"].notna()]
    if s.empty:
        return ""
    ys = [float(v) for v in s["value"]] + ([target] if target is not None else [])
    lo, hi = min(ys), max(ys)
    hi = hi if hi > lo else lo + 1
    pad = 30
    n = len(s)

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * (v - lo) / (hi - lo)

    pts = " ".join(f"{x(i):.1f},{y(float(v)):.1f}" for i, v in enumerate(s["value"]))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
             f'<polyline fill="none" stroke="#12436D" stroke-width="2" points="{pts}"/>']
    parts += [f'<circle cx="{x(i):.1f}" cy="{y(float(v)):.1f}" r="3" fill="#12436D"/>'
              for i, v in enumerate(s["value"])]
    if target is not None:
        parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
                     'stroke="#F46A25" stroke-dasharray="6 4" stroke-width="2"/>')
    labels = list(s["period_label"])
    parts += [f'<text x="{pad}" y="{height - 8}" font-size="11">{escape(labels[0])}</text>',
              f'<text x="{width - pad}" y="{height - 8}" font-size="11" text-anchor="end">{escape(labels[-1])}</text>',
              f'<text x="2" y="{y(hi) + 4:.1f}" font-size="11">{hi:g}</text>',
              f'<text x="2" y="{y(lo) + 4:.1f}" font-size="11">{lo:g}</text>']
    if target is not None:
        parts.append(f'<text x="{width - pad}" y="{y(target) - 4:.1f}" font-size="11" text-anchor="end">'
                     f'target {target:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


PACK_TEMPLATE = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
@page { size: A4; margin: 18mm 14mm; }
body { font-family: sans-serif; font-size: 11pt; }
.page { page-break-before: always; }
.stamp { font-size: 9pt; color: #333; border-bottom: 1px solid #999; margin-bottom: 6pt; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; }
th, td { border: 1px solid #999; padding: 2pt 4pt; text-align: left; vertical-align: top; }
.illustrative { font-weight: bold; }
</style></head><body>
<section>
<p class="stamp">{{ stamp }}</p>
<h1>{{ title }}</h1>
<h2>Contents</h2>
<ol>{% for it in items %}<li>{{ it.title }}</li>{% endfor %}</ol>
<h2>Scorecard</h2>
<table><thead><tr><th>Metric</th><th>Period</th><th>Value</th><th>Target</th><th>Status</th><th>SPC variation</th>
<th>SPC assurance</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r.title }}</td><td>{{ r.period }}</td><td>{{ r.value }}</td><td>{{ r.target }}</td>
<td>{{ r.rag }}{% if r.illustrative %} <span class="illustrative">(Illustrative)</span>{% endif %}</td>
<td>{{ r.variation }}</td><td>{{ r.assurance }}</td></tr>
{% endfor %}</tbody></table>
</section>
{% for it in items %}<section class="page">
<p class="stamp">{{ stamp }}</p>
<h2>{{ loop.index }}. {{ it.title }}</h2>
<ul>{% for r in it.reasons %}<li><strong>{{ r.label }}:</strong> {{ r.text }}</li>{% endfor %}</ul>
{{ it.svg }}
<h3>Commentary</h3>
{% for c in it.comments %}<p><strong>{{ c.period_end }}</strong> ({{ c.author }})</p>
{% if c.data_says %}<p>What the data tells us: {{ c.data_says }}</p>{% endif %}
{% if c.why %}<p>Why: {{ c.why }}</p>{% endif %}
{% if c.doing %}<p>What is being done: {{ c.doing }}</p>{% endif %}
{% else %}<p>No published commentary.</p>{% endfor %}
<h3>Open actions</h3>
{% for a in it.actions %}<p>{{ a.text }} ({{ a.agency }}, due {{ a.due }})
{%- if a.overdue %} <strong>⚠ {{ a.overdue }}</strong>{% endif %}</p>
{% else %}<p>No open actions.</p>{% endfor %}
</section>{% endfor %}
</body></html>
"""


def pack_html(ctx: Context, view: ExceptionsView) -> str:
    from markupsafe import Markup

    m = view.meeting
    at = replace(ctx, state=ctx.state.with_(as_of=m.date))
    rows = [dict(title=r.title, period=r.period_label, value=value_text(ctx.registry.metric(r.metric_id), r.value,
                                                                          r.status_symbol),
                 target="" if r.target is None else r.target, rag=f"{r.rag.symbol} {r.rag.label}",
                 illustrative=r.illustrative or r.target_illustrative,
                 **dict(zip(("variation", "assurance"), _spc(ctx, r.metric_id, m.date)))) for r in scorecard(at)]
    items = []
    for it in view.items:
        metric = ctx.registry.metric(it.metric_id)
        series = _series(ctx, metric, m.date)
        target = metric.target_for(series["period_end"].iloc[-1], None) if not series.empty else None
        items.append(dict(title=it.title, reasons=it.reasons, comments=it.comments,
                          svg=Markup(svg_chart(series, target.value if target else None)),
                          actions=[dict(text=a.text, agency=a.agency, due=a.due_date.isoformat(),
                                        overdue=overdue_text(a, view.today)) for a in it.actions]))
    stamp = (f"{ctx.la_name} · {m.title} ({m.date.isoformat()}) · Data as at {as_at(ctx.snap)} · data version "
             f"{ctx.snap.version_id}" + (" · small numbers suppressed" if ctx.external else ""))
    env = Environment(autoescape=True)
    return env.from_string(PACK_TEMPLATE).render(title=f"Meeting pack: {m.title}", stamp=stamp, rows=rows,
                                                 items=items)


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: str, timeout: int = 120) -> bytes:
    """Print ``html`` to PDF with headless Chromium (A4; Chromium numbers the pages in its footer)."""
    exe = chromium()
    if exe is None:
        raise PackError("no Chromium found (chromium, chromium-browser or google-chrome): the PDF needs one; "
                        "`make test` installs Debian's chromium")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "pack.html", Path(tmp) / "pack.pdf"
        src.write_text(html, encoding="utf-8")
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               f"--user-data-dir={tmp}/profile", f"--print-to-pdf={out}", src.as_uri()]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise PackError(f"Chromium could not print the pack: {type(exc).__name__}") from None
        if not out.exists():
            raise PackError("Chromium printed nothing")
        return out.read_bytes()
