"""Helpers for ``python -m dashboard spc --file SERIES.csv ...``: read a series, print a table.

Pure functions, no Dash: the command-line wiring calls them.

* :func:`series_from_csv` reads a ``period,value`` CSV (a header row naming the two columns,
  in any case and order; other columns are ignored). Periods are read as the returns
  importer reads them: a date (``2024-03-31`` or ``31/03/2024``), a financial year
  (``2023-24``, the year to 31 March 2024), a month (``Mar 2024`` or ``2024-03``, its last
  day) or a financial quarter (``2023-24 Q4``). Values are numbers (``1,234`` allowed); an
  empty cell or a suppression symbol (``c``, ``x``, ``z`` ...) is a missing value, which SPC
  skips. Rows are returned sorted by period end; two rows for the same period are an error.
* :func:`parse_period` reads one period the same way (for ``--rebase-at``).
* :func:`spc_from_csv` does both and runs :func:`dashboard.analysis.spc.spc`.
* :func:`format_table` prints a result as plain text: the latest limits, the icons in words,
  each limit group, then one row per point.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence

from .analysis.rates import parse_published
from .analysis.spc import POINT_TYPE_WORDS, RULE_WORDS, SpcResult, spc
from .importers.returns import parse_period_text

__all__ = ["parse_period", "series_from_csv", "spc_from_csv", "format_table"]

_EPOCH = dt.date(1899, 12, 30)  # spreadsheet serial dates, as the returns importer reads them
_FORMS = (
    "a date (2024-03-31 or 31/03/2024), a financial year (2023-24), a month (Mar 2024 or "
    "2024-03) or a quarter (2023-24 Q4)"
)


def parse_period(text: str) -> dt.date:
    """The end date of a period written as the returns accept it; ``ValueError`` if unreadable."""
    if not isinstance(text, str):
        raise ValueError(f"not a period: {text!r}")
    cleaned = " ".join(text.strip().lower().split())
    if not cleaned:
        raise ValueError("empty period")
    try:
        readings, why = parse_period_text(cleaned, _EPOCH)
    except (ValueError, OverflowError):
        readings, why = [], f"not a real date; write {_FORMS}"
    if not readings:
        raise ValueError(f"{text.strip()!r}: {why}")
    first = readings[0]
    if first.end is None:  # a bare year: 31 March or 30 September depends on the metric
        raise ValueError(
            f"{text.strip()!r}: a year on its own is ambiguous here; write {_FORMS}"
        )
    return first.end


def series_from_csv(text: str) -> tuple[list[dt.date], list[float | None]]:
    """``(periods, values)`` from a ``period,value`` CSV, in time order."""
    if text.startswith("\ufeff"):
        text = text[1:]
    rows = list(csv.reader(io.StringIO(text)))
    line = 0
    header: list[str] | None = None
    for line, row in enumerate(rows, start=1):  # noqa: B007 - the header's line is used after the loop
        if any(cell.strip() for cell in row):
            header = [cell.strip().lower() for cell in row]
            break
    if header is None:
        raise ValueError("the file is empty: expected a header row 'period,value'")
    missing = [name for name in ("period", "value") if name not in header]
    if missing:
        raise ValueError(
            f"line {line}: the header must name the columns 'period' and 'value' "
            f"(missing: {', '.join(missing)})"
        )
    ip, iv = header.index("period"), header.index("value")
    found: dict[dt.date, tuple[int, float | None]] = {}
    for n, row in enumerate(rows[line:], start=line + 1):
        if not any(cell.strip() for cell in row):
            continue
        cell_p = row[ip] if ip < len(row) else ""
        cell_v = row[iv] if iv < len(row) else ""
        try:
            period = parse_period(cell_p)
        except ValueError as exc:
            raise ValueError(f"line {n}: period {exc}") from None
        try:
            value, _status = parse_published(cell_v)
        except ValueError:
            raise ValueError(f"line {n}: value {cell_v.strip()!r} is not a number") from None
        if period in found:
            raise ValueError(
                f"line {n}: period {cell_p.strip()!r} ({period.isoformat()}) is already on "
                f"line {found[period][0]}"
            )
        found[period] = (n, value)
    periods = sorted(found)
    return periods, [found[p][1] for p in periods]


def spc_from_csv(
    text: str,
    *,
    direction: str = "neutral",
    target: float | None = None,
    fix_after: int | None = None,
    rebase_at: Iterable[str] = (),
    screen_outliers: bool = True,
) -> SpcResult:
    """Read the CSV, read each ``rebase_at`` period the same way, and run SPC."""
    periods, values = series_from_csv(text)
    rebase = []
    for r in rebase_at:
        try:
            rebase.append(parse_period(r) if isinstance(r, str) else r)
        except ValueError as exc:
            raise ValueError(f"rebase period {exc}") from None
    return spc(
        values,
        periods,
        direction=direction,
        target=target,
        fix_after=fix_after,
        rebase_at=rebase,
        screen_outliers=screen_outliers,
    )


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if x == 0 or abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.3g}"


def _period(p: object) -> str:
    return p.isoformat() if isinstance(p, (dt.date, dt.datetime)) else str(p)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]

    def fmt(row: Sequence[str]) -> str:
        cells = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(row, widths))
        ]
        return "  ".join(cells).rstrip()

    return [fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]


def format_table(result: SpcResult) -> str:
    """The result as plain text for a terminal."""
    lines: list[str] = []
    g = result.last_group
    lines.append(f"SPC (XmR, Making Data Count): direction {result.direction}"
                 + (f", target {_num(result.target)}" if result.target is not None else ""))
    if g is None:
        lines.append("No data.")
        return "\n".join(lines) + "\n"
    lines.append(
        f"Latest limits: mean {_num(g.mean)}, lower {_num(g.lower_limit)}, "
        f"upper {_num(g.upper_limit)} (near {_num(g.near_lower)} .. {_num(g.near_upper)})"
    )
    lines.append(f"  {g.label}")
    lines.append(f"Variation: {result.variation.words if result.variation else '-'}")
    lines.append(
        "Assurance: "
        + (result.assurance.words if result.assurance else "none (no target, a neutral "
           "measure, or no limits)")
    )
    screening = "on" if result.screen_outliers else "off"
    lines.append(
        f"Screening of large moving ranges: {screening}"
        + (f"; limits fixed after {result.fix_after} points" if result.fix_after else "")
    )
    if result.skipped:
        lines.append("Missing values skipped: " + ", ".join(_period(p) for p in result.skipped))
    lines.append("")
    lines.append("Limit groups")
    lines.extend(
        _table(
            ["group", "from", "to", "points", "mean", "lower", "upper", "trial"],
            [
                [
                    str(x.index + 1),
                    _period(x.start_period),
                    _period(x.end_period),
                    str(x.n_points),
                    _num(x.mean),
                    _num(x.lower_limit),
                    _num(x.upper_limit),
                    "trial" if x.trial else "",
                ]
                for x in result.groups
            ],
            right={0, 3, 4, 5, 6},
        )
    )
    lines.append("")
    lines.append("Points")
    lines.extend(
        _table(
            ["period", "value", "group", "class", "rule"],
            [
                [
                    _period(p.period),
                    _num(p.value),
                    str(p.group + 1),
                    POINT_TYPE_WORDS[p.point_type].split(": ", 1)[-1]
                    if p.point_type != "common_cause"
                    else "common cause",
                    "" if p.rule is None
                    else f"{'high' if p.signal == 'high' else 'low'}: {RULE_WORDS[p.rule]}",
                ]
                for p in result.points
            ],
            right={1, 2},
        )
    )
    return "\n".join(lines) + "\n"
