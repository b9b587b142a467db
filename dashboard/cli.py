"""Command line: ``python -m dashboard --help``."""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys

from .config import load_settings

EPILOG = """\
Environment: DATABASE_URL (default: SQLite in instance/dashboard.db), DASHBOARD_LA (default 883,
Thurrock), DASHBOARD_SN_MODEL (2021 or 2025), DASHBOARD_DATA_DIR (default: data/).
"""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD") from None


def cmd_build(args) -> int:
    from .build import build

    res = build(load_settings(), if_stale=args.if_stale)
    if res.built:
        print(f"Built data version {res.version_id}: {res.rows:,} observations, {res.warnings} data-quality "
              f"warnings, in {res.seconds:.1f} s.")
    else:
        print(f"Database is up to date (data version {res.version_id}); nothing to do.")
    return 0


def _scorecard_rows(la: str, as_of: dt.date | None):
    from .analysis.scorecard import build_scorecard
    from .data import get_manager

    mgr = get_manager()
    snap = mgr.snapshot()
    area = snap.area(la)
    if area is None or area["level"] != "la":
        raise SystemExit(f"error: --la {la!r} is not an English local authority code (try `python -m dashboard areas`)")
    return area, build_scorecard(mgr.registry, snap.rows, area["code"], as_of), snap


FIELDS = ["metric_id", "title", "period", "value", "numerator", "denominator", "target", "rag"]


def cmd_scorecard(args) -> int:
    from .formatting import number

    area, rows, snap = _scorecard_rows(args.la, args.as_of)
    records = [r.as_record() for r in rows]
    if args.format == "json":
        json.dump({"area": {"code": area["code"], "old_code": area["old_code"], "name": area["name"]},
                   "as_of": args.as_of.isoformat() if args.as_of else None, "data_version": snap.version_id,
                   "metrics": records}, sys.stdout, indent=2, default=str)
        print()
    elif args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=list(records[0].keys()) if records else FIELDS)
        w.writeheader()
        w.writerows(records)
    else:
        print(f"{area['name']} ({area['old_code']}, {area['code']}) - data version {snap.version_id}"
              + (f" - as of {args.as_of.isoformat()}" if args.as_of else ""))
        table = [["id", "title", "period", "value", "numerator", "denominator", "target", "RAG"]]
        for r in rows:
            val = r.status_symbol if r.value is None and r.status_symbol else number(r.value, _dec(r.metric_id))
            table.append([r.metric_id, r.short_title, r.period_label or "-", val or "-",
                          number(r.numerator, 0) or "-", number(r.denominator, 0) or "-",
                          ("" if r.target is None else f"{r.target:g}") + ("*" if r.target_illustrative else "") or "-",
                          r.rag.label])
        widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
        for i, row in enumerate(table):
            print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
            if i == 0:
                print("  ".join("-" * w for w in widths))
        if any(r.target_illustrative for r in rows):
            print("* illustrative target (an example, not one set by the partnership)")
    return 0


def _dec(metric_id: str) -> int:
    from .registry import get_registry

    return get_registry(load_settings().registry_path).metric(metric_id).decimals


def cmd_areas(args) -> int:
    from .data import get_manager

    snap = get_manager().snapshot()
    for a in snap.local_authorities():
        region = snap.area(a["region_code"])["name"] if a.get("region_code") and snap.area(a["region_code"]) else ""
        print(f"{a['old_code'] or '-':>4}  {a['code']}  {a['name']}  ({region})")
    return 0


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dashboard",
        description="Safeguarding performance dashboard: build the store and read the scorecard.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser("build", help="create or refresh the database from data/",
                       description="Create or refresh the database from the files in data/ (DfE published "
                                   "statistics, local returns, the metric registry), in one transaction.")
    b.add_argument("--if-stale", action="store_true", help="do nothing when the database already matches data/")
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("scorecard", help="print the scorecard for an authority",
                       description="Per metric: id, title, period, value, numerator, denominator, target and RAG "
                                   "status - the same figures the screens show.")
    s.add_argument("--la", default=None, help="DfE (e.g. 883) or GSS (e.g. E06000034) code; default DASHBOARD_LA")
    s.add_argument("--as-of", type=_date, default=None, metavar="DATE",
                   help="use each metric's latest period ending on or before DATE (YYYY-MM-DD)")
    s.add_argument("--format", choices=["table", "csv", "json"], default="table")
    s.set_defaults(func=cmd_scorecard)

    a = sub.add_parser("areas", help="list the local authorities and their codes")
    a.set_defaults(func=cmd_areas)
    return p


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    if getattr(args, "la", "x") is None:
        args.la = load_settings().la_code
    try:
        return args.func(args)
    except BrokenPipeError:
        return 0
