"""A throw-away instance for the benchmarks: the shipped ``data/`` built into a temporary folder.

Rules: nothing is read from or written to the developer's ``instance/`` or their
``DATABASE_URL``; settings come from an explicit environment dict, never ``os.environ``. A
"new data version" for cold measurements is a copy of the built SQLite file under a new name:
the product caches its snapshot per (database URL, version), so a new URL is loaded from
scratch exactly as a new build or a new worker process would be. The instance holds one viewer
account (``benchmarks.signin``), created before any copy, so every copy has it.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dashboard.config import Settings, load_settings
from dashboard.routes import PAGES as ROUTES

from .signin import Account, create_account

# The pages the benchmarks visit: (label, path, query). The metric page shows all comparators.
TOPICS = ("child_protection", "children_in_need", "looked_after", "workforce", "training")
PAGES: tuple[tuple[str, str, str], ...] = (
    ("overview /", "/", ""),
    *((f"topic {t}", f"/topic/{t}", "") for t in TOPICS),
    ("metric cp_rate_31mar", "/metric/cp_rate_31mar", "?cmp=england,region,sn"),
)


#: Example values for the route table's parameters, and a query for routes that need one. Every route
#: of ``dashboard.routes.PAGES`` is held to the page budgets; a route with a new parameter needs one line here.
#: The meeting pages show the meeting build_instance makes (the second: the first is the one before it).
BENCH_MEETING = 2
EXAMPLE_PARAMS = {"metric": "cp_rate_31mar", "topic": "child_protection", "meeting": str(BENCH_MEETING), "item": "1"}
EXAMPLE_QUERIES = {"search": "?q=neglect"}


def budget_pages(routes=ROUTES) -> tuple[tuple[str, str], ...]:
    """(label, URL) of every page in the route table, parameters filled with the examples."""
    out = []
    for pattern, page in routes:
        url = "/".join(EXAMPLE_PARAMS[p[1:-1]] if p.startswith("<") else p for p in pattern.split("/"))
        url = (url or "/") + EXAMPLE_QUERIES.get(page, "")
        out.append((url, url))
    return tuple(out)


BUDGET_PAGES = budget_pages()
#: The fifty-person run: what a panel member opens in turn on an inspector link.
FIFTY_PAGES = ("/", "/metric/cp_rate_31mar", "/topic/child_protection", "/topic/looked_after")


@dataclass
class Instance:
    root: Path
    settings: Settings
    build_seconds: float
    account: Account | None = None
    _copies: int = 0

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point the product (e.g. under gunicorn) at this instance."""
        return {"DASHBOARD_INSTANCE_DIR": str(self.settings.instance_dir),
                "DATABASE_URL": self.settings.database_url}

    def fresh_copy(self) -> Settings:
        """Settings for a copy of the database under a new URL: a data version no process has cached."""
        self._copies += 1
        src = self.settings.instance_dir / "dashboard.db"
        dst = self.root / f"version-copy-{self._copies}.db"
        shutil.copyfile(src, dst)
        return load_settings({"DASHBOARD_INSTANCE_DIR": str(self.settings.instance_dir),
                              "DATABASE_URL": f"sqlite:///{dst}"})

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def build_instance() -> Instance:
    """Build ``data/`` into a new temporary instance folder (SQLite)."""
    from dashboard.build import build

    root = Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    instance_dir = root / "instance"
    instance_dir.mkdir()
    settings = load_settings({"DASHBOARD_INSTANCE_DIR": str(instance_dir)})
    result = build(settings)
    account = create_account(settings)
    create_meetings(settings)
    return Instance(root=root, settings=settings, build_seconds=result.seconds, account=account)


def create_meetings(settings: Settings) -> None:
    """Two panel meetings, years apart (so the second lists many exceptions): the meeting pages and the pack
    are measured on the second, ``BENCH_MEETING``."""
    import datetime as dt

    from dashboard import meetings, store

    engine = store.get_engine(settings.database_url)
    who = {"actor": "bench", "role": "admin"}
    meetings.create_meeting(engine, date="2019-06-30", title="Previous panel", **who)
    made = meetings.create_meeting(engine, date=dt.date.today().isoformat(), title="Benchmark panel", **who)
    assert made.id == BENCH_MEETING, made.id
    engine.dispose()
