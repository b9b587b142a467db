"""The view state that lives in the URL, so any view can be bookmarked and shared.

``?la=883&cmp=england,region,sn&sn=2025&as_of=2024-03-31&topic=workforce&rag=red,amber``.
Parsing is strict about form and forgiving about absence: an unknown value is dropped (and the
default used), never passed on to a query.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
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
    # /compare: the authorities compared with this one (DfE or GSS codes, as given; URL key "with")
    compare_with: tuple[str, ...] = ()
    # /search: the words searched for (URL key "q")
    q: str | None = None

    def with_(self, **kw) -> "ViewState":
        """A copy with trusted values changed (values from code, not from the browser)."""
        return replace(self, **kw)

    def with_controls(self, *, topics: tuple[str, ...] = (), **raw) -> "ViewState":
        """A copy with values the browser sent (a control's value), each checked by the same rule as the
        URL's: an unknown or malformed value is dropped, never passed on. Keys: ``topic``, ``rag`` (list),
        ``cmp`` (list), ``sn``, ``as_of`` (ISO date or "latest"), ``cell`` ("agency|dimension|value"),
        ``with`` (list of authority codes, or one comma-separated string), ``q`` (search words)."""
        changes: dict = {}
        if "with" in raw:
            value = raw["with"]
            changes["compare_with"] = _codes(_strings(value) if isinstance(value, (list, tuple))
                                             else _strings([value]))
        if "q" in raw:
            changes["q"] = _search(raw["q"])
        if "topic" in raw:
            changes["topic"] = _topic(raw["topic"], topics)
        if "rag" in raw:
            changes["rag"] = _list(_strings(raw["rag"]), RAG_VALUES)
        if "cmp" in raw:
            changes["cmp"] = _list(_strings(raw["cmp"]), COMPARATORS)
        if "sn" in raw:
            changes["sn"] = raw["sn"] if raw["sn"] in SN_MODELS else self.sn
        if "as_of" in raw:
            changes["as_of"] = _date(raw["as_of"])
        if "cell" in raw:
            cell = raw["cell"] if isinstance(raw["cell"], str) and raw["cell"].count("|") == 2 else "||"
            agency, dim, val = cell.split("|")
            changes["agency"] = _agency(agency)
            changes["breakdown"] = _breakdown(f"{dim}:{val}" if dim else None)
        return replace(self, **changes)

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
            if self.compare_with:
                q.append(("with", ",".join(self.compare_with)))
            if self.q:
                q.append(("q", self.q))
        return ("?" + urlencode(q)) if q else ""

    def shared_query(self) -> str:
        """The part of the state that follows the user from page to page (authority, comparators, date)."""
        return self.with_(topic=None, rag=(), agency=None, breakdown=None, compare_with=(), q=None).query()


#: At most this many authorities besides the one the view is for (15 in all on /compare).
MAX_COMPARE_WITH = 14
_SEARCH = re.compile(r"^[\w \-'.,&()/%]{1,80}$")


def _codes(values: list[str]) -> tuple[str, ...]:
    """Authority codes from ``with``: each DfE (883) or GSS (E06000034) code, upper case, each once,
    in the order given, at most :data:`MAX_COMPARE_WITH`; anything else is dropped."""
    out: list[str] = []
    for v in values:
        for part in v.split(","):
            code = _la(part.strip())
            if code and code not in out:
                out.append(code)
    return tuple(out[:MAX_COMPARE_WITH])


def _search(value) -> str | None:
    """Search words: letters, digits, spaces and a little punctuation, at most 80 characters."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text if text and _SEARCH.match(text) else None


def _list(values: list[str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    items: list[str] = []
    for v in values:
        for part in v.split(","):
            part = part.strip().lower()
            if part in allowed and part not in items:
                items.append(part)
    return tuple(items)


def _strings(values) -> list[str]:
    return [v for v in values if isinstance(v, str)] if isinstance(values, (list, tuple)) else []


def _la(value: str | None) -> str | None:
    return value.upper() if isinstance(value, str) and _CODE.match(value.upper()) else None


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _topic(value, topics: tuple[str, ...]) -> str | None:
    return value if isinstance(value, str) and value in topics else None


def _agency(value) -> str | None:
    return value if isinstance(value, str) and value and _SAFE.match(value) else None


def _breakdown(value) -> str | None:
    return value if isinstance(value, str) and value and _BREAKDOWN.match(value) else None


def parse_query(search: str | None, topics: tuple[str, ...] = (), default_sn: str = "2025") -> ViewState:
    qs = parse_qs((search if isinstance(search, str) else "").lstrip("?"), keep_blank_values=True)

    def one(key: str) -> str | None:
        v = qs.get(key)
        return v[0].strip() if v and v[0].strip() else None

    if "cmp" in qs:
        cmp = () if one("cmp") == "none" else (_list(qs["cmp"], COMPARATORS) or ("england",))
    else:
        cmp = ("england",)
    sn = one("sn") if one("sn") in SN_MODELS else (default_sn if default_sn in SN_MODELS else "2025")
    return ViewState(la=_la(one("la")), cmp=cmp, sn=sn, as_of=_date(one("as_of")), topic=_topic(one("topic"), topics),
                     rag=_list(qs.get("rag", []), RAG_VALUES), agency=_agency(one("agency")),
                     breakdown=_breakdown(one("breakdown")), compare_with=_codes(qs.get("with", [])),
                     q=_search(qs["q"][0]) if qs.get("q") else None)
