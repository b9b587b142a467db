"""Analysts' returns: validated, all-or-nothing, versioned imports, and restores.

An import is checked whole (``dashboard.importers.returns.parse_return``) before anything is
written; a file with any error is refused and the store is not touched. An accepted file becomes a
new data version in one transaction: the previous import layer is copied forward with the file's
rows replacing the cells they name, the original file is kept byte for byte with its SHA-256, and
the validation report and change summary are stored with it. Restoring an earlier version copies
that version's layer into a new version, so history is never rewritten.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from . import store
from .analysis.quality import breakdown_total_warnings
from .build import IMPORT_SOURCE_PREFIX
from .importers.returns import ParsedReturn, parse_return
from .periods import period_label
from .registry import Registry, target_replaces

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
ALLOWED_SUFFIXES = (".csv", ".xlsx")
CELL = ("metric_id", "area_code", "period_end", "agency", "breakdown", "breakdown_value")
OBS_COLUMNS = ["metric_id", "area_code", "period_end", "period_label", "agency", "breakdown", "breakdown_value",
               "value", "numerator", "denominator", "published_value", "status", "illustrative", "source_id", "note"]


class ImportRefused(ValueError):
    """The file was refused; ``report`` says why (nothing was written)."""

    def __init__(self, message: str, report: "ImportReport"):
        super().__init__(message)
        self.report = report


class StoreUnavailable(RuntimeError):
    """The database could not be read or written (connection lost, disk full...)."""


@dataclass
class ImportReport:
    filename: str
    sha256: str
    size: int
    accepted: bool
    dry_run: bool = False
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_in_file: int = 0  # rows of figures read from the file (in a refused file: read, not loaded)
    targets_in_file: int = 0  # target rows read from the file
    read: bool = False  # the file was read (False when refused before reading it: size, type)
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    by_metric: dict[str, dict[str, int]] = field(default_factory=dict)
    version_id: int | None = None
    duplicate_of: int | None = None
    details: list[dict] = field(default_factory=list)  # every problem and warning, field by field
    # targets in force that the file adds, changes or removes (registry and earlier imports), in words
    targets_added: list[str] = field(default_factory=list)
    targets_changed: list[str] = field(default_factory=list)
    targets_removed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}

    def text(self) -> str:
        head = (f"{self.filename}: {'accepted' if self.accepted else 'REFUSED'}"
                + (" (dry run: nothing written)" if self.dry_run else "")
                + (f" as data version {self.version_id}" if self.version_id else ""))
        lines = [head]
        if self.read:
            lines.append(f"  rows in file: {self.rows_in_file}; targets: {self.targets_in_file}" if self.accepted else
                         f"  rows read: {self.rows_in_file}; target rows read: {self.targets_in_file} (none loaded)")
        if self.accepted:
            lines.append(f"  changes: {self.added} added, {self.changed} changed, {self.unchanged} unchanged")
            for title, items in (("target(s) added", self.targets_added), ("target(s) changed", self.targets_changed),
                                 ("target(s) removed (replaced by the file's)", self.targets_removed)):
                if items:
                    lines.append(f"  {len(items)} {title}:")
                    lines += [f"    - {t}" for t in items]
        if self.problems:
            lines.append(f"  {len(self.problems)} problem(s) to fix:")
            lines += [f"    - {p}" for p in self.problems]
        if self.warnings:
            lines.append(f"  {len(self.warnings)} warning(s):")
            lines += [f"    - {w}" for w in self.warnings]
        return "\n".join(lines)


def check_upload(filename: str, size: int) -> str | None:
    """A reason to refuse an upload before reading it, or None."""
    if size > MAX_UPLOAD_BYTES:
        return f"{filename}: the file is {size:,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes"
    if not filename.lower().endswith(ALLOWED_SUFFIXES):
        return f"{filename}: only .csv and .xlsx files can be imported"
    if size == 0:
        return f"{filename}: the file is empty"
    return None


def area_name_map(engine: Engine) -> dict[str, str]:
    """Area name -> the code an analyst writes (DfE code where there is one, else GSS), for suggestions."""
    with engine.connect() as c:
        rows = c.execute(select(store.Area.name, store.Area.code, store.Area.old_code)).all()
    return {name: str(old or code) for name, code, old in rows if name}


def area_code_map(engine: Engine) -> dict[str, str]:
    with engine.connect() as c:
        rows = c.execute(select(store.Area.code, store.Area.old_code)).all()
    codes = {code: code for code, _ in rows}
    codes.update({str(old): code for code, old in rows if old})
    return codes


def _current_layer(conn, import_version: int | None) -> pd.DataFrame:
    if import_version is None:
        return pd.DataFrame(columns=OBS_COLUMNS)
    q = select(*[getattr(store.Observation, c) for c in OBS_COLUMNS]).where(
        store.Observation.version_id == import_version)
    return pd.DataFrame(conn.execute(q).all(), columns=OBS_COLUMNS)


def _current_targets(conn, import_version: int | None) -> list[dict]:
    if import_version is None:
        return []
    cols = ["metric_id", "value", "start", "end", "agency", "source", "tolerance", "tolerance_kind", "illustrative"]
    rows = conn.execute(select(*[getattr(store.ImportedTarget, c) for c in cols]).where(
        store.ImportedTarget.version_id == import_version)).all()
    return [dict(zip(cols, r)) for r in rows]


def _key(rec) -> tuple:
    return tuple("" if rec[k] is None else rec[k] for k in CELL)


def _same(a, b) -> bool:
    for k in ("value", "numerator", "denominator", "status", "note"):
        x, y = a.get(k), b.get(k)
        x = None if x is None or (isinstance(x, float) and pd.isna(x)) or x == "" else x
        y = None if y is None or (isinstance(y, float) and pd.isna(y)) or y == "" else y
        if x != y:
            return False
    return True


def import_return(engine: Engine, registry: Registry, data: bytes, filename: str, *, user: str,
                  dry_run: bool = False, default_area: str | None = None) -> ImportReport:
    """Validate a return and, unless ``dry_run``, load it as a new data version. Raises ImportRefused."""
    filename = Path(filename).name or "upload"
    sha = hashlib.sha256(data).hexdigest()
    report = ImportReport(filename=filename, sha256=sha, size=len(data), accepted=False, dry_run=dry_run)
    reason = check_upload(filename, len(data))
    if reason:
        report.problems.append(reason)
        report.details.append({"severity": "error", "file": filename, "sheet": None, "row": None, "column": None,
                               "value": "", "rule": reason.split(": ", 1)[-1], "suggestion": None})
        raise ImportRefused(reason, report)
    try:
        codes = area_code_map(engine)
        parsed: ParsedReturn = parse_return(data, filename, registry, codes, default_area=default_area,
                                            area_names=area_name_map(engine))
        report.rows_in_file, report.targets_in_file = parsed.rows_read, parsed.targets_read
        report.read = parsed.file_type != ""
        report.problems = [str(p) for p in parsed.errors]
        report.warnings = [str(p) for p in parsed.warnings]
        report.details = [{"severity": p.severity, "file": p.file, "sheet": p.sheet, "row": p.row, "column": p.column,
                           "value": p.value, "rule": p.rule, "suggestion": p.suggestion} for p in parsed.problems]
        with engine.connect() as c:
            dup = c.execute(select(store.VersionFile.version_id).where(store.VersionFile.sha256 == sha)).first()
        if dup is not None:
            report.duplicate_of = dup[0]
            msg = (f"this exact file (SHA-256 {sha[:12]}...) was already loaded as data version {dup[0]}. "
                   "To go back to it, restore that version.")
            report.problems.append(f"{filename}: {msg}")
            report.details.append({"severity": "error", "file": filename, "sheet": None, "row": None, "column": None,
                                   "value": "", "rule": msg, "suggestion": None})
        if report.problems:
            raise ImportRefused(f"{filename} was refused: {len(report.problems)} problem(s)", report)
        return _write(engine, registry, parsed, data, report, user=user, dry_run=dry_run)
    except ImportRefused:
        raise
    except (OperationalError, DBAPIError) as exc:
        raise StoreUnavailable(_db_message(exc)) from exc
    except OSError as exc:
        raise StoreUnavailable(f"the database could not be written: {exc.strerror or exc}") from exc


def _db_message(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc)).lower()
    if "disk" in text or "full" in text or "no space" in text:
        return "the database could not be written: the disk is full. Nothing was changed."
    if "locked" in text or "busy" in text:
        return "the database is busy with another change; try again in a moment. Nothing was changed."
    return "the database could not be reached; nothing was changed. Try again, or tell the administrator."


def _write(engine: Engine, registry: Registry, parsed: ParsedReturn, data: bytes, report: ImportReport, *,
           user: str, dry_run: bool) -> ImportReport:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with store.session_scope(engine) as s:
        _lock_imports(s)
        _build_v, import_v = store.layer_versions(s)
        conn = s.connection()
        current = _current_layer(conn, import_v)
        old = {_key(r): r for r in current.to_dict("records")}
        new_rows = {}
        for r in parsed.rows:
            k = _key(r)
            prev = old.get(k)
            stats = report.by_metric.setdefault(r["metric_id"], {"added": 0, "changed": 0, "unchanged": 0})
            if prev is None:
                report.added += 1
                stats["added"] += 1
            elif _same(prev, r):
                report.unchanged += 1
                stats["unchanged"] += 1
            else:
                report.changed += 1
                stats["changed"] += 1
            new_rows[k] = r
        current_targets = _current_targets(conn, import_v)
        _target_changes(registry, current_targets, parsed.targets, report)
        layer_rows = [r for k, r in old.items() if k not in new_rows] + list(new_rows.values())
        annual_flags = _demand_annual_flags(conn, registry, layer_rows, report)
        report.accepted = True
        if dry_run:
            s.rollback()
            return report
        version = store.DataVersion(created_at=now, kind="import", label=f"Import of {report.filename}",
                                    fingerprint=report.sha256, created_by=user, rows=0,
                                    rows_in_file=len(parsed.rows), filename=report.filename)
        s.add(version)
        s.flush()
        src = store.Source(key=f"{IMPORT_SOURCE_PREFIX}v{version.id}/{report.filename}"[:200], kind="import",
                           title=f"Local return {report.filename}", publisher=f"Loaded by {user}",
                           vintage=f"data version {version.id}, {now:%Y-%m-%d %H:%M} UTC", licence="",
                           url=None, sha256=report.sha256)
        s.add(src)
        s.flush()
        carried = [r for k, r in old.items() if k not in new_rows]
        fresh = []
        types = {m.id: m.period_type for m in registry.metrics}
        for r in new_rows.values():
            fresh.append({
                "metric_id": r["metric_id"], "area_code": r["area_code"], "period_end": r["period_end"],
                "period_label": r.get("period_label") or period_label(types[r["metric_id"]], r["period_end"]),
                "agency": r.get("agency") or "", "breakdown": r.get("breakdown") or "",
                "breakdown_value": r.get("breakdown_value") or "", "value": r.get("value"),
                "numerator": r.get("numerator"), "denominator": r.get("denominator"), "published_value": None,
                "status": r.get("status") or "", "illustrative": False, "source_id": src.id,
                "note": r.get("note") or None,
            })
        rows = [_clean(r) | {"version_id": version.id} for r in carried + fresh]
        for i in range(0, len(rows), 5000):
            s.execute(insert(store.Observation.__table__), rows[i:i + 5000])
        partitions = {k for k, b in registry.breakdowns.items() if b.partition}
        layer = pd.DataFrame(rows).assign(source_key=lambda d: d["source_id"].astype(str)) if rows else None
        flags = breakdown_total_warnings(layer, partitions) if layer is not None else []
        flags += [f | {"source_key": str(src.id)} for f in annual_flags]
        if flags:
            s.execute(insert(store.QualityFlag), [
                {k: f[k] for k in ("metric_id", "area_code", "period_end", "severity", "message")}
                | {"source_id": int(f["source_key"]), "version_id": version.id} for f in flags])
        targets = _merge_targets(current_targets, parsed.targets)
        if targets:
            s.execute(insert(store.ImportedTarget), [t | {"version_id": version.id} for t in targets])
        s.add(store.VersionFile(version_id=version.id, filename=report.filename, sha256=report.sha256, size=len(data),
                                content=data))
        version.rows = len(rows)
        report.version_id = version.id
        version.report = json.dumps(report.as_dict(), default=str)
    log.info("import %s accepted as data version %s by %s", report.filename, report.version_id, user)
    return report


def _demand_annual_flags(conn, registry: Registry, rows: list[dict], report: ImportReport) -> list[dict]:
    """The annual check of the monthly demand in the new import layer: where a year to 31 March (or a
    30 September) of an area's months has a published DfE figure, a difference is a data-quality flag
    and a warning in the report (:func:`dashboard.importers.demand.reconcile`). Never an error."""
    from .importers import demand

    monthly = [r for r in rows if r["metric_id"] in demand.BY_ID and not r.get("agency") and not r.get("breakdown")]
    build_v, _ = store.layer_versions(conn)
    if not monthly or build_v is None:
        return []
    areas = sorted({r["area_code"] for r in monthly})
    ob = store.Observation
    q = (select(ob.metric_id, ob.area_code, ob.period_end, ob.value, ob.numerator, ob.denominator, ob.status,
                ob.breakdown)
         .join(store.Source, store.Source.id == ob.source_id)
         .where(ob.version_id == build_v, ob.metric_id.in_(list(demand.PUBLISHED_ANNUAL)), ob.area_code.in_(areas),
                store.Source.kind == "published"))
    published = pd.DataFrame(conn.execute(q).all(), columns=["metric_id", "area_code", "period_end", "value",
                                                             "numerator", "denominator", "status", "breakdown"])
    out = []
    for area in areas:
        annual = demand.annual_from_observations(published, area)
        for w in demand.reconcile(monthly, annual, area_code=area):
            mid = w.split(":", 1)[0]
            title = registry.get(mid).short_title if registry.get(mid) is not None else mid
            text = f"{title}, {area}: {w.split(':', 1)[1].strip()} A data-quality warning, not an error."
            out.append(dict(metric_id=mid, area_code=area, period_end=None, severity="warning", message=text))
            report.warnings.append(f"{report.filename}: {text}")
            report.details.append({"severity": "warning", "file": report.filename, "sheet": None, "row": None,
                                   "column": mid, "value": "", "rule": text, "suggestion": None})
    return out


def _lock_imports(s) -> None:
    """Take the write lock before reading the current layer, so two imports cannot both build on it.

    Writing a row first does it on every database: SQLite takes its write lock (a second importer
    waits, up to the busy timeout), PostgreSQL locks the row until this transaction ends.
    """
    from sqlalchemy import update

    s.execute(update(store.Meta).where(store.Meta.key == "schema").values(value=store.Meta.value))


def _clean(r: dict) -> dict:
    out = {}
    for k in OBS_COLUMNS:
        v = r.get(k)
        if v is not None and not isinstance(v, (str, dt.date)) and pd.isna(v):
            v = None
        out[k] = v
    out["agency"] = out["agency"] or ""
    out["breakdown"] = out["breakdown"] or ""
    out["breakdown_value"] = out["breakdown_value"] or ""
    out["status"] = out["status"] or ""
    out["illustrative"] = bool(out["illustrative"])
    return out


TARGET_KEYS = ["metric_id", "value", "start", "end", "agency", "source", "tolerance", "tolerance_kind",
               "illustrative"]


def _merge_targets(current: list[dict], loaded: list[dict]) -> list[dict]:
    """The import layer's targets after a file: each of the file's targets replaces only the earlier
    imported targets with the same metric and agency whose periods overlap it; the others carry forward.

    (The registry's targets are replaced by the same rule where the layer is read:
    ``Snapshot.effective_registry``.)
    """
    out = [t for t in current
           if not any(n["metric_id"] == t["metric_id"] and target_replaces(n, t) for n in loaded)]
    out += [{k: t.get(k) for k in TARGET_KEYS} for t in loaded]
    for t in out:
        t["illustrative"] = bool(t.get("illustrative"))
    return out


def _in_force(registry: Registry, imported: list[dict]) -> list[dict]:
    """The targets in force now: the registry's not replaced by an imported one, and the imported ones."""
    out = []
    for m in registry.metrics:
        mine = [t for t in imported if t["metric_id"] == m.id]
        for t in m.targets:
            if not any(target_replaces(n, t) for n in mine):
                out.append({"metric_id": m.id, "value": t.value, "start": t.start, "end": t.end,
                            "agency": t.agency, "source": t.source, "illustrative": t.illustrative,
                            "tolerance": None, "tolerance_kind": None, "_from": "registry"})
    out += [dict(t, _from="an earlier import") for t in imported]
    return out


