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

__all__ = ["SeriesFileError", "parse_period", "series_from_csv", "spc_from_csv", "format_table", "add_command",
           "cmd_spc"]

_EPOCH = dt.date(1899, 12, 30)  # spreadsheet serial dates, as the returns importer reads them
_FORMS = (
    "a date (2024-03-31 or 31/03/2024), a financial year (2023-24), a month (Mar 2024 or "
    "2024-03) or a quarter (2023-24 Q4)"
)


_VALUE_RULE = ("a number (1,234 allowed); leave it blank, or write a suppression symbol such as c, for a "
               "missing value")


class SeriesFileError(ValueError):
    """A ``period,value`` file that cannot be read: where (line, column), what (value) and which rule."""

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None,
                 value: str | None = None, rule: str = ""):
        self.line, self.column, self.value, self.rule, self.message = line, column, value, rule, message
        where = [f"line {line}"] if line is not None else []
        if column is not None:
            where.append(f"column {column!r}")
        if value is not None:
            where.append(f"value {value!r}")
        text = ", ".join(where) + (": " if where else "") + message
        if rule:
            text += f" (expected: {rule})"
        super().__init__(text)


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
        raise SeriesFileError("the file is empty", rule="a header row naming the columns 'period' and 'value'")
    missing = [name for name in ("period", "value") if name not in header]
    if missing:
        raise SeriesFileError(
            f"the header has no {' or '.join(repr(m) for m in missing)} column",
            line=line, column=", ".join(missing), value=",".join(rows[line - 1]),
            rule="a header row naming the columns 'period' and 'value', in any order",
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
            why = str(exc)
            why = why.split(": ", 1)[1] if why.startswith(repr(cell_p.strip()) + ": ") else why
            raise SeriesFileError(why.split("; write ")[0], line=n, column="period",
                                  value=cell_p.strip(), rule=_FORMS) from None
        try:
            value, _status = parse_published(cell_v)
        except ValueError:
            raise SeriesFileError("not a number", line=n, column="value", value=cell_v.strip(),
                                  rule=_VALUE_RULE) from None
        if period in found:
            raise SeriesFileError(
                f"period {period.isoformat()} is already on line {found[period][0]}",
                line=n, column="period", value=cell_p.strip(), rule="one row per period",
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


# ---------------------------------------------------------------------------------------------
# The command: python -m dashboard spc

SPC_DESCRIPTION = """\
Statistical process control (an XmR chart, NHS England's "Making Data Count" way; the rules are
in docs/spc.md): the mean, process limits (mean +/- 2.66 x the mean moving range) and near limits,
each point's class (common cause, improvement, concern, neither) and the rule that flagged it, the
variation icon (from the latest point) and the assurance icon (where the target sits against the
latest limits). Fewer than 12 points: trial limits, and the output says so.

Two forms:

  a metric of the dashboard, for one authority (the series the metric page's SPC chart shows;
  direction, target, fixed limits and change points from the metric registry's spc field):
    python -m dashboard spc --la 883 --metric rereferral_pct
    python -m dashboard spc --la 883 --metric training_compliance --agency NELFT --breakdown training_level=L1

  any series, from a CSV file with the columns period,value (periods in any form a return
  accepts: 2024-03-31, 31/03/2024, 2023-24, Mar 2024, 2024-03, 2023-24 Q4; a blank value or a
  suppression symbol such as c is missing and skipped):
    python -m dashboard spc --file series.csv --direction decrease --target 20 --format json

JSON: {"mean", "lower_limit", "upper_limit", "near_lower", "near_upper", "trial", "variation",
"assurance", ..., "points": [{"period", "value", "group", "point_type", "rule", "signal"}],
"limit_groups": [...]} with the top-level lines those of the last limit group.
Exit status: 0 done; 1 a file or option that cannot be used (the message names the file, line,
column, value and the rule); 2 a file that cannot be read.
"""


def add_command(sub) -> None:
    """Add ``spc`` to the command line's subcommands."""
    import argparse

    s = sub.add_parser("spc", help="SPC (XmR, Making Data Count) of a metric or of any period,value series",
                       description=SPC_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    m = s.add_argument_group("a metric of the dashboard")
    m.add_argument("--la", dest="area", default=None, metavar="CODE",
                   help="DfE (e.g. 883) or GSS (e.g. E06000034) code; default DASHBOARD_LA")
    m.add_argument("--metric", default=None, metavar="ID", help="a metric id from the registry (data/metrics.yaml)")
    m.add_argument("--agency", default=None, metavar="A", help="the agency's cell of the metric (e.g. NELFT)")
    m.add_argument("--breakdown", default=None, metavar="KEY=VALUE",
                   help="the breakdown cell of the metric, e.g. training_level=L1 or category_of_abuse=NEG")
    f = s.add_argument_group("any series, from a file")
    f.add_argument("--file", default=None, metavar="SERIES.csv",
                   help="a CSV with a header naming the columns period and value (other columns are ignored)")
    f.add_argument("--direction", choices=["increase", "decrease", "neutral"], default=None,
                   help="which way is better: increase (higher is better), decrease (lower is better) or neutral; "
                        "required with --file")
    f.add_argument("--target", type=float, default=None, metavar="X",
                   help="the target, for the assurance icon (not for neutral measures)")
    o = s.add_argument_group("limits (either form)")
    o.add_argument("--fix-after", type=int, default=None, metavar="N",
                   help="fix each limit group's mean and limits on its first N points (N at least 12); for a "
                        "metric, in place of the registry's spc.fix_after")
    o.add_argument("--rebase-at", nargs="+", action="extend", default=[], metavar="PERIOD",
                   help="start new limits at these periods (a new service, a change of definition); each must be "
                        "one of the series' periods, written in any form a return accepts; for a metric, as well as "
                        "the change points the registry records (spc.change_points)")
    o.add_argument("--no-screen-outliers", action="store_true",
                   help="do not screen moving ranges of 3.267 x the mean moving range or more out of the limits")
    s.add_argument("--format", choices=["table", "json"], default="table")
    s.set_defaults(func=cmd_spc)


def _fail(message: str, code: int = 1):
    import sys

    print(f"error: {message}", file=sys.stderr)
    return code


def _options(args) -> dict:
    return {"fix_after": args.fix_after, "screen_outliers": not args.no_screen_outliers}


def _rebase(args) -> list[dt.date]:
    out = []
    for r in args.rebase_at:
        try:
            out.append(parse_period(r))
        except ValueError as exc:
            raise SeriesFileError(f"--rebase-at {exc}", rule=_FORMS) from None
    return out


def _print(result: SpcResult, args, extra: dict, heading: list[str], labels: dict | None = None) -> None:
    import json
    import sys

    from .spc_view import spc_json

    if args.format == "json":
        out = spc_json(result)
        if labels:  # the period as the dashboard names it, beside its end date
            for p, point in zip(result.points, out["points"]):
                point["period_label"] = labels.get(p.period)
        json.dump({**extra, **out}, sys.stdout, indent=2, default=str)
        print()
    else:
        sys.stdout.write("\n".join(heading) + ("\n" if heading else "") + format_table(result))


def _cmd_file(args) -> int:
    if args.metric or args.agency or args.breakdown or args.area:
        return _fail("--file reads a series from a file: --la, --metric, --agency and --breakdown are for a "
                     "metric of the dashboard, not with --file")
    if args.direction is None:
        return _fail("--file needs --direction increase, decrease or neutral (which way is better)")
    try:
        with open(args.file, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except OSError as exc:
        return _fail(f"{args.file}: cannot be read ({exc.strerror})", 2)
    except UnicodeDecodeError:
        return _fail(f"{args.file}: not a text file in UTF-8 (save it as CSV UTF-8)", 1)
    try:
        rebase = _rebase(args)
        result = spc_from_csv(text, direction=args.direction, target=args.target, rebase_at=rebase,
                              **_options(args))
    except SeriesFileError as exc:
        return _fail(f"{args.file}, {exc}" if exc.line is not None or exc.column else f"{args.file}: {exc}")
    except ValueError as exc:
        return _fail(f"{args.file}: {exc}")
    _print(result, args, {"file": args.file}, [f"File: {args.file}"])
    return 0


def _cmd_metric(args) -> int:
    import shlex

    from .analysis.series import cell_series, headline_cell
    from .config import load_settings
    from .data import get_manager
    from .state import ViewState
    from .analysis.spc import metric_options
    from .spc_view import limits_words
    from .views import make_context, series_spc

    if args.direction is not None or args.target is not None:
        return _fail("--direction and --target are for --file; a metric's come from the registry")
    settings = load_settings()
    mgr = get_manager()
    snap = mgr.snapshot()
    la = args.area or settings.la_code
    area = snap.area(la)
    if area is None or area["level"] != "la":
        return _fail(f"--la {la!r} is not an English local authority code (try `python -m dashboard areas`)")
    metric = mgr.registry.get(args.metric)
    if metric is None:
        return _fail(f"--metric {args.metric!r} is not a metric id in the registry (data/metrics.yaml)")
    ctx = make_context(snap, mgr.registry, ViewState(la=area["code"], sn=settings.sn_model), settings.la_code,
                       framework=settings.framework)
    metric = ctx.registry.metric(metric.id)  # with the framework's local targets
    rows = ctx.rows(metric.id)
    if rows.empty:
        return _fail(f"no data for {metric.id} in {area['name']}")
    cells = sorted({(a, b, v) for a, b, v in zip(rows["agency"], rows["breakdown"], rows["breakdown_value"])})
    if args.agency is None and args.breakdown is None:
        a, b, v, _why = headline_cell(metric, rows)
        cell = (a, b, v)
    else:
        key, sep, value = (args.breakdown or "").partition("=")
        if args.breakdown is not None and (not sep or not key or not value):
            return _fail(f"--breakdown {args.breakdown!r}: write KEY=VALUE, e.g. training_level=L1")
        cell = (args.agency or "", key, value)
        if cell not in cells:
            listed = "; ".join(" ".join(x for x in (f"--agency {shlex.quote(c[0])}" if c[0] else "",
                                                    f"--breakdown {c[1]}={c[2]}" if c[1] else "") if x)
                               or "(the whole authority: neither option)" for c in cells[:30])
            asked = " and ".join(x for x in (f"--agency {args.agency}" if args.agency else "",
                                             f"--breakdown {args.breakdown}" if args.breakdown else "") if x)
            return _fail(f"{metric.id} has no cell for {area['name']} with {asked}; it has: {listed}")
    series = cell_series(rows, *cell)
    target = metric.target_for(series["period_end"].iloc[-1], cell[0] or None) if not series.empty else None
    try:
        result = series_spc(metric, series, target.value if target else None, rebase_at=_rebase(args),
                            **_options(args))
    except ValueError as exc:
        return _fail(str(exc))
    if result is None:
        return _fail(f"{metric.id} for {area['name']} has fewer than 2 values: SPC needs at least 2")
    labels = dict(zip(series["period_end"], series["period_label"]))
    options = metric_options(metric, sorted(series["period_end"]))
    extra = {"metric": metric.id, "title": metric.title,
             # the registry's limits (data/metrics.yaml, spc): each change point and the period it rebases at
             "registry_fix_after": metric.spc.fix_after,
             "change_points": [{"period": cp.period.isoformat(), "reason": cp.reason,
                                "rebased_at": next((r.period.isoformat() for r in options.rebases
                                                    if r.recorded == cp.period), None)}
                               for cp in metric.spc.change_points],
             "area": {"code": area["code"], "old_code": area["old_code"], "name": area["name"]},
             "agency": cell[0] or None, "breakdown": f"{cell[1]}={cell[2]}" if cell[1] else None,
             "data_version": snap.version_id,
             "illustrative": bool(series["illustrative"].any())}
    heading = [f"{metric.title} ({metric.id}): {area['name']} ({area['old_code']}, {area['code']})"
               + (f", {cell[0]}" if cell[0] else "") + (f", {cell[1]}={cell[2]}" if cell[1] else "")
               + f" - data version {snap.version_id}"]
    if extra["illustrative"]:
        heading.append("Illustrative: some values are generated examples, not real figures.")
    heading += limits_words(metric, result, labels, options)
    _print(result, args, extra, heading, labels)
    return 0


def cmd_spc(args) -> int:
    if args.file is not None:
        return _cmd_file(args)
    if args.metric is None:
        return _fail("give --metric ID (with --la CODE) for a metric of the dashboard, or --file SERIES.csv "
                     "--direction D for any series; see `python -m dashboard spc --help`")
    return _cmd_metric(args)
