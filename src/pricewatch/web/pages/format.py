"""How the pages show values: money with its currency, changes, relative times, sparklines.

Installed as Jinja2 filters and globals by `install`; the same rules as `static/app.js` uses for
what the scripts draw, so a value reads the same before and after a live update.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from jinja2 import Environment

#: Symbols written before the amount ("€1,226.50"); other currencies show their code.
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩", "CNY": "CN¥"}
#: Currencies without minor units.
NO_DECIMALS = frozenset({"JPY", "KRW", "CLP", "ISK", "HUF", "VND"})

_UNITS = (
    ("year", 365 * 86400),
    ("month", 30 * 86400),
    ("week", 7 * 86400),
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
)


def money(amount: Decimal | str | None, currency: str | None) -> str:
    """'€1,226.50', 'CHF 12.00', '¥1,200', or '—' when there is no price."""
    if amount is None:
        return "—"
    value = Decimal(amount)
    places = Decimal(1) if currency in NO_DECIMALS else Decimal("0.01")
    digits = f"{value.quantize(places, rounding=ROUND_HALF_UP):,}"
    if not currency:
        return digits
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{digits}" if symbol else f"{currency}\u00a0{digits}"


@dataclass(frozen=True)
class Change:
    """A price change since the previous observation, ready to show."""

    direction: str  # "up", "down" or "same"
    arrow: str
    text: str  # "+€12.00 (+3.1%)"
    spoken: str  # "up €12.00, 3.1 percent"


def change(
    current: Decimal | str | None, previous: Decimal | str | None, currency: str | None
) -> Change | None:
    """The change from `previous` to `current`; None when either is missing."""
    if current is None or previous is None:
        return None
    now, before = Decimal(current), Decimal(previous)
    delta = now - before
    if delta == 0:
        return Change("same", "→", "no change", "no change")
    direction = "up" if delta > 0 else "down"
    sign = "+" if delta > 0 else "−"
    amount = money(abs(delta), currency)
    percent = f"{abs(delta) / before * 100:.1f}%" if before else ""
    text = f"{sign}{amount}" + (f" ({sign}{percent})" if percent else "")
    spoken = f"{direction} {amount}" + (f", {percent.rstrip('%')} percent" if percent else "")
    return Change(direction, "▲" if delta > 0 else "▼", text, spoken)


def relative_time(at: datetime | None, now: datetime | None = None) -> str:
    """'3 minutes ago', 'in 2 hours', 'just now', or 'never'."""
    if at is None:
        return "never"
    seconds = ((at - (now or datetime.now(UTC))).total_seconds()) if at.tzinfo else 0.0
    if abs(seconds) < 45:
        return "just now"
    for unit, size in _UNITS:
        if abs(seconds) >= size or unit == "minute":
            count = round(abs(seconds) / size)
            label = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"in {label}" if seconds > 0 else f"{label} ago"
    return "just now"  # pragma: no cover - the loop always returns


def iso(at: datetime | None) -> str:
    """ISO 8601 in UTC (for <time datetime> and the scripts)."""
    return "" if at is None else at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def full_time(at: datetime | None) -> str:
    """'2026-11-22 15:58 UTC'."""
    return "—" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float | None) -> str:
    """'1.5 s', '2 min 5 s', '1 h 3 min'."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{round(seconds)} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min {round(seconds % 60)} s"
    return f"{minutes // 60} h {minutes % 60} min"


def interval(seconds: int) -> str:
    """'every 6 hours', 'every day', 'every 3 days'."""
    hours = seconds / 3600
    if hours % 24 == 0:
        days = int(hours // 24)
        return "every day" if days == 1 else f"every {days} days"
    if hours == 1:
        return "every hour"
    return f"every {hours:g} hours"


def label(value: str | None) -> str:
    """'out_of_stock' -> 'Out of stock'."""
    if not value:
        return "Unknown"
    text = str(value).replace("_", " ")
    return text[:1].upper() + text[1:]


def sparkline(prices: Sequence[Decimal | str | None], width: int = 120, height: int = 32) -> str:
    """The `d` attribute of an SVG path through `prices` (oldest first), '' with fewer than 2."""
    values = [float(p) for p in prices if p is not None]
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    pad = 3.0
    step = (width - 2 * pad) / (len(values) - 1)
    points = [
        (pad + i * step, pad + (height - 2 * pad) * (1 - (v - low) / span))
        for i, v in enumerate(values)
    ]
    if high == low:
        points = [(x, height / 2) for x, _ in points]
    return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)


def sparkline_area(path: str, width: int = 120, height: int = 32) -> str:
    """The area under a sparkline path, closed along the bottom edge."""
    if not path:
        return ""
    first_x = path[1:].split(",", 1)[0]
    return f"{path} L{width - 3:.1f},{height} L{first_x},{height} Z"


def sparkline_end(path: str) -> tuple[str, str] | None:
    """The last point of a sparkline path (x, y), to mark the current price."""
    if not path:
        return None
    x, y = path.rsplit(" L", 1)[-1].lstrip("M").split(",")
    return x, y


def web_url(url: str | None) -> str:
    """`url` when it is an http(s) URL, else '#' (never a javascript: or data: link)."""
    text = (url or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else "#"


def install(env: Environment) -> None:
    """Register the filters and globals the page templates use (idempotent)."""
    filters: dict[str, Any] = {
        "money": money,
        "ago": relative_time,
        "iso": iso,
        "full_time": full_time,
        "duration": duration,
        "interval": interval,
        "label": label,
        "sparkline": sparkline,
        "sparkline_area": sparkline_area,
        "web_url": web_url,
    }
    env.filters.update(filters)
    env.globals.update({"change": change, "sparkline_end": sparkline_end})
