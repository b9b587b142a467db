"""A refused import loses nothing and writes nothing; an accepted one adds exactly one version.

The corpus part runs every file tests/returns_corpus/expected.yaml marks refused (with no options:
import_return takes none) through import_return on a copy of the built database, SQLite and
PostgreSQL, and compares a dump of every table before and after.

The Hypothesis part mutates the CSV template (bad metric ids, bad dates, percentages above 100,
negative numbers, cells blanked or removed, random bytes appended, plausible new figures) and imports each result into a
small SQLite database holding the schema, the areas and one earlier import: everything an import
reads or writes. (The full built database would make every dump take a second; the corpus part
covers refusals against it.) Each file is either accepted as exactly one new version, with every
earlier row left as it was, or refused with the dump unchanged. Nothing else may happen.
"""
from __future__ import annotations

import copy
import csv
import hashlib
import io
import sqlite3

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from dashboard import store
from dashboard.imports import ImportRefused, import_return, original_file
from dashboard.registry import Unit, load_registry
from dashboard.config import DEFAULT_DATA_DIR
from tests.imports.conftest import (
    CORPUS,
    TEMPLATE_CSV,
    ImportDB,
    corpus_refused_cases,
    counts,
    csv_bytes,
    dump,
    dump_diff,
    make_settings,
    sqlite_url,
    version_rows,
)

REGISTRY = load_registry(DEFAULT_DATA_DIR / "metrics.yaml")
LINES = list(csv.reader(io.StringIO(TEMPLATE_CSV.read_text(encoding="utf-8"))))
HEADER, ROWS = LINES[0], LINES[1:]
COL = {h: i for i, h in enumerate(HEADER)}
PERCENT_ROWS = [i for i, r in enumerate(ROWS) if REGISTRY.metric(r[COL["metric_id"]]).unit is Unit.PERCENT]


# --------------------------------------------------------------------------- the corpus


def test_every_refused_corpus_file_is_refused_and_changes_nothing(any_db, registry):
    eng = any_db.engine
    import_return(eng, registry, TEMPLATE_CSV.read_bytes(), "return_template.csv", user="analyst-a")
    cases = corpus_refused_cases()
    assert len(cases) >= 25
    before, base = dump(eng), counts(eng)
    for case in cases:
        data = (CORPUS / case["file"]).read_bytes()
        with pytest.raises(ImportRefused) as exc:
            import_return(eng, registry, data, case["file"], user="analyst-a")
        rep = exc.value.report
        assert not rep.accepted and rep.version_id is None and rep.problems, case["file"]
        readable = case["file"].endswith((".csv", ".xlsx")) and data
        if readable:  # read by the parser: every error it finds is reported, none invented
            assert len(rep.problems) == sum(p["severity"] == "error" for p in case["problems"]), (
                case["file"], rep.problems)
        assert counts(eng) == base, case["file"]
    assert dump_diff(before, dump(eng)) == ""


# --------------------------------------------------------------------------- fuzzing the template


@pytest.fixture(scope="module")
def small_db(databases):
    """A SQLite database with the schema, the areas of the built database and the template imported once."""
    d = databases.directory("fuzz")
    path = d / "fuzz.db"
    db = ImportDB("sqlite", make_settings(sqlite_url(path), d), path)
    store.init_db(db.engine)
    src = sqlite3.connect(databases.pristine_sqlite())
    cols = ("code", "old_code", "name", "level", "region_code")
    areas = [dict(zip(cols, r)) for r in src.execute(f"SELECT {', '.join(cols)} FROM area")]
    src.close()
    assert len(areas) > 150
    with db.engine.begin() as c:
        c.execute(insert(store.Area), areas)
    import_return(db.engine, REGISTRY, TEMPLATE_CSV.read_bytes(), "return_template.csv", user="analyst-a")
    yield db
    db.close()


