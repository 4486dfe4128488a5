"""Column types that behave the same on SQLite and PostgreSQL: exact money and UTC timestamps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

CENT = Decimal("0.01")
#: Numeric(12, 2) holds up to 9,999,999,999.99.
MAX_AMOUNT = Decimal("9999999999.99")

#: JSON documents (errors, notes): JSONB on PostgreSQL so they can be indexed and queried.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")


def to_cents_decimal(value: Decimal) -> Decimal:
    """`value` rounded half-up to the cent; ValueError when it is not finite or too large."""
    try:
        rounded = value.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"amount {value} does not fit Numeric(12, 2)") from None
    if not rounded.is_finite() or abs(rounded) > MAX_AMOUNT:
        raise ValueError(f"amount {value} does not fit Numeric(12, 2)")
    return rounded


class Amount(TypeDecorator[Decimal]):
    """Numeric(12, 2) as an exact Decimal.

    PostgreSQL stores NUMERIC(12, 2). SQLite has no decimal type (NUMERIC columns hold floats), so
    there the value is stored as an integer number of cents: exact, and MIN/MAX/SUM stay exact too.
    Values are rounded half-up to the cent on both databases, as PostgreSQL's NUMERIC does.
    The processors are written out (rather than process_bind_param) because they run for every
    price row of a bulk write.
    """

    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Integer cents on SQLite, NUMERIC(12, 2) elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(12, 2, asdecimal=True))

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        """Round to the cent; integer cents on SQLite."""
        if dialect.name == "sqlite":
            return _cents
        return _decimal_or_none

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any]:
        """Back to a Decimal with two places."""
        if dialect.name == "sqlite":
            return _from_cents
        return _two_places


def _cents(value: Decimal | None) -> int | None:
    return None if value is None else int(to_cents_decimal(Decimal(value)).scaleb(2))


def _decimal_or_none(value: Decimal | None) -> Decimal | None:
    return None if value is None else to_cents_decimal(Decimal(value))


def _from_cents(value: Any) -> Decimal | None:
    return None if value is None else Decimal(int(value)).scaleb(-2)


def _two_places(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(CENT)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases.

    PostgreSQL stores TIMESTAMP WITH TIME ZONE. SQLite has no time zones, so the value is converted
    to UTC and stored without an offset as fixed-width text (`YYYY-MM-DD HH:MM:SS.ffffff`, the
    format SQLAlchemy uses, which sorts and compares as time), and read back as an aware UTC
    datetime. Naive datetimes are refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        """Refuse naive values; UTC text on SQLite, an aware UTC datetime elsewhere."""
        if dialect.name == "sqlite":
            return _utc_text
        return _utc_or_none

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any]:
        """An aware datetime in UTC."""
        if dialect.name == "sqlite":
            return _from_utc_text
        return _aware_utc


def _utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
    return value.astimezone(UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


def _utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = _utc(value)
    # An aware value's text ends with "+00:00": cut rather than copy the datetime without it.
    return value.isoformat(" ", "microseconds")[:26]


def _from_utc_text(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            # Read as UTC at once rather than copied into UTC (this runs for every row read).
            return _aware_utc(datetime.fromisoformat(value + "+00:00"))
        except ValueError:  # text with an offset of its own
            return _aware_utc(datetime.fromisoformat(value))
    return _aware_utc(value)


def _aware_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
