"""Inspector links: the /share exchange that turns a link into a session, and the session's own
status and keep-alive (the page warns before a session times out)."""
from __future__ import annotations

from flask import Blueprint, jsonify, redirect, session
from flask_login import login_user, logout_user

from ...auth import service as auth
from ...auth.policy import STAFF
from .core import TEMPLATES, SecurityState, client_ip, csrf_token, principal, render_page


def create_blueprint(sec: SecurityState) -> Blueprint:
    bp = Blueprint("links", __name__, template_folder=TEMPLATES)
    engine, policy = sec.engine, sec.policy

    @bp.get("/share/<token>")
    def share(token: str):
        try:
            link, session_token = auth.exchange_link(engine, token, policy, ip=client_ip())
        except auth.AuthError as exc:
            auth.audit(engine, actor="anonymous", role="anonymous", action="link.open", outcome="denied",
                       target="(token withheld)", ip=client_ip(), detail=str(exc))
            return render_page("link_invalid.html", "Link not valid", 403, reason=str(exc))
        staff = principal()
        if staff is not None and staff.role in STAFF:
            # One browser, one identity: a staff session does not survive into an inspector's view.
            auth.end_session(engine, staff.session_token, "inspector link opened")
            sec.log_event("signout", "ok", staff.actor, "an inspector link was opened in this browser")
        logout_user()
        session.clear()
        login_user(auth.load_principal(engine, session_token, policy))
        session.permanent = True
        csrf_token()
        auth.audit(engine, actor=f"link:{link.id}", role="inspector", action="link.open", target=link.label,
                   ip=client_ip())
        resp = redirect("/", code=303)  # a clean URL: the token leaves the address bar and history
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    @bp.get("/session/status")
    def session_status():
        p = principal()
        times = auth.session_times(engine, p.session_token, policy) if p else None
        return jsonify(times or {"idle_seconds_left": 0, "absolute_seconds_left": 0})

    @bp.post("/session/keepalive")
    def keepalive():
        return jsonify(auth.session_times(engine, principal().session_token, policy))

    return bp
