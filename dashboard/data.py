"""The one data manager: every read of the store goes through here.

It loads the current data version's observations once, resolves precedence between sources,
and indexes them by (metric, area), caching the result under the data version so that a new
version is picked up by every worker without a restart. Callers get read-only views; figures
and pages never touch the database themselves.
"""
from __future__ import annotations

import datetime as dt
import gc
import hashlib
import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from . import store
from .analysis.series import ENGLAND, resolve
from .config import Settings, load_settings
from .registry import Registry, get_registry


log = logging.getLogger(__name__)


def _date_or_none(value):
    """A date from the database, or None for a missing one (pandas gives NaT or NaN)."""
    return None if value is None or pd.isna(value) else value


def registry_fingerprint(registry: Registry) -> str:
    """What suppression depends on in a registry (every metric's unit and rule, breakdowns), as a hash."""
    parts = [repr(sorted((k, b.partition, tuple(b.values)) for k, b in registry.breakdowns.items()))]
    parts += [repr((m.id, m.unit.value, m.suppression, m.headline_cell, m.breakdowns)) for m in registry.metrics]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class NoData(RuntimeError):
    """The store has not been built yet."""


@dataclass
class Snapshot:
    """Everything the screens read, for one data version."""

    version_id: int
    version_label: str
    built_at: dt.datetime
    frame: pd.DataFrame  # resolved observations
    areas: pd.DataFrame  # code, old_code, name, level, region_code
    neighbours: pd.DataFrame  # model, la_code, rank, neighbour_code, closeness
    sources: pd.DataFrame  # key, kind, title, publisher, vintage, licence, url
    flags: pd.DataFrame  # metric_id, area_code, period_end, severity, message
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)  # imported targets of the current import layer
    suppressed: bool = False  # True for the external (small numbers suppressed) view
    _groups: dict = field(default_factory=dict, repr=False)
    _memo: dict = field(default_factory=dict, repr=False)
    # registry fingerprint -> suppressed copy; never copied by dataclasses.replace (init=False)
    _external: dict = field(default_factory=dict, repr=False, init=False)
    _external_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, init=False)

    @cached_property
    def _positions(self) -> dict[tuple[str, str], object]:
        return self.frame.groupby(["metric_id", "area_code"], sort=False).indices

    def rows(self, metric_id: str, area_code: str) -> pd.DataFrame:
        """The rows of one metric for one area (sliced on first use, then kept)."""
        key = (metric_id, area_code)
        got = self._groups.get(key)
        if got is None:
            pos = self._positions.get(key)
            got = self.frame.iloc[pos].reset_index(drop=True) if pos is not None else self.frame.iloc[0:0]
            self._groups[key] = got
        return got

    def external(self, registry: Registry) -> "Snapshot":
        """The same data with small numbers suppressed (DfE's rule), for external viewers.

        Suppression is computed once per data version for the whole registry (the effective one:
        imported targets do not change it), whoever asks first; a viewer's scope (some metrics
        only) is a filter applied to the result afterwards, never an input to it. The copy is
        kept on the snapshot itself, outside the bounded memo, so evicting memo entries cannot
        drop it and let a later caller rebuild it differently. A registry that does not cover
        every metric in the data is refused: suppression with part of the rules would let the
        other metrics' small numbers through.
        """
        if self.suppressed:
            return self
        missing = sorted(set(self.frame["metric_id"].unique()) - set(registry.ids)) if not self.frame.empty else []
        if missing:
            raise ValueError(f"suppression needs the full registry; it has no rules for {missing[:5]}")
        key = registry_fingerprint(registry)
        with self._external_lock:
            got = self._external.get(key)
            if got is None:
                from .analysis.suppression import suppress_for_external

                got = Snapshot(version_id=self.version_id, version_label=self.version_label, built_at=self.built_at,
                               frame=suppress_for_external(self.frame, registry), areas=self.areas,
                               neighbours=self.neighbours, sources=self.sources, flags=self._external_flags(),
                               targets=self.targets, suppressed=True)
                self._external[key] = got
        return got

    def effective_registry(self, registry: Registry) -> Registry:
        """The registry with imported targets in force.

        An imported target replaces only the registry's targets for the same metric and agency
        whose periods overlap it (:func:`dashboard.registry.target_replaces`); the others stay.
        """
        if self.targets.empty:
            return registry

        def make() -> Registry:
            from .registry import Target, Tolerance, target_replaces

            metrics = []
            for m in registry.metrics:
                t = self.targets[self.targets["metric_id"] == m.id]
                if t.empty:
                    metrics.append(m)
                    continue
                imported = [Target(value=r.value, source=r.source, start=_date_or_none(r.start),
                                   end=_date_or_none(r.end), agency=r.agency if isinstance(r.agency, str) and r.agency
                                   else None, illustrative=bool(r.illustrative)) for r in t.itertuples()]
                kept = [old for old in m.targets if not any(target_replaces(new, old) for new in imported)]
                tol = next(((r.tolerance, r.tolerance_kind) for r in t.itertuples() if r.tolerance is not None
                            and not pd.isna(r.tolerance)), None)
                update = {"targets": imported + kept}
                if tol:
                    kind = tol[1] if isinstance(tol[1], str) and tol[1] else "absolute"
                    update["tolerance"] = Tolerance(value=tol[0], kind=kind)
                metrics.append(m.model_copy(update=update))
            return registry.model_copy(update={"metrics": metrics})
        return self.memo(("registry", id(registry)), make)

    def _external_flags(self) -> pd.DataFrame:
        # Warnings quote local figures (e.g. "adds up to 297"); external viewers do not get them.
        return self.flags.iloc[0:0]

    def memo(self, key: tuple, compute):
        """Compute once per data version: results are dropped with the snapshot when the version changes."""
        if key not in self._memo:
            if len(self._memo) > 2000:
                self._memo.clear()
            self._memo[key] = compute()
        return self._memo[key]

    def rows_by_area(self, metric_id: str, codes: list[str]) -> dict[str, pd.DataFrame]:
        return {c: self.rows(metric_id, c) for c in codes}

    @cached_property
    def newest_period(self) -> dt.date | None:
        """The newest period of real (not illustrative) data: read on every page, found once per snapshot."""
        real = self.frame[~self.frame["illustrative"]]
        return None if real.empty else real["period_end"].max()

    # -- areas ---------------------------------------------------------------------------
    @cached_property
    def _area_index(self) -> dict[str, dict]:
        idx: dict[str, dict] = {}
        for rec in self.areas.to_dict("records"):
            idx[rec["code"]] = rec
            if rec.get("old_code"):
                idx.setdefault(str(rec["old_code"]), rec)
        return idx

    def area(self, code: str) -> dict | None:
        """An area by DfE (883) or GSS (E06000034) code."""
        return self._area_index.get(str(code).strip().upper()) or self._area_index.get(str(code).strip())

    def local_authorities(self) -> list[dict]:
        las = self.areas[self.areas["level"] == "la"].sort_values("name")
        return las.to_dict("records")

    def region_of(self, la_code: str) -> dict | None:
        a = self.area(la_code)
        return self.area(a["region_code"]) if a and a.get("region_code") else None

    def neighbour_codes(self, la_code: str, model: str) -> list[str]:
        n = self.neighbours[(self.neighbours["la_code"] == la_code) & (self.neighbours["model"] == model)]
        return list(n.sort_values("rank")["neighbour_code"])

    def flags_for(self, metric_id: str, area_code: str) -> pd.DataFrame:
        f = self.flags
        return f[(f["metric_id"] == metric_id) & (f["area_code"] == area_code)]

    def source(self, key: str) -> dict:
        s = self.sources[self.sources["key"] == key]
        return s.iloc[0].to_dict() if not s.empty else {}

    @property
    def england(self) -> str:
        return ENGLAND


