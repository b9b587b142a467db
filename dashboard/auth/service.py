"""Users, sessions, inspector links and the audit log: plain functions over the database.

No Flask here: the web layer and the command line both call these. Passwords are hashed with
scrypt (Werkzeug's default key-derivation function); session and link tokens are 256-bit values
from ``secrets`` and only their SHA-256 is stored, so a copy of the database opens nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .models import AuditEvent, AuthSession, ShareLink, User
from .policy import STAFF_ROLES

PASSWORD_METHOD = "scrypt"
# A hash to check against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password", method=PASSWORD_METHOD)


def _session(engine: Engine) -> Session:
    """A session whose objects stay readable after commit (they are handed back to callers)."""
    return Session(engine, expire_on_commit=False)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """256 bits from the operating system's CSPRNG, URL-safe."""
    return secrets.token_urlsafe(32)


class AuthError(ValueError):
    """A refused request, with a message that is safe to show."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user or an inspector link, with its server-side session."""

    session_token: str  # the raw token from the cookie (never stored)
    session_id: str
    role: str
    name: str
    user_id: int | None = None
    link_id: int | None = None
    expires_at: dt.datetime | None = None
    scope: dict = field(default_factory=dict)
    must_change_password: bool = False  # signed in with a one-time password: nothing else until it is changed

    # Flask-Login's protocol
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.session_token

    @property
    def external(self) -> bool:
        return self.role == "inspector"

    @property
    def actor(self) -> str:
        return self.name if self.user_id else f"link:{self.link_id}"


# -- audit ---------------------------------------------------------------------------------

def audit(engine: Engine, *, actor: str, role: str, action: str, outcome: str = "ok", target: str = "",
          ip: str = "", detail: str = "") -> None:
    with _session(engine) as s, s.begin():
        s.add(AuditEvent(at=utcnow(), actor=actor[:120], role=role[:16], action=action[:60], target=target[:2000],
                         outcome=outcome[:16], ip=(ip or "")[:64], detail=detail[:4000]))


def audit_rows(engine: Engine, limit: int | None = 500, action: str | None = None) -> list[AuditEvent]:
    with _session(engine) as s:
        q = select(AuditEvent).order_by(AuditEvent.id.desc())
        if action:
            q = q.where(AuditEvent.action == action)
        if limit:
            q = q.limit(limit)
        return list(s.scalars(q))


def audit_csv(engine: Engine) -> str:
    """The whole audit log as CSV, oldest first (through :mod:`dashboard.exports`: every field quoted,
    formula-like text such as a sign-in name ``=HYPERLINK(...)`` neutralised)."""
    from ..exports import csv_text

    return csv_text(["id", "at_utc", "actor", "role", "action", "target", "outcome", "ip", "detail"],
                    ([e.id, e.at.isoformat(timespec="seconds") + "Z", e.actor, e.role, e.action, e.target, e.outcome,
                      e.ip, e.detail] for e in reversed(audit_rows(engine, limit=None))))


# -- throttling: slow an attacker down without locking the real user out ------------------------

#: Audit actions that count as a failed attempt at a password.
FAILURE_ACTIONS = ("signin.failure", "password.failure")
UNLOCK_ACTION = "signin.unlock"


@dataclass(frozen=True)
class ThrottlePolicy:
    """Exponential delays after a number of free failures, per user name and per address.

    After ``free_per_name`` failures for one name (or ``free_per_ip`` from one address) within
    ``window``, each further attempt waits ``base`` x 2^(failures - free) seconds after the last
    failure, at most ``cap``. Nothing is ever locked for good: the wait ends, a person signing in
    from a device that signed in as that name before is not held back by the name's count, and an
    admin can clear a name's count (``python -m dashboard users unlock NAME``).
    """

    free_per_name: int = 5
    free_per_ip: int = 20
    base: float = 1.0
    cap: float = 900.0
    window: dt.timedelta = dt.timedelta(hours=24)


def throttle_delay(failures: int, free: int, base: float, cap: float) -> float:
    """Seconds to wait after the last failure, given how many failures there were."""
    if failures < free:
        return 0.0
    return float(min(cap, base * 2 ** min(failures - free, 40)))


