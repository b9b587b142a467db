"""The metric registry: one human-editable YAML file that drives the whole product.

``data/metrics.yaml`` names every metric with its definition, unit, polarity, period type,
source, targets (which may change over time) and tolerances. It is validated on load with
pydantic; a mistake is reported with the metric id and the field, never half-loaded.

Nothing else in the code repeats a metric's title, unit or polarity: it asks the registry.
"""
from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class Unit(str, Enum):
    COUNT = "count"
    PERCENT = "percent"
    RATE_PER_10000 = "rate_per_10000"
    DAYS = "days"
    CASES_PER_FTE = "cases_per_fte"
    FTE = "fte"  # full-time equivalent staff: not a count of children, and may have a fraction


class Polarity(str, Enum):
    HIGHER_BETTER = "higher_better"
    LOWER_BETTER = "lower_better"
    NEUTRAL = "neutral"


class PeriodType(str, Enum):
    YEAR_TO_31_MARCH = "year_to_31_march"
    SNAPSHOT_31_MARCH = "snapshot_31_march"
    SNAPSHOT_30_SEPTEMBER = "snapshot_30_september"
    YEAR_TO_30_SEPTEMBER = "year_to_30_september"
    MONTH = "month"
    QUARTER = "quarter"


UNIT_SUFFIX = {
    Unit.COUNT: "",
    Unit.PERCENT: "%",
    Unit.RATE_PER_10000: " per 10,000",
    Unit.DAYS: " days",
    Unit.CASES_PER_FTE: " cases per FTE",
    Unit.FTE: " FTE",
}

def is_period_end(period_type: "PeriodType | str", d: dt.date) -> bool:
    """True when ``d`` is a period end a metric of ``period_type`` can have: 31 March for the
    31 March types, 30 September for the 30 September ones, a month's last day for monthly
    metrics, and 30 June, 30 September, 31 December or 31 March for financial quarters."""
    pt = PeriodType(period_type)
    if pt in (PeriodType.YEAR_TO_31_MARCH, PeriodType.SNAPSHOT_31_MARCH):
        return (d.month, d.day) == (3, 31)
    if pt in (PeriodType.SNAPSHOT_30_SEPTEMBER, PeriodType.YEAR_TO_30_SEPTEMBER):
        return (d.month, d.day) == (9, 30)
    month_end = (d + dt.timedelta(days=1)).day == 1
    if pt is PeriodType.MONTH:
        return month_end
    return month_end and d.month in (3, 6, 9, 12)  # quarter


POLARITY_WORDS = {
    Polarity.HIGHER_BETTER: "Higher is better",
    Polarity.LOWER_BETTER: "Lower is better",
    Polarity.NEUTRAL: "Neutral: neither higher nor lower is better in itself",
}


_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w,]*\d)")
_YEARS = re.compile(r"\b(19|20)\d{2}(-\d{2})?\b|\b\d{1,2} (January|February|March|April|May|June|July|August|"
                    r"September|October|November|December)\b")


def derivable_small_numbers(text: str) -> list[str]:
    """Figures in ``text`` that give away a number from 1 to 5: the number itself ("about 3
    children", "1% unborn") or the difference of two whole numbers quoted together ("sum to 289,
    not 294"). Years ("2016", "2016-17") and decimals are not counts and are left out."""
    if not text:
        return []
    plain = _YEARS.sub(" ", text)
    found: list[str] = []
    whole: list[int] = []
    for m in _NUMBER.finditer(plain):
        token = m.group(0)
        if "." in token:
            continue
        n = int(m.group(1).replace(",", ""))
        if 1 <= n <= 5:
            found.append(token)
        whole.append(n)
    big = sorted({n for n in whole if n > 5})
    for i, a in enumerate(big):
        for b in big[i + 1:]:
            if 1 <= b - a <= 5:
                found.append(f"{b} - {a}")
    return found


