"""Extraction accuracy on the shared corpus of real pages (../shared/corpus).

Each manifest record says what the page shows; only fields its origin asserts are scored
(not listed in `derived`, and prices only when above zero). The URL handed to `extract` is
built from the record's domain only, so no expected value leaks through it.

As a script, prints the accuracy table and every failure, grouped by store, for tuning:

    .venv/bin/python -m tests.corpus.test_accuracy [--folder inprice_parser] [--field price]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pricewatch import extract
from pricewatch.domain.snapshot import ProductSnapshot
from tests.conftest import CORPUS_DIR

FIELDS = ("price", "currency", "availability", "title", "reference", "gtin")
#: Folders whose thresholds are asserted; every other folder is only reported.
THRESHOLDS: dict[str, dict[str, float]] = {
    "inprice_parser": {"price": 0.95, "availability": 0.97, "reference": 0.90, "title": 0.90},
    "changedetection_snippets": dict.fromkeys(FIELDS, 1.0),
    "m0nte1ro_pricewatch": dict.fromkeys(FIELDS, 1.0),
}
REPORTED = ("extruct", "thereyouwish", "metascraper_amazon", "misc_small")
# Shops whose records lack a domain are named by store and country; a general mapping.
_COUNTRY_SUFFIX = {"uk": "co.uk", "us": "com", "au": "com.au", "tr": "com.tr"}


@dataclass(frozen=True)
class Check:
    """One asserted field of one page and whether extraction got it right."""

    folder: str
    file: str
    store: str
    field: str
    expected: Any
    got: Any

    @property
    def ok(self) -> bool:
        """True when the extracted value matches the expected one."""
        return _same(self.field, self.expected, self.got)


def page_url(record: dict[str, Any]) -> str:
    """The URL to extract with: the record's own, else https://{domain}/product."""
    if record.get("url"):
        return str(record["url"])
    domain = record.get("domain")
    if not domain and record.get("store") and record.get("country"):
        country = str(record["country"])
        domain = f"www.{record['store']}.{_COUNTRY_SUFFIX.get(country, country)}"
    return f"https://{domain or 'example.com'}/product"


def asserted(record: dict[str, Any]) -> dict[str, Any]:
    """The fields this record's origin asserts, with their expected values."""
    derived = set(record.get("derived") or ())
    found: dict[str, Any] = {}
    for field in FIELDS:
        if field not in record or field in derived:
            continue
        value = record[field]
        if field == "price":
            if value is None and record.get("price_asserted") is True:
                found[field] = None  # the origin asserts there is no price
            elif value is not None and record.get("price_asserted", True) and Decimal(value) > 0:
                found[field] = Decimal(value)
        elif field == "availability":
            if value not in (None, "unknown") and record.get("availability_asserted", True):
                found[field] = value
        elif field == "reference" and "derived" in str(record.get("reference_kind", "")):
            continue
        elif value is not None:
            found[field] = value
    return found


def records(corpus: Path, folder: str) -> Iterator[dict[str, Any]]:
    """The manifest records of one corpus folder."""
    manifest = corpus / folder / "manifest.jsonl"
    with manifest.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def run_folder(corpus: Path, folder: str) -> list[Check]:
    """Extract every page of `folder` and compare the asserted fields."""
    checks = []
    for record in records(corpus, folder):
        html = gzip.decompress((corpus / folder / record["file"]).read_bytes())
        snapshot = extract(html, page_url(record))
        store = str(record.get("store") or record.get("domain") or "?")
        for field, expected in asserted(record).items():
            got = _value(snapshot, field)
            checks.append(Check(folder, record["file"], store, field, expected, got))
    return checks


def table(checks: list[Check]) -> str:
    """Per-folder, per-field accuracy as a text table."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for check in checks:
        count = counts[(check.folder, check.field)]
        count[0] += check.ok
        count[1] += 1
    lines = [f"{'folder':<26}{'field':<14}{'right':>7}{'total':>7}{'accuracy':>10}"]
    for (folder, field), (right, total) in sorted(counts.items()):
        lines.append(f"{folder:<26}{field:<14}{right:>7}{total:>7}{right / total:>10.1%}")
    return "\n".join(lines)


def accuracy(checks: list[Check], *, folder: str, field: str) -> float | None:
    """Share of right answers for one folder and field (None when nothing was asserted)."""
    relevant = [c for c in checks if c.folder == folder and c.field == field]
    return sum(c.ok for c in relevant) / len(relevant) if relevant else None


def _value(snapshot: ProductSnapshot, field: str) -> Any:
    value = getattr(snapshot, field)
    return value.value if field == "availability" else value


def _same(field: str, expected: Any, got: Any) -> bool:
    if field in ("title", "reference"):
        return got is not None and _simple(expected) == _simple(got)
    if field == "price":
        return (got is None) if expected is None else (got is not None and Decimal(got) == expected)
    return bool(expected == got)


def _simple(text: Any) -> str:
    return " ".join(str(text).split()).casefold()


@pytest.fixture(scope="module")
def corpus_checks(corpus_dir: Path) -> list[Check]:
    """Every check of every folder, computed once."""
    checks: list[Check] = []
    for folder in (*THRESHOLDS, *REPORTED):
        if (corpus_dir / folder / "manifest.jsonl").is_file():
            checks.extend(run_folder(corpus_dir, folder))
    print("\n" + table(checks))
    return checks


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("folder", list(THRESHOLDS))
def test_accuracy_meets_the_targets(corpus_checks: list[Check], folder: str) -> None:
    """Every asserted folder reaches its per-field accuracy target."""
    missed = []
    for field, target in THRESHOLDS[folder].items():
        score = accuracy(corpus_checks, folder=folder, field=field)
        if score is not None and score < target:
            failures = [
                c for c in corpus_checks if c.folder == folder and c.field == field and not c.ok
            ]
            sample = "; ".join(f"{c.file}: want {c.expected!r} got {c.got!r}" for c in failures[:8])
            missed.append(f"{field} {score:.1%} < {target:.0%} ({sample})")
    assert not missed, f"{folder}: " + " | ".join(missed) + "\n" + table(corpus_checks)


def main(argv: list[str] | None = None) -> int:
    """Print the accuracy table and the failures per store."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", action="append", help="corpus folder (repeatable)")
    parser.add_argument("--field", action="append", help="only failures of this field")
    args = parser.parse_args(argv)
    folders = args.folder or [*THRESHOLDS, *REPORTED]
    checks = [c for folder in folders for c in run_folder(CORPUS_DIR, folder)]
    by_store: dict[str, list[Check]] = defaultdict(list)
    for check in checks:
        if not check.ok and (not args.field or check.field in args.field):
            by_store[f"{check.folder}/{check.store}"].append(check)
    for store, failures in sorted(by_store.items()):
        print(f"\n== {store} ({len(failures)} failures)")
        for c in failures:
            print(f"  {c.file:<40} {c.field:<13} want {c.expected!r:<40.40} got {c.got!r:.60}")
    print("\n" + table(checks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
