"""Alembic migrations of the hub schema; :mod:`hub.database` runs them."""
