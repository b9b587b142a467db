"""Local returns: a partnership's own figures in long format, one value per row.

Columns: ``metric_id, area, period_end, agency, breakdown, breakdown_value, value, numerator,
denominator, note``. ``area`` is a DfE three-digit code or a GSS code. A value may be given
directly, or as numerator and denominator (the value is then computed by the metric's unit).
Each file has a sidecar ``<name>.source.yaml`` with its provenance.

Problems are collected, not raised one at a time: ``read_local_return`` returns every problem
with the file, row, column, value and rule, so the caller can refuse the whole file.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..analysis.rates import percentage, rate_per_10000, round_half_up
from ..registry import Registry, Unit

COLUMNS = ["metric_id", "area", "period_end", "agency", "breakdown", "breakdown_value", "value", "numerator",
           "denominator", "note"]


@dataclass
class Problem:
    file: str
    row: int  # 1-based line number in the file, the header being line 1
    column: str
    value: str
    rule: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        return f"{self.file}, row {self.row}, column '{self.column}', value {self.value!r}: {self.rule}"


@dataclass
class LocalReturn:
    rows: list[dict] = field(default_factory=list)
    source: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def _num(text: str) -> float | None:
    """A cell as a number: blank is None; commas only as thousands separators ("1,234", not "12,5");
    anything else that is not a finite number raises ValueError."""
    text = (text or "").strip()
    if text == "":
        return None
    if "," in text:
        if not _GROUPED.fullmatch(text):
            raise ValueError(f"commas are allowed only as thousands separators, as in 1,234: {text!r}")
        text = text.replace(",", "")
    x = float(text)
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {text!r}")
    return x


def compute_value(unit: Unit, numerator: float, denominator: float, decimals: int) -> float | None:
    """A value from its numerator and denominator, by the metric's unit."""
    if unit is Unit.RATE_PER_10000:
        return rate_per_10000(numerator, denominator, decimals)
    if unit is Unit.PERCENT:
        return percentage(numerator, denominator, decimals)
    if denominator in (None, 0):
        return None
    return round_half_up(numerator / denominator, decimals)


def read_local_return(path: Path, registry: Registry, area_codes: dict[str, str]) -> LocalReturn:
    """Read and check one local return. ``area_codes`` maps DfE and GSS codes to GSS codes."""
    path = Path(path)
    name = path.name
    out = LocalReturn()
    sidecar = path.with_suffix(".source.yaml")
    meta = yaml.safe_load(sidecar.read_text(encoding="utf-8")) if sidecar.exists() else {}
    data = path.read_bytes()
    out.source = {
        "key": meta.get("key") or f"local/{name}",
        "kind": meta.get("kind") or "local_return",
        "title": meta.get("title") or name,
        "publisher": meta.get("publisher") or "Local return",
        "vintage": meta.get("vintage") or "",
        "licence": meta.get("licence") or "",
        "url": meta.get("url"),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        out.problems.append(Problem(name, 1, ", ".join(missing), "", "required column(s) missing from the header"))
        return out
    seen: dict[tuple, int] = {}
    for line_no, rec in enumerate(reader, start=2):
        extra = rec.pop(None, None)  # fields beyond the header's columns
        if not any((v or "").strip() for v in rec.values()) and not any((v or "").strip() for v in extra or []):
            continue
        def bad(column: str, rule: str, severity: str = "error") -> None:
            out.problems.append(Problem(name, line_no, column, rec.get(column) or "", rule, severity))

        if extra is not None:
            out.problems.append(Problem(name, line_no, "(after note)", ",".join([v or "" for v in rec.values()] + extra),
                                        f"the row has {len(COLUMNS) + len(extra)} fields, the header {len(COLUMNS)}: "
                                        'quote a number with a thousands separator ("1,234") or a note with a comma'))
            continue
        metric = registry.get((rec["metric_id"] or "").strip())
        if metric is None:
            bad("metric_id", "not a metric id in the registry (data/metrics.yaml)")
            continue
        area = area_codes.get((rec["area"] or "").strip())
        if area is None:
            bad("area", "not a known DfE or GSS area code")
            continue
        try:
            period_end = dt.date.fromisoformat((rec["period_end"] or "").strip())
        except ValueError:
            bad("period_end", "must be a date written YYYY-MM-DD")
            continue
        parsed = {}
        for column in ("value", "numerator", "denominator"):
            try:
                parsed[column] = _num(rec[column])
            except ValueError as exc:
                bad(column, f"not a number ({exc})")
        if len(parsed) < 3:
            continue
        value, num, den = parsed["value"], parsed["numerator"], parsed["denominator"]
        breakdown = (rec["breakdown"] or "").strip()
        bvalue = (rec["breakdown_value"] or "").strip()
        if breakdown:
            if breakdown not in metric.breakdowns:
                bad("breakdown", f"metric '{metric.id}' has no breakdown '{breakdown}' in the registry")
                continue
            if bvalue not in registry.breakdowns[breakdown].values:
                bad("breakdown_value", f"not one of {list(registry.breakdowns[breakdown].values)}")
                continue
        if num is not None and den is not None:
            if den <= 0:
                bad("denominator", "must be greater than zero")
                continue
            if num < 0:
                bad("numerator", "must not be negative")
                continue
            if metric.unit is Unit.PERCENT and num > den:
                bad("numerator", f"numerator {num:g} is greater than the denominator {den:g}")
                continue
            computed = compute_value(metric.unit, num, den, metric.decimals)
            if value is not None and computed is not None and abs(computed - value) > 10 ** -metric.decimals:
                bad("value", f"does not match numerator/denominator ({computed:g})", "warning")
            value = computed if value is None else value
        if value is None:
            bad("value", "give a value, or a numerator and a denominator")
            continue
        if value < 0:
            bad("value", "must not be negative")
            continue
        if metric.unit is Unit.PERCENT and value > 100:
            bad("value", "a percentage cannot be above 100")
            continue
        cell = (metric.id, area, period_end, (rec["agency"] or "").strip(), breakdown, bvalue)
        if cell in seen:
            bad("metric_id", f"the same metric, area, period, agency and breakdown are already given on row {seen[cell]}")
            continue
        seen[cell] = line_no
        out.rows.append({
            "metric_id": metric.id,
            "area_code": area,
            "period_end": period_end,
            "agency": (rec["agency"] or "").strip(),
            "breakdown": breakdown,
            "breakdown_value": bvalue,
            "value": value,
            "numerator": num,
            "denominator": den,
            "published_value": _num(rec["value"]),
            "status": "",
            "source_key": out.source["key"],
            "note": (rec["note"] or "").strip() or None,
        })
    return out