def _target_text(t: dict) -> str:
    def day(d) -> str:
        return f"{d:%d/%m/%Y}" if d else "open"

    who = t.get("agency") or "all agencies"
    return (f"'{t['metric_id']}' for {who}, {day(t.get('start'))} to {day(t.get('end'))}: {t['value']:g} "
            f"({t.get('source') or 'no source'})")


def _target_changes(registry: Registry, current: list[dict], loaded: list[dict], report: ImportReport) -> None:
    """Fill the report's lists of targets added, changed and removed by the file's targets."""
    in_force = _in_force(registry, current)
    for new in loaded:
        hit = [t for t in in_force if t["metric_id"] == new["metric_id"] and target_replaces(new, t)]
        same_span = [t for t in hit if (t["start"], t["end"]) == (new.get("start"), new.get("end"))]
        if not hit:
            report.targets_added.append(_target_text(new))
        for t in hit:
            if t in same_span:
                if (t["value"], t["source"], bool(t["illustrative"])) == (new["value"], new.get("source"),
                                                                          bool(new.get("illustrative"))):
                    continue  # the same target again
                report.targets_changed.append(f"{_target_text(t)} becomes {new['value']:g} "
                                              f"({new.get('source')}) [was from {t['_from']}]")
            else:
                report.targets_removed.append(f"{_target_text(t)} [from {t['_from']}], replaced by "
                                              f"{_target_text(new)}")
        in_force = [t for t in in_force if not any(t is h for h in hit)]


