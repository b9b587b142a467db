"""Build (or refresh) the store from the files in ``data/``.

files -> importers (DfE published, local returns, illustrative) -> quality checks -> store.
The whole build is one transaction: a failure leaves the previous store as it was. A
fingerprint of the input files is kept in the ``meta`` table so ``--if-stale`` rebuilds only
when something changed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from . import store
from .analysis.quality import breakdown_total_warnings, local_vs_published_warnings
from .config import Settings
from .importers import demand, dfe, illustrative, lait
from .importers.returns import read_return_file
from .periods import period_label
from .registry import Registry, load_registry

log = logging.getLogger(__name__)

# Bump when the build's output changes for the same input files.
BUILD_SCHEMA = "1"
ILLUSTRATIVE_AREAS = ("E06000034",)  # the seed's authority: the only one with local figures
# Illustrative monthly demand (dashboard/importers/demand.py) is generated for the configured
# authority (DASHBOARD_LA) and always for these: Thurrock, the seed's authority.
DEMAND_AREAS = ("E06000034",)
IMPORT_SOURCE_PREFIX = "import/"  # sources of analysts' imports: never touched by a build


@dataclass
class BuildResult:
    built: bool
    version_id: int | None
    rows: int
    warnings: int
    seconds: float
    fingerprint: str


def input_files(data_dir: Path) -> list[Path]:
    files = [data_dir / "metrics.yaml"]
    files += sorted((data_dir / "dfe").glob("*.csv"))
    files += sorted((data_dir / "local").glob("*.csv")) + sorted((data_dir / "local").glob("*.yaml"))
    return [f for f in files if f.exists()]


def fingerprint(data_dir: Path, la_code: str | None = None) -> str:
    """The build's inputs: the files, and the configured authority (its illustrative months are built)."""
    la = (la_code if la_code is not None else Settings().la_code).strip()
    h = hashlib.sha256(f"schema {BUILD_SCHEMA}\nla {la}\n".encode())
    for f in input_files(data_dir):
        h.update(f.relative_to(data_dir).as_posix().encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def is_stale(engine: Engine, data_dir: Path, la_code: str | None = None) -> bool:
    store.init_db(engine)
    return store.get_meta(engine, "fingerprint") != fingerprint(data_dir, la_code)


def demand_areas(areas: pd.DataFrame, la_code: str | None) -> list[str]:
    """GSS codes of the authorities given illustrative monthly demand: the configured one and DEMAND_AREAS."""
    out = list(DEMAND_AREAS)
    la = (la_code or "").strip()
    if la:
        hit = areas[((areas["code"] == la) | (areas["old_code"].astype(str) == la)) & (areas["level"] == "la")]
        if hit.empty:
            raise ValueError(f"DASHBOARD_LA {la!r} is not an English local authority code in data/dfe")
        code = str(hit["code"].iloc[0])
        if code not in out:
            out.insert(0, code)
    return out


def demand_rows(observations: pd.DataFrame, area_codes: list[str]) -> tuple[list[dict], list[dict]]:
    """Illustrative monthly demand for each authority, from its published annual figures, and the
    data-quality flags of :func:`demand.reconcile` (a month that does not reproduce a published
    figure is a warning, not an error). An authority with too little published to give the
    generator a scale is left out, with a flag saying so."""
    rows: list[dict] = []
    flags: list[dict] = []
    key = demand.SOURCE["key"]
    for code in area_codes:
        annual = demand.annual_from_observations(observations, code)
        try:
            gen = demand.generate(code, annual)
        except ValueError as exc:
            flags.append(dict(metric_id="", area_code=code, period_end=None, severity="warning", source_key=key,
                              message=f"No illustrative monthly demand: {exc}"))
            continue
        flags += demand_flags(gen, annual, code)
        rows += [dict(r, agency="", breakdown="", breakdown_value="", numerator=None, denominator=None,
                      published_value=None, status="", source_key=key) for r in gen]
    for r in rows:
        r.pop("calibrated", None)
    return rows, flags


def demand_flags(monthly_rows: list[dict], annual: dict, area_code: str) -> list[dict]:
    """:func:`demand.reconcile` warnings as data-quality flags, each on the metric it names."""
    out = []
    for w in demand.reconcile(monthly_rows, annual, area_code=area_code):
        metric_id = w.split(":", 1)[0] if w.split(":", 1)[0] in demand.BY_ID else ""
        out.append(dict(metric_id=metric_id, area_code=area_code, period_end=None, severity="warning",
                        source_key=demand.SOURCE["key"], message=w))
    return out


def collect(data_dir: Path, registry: Registry, la_code: str | None = None,
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[dict], list[dict]]:
    """Read every input: (areas, neighbours, observations, sources, quality flags). Pure of the database.

    ``la_code``: the configured authority (DASHBOARD_LA), given illustrative monthly demand
    with Thurrock's (``DEMAND_AREAS``) from the published figures read here.
    """
    areas = dfe.read_areas(data_dir)
    neighbours = dfe.read_stat_neighbours(data_dir)
    obs, sources = dfe.read_observations(data_dir, registry)
    lait_obs, lait_sources = lait.read_observations(data_dir, registry)
    obs = pd.concat([obs, lait_obs], ignore_index=True)
    sources += [s for s in lait_sources if s["key"] not in {x["key"] for x in sources}]
    obs = obs.assign(illustrative=False)

    codes = {c: c for c in areas["code"]}
    codes.update({str(o): c for o, c in zip(areas["old_code"], areas["code"]) if o})
    frames = [obs]
    flags: list[dict] = []
    local_rows: list[dict] = []
    for path in sorted((data_dir / "local").glob("*.csv")):
        parsed, source = read_return_file(path, registry, codes)
        if parsed.errors:
            raise ValueError("Local return refused:\n" + "\n".join(str(p) for p in parsed.errors))
        sources.append(source)
        local_rows += [{k: v for k, v in r.items() if k not in ("sheet", "row", "period_label")} for r in parsed.rows]
        # Breakdown totals are checked below for every source alike; other warnings are kept as flags.
        for p in parsed.warnings:
            if p.code != "breakdown_total":
                flags.append(dict(metric_id="", area_code="", period_end=None, severity="warning",
                                  source_key=source["key"], message=str(p)))
    if local_rows:
        frames.append(pd.DataFrame(local_rows).assign(illustrative=False))
    gen_rows = [r for area in ILLUSTRATIVE_AREAS for r in illustrative.generate(area, local_rows)]
    if gen_rows:
        sources.append(illustrative.SOURCE)
        frames.append(pd.DataFrame(gen_rows))
    monthly, monthly_flags = demand_rows(obs, demand_areas(areas, la_code))
    if monthly:
        sources.append(demand.SOURCE)
        frames.append(pd.DataFrame(monthly))
    flags += monthly_flags
    allobs = pd.concat(frames, ignore_index=True)
    allobs["agency"] = allobs["agency"].fillna("")
    allobs["breakdown"] = allobs["breakdown"].fillna("")
    allobs["breakdown_value"] = allobs["breakdown_value"].fillna("")
    allobs["status"] = allobs["status"].fillna("")

    partitions = {k for k, b in registry.breakdowns.items() if b.partition}
    local = allobs[allobs["source_key"].str.startswith("local/")]
    flags += breakdown_total_warnings(local, partitions)
    kinds = {s["key"]: s["kind"] for s in sources}
    flags += local_vs_published_warnings(allobs, kinds)
    return areas, neighbours, allobs, sources, flags


def _records(df: pd.DataFrame) -> list[dict]:
    """DataFrame rows as dicts with None (not NaN) for missing values."""
    return df.astype(object).where(df.notna(), None).to_dict("records")


def build(settings: Settings, *, if_stale: bool = False, created_by: str = "system") -> BuildResult:
    t0 = time.perf_counter()
    engine = store.get_engine(settings.database_url)
    store.init_db(engine)
    fp = fingerprint(settings.data_dir, settings.la_code)
    if if_stale and store.get_meta(engine, "fingerprint") == fp:
        cur = store.current_version(engine)
        return BuildResult(False, cur.id if cur else None, cur.rows if cur else 0, 0, time.perf_counter() - t0, fp)

    registry = load_registry(settings.registry_path)
    areas, neighbours, obs, sources, flags = collect(settings.data_dir, registry, settings.la_code)
    period_types = {m.id: m.period_type for m in registry.metrics}
    known = set(period_types)
    unknown = sorted(set(obs["metric_id"]) - known)
    if unknown:
        raise ValueError(f"importers produced metric ids missing from the registry: {unknown}")
    obs = obs.assign(period_label=[period_label(period_types[m], d)
                                   for m, d in zip(obs["metric_id"], obs["period_end"])])

    with store.session_scope(engine) as s:
        # Everything the build owns is replaced; one transaction, so readers see old or new, never half.
        # Analysts' imports (their versions, rows and sources) are left exactly as they are.
        builds = select(store.DataVersion.id).where(store.DataVersion.kind == "build")
        s.execute(delete(store.QualityFlag).where(store.QualityFlag.version_id.in_(builds)))
        s.execute(delete(store.Observation).where(store.Observation.version_id.in_(builds)))
        s.execute(delete(store.StatNeighbour))
        s.execute(delete(store.Area))
        s.execute(delete(store.Source).where(~store.Source.key.startswith(IMPORT_SOURCE_PREFIX)))
        # DataVersion rows are kept as a log, so version ids only grow (SQLite reuses the id of a
        # deleted last row) and every reader that caches by version id sees each new build.
        s.execute(insert(store.Area), _records(areas[["code", "old_code", "name", "level", "region_code"]]))
        s.execute(insert(store.StatNeighbour), _records(neighbours))
        s.execute(insert(store.Source), [
            {k: src.get(k) for k in ("key", "kind", "title", "publisher", "vintage", "licence", "url", "sha256")}
            | {"licence": src.get("licence") or ""}
            for src in sources
        ])
        source_ids = dict(s.execute(select(store.Source.key, store.Source.id)).all())
        version = store.DataVersion(created_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), kind="build",
                                    label="Built from data/", fingerprint=fp, created_by=created_by, rows=len(obs))
        s.add(version)
        s.flush()
        obs = obs.assign(source_id=obs["source_key"].map(source_ids), version_id=version.id)
        cols = ["metric_id", "area_code", "period_end", "period_label", "agency", "breakdown", "breakdown_value",
                "value", "numerator", "denominator", "published_value", "status", "illustrative", "source_id",
                "version_id", "note"]
        recs = _records(obs[cols])
        for i in range(0, len(recs), 20000):
            s.execute(insert(store.Observation.__table__), recs[i:i + 20000])
        if flags:
            s.execute(insert(store.QualityFlag), [
                dict(metric_id=f["metric_id"], area_code=f["area_code"], period_end=f["period_end"],
                     severity=f["severity"], message=f["message"], source_id=source_ids.get(f.get("source_key")),
                     version_id=version.id)
                for f in flags
            ])
        merged = s.merge(store.Meta(key="fingerprint", value=fp))
        s.add(merged)
        version_id = version.id
    log.info("built data version %s: %s observations, %s warnings", version_id, len(obs), len(flags))
    return BuildResult(True, version_id, len(obs), len(flags), time.perf_counter() - t0, fp)
