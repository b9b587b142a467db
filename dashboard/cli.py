"""Command line: ``python -m dashboard --help``."""
from __future__ import annotations

import argparse
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


def cmd_db_upgrade(args) -> int:
    from . import migrate
    from .store import get_engine

    before, after = migrate.upgrade(get_engine(load_settings().database_url))
    if before == after:
        print(f"The database is at the newest schema ({after}); nothing to do.")
    else:
        print(f"Upgraded the database schema from {before or 'none'} to {after}.")
    return 0


def cmd_db_current(args) -> int:
    from . import migrate
    from .store import get_engine

    rev, newest = migrate.current(get_engine(load_settings().database_url)), migrate.head()
    state = "up to date" if rev == newest else f"behind: `python -m dashboard db upgrade` takes it to {newest}"
    print(f"Schema revision {rev or 'none (empty, or made before migrations)'}; {state}.")
    return 0


def cmd_db_revision(args) -> int:
    """For developers: write a new revision (compared with the models when --autogenerate)."""
    from alembic import command

    from . import migrate
    from .store import get_engine

    engine = get_engine(load_settings().database_url)
    migrate.upgrade(engine)  # autogenerate compares the models with a database at head
    with engine.begin() as conn:
        command.revision(migrate.make_config(connection=conn), message=args.message,
                         autogenerate=args.autogenerate, rev_id=args.rev_id)
    return 0


def _scorecard_rows(la: str, as_of: dt.date | None, all_metrics: bool = False):
    """The scorecard rows the screens show (with benchmarks), for the configured framework's metrics or every one."""
    from .data import get_manager
    from .registry import UnknownFramework
    from .state import ViewState
    from .views import make_context, scorecard

    mgr = get_manager()
    snap = mgr.snapshot()
    area = snap.area(la)
    if area is None or area["level"] != "la":
        raise SystemExit(f"error: --la {la!r} is not an English local authority code (try `python -m dashboard areas`)")
    try:
        ctx = make_context(snap, mgr.registry, ViewState(la=area["code"], as_of=as_of, sn=mgr.settings.sn_model),
                           mgr.settings.la_code, framework=mgr.settings.framework)
    except UnknownFramework as exc:
        raise SystemExit(f"error: DASHBOARD_FRAMEWORK: {exc.args[0]}") from None
    return area, scorecard(ctx, all_metrics=all_metrics), snap


FIELDS = ["metric_id", "title", "period", "value", "numerator", "denominator", "target", "rag"]


def cmd_scorecard(args) -> int:
    from .formatting import number

    area, rows, snap = _scorecard_rows(args.la or load_settings().la_code, args.as_of, args.all_metrics)
    records = [r.as_record() for r in rows]
    if args.format == "json":
        json.dump({"area": {"code": area["code"], "old_code": area["old_code"], "name": area["name"]},
                   "as_of": args.as_of.isoformat() if args.as_of else None, "data_version": snap.version_id,
                   "metrics": [spc_nested(r) for r in records]}, sys.stdout, indent=2, default=str)
        print()
    elif args.format == "csv":
        from .exports import records_csv

        # One rule for every CSV the product writes: agency names and target sources that begin
        # with =, +, - or @ are neutralised so that a spreadsheet does not run them.
        sys.stdout.write(records_csv(records, list(records[0].keys()) if records else FIELDS))
    else:
        print(f"{area['name']} ({area['old_code']}, {area['code']}) - data version {snap.version_id}"
              + (f" - as of {args.as_of.isoformat()}" if args.as_of else ""))
        table = [["id", "title", "period", "value", "numerator", "denominator", "target", "RAG", "rank", "band",
                  "SPC variation", "SPC assurance"]]
        for r in rows:
            val = r.status_symbol if r.value is None and r.status_symbol else number(r.value, _dec(r.metric_id))
            table.append([r.metric_id, r.short_title, r.period_label or "-", val or "-",
                          number(r.numerator, 0) or "-", number(r.denominator, 0) or "-",
                          ("" if r.target is None else f"{r.target:g}") + ("*" if r.target_illustrative else "") or "-",
                          r.rag.label, f"{r.rank}/{r.rank_of}" if r.rank is not None else "-",
                          r.quartile_band or "-", *spc_words(r)])
        widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
        for i, row in enumerate(table):
            print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
            if i == 0:
                print("  ".join("-" * w for w in widths))
        if any(r.target_illustrative for r in rows):
            print("* illustrative target (an example, not one set by the partnership)")
    return 0


