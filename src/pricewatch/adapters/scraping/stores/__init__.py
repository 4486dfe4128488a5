"""Store adapters: one module per site, registered in the `pricewatch.stores` entry-point group.

An adapter is any object with a `name` (the snapshot's `source`), a `matches(page)` test and a
`parse(page) -> Fields`. Third-party packages add stores by declaring, in their pyproject.toml:

    [project.entry-points."pricewatch.stores"]
    mystore = "mypackage.mystore:adapter"

Adapters only read what their site shows best; the generic layers (JSON-LD, microdata,
OpenGraph, DOM heuristics) fill whatever an adapter leaves empty.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.page import Page

ENTRY_POINT_GROUP = "pricewatch.stores"


@runtime_checkable
class StoreAdapter(Protocol):
    """A site-specific reader of product pages."""

    name: str

    def matches(self, page: Page) -> bool:
        """True when this adapter knows how to read `page` (by host, or by markup)."""
        ...

    def parse(self, page: Page) -> Fields:
        """Read the fields this site shows; leave the rest empty."""
        ...


class StoreLoadError(RuntimeError):
    """An installed store plugin could not be loaded."""


@cache
def installed_adapters() -> tuple[StoreAdapter, ...]:
    """The store adapters registered by installed packages, sorted by name."""
    adapters = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            adapter = entry.load()
        except Exception as exc:
            raise StoreLoadError(
                f"store plugin {entry.name!r} ({entry.value}) failed: {exc}"
            ) from exc
        if not isinstance(adapter, StoreAdapter):
            raise StoreLoadError(f"store plugin {entry.name!r} is not a StoreAdapter")
        adapters.append(adapter)
    return tuple(adapters)


def adapter_for(page: Page) -> StoreAdapter | None:
    """The first installed adapter that matches `page`, if any."""
    for adapter in installed_adapters():
        if adapter.matches(page):
            return adapter
    return None
