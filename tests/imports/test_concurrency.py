"""Several workers on one database: new versions are picked up without a restart, the Redis cache is
shared and keyed by version, SQLite is durable, and two imports at the same moment lose nothing.
"""
from __future__ import annotations

import contextlib
import dataclasses
import threading

import pandas as pd
import pytest

import dashboard.data as data_module
import dashboard.imports as imports_module
from dashboard import store
from dashboard.data import DataManager
from dashboard.imports import ImportRefused, StoreUnavailable, import_return
from tests.imports.conftest import THURROCK, csv_bytes, forget_engine, layer, max_version, training_return

DATA_HEADER = ["metric_id", "period", "value", "area", "note"]


def test_a_second_worker_sees_a_new_version_on_its_next_call(any_db, registry):
    first, second = DataManager(any_db.settings), DataManager(any_db.settings)  # two workers' managers
    before = second.snapshot()
    assert second.snapshot() is before  # loaded once per version, then kept
    data, expected = training_return(range(2018, 2019))
    rep = import_return(first.engine, registry, data, "training_2018.csv", user="analyst-a")
    after = second.snapshot()  # no restart, no signal: the next call sees the new version
    assert before.version_id != after.version_id == rep.version_id
    rows = after.rows("training_compliance", THURROCK)
    mine = rows[rows["source_key"].str.startswith(f"import/v{rep.version_id}/")]
    assert {(r.period_end, r.agency, r.breakdown_value): r.value for r in mine.itertuples()} == pytest.approx(expected)
    assert first.snapshot().version_id == rep.version_id


def test_the_shared_cache_serves_another_worker_from_redis(sqlite_db, registry, redis_url, monkeypatch):
    import redis

    client = redis.Redis.from_url(redis_url)
    existing = set(client.keys("sgdash:*"))
    settings = dataclasses.replace(sqlite_db.settings, redis_url=redis_url)
    try:
        one = DataManager(settings)
        snap = one.snapshot()
        new = set(client.keys("sgdash:*")) - existing
        mine = [k for k in new if k.decode().endswith(f":{snap.version_id}")]
        assert len(mine) == 1, new

        # another worker: nothing in its memory, and it must not read the snapshot from the database
        monkeypatch.setattr(data_module, "_cache", {})
        real_load = data_module._load

        def no_load(*_a, **_k):
            raise AssertionError("_load was called: the snapshot did not come from Redis")

        monkeypatch.setattr(data_module, "_load", no_load)
        other = DataManager(settings)
        got = other.snapshot()
        assert got is not snap and got.version_id == snap.version_id
        pd.testing.assert_frame_equal(got.frame, snap.frame)
        pd.testing.assert_frame_equal(got.areas, snap.areas)
        assert got.version_label == snap.version_label

        # a new version is a new key: not in Redis yet, so the worker has to load it
        data, _ = training_return(range(2019, 2020))
        rep = import_return(other.engine, registry, data, "training_2019.csv", user="analyst-a")
        with pytest.raises(AssertionError, match="_load was called"):
            other.snapshot()
        monkeypatch.setattr(data_module, "_load", real_load)
        assert other.snapshot().version_id == rep.version_id
        newer = set(client.keys("sgdash:*")) - existing - set(mine)
        assert [k for k in newer if k.decode().endswith(f":{rep.version_id}")]
        assert client.exists(mine[0])  # the old version's entry is a different key, left as it was
    finally:
        for key in set(client.keys("sgdash:*")) - existing:
            client.delete(key)
        client.close()