def spc_nested(record: dict) -> dict:
    """A scorecard record for JSON: the SPC fields as ``"spc": {"variation", "assurance", "trial"}``."""
    out = {k: v for k, v in record.items() if not k.startswith("spc_")}
    out["spc"] = {"variation": record.get("spc_variation"), "assurance": record.get("spc_assurance"),
                  "trial": record.get("spc_trial")}
    return out


def spc_words(row) -> list[str]:
    """The SPC icons of a scorecard row as shape and word, for the table."""
    from .registry import get_registry
    from .spc_view import assurance_icon, variation_icon

    metric = get_registry(load_settings().registry_path).get(row.metric_id)
    v = variation_icon(row.spc_variation)
    a = assurance_icon(row.spc_assurance, metric, row.spc_variation is not None)
    trial = " (trial)" if row.spc_trial else ""
    return [f"{v[0]} {v[1]}{trial}", f"{a[0]} {a[1]}"]


def _dec(metric_id: str) -> int:
    from .registry import get_registry

    return get_registry(load_settings().registry_path).metric(metric_id).decimals


def _demand_view(la: str | None, months: int):
    from .data import get_manager
    from .demand_view import demand_view
    from .state import ViewState
    from .views import UnknownArea, make_context

    settings = load_settings()
    mgr = get_manager()
    try:
        ctx = make_context(mgr.snapshot(), mgr.registry, ViewState(la=la), settings.la_code)
    except UnknownArea:
        raise SystemExit(f"error: --la {la!r} is not an English local authority code (try `python -m dashboard "
                         "areas`)") from None
    return ctx, demand_view(ctx, months)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = []
    for i, row in enumerate(rows):
        out.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def demand_text(view) -> str:
    """The demand command's table output: the flow, each series with its projection, and capacity."""
    from .formatting import number

    def n(v, d=0):
        return number(v, d) or "-"

    def pct(v):
        return "-" if v is None else f"{v:.1f}%"

    lines = [f"Monthly demand: {view.la_name} ({view.la_code}) - data version {view.data_version}"]
    if view.illustrative:
        lines.append(view.words)
    if view.real:
        lines.append(view.real_words)
    if view.quality:
        lines += ["", "Data-quality warnings (the months against DfE's published years; warnings, not errors):"]
        lines += [f"  Warning: {w}" for w in view.quality]
    f = view.flow_window
    lines += ["", f"Flow from contact to plan: {view.months} months to {f[1] or '-'} against the {view.months} "
              f"months to {f[3] or '-'}"]
    rows = [["step", "count", "before", "conversion", "before"]]
    for st in view.flow:
        rows.append([st.title, n(st.current), n(st.previous), pct(st.conversion), pct(st.conversion_previous)])
    lines += _table(rows)
    if view.conversions:
        year = next((c.published_period for c in view.conversions if c.published_period), "-")
        lines += ["", f"Conversion per 100 of the step before, against DfE's published ratios ({year})"]
        rows = [["step", "now", "before", "published here", "England", "neighbours' median"]]
        for c in view.conversions:
            rows.append([c.words, n(c.current, 1), n(c.previous, 1), n(c.published_la, 1), n(c.england, 1),
                         n(c.neighbours, 1)])
        lines += _table(rows)
    lines += ["", "Series (projection: point [80% interval] [95% interval]; back-test MAPE over the last 12 months "
                  "held out)"]
    rows = [["metric", "latest month", "value", "window", "now", "before", "change", "6 months ahead",
             "12 months ahead", "back-test"]]
    notes = []
    for s in view.series:
        d = s.decimals
        cells = []
        for h in (6, 12):
            a = s.ahead(h)
            cells.append("-" if a is None else f"{n(a['point'], d)} [{n(a['lower_80'], d)}-{n(a['upper_80'], d)}] "
                                               f"[{n(a['lower_95'], d)}-{n(a['upper_95'], d)}]")
        bt = s.projection.backtest
        if bt is not None and bt.mape is not None:
            back = f"MAPE {bt.mape:.1f}%"
        else:
            back = "none"
        if not s.projection.available:
            notes.append(f"{s.metric_id}: {s.projection.reason}")
        elif bt is None:
            notes.append(f"{s.metric_id}: {s.projection.backtest_reason}")
        change = "-" if s.change is None else (f"{s.change:+,.{d}f}" + (f" ({s.change_pct:+.1f}%)"
                                                                         if s.change_pct is not None else ""))
        rows.append([s.metric_id, str(s.latest_period or "-"), n(s.latest_value, d), s.window, n(s.current, d),
                     n(s.previous, d), change, *cells, back])
    lines += _table(rows)
    lines += notes
    lines += ["", "Rates per 10,000 children aged 0-17 (flows: the 12 months to the month; stocks: at month end) "
                  "and SPC"]
    rows = [["metric", "rate", "basis", "before", "published here", "England", "neighbours' median", "SPC"]]
    for s in view.series:
        r = s.rate
        rows.append([s.metric_id, n(r.value, 1) if r else "-",
                     (f"{r.basis} {r.period}" if r else "-"), n(r.previous, 1) if r else "-",
                     (f"{n(r.published_la, 1)} ({r.published_period})" if r and r.published_la is not None else "-"),
                     n(r.england, 1) if r else "-", n(r.neighbours, 1) if r else "-", s.spc_words])
    lines += _table(rows)
    c = view.capacity
    lines += ["", "Capacity"]
    target = "none set" if c.target is None else f"{c.target:g}" + (" (illustrative target)" if c.target_illustrative
                                                                      else "")
    lines.append(f"  Caseload implied by open cases (children in need / social worker FTE in post), "
                 f"{c.now_period or '-'}: {n(c.implied_caseload, 1)}; target {target}")
    lines.append(f"  Projected: 6 months ahead {n(c.projected.get(6), 1)}, 12 months ahead "
                 f"{n(c.projected.get(12), 1)}")
    lines.append(f"  Agency share of FTE: {pct(c.agency_share)}; reported average caseload: "
                 f"{n(c.reported_caseload, 1)}")
    lines.append(f"  {c.crossing_words}")
    return "\n".join(lines) + "\n"