class RegistryError(ValueError):
    """The registry file is missing or invalid. The message names the file, metric and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Topic(_Strict):
    """A group of metrics with its own page; topics are listed, and navigated, in registry order."""

    id: str
    title: str
    description: str = ""
    nav_label: str | None = None  # a shorter name for the navigation bar (default: the title)

    @property
    def label(self) -> str:
        return self.nav_label or self.title


class Breakdown(_Strict):
    title: str
    # value code -> label, in display order
    values: dict[str, str]
    # True when the categories are exclusive and exhaustive, so that they must add up to the total
    partition: bool = True


class Target(_Strict):
    value: float
    source: str = Field(min_length=1)
    start: dt.date | None = None  # first period end the target applies to (inclusive)
    end: dt.date | None = None  # last period end it applies to (inclusive)
    agency: str | None = None  # applies only to this agency's rows
    illustrative: bool = False  # an example target, not one anybody set: shown as such

    @model_validator(mode="after")
    def _ordered(self) -> "Target":
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"target end {self.end} is before its start {self.start}")
        return self

    def applies(self, period_end: dt.date, agency: str | None = None) -> bool:
        if self.start and period_end < self.start:
            return False
        if self.end and period_end > self.end:
            return False
        if self.agency and (agency or "") != self.agency:
            return False
        return True


def _get(t, key: str):
    return t.get(key) if isinstance(t, dict) else getattr(t, key)


def target_replaces(new, old) -> bool:
    """True when target ``new`` (imported) replaces target ``old`` of the same metric.

    The rule for imported targets (docs/data-format.md, "Targets"): an imported target replaces
    only the targets with the same agency (blank: all agencies) whose periods overlap its own
    (a blank start or end is open). Targets for other agencies, or for periods that do not
    overlap, stay in force. Works on :class:`Target` objects and on dicts with the same keys.
    """
    if (_get(new, "agency") or "") != (_get(old, "agency") or ""):
        return False
    n0, n1 = _get(new, "start") or dt.date.min, _get(new, "end") or dt.date.max
    o0, o1 = _get(old, "start") or dt.date.min, _get(old, "end") or dt.date.max
    return n0 <= o1 and o0 <= n1


class Tolerance(_Strict):
    value: float = Field(ge=0)
    kind: Literal["absolute", "relative"] = "absolute"


class Suppression(_Strict):
    """How a metric's figures are made safe for external viewers (DfE's small-numbers rule).

    ``count_metric``: for a rate built on a count that is a metric of its own (the rate's
    numerator), that metric's id: one is suppressed with the other. ``total_metric``: for a
    share (percentage) breakdown published without counts, the count metric whose value is the
    total the shares are of, so that share x total, the count a reader can work out, is
    checked too. A ``rate_per_10000`` metric under the rule must say ``count_metric`` (null
    when there is no such metric) and a percentage metric with a partition breakdown must say
    ``total_metric`` (null when every row carries its own denominator): forgetting the field is
    a validation error, never a silently unsuppressed figure.
    """

    rule: Literal["none", "small_numbers"] = "small_numbers"
    min: int = 1
    max: int = 5
    count_metric: str | None = None
    total_metric: str | None = None


class PublishedPart(_Strict):
    """A count a published figure is built on: a LAIT measure, a column of an EES file, or the population."""

    measure: str | None = None  # a LAIT measure code
    column: str | None = None  # a column of an EES file (``file``, else the metric's ``published.file``)
    file: str | None = None
    population: bool = False  # the ONS estimate of children aged 0-17 for the mid-year before 31 March

    @model_validator(mode="after")
    def _one(self) -> "PublishedPart":
        if sum([self.measure is not None, self.column is not None, self.population]) != 1:
            raise ValueError("a part names exactly one of measure, column or population: true")
        return self


class Published(_Strict):
    """Where a published metric's figures come from, declared so that the readers follow it, not code.

    ``reader``: ``ees`` (a tidy explore-education-statistics file in data/dfe/, by ``file`` and
    ``column``) or ``lait`` (a measure of LAIT's extracts, by ``measure``). ``kind``: ``count`` (the
    column or measure as published), ``published`` (the publisher's figure is the value; a
    ``numerator`` may name its count, kept for small-number suppression), ``rate`` (per 10,000
    children: numerator / the population; for ``ees`` the numerator is ``column``) or
    ``percentage`` (numerator / denominator x 100, the publisher's own figure kept beside it, from
    ``published_column`` or the LAIT ``measure``). Rates and percentages are recomputed from the
    counts with DfE's rounding to the metric's ``decimals``.
    """

    reader: Literal["ees", "lait"]
    kind: Literal["count", "published", "rate", "percentage"]
    file: str | None = None
    column: str | None = None
    measure: str | None = None
    numerator: PublishedPart | None = None
    denominator: PublishedPart | None = None
    published_column: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> "Published":
        if self.reader == "ees" and not self.file:
            raise ValueError("an ees declaration names its file")
        if self.reader == "ees" and self.kind in ("count", "rate") and not self.column:
            raise ValueError(f"an ees {self.kind} names its column")
        if self.reader == "lait" and not self.measure:
            raise ValueError("a lait declaration names its measure")
        if self.kind == "percentage" and (self.numerator is None or self.denominator is None):
            raise ValueError("a percentage names its numerator and denominator")
        if self.kind == "rate" and self.reader == "lait" and self.numerator is None:
            raise ValueError("a rate names its numerator (the denominator is the population)")
        return self


class HeadlineCell(_Strict):
    """The breakdown cell a metric's headline row (breakdown "") repeats."""

    breakdown: str
    value: str


