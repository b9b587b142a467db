"""Gunicorn settings shared by `make run` and the Procfile.

Rules: bind to $HOST:$PORT (defaults 127.0.0.1:8050, as dashboard.config does; set
HOST=0.0.0.0 on a platform that routes traffic to the container); $WEB_CONCURRENCY worker
processes (default 2, one per core of the target machine), each with $GUNICORN_THREADS threads
(default 4) of the gthread worker, so slow callbacks do not block other users; a request that
runs longer than 60 seconds is killed. The app is imported in each worker (no preload), so
database connections are never shared across a fork.
"""
import os

bind = f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8050'}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
timeout = 60
graceful_timeout = 30
keepalive = 5
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
# No runtime control socket (gunicorn 27+; older versions ignore the name): two servers on
# one machine would otherwise compete for the same ~/.gunicorn/gunicorn.ctl.
control_socket_disable = True


def post_worker_init(worker):
    """Each worker loads the current data version before taking requests, so no visitor waits for it.

    Then what it has loaded (the data version, the pages drawn, Dash, pandas: half a million objects that live
    as long as the worker) is frozen out of the cyclic garbage collector's way: a full collection of them
    stopped every thread of the worker for about 0.3 s, now and then, in the middle of someone's request.
    Frozen objects are still freed when nothing refers to them; only reference cycles among them are kept."""
    import gc

    from dashboard.web.app import warm_up

    warm_up(worker.wsgi)
    gc.collect()
    gc.freeze()