DEMAND_CSV = ["section", "metric_id", "title"]


def demand_csv(view) -> str:
    from .exports import records_csv

    records = [dict(section="flow", **st.record()) for st in view.flow]
    records += [dict(section="conversion", metric_id=c.to_id, title=c.words, **c.record()) for c in view.conversions]
    for s in view.series:
        rec = s.record()
        for part in ("rate", "spc"):
            for k, v in (rec.pop(part) or {}).items():
                rec[f"{part}_{k}"] = v
        records.append(dict(section="series", **rec))
    records += [dict(section="quality", metric_id="", title="Data-quality warning", warning=w) for w in view.quality]
    records.append(dict(section="capacity", metric_id="capacity", title="Caseload implied by open cases",
                        **{k: v for k, v in view.capacity.record().items() if k != "projected"},
                        **{f"projected_{h}": v for h, v in view.capacity.projected.items()}))
    for r in records:
        r["illustrative_note"] = view.words
        r["recorded_note"] = view.real_words
        r["authority"] = f"{view.la_name} ({view.la_code})"
        r["data_version"] = view.data_version
    fields = list(DEMAND_CSV)
    for r in records:
        fields += [k for k in r if k not in fields]
    return records_csv(records, fields)


def cmd_demand(args) -> int:
    if args.months < 1:
        raise SystemExit("error: --months must be at least 1")
    _, view = _demand_view(args.la, args.months)
    if args.format == "json":
        json.dump(view.record(), sys.stdout, indent=2, default=str)
        print()
    elif args.format == "csv":
        sys.stdout.write(demand_csv(view))
    else:
        sys.stdout.write(demand_text(view))
    return 0


def cmd_areas(args) -> int:
    from .data import get_manager

    snap = get_manager().snapshot()
    for a in snap.local_authorities():
        region = snap.area(a["region_code"])["name"] if a.get("region_code") and snap.area(a["region_code"]) else ""
        print(f"{a['old_code'] or '-':>4}  {a['code']}  {a['name']}  ({region})")
    return 0


