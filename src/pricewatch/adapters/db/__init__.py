"""The database adapter: tables, engine, repository functions, migrations runner and spool."""

# Registers the job and account tables on the shared MetaData, so migrations and drift checks
# see them wherever only `tables.Base` is imported (the Alembic environment does that).
from pricewatch.adapters.db import account_tables as account_tables
from pricewatch.adapters.db import job_items as job_items
from pricewatch.adapters.db import job_tables as job_tables
from pricewatch.adapters.db import ops_tables as ops_tables
