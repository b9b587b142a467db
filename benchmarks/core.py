"""Timing, verdicts and the results table. Plain Python: no Dash, no Plotly, no browser.

Rules:
- A sample is the time of one call (or, for calls too quick for the clock, the mean of a batch
  of ``number`` calls, so that each sample lasts at least about 20 ms); a value is the median
  of the samples, taken after ``warmup`` unrecorded runs.
- Measures that are compared with each other are run in interleaved rounds (one of each per
  round), so that a burst of background load lands on every side of a ratio.
- A row's ratio is value / floor. Its budget is a ceiling on that ratio; a row without a floor
  has an absolute ceiling instead (a count), and a row without a budget is information only.
  Verdicts: ``ok``, ``OVER`` (budget exceeded: the run exits 1) or ``info``.
"""
from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

OK, OVER, INFO = "ok", "OVER", "info"


@dataclass
class Row:
    """One line of the results table."""

    section: str
    measure: str
    value: float
    unit: str  # "ms", "bytes" or "count"
    floor: float | None = None
    floor_name: str = ""
    budget: float | None = None
    note: str = ""
    samples: list[float] = field(default_factory=list)
    floor_samples: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.floor is None or not self.floor or math.isnan(self.value):
            return None
        return self.value / self.floor

    @property
    def verdict(self) -> str:
        if self.budget is None:
            return INFO
        measured = self.ratio if self.floor is not None else self.value
        if measured is None or math.isnan(measured):
            return OVER  # a budgeted measure that could not be taken is a failure, not a pass
        return OK if measured <= self.budget else OVER

    def as_dict(self) -> dict:
        d = asdict(self)
        d["ratio"] = self.ratio
        d["verdict"] = self.verdict
        return d


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def calibrate(fn: Callable[[], object], min_sample_s: float = 0.02, max_number: int = 10_000) -> int:
    """How many calls of ``fn`` make one sample last at least ``min_sample_s`` seconds."""
    number = 1
    while number < max_number:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - t0 >= min_sample_s:
            return number
        number *= 2
    return max_number


def interleaved(fns: dict[str, Callable[[], object]], rounds: int, *, warmup: int = 1,
                numbers: dict[str, int] | None = None) -> dict[str, list[float]]:
    """Seconds per call of each function: ``rounds`` samples each, one of each per round.

    ``numbers`` gives the batch size per function (default 1); a sample is the batch's mean.
    """
    numbers = numbers or {}
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            n = numbers.get(name, 1)
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            out[name].append((time.perf_counter() - t0) / n)
    return out


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result) of one call."""
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


# --------------------------------------------------------------------------- formatting


def format_value(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "ms":
        if value >= 100:
            return f"{value:,.0f} ms"
        if value >= 1:
            return f"{value:.1f} ms"
        return f"{value:.3f} ms"
    if unit == "bytes":
        if value >= 1_000_000:
            return f"{value / 1_000_000:.2f} MB"
        if value >= 1_000:
            return f"{value / 1_000:.1f} kB"
        return f"{value:.0f} B"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:g} {unit}"


def format_ratio(ratio: float | None) -> str:
    if ratio is None or math.isnan(ratio):
        return "-"
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    if ratio >= 10:
        return f"{ratio:.1f}x"
    if ratio >= 0.1:
        return f"{ratio:.2f}x"
    return f"{ratio:.3f}x"


def format_budget(row: Row) -> str:
    if row.budget is None:
        return "-"
    if math.isnan(row.value):
        return "must run"
    if row.floor is not None:
        return f"<= {row.budget:g}x"
    return f"<= {format_value(row.budget, row.unit)}"


COLUMNS = ("measure", "value", "floor", "ratio", "budget", "verdict")


def table(rows: list[Row]) -> str:
    """The results as a fixed-width text table, one block per section."""
    cells = []
    for r in rows:
        floor = format_value(r.floor, r.unit) if r.floor is not None else "-"
        if r.floor is not None and r.floor_name:
            floor = f"{floor} ({r.floor_name})"
        cells.append((r.section, (r.measure, format_value(r.value, r.unit), floor, format_ratio(r.ratio),
                                  format_budget(r), r.verdict)))
    widths = [len(c) for c in COLUMNS]
    for _, row in cells:
        widths = [max(w, len(v)) for w, v in zip(widths, row)]

    def line(values) -> str:
        parts = []
        for i, (v, w) in enumerate(zip(values, widths)):
            parts.append(v.ljust(w) if i in (0, 2) else v.rjust(w))
        return "  ".join(parts).rstrip()

    out = [line(COLUMNS), line(["-" * w for w in widths])]
    section = None
    for sec, row in cells:
        if sec != section:
            out.append(f"[{sec}]")
            section = sec
        out.append(line(row))
    return "\n".join(out)


def exit_status(rows: list[Row]) -> int:
    """1 when any budget is exceeded, 0 otherwise."""
    return 1 if any(r.verdict == OVER for r in rows) else 0


def write_results(rows: list[Row], meta: dict, directory: Path) -> Path:
    """Write ``<directory>/bench-<UTC time>.json`` and a copy as ``latest.json``; return the first."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    doc = {"meta": meta, "rows": [r.as_dict() for r in rows], "exit_status": exit_status(rows)}
    text = json.dumps(doc, indent=2, default=str)
    path = directory / f"bench-{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (directory / "latest.json").write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the budget table