def _failures(s: Session, since: dt.datetime, *, name: str | None = None, ip: str | None = None,
              after_id: int = 0):
    q = select(func.count(), func.max(AuditEvent.at)).select_from(AuditEvent).where(
        AuditEvent.action.in_(FAILURE_ACTIONS), AuditEvent.at >= since, AuditEvent.id > after_id)
    if name is not None:
        q = q.where(AuditEvent.target == name)
    if ip is not None:
        q = q.where(AuditEvent.ip == ip)
    n, last = s.execute(q).one()
    return int(n or 0), last


def _last_unlock(s: Session, **where) -> int:
    """The audit id of the latest unlock matching ``where``: failures before it no longer count."""
    q = select(func.max(AuditEvent.id)).where(AuditEvent.action == UNLOCK_ACTION)
    for column, value in where.items():
        q = q.where(getattr(AuditEvent, column) == value)
    return int(s.execute(q).scalar() or 0)


def throttle_wait(engine: Engine, policy: ThrottlePolicy, *, name: str | None, ip: str | None,
                  trusted_device: bool = False) -> int:
    """Whole seconds before another password attempt for ``name`` from ``ip`` is looked at (0: now).

    ``trusted_device``: the attempt comes from a device that has signed in as ``name`` before, so
    the name's own count does not hold it back (the address's count still does).
    """
    now = utcnow()
    waits = [0.0]
    with _session(engine) as s:
        if name and not trusted_device:
            n, last = _failures(s, now - policy.window, name=name, after_id=_last_unlock(s, target=name))
            if last is not None:
                waits.append((last - now).total_seconds() + throttle_delay(n, policy.free_per_name, policy.base,
                                                                           policy.cap))
        if ip:
            n, last = _failures(s, now - policy.window, ip=ip, after_id=_last_unlock(s, ip=ip, target=""))
            if last is not None:
                waits.append((last - now).total_seconds() + throttle_delay(n, policy.free_per_ip, policy.base,
                                                                           policy.cap))
    return int(max(waits) + 0.999)


def unlock(engine: Engine, *, name: str | None = None, ip: str | None = None, actor: str = "cli") -> None:
    """Clear the failure count of a user name (or of an address): earlier failures stop counting."""
    if not name and not ip:
        raise AuthError("give a user name or an address to unlock")
    audit(engine, actor=actor, role="admin", action=UNLOCK_ACTION, target=name or "", ip=ip or "",
          detail="failure count cleared")


def recent_failures(engine: Engine, *, name: str | None = None, ip: str | None = None, minutes: int = 15) -> int:
    since = utcnow() - dt.timedelta(minutes=minutes)
    with _session(engine) as s:
        return _failures(s, since, name=name, ip=ip)[0]


# -- users ---------------------------------------------------------------------------------

def validate_name(name: str) -> str:
    name = (name or "").strip()
    if not (1 <= len(name) <= 80) or any(c.isspace() for c in name):
        raise AuthError("a user name is 1 to 80 characters with no spaces")
    return name


def create_user(engine: Engine, name: str, role: str, password: str | None = None) -> tuple[User, str]:
    """Create a staff user. Returns the user and the password (generated when not given)."""
    name = validate_name(name)
    if role not in STAFF_ROLES:
        raise AuthError(f"role must be one of {', '.join(STAFF_ROLES)} (inspectors come only from links)")
    generated = password is None
    password = password or secrets.token_urlsafe(15)
    if len(password) < 12:
        raise AuthError("a password must have at least 12 characters")
    with _session(engine) as s, s.begin():
        if s.scalars(select(User).where(User.name == name)).first():
            raise AuthError(f"a user called {name!r} already exists")
        user = User(name=name, role=role, password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
                    disabled=False, created_at=utcnow(), must_change_password=generated)
        s.add(user)
    return user, password


def count_users(engine: Engine) -> int:
    with _session(engine) as s:
        return int(s.execute(select(func.count()).select_from(User)).scalar() or 0)


def list_users(engine: Engine) -> list[User]:
    with _session(engine) as s:
        return list(s.scalars(select(User).order_by(User.name)))


