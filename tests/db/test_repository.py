"""Repository functions on both databases, each test in a rolled-back transaction."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from pricewatch.adapters.db import catalog_repository as catalog_repo
from pricewatch.adapters.db import prepared
from pricewatch.adapters.db import repository as repo
from pricewatch.adapters.db.catalog_repository import LatestPrices, ProductQuery, ProductRow
from pricewatch.adapters.db.tables import (
    DEFAULT_CHECK_INTERVAL,
    Product,
    price_history,
    product_images,
    product_specs,
    products,
    scraping_logs,
)
from pricewatch.domain.snapshot import Availability, FetchStatus
from pricewatch.services.catalog import ProductItem

from .conftest import T0, make_snapshot, minutes


def _count(session: Session, table: object, *where: object) -> int:
    return int(session.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


def _images(session: Session, product_id: int) -> list[tuple[str, int]]:
    c = product_images.c
    stmt = select(c.image_url, c.position).where(c.product_id == product_id).order_by(c.position)
    return [(r.image_url, r.position) for r in session.execute(stmt)]


def _specs(session: Session, product_id: int) -> dict[str, str]:
    c = product_specs.c
    stmt = select(c.spec_key, c.spec_value).where(c.product_id == product_id)
    return {r.spec_key: r.spec_value for r in session.execute(stmt)}


# --- natural key -------------------------------------------------------------------------------


def test_natural_key_uses_the_reference() -> None:
    assert repo.natural_key(make_snapshot("B0ABC")) == repo.ProductKey("teststore", "B0ABC")


def test_natural_key_without_reference_is_the_normalised_url() -> None:
    a = make_snapshot(None, url="HTTPS://Shop.Example:443/p/kettle/?utm_source=x&b=2&a=1#top")
    b = make_snapshot(None, url="https://shop.example/p/kettle?a=1&b=2&gclid=zz")
    c = make_snapshot(None, url="https://shop.example/p/other")
    assert repo.natural_key(a) == repo.natural_key(b) != repo.natural_key(c)
    assert repo.natural_key(a).reference.startswith("url:")
    assert repo.normalise_url(a.url) == "https://shop.example/p/kettle?a=1&b=2"


def test_over_long_keys_are_shortened_without_collisions() -> None:
    long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"
    key_a, key_b = (repo.natural_key(make_snapshot(r)) for r in (long_a, long_b))
    assert len(key_a.reference) == repo.REFERENCE_LENGTH
    assert key_a != key_b


# --- products ----------------------------------------------------------------------------------


def test_get_or_create_is_idempotent(session: Session) -> None:
    snap = make_snapshot()
    first = repo.get_or_create_product(session=session, snapshot=snap)
    again = repo.get_or_create_product(
        session=session, snapshot=snap.model_copy(update={"title": "x"})
    )
    assert first == again
    product = repo.find_product(session=session, source="teststore", reference="SKU-1")
    assert product is not None
    assert product.id == first
    assert product.title == "Product SKU-1"
    assert product.enabled
    assert product.check_interval == DEFAULT_CHECK_INTERVAL


def test_save_snapshot_writes_product_price_images_specs_and_log(session: Session) -> None:
    snap = make_snapshot(
        price="1226.50",
        brand="Acme",
        gtin="0123456789012",
        category="Kitchen",
        shipping_cost=Decimal("4.99"),
        images=("https://img/1.jpg", "https://img/2.jpg", "https://img/1.jpg", "data:image/png;x"),
        specs={"Colour": "red", "Weight": "1 kg"},
    )
    result = repo.save_snapshot(session=session, snapshot=snap)
    assert (result.products_created, result.price_rows, result.logs) == (1, 1, 1)
    pid = result.product_ids[0]
    assert pid is not None
    product = session.get(Product, pid)
    assert product is not None
    assert (product.brand, product.gtin, product.category, product.currency) == (
        "Acme",
        "0123456789012",
        "Kitchen",
        "EUR",
    )
    assert product.first_seen_at == product.last_updated_at == T0
    assert product.next_check_at == T0 + timedelta(seconds=DEFAULT_CHECK_INTERVAL)
    row = session.execute(select(price_history).where(price_history.c.product_id == pid)).one()
    assert (row.price, row.shipping_cost, row.currency) == (
        Decimal("1226.50"),
        Decimal("4.99"),
        "EUR",
    )
    assert (row.stock_status, row.fetch_method, row.fetch_status) == ("in_stock", "http", "ok")
    assert _images(session, pid) == [("https://img/1.jpg", 0), ("https://img/2.jpg", 1)]
    assert _specs(session, pid) == {"Colour": "red", "Weight": "1 kg"}
    log = session.execute(select(scraping_logs)).one()
    assert (log.product_id, log.duration_ms, log.html_size_bytes, log.fetch_status) == (
        pid,
        120,
        50_000,
        "ok",
    )
    assert log.errors == []
    assert log.notes == []


def test_repeated_save_never_duplicates(session: Session) -> None:
    snap = make_snapshot(images=("https://img/1.jpg",), specs={"a": "1"})
    repo.save_snapshot(session=session, snapshot=snap)
    again = repo.save_snapshot(session=session, snapshot=snap)
    assert (again.products_created, again.price_rows, again.logs) == (0, 0, 0)
    for table in (products, price_history, product_images, product_specs, scraping_logs):
        assert _count(session, table) == 1


def test_newer_snapshot_updates_metadata_and_keeps_unknown_fields(session: Session) -> None:
    repo.save_snapshot(session=session, snapshot=make_snapshot(brand="Acme", title="Old"))
    newer = make_snapshot(at=T0 + minutes(5), title="New", brand=None, price="17.00")
    result = repo.save_snapshot(session=session, snapshot=newer)
    assert result.products_updated == 1
    product = repo.find_product(session=session, source="teststore", reference="SKU-1")
    assert product is not None
    session.refresh(product)
    assert (product.title, product.brand) == ("New", "Acme")
    assert product.last_updated_at == T0 + minutes(5)
    assert product.first_seen_at == T0


def test_older_snapshot_adds_history_but_not_stale_metadata(session: Session) -> None:
    repo.save_snapshot(
        session=session, snapshot=make_snapshot(title="Current", specs={"colour": "blue"})
    )
    older = make_snapshot(
        at=T0 - timedelta(days=3), title="Stale", specs={"colour": "red", "size": "L"}
    )
    result = repo.save_snapshot(session=session, snapshot=older)
    assert result.price_rows == 1
    product = repo.find_product(session=session, source="teststore", reference="SKU-1")
    assert product is not None
    session.refresh(product)
    assert product.title == "Current"
    assert product.first_seen_at == T0 - timedelta(days=3)
    assert product.last_updated_at == T0
    assert _specs(session, product.id) == {"colour": "blue", "size": "L"}
    assert _count(session, price_history) == 2


def test_images_add_new_keep_existing_and_follow_the_newest_order(session: Session) -> None:
    pid = repo.save_snapshot(
        session=session, snapshot=make_snapshot(images=("https://i/a", "https://i/b"))
    ).product_ids[0]
    assert pid is not None
    repo.save_snapshot(
        session=session,
        snapshot=make_snapshot(at=T0 + minutes(1), images=("https://i/c", "https://i/a")),
    )
    assert _images(session, pid) == [("https://i/c", 0), ("https://i/a", 1), ("https://i/b", 2)]
    repo.save_snapshot(
        session=session, snapshot=make_snapshot(at=T0 - minutes(1), images=("https://i/old",))
    )
    assert _images(session, pid)[0] == ("https://i/c", 0)
    assert ("https://i/old", 3) in _images(session, pid)


def test_specs_are_upserted(session: Session) -> None:
    pid = repo.save_snapshot(
        session=session, snapshot=make_snapshot(specs={"colour": "red", "size": "M"})
    ).product_ids[0]
    assert pid is not None
    repo.save_snapshot(
        session=session,
        snapshot=make_snapshot(at=T0 + minutes(1), specs={"colour": "green", "weight": "2 kg"}),
    )
    assert _specs(session, pid) == {"colour": "green", "size": "M", "weight": "2 kg"}


def test_an_unchanged_page_costs_four_statements(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    images, specs = ("https://i/a", "https://i/b"), {"colour": "red"}
    repo.save_snapshot(session=session, snapshot=make_snapshot(images=images, specs=specs))
    # An older snapshot adds its image at the end: the newest list stays in front.
    repo.save_snapshot(
        session=session, snapshot=make_snapshot(at=T0 - minutes(1), images=("https://i/z",))
    )
    statements: list[str] = []
    real_run = prepared._run

    def spy(connection: Any, sql: str, params: Any, *, many: bool) -> Any:
        statements.append(sql.split("(")[0].split(" WHERE")[0])
        return real_run(connection, sql, params, many=many)

    real_send = prepared._send

    def spy_send(connection: Any, sql: str, params: Any) -> Any:
        statements.append(sql.split("(")[0].split(" WHERE")[0])
        return real_send(connection, sql, params)

    monkeypatch.setattr(prepared, "_run", spy)
    monkeypatch.setattr(prepared, "_send", spy_send)
    newer = make_snapshot(at=T0 + minutes(1), images=images, specs=specs, price="18.00")
    result = repo.save_snapshot(session=session, snapshot=newer)
    assert (result.price_rows, result.logs) == (1, 1)
    assert not [s for s in statements if "product_images" in s or "product_specs" in s]
    assert len(statements) == 4
    pid = result.product_ids[0]
    assert pid is not None
    assert _images(session, pid) == [("https://i/a", 0), ("https://i/b", 1), ("https://i/z", 2)]

    statements.clear()
    changed = make_snapshot(at=T0 + minutes(2), images=("https://i/b",), specs={"colour": "blue"})
    repo.save_snapshot(session=session, snapshot=changed)
    assert [s for s in statements if "product_images" in s]
    assert _images(session, pid) == [("https://i/b", 0), ("https://i/a", 1), ("https://i/z", 2)]
    assert _specs(session, pid) == {"colour": "blue"}


def test_out_of_stock_without_price_writes_a_stock_row(session: Session) -> None:
    snap = make_snapshot(price=None, availability=Availability.OUT_OF_STOCK)
    assert repo.save_snapshot(session=session, snapshot=snap).price_rows == 1
    row = session.execute(select(price_history)).one()
    assert (row.price, row.stock_status) == (None, "out_of_stock")


def test_page_with_no_price_and_no_stock_writes_no_price_row(session: Session) -> None:
    snap = make_snapshot(price=None, availability=Availability.UNKNOWN)
    result = repo.save_snapshot(session=session, snapshot=snap)
    assert (result.products_created, result.price_rows, result.logs) == (1, 0, 1)


@pytest.mark.parametrize("status", [FetchStatus.BLOCKED, FetchStatus.ERROR, FetchStatus.NOT_FOUND])
def test_failed_snapshots_write_only_a_log(session: Session, status: FetchStatus) -> None:
    pid = repo.save_snapshot(session=session, snapshot=make_snapshot()).product_ids[0]
    # A failure carries no reference; it is linked to the known product through its URL.
    failed = make_snapshot(
        None,
        url="https://shop.example/p/SKU-1",
        at=T0 + minutes(10),
        price=None,
        availability=Availability.UNKNOWN,
        status=status,
        title=None,
        errors=("captcha page",),
    )
    result = repo.save_snapshot(session=session, snapshot=failed)
    assert (result.products_created, result.price_rows, result.logs) == (0, 0, 1)
    assert result.product_ids == (pid,)
    assert _count(session, price_history) == 1
    log = session.execute(
        select(scraping_logs).where(scraping_logs.c.fetch_status == status.value)
    ).one()
    assert (log.product_id, log.errors) == (pid, ["captcha page"])
    product = session.get(Product, pid)
    assert product is not None
    assert product.title == "Product SKU-1"


def test_blocked_snapshot_of_an_unknown_page_creates_no_product(session: Session) -> None:
    blocked = make_snapshot(
        None,
        url="https://shop.example/never-seen",
        price=None,
        title=None,
        status=FetchStatus.BLOCKED,
        # An extractor may have read junk from a block page: it must not become a price.
        availability=Availability.OUT_OF_STOCK,
    )
    result = repo.save_snapshot(session=session, snapshot=blocked)
    assert result.product_ids == (None,)
    assert _count(session, products) == 0
    assert _count(session, price_history) == 0
    assert _count(session, scraping_logs, scraping_logs.c.product_id.is_(None)) == 1


def test_failures_advance_the_schedule_of_a_known_product(session: Session) -> None:
    pid = repo.save_snapshot(session=session, snapshot=make_snapshot()).product_ids[0]
    later = T0 + timedelta(days=1)
    failed = make_snapshot(at=later, price=None, status=FetchStatus.BLOCKED)
    repo.save_snapshot(session=session, snapshot=failed)
    product = session.get(Product, pid)
    assert product is not None
    session.refresh(product)
    assert product.next_check_at == later + timedelta(seconds=DEFAULT_CHECK_INTERVAL)
    assert product.last_updated_at == T0


def test_batch_with_many_products_and_repeats(session: Session) -> None:
    snaps = [
        make_snapshot(f"SKU-{i % 7}", at=T0 + minutes(i), price=f"{i}.{i % 100:02d}")
        for i in range(1200)
    ]
    result = repo.save_snapshots(session=session, snapshots=snaps + snaps[:50])
    assert result.products_created == 7
    assert result.price_rows == 1200
    assert _count(session, price_history) == 1200
    assert _count(session, scraping_logs) == 1200
    newest = repo.find_product(session=session, source="teststore", reference="SKU-3")
    assert newest is not None
    assert newest.last_updated_at == T0 + minutes(1193)


def test_add_scraping_log_is_idempotent(session: Session) -> None:
    snap = make_snapshot(status=FetchStatus.ERROR, price=None)
    assert repo.add_scraping_log(session=session, snapshot=snap, product_id=None)
    assert not repo.add_scraping_log(session=session, snapshot=snap, product_id=None)


def test_check_constraints_reject_unknown_states(session: Session) -> None:
    pid = repo.get_or_create_product(session=session, snapshot=make_snapshot())
    row = {
        "product_id": pid,
        "fetched_at": T0,
        "price": Decimal("1"),
        "currency": "EUR",
        "stock_status": "sold_out_maybe",
        "fetch_method": "http",
        "fetch_status": "ok",
    }
    with pytest.raises(sa_exc.IntegrityError), session.begin_nested():
        session.execute(insert(price_history), [row])


def test_deleting_a_product_cascades_but_keeps_logs(session: Session) -> None:
    snap = make_snapshot(images=("https://i/a",), specs={"k": "v"})
    pid = repo.save_snapshot(session=session, snapshot=snap).product_ids[0]
    session.execute(delete(products).where(products.c.id == pid))
    for table in (price_history, product_images, product_specs):
        assert _count(session, table) == 0
    assert session.execute(select(scraping_logs.c.product_id)).scalar_one() is None


# --- reads -------------------------------------------------------------------------------------


def test_product_page_with_latest_and_previous_price_per_product(session: Session) -> None:
    """The page the API and dashboard list: each product's latest observation and the one
    before it (PostgreSQL reads both with one LATERAL seek, SQLite with two), newest first."""
    for i, price in enumerate(["20.00", "18.50", "19.00"]):
        repo.save_snapshot(session=session, snapshot=make_snapshot(at=T0 + minutes(i), price=price))
    repo.save_snapshot(session=session, snapshot=make_snapshot("SKU-2", at=T0, price="5.00"))
    repo.save_snapshot(
        session=session,
        snapshot=make_snapshot(
            None, url="https://shop.example/empty", price=None, availability=Availability.UNKNOWN
        ),
    )
    for i, (price, currency) in enumerate([("7.00", "USD"), ("6.00", "EUR")]):
        snapshot = make_snapshot(
            "BOOK-1", source="bookshop", at=T0 - minutes(10 - i), price=price, currency=currency
        )
        repo.save_snapshot(session=session, snapshot=snapshot)

    def page(**query: Any) -> tuple[list[tuple[ProductRow, LatestPrices | None]], int]:
        return catalog_repo.product_page(session=session, query=ProductQuery(**query))

    rows, total = page()
    assert total == 4
    references = [row.reference for row, _ in rows]
    assert references[0] == "SKU-1"  # most recently updated first
    assert references[-1] == "BOOK-1"
    latest = {row.reference: prices for row, prices in rows}
    items = {row.reference: ProductItem(row, prices) for row, prices in rows}
    one = latest["SKU-1"]
    assert one is not None
    assert (one.fetched_at, one.price, one.currency) == (T0 + minutes(2), Decimal("19.00"), "EUR")
    assert (one.previous_price, one.previous_currency) == (Decimal("18.50"), "EUR")
    assert items["SKU-1"].change == Decimal("0.50")
    two = latest["SKU-2"]
    assert two is not None
    assert (two.price, two.previous_price, two.previous_currency) == (Decimal("5.00"), None, None)
    assert items["SKU-2"].change is None
    empty = next(prices for r, prices in latest.items() if r.startswith("url:"))
    assert empty is None  # no observation with a price or a stock status yet
    book = latest["BOOK-1"]
    assert book is not None
    assert (book.price, book.currency) == (Decimal("6.00"), "EUR")
    assert (book.previous_price, book.previous_currency) == (Decimal("7.00"), "USD")
    assert (items["BOOK-1"].previous_price, items["BOOK-1"].change) == (None, None)  # 2 currencies
    # The limit, and the total over all pages.
    rows, total = page(limit=1)
    assert ([row.reference for row, _ in rows], total) == (["SKU-1"], 4)
    assert rows[0][1] is not None
    assert rows[0][1].previous_price == Decimal("18.50")
    rows, total = page(limit=2, offset=2)
    assert ([row.reference for row, _ in rows], total) == (references[2:], 4)
    rows, total = page(limit=2, offset=10)  # past the last page: the count alone
    assert (rows, total) == ([], 4)
    # The filter by source.
    rows, total = page(source="bookshop")
    assert ([row.reference for row, _ in rows], total) == (["BOOK-1"], 1)
    assert rows[0][1] is not None
    assert rows[0][1].previous_price == Decimal("7.00")
    assert page(source="elsewhere") == ([], 0)


MIDNIGHT = T0.replace(hour=0)


def _history(session: Session, days: int, per_day: int) -> int:
    snaps = [
        make_snapshot(
            at=MIDNIGHT + timedelta(days=d, hours=h * (24 // per_day)),
            price=f"{100 + d}.{h:02d}",
        )
        for d in range(days)
        for h in range(per_day)
    ]
    pid = repo.save_snapshots(session=session, snapshots=snaps).product_ids[0]
    assert pid is not None
    return pid


def test_price_series_raw_for_short_ranges(session: Session) -> None:
    pid = _history(session, days=3, per_day=4)
    series = repo.price_series(
        session=session, product_id=pid, start=MIDNIGHT, end=MIDNIGHT + timedelta(days=2)
    )
    assert series.resolution == "raw"
    assert len(series.points) == 8
    assert series.points[0].last == Decimal("100.00")
    assert series.points[0].at == MIDNIGHT
    assert [p.at for p in series.points] == sorted(p.at for p in series.points)


def test_price_series_per_day_for_long_ranges(session: Session) -> None:
    pid = _history(session, days=40, per_day=3)
    series = repo.price_series(
        session=session, product_id=pid, start=T0 - timedelta(days=1), end=T0 + timedelta(days=60)
    )
    assert series.resolution == "day"
    assert len(series.points) == 40
    day5 = series.points[5]
    assert (day5.low, day5.high, day5.last, day5.observations) == (
        Decimal("105.00"),
        Decimal("105.02"),
        Decimal("105.02"),
        3,
    )
    assert day5.at.date() == (T0 + timedelta(days=5)).date()


def test_price_stats_are_exact(session: Session) -> None:
    prices = ["0.10", "0.20", "0.30", "1226.50"]
    snaps = [make_snapshot(at=T0 + minutes(i), price=p) for i, p in enumerate(prices)]
    snaps.append(
        make_snapshot(at=T0 + minutes(9), price=None, availability=Availability.OUT_OF_STOCK)
    )
    pid = repo.save_snapshots(session=session, snapshots=snaps).product_ids[0]
    assert pid is not None
    stats = repo.price_stats(session=session, product_id=pid)
    assert stats is not None
    assert (stats.low, stats.high, stats.average, stats.observations) == (
        Decimal("0.10"),
        Decimal("1226.50"),
        Decimal("306.78"),
        4,
    )
    assert (stats.low_at, stats.high_at, stats.currency) == (T0, T0 + minutes(3), "EUR")
    ranged = repo.price_stats(
        session=session, product_id=pid, start=T0 + minutes(1), end=T0 + minutes(3)
    )
    assert ranged is not None
    assert (ranged.low, ranged.high) == (Decimal("0.20"), Decimal("0.30"))
    assert repo.price_stats(session=session, product_id=pid, currency="USD") is None


def test_price_series_and_stats_agree_with_price_stats(session: Session) -> None:
    """The statistics computed from the chart's rows are `price_stats`'s, repeated lows and
    highs, unpriced rows and a change of currency included."""
    prices = ["5.00", "3.10", "7.25", "3.10", None, "7.25", "4.00", "9.99", None]
    currencies = ["EUR"] * 6 + ["USD", "EUR", "EUR"]
    snaps = [
        make_snapshot(at=T0 + minutes(i), price=p, currency=c)
        for i, (p, c) in enumerate(zip(prices, currencies, strict=True))
    ]
    pid = repo.save_snapshots(session=session, snapshots=snaps).product_ids[0]
    assert pid is not None
    for start, end in [(T0, T0 + minutes(9)), (T0 + minutes(1), T0 + minutes(7)), (T0, T0)]:
        series, stats = repo.price_series_and_stats(
            session=session, product_id=pid, start=start, end=end
        )
        assert stats == repo.price_stats(session=session, product_id=pid, start=start, end=end)
        assert series == repo.price_series(session=session, product_id=pid, start=start, end=end)
    stats = repo.price_series_and_stats(
        session=session, product_id=pid, start=T0, end=T0 + minutes(9)
    )[1]
    assert stats is not None
    assert (stats.low, stats.low_at, stats.high, stats.observations) == (
        Decimal("3.10"),
        T0 + minutes(3),
        Decimal("9.99"),
        6,
    )


def test_due_products(session: Session) -> None:
    repo.save_snapshot(session=session, snapshot=make_snapshot("A"))
    b = repo.save_snapshot(session=session, snapshot=make_snapshot("B", at=T0 + timedelta(days=1)))
    pid_b = b.product_ids[0]
    assert pid_b is not None
    now = T0 + timedelta(hours=25)  # A is due (checked daily), B was checked an hour ago
    assert [p.reference for p in repo.due_products(session=session, now=now)] == ["A"]
    repo.set_schedule(session=session, product_id=pid_b, check_interval=60)
    repo.set_schedule(session=session, product_id=pid_b, enabled=False)
    later = T0 + timedelta(days=10)
    assert [p.reference for p in repo.due_products(session=session, now=later)] == ["A"]
