"""Fixtures and hooks shared by every test tier (unit, web, browser).

Isolation rule: from the moment pytest is configured, the process environment points the
dashboard at a throw-away instance directory, and ``DATABASE_URL`` at either
``DASHBOARD_TEST_DATABASE_URL`` (the PostgreSQL tier) or a SQLite file inside that directory.
A test run therefore never reads or writes the developer's ``instance/dashboard.db`` or the
database named by their own ``DATABASE_URL``, even for modules that read settings at import
time (``app.py``).

Browser rule: a test is a browser test when it is marked ``browser``, lives under
``tests/browser/`` or uses a dash.testing browser fixture (``dash_duo``, ``dash_br``,
``dash_duo_mp``). Such a test needs ``chromium`` and ``chromedriver`` on PATH; when either is
missing it is skipped (reason names what is missing), except with ``CI=true``, where it fails.
Chromium always runs headless, with the flags in ``CHROME_ARGS`` and a fresh profile.

Database rule (which tests the PostgreSQL tier of ``make test`` runs): a test is marked ``db`` when
its result can depend on the database backend, that is when it requests, directly or through other
fixtures, a fixture in ``DB_FIXTURES`` (the session's settings, hence ``built_db`` and every tier's
app, engine and manager built on it) or the ``postgresql`` case of a fixture in ``DB_PARAMS`` (the
imports tier's ``any_db``, the migration tier's ``dialect``). ``make test`` runs the whole suite on
SQLite, then only ``-m db`` against PostgreSQL. Browser tests are not marked: they read pages through
the queries the web and security tiers already run on PostgreSQL. A browser test that writes to the
database through the UI where no other tier covers that write on PostgreSQL is marked ``db`` by
hand (``tests/browser/test_axe.py``, ``tests/browser/test_a11y_layout.py``: the upload check page).

Helpers that are not fixtures (building callback bodies, signing in, reading layouts) live once in
tests/helpers.py, which every tier imports.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from dashboard.config import ROOT, Settings, load_settings

TEST_DATABASE_ENV = "DASHBOARD_TEST_DATABASE_URL"

BROWSER_FIXTURES = frozenset({"dash_duo", "dash_br", "dash_duo_mp"})
BROWSER_EXECUTABLES = ("chromium", "chromedriver")
BROWSER_TEST_DIR = ROOT / "tests" / "browser"

# The database rule (module docstring): fixtures whose database is the run's backend, and parametrised
# fixtures whose given parameter is a database on the PostgreSQL server.
DB_FIXTURES = frozenset({"test_settings"})
DB_PARAMS = {"any_db": "postgresql", "dialect": "postgresql"}

# Flags that let Chromium run as root in a container with no display, no GPU, a small
# /dev/shm and no outside network (background-networking flags stop it calling home).
CHROME_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1366,900",
)

_session_state: dict[str, object] = {"tmp_dirs": []}


# --------------------------------------------------------------------------- settings


def is_ci() -> bool:
    """True when the CI environment variable is "true" (any case)."""
    return os.environ.get("CI", "").strip().lower() == "true"


def make_test_settings(instance_dir: Path, env: dict[str, str] | None = None) -> Settings:
    """Settings that keep all state in ``instance_dir``.

    The database is ``DASHBOARD_TEST_DATABASE_URL`` from ``env`` (default: the process
    environment) when set, otherwise ``sqlite:///<instance_dir>/dashboard.db``. Other
    variables (DASHBOARD_LA, DASHBOARD_DATA_DIR, REDIS_URL ...) are taken from ``env``.
    """
    source = dict(os.environ if env is None else env)
    instance_dir = Path(instance_dir)
    instance_dir.mkdir(parents=True, exist_ok=True)
    source["DASHBOARD_INSTANCE_DIR"] = str(instance_dir)
    source["DATABASE_URL"] = source.get(TEST_DATABASE_ENV) or (
        f"sqlite:///{instance_dir / 'dashboard.db'}"
    )
    return load_settings(source)


def xdist_worker() -> int | None:
    """This process's pytest-xdist worker number (``gw3`` -> 3), or None outside a worker."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else None