ROW = st.integers(0, len(ROWS) - 1)
BAD_METRIC = st.one_of(st.sampled_from(["cp_rate_31mr", "cp_plans", "CP PLANS 31MAR", "not_a_metric", "lac_31mar_x",
                                        "", " ", "training compliance"]), st.text(max_size=15))
BAD_PERIOD = st.one_of(st.sampled_from(["31/02/2017", "03/31/2017", "31/13/2017", "2017-02-30", "2016-18",
                                        "Q5 2016-17", "sometime in March", "", "00/00/0000", "29/02/2017",
                                        "31/03/1899", "Mar 2017", "2016-17"]), st.text(max_size=12))
OVER_100 = st.one_of(st.floats(100.001, 1e7, allow_nan=False).map(lambda x: f"{x:.3f}"),
                     st.sampled_from(["100.01%", "150%", "1000", "101"]))
NEGATIVE = st.one_of(st.floats(-1e6, -0.001, allow_nan=False).map(lambda x: f"{x:.2f}"), st.just("-1"))

MUTATION = st.one_of(
    st.tuples(st.just("metric"), ROW, BAD_METRIC),
    st.tuples(st.just("period"), ROW, BAD_PERIOD),
    st.tuples(st.just("percent"), st.sampled_from(PERCENT_ROWS), OVER_100),
    st.tuples(st.just("negative"), ROW, st.sampled_from(["value", "numerator", "denominator"]), NEGATIVE),
    st.tuples(st.just("delete"), ROW, st.integers(0, len(HEADER) - 1), st.booleans()),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=64)),
)
PLAUSIBLE = st.tuples(st.just("value"), ROW, st.integers(0, 100))  # a new figure that passes every check
MUTATIONS = st.tuples(st.lists(PLAUSIBLE, min_size=1, max_size=2), st.lists(MUTATION, max_size=3)).map(
    lambda t: t[0] + t[1])


def mutate(mutations: list[tuple]) -> bytes:
    rows = copy.deepcopy(ROWS)
    tail = b""
    for m in mutations:
        kind = m[0]
        if kind == "metric":
            rows[m[1]][COL["metric_id"]] = m[2]
        elif kind == "period":
            rows[m[1]][COL["period"]] = m[2]
        elif kind == "percent":
            rows[m[1]][COL["value"]] = m[2]
        elif kind == "value":
            rows[m[1]][COL["value"]] = str(m[2])
        elif kind == "negative":
            rows[m[1]][COL[m[2]]] = m[3]
        elif kind == "delete":
            row, col, remove = rows[m[1]], m[2], m[3]
            if col < len(row):
                if remove:
                    del row[col]  # the row now has fewer cells than the header
                else:
                    row[col] = ""
        else:
            tail += m[1]
    return csv_bytes(HEADER, rows) + tail


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MUTATIONS)
def test_a_mutated_return_is_accepted_as_one_version_or_refused_with_nothing_written(small_db, mutations):
    data = mutate(mutations)
    eng = small_db.engine
    before = dump(eng)
    versions = [v.id for v in version_rows(eng)]
    try:
        rep = import_return(eng, REGISTRY, data, "fuzzed.csv", user="fuzz")
    except ImportRefused as exc:
        event("refused")
        note(f"refused: {exc.report.problems[:3]}")
        assert not exc.report.accepted and exc.report.problems and exc.report.version_id is None
        assert dump_diff(before, dump(eng)) == ""
        return
    event("accepted")
    note(f"accepted: {rep.added} added, {rep.changed} changed, {rep.unchanged} unchanged")
    after = version_rows(eng)
    assert [v.id for v in after[:-1]] == versions
    new = after[-1]
    assert new.id == rep.version_id and new.kind == "import"
    assert new.fingerprint == hashlib.sha256(data).hexdigest()
    assert original_file(eng, new.id).content == data
    now = dump(eng)
    for table, rows in before.items():
        missing = set(rows) - set(now[table])
        assert not missing, (table, sorted(missing, key=repr)[:3])  # earlier rows are never rewritten