def _engine():
    from .store import get_engine, init_db

    engine = get_engine(load_settings().database_url)
    init_db(engine)
    return engine


def cmd_users_add(args) -> int:
    from .auth import service as auth

    engine = _engine()
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    try:
        user, pw = auth.create_user(engine, args.name, args.role, password)
    except auth.AuthError as exc:
        raise SystemExit(f"error: {exc}") from None
    auth.audit(engine, actor="cli", role="admin", action="user.create", target=args.name, detail=args.role)
    print(f"Created {args.role} {args.name!r}.")
    if password is None:
        print(f"One-time password (shown once, change it after signing in): {pw}")
    return 0


def cmd_users_disable(args) -> int:
    from .auth import service as auth

    engine = _engine()
    try:
        auth.set_disabled(engine, args.name, not args.enable)
    except auth.AuthError as exc:
        raise SystemExit(f"error: {exc}") from None
    auth.audit(engine, actor="cli", role="admin", action="user.enable" if args.enable else "user.disable",
               target=args.name)
    print(f"{'Enabled' if args.enable else 'Disabled'} {args.name!r}"
          + ("" if args.enable else "; their sessions have ended."))
    return 0


def cmd_users_unlock(args) -> int:
    """Clear the failed-password count of a user name (or an address), so the next attempt is not delayed."""
    from .auth import service as auth

    engine = _engine()
    if not args.name and not args.ip:
        raise SystemExit("error: give a user NAME or --ip ADDRESS")
    auth.unlock(engine, name=args.name, ip=args.ip)
    print(f"Cleared the failed-password count for {args.name or args.ip}.")
    return 0


def cmd_users_list(args) -> int:
    from .auth import service as auth

    for u in auth.list_users(_engine()):
        print(f"{u.name:<24} {u.role:<8} {'disabled' if u.disabled else 'active'}")
    return 0


def cmd_users_first_run(args) -> int:
    """With no users at all, create an admin with a random one-time password and print it once."""
    from .auth import service as auth

    engine = _engine()
    if auth.count_users(engine):
        return 0
    user, pw = auth.create_user(engine, "admin", "admin")
    auth.audit(engine, actor="cli", role="admin", action="user.create", target="admin", detail="first run")
    bar = "=" * 72
    print(f"{bar}\nFirst run: created the user 'admin' with this one-time password (shown once):\n\n    {pw}\n\n"
          f"Sign in at /login. Add people with `python -m dashboard users add NAME --role ROLE`.\n{bar}")
    return 0


def link_scope(items: list[str] | None, settings, engine, registry) -> dict:
    """The scope of a new inspector link from ``--scope`` options, every code and id checked.

    An empty or unknown scope is refused: a scope that named nothing would mean "everything".
    """
    from sqlalchemy import select

    from .store import Area
    from .auth.policy import default_scope

    with engine.connect() as c:
        la_codes = {str(code).upper() for row in c.execute(select(Area.code, Area.old_code).where(Area.level == "la"))
                    for code in row if code}
    scope = default_scope(settings)
    for item in items or []:
        key, _, val = item.partition("=")
        values = [v.strip() for v in val.split(",") if v.strip()]
        if key not in ("la", "metrics") or not values:
            raise SystemExit(f"error: --scope {item!r}: use la=CODE[,CODE] or metrics=ID[,ID], naming at least one")
        if key == "la":
            bad = [v for v in values if v.upper() not in la_codes]
            if bad:
                raise SystemExit(f"error: --scope {item!r}: {', '.join(bad)} is not an English local authority code "
                                 "(see `python -m dashboard areas`)")
            scope["las"] = values
        else:
            bad = [v for v in values if registry.get(v) is None]
            if bad:
                raise SystemExit(f"error: --scope {item!r}: {', '.join(bad)} is not a metric id in the registry")
            scope["metrics"] = values
    return scope


