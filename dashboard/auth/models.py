"""Tables for people, sessions, inspector links and the audit log (same database as the data).

They are defined with every other table in ``dashboard.models``; this module re-exports them.
"""
from ..models import AuditEvent, AuthSession, ShareLink, User

__all__ = ["AuditEvent", "AuthSession", "ShareLink", "User"]