def set_disabled(engine: Engine, name: str, disabled: bool = True) -> None:
    """Disable (or re-enable) a user; disabling ends every session they have, on the server."""
    with _session(engine) as s, s.begin():
        user = s.scalars(select(User).where(User.name == name)).first()
        if user is None:
            raise AuthError(f"no user called {name!r}")
        user.disabled = disabled
        if disabled:
            s.execute(update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.ended_at.is_(None))
                      .values(ended_at=utcnow(), ended_reason="user disabled"))


def change_password(engine: Engine, user_id: int, current: str, new: str, keep_session: str | None = None) -> None:
    """Change a password after checking the current one; every other session of the user ends."""
    if len(new or "") < 12:
        raise AuthError("the new password must have at least 12 characters")
    if new == current:
        raise AuthError("the new password must differ from the current one")
    with _session(engine) as s, s.begin():
        user = s.get(User, user_id)
        if user is None or user.disabled or not check_password_hash(user.password_hash, current or ""):
            raise AuthError("the current password is not right")
        user.password_hash = generate_password_hash(new, method=PASSWORD_METHOD)
        user.must_change_password = False
        q = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.ended_at.is_(None))
        if keep_session:
            q = q.where(AuthSession.id != token_hash(keep_session))
        s.execute(q.values(ended_at=utcnow(), ended_reason="password changed"))


def check_password(engine: Engine, name: str, password: str) -> User | None:
    with _session(engine) as s:
        user = s.scalars(select(User).where(User.name == (name or "").strip())).first()
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or user.disabled:
        return None
    return user


# -- sessions ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SessionPolicy:
    idle: dt.timedelta = dt.timedelta(minutes=30)
    absolute: dt.timedelta = dt.timedelta(hours=8)
    warn_before: dt.timedelta = dt.timedelta(minutes=5)
    touch_every: dt.timedelta = dt.timedelta(seconds=30)


def start_session(engine: Engine, *, role: str, user_id: int | None = None, link_id: int | None = None,
                  expires_at: dt.datetime, ip: str = "") -> str:
    token = new_token()
    now = utcnow()
    with _session(engine) as s, s.begin():
        s.add(AuthSession(id=token_hash(token), user_id=user_id, link_id=link_id, role=role, created_at=now,
                          last_seen_at=now, expires_at=expires_at, ip=(ip or "")[:64]))
    return token


def end_session(engine: Engine, token: str, reason: str = "signed out") -> None:
    with _session(engine) as s, s.begin():
        s.execute(update(AuthSession).where(AuthSession.id == token_hash(token), AuthSession.ended_at.is_(None))
                  .values(ended_at=utcnow(), ended_reason=reason))


def load_principal(engine: Engine, token: str, policy: SessionPolicy, *, touch: bool = True) -> Principal | None:
    """The principal for a cookie's session token, or None when the session is not valid now.

    Valid means: known, not ended, before its absolute expiry, active within the idle limit, and its
    user not disabled or its link not revoked or expired. An expired session is ended on the server.
    """
    if not token or len(token) > 200:
        return None
    sid = token_hash(token)
    now = utcnow()
    with _session(engine) as s, s.begin():
        sess = s.get(AuthSession, sid)
        if sess is None or sess.ended_at is not None:
            return None
        reason = None
        if now >= sess.expires_at:
            reason = "expired"
        elif now - sess.last_seen_at >= policy.idle:
            reason = "idle"
        name, scope, expires, must_change = "", {}, sess.expires_at, False
        if reason is None and sess.user_id is not None:
            user = s.get(User, sess.user_id)
            if user is None or user.disabled:
                reason = "user disabled"
            else:
                name, must_change = user.name, bool(user.must_change_password)
        elif reason is None and sess.link_id is not None:
            link = s.get(ShareLink, sess.link_id)
            if link is None or link.revoked_at is not None:
                reason = "link revoked"
            elif now >= link.expires_at:
                reason = "link expired"
            else:
                name, scope = f"inspector ({link.label})", json.loads(link.scope or "{}")
                expires = min(expires, link.expires_at)
        elif reason is None:
            reason = "no owner"
        if reason is not None:
            sess.ended_at, sess.ended_reason = now, reason
            return None
        if touch and now - sess.last_seen_at >= policy.touch_every:
            sess.last_seen_at = now
        return Principal(session_token=token, session_id=sid, role=sess.role, name=name, user_id=sess.user_id,
                         link_id=sess.link_id, expires_at=expires, scope=scope, must_change_password=must_change)


