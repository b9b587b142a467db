"""The view state that lives in the URL, so any view can be bookmarked and shared.

``?la=883&cmp=england,region,sn&sn=2025&as_of=2024-03-31&topic=workforce&rag=red,amber``.
Parsing is strict about form and forgiving about absence: an unknown value is dropped (and the
default used), never passed on to a query.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs, urlencode

COMPARATORS = ("england", "region", "sn")
COMPARATOR_LABELS = {"england": "England", "region": "Region", "sn": "Statistical neighbours (median)"}
SN_MODELS = ("2021", "2025")
RAG_VALUES = ("red", "amber", "green", "neutral", "no_target", "no_data")
_CODE = re.compile(r"^(\d{3}|E\d{8})$")
_SAFE = re.compile(r"^[A-Za-z0-9 _.\-+&'()]{1,80}$")
# A breakdown cell: "dimension:value", e.g. "training_level:L1" or "age_band:0-4".
_BREAKDOWN = re.compile(r"^[a-z][a-z0-9_]{0,39}:[A-Za-z0-9_\-]{1,40}$")


@dataclass(frozen=True)
class ViewState:
    la: str | None = None  # as given (DfE or GSS code); None = the configured authority
    cmp: tuple[str, ...] = ("england",)
    sn: str = "2025"
    as_of: dt.date | None = None
    topic: str | None = None
    rag: tuple[str, ...] = ()
    agency: str | None = None
    breakdown: str | None = None
    extra: dict = field(default_factory=dict)

    def with_(self, **kw) -> "ViewState":
        return replace(self, **kw)

    def query(self, *, keep_filters: bool = True) -> str:
        """The query string for this state, with defaults left out ("" when all are defaults)."""
        q: list[tuple[str, str]] = []
        if self.la:
            q.append(("la", self.la))
        if self.cmp != ("england",):
            q.append(("cmp", ",".join(self.cmp) or "none"))
        if self.sn != "2025" or "sn" in self.cmp:  # explicit whenever it matters, whatever the default
            q.append(("sn", self.sn))
        if self.as_of:
            q.append(("as_of", self.as_of.isoformat()))
        if keep_filters:
            if self.topic:
                q.append(("topic", self.topic))
            if self.rag:
                q.append(("rag", ",".join(self.rag)))
            if self.agency:
                q.append(("agency", self.agency))
            if self.breakdown:
                q.append(("breakdown", self.breakdown))
        return ("?" + urlencode(q)) if q else ""

    def shared_query(self) -> str:
        """The part of the state that follows the user from page to page (authority, comparators, date)."""
        return self.with_(topic=None, rag=(), agency=None, breakdown=None).query()


def _list(values: list[str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    items: list[str] = []
    for v in values:
        for part in v.split(","):
            part = part.strip().lower()
            if part in allowed and part not in items:
                items.append(part)
    return tuple(items)


def parse_query(search: str | None, topics: tuple[str, ...] = (), default_sn: str = "2025") -> ViewState:
    qs = parse_qs((search if isinstance(search, str) else "").lstrip("?"), keep_blank_values=True)

    def one(key: str) -> str | None:
        v = qs.get(key)
        return v[0].strip() if v and v[0].strip() else None

    la = one("la")
    la = la.upper() if la and _CODE.match(la.upper()) else None
    if "cmp" in qs:
        cmp = () if one("cmp") == "none" else (_list(qs["cmp"], COMPARATORS) or ("england",))
    else:
        cmp = ("england",)
    sn = one("sn") if one("sn") in SN_MODELS else (default_sn if default_sn in SN_MODELS else "2025")
    as_of = None
    if one("as_of"):
        try:
            as_of = dt.date.fromisoformat(one("as_of"))
        except ValueError:
            as_of = None
    topic = one("topic") if one("topic") in topics else None
    rag = _list(qs.get("rag", []), RAG_VALUES)
    agency = one("agency") if one("agency") and _SAFE.match(one("agency")) else None
    breakdown = one("breakdown") if one("breakdown") and _BREAKDOWN.match(one("breakdown")) else None
    return ViewState(la=la, cmp=cmp, sn=sn, as_of=as_of, topic=topic, rag=rag, agency=agency, breakdown=breakdown)