def test_a_database_built_again_from_nothing_is_not_served_from_the_old_cache(databases, redis_url, monkeypatch):
    """Version ids start again at 1 when a database is built anew; Redis keeps keys across that, so
    a key of database and id alone handed out the old database's data (seen on the PostgreSQL tier)."""
    import redis

    from dashboard.build import build

    client = redis.Redis.from_url(redis_url)
    existing = set(client.keys("sgdash:*"))
    db = databases.sqlite("rebuilt-from-nothing")
    settings = dataclasses.replace(db.settings, redis_url=redis_url)
    try:
        first = DataManager(settings).snapshot()
        assert first.version_id == max_version(db.engine)
        # the same database URL, dropped and built again: its first version has an id seen before
        forget_engine(db.url)
        for suffix in ("", "-wal", "-shm"):
            db.path.with_name(db.path.name + suffix).unlink(missing_ok=True)
        monkeypatch.setattr(data_module, "_cache", {})  # a worker started after the rebuild
        build(settings)
        rebuilt_id = max_version(db.engine)
        with store.Session(db.engine) as s:
            made = s.get(store.DataVersion, rebuilt_id).created_at
        assert rebuilt_id <= first.version_id  # ids start again
        got = DataManager(settings).snapshot()
        assert got.built_at == made != first.built_at  # this database's version, not the cached one
    finally:
        for key in set(client.keys("sgdash:*")) - existing:
            client.delete(key)
        client.close()
        databases.release(db)


def test_sqlite_runs_in_wal_mode_with_synchronous_full(sqlite_db):
    forget_engine(sqlite_db.url)
    with store.get_engine(sqlite_db.url).connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_two_imports_at_the_same_moment_lose_nothing(any_db, registry, monkeypatch):
    eng = any_db.engine
    real = imports_module._current_layer
    both_read = threading.Barrier(2, timeout=30)

    def read_then_wait(conn, version):
        out = real(conn, version)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return out

    monkeypatch.setattr(imports_module, "_current_layer", read_then_wait)
    files = {
        "a.csv": csv_bytes(DATA_HEADER, [["cin_cases_local", "31/03/2019", "700", "883", "analyst A"]]),
        "b.csv": csv_bytes(DATA_HEADER, [["cin_cases_local", "31/03/2020", "710", "883", "analyst B"]]),
    }
    results: dict[str, object] = {}

    def run(name: str) -> None:
        try:
            results[name] = import_return(eng, registry, files[name], name, user=name).version_id
        except (StoreUnavailable, ImportRefused) as exc:  # "busy, try again" is an acceptable answer
            results[name] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert set(results) == set(files)
    accepted = {n: v for n, v in results.items() if isinstance(v, int)}
    assert accepted, results
    for name, r in results.items():
        assert isinstance(r, int) or "busy" in str(r), (name, r)
    cells = {(r[0], r[2]) for r in layer(eng, max_version(eng))}
    wanted = {"a.csv": ("cin_cases_local", pd.Timestamp("2019-03-31").date()),
              "b.csv": ("cin_cases_local", pd.Timestamp("2020-03-31").date())}
    for name in accepted:
        assert wanted[name] in cells, f"{name} was accepted as data version {accepted[name]} but its row is not " \
                                      f"in the current import layer (version {max_version(eng)})"


def test_a_worker_that_froze_its_objects_releases_a_dropped_version(any_db, registry):
    """gunicorn.conf.py freezes a warm worker's objects; when a new data version replaces the old one, the old one
    may sit in frozen reference cycles, so the freeze is lifted, the old version collected, and the rest frozen again."""
    import gc
    import weakref

    manager = DataManager(any_db.settings)
    before = manager.snapshot()
    gone = weakref.ref(before)
    before._memo[("test", "cycle")] = {"snapshot": before}  # a reference cycle through the old version
    gc.collect()
    gc.freeze()
    try:
        del before
        data, _ = training_return(range(2018, 2019))
        import_return(manager.engine, registry, data, "training_2018.csv", user="analyst-a")
        after = manager.snapshot()
        assert gone() is None  # the old version, cycle and all, is gone
        assert gc.get_freeze_count() > 0  # and what is left is frozen again
        assert after.version_id != 0
    finally:
        gc.unfreeze()
