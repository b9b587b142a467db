"""Speed benchmarks for the dashboard: ``python -m benchmarks`` (or ``make bench``).

Rules:
- Speed is judged by ratios, never by absolute times: every measure is divided by a floor
  measured in the same run on the same machine (a trivial Dash callback, a ``go.Figure``
  build, a static page of Plotly charts), so a slow or busy machine moves both sides and
  leaves the verdict alone. Milliseconds are printed beside the ratios for reading only.
- Each value is the median of repeated runs taken after a warm-up; measures that are compared
  are interleaved round by round so that background load falls on both sides.
- The run prints a table (measure, value, floor, ratio, budget, verdict), writes the same rows
  with their raw samples to ``benchmarks/results/`` (JSON, not committed) and exits with status
  1 when any budget is exceeded, 0 otherwise.

Modules: ``core`` (timing, verdicts, table; no Dash import), ``setup`` (a throw-away built
instance), ``bench_figures``, ``bench_server``, ``bench_browser``, ``floor_app`` (the static
12-chart floor page for the browser).
"""