PENDING_MINUTES = 60


def stage_upload(engine: Engine, *, user: str, filename: str, data: bytes) -> str:
    """Keep a checked upload until its analyst confirms it (at most PENDING_MINUTES); returns the token.

    Only the token's SHA-256 is stored; stale uploads are cleared on the way.
    """
    import secrets

    from .auth.service import token_hash, utcnow

    token = secrets.token_urlsafe(32)
    with store.session_scope(engine) as s:
        s.execute(delete(store.PendingUpload).where(
            store.PendingUpload.created_at < utcnow() - dt.timedelta(minutes=PENDING_MINUTES)))
        s.add(store.PendingUpload(id=token_hash(token), created_by=user, created_at=utcnow(), filename=filename,
                                  content=data))
    return token


def take_staged_upload(engine: Engine, token: str, *, user: str) -> tuple[bytes, str] | None:
    """The staged upload for ``token`` if it is ``user``'s and not stale, removed from the store; else None."""
    from .auth.service import token_hash, utcnow

    with store.session_scope(engine) as s:
        pending = s.get(store.PendingUpload, token_hash(token or ""))
        if pending is None or pending.created_by != user or \
                pending.created_at < utcnow() - dt.timedelta(minutes=PENDING_MINUTES):
            return None
        got = (pending.content, pending.filename)
        s.delete(pending)
    return got


