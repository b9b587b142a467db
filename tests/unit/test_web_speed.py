"""The web layer's speed parts that need no app (``dashboard/web/speed.py``): ``StaticMemo`` in front of a
WSGI app, and ``PageCache.get_or_make`` under threads."""
from __future__ import annotations

import threading
import time

from dashboard.web import speed


class FileApp:
    """A WSGI app that answers like Flask's static files: counts its calls; ``answers`` by path."""

    def __init__(self, answers: dict[str, tuple[str, list]]):
        self.answers, self.calls = answers, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        status, headers = self.answers.get(environ["PATH_INFO"], ("404 NOT FOUND", []))
        enc = environ.get("HTTP_ACCEPT_ENCODING", "")
        start_response(status, list(headers) + [("Set-Cookie", "sg_session=someone; HttpOnly")])
        return [f"{environ['PATH_INFO']}?{environ.get('QUERY_STRING', '')} as {enc or 'plain'} #{self.calls}".encode()]


def call(app, path: str, query: str = "", method: str = "GET", **headers):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    got = {}

    def start_response(status, hdrs, exc_info=None):
        got["status"], got["headers"] = status, hdrs

    body = b"".join(app(environ, start_response))
    return got["status"], dict(got["headers"]), body.decode()


ANSWERS = {
    "/assets/app.js": ("200 OK", [("Content-Type", "text/javascript"), ("Cache-Control", speed.IMMUTABLE)]),
    "/assets/chunk.js": ("200 OK", [("Cache-Control", speed.CHUNK_MAX_AGE)]),
    "/assets/plain.js": ("200 OK", [("Cache-Control", "no-cache")]),
    "/assets/gone.js": ("404 NOT FOUND", [("Cache-Control", speed.IMMUTABLE)]),
    "/page": ("200 OK", [("Cache-Control", speed.IMMUTABLE)]),
}


def test_a_static_file_is_answered_from_memory_after_the_first_time():
    inner = FileApp(ANSWERS)
    memo = speed.StaticMemo(inner, ("/assets/",))
    first = call(memo, "/assets/app.js", "m=1", accept_encoding="gzip, br")
    again = call(memo, "/assets/app.js", "m=1", accept_encoding="gzip, br")
    assert inner.calls == 1
    assert first[0] == again[0] == "200 OK" and first[2] == again[2]
    assert again[1]["Cache-Control"] == speed.IMMUTABLE and again[1]["Content-Type"] == "text/javascript"
    assert "Set-Cookie" in first[1]  # the first answer is Flask's own, as it was
    assert "Set-Cookie" not in again[1]  # no one's cookie is kept
    assert memo.keeps("/assets/app.js?m=1", "br") and not memo.keeps("/assets/app.js?m=1", "gzip")
    call(memo, "/assets/chunk.js", accept_encoding="gzip")
    call(memo, "/assets/chunk.js", accept_encoding="gzip")
    assert inner.calls == 2  # a bundle's chunk is kept too


def test_each_encoding_and_query_is_its_own_answer():
    inner = FileApp(ANSWERS)
    memo = speed.StaticMemo(inner, ("/assets/",))
    br = call(memo, "/assets/app.js", "m=1", accept_encoding="br")[2]
    gz = call(memo, "/assets/app.js", "m=1", accept_encoding="gzip")[2]
    plain = call(memo, "/assets/app.js", "m=1")[2]
    other = call(memo, "/assets/app.js", "m=2", accept_encoding="br")[2]
    assert len({br, gz, plain, other}) == 4 and inner.calls == 4
    assert call(memo, "/assets/app.js", "m=1", accept_encoding="gzip")[2] == gz and inner.calls == 4


def test_what_is_not_kept_always_reaches_the_app():
    inner = FileApp(ANSWERS)
    memo = speed.StaticMemo(inner, ("/assets/",))
    for _ in range(2):
        call(memo, "/assets/plain.js")  # not fingerprinted: may change on disk
        call(memo, "/assets/gone.js")  # not a 200
        call(memo, "/page")  # not under the static paths
        call(memo, "/assets/app.js", method="HEAD")
        call(memo, "/assets/app.js", method="POST")
    assert inner.calls == 10
    call(memo, "/assets/app.js")
    call(memo, "/assets/app.js", if_none_match='"abc"')  # a conditional request is Flask's to answer
    call(memo, "/assets/app.js", range="bytes=0-10")
    assert inner.calls == 13


def test_the_memo_is_bounded():
    answers = {f"/assets/{i}.js": ANSWERS["/assets/app.js"] for i in range(5)}
    inner = FileApp(answers)
    memo = speed.StaticMemo(inner, ("/assets/",), max_entries=3)
    for i in range(5):
        call(memo, f"/assets/{i}.js")
    assert [memo.keeps(f"/assets/{i}.js", None) for i in range(5)] == [False, False, True, True, True]


def test_a_page_is_made_once_while_many_threads_ask_for_it():
    cache = speed.PageCache()
    made = []
    start = threading.Barrier(6)

    def make():
        made.append(1)
        time.sleep(0.2)  # a slow render: the others arrive while it is being made
        return b"page"

    got = []

    def ask():
        start.wait()
        got.append(cache.get_or_make("page:k", make))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [b"page"] * 6 and len(made) == 1
    assert cache.get_or_make("page:other", lambda: b"other") == b"other" and cache.get("page:k") == b"page"


def test_a_failed_make_is_not_cached_and_does_not_block_the_next():
    cache = speed.PageCache()

    def broken():
        raise RuntimeError("render failed")

    try:
        cache.get_or_make("page:k", broken)
    except RuntimeError:
        pass
    assert cache.get("page:k") is None
    assert cache.get_or_make("page:k", lambda: b"page") == b"page"
