"""Who may do what. The tables here are the policy; the web layer enforces them and the tests read them.

Deny by default: a route or callback that is not listed here is refused for everyone.
"""
from __future__ import annotations

STAFF_ROLES = ("admin", "analyst", "viewer")
ROLES = STAFF_ROLES + ("inspector",)  # inspectors exist only through a link
EXTERNAL_ROLES = frozenset({"inspector"})  # see small numbers suppressed
VIEWERS = frozenset(ROLES)  # everyone signed in may read the dashboard
STAFF = frozenset(STAFF_ROLES)
ANALYSTS = frozenset({"admin", "analyst"})
ADMINS = frozenset({"admin"})

# Callbacks, by the name of the function that implements them. Each callback's output id is
# mapped to one of these names when the app registers it (``dashboard.web.security``), and a
# request for an output that is not in that map is refused.
CALLBACK_ROLES: dict[str, frozenset[str]] = {
    "route": VIEWERS,  # renders the page for the URL
    "change_authority": VIEWERS,  # authority picker -> new URL (inputs checked against scope)
    "filter_scorecard": VIEWERS,  # scorecard filters
    "change_as_of": VIEWERS,  # scorecard "position as at" date
    "update_metric": VIEWERS,  # comparator toggles and cell selection on a metric page
    "change_compare": VIEWERS,  # the authorities chosen on /compare (each checked against scope in views)
}

# Routes that anybody may reach, signed in or not, by the Flask endpoint that serves them (so a path
# that merely starts like one, "/share/" or "/assets/" with nothing after it, is not public): static
# files, sign-in, the link exchange, the health check and the accessibility statement. An endpoint
# of a blueprint is named "<blueprint>.<function>" (``dashboard.web.security``).
PUBLIC_ENDPOINTS = frozenset({
    "_dash_assets.static",
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
    "/_favicon.ico", "favicon", "signin.login", "links.share", "healthz", "accessibility",
})

# Server routes outside Dash, and who may use them. Dash's own routes (pages, /_dash-layout,
# /_dash-dependencies, /_dash-update-component) need any signed-in role; the callback table above
# then decides per callback.
ROUTE_ROLES: dict[str, frozenset[str]] = {
    "/logout": VIEWERS,
    "/account/password": STAFF,
    "/session/status": VIEWERS,
    "/session/keepalive": VIEWERS,
    "/download/": VIEWERS,
    "/upload": ANALYSTS,
    "/upload/": ANALYSTS,
    "/versions/": ANALYSTS,
    "/record/": ANALYSTS,  # writes of meetings, commentary and actions (dashboard.web.meetings)
    "/admin": ADMINS,
    "/admin/": ADMINS,
}


# Dash's own routes, by the Flask endpoint that serves them: the page shell for any path, the layout
# and the callback graph. Any signed-in role; the callback endpoint is checked per callback.
DASH_ENDPOINT_ROLES: dict[str, frozenset[str]] = {
    "/": VIEWERS,
    "/<path:path>": VIEWERS,
    "/_dash-layout": VIEWERS,
    "/_dash-dependencies": VIEWERS,
    "/_dash-update-component": VIEWERS,
}


def roles_for(path: str, endpoint: str | None) -> frozenset[str] | None:
    """Who may use a route; None means nobody (deny by default: not listed here, not served)."""
    roles = route_roles(path)
    if roles is not None:
        return roles
    return DASH_ENDPOINT_ROLES.get(endpoint or "")


def route_roles(path: str) -> frozenset[str] | None:
    """The roles allowed on one of our server routes (not Dash's), or None when it is not one of them."""
    if path in ROUTE_ROLES:
        return ROUTE_ROLES[path]
    for prefix, roles in ROUTE_ROLES.items():
        if prefix.endswith("/") and path.startswith(prefix):
            return roles
    return None


def is_public(endpoint: str | None) -> bool:
    return endpoint in PUBLIC_ENDPOINTS


def allowed_authorities(role: str, scope: dict) -> set[str] | None:
    """The authority codes a principal may ask for (None: any). Inspectors' links may name them."""
    if role in EXTERNAL_ROLES and scope.get("las"):
        return {str(c).upper() for c in scope["las"]}
    return None


def allowed_metrics(role: str, scope: dict) -> set[str] | None:
    if role in EXTERNAL_ROLES and scope.get("metrics"):
        return set(scope["metrics"])
    return None


def default_scope(settings) -> dict:
    """An inspector link shows the partnership's own authority unless told otherwise."""
    return {"las": [settings.la_code]}