def cmd_share_create(args) -> int:
    from .auth import service as auth
    from .registry import get_registry

    settings = load_settings()
    engine = _engine()
    scope = link_scope(args.scope, settings, engine, get_registry(settings.registry_path))
    expires = dt.datetime.combine(args.expires, dt.time(23, 59, 59))
    try:
        link, token = auth.create_link(engine, label=args.label, expires_at=expires, issued_by="cli", scope=scope,
                                       max_days=settings.max_link_days)
    except auth.AuthError as exc:
        raise SystemExit(f"error: {exc}") from None
    auth.audit(engine, actor="cli", role="admin", action="link.create", target=f"link:{link.id}", detail=args.label)
    base = (args.base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    print(f"Link {link.id} for {args.label!r}, valid until {expires:%Y-%m-%d %H:%M} UTC, scope {scope}.")
    print("Copy it now; it cannot be shown again:")
    print(f"{base}/share/{token}")
    return 0


def cmd_share_list(args) -> int:
    from .auth import service as auth

    now = auth.utcnow()
    for link in auth.list_links(_engine()):
        state = "revoked" if link.revoked_at else ("expired" if link.expires_at <= now else "active")
        print(f"{link.id:>4}  {state:<8} expires {link.expires_at:%Y-%m-%d %H:%M}  opened {link.uses}x  "
              f"last {link.last_used_at or '-'}  by {link.issued_by}  {link.label}  {link.scope}")
    return 0


def cmd_share_revoke(args) -> int:
    from .auth import service as auth

    if args.all == (args.id is not None):
        raise SystemExit("error: give a link ID or --all")
    engine = _engine()
    n = auth.revoke_links(engine, None if args.all else args.id)
    auth.audit(engine, actor="cli", role="admin", action="link.revoke_all" if args.all else "link.revoke",
               target="all" if args.all else f"link:{args.id}", outcome="ok" if n else "failed")
    print(f"Revoked {n} link(s); their sessions have ended.")
    return 0 if n or args.all else 1


def cmd_meetings_add(args) -> int:
    """Create a meeting (as the command line, with the admin's rights) and print its id."""
    from . import meetings

    try:
        m = meetings.create_meeting(_engine(), date=args.date, title=args.title, actor="cli", role="admin")
    except meetings.MeetingError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(m.id)
    return 0


def cmd_meetings_list(args) -> int:
    """Every meeting, newest first: id, date, title (tab-separated)."""
    from . import meetings

    for m in meetings.list_meetings(_engine()):
        print(f"{m.id}\t{m.date.isoformat()}\t{m.title}")
    return 0


def cmd_pack(args) -> int:
    """The meeting pack for an authority and a meeting: a PDF (printed by Chromium) or an XLSX, by --out's suffix."""
    from pathlib import Path

    from . import meetings, pack
    from .data import get_manager
    from .state import ViewState
    from .views import make_context

    out = Path(args.out)
    kind = out.suffix.lower()
    if kind not in (".pdf", ".xlsx"):
        raise SystemExit("error: --out must end in .pdf or .xlsx")
    mgr = get_manager()
    snap = mgr.snapshot()
    area = snap.area(args.la)
    if area is None or area["level"] != "la":
        raise SystemExit(f"error: --la {args.la!r} is not an English local authority code "
                         "(try `python -m dashboard areas`)")
    meeting = meetings.get_meeting(mgr.engine, args.meeting)
    if meeting is None:
        raise SystemExit(f"error: there is no meeting {args.meeting} (try `python -m dashboard meetings list`)")
    ctx = make_context(snap, mgr.registry, ViewState(la=area["code"], sn=mgr.settings.sn_model), mgr.settings.la_code,
                       framework=mgr.settings.framework)
    view = pack.published_view(mgr.engine, ctx, meeting)
    try:
        data = pack.pack_xlsx(ctx, view) if kind == ".xlsx" else pack.html_to_pdf(pack.pack_html(ctx, view))
    except pack.PackError as exc:
        raise SystemExit(f"error: {exc}") from None
    out.write_bytes(data)
    print(f"Wrote {out} ({len(view.items)} exceptions, {len(data):,} bytes).")
    return 0


def cmd_import(args) -> int:
    from .auth import service as auth
    from .imports import ImportRefused, StoreUnavailable, import_return
    from .registry import get_registry

    settings = load_settings()
    engine = _engine()
    path = args.file
    try:
        data = open(path, "rb").read()
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        report = import_return(engine, get_registry(settings.registry_path), data, path, user=args.user,
                               dry_run=args.dry_run, default_area=settings.la_code)
    except ImportRefused as exc:
        print(exc.report.text())
        auth.audit(engine, actor=args.user, role="analyst", action="import.refused", outcome="denied", target=path,
                   detail=f"{len(exc.report.problems)} problems")
        return 1
    except StoreUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.text())
    if not args.dry_run:
        auth.audit(engine, actor=args.user, role="analyst", action="import.accepted", target=path,
                   detail=f"data version {report.version_id}")
    return 0


