"""The meeting pack: an XLSX of the scorecard and the exceptions, and a PDF printed by Chromium
from an HTML page (the exceptions one per page, each with the screen's own chart drawn by plotly.js).

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

from . import meetings as svc
from .exports import neutralise
from .figures import json_for_script
from .formatting import value_text
from .meeting_view import ExceptionsView, PanelNotes, _series, exceptions, overdue_text, spc_words
from .views import Context, as_at, metric_view, scorecard


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

    def compute() -> tuple[str, str]:
        variation, assurance = spc_words(metric, _series(ctx, metric, day))
        return variation or "", assurance or ""

    # once per data version, viewer kind and day: the PDF and the XLSX both ask for every metric
    return ctx.snap.memo(("pack_spc", metric.id, repr(metric.targets), repr(metric.spc), ctx.la_code, day,
                          tuple(sorted(ctx.no_illustrative))), compute)


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
#
# The PDF is the pack page printed by headless Chromium. Its charts are the screen's own figures (the metric
# page's trend as at the meeting's date: the same figure dict, target line and comparators) drawn by the same
# plotly.js the dashboard serves, inlined so the page needs no server and no network. Chromium runs the page's
# script within a virtual-time budget before it prints. Page numbers, the authority, the meeting, the data
# version and the "as at" date are in every page's margin boxes (CSS @page), so no page can lose them.

#: a chart's size on the A4 page (CSS px at 96 dpi: 182 mm of printable width is about 688 px)
CHART_WIDTH, CHART_HEIGHT = 680, 300


def css_string(text: str) -> str:
    """``text`` as a CSS string literal, safe inside a <style> element: quotes and backslashes escaped, and
    every character that could end the element or the string (``<``, ``>``, ``&``, newlines) as a CSS escape."""
    out = []
    for ch in str(text):
        if ch in '"\\<>&' or ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\{ord(ch):X} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def pack_figure(figure: dict) -> dict:
    """The screen's figure sized for the A4 page, for a static drawing (no hover, no mode bar)."""
    layout = dict(figure.get("layout") or {})
    layout.update(width=CHART_WIDTH, height=CHART_HEIGHT, autosize=False)
    return {"data": figure.get("data") or [], "layout": layout}


PACK_TEMPLATE = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
@page { size: A4; margin: 20mm 14mm 18mm 14mm;
  @top-left { content: {{ stamp_css }}; font: 8pt sans-serif; color: #333; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 8pt sans-serif; }
  @bottom-left { content: {{ illustrative_css }}; font: bold 8pt sans-serif; } }
body { font-family: sans-serif; font-size: 11pt; margin: 0; }
.page { break-before: page; }
.stamp { font-size: 9pt; color: #333; border-bottom: 1px solid #999; margin-bottom: 6pt; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; }
tr { break-inside: avoid; }
th, td { border: 1px solid #999; padding: 2pt 4pt; text-align: left; vertical-align: top; }
.illustrative { font-weight: bold; }
.chart { width: {{ chart_width }}px; height: {{ chart_height }}px; break-inside: avoid; }
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
{% if it.illustrative %}<p class="illustrative">Illustrative figures: not real data.</p>{% endif %}
<ul>{% for r in it.reasons %}<li><strong>{{ r.label }}:</strong> {{ r.text }}</li>{% endfor %}</ul>
{% if it.figure %}<div class="chart" role="img" aria-label="{{ it.summary }}" data-figure="fig-{{ loop.index }}"></div>
<script type="application/json" id="fig-{{ loop.index }}">{{ it.figure }}</script>
<p>{{ it.summary }}</p>{% else %}<p>No chart: no values as at the meeting's date.</p>{% endif %}
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
<script>{{ plotly_js }}</script>
<script>
document.querySelectorAll("[data-figure]").forEach(function (el) {
  var fig = JSON.parse(document.getElementById(el.getAttribute("data-figure")).textContent);
  Plotly.newPlot(el, fig.data, fig.layout, {staticPlot: true, displayModeBar: false});
});
</script>
</body></html>
"""


def pack_html(ctx: Context, view: ExceptionsView) -> str:
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    from .figures import figure_summary

    m = view.meeting
    at = replace(ctx, state=ctx.state.with_(as_of=m.date))
    rows = [dict(title=r.title, period=r.period_label, value=value_text(ctx.registry.metric(r.metric_id), r.value,
                                                                          r.status_symbol),
                 target="" if r.target is None else r.target, rag=f"{r.rag.symbol} {r.rag.label}",
                 illustrative=r.illustrative or r.target_illustrative,
                 **dict(zip(("variation", "assurance"), _spc(ctx, r.metric_id, m.date)))) for r in scorecard(at)]
    items = []
    for it in view.items:
        mv = metric_view(at, ctx.registry.metric(it.metric_id))
        has_values = not mv.data.empty and mv.data["value"].notna().any()
        items.append(dict(title=it.title, reasons=it.reasons, comments=it.comments, illustrative=mv.illustrative,
                          figure=Markup(json_for_script(pack_figure(mv.figure))) if has_values else None,
                          summary=figure_summary(mv.figure) if has_values else "",
                          actions=[dict(text=a.text, agency=a.agency, due=a.due_date.isoformat(),
                                        overdue=overdue_text(a, view.today)) for a in it.actions]))
    stamp = (f"{ctx.la_name} · {m.title} ({m.date.isoformat()}) · Data as at {as_at(ctx.snap)} · data version "
             f"{ctx.snap.version_id}" + (" · small numbers suppressed" if ctx.external else ""))
    illustrative = any(r["illustrative"] for r in rows) or any(it["illustrative"] for it in items)
    env = Environment(autoescape=True)
    return env.from_string(PACK_TEMPLATE).render(
        title=f"Meeting pack: {m.title}", stamp=stamp, rows=rows, items=items,
        stamp_css=Markup(css_string(stamp)),
        illustrative_css=Markup(css_string("Contains illustrative figures" if illustrative else "")),
        chart_width=CHART_WIDTH, chart_height=CHART_HEIGHT,
        # plotly.js is code shipped with plotly itself, not text from the data; "</script" cannot occur in it
        plotly_js=Markup(get_plotlyjs().replace("</script", "<\\/script")))


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: str, timeout: int = 180) -> bytes:
    """Print ``html`` to PDF with headless Chromium (A4), after its script has drawn the charts."""
    exe = chromium()
    if exe is None:
        raise PackError("no Chromium found (chromium, chromium-browser or google-chrome): the PDF needs one; "
                        "`make test` installs Debian's chromium")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "pack.html", Path(tmp) / "pack.pdf"
        src.write_text(html, encoding="utf-8")
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw", "--virtual-time-budget=15000",
               f"--user-data-dir={tmp}/profile", f"--print-to-pdf={out}", src.as_uri()]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise PackError(f"Chromium could not print the pack: {type(exc).__name__}") from None
        if not out.exists():
            raise PackError("Chromium printed nothing")
        return out.read_bytes()