def _worker_database(url: str, worker: int) -> str:
    """A PostgreSQL database of its own for one xdist worker: ``<name>_gw<N>`` on the same server,
    created when missing, so that workers never wipe or build each other's tables."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_gw{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def pytest_configure(config: pytest.Config) -> None:
    instance_dir = Path(tempfile.mkdtemp(prefix="dashboard-test-instance-"))
    _session_state["tmp_dirs"].append(instance_dir)  # type: ignore[union-attr]
    worker = xdist_worker()
    if worker is not None:
        # Each worker is a process of its own: its own ports for dash.testing's servers (they count up
        # from one fixed number in every process) and, on the PostgreSQL tier, its own database.
        from dash.testing.application_runners import BaseDashRunner

        BaseDashRunner._next_port += 1000 * (worker + 1)
        if os.environ.get(TEST_DATABASE_ENV):
            os.environ[TEST_DATABASE_ENV] = _worker_database(os.environ[TEST_DATABASE_ENV], worker)
    settings = make_test_settings(instance_dir)
    _session_state["saved_env"] = {
        key: os.environ.get(key) for key in ("DASHBOARD_INSTANCE_DIR", "DATABASE_URL")
    }
    os.environ["DASHBOARD_INSTANCE_DIR"] = str(settings.instance_dir)
    os.environ["DATABASE_URL"] = settings.database_url
    _session_state["settings"] = settings
    if settings.database_url.startswith("postgresql"):
        _wipe_test_database(settings.database_url)

    # dash.testing only adds "--headless" when its --headless option is set; always set it.
    if hasattr(config.option, "headless"):
        config.option.headless = True

    # selenium 4.2 (pinned by dash[testing]) calls urllib3 APIs that warn on every request.
    for rule in (
        "ignore:HTTPResponse.getheader:DeprecationWarning",
        r"ignore:'urllib3\[secure\]' extra is deprecated:DeprecationWarning",
    ):
        config.addinivalue_line("filterwarnings", rule)


def _wipe_test_database(url: str) -> None:
    """Start every PostgreSQL run with none of the dashboard's tables: earlier runs (perhaps of an
    older schema) leave users, links and versions behind. Only the dashboard's own tables go."""
    from sqlalchemy import create_engine, text

    from dashboard.models import Base  # every table of the dashboard

    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as c:
        c.execute(text("DROP TABLE IF EXISTS meta CASCADE"))
        c.execute(text("DROP TABLE IF EXISTS alembic_version CASCADE"))
        c.execute(text("DROP FUNCTION IF EXISTS audit_event_append_only() CASCADE"))
    engine.dispose()


