"""The meeting pack's build time for the full scorecard (``dashboard/pack.py``).

Rules:
- The input is real: the built instance, the authority's whole framework scorecard, and the exceptions of a
  meeting against a previous one years before (so most metrics have new data and many are exceptions).
- Floor, measured in the same run: Chromium printing a one-page HTML document through the same
  ``html_to_pdf`` (its start, one layout, one PDF page): the fixed cost no pack can avoid. The PDF row is
  the whole pack (``pack_html`` + ``html_to_pdf``: the scorecard, one page per exception, each chart drawn
  by plotly.js) against that floor. Budget: at most ``BUDGET_PDF_VS_FLOOR`` times the floor.
- The XLSX row (scorecard, exceptions, actions) is measured against openpyxl writing the very same cells as
  plain values (read back from the pack): the library's own cost; budget at most ``BUDGET_XLSX_VS_FLOOR``
  times (what is ours: the scorecard as at the meeting, the SPC words, neutralising every text cell).
"""
from __future__ import annotations

import io
import time
from dataclasses import replace

from dashboard import meetings, pack
from dashboard.data import DataManager
from dashboard.state import parse_query
from dashboard.views import make_context, scorecard

from .core import Row, median
from .instance import BENCH_MEETING, Instance

SECTION = "5. meeting pack (in process, Chromium prints)"
BUDGET_PDF_VS_FLOOR = 12.0
BUDGET_XLSX_VS_FLOOR = 3.0
FLOOR_HTML = "<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'><title>floor</title></head>" \
             "<body><h1>One page</h1><p>The fixed cost of a Chromium print.</p></body></html>"


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def _cells(xlsx: bytes) -> dict[str, list[tuple]]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(xlsx))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb}


def _write(sheets: dict[str, list[tuple]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def run(inst: Instance, rounds: int) -> list[Row]:
    if pack.chromium() is None:
        raise RuntimeError("no Chromium: the pack's PDF needs one")
    mgr = DataManager(inst.settings)
    meeting = meetings.get_meeting(mgr.engine, BENCH_MEETING)  # made by build_instance, a meeting years after another
    snap = mgr.snapshot()
    topics = tuple(t.id for t in mgr.registry.topics)
    ctx = make_context(snap, mgr.registry, parse_query("", topics), mgr.settings.la_code)
    view = pack.published_view(mgr.engine, ctx, meeting)

    pdf_ms, floor_ms, xlsx_ms, cells_ms = [], [], [], []
    pages = 0
    for i in range(rounds):
        floor_ms.append(_timed(lambda: pack.html_to_pdf(FLOOR_HTML))[0])
        ms, pdf = _timed(lambda: pack.html_to_pdf(pack.pack_html(ctx, view)))
        pdf_ms.append(ms)
        pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") if i == 0 else pages
        ms, xlsx = _timed(lambda: pack.pack_xlsx(ctx, view))
        xlsx_ms.append(ms)
        sheets = _cells(xlsx)
        cells_ms.append(_timed(lambda sheets=sheets: _write(sheets))[0])
    n_metrics = len(scorecard(replace(ctx, state=ctx.state.with_(as_of=meeting.date))))
    note = f"{n_metrics} scorecard metrics, {len(view.items)} exceptions"
    return [
        Row(SECTION, "pack PDF, full scorecard", median(pdf_ms), "ms", floor=median(floor_ms),
            floor_name="Chromium prints one page", budget=BUDGET_PDF_VS_FLOOR, samples=pdf_ms, floor_samples=floor_ms,
            note=f"{note}; about {pages} pages"),
        Row(SECTION, "pack XLSX, full scorecard", median(xlsx_ms), "ms", floor=median(cells_ms),
            floor_name="openpyxl writes the same cells", budget=BUDGET_XLSX_VS_FLOOR, samples=xlsx_ms,
            floor_samples=cells_ms, note=note),
    ]
