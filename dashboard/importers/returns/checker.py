"""The :class:`_Checker` of one file: it collects the problems and answers the registry look-ups
(metrics, areas, agencies, breakdowns) with suggestions for near misses.
"""
from __future__ import annotations

import datetime as dt
import difflib
import re

from ...registry import Metric, Registry
from .columns import _did_you_mean, _norm_label
from .problems import Problem, _shown
from .values import _whole_parts


class _Checker:
    """Holds the registry look-ups and collects problems for one file."""

    def __init__(self, filename: str, registry: Registry, area_codes: dict[str, str], default_area: str | None,
                 today: dt.date | None = None, area_names: dict[str, str] | None = None):
        self.file = filename
        self.today = today or dt.date.today()
        # an area's name (any case) -> its code as an analyst writes it ("thurrock" -> ("883", "Thurrock"))
        self.area_names = {_norm_label(str(k)): (str(v), str(k)) for k, v in (area_names or {}).items()}
        self.registry = registry
        self.metrics: dict[str, Metric] = {m.id: m for m in registry.metrics}
        self.metrics_lower = {m.id.lower(): m for m in registry.metrics}
        self.whole_parts = {m.id: _whole_parts(m) for m in registry.metrics}
        self.area_codes = {str(k).strip().upper(): v for k, v in area_codes.items()}
        self.default_area = default_area
        self.problems: list[Problem] = []
        self.error_count = 0
        self._suggestions: dict[str, str | None] = {}
        self._agencies: dict[tuple[str, str], str | None] = {}
        self.rows: list[dict] = []
        self.targets: list[dict] = []
        self.seen: dict[tuple, tuple[str | None, int]] = {}
        # (metric, area, period end, agency) of rows refused: their breakdowns cannot be added up
        self.refused_cells: set[tuple] = set()
        self.rows_read = 0  # data rows under a header, whether they passed or not
        self.targets_read = 0

    # -- problems --------------------------------------------------------------------------
    def add(self, code: str, rule: str, *, sheet: str | None = None, row: int | None = None, column: str | None = None,
            value: str = "", severity: str = "error", suggestion: str | None = None) -> None:
        self.problems.append(Problem(self.file, sheet, row, column, _shown(value or ""), rule, severity, suggestion,
                                     code))
        if severity == "error":
            self.error_count += 1

    def truncate(self, n: int) -> None:
        """Drop the problems after the first ``n`` (those of a row whose check failed part-way)."""
        del self.problems[n:]
        self.error_count = sum(1 for p in self.problems if p.severity == "error")

    # -- look-ups --------------------------------------------------------------------------
    def metric(self, text: str) -> Metric | None:
        return self.metrics.get(text) or self.metrics_lower.get(text.lower())

    def metric_suggestion(self, text: str) -> str | None:
        if text not in self._suggestions:
            self._suggestions[text] = self._metric_suggestion(text)
        return self._suggestions[text]

    def _metric_suggestion(self, text: str) -> str | None:
        names: dict[str, str] = {}
        for m in self.registry.metrics:
            names[m.id] = m.id
            names.setdefault(m.short_title.lower(), m.id)
            names.setdefault(m.title.lower(), m.id)
        close = difflib.get_close_matches(text.lower(), list(names), n=4, cutoff=0.6)
        ids = list(dict.fromkeys(names[c] for c in close))[:2]
        return _did_you_mean(ids)

    def area(self, text: str) -> str | None:
        """The GSS code for a DfE or GSS code as written (any case; "883.0" from a spreadsheet is 883)."""
        key = text.strip().upper()
        if re.fullmatch(r"\d+\.0+", key):
            key = key.split(".")[0]
        return self.area_codes.get(key)

    def area_suggestion(self, text: str) -> str | None:
        """"did you mean 883 (Thurrock)?" for an area written as its name (or nearly), when names are known."""
        if not self.area_names:
            return None
        key = _norm_label(text)
        hits = [key] if key in self.area_names else difflib.get_close_matches(key, list(self.area_names), n=2,
                                                                               cutoff=0.8)
        if not hits:
            return None
        return "did you mean " + " or ".join(f"{self.area_names[h][0]} ({self.area_names[h][1]})" for h in hits) + "?"

    def agency(self, metric: Metric, text: str) -> str | None:
        """The metric's own spelling of an agency it lists, matched ignoring case and spacing."""
        key = (metric.id, text)
        if key not in self._agencies:
            t = _norm_label(text)
            self._agencies[key] = next((a for a in metric.agencies if _norm_label(a) == t), None)
        return self._agencies[key]

    def breakdown_value(self, dimension: str, text: str) -> str | None:
        values = self.registry.breakdowns[dimension].values
        t = _norm_label(text)
        for code, label in values.items():
            if t in (_norm_label(code), _norm_label(label)):
                return code
        return None

    def breakdown_dimension(self, text: str) -> str | None:
        t = _norm_label(text)
        for key, b in self.registry.breakdowns.items():
            if t in (_norm_label(key), _norm_label(b.title), _norm_label(key.replace("_", " "))):
                return key
        return None