_lock = threading.Lock()
_cache: dict[tuple[str, int, str], Snapshot] = {}


def current_version_id(engine: Engine) -> int | None:
    with engine.connect() as c:
        return c.execute(select(func.max(store.DataVersion.id))).scalar()


def current_version_stamp(engine: Engine) -> tuple[int, str] | None:
    """The current data version's id and a stamp of it (when it was made, and from what).

    An id alone does not name a version for ever: a database dropped and built again starts at 1
    again, and a cache keyed by the id alone (Redis keeps keys across restarts) would hand out the
    old database's data. The stamp makes the key unique to this very version.
    """
    with engine.connect() as c:
        row = c.execute(select(store.DataVersion.id, store.DataVersion.created_at, store.DataVersion.fingerprint)
                        .order_by(store.DataVersion.id.desc()).limit(1)).first()
    if row is None:
        return None
    return row[0], f"{row[1].isoformat() if row[1] else ''}/{row[2] or ''}"


def _frame(result, columns: list[str]) -> pd.DataFrame:
    """A query's rows as a DataFrame. Rows are turned into plain tuples first: pandas probes each
    SQLAlchemy Row for attributes it does not have, which costs seconds on a large version."""
    return pd.DataFrame([tuple(r) for r in result], columns=columns)


def _load(engine: Engine, version_id: int) -> Snapshot:
    with engine.connect() as c:
        ver = c.execute(select(store.DataVersion).where(store.DataVersion.id == version_id)).one()
        layers = [v for v in store.layer_versions(c) if v is not None]
        q = (
            select(store.Observation.metric_id, store.Observation.area_code, store.Observation.period_end,
                   store.Observation.period_label, store.Observation.agency, store.Observation.breakdown,
                   store.Observation.breakdown_value, store.Observation.value, store.Observation.numerator,
                   store.Observation.denominator, store.Observation.published_value, store.Observation.status,
                   store.Observation.illustrative, store.Observation.note,
                   store.Source.key.label("source_key"), store.Source.kind.label("source_kind"),
                   store.Source.title.label("source_title"))
            .join(store.Source, store.Source.id == store.Observation.source_id)
            .where(store.Observation.version_id.in_(layers))
        )
        frame = _frame(c.execute(q), columns=list(q.selected_columns.keys()))
        areas = _frame(c.execute(select(store.Area.code, store.Area.old_code, store.Area.name, store.Area.level,
                                              store.Area.region_code)),
                             columns=["code", "old_code", "name", "level", "region_code"])
        neighbours = _frame(c.execute(select(store.StatNeighbour.model, store.StatNeighbour.la_code,
                                                   store.StatNeighbour.rank, store.StatNeighbour.neighbour_code,
                                                   store.StatNeighbour.closeness)),
                                  columns=["model", "la_code", "rank", "neighbour_code", "closeness"])
        sources = _frame(c.execute(select(store.Source.key, store.Source.kind, store.Source.title,
                                                store.Source.publisher, store.Source.vintage, store.Source.licence,
                                                store.Source.url)),
                               columns=["key", "kind", "title", "publisher", "vintage", "licence", "url"])
        flags = _frame(c.execute(select(store.QualityFlag.metric_id, store.QualityFlag.area_code,
                                              store.QualityFlag.period_end, store.QualityFlag.severity,
                                              store.QualityFlag.message)
                                       .where(store.QualityFlag.version_id.in_(layers))),
                             columns=["metric_id", "area_code", "period_end", "severity", "message"])
        targets = _frame(c.execute(
            select(store.ImportedTarget.metric_id, store.ImportedTarget.value, store.ImportedTarget.start,
                   store.ImportedTarget.end, store.ImportedTarget.agency, store.ImportedTarget.source,
                   store.ImportedTarget.tolerance, store.ImportedTarget.tolerance_kind,
                   store.ImportedTarget.illustrative)
            .where(store.ImportedTarget.version_id.in_(layers))),
            columns=["metric_id", "value", "start", "end", "agency", "source", "tolerance", "tolerance_kind",
                     "illustrative"])
    areas = areas.astype(object).where(areas.notna(), None)  # a missing code is None, never a truthy NaN
    frame["illustrative"] = frame["illustrative"].astype(bool)
    for col in ("value", "numerator", "denominator", "published_value"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    frame = resolve(frame)
    return Snapshot(version_id=ver.id, version_label=ver.label, built_at=ver.created_at, frame=frame, areas=areas,
                    neighbours=neighbours, sources=sources, flags=flags, targets=targets)


def release_frozen() -> None:
    """A worker froze what it had loaded out of the cyclic collector's way (gunicorn.conf.py); a data version
    it drops may sit in reference cycles among those frozen objects, which are never collected. So: let the
    collector have everything, collect, and freeze what is left (the new version) again."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@dataclass
class DataManager:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return store.get_engine(self.settings.database_url)

    @property
    def registry(self) -> Registry:
        return get_registry(self.settings.registry_path)

    def snapshot(self) -> Snapshot:
        """The current version's snapshot, loaded once per version per process."""
        current = current_version_stamp(self.engine)
        if current is None:
            raise NoData("the store is empty: run `python -m dashboard build`")
        version, stamp = current
        key = (self.settings.database_url, version, stamp)
        snap = _cache.get(key)
        if snap is None:
            with _lock:
                snap = _cache.get(key)
                if snap is None:
                    snap = self._shared_get(version, stamp) or self._shared_put(version, stamp,
                                                                                  _load(self.engine, version))
                    dropped = [k for k in _cache if k[0] == key[0]]
                    for old in dropped:
                        del _cache[old]
                    _cache[key] = snap
                    if dropped and gc.get_freeze_count():
                        release_frozen()
        return snap

    # -- the cache shared between workers (Redis when REDIS_URL is set) ------------------------
    @cached_property
    def shared_cache(self):
        """A cachelib cache shared by every worker and host, or None (each process then loads on its own)."""
        if not self.settings.redis_url:
            return None
        import redis
        from cachelib import RedisCache

        client = redis.Redis.from_url(self.settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        return RedisCache(host=client, key_prefix="sgdash:", default_timeout=24 * 3600)

    def _shared_key(self, version: int, stamp: str) -> str:
        # Keyed by database, data version and its stamp: a new version, or a database built again from
        # nothing whose ids start again at 1, is a new key, so no worker reads stale data.
        digest = hashlib.sha256(f"{self.settings.database_url}\n{stamp}".encode()).hexdigest()[:24]
        return f"snapshot:{digest}:{version}"

    def _shared_get(self, version: int, stamp: str) -> Snapshot | None:
        if self.shared_cache is None:
            return None
        try:
            parts = self.shared_cache.get(self._shared_key(version, stamp))
        except Exception as exc:  # noqa: BLE001 - a cache outage must not take the dashboard down
            log.warning("shared cache unavailable (%s); loading from the database", exc)
            return None
        return Snapshot(**parts) if parts else None

    def _shared_put(self, version: int, stamp: str, snap: Snapshot) -> Snapshot:
        if self.shared_cache is not None:
            parts = {k: getattr(snap, k) for k in ("version_id", "version_label", "built_at", "frame", "areas",
                                                   "neighbours", "sources", "flags", "targets")}
            try:
                self.shared_cache.set(self._shared_key(version, stamp), parts)
            except Exception as exc:  # noqa: BLE001
                log.warning("could not write the shared cache: %s", exc)
        return snap

    def default_la(self) -> str:
        """The configured authority as a GSS code."""
        a = self.snapshot().area(self.settings.la_code)
        if a is None or a["level"] != "la":
            raise ValueError(f"DASHBOARD_LA={self.settings.la_code!r} is not an English local authority code")
        return a["code"]


_manager: DataManager | None = None


def get_manager(settings: Settings | None = None) -> DataManager:
    global _manager
    if settings is not None:
        return DataManager(settings)
    if _manager is None:
        _manager = DataManager(load_settings())
    return _manager
