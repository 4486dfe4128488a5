"""The database adapter: tables, engine, repository functions, migrations runner and spool."""