def cmd_versions_list(args) -> int:
    from .imports import list_versions

    for v in list_versions(_engine()):
        print(f"{v.id:>5}  {v.created_at:%Y-%m-%d %H:%M}  {v.kind:<8} {v.created_by:<16} rows {v.rows:>6}  "
              f"{(v.fingerprint or '')[:12]:<12}  {v.label}")
    return 0


def cmd_versions_restore(args) -> int:
    from .auth import service as auth
    from .imports import StoreUnavailable, restore_version

    engine = _engine()
    try:
        new_id = restore_version(engine, args.id, user=args.user)
    except (ValueError, StoreUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    auth.audit(engine, actor=args.user, role="admin", action="version.restore", target=f"version {args.id}",
               detail=f"new version {new_id}")
    print(f"Restored data version {args.id} as data version {new_id}.")
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
    s.add_argument("--all-metrics", action="store_true",
                   help="every metric in the registry, not only the partnership framework's (DASHBOARD_FRAMEWORK)")
    s.set_defaults(func=cmd_scorecard)

    d = sub.add_parser("demand", help="print monthly demand, its projection and capacity for an authority",
                       description="The flow from contact to plan, each monthly demand series with its latest month, "
                                   "change, projection (80% and 95% intervals) and back-test error, and capacity: "
                                   "the same numbers as the demand page. Illustrative months are labelled.")
    d.add_argument("--la", default=None, help="DfE (e.g. 883) or GSS (e.g. E06000034) code; default DASHBOARD_LA")
    d.add_argument("--months", type=int, default=12, help="the window compared with the one before (default 12)")
    d.add_argument("--format", choices=["table", "csv", "json"], default="table")
    d.set_defaults(func=cmd_demand)

    from .spc_cli import add_command as add_spc_command

    add_spc_command(sub)

    a = sub.add_parser("areas", help="list the local authorities and their codes")
    a.set_defaults(func=cmd_areas)

    im = sub.add_parser("import", help="validate a return and load it as a new data version",
                        description="Check a return (CSV or XLSX) against the registry and the rules in "
                                    "docs/data-format.md, reporting every problem at once. An accepted file is "
                                    "loaded in one transaction as a new data version; a refused file changes "
                                    "nothing. Exit status: 0 accepted, 1 refused, 2 could not read or write.")
    im.add_argument("file")
    im.add_argument("--dry-run", action="store_true", help="check and summarise the changes; write nothing")
    im.add_argument("--user", default="cli", help="who is loading it, for the version and audit log")
    im.set_defaults(func=cmd_import)

    v = sub.add_parser("versions", help="list data versions, or restore an earlier one")
    vs = v.add_subparsers(dest="versions_command", required=True, metavar="ACTION")
    vl = vs.add_parser("list", help="list data versions, newest first")
    vl.set_defaults(func=cmd_versions_list)
    vr = vs.add_parser("restore", help="make an earlier version current again, as a new version: an import's "
                       "figures and targets, or (for a build version) the published data with no imports")
    vr.add_argument("id", type=int)
    vr.add_argument("--user", default="cli")
    vr.set_defaults(func=cmd_versions_restore)

    u = sub.add_parser("users", help="manage staff users (admin, analyst, viewer)")
    us = u.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    ua = us.add_parser("add", help="add a user; prints a one-time password unless --password-stdin")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=["admin", "analyst", "viewer"])
    ua.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    ua.set_defaults(func=cmd_users_add)
    ud = us.add_parser("disable", help="disable a user and end their sessions")
    ud.add_argument("name")
    ud.add_argument("--enable", action="store_true", help="re-enable instead")
    ud.set_defaults(func=cmd_users_disable)
    uu = us.add_parser("unlock", help="clear a user's (or an address's) failed-password count",
                       description="Failed passwords slow further attempts (1 s, 2 s, 4 s ... up to 15 minutes "
                                   "after the last failure) for a user name and for an address. This clears the "
                                   "count, so the next attempt is looked at at once.")
    uu.add_argument("name", nargs="?")
    uu.add_argument("--ip", help="clear the count of this address instead")
    uu.set_defaults(func=cmd_users_unlock)
    ul = us.add_parser("list", help="list users")
    ul.set_defaults(func=cmd_users_list)
    uf = us.add_parser("first-run", help="with no users, create 'admin' with a one-time password (make run does this)")
    uf.set_defaults(func=cmd_users_first_run)

    sh = sub.add_parser("share", help="inspector links: create, list, revoke")
    ss = sh.add_subparsers(dest="share_command", required=True, metavar="ACTION")
    sc = ss.add_parser("create", help="create a read-only inspector link and print its URL once")
    sc.add_argument("--label", required=True, help="who it is for, e.g. 'Ofsted ILACS 2026'")
    sc.add_argument("--expires", required=True, type=_date, metavar="DATE", help="last day it works (YYYY-MM-DD)")
    sc.add_argument("--scope", action="append", metavar="KEY=VALUES",
                    help="la=CODE[,CODE] (default: the configured authority) or metrics=ID[,ID] (default: all)")
    sc.add_argument("--base-url", help="the dashboard's public address (default http://HOST:PORT)")
    sc.set_defaults(func=cmd_share_create)
    sl = ss.add_parser("list", help="list links")
    sl.set_defaults(func=cmd_share_list)
    sr = ss.add_parser("revoke", help="revoke a link (or --all) and end its sessions")
    sr.add_argument("id", nargs="?", type=int)
    sr.add_argument("--all", action="store_true")
    sr.set_defaults(func=cmd_share_revoke)

    pk = sub.add_parser("pack", help="the meeting pack for an authority: PDF (printed by Chromium) or XLSX")
    pk.add_argument("--la", default=None, help="DfE or GSS code (default: DASHBOARD_LA)")
    pk.add_argument("--meeting", required=True, type=int, metavar="ID")
    pk.add_argument("--out", required=True, metavar="FILE.pdf|FILE.xlsx")
    pk.set_defaults(func=cmd_pack)

    mp = sub.add_parser("meetings", help="the panel's meetings: add one, list them")
    ms = mp.add_subparsers(dest="meetings_command", required=True, metavar="ACTION")
    ma = ms.add_parser("add", help="add a meeting; prints its id")
    ma.add_argument("--date", required=True, type=_date, metavar="YYYY-MM-DD")
    ma.add_argument("--title", required=True)
    ma.set_defaults(func=cmd_meetings_add)
    ml = ms.add_parser("list", help="list meetings, newest first: id, date, title")
    ml.set_defaults(func=cmd_meetings_list)

    d = sub.add_parser("db", help="database schema: upgrade, current revision, new revision",
                       description="The schema is changed only by migrations (dashboard/migrations). Every command "
                                   "that opens the database upgrades it first; these show and do it on their own.")
    ds = d.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    du = ds.add_parser("upgrade", help="upgrade the database to the newest schema, in one transaction")
    du.set_defaults(func=cmd_db_upgrade)
    dc = ds.add_parser("current", help="print the database's schema revision")
    dc.set_defaults(func=cmd_db_current)
    dr = ds.add_parser("revision", help="(developers) write a new migration in dashboard/migrations/versions")
    dr.add_argument("-m", "--message", required=True)
    dr.add_argument("--autogenerate", action="store_true", help="draft it from the difference with the models")
    dr.add_argument("--rev-id", required=True, help="the next number, e.g. 0003")
    dr.set_defaults(func=cmd_db_revision)
    return p


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    if getattr(args, "la", "x") is None:
        args.la = load_settings().la_code
    from sqlalchemy.exc import SQLAlchemyError

    from .migrate import SchemaMismatch

    try:
        return args.func(args)
    except BrokenPipeError:
        return 0
    except SchemaMismatch as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"error: the database could not be reached or used ({type(exc).__name__}); nothing was changed. "
              "Check DATABASE_URL and that the server is running.", file=sys.stderr)
        return 2
