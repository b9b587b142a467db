"""The external (suppressed) copy of a data version does not depend on who asks first.

Regression for a leak found over HTTP: the suppressed copy was cached under one key whatever
registry it was made with, and a metrics-scoped inspector link's registry is cut down to its
metrics. When such a link was the first inspector after an import, the copy was suppressed for
its metrics only, and every later inspector in that worker downloaded raw counts of 1 to 5.

Here: an import puts small counts in front of inspectors, a link scoped to one metric asks
first, then a default link downloads the breakdown. Once in one worker, and once with a second
worker (its own process memory, which is what a gunicorn worker has) in which the scoped link
is again the first to ask.
"""
from __future__ import annotations

import csv
import io
from contextlib import contextmanager

import pytest

from dashboard import data as data_module
from dashboard.imports import import_return

from tests.helpers import create_inspector_link, open_inspector_link, sign_in

from .conftest import csv_bytes

SMALL = [  # 883, 31 March 2024: 3 children under physical abuse is a small number; 12 is its partner
    ("NEG", 25), ("EMO", 12), ("PHY", 3),
]
HEADER = ["metric_id", "area", "period_end", "breakdown", "breakdown_value", "numerator", "denominator"]


def _return() -> bytes:
    return csv_bytes(HEADER, [["cp_by_category", "883", "2024-03-31", "category_of_abuse", code, str(n), "40"]
                              for code, n in SMALL])


def _link(engine, scope: dict) -> str:
    _link_row, token = create_inspector_link(engine, scope, label="cache test")
    return token


def _open(app, token: str):
    return open_inspector_link(app.server.test_client(), token)


def _category_rows(client) -> dict[str, dict]:
    resp = client.get("/download/metric/cp_by_category.csv?la=883&breakdown=category_of_abuse:PHY")
    assert resp.status_code == 200, resp.status_code
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    return {r["period_end"]: r for r in rows if r["series"].startswith("Thurrock")}


@contextmanager
def worker(cache: dict):
    """Serve the block's requests as a worker whose process memory is ``cache``."""
    saved = data_module._cache
    data_module._cache = cache
    try:
        yield
    finally:
        data_module._cache = saved


@pytest.mark.parametrize("workers", [1, 2])
def test_a_scoped_link_asking_first_does_not_unsuppress_the_data_for_later_inspectors(sqlite_db, registry,
                                                                                      workers):
    from dashboard.web.app import create_app

    engine = sqlite_db.engine
    report = import_return(engine, registry, _return(), "small.csv", user="tests")
    assert report.version_id is not None
    scoped = _link(engine, {"las": ["883"], "metrics": ["cp_rate_31mar"]})
    default = _link(engine, {"las": ["883"]})

    first, second = {}, {}
    app = create_app(sqlite_db.settings)
    with worker(first):
        scoped_client = _open(app, scoped)
        # the scoped inspector is the first external viewer of this data version
        assert scoped_client.get("/download/metric/cp_rate_31mar.csv?la=883").status_code == 200
        assert scoped_client.get("/download/metric/cp_by_category.csv?la=883").status_code == 404
    cache = second if workers == 2 else first
    with worker(cache):
        if workers == 2:  # the second worker's first external viewer is a scoped link too
            assert _open(app, scoped).get("/download/metric/cp_rate_31mar.csv?la=883").status_code == 200
        rows = _category_rows(_open(app, default))
    row = rows["2024-03-31"]
    assert row["status"] == "c" and row["value"] == "" and row["numerator"] == "", row

    # staff see the real figure, so the check above is not vacuous
    staff = sign_in(app.server.test_client(), engine, "viewer")
    with worker(cache):
        raw = _category_rows(staff)["2024-03-31"]
    assert raw["numerator"] in ("3", "3.0") and raw["status"] == ""