#: The fewest points SPC limits can be fixed on (the SPC engine's ``MIN_POINTS``, which the
#: registry cannot import: it is the lowest layer; a test keeps the two equal).
SPC_MIN_FIX_AFTER = 12


class ChangePoint(_Strict):
    """A recorded change (a new service, a change of definition) from which a metric's SPC limits
    are worked out afresh: ``period`` is the first period end under the new arrangement."""

    period: dt.date
    reason: str = Field(min_length=1)

    @field_validator("reason")
    @classmethod
    def _words(cls, reason: str) -> str:
        if not reason.strip():
            raise ValueError("a change point needs its reason in words (what changed)")
        return reason.strip()


class SpcSettings(_Strict):
    """How a metric's SPC (XmR) limits are set (docs/spc.md, "Fixing and rebasing the limits").

    ``fix_after``: hold each limit group's mean and limits at those of its first N points (N at
    least 12), or null to use every point. ``change_points``: the periods at which the limits are
    rebased, each with its reason; in time order, each a period end of the metric's period type.
    """

    fix_after: int | None = Field(default=None, ge=SPC_MIN_FIX_AFTER, strict=True)
    change_points: list[ChangePoint] = Field(default_factory=list)

    @field_validator("change_points")
    @classmethod
    def _in_order(cls, points: list[ChangePoint]) -> list[ChangePoint]:
        for a, b in zip(points, points[1:]):
            if b.period <= a.period:
                raise ValueError(f"change points must be in time order, each once: {b.period} comes after "
                                 f"{a.period}")
        return points


class Metric(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    short_title: str
    topic: str
    definition: str
    methodology: str
    numerator: str | None = None
    denominator: str | None = None
    unit: Unit
    decimals: int = Field(ge=0, le=3)
    polarity: Polarity
    period_type: PeriodType
    source: str
    source_url: str | None = None
    local: bool = False  # a local measure, not comparable with DfE's published figures
    breakdowns: list[str] = Field(default_factory=list)
    agencies: list[str] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=list)
    tolerance: Tolerance = Tolerance(value=0)
    suppression: Suppression = Suppression()
    comparable_with: str | None = None  # id of the published metric a local one shadows
    headline_cell: HeadlineCell | None = None  # the breakdown cell the headline row repeats, if any
    published: Published | None = None  # where a published metric's figures come from (see Published)
    notes: str = ""
    # the first year a figure can plausibly be for: a period ending before 1 January of it is refused on import
    earliest_year: int = Field(default=2000, ge=1900, le=2100)
    # What external viewers (inspectors) read instead of ``notes``: required when ``notes`` could
    # let them work out a small number (see ``derivable_small_numbers``), and itself checked.
    notes_external: str | None = None
    # SPC limits: fixed after N points, rebased at recorded change points (see SpcSettings)
    spc: SpcSettings = SpcSettings()

    @model_validator(mode="after")
    def _change_points_fit(self) -> "Metric":
        for i, cp in enumerate(self.spc.change_points):
            if not is_period_end(self.period_type, cp.period):
                raise ValueError(f"spc.change_points.{i}.period: {cp.period} is not a period end of a "
                                 f"{self.period_type.value} metric")
        return self

    @model_validator(mode="after")
    def _external_wording(self) -> "Metric":
        if self.suppression.rule != "small_numbers":
            return self
        if self.notes_external is None and derivable_small_numbers(self.notes):
            raise ValueError(
                f"notes quote figures from which a small number can be worked out "
                f"({', '.join(derivable_small_numbers(self.notes))}): add notes_external, the wording "
                "external viewers get")
        if self.notes_external and derivable_small_numbers(self.notes_external):
            raise ValueError(f"notes_external quotes figures from which a small number can be worked out "
                             f"({', '.join(derivable_small_numbers(self.notes_external))})")
        if self.unit is Unit.RATE_PER_10000 and "count_metric" not in self.suppression.model_fields_set:
            raise ValueError("a rate per 10,000 under the small-numbers rule must name suppression.count_metric "
                             "(the count metric it is built on), or set it to null when there is none")
        return self

    @property
    def external_notes(self) -> str:
        """The notes as external viewers get them."""
        return self.notes if self.notes_external is None else self.notes_external

    @field_validator("targets")
    @classmethod
    def _no_overlap(cls, targets: list[Target]) -> list[Target]:
        for i, a in enumerate(targets):
            for b in targets[i + 1 :]:
                if (a.agency or "") != (b.agency or ""):
                    continue
                a0, a1 = a.start or dt.date.min, a.end or dt.date.max
                b0, b1 = b.start or dt.date.min, b.end or dt.date.max
                if a0 <= b1 and b0 <= a1:
                    raise ValueError(
                        f"targets overlap: {a.value} ({a.start} to {a.end}) and {b.value} ({b.start} to {b.end})"
                    )
        return targets

    @property
    def unit_suffix(self) -> str:
        return UNIT_SUFFIX[self.unit]

    @property
    def is_rate(self) -> bool:
        return self.unit in (Unit.PERCENT, Unit.RATE_PER_10000, Unit.CASES_PER_FTE)

    def target_for(self, period_end: dt.date, agency: str | None = None) -> Target | None:
        """The target in force for a period (and agency, where targets differ by agency)."""
        specific = [t for t in self.targets if t.agency and t.applies(period_end, agency)]
        if specific:
            return specific[0]
        general = [t for t in self.targets if not t.agency and t.applies(period_end)]
        return general[0] if general else None