def pytest_unconfigure(config: pytest.Config) -> None:
    for key, value in (_session_state.pop("saved_env", None) or {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    for path in _session_state["tmp_dirs"]:  # type: ignore[union-attr]
        shutil.rmtree(path, ignore_errors=True)
    _session_state["tmp_dirs"] = []


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = _session_state.get("settings")
    url = getattr(settings, "database_url", "?")
    kind = "PostgreSQL tier" if os.environ.get(TEST_DATABASE_ENV) else "SQLite"
    return [f"dashboard test database: {kind} ({_redact(url)})"]


def _redact(url: str) -> str:
    """Hide a password in a database URL for display."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}" if ":" in creds else url
    return url


@pytest.fixture(scope="session")
def test_settings() -> Settings:
    """The session's isolated Settings (the same values the environment now holds)."""
    return _session_state["settings"]  # type: ignore[return-value]


@pytest.fixture(scope="session")
def built_db(test_settings: Settings) -> Settings:
    """The session database, built once from ``data/`` by ``dashboard.build.build``.

    Skips the requesting tests when ``dashboard.build`` cannot be imported, so tests that do
    not need a database keep running while it is being written.
    """
    build_module = pytest.importorskip("dashboard.build")
    build_module.build(test_settings)
    return test_settings


# --------------------------------------------------------------------------- browser


def missing_browser_executables() -> list[str]:
    """Names from BROWSER_EXECUTABLES that are not on PATH."""
    return [name for name in BROWSER_EXECUTABLES if shutil.which(name) is None]


def _is_browser_test(item: pytest.Item) -> bool:
    if item.get_closest_marker("browser") is not None:
        return True
    if BROWSER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    try:
        Path(str(item.path)).resolve().relative_to(BROWSER_TEST_DIR)
    except ValueError:
        return False
    return True


def uses_the_backend(item: pytest.Item) -> bool:
    """True when the test's result can depend on the database backend (the database rule above)."""
    names = set(getattr(item, "fixturenames", ()))
    if DB_FIXTURES & names:
        return True
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(name in names and params.get(name) == value for name, value in DB_PARAMS.items())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        browser = _is_browser_test(item)
        if browser and item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.browser)
        if not browser and item.get_closest_marker("db") is None and uses_the_backend(item):
            item.add_marker(pytest.mark.db)


@pytest.fixture(autouse=True)
def _require_browser(request: pytest.FixtureRequest) -> None:
    """Skip (locally) or fail (CI=true) a browser test when Chromium is not installed."""
    if request.node.get_closest_marker("browser") is None:
        return
    missing = missing_browser_executables()
    if not missing:
        return
    message = (
        f"{' and '.join(missing)} not found on PATH; "
        "run scripts/ensure-chromium.sh (Debian: apt-get install chromium chromium-driver)"
    )
    if is_ci():
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


def chrome_options():
    """Selenium ChromeOptions with CHROME_ARGS, a fresh user-data-dir and the binary path."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    profile = Path(tempfile.mkdtemp(prefix="dashboard-test-chromium-"))
    _session_state["tmp_dirs"].append(profile)  # type: ignore[union-attr]
    options.add_argument(f"--user-data-dir={profile}")
    binary = os.environ.get("DASH_TEST_CHROMEPATH") or shutil.which("chromium")
    if binary:
        options.binary_location = binary
    return options


@pytest.hookimpl(optionalhook=True)
def pytest_setup_options():
    """dash.testing hook: the Chrome options every dash_duo / dash_br browser starts with."""
    return chrome_options()


# -- a database with small numbers that DfE has not already suppressed --------------------------

# DfE's files arrive with every child count of 1 to 5 already shown as "c", so only a local return
# can put small numbers in front of a viewer. This return gives Hartlepool (805) a few.
SMALL_NUMBERS_RETURN = """metric_id,area,period_end,agency,breakdown,breakdown_value,value,numerator,denominator,note
cp_by_category,805,2024-03-31,,category_of_abuse,NEG,,61,100,test: small numbers
cp_by_category,805,2024-03-31,,category_of_abuse,EMO,,30,100,test: small numbers
cp_by_category,805,2024-03-31,,category_of_abuse,PHY,,6,100,test: small numbers
cp_by_category,805,2024-03-31,,category_of_abuse,SAB,,3,100,test: small numbers
cp_by_age,805,2024-03-31,,age_band,0-4,,40,100,test: small numbers
cp_by_age,805,2024-03-31,,age_band,5-11,,35,100,test: small numbers
cp_by_age,805,2024-03-31,,age_band,12-16,,23,100,test: small numbers
cp_by_age,805,2024-03-31,,age_band,17,,2,100,test: small numbers
lac_out_of_borough_local,805,2024-03-31,,,,,4,150,test: small numbers
"""
SMALL_NUMBERS_LA = "805"


@pytest.fixture(scope="session")
def small_numbers_db(tmp_path_factory) -> Settings:
    """Settings for a separate SQLite database built from a copy of data/ plus SMALL_NUMBERS_RETURN.

    It is SQLite in every tier (the session database may be PostgreSQL, which a second build would
    overwrite); what it tests, the suppression of what viewers see, does not depend on the database.
    """
    build_module = pytest.importorskip("dashboard.build")
    root = tmp_path_factory.mktemp("small-numbers")
    data = root / "data"
    shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("templates"))
    (data / "local" / "small_numbers_test.csv").write_text(SMALL_NUMBERS_RETURN, encoding="utf-8")
    (data / "local" / "small_numbers_test.source.yaml").write_text(
        "key: local/small_numbers_test.csv\nkind: local_return\ntitle: Test return with small numbers\n"
        "publisher: tests\nvintage: test\n", encoding="utf-8")
    settings = load_settings({"DASHBOARD_DATA_DIR": str(data), "DASHBOARD_INSTANCE_DIR": str(root / "instance"),
                              "DATABASE_URL": f"sqlite:///{root / 'instance' / 'small.db'}"})
    build_module.build(settings)
    return settings