def session_times(engine: Engine, token: str, policy: SessionPolicy) -> dict | None:
    """Seconds left before the idle and the absolute limits, without counting as activity."""
    with _session(engine) as s:
        sess = s.get(AuthSession, token_hash(token))
    if sess is None or sess.ended_at is not None:
        return None
    now = utcnow()
    return {"idle_seconds_left": max(0, int((sess.last_seen_at + policy.idle - now).total_seconds())),
            "absolute_seconds_left": max(0, int((sess.expires_at - now).total_seconds())),
            "warn_seconds": int(policy.warn_before.total_seconds())}


# -- inspector links -----------------------------------------------------------------------

DEFAULT_MAX_LINK_DAYS = 90


def create_link(engine: Engine, *, label: str, expires_at: dt.datetime, issued_by: str,
                scope: dict | None = None, max_days: int = DEFAULT_MAX_LINK_DAYS) -> tuple[ShareLink, str]:
    """A new inspector link. Returns the link and its token: the token is not stored and cannot be shown again.

    A link lasts at most ``max_days`` days (DASHBOARD_MAX_LINK_DAYS): an inspection window, not a standing grant.
    """
    label = (label or "").strip()
    if not label:
        raise AuthError("a link needs a label (who it is for)")
    if expires_at <= utcnow():
        raise AuthError("a link's expiry must be in the future")
    if expires_at > utcnow() + dt.timedelta(days=max_days, hours=24):
        raise AuthError(f"a link can last at most {max_days} days; choose an earlier expiry date")
    token = new_token()
    with _session(engine) as s, s.begin():
        link = ShareLink(token_hash=token_hash(token), label=label[:200], scope=json.dumps(scope or {}),
                         issued_by=issued_by, created_at=utcnow(), expires_at=expires_at, uses=0)
        s.add(link)
    return link, token


def list_links(engine: Engine) -> list[ShareLink]:
    with _session(engine) as s:
        return list(s.scalars(select(ShareLink).order_by(ShareLink.id.desc())))


def revoke_links(engine: Engine, link_id: int | None = None) -> int:
    """Revoke one link (or all, with ``link_id=None``) and end their sessions. Returns how many were revoked."""
    now = utcnow()
    with _session(engine) as s, s.begin():
        q = update(ShareLink).where(ShareLink.revoked_at.is_(None))
        if link_id is not None:
            q = q.where(ShareLink.id == link_id)
        n = s.execute(q.values(revoked_at=now)).rowcount
        sq = update(AuthSession).where(AuthSession.link_id.is_not(None), AuthSession.ended_at.is_(None))
        if link_id is not None:
            sq = sq.where(AuthSession.link_id == link_id)
        s.execute(sq.values(ended_at=now, ended_reason="link revoked"))
    return int(n or 0)


def exchange_link(engine: Engine, token: str, policy: SessionPolicy, ip: str = "") -> tuple[ShareLink, str]:
    """Swap a link's token for a new inspector session token. Raises AuthError if it is not valid now."""
    if not token or len(token) > 200:
        raise AuthError("This link is not valid.")
    h = token_hash(token)
    now = utcnow()
    with _session(engine) as s, s.begin():
        link = s.scalars(select(ShareLink).where(ShareLink.token_hash == h)).first()
        if link is None or not hmac.compare_digest(link.token_hash, h):
            raise AuthError("This link is not valid.")
        if link.revoked_at is not None:
            raise AuthError("This link has been withdrawn.")
        if now >= link.expires_at:
            raise AuthError("This link has expired.")
        link.last_used_at = now
        link.uses = (link.uses or 0) + 1
        expires = min(link.expires_at, now + policy.absolute)
        link_id = link.id
    session_token = start_session(engine, role="inspector", link_id=link_id, expires_at=expires, ip=ip)
    return link, session_token