class Framework(_Strict):
    """A partnership's own performance framework: which metrics its scorecard shows, in which order,
    and (optionally) its local targets, which replace the registry's targets for those metrics while
    the framework is the active one (``DASHBOARD_FRAMEWORK``)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    description: str = ""
    metrics: list[str] = Field(min_length=1)
    targets: dict[str, list[Target]] = Field(default_factory=dict)


class UnknownFramework(KeyError):
    """The configured framework is not one the registry names."""


class Registry(_Strict):
    version: int
    topics: list[Topic]
    breakdowns: dict[str, Breakdown]
    metrics: list[Metric]
    # Partnership frameworks; the first is the default. None listed: the scorecard shows every metric.
    frameworks: list[Framework] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_check(self) -> "Registry":
        topic_ids = {t.id for t in self.topics}
        seen: set[str] = set()
        problems = []
        for m in self.metrics:
            if m.id in seen:
                problems.append(f"metric '{m.id}': id is used twice")
            seen.add(m.id)
            if m.topic not in topic_ids:
                problems.append(f"metric '{m.id}': topic '{m.topic}' is not one of {sorted(topic_ids)}")
            for b in m.breakdowns:
                if b not in self.breakdowns:
                    problems.append(f"metric '{m.id}': breakdown '{b}' is not defined under 'breakdowns'")
        ids = {m.id for m in self.metrics}
        by_id = {m.id: m for m in self.metrics}
        for m in self.metrics:
            if m.comparable_with and m.comparable_with not in ids:
                problems.append(f"metric '{m.id}': comparable_with '{m.comparable_with}' is not a metric id")
            sup = m.suppression
            for name in ("count_metric", "total_metric"):
                ref = getattr(sup, name)
                if ref is None:
                    continue
                if ref not in by_id:
                    problems.append(f"metric '{m.id}': suppression.{name} '{ref}' is not a metric id")
                elif by_id[ref].unit is not Unit.COUNT:
                    problems.append(f"metric '{m.id}': suppression.{name} '{ref}' is not a count metric")
            partitioned = [b for b in m.breakdowns if b in self.breakdowns and self.breakdowns[b].partition]
            if (sup.rule == "small_numbers" and m.unit is Unit.PERCENT and partitioned
                    and "total_metric" not in sup.model_fields_set):
                problems.append(f"metric '{m.id}': a percentage with the partition breakdown(s) {partitioned} "
                                "under the small-numbers rule must name suppression.total_metric (the count the "
                                "shares are of), or set it to null when every row carries its denominator")
            if m.headline_cell is not None:
                cell = m.headline_cell
                if cell.breakdown not in m.breakdowns:
                    problems.append(f"metric '{m.id}': headline_cell breakdown '{cell.breakdown}' is not one of "
                                    f"its breakdowns")
                elif cell.value not in self.breakdowns[cell.breakdown].values:
                    problems.append(f"metric '{m.id}': headline_cell value '{cell.value}' is not a code of "
                                    f"'{cell.breakdown}'")
        fw_seen: set[str] = set()
        for fw in self.frameworks:
            if fw.id in fw_seen:
                problems.append(f"framework '{fw.id}': id is used twice")
            fw_seen.add(fw.id)
            listed: set[str] = set()
            for mid in fw.metrics:
                if mid not in ids:
                    problems.append(f"framework '{fw.id}': metric '{mid}' is not a metric id")
                if mid in listed:
                    problems.append(f"framework '{fw.id}': metric '{mid}' is listed twice")
                listed.add(mid)
            for mid, targets in fw.targets.items():
                if mid not in listed:
                    problems.append(f"framework '{fw.id}': targets for '{mid}', which the framework does not list")
                try:
                    Metric._no_overlap(targets)
                except ValueError as exc:
                    problems.append(f"framework '{fw.id}': metric '{mid}': {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- frameworks ------------------------------------------------------------------------
    def framework(self, framework_id: str | None = None) -> Framework | None:
        """The named framework, or the default (the first listed) for None; None when there are none.
        An unknown name raises :class:`UnknownFramework`."""
        if framework_id:
            for fw in self.frameworks:
                if fw.id == framework_id:
                    return fw
            raise UnknownFramework(f"framework {framework_id!r} is not one of "
                                   f"{[f.id for f in self.frameworks] or 'the registry (it lists none)'}")
        return self.frameworks[0] if self.frameworks else None

    def framework_ids(self, framework_id: str | None = None) -> list[str]:
        """The ids of the framework's metrics in its order (every metric when the registry has none)."""
        fw = self.framework(framework_id)
        return list(fw.metrics) if fw else self.ids

    def with_framework(self, framework_id: str | None = None) -> "Registry":
        """The registry with the framework's local targets in force (in place of the metrics' own)."""
        fw = self.framework(framework_id)
        if fw is None or not fw.targets:
            return self
        metrics = [m.model_copy(update={"targets": list(fw.targets[m.id])}) if m.id in fw.targets else m
                   for m in self.metrics]
        return self.model_copy(update={"metrics": metrics})

    # -- lookups -------------------------------------------------------------------------
    def metric(self, metric_id: str) -> Metric:
        for m in self.metrics:
            if m.id == metric_id:
                return m
        raise KeyError(metric_id)

    def get(self, metric_id: str) -> Metric | None:
        try:
            return self.metric(metric_id)
        except KeyError:
            return None

    @property
    def ids(self) -> list[str]:
        return [m.id for m in self.metrics]

    def topic(self, topic_id: str) -> Topic:
        return next(t for t in self.topics if t.id == topic_id)

    def by_topic(self, topic_id: str) -> list[Metric]:
        return [m for m in self.metrics if m.topic == topic_id]

    def breakdown_label(self, dimension: str, code: str) -> str:
        b = self.breakdowns.get(dimension)
        return b.values.get(code, code) if b else code