def restore_version(engine: Engine, version_id: int, *, user: str) -> int:
    """Make an earlier version current again, as a new (restore) version. Returns its id.

    An import or restore version: its import layer (figures and targets) is copied into the new
    version. A build version (the published data, built from data/): the new version has an empty
    import layer, so the dashboard shows the published data (the newest build) with no imported
    figures or targets. The build layer itself is never changed by a restore.
    """
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    try:
        with store.session_scope(engine) as s:
            _lock_imports(s)
            old = s.get(store.DataVersion, version_id)
            if old is None:
                raise ValueError(f"data version {version_id} does not exist: `versions list` (or the data "
                                 "versions page) lists the versions that can be restored")
            if old.kind not in ("import", "restore", "build"):
                raise ValueError(f"data version {version_id} ({old.kind}) cannot be restored")
            conn = s.connection()
            if old.kind == "build":
                layer, targets = _current_layer(conn, None), []
                label = (f"Restore of data version {version_id} (published data only: no imported figures or "
                         "targets)")
            else:
                layer = _current_layer(conn, version_id)
                targets = _current_targets(conn, version_id)
                label = f"Restore of data version {version_id} ({old.label})"
            version = store.DataVersion(created_at=now, kind="restore", label=label[:200],
                                        fingerprint=old.fingerprint, created_by=user, rows=len(layer),
                                        restored_from=version_id,
                                        filename=old.filename if old.kind != "build" else None)
            s.add(version)
            s.flush()
            rows = [_clean(r) | {"version_id": version.id} for r in layer.to_dict("records")]
            for i in range(0, len(rows), 5000):
                s.execute(insert(store.Observation.__table__), rows[i:i + 5000])
            if targets:
                s.execute(insert(store.ImportedTarget), [t | {"version_id": version.id} for t in targets])
            new_id = version.id
    except (OperationalError, DBAPIError) as exc:
        raise StoreUnavailable(_db_message(exc)) from exc
    log.info("data version %s restored as %s by %s", version_id, new_id, user)
    return new_id


def list_versions(engine: Engine) -> list[store.DataVersion]:
    try:
        with store.Session(engine) as s:
            return list(s.scalars(select(store.DataVersion).order_by(store.DataVersion.id.desc())))
    except SQLAlchemyError as exc:
        raise StoreUnavailable(_db_message(exc)) from exc


def original_file(engine: Engine, version_id: int) -> store.VersionFile | None:
    with store.Session(engine) as s:
        return s.get(store.VersionFile, version_id)
