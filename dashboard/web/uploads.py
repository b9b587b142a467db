"""Upload page for analysts and admins, and data versions for admins: plain server-rendered HTML.

Upload -> every problem listed at once, or a summary of what will change -> "Load this file" ->
one transaction -> a new data version. Nothing is written until the analyst confirms, and a
refused file writes nothing at all.
"""
from __future__ import annotations

import datetime as dt
import secrets
from html import escape

from flask import Flask, Response, redirect, request
from sqlalchemy import delete

from .. import store
from ..auth import service as auth
from ..auth.policy import ADMINS, ANALYSTS
from ..exports import safe_filename
from ..imports import (ALLOWED_SUFFIXES, MAX_UPLOAD_BYTES, ImportRefused, StoreUnavailable, check_upload,
                       import_return, list_versions, original_file, restore_version)
from .security import csrf_token, page, principal, require_role

PENDING_MINUTES = 60


def _problems_table(details: list[dict]) -> str:
    if not details:
        return ""
    rows = []
    for d in details:
        where = d.get("sheet") or ""
        sug = f" ({escape(d['suggestion'])})" if d.get("suggestion") else ""
        rows.append(f"<tr class='problem-{escape(d['severity'])}'><td>{'Error' if d['severity'] == 'error' else 'Warning'}"
                    f"</td><td>{escape(str(where))}</td><td>{escape(str(d.get('row') or ''))}</td>"
                    f"<td>{escape(str(d.get('column') or ''))}</td><td><code>{escape(str(d.get('value') or ''))}</code></td>"
                    f"<td>{escape(d['rule'])}{sug}</td></tr>")
    return ("<div class='table-responsive' tabindex='0' role='region' aria-label='Problems'>"
            "<table class='table table-sm' id='problems'><caption>Every problem found in the file</caption><thead><tr>"
            + "".join(f"<th scope='col'>{h}</th>" for h in ("Kind", "Sheet", "Row", "Column", "Value", "What to fix"))
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")


def _summary_table(report) -> str:
    rows = "".join(f"<tr><th scope='row'>{escape(m)}</th><td>{c['added']}</td><td>{c['changed']}</td>"
                   f"<td>{c['unchanged']}</td></tr>" for m, c in sorted(report.by_metric.items()))
    return ("<table class='table table-sm' id='change-summary'><caption>What will change, by metric</caption><thead><tr>"
            "<th scope='col'>Metric</th><th scope='col'>Added</th><th scope='col'>Changed</th>"
            "<th scope='col'>Unchanged</th></tr></thead><tbody>" + rows + "</tbody></table>")


def _targets_table(report) -> str:
    """Every target in force that loading the file adds, changes or removes (registry and earlier imports)."""
    items = [("Added", t) for t in report.targets_added] + [("Changed", t) for t in report.targets_changed] \
        + [("Removed", t) for t in report.targets_removed]
    if not items:
        return ""
    rows = "".join(f"<tr><th scope='row'>{kind}</th><td>{escape(text)}</td></tr>" for kind, text in items)
    return ("<table class='table table-sm' id='target-changes'><caption>What will change in the targets in force: an "
            "imported target replaces only the targets for the same metric and agency whose periods overlap it"
            "</caption><thead><tr><th scope='col'>Change</th><th scope='col'>Target</th></tr></thead><tbody>"
            + rows + "</tbody></table>")


def _form(message: str = "") -> str:
    return f"""{message}
<form method="post" action="/upload" enctype="multipart/form-data" style="max-width:36rem">
<input type="hidden" name="csrf_token" value="{escape(csrf_token())}">
<div class="mb-3"><label class="form-label" for="file">Return file (.csv or .xlsx, up to {MAX_UPLOAD_BYTES // 1024 // 1024} MB)</label>
<input class="form-control" id="file" name="file" type="file" accept="{','.join(ALLOWED_SUFFIXES)}" required></div>
<button class="btn btn-primary" type="submit">Check the file</button>
</form>
<p>Nothing is loaded until you have seen what will change and confirmed it.
Templates: <a href="/upload/template.csv">CSV</a> · <a href="/upload/template.xlsx">Excel</a>.
The format is described in the project's <code>docs/data-format.md</code>.</p>"""


def install_uploads(server: Flask, mgr) -> None:
    engine = mgr.engine
    server.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES + 64 * 1024  # refused before parsing (413)

    def audit(action: str, outcome: str = "ok", target: str = "", detail: str = "") -> None:
        p = principal()
        auth.audit(engine, actor=p.actor if p else "anonymous", role=p.role if p else "anonymous", action=action,
                   outcome=outcome, target=target, ip=request.remote_addr or "", detail=detail)

    @server.errorhandler(413)
    def too_large(_e):
        return page("Upload a return", _form(f"<div class='alert alert-danger' role='alert'>The file is larger than "
                                              f"{MAX_UPLOAD_BYTES:,} bytes and was not read.</div>"), 413)

    @server.get("/upload")
    def upload_form():
        require_role(*ANALYSTS)
        return page("Upload a return", _form())

    @server.post("/upload")
    def upload_check():
        p = require_role(*ANALYSTS)
        f = request.files.get("file")
        if f is None or not f.filename:
            return page("Upload a return", _form("<div class='alert alert-danger' role='alert'>Choose a file.</div>"), 400)
        data = f.read(MAX_UPLOAD_BYTES + 1)
        reason = check_upload(f.filename, len(data))
        if reason:
            audit("import.refused", "denied", f.filename, reason)
            return page("Upload a return", _form(f"<div class='alert alert-danger' role='alert'>{escape(reason)}</div>"),
                        413 if len(data) > MAX_UPLOAD_BYTES else 415)
        try:
            report = import_return(engine, mgr.registry, data, f.filename, user=p.actor, dry_run=True,
                                   default_area=mgr.settings.la_code)
        except ImportRefused as exc:
            audit("import.refused", "denied", f.filename, f"{len(exc.report.problems)} problems")
            r = exc.report
            return page("File refused", f"<div class='alert alert-danger' role='alert'><p><strong>{escape(r.filename)} "
                        f"was not loaded.</strong> Fix the {len(r.problems)} problem(s) below and upload it again. "
                        f"Nothing has changed.</p></div>{_problems_table(r.details)}"
                        f"<p><a href='/upload'>Upload another file</a></p>", 422)
        except StoreUnavailable as exc:
            return page("Upload a return", _form(f"<div class='alert alert-danger' role='alert'>{escape(str(exc))}</div>"),
                        503)
        token = secrets.token_urlsafe(32)
        with store.session_scope(engine) as s:
            cutoff = auth.utcnow() - dt.timedelta(minutes=PENDING_MINUTES)
            s.execute(delete(store.PendingUpload).where(store.PendingUpload.created_at < cutoff))
            s.add(store.PendingUpload(id=auth.token_hash(token), created_by=p.actor, created_at=auth.utcnow(),
                                      filename=report.filename, content=data))
        body = (f"<p><strong>{escape(report.filename)}</strong> passed every check: {report.rows_in_file} rows, "
                f"{report.targets_in_file} targets. If you load it: <strong id='summary-line'>{report.added} added, "
                f"{report.changed} changed, {report.unchanged} unchanged</strong>.</p>"
                + _summary_table(report) + _targets_table(report) + _problems_table(report.details)
                + f"""<form method="post" action="/upload/confirm">
<input type="hidden" name="csrf_token" value="{escape(csrf_token())}"><input type="hidden" name="pending" value="{token}">
<button class="btn btn-primary" type="submit">Load this file as a new data version</button>
<a class="btn btn-link" href="/upload">Cancel</a></form>""")
        return page("Check before loading", body)

    @server.post("/upload/confirm")
    def upload_confirm():
        p = require_role(*ANALYSTS)  # the gate checked too; a change is checked again where it happens
        token = request.form.get("pending") or ""
        with store.session_scope(engine) as s:
            pending = s.get(store.PendingUpload, auth.token_hash(token))
            if pending is None or pending.created_by != p.actor or \
                    pending.created_at < auth.utcnow() - dt.timedelta(minutes=PENDING_MINUTES):
                pending = None
            else:
                data, filename = pending.content, pending.filename
                s.delete(pending)
        if pending is None:
            return page("Upload a return", _form("<div class='alert alert-danger' role='alert'>That upload has expired "
                                                  "or is not yours. Upload the file again.</div>"), 400)
        try:
            report = import_return(engine, mgr.registry, data, filename, user=p.actor,
                                   default_area=mgr.settings.la_code)
        except ImportRefused as exc:
            return page("File refused", _problems_table(exc.report.details), 422)
        except StoreUnavailable as exc:
            return page("Not loaded", f"<div class='alert alert-danger' role='alert'>{escape(str(exc))}</div>", 503)
        audit("import.accepted", "ok", filename, f"data version {report.version_id}")
        return page("Loaded", f"<p role='status'><strong>{escape(filename)}</strong> is loaded as data version "
                              f"<strong id='new-version'>{report.version_id}</strong>: {report.added} added, "
                              f"{report.changed} changed, {report.unchanged} unchanged.</p>"
                              "<p><a href='/'>Open the dashboard</a> · <a href='/upload'>Upload another</a></p>")

    @server.get("/upload/template.<ext>")
    def upload_template(ext: str):
        require_role(*ANALYSTS)
        path = mgr.settings.data_dir / "templates" / f"return_template.{ext}"
        if ext not in ("csv", "xlsx") or not path.exists():
            return Response("Not found", 404, mimetype="text/plain")
        mime = "text/csv" if ext == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        resp = Response(path.read_bytes(), mimetype=mime)
        resp.headers["Content-Disposition"] = f'attachment; filename="return_template.{ext}"'
        return resp

    @server.get("/admin/versions")
    def versions_page():
        require_role(*ADMINS)
        rows = []
        for v in list_versions(engine):
            restore = ""
            if v.kind in ("import", "restore", "build"):
                restore = (f"<form method='post' action='/admin/versions/{v.id}/restore'>"
                           f"<input type='hidden' name='csrf_token' value='{escape(csrf_token())}'>"
                           f"<button class='btn btn-sm btn-outline-primary' type='submit'>Restore"
                           f"<span class='visually-hidden'> version {v.id}</span></button></form>")
            file_link = f"<a href='/versions/{v.id}/file'>{escape(v.filename)}</a>" if v.kind == "import" else \
                escape(v.filename or "")
            rows.append(f"<tr><th scope='row'>{v.id}</th><td>{v.created_at:%Y-%m-%d %H:%M} UTC</td><td>{v.kind}</td>"
                        f"<td>{escape(v.label)}</td><td>{file_link}</td><td>{escape(v.created_by)}</td>"
                        f"<td>{v.rows_in_file if v.rows_in_file is not None else ''}</td><td>{v.rows}</td>"
                        f"<td><code>{escape((v.fingerprint or '')[:12])}</code></td><td>{restore}</td></tr>")
        body = ("<p><a href='/admin'>Administration</a> · <a href='/upload'>Upload a return</a></p>"
                "<div class='table-responsive' tabindex='0' role='region' aria-label='Data versions'>"
                "<table class='table table-sm'><caption>Data versions, newest first. The newest build and the newest "
                "import or restore are what the dashboard shows. Restoring an import or restore version brings "
                "back its imported figures and targets; restoring a build version removes every import, leaving "
                "the published data alone. A restore is itself a new version.</caption><thead><tr>"
                + "".join(f"<th scope='col'>{h}</th>" for h in ("Version", "When", "Kind", "What", "File", "By",
                                                                 "Rows in file", "Rows in layer", "SHA-256", ""))
                + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")
        return page("Data versions", body)

    @server.post("/admin/versions/<int:version_id>/restore")
    def version_restore(version_id: int):
        p = require_role(*ADMINS)
        try:
            new_id = restore_version(engine, version_id, user=p.actor)
        except ValueError as exc:
            return page("Not restored", f"<p>{escape(str(exc))}</p>", 400)
        except StoreUnavailable as exc:
            return page("Not restored", f"<p>{escape(str(exc))}</p>", 503)
        audit("version.restore", "ok", f"version {version_id}", f"new version {new_id}")
        return redirect("/admin/versions", code=303)

    @server.get("/versions/<int:version_id>/file")
    def version_file(version_id: int):
        require_role(*ANALYSTS)
        f = original_file(engine, version_id)
        if f is None:
            return Response("Not found", 404, mimetype="text/plain")
        audit("download", "ok", f"/versions/{version_id}/file")
        resp = Response(f.content, mimetype="application/octet-stream")
        resp.headers["Content-Disposition"] = f'attachment; filename="{safe_filename(f.filename)}"'
        resp.headers["Cache-Control"] = "no-store"
        return resp
