"""Upload page for analysts and admins, and data versions for admins: a blueprint, pages from templates.

Upload -> every problem listed at once, or a summary of what will change -> "Load this file" ->
one transaction -> a new data version. Nothing is written until the analyst confirms, and a
refused file writes nothing at all.
"""
from __future__ import annotations

from flask import Blueprint, Flask, Response, redirect, request

from ..auth import service as auth
from ..auth.policy import ADMINS, ANALYSTS
from ..exports import safe_filename
from ..imports import (ALLOWED_SUFFIXES, MAX_UPLOAD_BYTES, ImportRefused, StoreUnavailable, check_upload,
                       import_return, list_versions, original_file, restore_version, stage_upload,
                       take_staged_upload)
from .security import principal, render_page, require_role
from .security.core import TEMPLATES



def _form(error: str = "", status: int = 200) -> Response:
    """The upload form, with an error above it when there is one."""
    return render_page("upload.html", "Upload a return", status, error=error,
                       max_mb=MAX_UPLOAD_BYTES // 1024 // 1024, accept=",".join(ALLOWED_SUFFIXES))


def _target_changes(report) -> list[tuple[str, str]]:
    """Every target in force that loading the file adds, changes or removes (registry and earlier imports)."""
    return [("Added", t) for t in report.targets_added] + [("Changed", t) for t in report.targets_changed] \
        + [("Removed", t) for t in report.targets_removed]


def install_uploads(server: Flask, mgr) -> None:
    """Register the upload and data-version pages on ``server``."""
    server.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES + 64 * 1024  # refused before parsing (413)
    server.register_blueprint(create_blueprint(mgr))


def create_blueprint(mgr) -> Blueprint:
    bp = Blueprint("uploads", __name__, template_folder=TEMPLATES)
    engine = mgr.engine

    def audit(action: str, outcome: str = "ok", target: str = "", detail: str = "") -> None:
        p = principal()
        auth.audit(engine, actor=p.actor if p else "anonymous", role=p.role if p else "anonymous", action=action,
                   outcome=outcome, target=target, ip=request.remote_addr or "", detail=detail)

    @bp.app_errorhandler(413)
    def too_large(_e):
        return _form(f"The file is larger than {MAX_UPLOAD_BYTES:,} bytes and was not read.", 413)

    @bp.get("/upload")
    def upload_form():
        require_role(*ANALYSTS)
        return _form()

    @bp.post("/upload")
    def upload_check():
        p = require_role(*ANALYSTS)
        f = request.files.get("file")
        if f is None or not f.filename:
            return _form("Choose a file.", 400)
        data = f.read(MAX_UPLOAD_BYTES + 1)
        reason = check_upload(f.filename, len(data))
        if reason:
            audit("import.refused", "denied", f.filename, reason)
            return _form(reason, 413 if len(data) > MAX_UPLOAD_BYTES else 415)
        try:
            report = import_return(engine, mgr.registry, data, f.filename, user=p.actor, dry_run=True,
                                   default_area=mgr.settings.la_code)
        except ImportRefused as exc:
            audit("import.refused", "denied", f.filename, f"{len(exc.report.problems)} problems")
            r = exc.report
            return render_page("upload_refused.html", "File refused", 422, filename=r.filename,
                               problem_count=len(r.problems), details=r.details)
        except StoreUnavailable as exc:
            return _form(str(exc), 503)
        token = stage_upload(engine, user=p.actor, filename=report.filename, data=data)
        return render_page("upload_check.html", "Check before loading", report=report,
                           by_metric=sorted(report.by_metric.items()), target_changes=_target_changes(report),
                           details=report.details, pending=token)

    @bp.post("/upload/confirm")
    def upload_confirm():
        p = require_role(*ANALYSTS)  # the gate checked too; a change is checked again where it happens
        staged = take_staged_upload(engine, request.form.get("pending") or "", user=p.actor)
        if staged is None:
            return _form("That upload has expired or is not yours. Upload the file again.", 400)
        data, filename = staged
        try:
            report = import_return(engine, mgr.registry, data, filename, user=p.actor,
                                   default_area=mgr.settings.la_code)
        except ImportRefused as exc:
            return render_page("upload_refused.html", "File refused", 422, details=exc.report.details)
        except StoreUnavailable as exc:
            return render_page("message.html", "Not loaded", 503, text=str(exc), alert=True)
        audit("import.accepted", "ok", filename, f"data version {report.version_id}")
        return render_page("upload_loaded.html", "Loaded", filename=filename, report=report)

    @bp.get("/upload/template.<ext>")
    def upload_template(ext: str):
        require_role(*ANALYSTS)
        path = mgr.settings.data_dir / "templates" / f"return_template.{ext}"
        if ext not in ("csv", "xlsx") or not path.exists():
            return Response("Not found", 404, mimetype="text/plain")
        mime = "text/csv" if ext == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        resp = Response(path.read_bytes(), mimetype=mime)
        resp.headers["Content-Disposition"] = f'attachment; filename="return_template.{ext}"'
        return resp

    @bp.get("/admin/versions")
    def versions_page():
        require_role(*ADMINS)
        return render_page("versions.html", "Data versions", versions=list_versions(engine))

    @bp.post("/admin/versions/<int:version_id>/restore")
    def version_restore(version_id: int):
        p = require_role(*ADMINS)
        try:
            new_id = restore_version(engine, version_id, user=p.actor)
        except ValueError as exc:
            return render_page("message.html", "Not restored", 400, text=str(exc))
        except StoreUnavailable as exc:
            return render_page("message.html", "Not restored", 503, text=str(exc))
        audit("version.restore", "ok", f"version {version_id}", f"new version {new_id}")
        return redirect("/admin/versions", code=303)

    @bp.get("/versions/<int:version_id>/file")
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

    return bp
