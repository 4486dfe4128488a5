"""Deterministic pseudo-randomness keyed by its inputs, so no page depends on request order."""

from __future__ import annotations

import hashlib
import random
from decimal import ROUND_HALF_UP, Decimal

_SEPARATOR = "\x1f"


def unit_interval(*parts: object) -> float:
    """A number in [0, 1) that depends only on `parts`, the same on every run and platform."""
    key = _SEPARATOR.join(map(str, parts)).encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def seeded_rng(*parts: object) -> random.Random:
    """A `random.Random` seeded from `parts`; string seeds are hashed the same way everywhere."""
    return random.Random(_SEPARATOR.join(map(str, parts)))


def charm_price(value: Decimal, *, ending: int) -> Decimal:
    """Round `value` the way shops do: to a whole number or to .99/.90/.50 and the like."""
    if ending == 0:
        rounded = value.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    else:
        rounded = Decimal(int(value)) + Decimal(ending) / 100
    return max(rounded, Decimal("0.99")).quantize(Decimal("0.01"))


def gtin13(first_twelve: str) -> str:
    """Append the GS1 check digit to twelve digits, giving a valid GTIN-13."""
    if len(first_twelve) != 12 or not first_twelve.isdigit():
        raise ValueError(f"need twelve digits, got {first_twelve!r}")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve))
    return first_twelve + str((10 - total % 10) % 10)
