"""Alembic migration scripts, shipped with the package (run them with `pricewatch db`)."""
