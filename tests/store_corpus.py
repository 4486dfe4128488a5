"""Checking a store adapter against the corpus pages of its store (shared by the adapter tests)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Set
from decimal import Decimal
from pathlib import Path
from typing import Any

from pricewatch.adapters.scraping.page import Page, load_page
from pricewatch.adapters.scraping.stores import StoreAdapter

FIELDS = ("price", "availability", "reference", "title")


def corpus_pages(corpus_dir: Path, store: str) -> Iterator[tuple[dict[str, Any], Page]]:
    """The inprice_parser pages of `store`, loaded with a URL built from the domain only."""
    folder = corpus_dir / "inprice_parser"
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("store") == store:
            html = gzip.decompress((folder / record["file"]).read_bytes())
            yield record, load_page(html, f"https://{record['domain']}/product")


def corpus_misses(
    corpus_dir: Path,
    store: str,
    *,
    adapter: StoreAdapter,
    skip: Set[tuple[str, str]] = frozenset(),
) -> tuple[int, list[str]]:
    """How many asserted fields were checked, and a message for each one that was wrong."""
    checked, misses = 0, []
    for record, page in corpus_pages(corpus_dir, store):
        assert adapter.matches(page), record["file"]
        fields = adapter.parse(page)
        got = {
            "price": fields.price,
            "availability": fields.availability.value if fields.availability else None,
            "reference": fields.reference,
            "title": fields.title,
        }
        derived = set(record.get("derived") or ())
        for field in FIELDS:
            want = record.get(field)
            if want is None or field in derived or (field == "price" and Decimal(want) <= 0):
                continue
            if (record["file"], field) in skip:
                continue
            checked += 1
            if not _same(field, got[field], want):
                misses.append(f"{record['file']} {field}: want {want!r}, got {got[field]!r}")
    return checked, misses


def _same(field: str, got: object, want: str) -> bool:
    if field == "price":
        return got == Decimal(want)
    return " ".join(str(got).split()).casefold() == " ".join(want.split()).casefold()
