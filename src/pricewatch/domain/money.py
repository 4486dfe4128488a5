"""Exact money: a Decimal amount with its ISO 4217 currency, never a float."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer

_ISO_4217 = re.compile(r"^[A-Z]{3}$")


def check_currency(code: str) -> str:
    """Return `code` upper-cased if it has the shape of an ISO 4217 code."""
    upper = code.strip().upper()
    if not _ISO_4217.match(upper):
        raise ValueError(f"not an ISO 4217 currency code: {code!r}")
    return upper


def check_amount(amount: Decimal) -> Decimal:
    """Refuse NaN, infinities and negative amounts: a price is a finite number >= 0."""
    if not amount.is_finite():
        raise ValueError(f"amount must be finite, got {amount}")
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    return amount


CurrencyCode = Annotated[str, AfterValidator(check_currency)]
# Amounts travel as strings in JSON so that no reader turns them into floats.
Amount = Annotated[
    Decimal,
    AfterValidator(check_amount),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]


class Money(BaseModel):
    """An amount in one currency."""

    model_config = ConfigDict(frozen=True)

    amount: Amount
    currency: CurrencyCode

    def __str__(self) -> str:
        return f"{format(self.amount, 'f')} {self.currency}"

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(amount=self.amount + other.amount, currency=self.currency)
