"""Runtime configuration, read from the environment once.

Every setting has a safe local default so that ``make run`` works with no setup:
SQLite in ``instance/``, the shipped ``data/`` folder, Thurrock as the authority.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / "data"
DEFAULT_INSTANCE_DIR = ROOT / "instance"


def _default_database_url(instance_dir: Path) -> str:
    return f"sqlite:///{instance_dir / 'dashboard.db'}"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = DEFAULT_DATA_DIR
    instance_dir: Path = DEFAULT_INSTANCE_DIR
    database_url: str = ""
    # The authority the dashboard opens on: a DfE three-digit code or a GSS code.
    la_code: str = "883"
    # Statistical-neighbour model: "2021" (DfE's April 2021 groupings) or "2025".
    sn_model: str = "2025"
    # The partnership framework the overview scorecard shows (registry "frameworks:"); None: the first listed.
    framework: str | None = None
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8050
    # "production" refuses to start without SECRET_KEY and marks cookies Secure (HTTPS only)
    environment: str = "local"
    idle_minutes: int = 30
    session_hours: int = 8
    # failed password attempts per user name (4x per address) before each further attempt waits,
    # 1 s, 2 s, 4 s ... up to 15 minutes after the last failure (never a lockout)
    max_failures: int = 5
    # inspector links last at most this many days
    max_link_days: int = 90
    # addresses or networks of the reverse proxies in front of the app, whose X-Forwarded-For and
    # X-Forwarded-Proto are trusted (Werkzeug's ProxyFix); empty: the peer's address is the client's
    trusted_proxies: tuple[str, ...] = ()

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def secure_cookies(self) -> bool:
        return self.production

    @property
    def registry_path(self) -> Path:
        return self.data_dir / "metrics.yaml"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("DASHBOARD_DATA_DIR") or DEFAULT_DATA_DIR)
    instance_dir = Path(env.get("DASHBOARD_INSTANCE_DIR") or DEFAULT_INSTANCE_DIR)
    return Settings(
        data_dir=data_dir,
        instance_dir=instance_dir,
        database_url=env.get("DATABASE_URL") or _default_database_url(instance_dir),
        la_code=(env.get("DASHBOARD_LA") or "883").strip(),
        sn_model=(env.get("DASHBOARD_SN_MODEL") or "2025").strip(),
        framework=(env.get("DASHBOARD_FRAMEWORK") or "").strip() or None,
        redis_url=env.get("REDIS_URL") or None,
        host=env.get("HOST") or "127.0.0.1",
        port=int(env.get("PORT") or 8050),
        environment=(env.get("DASHBOARD_ENV") or "local").strip().lower(),
        idle_minutes=int(env.get("DASHBOARD_IDLE_MINUTES") or 30),
        session_hours=int(env.get("DASHBOARD_SESSION_HOURS") or 8),
        max_failures=int(env.get("DASHBOARD_MAX_SIGNIN_FAILURES") or 5),
        max_link_days=int(env.get("DASHBOARD_MAX_LINK_DAYS") or 90),
        trusted_proxies=tuple(p.strip() for p in (env.get("DASHBOARD_TRUSTED_PROXIES") or "").split(",")
                              if p.strip()),
    )
