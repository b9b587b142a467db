"""Run the speed benchmarks: ``python -m benchmarks [--quick] [--only pages,fifty,pack,figures,server,browser]``.

By default the page budgets (``bench_pages``), fifty people at once (``bench_fifty``) and the meeting
pack (``bench_pack``); prints the
results table and, last, the budget table (page, warm ratio, cold ratio, cold bytes, budget, result;
the fifty-person line), writes ``benchmarks/results/bench-<time>.json`` (and ``latest.json``)
and exits 1 when a budget is exceeded, 0 otherwise. A section that cannot run on this machine
(no Chromium) is reported as SKIPPED and does not change the exit status.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import traceback
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from dashboard.config import ROOT

from . import core

SECTIONS = ("pages", "fifty", "pack", "figures", "server", "browser")
DEFAULT_SECTIONS = ("pages", "fifty", "pack")
RESULTS_DIR = ROOT / "benchmarks" / "results"

# Repetitions: (full, --quick).
REPS = {
    "figure_rounds": (15, 5),  # interleaved samples of each figure build
    "server_rounds": (10, 5),  # warm requests per page (and floor samples)
    "cold_cycles": (2, 1),  # new data versions, each: first request + first render of each page
    "browser_reps": (3, 1),  # cold loads per page, each in a new browser
    "warm_reloads": (1, 2),  # reloads after each cold load (warm samples: browser_reps x this)
    "page_reps": (5, 1),  # cold loads of each page and of its static copy, each in a new browser
    "page_reloads": (4, 2),  # warm reloads after each cold load (20 warm samples a side: a warm load is 20-250 ms)
    "fifty_cycles": (2, 1),  # times each of the fifty opens the four pages
    "single_rounds": (3, 2),  # one person alone, before and after the crowd (each: the four pages)
    "pack_rounds": (3, 1),  # meeting packs built (PDF and XLSX), each beside its floor
}


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("dash", "plotly", "pandas", "flask", "gunicorn", "selenium"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    try:
        out["chromium"] = subprocess.run(["chromium", "--version"], capture_output=True, text=True,
                                         timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out["chromium"] = "not found"
    return out


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run; noisier medians)")
    ap.add_argument("--only", default=",".join(DEFAULT_SECTIONS),
                    help=f"comma-separated sections to run, of {', '.join(SECTIONS)} "
                         f"(default: {','.join(DEFAULT_SECTIONS)})")
    ap.add_argument("--results", type=Path, default=RESULTS_DIR, help="folder for the JSON results")
    args = ap.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    reps = {k: v[1] if args.quick else v[0] for k, v in REPS.items()}

    t_start = time.perf_counter()
    load_before = os.getloadavg()
    print(f"Benchmarks ({'quick' if args.quick else 'full'}), {os.cpu_count()} CPUs, "
          f"load average {load_before[0]:.2f}. Building the data into a temporary instance...", flush=True)
    from .instance import build_instance

    inst = build_instance()
    rows: list[core.Row] = []
    skipped: list[str] = []
    timings: dict[str, float] = {"build": round(inst.build_seconds, 2)}
    checks = None

    def section(name: str, title: str, fn) -> None:
        """Run one section; an exception becomes a failed row, and the other sections still run."""
        print(title, flush=True)
        t0 = time.perf_counter()
        try:
            rows.extend(fn())
        except Exception as exc:  # noqa: BLE001 - reported in the table and the exit status
            traceback.print_exc()
            first_line = (str(exc).splitlines() or [""])[0][:150]
            rows.append(core.Row(title.rstrip(". "), f"ERROR: {type(exc).__name__}: {first_line}", float("nan"), "ms",
                                 budget=0.0, note=traceback.format_exc()[-4000:]))
        timings[name] = round(time.perf_counter() - t0, 1)

    def server_rows():
        nonlocal checks
        out, checks = bench_server.run(inst, reps["server_rounds"], reps["cold_cycles"])
        return out

    def browser_rows():
        return bench_browser.run(inst, checks or bench_server.page_checks(inst), reps["browser_reps"],
                                 reps["warm_reloads"])

    extra: dict = {}

    def page_rows():
        out, extra["pages"] = bench_pages.run(inst, reps["page_reps"], reps["page_reloads"])
        return out

    def fifty_rows():
        out, extra["fifty"] = bench_fifty.run(inst, reps["fifty_cycles"], reps["single_rounds"])
        return out

    try:
        from . import bench_browser, bench_fifty, bench_figures, bench_pack, bench_pages, bench_server

        browser_missing = bench_browser.missing_executables()
        if "pages" in only:
            if browser_missing:
                skipped.append(f"pages: {' and '.join(browser_missing)} not on PATH")
            else:
                section("pages", "Page budgets (each page against itself as static HTML) ...", page_rows)
        if "fifty" in only:
            if browser_missing:
                skipped.append(f"fifty: {' and '.join(browser_missing)} not on PATH (the requests are recorded "
                               "in Chromium)")
            else:
                section("fifty", "Fifty people at once ...", fifty_rows)
        if "pack" in only:
            if browser_missing:
                skipped.append(f"pack: {' and '.join(browser_missing)} not on PATH (Chromium prints the PDF)")
            else:
                section("pack", "Meeting pack for the full scorecard ...",
                        lambda: bench_pack.run(inst, reps["pack_rounds"]))
        if "figures" in only:
            section("figures", "1. figure build ...", lambda: bench_figures.run(inst, reps["figure_rounds"]))
        if "server" in only:
            section("server", "2. server callbacks (warm, then cold) ...", server_rows)
        if "browser" in only:
            missing = bench_browser.missing_executables()
            if missing:
                skipped.append(f"browser: {' and '.join(missing)} not on PATH (Debian: apt-get install chromium "
                               "chromium-driver)")
            else:
                section("browser", "3. browser (gunicorn + headless Chromium) ...", browser_rows)
    finally:
        inst.close()

    timings["total"] = round(time.perf_counter() - t_start, 1)
    meta = {"mode": "quick" if args.quick else "full", "sections": only, "repetitions": reps,
            "cpus": os.cpu_count(), "platform": platform.platform(), "load_average_before": load_before,
            "load_average_after": os.getloadavg(), "versions": _versions(), "commit": _commit(),
            "seconds": timings, "skipped": skipped, "extra": extra}
    print()
    print(core.table(rows))
    if {"pages", "fifty"} & set(only):
        from . import bench_fifty, bench_pages

        print(f"\nBudget table ({os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, "
              f"{os.getloadavg()[0]:.2f} after; commit {meta['commit']}):\n")
        print(core.budget_table(rows, bench_pages.SECTION, bench_fifty.SECTION))
    for s in skipped:
        print(f"SKIPPED: {s}")
    path = core.write_results(rows, meta, args.results)
    over = [r for r in rows if r.verdict == core.OVER]
    print(f"\nTook {timings['total']:.0f} s (load average now {meta['load_average_after'][0]:.2f}). "
          f"Results: {path}")
    if over:
        print(f"{len(over)} budget(s) exceeded:")
        for r in over:
            got = core.format_ratio(r.ratio) if r.floor else core.format_value(r.value, r.unit)
            print(f"  - {r.section} / {r.measure}: {got} against {core.format_budget(r)}")
    else:
        print("All budgets met.")
    return core.exit_status(rows)


if __name__ == "__main__":
    sys.exit(main())
