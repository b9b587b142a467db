"""Administration: create and revoke inspector links, read and export the audit log."""
from __future__ import annotations

import datetime as dt
from functools import wraps

from flask import Blueprint, Response, abort, redirect, request

from ...auth import service as auth
from ...auth.policy import ADMINS
from ...auth.policy import default_scope
from .core import TEMPLATES, SecurityState, principal, render_page

LINK_COLUMNS = ("Id", "Label", "Scope", "Issued by", "Expires", "Last used", "Opened", "State", "")
AUDIT_COLUMNS = ("Id", "When", "Who", "Role", "What", "Target", "Outcome", "From", "Detail")


def admin_only(fn):
    @wraps(fn)
    def inner(*a, **kw):
        p = principal()
        if p is None or p.role not in ADMINS:  # the gate has checked already; check again where it matters
            abort(403)
        return fn(*a, **kw)
    return inner


def link_state(link) -> str:
    return ("revoked " + link.revoked_at.strftime("%Y-%m-%d %H:%M") if link.revoked_at
            else "expired" if link.expires_at <= auth.utcnow() else "active")


def create_blueprint(sec: SecurityState) -> Blueprint:
    bp = Blueprint("admin", __name__, template_folder=TEMPLATES)
    engine, settings = sec.engine, sec.settings

    def admin_page(error: str = "", new_link: str = "", status: int = 200) -> Response:
        links = [(link, link_state(link)) for link in auth.list_links(engine)]
        expires = (auth.utcnow() + dt.timedelta(days=7)).date().isoformat()
        return render_page("admin.html", "Administration", status, error=error, new_link=new_link, links=links,
                           columns=LINK_COLUMNS, expires=expires)

    @bp.get("/admin")
    @admin_only
    def admin_home():
        return admin_page()

    @bp.post("/admin/links")
    @admin_only
    def admin_create_link():
        p = principal()
        try:
            day = dt.date.fromisoformat(request.form.get("expires") or "")
            expires = dt.datetime.combine(day, dt.time(23, 59, 59))
            link, token = auth.create_link(engine, label=request.form.get("label") or "", expires_at=expires,
                                           issued_by=p.actor, scope=default_scope(settings),
                                           max_days=settings.max_link_days)
        except (ValueError, auth.AuthError) as exc:
            return admin_page(error=str(exc), status=400)
        sec.log_event("link.create", "ok", f"link:{link.id}", link.label)
        return admin_page(new_link=f"{request.host_url.rstrip('/')}/share/{token}")

    @bp.post("/admin/links/<int:link_id>/revoke")
    @admin_only
    def admin_revoke(link_id: int):
        n = auth.revoke_links(engine, link_id)
        sec.log_event("link.revoke", "ok" if n else "failed", f"link:{link_id}")
        return redirect("/admin", code=303)

    @bp.post("/admin/links/revoke-all")
    @admin_only
    def admin_revoke_all():
        n = auth.revoke_links(engine, None)
        sec.log_event("link.revoke_all", "ok", f"{n} links")
        return redirect("/admin", code=303)

    @bp.get("/admin/audit")
    @admin_only
    def admin_audit():
        return render_page("audit.html", "Audit log", events=auth.audit_rows(engine, 500), columns=AUDIT_COLUMNS)

    @bp.get("/admin/audit.csv")
    @admin_only
    def admin_audit_csv():
        sec.log_event("download", "ok", "/admin/audit.csv")
        resp = Response(auth.audit_csv(engine), mimetype="text/csv")
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Content-Disposition"] = 'attachment; filename="audit_log.csv"'
        return resp

    return bp
