"""The meeting pack: XLSX sheets with formula-like text neutralised, HTML with text escaped, a PDF by Chromium."""
from __future__ import annotations

import datetime as dt
import io
import shutil

import pytest
from markupsafe import escape
from openpyxl import load_workbook

from dashboard import meetings as svc
from dashboard import pack, store, views
from dashboard.state import parse_query

THURROCK = "E06000034"
NASTY = "=HYPERLINK(\"http://evil\") <script>alert(1)</script>"


@pytest.fixture
def engine(tmp_path):
    eng = store.make_engine(f"sqlite:///{tmp_path / 'pack.db'}")
    store.init_db(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def view_and_ctx(engine, snap, registry):
    who = dict(actor="ann", role="analyst")
    svc.create_meeting(engine, date="2019-06-30", title="June 2019", **who)
    m = svc.create_meeting(engine, date="2024-06-30", title="-June 2024 panel", **who)
    c = svc.add_comment(engine, metric_id="lac_placed_20_miles", period_end="2024-03-31", la_code=THURROCK,
                        data_says=NASTY, **who)
    svc.publish_comment(engine, c.id, **who)
    svc.add_comment(engine, metric_id="lac_placed_20_miles", period_end="2024-03-31", la_code=THURROCK,
                    data_says="DRAFT ONLY", **who)
    svc.add_action(engine, text="+SUM(A1)", agency="Council", due_date="2024-07-31", metric_id="lac_placed_20_miles",
                   la_code=THURROCK, meeting_id=m.id, **who)
    ctx = views.make_context(snap, registry, parse_query("?la=883"), "883")
    return pack.published_view(engine, ctx, m, today=dt.date(2024, 9, 1)), ctx


def test_xlsx_has_the_scorecard_exceptions_and_actions_neutralised(view_and_ctx):
    view, ctx = view_and_ctx
    wb = load_workbook(io.BytesIO(pack.pack_xlsx(ctx, view)))
    assert wb.sheetnames == ["Scorecard", "Exceptions", "Actions"]
    cells = [c for ws in wb for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert "'+SUM(A1)" in cells and any(c.startswith("'-June 2024 panel") for c in cells)
    titles = {r[2] for r in wb["Exceptions"].iter_rows(min_row=2, values_only=True)}
    assert titles == {it.title for it in view.items}
    assert not any("DRAFT ONLY" in c for c in cells)
    assert [r[6] for r in wb["Actions"].iter_rows(min_row=2, values_only=True)] == ["Overdue"]
    header = [c.value for c in wb["Scorecard"][2]]
    assert header[6:8] == ["spc_variation", "spc_assurance"]
    variations = {r[6] for r in wb["Scorecard"].iter_rows(min_row=3, values_only=True)}
    assert any(v and v.startswith(("Common cause", "Special cause")) for v in variations), variations


def test_html_escapes_text_and_carries_every_exception(view_and_ctx):
    view, ctx = view_and_ctx
    html = pack.pack_html(ctx, view)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "DRAFT ONLY" not in html
    for it in view.items:
        assert str(escape(it.title)) in html
    assert html.count('class="page"') == len(view.items)
    # the stamp at the head of every section, and in every printed page's margin (the CSS @page rule)
    assert html.count('<p class="stamp">') == len(view.items) + 1
    assert html.count("data version") == len(view.items) + 2
    assert "⚠ Overdue: due 2024-07-31" in html
    assert "<th>SPC variation</th>" in html


@pytest.mark.skipif(pack.chromium() is None or shutil.which("chromium") is None, reason="no Chromium")
def test_pdf_has_every_exception_its_chart_and_numbered_stamped_pages(view_and_ctx):
    from pypdf import PdfReader

    view, ctx = view_and_ctx
    assert view.items, "the fixture must give the pack at least one exception"
    pdf = pack.html_to_pdf(pack.pack_html(ctx, view))
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-1024:]
    reader = PdfReader(io.BytesIO(pdf))
    pages = [" ".join(p.extract_text().split()) for p in reader.pages]
    text = " ".join(pages)
    bare = "".join(text.split())  # a title wrapped over two lines comes back with a space where it broke
    assert len(pages) >= len(view.items) + 1
    for it in view.items:  # every exception's title, in the contents and on its own page
        assert bare.count("".join(it.title.split())) >= 2, it.title
    for n, page in enumerate(pages, start=1):  # numbered, and the stamp on every page
        assert f"Page {n} of {len(pages)}" in page, page[:200]
        assert f"data version {ctx.snap.version_id}" in page and "Thurrock" in page
    assert "file://" not in text  # no browser header or footer
    assert "DRAFT ONLY" not in text and "<script>alert(1)</script>" in text  # published text, shown as text
    # the charts are drawn: the first exception's page carries its chart's axis labels (the periods), more of
    # them than its reasons and its text summary name (at most six)
    item = view.items[0]
    page = [p for p in pages if "".join(f"1. {item.title}".split()) in "".join(p.split())][-1]  # not the contents
    first = views.metric_view(views.make_context(ctx.snap, ctx.registry, parse_query("?la=883&as_of=2024-06-30"),
                                                 "883"), ctx.registry.metric(item.metric_id))
    periods = set(first.data["period"])
    assert len(periods) >= 8
    assert sum(p in page for p in periods) >= 7, (sorted(periods), page[:600])


def test_pack_html_puts_text_in_css_and_json_safely():
    quoted = pack.css_string('a"b\\c</style><script>')
    assert quoted.startswith('"') and quoted.endswith('"')
    inner = quoted[1:-1]
    assert not any(ch in inner for ch in '"<>') and inner.count("\\") == 6  # each escaped: 22, 5C, 3C, 3E...
    assert "</script" not in pack.json_for_script({"t": "</script><b>&"})
    import json

    assert json.loads(pack.json_for_script({"t": "</script><b>&"})) == {"t": "</script><b>&"}
