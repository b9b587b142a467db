"""Start an import and hold its transaction open after it has written, so a test can kill the process.

Run by tests/imports/test_faults.py in a subprocess, from the repository root:

    python tests/imports/kill_helper.py DATABASE_URL RETURN_FILE

Once the import's transaction has inserted the new layer's observations (and, for SQLite, spilled
uncommitted pages into the write-ahead log: the page cache is kept tiny), it prints a line
``WRITING <rows visible inside the transaction>`` and sleeps, never committing. The test then sends
SIGKILL. The sleep stands for a slow step of a real import (a large file on a loaded server).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

MARKER = "WRITING"
HOLD_SECONDS = 120


def main(url: str, path: str) -> int:
    from sqlalchemy import event, func, select
    from sqlalchemy.orm import Session

    from dashboard import imports, store
    from dashboard.config import DEFAULT_DATA_DIR
    from dashboard.registry import load_registry

    engine = store.get_engine(url)
    if url.startswith("sqlite"):
        def tiny_cache(dbapi_conn, _record) -> None:
            dbapi_conn.execute("PRAGMA cache_size=8")  # pages beyond 8 spill to the WAL before the commit

        event.listen(engine, "connect", tiny_cache)

    original = Session.execute

    def execute_then_stall(self, statement, *args, **kwargs):
        result = original(self, statement, *args, **kwargs)
        table = getattr(statement, "table", None)
        if getattr(statement, "is_insert", False) and getattr(table, "name", None) == "observation":
            seen = original(self, select(func.count()).select_from(store.Observation)).scalar()
            print(f"{MARKER} {seen}", flush=True)
            time.sleep(HOLD_SECONDS)
            print("not killed in time", flush=True)
            sys.exit(3)
        return result

    Session.execute = execute_then_stall
    data = Path(path).read_bytes()
    imports.import_return(engine, load_registry(DEFAULT_DATA_DIR / "metrics.yaml"), data, Path(path).name,
                          user="kill-test")
    print("committed", flush=True)  # must never happen
    return 4


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main(sys.argv[1], sys.argv[2]))
