"""The return corpus: every file in tests/returns_corpus/ gives exactly the problems expected.yaml lists.

expected.yaml is written by hand from the rules; a change in the parser that adds, drops or
moves a problem fails here with the file named.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from dashboard.importers.returns import RULES, ParsedReturn, parse_return

CORPUS = Path(__file__).resolve().parent.parent / "returns_corpus"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))["cases"]
CODES = {"883": "E06000034", "E06000034": "E06000034"}


def _id(case: dict) -> str:
    opts = case.get("options")
    return case["file"] + (f"[{','.join(f'{k}={v}' for k, v in opts.items())}]" if opts else "")


def _parse(case: dict, registry) -> ParsedReturn:
    data = (CORPUS / case["file"]).read_bytes()
    return parse_return(data, case["file"], registry, CODES, **(case.get("options") or {}))


def test_the_corpus_is_complete():
    files = {p.name for p in CORPUS.iterdir() if p.name not in ("expected.yaml", "make_corpus.py")
             and not p.name.startswith(".") and p.is_file()}
    listed = {c["file"] for c in EXPECTED}
    assert files == listed, (sorted(files - listed), sorted(listed - files))
    assert len(files) >= 20
    # at least one refused file per rule the brief names, and several accepted ones
    codes = {p["code"] for c in EXPECTED for p in c.get("problems", [])}
    for code in ("unknown_metric", "unreadable_period", "period_mismatch", "numerator_above_denominator",
                 "percent_above_100", "negative", "zero_denominator", "not_a_number", "duplicate_row",
                 "breakdown_not_allowed", "unknown_breakdown_value", "agency_not_listed", "breakdown_total",
                 "unknown_area", "missing_columns", "too_many_rows", "from_after_to", "required_blank",
                 "target_overlap", "not_a_return", "empty_file", "period_in_future", "period_too_early",
                 "merged_cells", "percent_as_fraction", "mojibake", "fractional_count"):
        assert code in codes, code
    assert sum(1 for c in EXPECTED if c["accepted"]) >= 8
    assert {p.suffix for p in map(Path, files)} >= {".csv", ".xlsx"}


@pytest.mark.parametrize("case", EXPECTED, ids=_id)
def test_corpus_file(case, registry):
    ret = _parse(case, registry)
    assert isinstance(ret, ParsedReturn)
    got = [(p.code, p.severity, p.sheet, p.row, p.column, p.value) for p in ret.problems]
    want = [(p["code"], p["severity"], p["sheet"], p["row"], p["column"], p["value"]) for p in case["problems"]]
    assert got == want, "\n".join(str(p) for p in ret.problems)
    for p, exp in zip(ret.problems, case["problems"]):
        assert p.file == case["file"]
        assert p.code in RULES
        text = str(p)
        # in an analyst's words: no message ends with a Python exception's name, such as "(KeyError)"
        assert not re.search(r"\([A-Z][a-z]+(?:[A-Z][a-z]*)+\)\W*$", text), text
        for word in exp.get("words", []):
            assert str(word).lower() in text.lower(), (word, text)
        if "suggestion" in exp:
            assert p.suggestion and exp["suggestion"] in p.suggestion, (exp["suggestion"], p.suggestion)
            assert p.suggestion in text
    if "message" in case:
        assert str(ret.problems[0]) == case["message"]
    assert ret.ok is case["accepted"]
    assert ret.ok == (not [p for p in case["problems"] if p["severity"] == "error"])
    if "rows" in case:
        assert len(ret.rows) == case["rows"]
    if "targets" in case:
        assert len(ret.targets) == case["targets"]
    for key in ("sheets", "skipped_sheets", "encoding"):
        if key in case:
            assert getattr(ret, key) == case[key]
    for i, expected in (case.get("check") or {}).items():
        row = ret.rows[int(i)]
        for key, value in expected.items():
            assert row[key] == value, (i, key, row[key], value)
    for i, expected in (case.get("check_targets") or {}).items():
        target = ret.targets[int(i)]
        for key, value in expected.items():
            assert target[key] == value, (i, key, target[key], value)


def test_accepted_rows_are_complete_and_typed(registry):
    keys = {"metric_id", "area_code", "period_end", "period_label", "agency", "breakdown", "breakdown_value", "value",
            "numerator", "denominator", "status", "note", "sheet", "row"}
    for case in EXPECTED:
        ret = _parse(case, registry)
        for r in ret.rows:
            assert keys <= set(r), case["file"]
            assert isinstance(r["period_end"], dt.date)
            assert registry.get(r["metric_id"]) is not None
            assert (r["value"] is None) == bool(r["status"]), (case["file"], r)
            assert r["status"] == "" or r["status"] in ("c", "k", "u", "x", "z", ":", "low")
