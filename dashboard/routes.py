"""The one table of page addresses: which paths are pages, and which page each one is.

The router callback draws the page a path names, and the gate answers 404 for a path that names
no page, before the app shell is served. Pure: no Dash, no Flask.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .registry import Registry


@dataclass(frozen=True)
class PageMatch:
    page: str  # "overview", "about", "metric", "topic", "compare", "search", "demand", "spc", "meetings", "meeting",
    #            "present"
    params: dict = field(default_factory=dict)


#: path pattern -> page name. ``<metric>`` is a registry metric id, ``<topic>`` a registry topic id,
#: ``<meeting>`` a meeting's number (whether it exists is the page's to say).
PAGES: tuple[tuple[str, str], ...] = (
    ("/", "overview"),
    ("/about", "about"),
    ("/metric/<metric>", "metric"),
    ("/topic/<topic>", "topic"),
    ("/compare/<metric>", "compare"),  # one metric across authorities (?with=882,884)
    ("/search", "search"),  # metric search results (?q=words)
    ("/demand", "demand"),
    ("/spc", "spc"),  # the SPC summary grid: variation against assurance
    ("/meetings", "meetings"),  # the panel's meetings; analysts and admins create them here
    ("/meeting/<meeting>", "meeting"),  # a meeting's exceptions view (?la=)
    ("/meeting/<meeting>/present", "present"),  # meeting mode: one exception per screen (?la=), the first
    ("/meeting/<meeting>/present/<item>", "present"),  # ... and the item-th (the router follows the path)
)


def normalise(path: str | None) -> str:
    return ((path if isinstance(path, str) else "/").rstrip("/")) or "/"


def match_page(path: str | None, registry: Registry) -> PageMatch | None:
    """The page a path names, or None when it names none (an unknown metric or topic included)."""
    parts = [p for p in normalise(path).split("/") if p]
    for pattern, page in PAGES:
        want = [p for p in pattern.split("/") if p]
        if len(want) != len(parts):
            continue
        params = {}
        for w, got in zip(want, parts):
            if w.startswith("<"):
                params[w[1:-1]] = got
            elif w != got:
                break
        else:
            if "metric" in params and registry.get(params["metric"]) is None:
                return None
            if "topic" in params and params["topic"] not in {t.id for t in registry.topics}:
                return None
            if any(k in params and not (params[k].isdigit() and len(params[k]) <= 9) for k in ("meeting", "item")):
                return None
            return PageMatch(page, params)
    return None
