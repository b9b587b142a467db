"""Alembic migrations: every table of the dashboard is created and changed by a revision here.

Run by ``dashboard.migrate`` (``init_db``, ``python -m dashboard db upgrade``); no alembic.ini.
"""
