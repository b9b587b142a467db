"""Speed in the web layer: compressed responses, long-lived caching of fingerprinted files, no
component bundle a page does not use, and rendered pages cached by data version, role scope and URL.

Rules:
- Responses are compressed (Flask-Compress: brotli, else gzip) after the security headers and the
  gate have done their work; compression changes only the body and ``Content-Encoding``/``Vary``,
  never a cookie, the CSRF check or ``Cache-Control``. Pages and callback answers stay ``no-store``
  (``headers``), so no compressed page is kept by a browser or a proxy.
- Static files (Dash's component bundles and ``/assets``) are the same for everyone: each is
  compressed once per worker and kept; a fingerprinted one (``.v4_4_1m...js``, or ``/assets/x?m=...``)
  is ``Cache-Control: public, max-age=31536000, immutable``, so a warm load asks nothing for it; a
  chunk a bundle loads by a fixed name (dcc's ``async-graph.js``) is kept for an hour, then revalidated.
  Once served, a worker answers such a file again from memory in front of Flask (``StaticMemo``): no
  session, gate or compression work per request; static files neither read nor set the session cookie.
- The ``dash_table`` bundle (no page uses a DataTable: tables are plain accessible HTML) is not sent.
- A rendered page is cached as JSON under (database, data version and its stamp, registry, role,
  scope, staff or link, path, query): Redis when ``REDIS_URL`` is set, else in this process. It is
  rendered for a stand-in viewer whose name and CSRF token are placeholders, filled in for the person
  asking on each request, so nothing personal is shared between viewers; a viewer whose name or
  token contains a placeholder's text is never served from the cache.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict

from flask import Flask, Response, request

log = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=31536000, immutable"
CHUNK_MAX_AGE = "public, max-age=3600"
COMPRESSIBLE = frozenset({"text/html", "text/css", "text/plain", "text/csv", "application/json",
                          "application/javascript", "text/javascript", "image/svg+xml",
                          "image/vnd.microsoft.icon"})
SUITES_ENDPOINT = "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>"
ASSETS_ENDPOINT = "_dash_assets.static"
UNUSED_BUNDLES = ("dash.dash_table",)

#: the stand-in viewer's name and CSRF token in a cached page (plain ASCII: JSON writes them as they are)
NAME_MARK = "__sg_viewer_name_5f1c9a__"
TOKEN_MARK = "__sg_viewer_csrf_5f1c9a__"


# -- bundles ---------------------------------------------------------------------------------

def without_unused_bundles(scripts_html: str) -> str:
    """The page's script tags less those of component libraries no page uses."""
    return "\n".join(line for line in scripts_html.split("\n")
                     if not any(f"/_dash-component-suites/{b.replace('.', '/')}/" in line for b in UNUSED_BUNDLES))


# -- static files: compressed once, cached for a year when fingerprinted ------------------------

def choose_encoding(accept: str) -> str | None:
    """'br' or 'gzip' (in that order of preference) when the client accepts it with a non-zero weight."""
    accepted = {}
    for part in (accept or "").split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        accepted[name.strip().lower()] = q
    for enc in ("br", "gzip"):
        if accepted.get(enc, accepted.get("*", 0.0)) > 0:
            return enc
    return None


def compress_bytes(data: bytes, encoding: str, *, static: bool) -> bytes:
    if encoding == "br":
        import brotli

        return brotli.compress(data, quality=9 if static else 4)
    import gzip

    return gzip.compress(data, compresslevel=9 if static else 6, mtime=0)


def is_fingerprinted(kind: str) -> bool:
    """A component bundle with Dash's fingerprint in its name, or an asset with its ``?m=`` stamp."""
    if kind == "suites":
        from dash.fingerprint import check_fingerprint

        return check_fingerprint((request.view_args or {}).get("fingerprinted_path", ""))[1]
    return "m" in request.args


class StaticCompressor:
    """Compressed copies of static files, one per (URL, encoding), kept for the life of the worker.

    ``endpoints`` maps each static endpoint to its kind: "suites" (Dash's component bundles) or "assets"."""

    def __init__(self, endpoints: dict[str, str] | None = None, max_entries: int = 256):
        self.endpoints = endpoints or {SUITES_ENDPOINT: "suites", ASSETS_ENDPOINT: "assets"}
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def __call__(self, resp: Response) -> Response:
        endpoint = request.url_rule.endpoint if request.url_rule is not None else None
        kind = self.endpoints.get(endpoint)
        if kind is None or resp.status_code != 200:
            return resp
        if is_fingerprinted(kind):
            resp.headers["Cache-Control"] = IMMUTABLE
        elif kind == "suites":
            # chunks a bundle loads by a fixed name (dcc's async-graph.js): an hour, then revalidated by ETag
            resp.headers["Cache-Control"] = CHUNK_MAX_AGE
        resp.vary.add("Accept-Encoding")
        encoding = choose_encoding(request.headers.get("Accept-Encoding", ""))
        if encoding is None or resp.mimetype not in COMPRESSIBLE or "Content-Encoding" in resp.headers:
            return resp
        key = (request.full_path, encoding, resp.get_etag()[0] or "")
        with self._lock:
            body = self._cache.get(key)
        if body is None:
            resp.direct_passthrough = False
            body = compress_bytes(resp.get_data(), encoding, static=True)
            with self._lock:
                self._cache[key] = body
                while len(self._cache) > self.max_entries:
                    self._cache.popitem(last=False)
        resp.direct_passthrough = False
        resp.set_data(body)
        resp.headers["Content-Encoding"] = encoding
        etag, weak = resp.get_etag()
        if etag:
            resp.set_etag(f"{etag}:{encoding}", weak=weak)
        return resp


CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE",
               "HTTP_IF_RANGE", "HTTP_RANGE")


class StaticMemo:
    """WSGI middleware: a static file is served from memory, without Flask, once Flask has served it.

    Rules: only a plain GET under ``prefixes`` (no conditional or range header) is looked up, by its path,
    query and the encoding ``choose_encoding`` picks from its Accept-Encoding; only an answer Flask gave
    with status 200 and the cache lifetime of a fingerprinted file or a bundle's chunk (``IMMUTABLE``,
    ``CHUNK_MAX_AGE``) is kept, so what is kept had passed the gate (static files are public) and carries
    the same headers, less any cookie. Whatever is not kept goes to Flask as before. A fingerprinted URL
    names one content, and a bundle's chunk changes only with the installed package (a restart), so a kept
    answer is never stale. Bounded: ``max_entries`` answers, least recently used dropped first."""

    KEEP = (IMMUTABLE, CHUNK_MAX_AGE)

    def __init__(self, app, prefixes: tuple[str, ...], max_entries: int = 256):
        self.app, self.prefixes, self.max_entries = app, prefixes, max_entries
        self._kept: OrderedDict[tuple, tuple[str, list, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def keeps(self, url: str, encoding: str | None) -> bool:
        """Whether the answer to ``url`` (path and query) in ``encoding`` is kept."""
        path, _, query = url.partition("?")
        with self._lock:
            return (path, query, encoding) in self._kept

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if (environ.get("REQUEST_METHOD") != "GET" or not path.startswith(self.prefixes)
                or any(h in environ for h in CONDITIONAL)):
            return self.app(environ, start_response)
        key = (path, environ.get("QUERY_STRING", ""), choose_encoding(environ.get("HTTP_ACCEPT_ENCODING", "")))
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
        if kept is not None:
            status, headers, body = kept
            start_response(status, list(headers))
            return [body]
        answer: dict = {}

        def capture(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        headers = answer.get("headers") or []
        keep = (answer.get("status", "").startswith("200 ")
                and any(k.lower() == "cache-control" and v in self.KEEP for k, v in headers))
        if not keep:
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        plain = [(k, v) for k, v in headers if k.lower() != "set-cookie"]
        with self._lock:
            self._kept[key] = (answer["status"], plain, body)
            while len(self._kept) > self.max_entries:
                self._kept.popitem(last=False)
        return [body]


def install_compression(server: Flask, static_endpoints: dict[str, str] | None = None) -> None:
    """Brotli or gzip for every compressible response; static files compressed once and kept.

    Call after the security blueprints: Flask runs after-request functions last-registered-first,
    so the static compressor (registered last) sees each file first, and Flask-Compress the rest.
    """
    from flask_compress import Compress

    server.config.update(
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_BR_LEVEL=4,
        COMPRESS_LEVEL=6,
        COMPRESS_MIN_SIZE=500,
        COMPRESS_STREAMS=False,
        COMPRESS_MIMETYPES=sorted(COMPRESSIBLE),
        COMPRESS_EVALUATE_CONDITIONAL_REQUEST=False,  # pages carry no ETag (headers: no-store)
    )
    Compress(server)
    server.after_request(StaticCompressor(static_endpoints))


# -- rendered pages, cached by data version, role scope and URL -------------------------------------

class PageCache:
    """JSON of rendered pages: Redis (through the data manager's shared cache) when configured, else a
    bounded in-process dictionary. Keys are hashed; values are bytes."""

    def __init__(self, shared=None, max_entries: int = 512):
        self.shared = shared
        self._local: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._making: dict[str, threading.Lock] = {}
        self.max_entries = max_entries

    @staticmethod
    def key(parts: tuple) -> str:
        return "page:" + hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            got = self._local.get(key)
            if got is not None:
                self._local.move_to_end(key)
                return got
        if self.shared is not None:
            try:
                got = self.shared.get(key)
            except Exception as exc:  # noqa: BLE001 - a cache outage must not take the dashboard down
                log.warning("shared page cache unavailable: %s", exc)
                got = None
            if got is not None:
                self._remember(key, got)
        return got

    def get_or_make(self, key: str, make) -> bytes:
        """The cached value, or ``make()``'s, made once: threads asking for the same key while it is being
        made wait for it rather than make it again (a crowd opening one page in a worker that has not drawn
        it yet draws it once)."""
        got = self.get(key)
        if got is not None:
            return got
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        try:
            with making:
                got = self.get(key)
                if got is None:
                    got = make()
                    self.set(key, got)
        finally:
            with self._lock:
                self._making.pop(key, None)
        return got

    def set(self, key: str, value: bytes) -> None:
        self._remember(key, value)
        if self.shared is not None:
            try:
                self.shared.set(key, value)
            except Exception as exc:  # noqa: BLE001
                log.warning("could not write the shared page cache: %s", exc)

    def _remember(self, key: str, value: bytes) -> None:
        with self._lock:
            self._local[key] = value
            while len(self._local) > self.max_entries:
                self._local.popitem(last=False)


def personalise(page_json: str, name_json: str, token_json: str) -> str:
    """Fill the stand-in viewer's placeholders with the person's own name and CSRF token, each given as
    it appears inside a JSON string (escaped by the same encoder as the page, without the quotes)."""
    return page_json.replace(NAME_MARK, name_json).replace(TOKEN_MARK, token_json)


def cacheable_viewer(name: str, token: str) -> bool:
    return not any(mark in value for value in (name, token) for mark in (NAME_MARK, TOKEN_MARK))
