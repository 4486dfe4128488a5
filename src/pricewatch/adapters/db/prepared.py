"""Statements compiled once per database and run on the DBAPI cursor: the repository's hot path.

A Core statement costs a few hundred microseconds per execution in SQLAlchemy (cache-key
generation, parameter processing, result setup); the same SQL run on the DBAPI cursor costs a few
tens. (These statements therefore do not show in SQLAlchemy's echo log.) The column types' bind
and result processors (exact cents, UTC timestamps, JSON) are applied here, so values cross the
driver exactly as SQLAlchemy itself would send and read them, and driver errors are still raised
as SQLAlchemy's exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import ReturnsRows

Processor = Callable[[Any], Any]
Params = Mapping[str, Any]

# Named parameters on both drivers, so one parameter dict fits both (sqlite3 accepts :name).
_SQLITE_NAMED = SQLiteDialect_pysqlite(paramstyle="named")


@dataclass(frozen=True)
class _Compiled:
    sql: str
    binds: dict[str, Processor]
    results: tuple[Processor | None, ...]


class Prepared:
    """A statement, built and compiled lazily for each database kind it meets.

    `build` gets the dialect name ("sqlite", "postgresql"), for statements such as
    INSERT ... ON CONFLICT whose construct differs between databases. `columns` names the columns
    an INSERT sets (its parameters are named after them).
    """

    def __init__(
        self, build: Callable[[str], ClauseElement], *, columns: Sequence[str] = ()
    ) -> None:
        self._build = build
        self._columns = list(columns)
        self._compiled: dict[str, _Compiled] = {}

    def execute(self, connection: Connection, params: Params | Sequence[Params]) -> int:
        """Run with one parameter dict, or with many (executemany); the rows affected."""
        compiled = self._compile(connection.dialect)
        if isinstance(params, Mapping):
            bound: Any = _bind(compiled, params)
            return int(_run(connection, compiled.sql, bound, many=False).rowcount)
        bound = [_bind(compiled, p) for p in params]
        if len(bound) == 1:
            # One row: a plain execute is one round trip (psycopg's executemany adds a sync).
            return int(_run(connection, compiled.sql, bound[0], many=False).rowcount)
        return int(_run(connection, compiled.sql, bound, many=True).rowcount)

    def rows(self, connection: Connection, params: Params) -> list[tuple[Any, ...]]:
        """Run a SELECT and return its rows with the column types applied."""
        compiled = self._compile(connection.dialect)
        raw = _run(connection, compiled.sql, _bind(compiled, params), many=False).rows
        if not raw:
            return []
        # Column by column: each processor is mapped over its column in C, and the rows are
        # put back together by zip (thousands of chart rows; a per-value loop cost 5x more).
        columns: list[Sequence[Any]] = list(zip(*raw, strict=True))
        for index, process in enumerate(compiled.results):
            if process is not None:
                columns[index] = list(map(process, columns[index]))
        return list(zip(*columns, strict=True))

    def _compile(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            target = _SQLITE_NAMED if dialect.name == "sqlite" else dialect
            statement = self._build(dialect.name)
            compiled = cast(
                SQLCompiler,
                statement.compile(dialect=target, column_keys=self._columns or None),
            )
            binds: dict[str, Processor] = {}
            for bind, name in compiled.bind_names.items():
                processor = bind.type.dialect_impl(target).bind_processor(target)
                if processor is not None:
                    binds[name] = processor
            results: tuple[Processor | None, ...] = ()
            if isinstance(statement, ReturnsRows):
                # A SELECT's columns, or an INSERT/UPDATE's RETURNING columns.
                results = tuple(
                    column.type.dialect_impl(target).result_processor(target, None)
                    for column in statement.exported_columns
                )
            found = self._compiled[dialect.name] = _Compiled(compiled.string, binds, results)
        return found


class BulkInsert:
    """INSERT ... ON CONFLICT (key) DO NOTHING of many rows, given as tuples in `columns` order.

    PostgreSQL: one statement whatever the number of rows, the values sent as one array per column
    and spread by `unnest` (psycopg's executemany costs tens of microseconds of Python per row).
    SQLite: one executemany of one prepared statement (sqlite3 steps it in C). Values go through
    the column types' bind processors, column by column; `encoded` columns are given already in
    the driver's form (e.g. JSON text).
    """

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        key: Sequence[str],
        encoded: Sequence[str] = (),
    ) -> None:
        self._table = table
        self._columns = tuple(columns)
        self._key = tuple(key)
        self._encoded = frozenset(encoded)
        self._compiled: dict[str, tuple[str, tuple[Processor | None, ...]]] = {}

    def execute(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert `rows` (Python values); the number of rows actually inserted."""
        if not rows:
            return 0
        sql, processors = self._compile(connection.dialect)
        return _run_rows(connection, sql, processors, rows)

    def send(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> Callable[[], int]:
        """Insert `rows`; within `pipelined`, without waiting for the server.

        Returns the number of rows actually inserted, to be called once the `pipelined` block
        is left (outside one, the rows are already inserted).
        """
        if not rows:
            return lambda: 0
        sql, processors = self._compile(connection.dialect)
        if not _in_pipeline(connection):
            inserted = _run_rows(connection, sql, processors, rows)
            return lambda: inserted
        cursor = _send(connection, sql, _arrays(sql, processors, rows))
        return lambda: int(cursor.rowcount)

    def _compile(self, dialect: Dialect) -> tuple[str, tuple[Processor | None, ...]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            columns = [self._table.c[name] for name in self._columns]
            processors = tuple(
                None
                if c.name in self._encoded
                else c.type.dialect_impl(dialect).bind_processor(dialect)
                for c in columns
            )
            names = ", ".join(self._columns)
            key = ", ".join(self._key)
            if dialect.name == "postgresql":
                # %b: binary parameters; psycopg's text form of a timestamp array costs ~10 µs
                # per element, the binary form a fraction of that.
                arrays = ", ".join(
                    f"%b::{c.type.dialect_impl(dialect).compile(dialect)}[]" for c in columns
                )
                values = f"SELECT * FROM unnest({arrays})"
            else:
                values = f"VALUES ({', '.join('?' for _ in columns)})"
            sql = (
                f"INSERT INTO {self._table.name} ({names}) {values} ON CONFLICT ({key}) DO NOTHING"
            )
            found = self._compiled[dialect.name] = (sql, processors)
        return found


class BulkUpdate:
    """UPDATE of many rows by key, given as tuples in `columns` order, the key column first.

    PostgreSQL: one statement whatever the number of rows, the values sent as one array per column,
    spread by `unnest` and joined on the key. SQLite: one executemany of one prepared UPDATE.
    `keep_if_null` columns keep their stored value when given None (COALESCE). Values go through
    the column types' bind processors, column by column, as in `BulkInsert`.
    """

    def __init__(
        self, table: Table, columns: Sequence[str], *, keep_if_null: Sequence[str] = ()
    ) -> None:
        self._table = table
        self._columns = tuple(columns)
        self._keep = frozenset(keep_if_null)
        self._compiled: dict[str, tuple[str, tuple[Processor | None, ...]]] = {}

    def execute(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Update `rows` (Python values); the number of rows updated."""
        if not rows:
            return 0
        sql, processors = self._compile(connection.dialect)
        return _run_rows(connection, sql, processors, rows)

    def _compile(self, dialect: Dialect) -> tuple[str, tuple[Processor | None, ...]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            columns = [self._table.c[name] for name in self._columns]
            processors = tuple(
                c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns
            )
            key, *values = self._columns
            if dialect.name == "postgresql":
                setters = [
                    f"COALESCE(v.{n}, t.{n})" if n in self._keep else f"v.{n}" for n in values
                ]
                arrays = ", ".join(
                    f"%b::{c.type.dialect_impl(dialect).compile(dialect)}[]" for c in columns
                )
                sql = (
                    f"UPDATE {self._table.name} AS t SET "
                    + ", ".join(f"{n} = {e}" for n, e in zip(values, setters, strict=True))
                    + f" FROM unnest({arrays}) AS v({', '.join(self._columns)})"
                    + f" WHERE t.{key} = v.{key}"
                )
            else:
                # Numbered parameters (?1 is the key): the row tuples are bound as they are.
                setters = [
                    f"COALESCE(?{i}, {n})" if n in self._keep else f"?{i}"
                    for i, n in enumerate(values, start=2)
                ]
                sql = (
                    f"UPDATE {self._table.name} SET "
                    + ", ".join(f"{n} = {e}" for n, e in zip(values, setters, strict=True))
                    + f" WHERE {key} = ?1"
                )
            found = self._compiled[dialect.name] = (sql, processors)
        return found


def _run_rows(
    connection: Connection,
    sql: str,
    processors: Sequence[Processor | None],
    rows: Sequence[tuple[Any, ...]],
) -> int:
    """Run a bulk statement: arrays (one per column) on PostgreSQL, executemany on SQLite."""
    columns = _arrays(sql, processors, rows)
    if connection.dialect.name == "postgresql":
        return int(_run(connection, sql, columns, many=False).rowcount)
    bound = list(zip(*columns, strict=True))
    if len(bound) == 1:
        return int(_run(connection, sql, bound[0], many=False).rowcount)
    return int(_run(connection, sql, bound, many=True).rowcount)


def _arrays(
    sql: str, processors: Sequence[Processor | None], rows: Sequence[tuple[Any, ...]]
) -> list[list[Any]]:
    """The rows as columns, the columns' bind processors applied."""
    columns: list[list[Any]] = [list(column) for column in zip(*rows, strict=True)]
    try:
        for i, processor in enumerate(processors):
            if processor is not None:
                columns[i] = [None if v is None else processor(v) for v in columns[i]]
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise StatementError(str(exc), sql, None, exc) from exc
    return columns


@contextmanager
def pipelined(connection: Connection) -> Iterator[None]:
    """PostgreSQL: send the statements run inside without waiting for each one's result.

    The server works on one statement while Python prepares the next (psycopg's pipeline mode);
    results are read when a statement returns rows (e.g. a SELECT) and when the block is left.
    An error may therefore surface at a later statement or on leaving the block: it is raised as
    SQLAlchemy's, as `_run` does, and the transaction is to be rolled back as after any error.
    Rows counted with `BulkInsert.send` are known once the block is left. SQLite: no effect.
    """
    if connection.dialect.name != "postgresql" or _in_pipeline(connection):
        yield
        return
    dialect = connection.dialect
    dbapi_connection = connection.connection
    try:
        with _driver(connection).pipeline():
            yield
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, dbapi_connection, None)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            None,
            None,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
        ) from exc


def _in_pipeline(connection: Connection) -> bool:
    """True inside `pipelined` on PostgreSQL."""
    if connection.dialect.name != "postgresql":
        return False
    return bool(_driver(connection).pgconn.pipeline_status)


def _driver(connection: Connection) -> Any:
    """The driver's own connection (psycopg's, for its pipeline mode)."""
    return cast(Any, connection.connection.driver_connection)


def _bind(compiled: _Compiled, params: Params) -> dict[str, Any]:
    """Parameters as the driver wants them; a value a type refuses raises StatementError."""
    bound = dict(params)
    try:
        for name, processor in compiled.binds.items():
            value = bound.get(name)
            if value is not None:
                bound[name] = processor(value)
    except (ValueError, TypeError, ArithmeticError) as exc:
        # As SQLAlchemy itself reports a value its type processing refuses.
        raise StatementError(str(exc), compiled.sql, dict(params), exc) from exc
    return bound


def _send(connection: Connection, sql: str, params: Any) -> Any:
    """Execute without reading the result (in pipeline mode); the cursor, left open for it."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, params)
    except connection.dialect.loaded_dbapi.Error as exc:
        cursor.close()
        raise _as_sqlalchemy(connection, cursor, exc, sql, params) from exc
    return cursor


@dataclass(frozen=True)
class _Outcome:
    rowcount: int
    rows: list[Any]


def _run(connection: Connection, sql: str, params: Any, *, many: bool) -> _Outcome:
    """Execute on the connection's DBAPI cursor, in its current transaction.

    Driver errors are raised as SQLAlchemy's (OperationalError, IntegrityError, ...), and a lost
    connection is invalidated, as `Connection.execute` would do.
    """
    cursor = connection.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        rows = cursor.fetchall() if cursor.description is not None else []
        return _Outcome(cursor.rowcount, list(rows))
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _as_sqlalchemy(connection, cursor, exc, sql, params) from exc
    finally:
        cursor.close()


def _as_sqlalchemy(
    connection: Connection, cursor: Any, exc: Exception, sql: str, params: Any
) -> Exception:
    """A driver error as SQLAlchemy raises it (OperationalError, IntegrityError, ...); a lost
    connection is invalidated first, as `Connection.execute` would do."""
    dialect = connection.dialect
    lost = dialect.is_disconnect(cast(Any, exc), connection.connection, cursor)
    if lost:
        connection.invalidate(exc)
    return DBAPIError.instance(
        sql, params, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
    )
