"""Exact money and UTC timestamps round-trip on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, select
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.orm import Session

from pricewatch.adapters.db.tables import price_history, products
from pricewatch.adapters.db.types import UtcDateTime, to_cents_decimal

from .conftest import T0

TRICKY = [
    Decimal("0.1") + Decimal("0.2"),
    Decimal("9999999999.99"),
    Decimal("1226.50"),
    Decimal("0.01"),
    Decimal("0"),
    Decimal("1234567.89"),
    Decimal("0.07"),
    Decimal("4503599627370.49") / 1000,  # 4503599627.37049 -> rounds to .37
]


def _product(session: Session) -> int:
    row = {
        "source": "s",
        "reference": "r",
        "url": "https://x.example/",
        "first_seen_at": T0,
        "last_updated_at": T0,
    }
    return int(session.execute(insert(products).returning(products.c.id), [row]).scalar_one())


def _price_row(product_id: int, at: datetime, price: Decimal | None) -> dict[str, object]:
    return {
        "product_id": product_id,
        "fetched_at": at,
        "price": price,
        "shipping_cost": price,
        "currency": "EUR",
        "stock_status": "in_stock",
        "fetch_method": "http",
        "fetch_status": "ok",
    }


def test_prices_round_trip_exactly(session: Session) -> None:
    pid = _product(session)
    rows = [_price_row(pid, T0 + timedelta(minutes=i), v) for i, v in enumerate(TRICKY)]
    session.execute(insert(price_history), rows)
    got = session.execute(
        select(price_history.c.price, price_history.c.shipping_cost).order_by(
            price_history.c.fetched_at
        )
    ).all()
    expected = [to_cents_decimal(v) for v in TRICKY]
    assert [r.price for r in got] == expected
    assert [str(r.price) for r in got] == [format(v, "f") for v in expected]
    assert str(got[0].price) == "0.30"
    assert str(got[2].price) == "1226.50"
    assert all(type(r.price) is Decimal and type(r.shipping_cost) is Decimal for r in got)


def test_rounding_is_half_up_to_the_cent() -> None:
    assert to_cents_decimal(Decimal("1.005")) == Decimal("1.01")
    assert to_cents_decimal(Decimal("2.675")) == Decimal("2.68")
    assert to_cents_decimal(Decimal("2.674")) == Decimal("2.67")


@pytest.mark.parametrize("value", ["10000000000.00", "NaN", "Infinity"])
def test_amounts_that_do_not_fit_are_refused(session: Session, value: str) -> None:
    pid = _product(session)
    with pytest.raises(sa_exc.StatementError, match="does not fit"):
        session.execute(insert(price_history), [_price_row(pid, T0, Decimal(value))])


def test_aggregates_stay_exact(session: Session) -> None:
    from sqlalchemy import func

    pid = _product(session)
    values = [Decimal("0.10"), Decimal("0.20"), Decimal("1226.50"), Decimal("9999999999.99")]
    session.execute(
        insert(price_history),
        [_price_row(pid, T0 + timedelta(hours=i), v) for i, v in enumerate(values)],
    )
    low, high, total = session.execute(
        select(
            func.min(price_history.c.price),
            func.max(price_history.c.price),
            func.sum(price_history.c.price),
        )
    ).one()
    assert (low, high, total) == (Decimal("0.10"), Decimal("9999999999.99"), sum(values))


def test_timestamps_come_back_aware_in_utc(session: Session) -> None:
    paris = timezone(timedelta(hours=2))
    local = datetime(2026, 6, 1, 14, 30, 15, 123456, tzinfo=paris)
    pid = _product(session)
    session.execute(insert(price_history), [_price_row(pid, local, Decimal("1"))])
    got = session.execute(select(price_history.c.fetched_at)).scalar_one()
    assert got == local
    assert got.tzinfo is UTC
    assert got.hour == 12
    assert got.microsecond == 123456
    assert (
        session.execute(select(products.c.first_seen_at).where(products.c.id == pid)).scalar_one()
        == T0
    )


def test_range_filters_compare_instants_not_wall_clocks(session: Session) -> None:
    pid = _product(session)
    session.execute(insert(price_history), [_price_row(pid, T0, Decimal("1"))])
    new_york = timezone(timedelta(hours=-5))
    just_after = (T0 + timedelta(microseconds=1)).astimezone(new_york)
    stmt = select(price_history.c.price).where(price_history.c.fetched_at < just_after)
    assert session.execute(stmt).scalar_one() == Decimal("1.00")


def test_naive_timestamps_are_refused(session: Session) -> None:
    pid = _product(session)
    with pytest.raises(sa_exc.StatementError, match="timezone-aware"):
        session.execute(
            insert(price_history), [_price_row(pid, datetime(2026, 1, 1), Decimal("1"))]
        )


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2026-03-01 12:30:00.000001", datetime(2026, 3, 1, 12, 30, 0, 1, tzinfo=UTC)),
        ("2026-03-01 12:30:00", datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        ("2026-03-01T14:30:00+02:00", datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_sqlite_text_reads_back_as_utc(stored: str, expected: datetime) -> None:
    """Text this type wrote, and text written by others (an offset, a bare date)."""
    read = UtcDateTime().result_processor(SQLiteDialect_pysqlite(), None)(stored)
    assert read == expected
    assert read.tzinfo is UTC


def test_sqlite_text_of_any_offset_is_utc() -> None:
    write = UtcDateTime().bind_processor(SQLiteDialect_pysqlite())
    paris = timezone(timedelta(hours=1))
    assert write(datetime(2026, 1, 1, 13, 0, 0, 5, tzinfo=paris)) == "2026-01-01 12:00:00.000005"
    assert write(datetime(2026, 1, 1, 12, tzinfo=UTC)) == "2026-01-01 12:00:00.000000"