def _format_error(path: Path, raw: dict, exc: ValidationError) -> str:
    lines = [f"{path}: the metric registry is not valid ({exc.error_count()} problem(s)):"]
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "metrics" and isinstance(loc[1], int):
            try:
                mid = raw["metrics"][loc[1]].get("id", f"#{loc[1] + 1}")
            except Exception:  # noqa: BLE001 - best effort naming only
                mid = f"#{loc[1] + 1}"
            field = ".".join(str(p) for p in loc[2:]) or "(metric)"
            where = f"metric '{mid}', field '{field}'"
        value = err.get("input")
        shown = "" if isinstance(value, (dict, list)) else f" (value: {value!r})"
        lines.append(f"  - {where}: {err['msg']}{shown}")
    return "\n".join(lines)


def parse_registry(text: str, path: Path | str = "metrics.yaml") -> Registry:
    path = Path(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise RegistryError(f"{path}: expected a mapping with 'version', 'topics', 'breakdowns', 'metrics'")
    try:
        return Registry.model_validate(raw)
    except ValidationError as exc:
        raise RegistryError(_format_error(path, raw, exc)) from exc


def load_registry(path: Path | str) -> Registry:
    path = Path(path)
    if not path.exists():
        raise RegistryError(f"{path}: the metric registry file is missing")
    return parse_registry(path.read_text(encoding="utf-8"), path)


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> Registry:
    return load_registry(path)


def get_registry(path: Path | str | None = None) -> Registry:
    """The registry at ``path`` (default: the configured data folder), re-read when the file changes."""
    if path is None:
        from .config import load_settings

        path = load_settings().registry_path
    p = Path(path)
    return _cached(str(p), p.stat().st_mtime if p.exists() else 0.0)
