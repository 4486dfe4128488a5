"""Money and ProductSnapshot: exact values and a stable JSON form."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from pricewatch.domain import Availability, FetchStatus, Money, ProductSnapshot
from pricewatch.domain.snapshot import FetchInfo, shipping_total


def test_money_is_exact_and_normalises_currency() -> None:
    money = Money(amount=Decimal("1226.50"), currency="eur")
    assert money.currency == "EUR"
    assert str(money) == "1226.50 EUR"
    assert money + Money(amount=Decimal("0.10"), currency="EUR") == Money(
        amount=Decimal("1226.60"), currency="EUR"
    )


@pytest.mark.parametrize("currency", ["EURO", "€", "", "12"])
def test_money_refuses_what_is_not_an_iso_code(currency: str) -> None:
    with pytest.raises(ValidationError, match="ISO 4217"):
        Money(amount=Decimal(1), currency=currency)


@pytest.mark.parametrize("amount", [Decimal("-1"), Decimal("NaN"), Decimal("Infinity")])
def test_money_refuses_negative_and_non_finite_amounts(amount: Decimal) -> None:
    with pytest.raises(ValidationError):
        Money(amount=amount, currency="USD")


def test_money_refuses_adding_other_currencies() -> None:
    with pytest.raises(ValueError, match="cannot add"):
        Money(amount=Decimal(1), currency="USD") + Money(amount=Decimal(1), currency="EUR")


def _snapshot(**changes: object) -> ProductSnapshot:
    values: dict[str, object] = {
        "source": "shop.example",
        "reference": "SKU-1",
        "url": "https://shop.example/p/1",
        "title": "Espresso machine",
        "price": Decimal("1226.50"),
        "currency": "EUR",
        "shipping_cost": Decimal("4.99"),
        "availability": Availability.IN_STOCK,
        "images": ("https://shop.example/a.jpg", "https://shop.example/b.jpg"),
        "specs": {"Power": "1450 W"},
        "fetch": FetchInfo(fetched_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), duration_ms=12),
    }
    values.update(changes)
    return ProductSnapshot.model_validate(values)


def test_snapshot_json_form_is_stable() -> None:
    data = _snapshot().to_json_dict()
    assert data["price"] == "1226.50"
    assert data["shipping_cost"] == "4.99"
    assert data["availability"] == "in_stock"
    assert data["images"] == ["https://shop.example/a.jpg", "https://shop.example/b.jpg"]
    assert data["fetch"]["fetched_at"] == "2026-01-02T03:04:05Z"
    assert data["fetch"]["status"] == "ok"
    assert data["schema_version"] == 1
    assert json.loads(json.dumps(data)) == data


def test_snapshot_round_trips_through_json_and_ignores_unknown_keys() -> None:
    original = _snapshot()
    data = json.loads(json.dumps(original.to_json_dict()))
    data["a_key_from_a_newer_version"] = 1
    assert ProductSnapshot.from_json_dict(data) == original


def test_snapshot_timestamps_are_utc_and_must_be_aware() -> None:
    paris = timezone(timedelta(hours=1))
    info = FetchInfo(fetched_at=datetime(2026, 1, 1, 12, 0, tzinfo=paris))
    assert info.fetched_at == datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    assert info.fetched_at.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError, match="timezone-aware"):
        FetchInfo(fetched_at=datetime(2026, 1, 1, 12, 0))


def test_snapshot_is_immutable_and_with_fetch_copies() -> None:
    snapshot = _snapshot()
    with pytest.raises(ValidationError):
        snapshot.title = "changed"  # type: ignore[misc]
    blocked = snapshot.with_fetch(status=FetchStatus.BLOCKED)
    assert blocked.fetch.status is FetchStatus.BLOCKED
    assert snapshot.fetch.status is FetchStatus.OK
    assert not blocked.ok


def test_money_and_shipping_total() -> None:
    snapshot = _snapshot()
    assert snapshot.money == Money(amount=Decimal("1226.50"), currency="EUR")
    assert shipping_total(snapshot) == Decimal("1231.49")
    assert _snapshot(currency=None).money is None
    assert shipping_total(_snapshot(price=None)) is None