PAGE_SUFFIXES = (", warm", ", cold", ", bytes moved cold")


def _verdict_word(rows: list[Row]) -> str:
    if any(r.verdict == OVER for r in rows):
        return "FAIL"
    return "pass" if rows else "-"


def budget_table(rows: list[Row], pages_section: str, fifty_section: str | None = None) -> str:
    """One line per page (warm ratio, cold ratio, cold bytes, budget, pass/fail) and the fifty-person line.

    Page rows are those of ``pages_section`` named "<page>, warm", "<page>, cold" and "<page>, bytes
    moved cold"; the fifty-person line reads the rows of ``fifty_section``: failed requests and each
    page's p95 ratio (the worst is shown)."""
    by_page: dict[str, dict[str, Row]] = {}
    for r in rows:
        if r.section != pages_section:
            continue
        for suffix in PAGE_SUFFIXES:
            if r.measure.endswith(suffix):
                by_page.setdefault(r.measure[: -len(suffix)], {})[suffix] = r
    head = ("page", "warm", "cold", "cold bytes", "budget", "result")
    lines = []
    for page, got in by_page.items():
        w, c, b = (got.get(s) for s in PAGE_SUFFIXES)
        budget = (f"warm <= {w.budget:g}x, cold <= {c.budget:g}x, <= {format_value(b.budget, 'bytes')}"
                  if w and c and b else "-")
        lines.append((page, format_ratio(w.ratio) if w else "-", format_ratio(c.ratio) if c else "-",
                      format_value(b.value, "bytes") if b else "-", budget,
                      _verdict_word([x for x in (w, c, b) if x is not None])))
    if fifty_section is not None:
        fifty = [r for r in rows if r.section == fifty_section]
        failed = next((r for r in fifty if r.measure.startswith("failed requests")), None)
        ratios = [r for r in fifty if r.floor is not None]
        worst = max(ratios, key=lambda r: r.ratio if r.ratio is not None else float("inf"), default=None)
        if fifty:
            worst_text = f"p95 {format_ratio(worst.ratio)} (worst page)" if worst is not None else "-"
            lines.append(("50 people at once", worst_text, "",
                          f"{format_value(failed.value, 'count')} failed" if failed else "-",
                          f"0 failed, p95 <= {worst.budget:g}x" if worst is not None and worst.budget else "-",
                          _verdict_word([r for r in fifty if r.budget is not None])))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)] if lines else [len(h) for h in head]

    def fmt(values) -> str:
        return "  ".join(str(v).ljust(w) if i in (0, 4) else str(v).rjust(w)
                         for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(x) for x in lines])
