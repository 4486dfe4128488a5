"""Extraction speed against a bare lxml parse of the same pages.

Reads every corpus page (../shared/corpus, or PW_TEST_CORPUS_DIR), decompressed beforehand,
then times `extract(bytes, url)` and `lxml.html.document_fromstring(bytes)` per page on the
same bytes. Prints pages/second for both and the ratio of the per-page medians; exits 1 when
extraction costs more than TARGET_RATIO times the bare parse.

    .venv/bin/python benchmarks/extract.py [--rounds 3] [--target 2.5]
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import lxml.html

from pricewatch.adapters.scraping.extract import extract

TARGET_RATIO = 2.5
CORPUS_DIR = Path(
    os.environ.get(
        "PW_TEST_CORPUS_DIR", Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
    )
)


def load_pages(corpus: Path) -> list[tuple[bytes, str]]:
    """(decompressed page bytes, URL) for every record of every corpus folder."""
    pages = []
    for manifest in sorted(corpus.glob("*/manifest.jsonl")):
        for line in manifest.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            body = gzip.decompress((manifest.parent / record["file"]).read_bytes())
            domain = record.get("domain") or "example.com"
            pages.append((body, record.get("url") or f"https://{domain}/product"))
    return pages


def per_page_times(
    pages: list[tuple[bytes, str]], work: Callable[[bytes, str], object]
) -> list[float]:
    """Seconds taken by `work` on each page."""
    times = []
    for body, url in pages:
        start = time.perf_counter()
        work(body, url)
        times.append(time.perf_counter() - start)
    return times


def best_of(
    rounds: int, pages: list[tuple[bytes, str]], work: Callable[[bytes, str], object]
) -> list[float]:
    """Per-page minimum over `rounds` runs (less noise from the machine)."""
    runs = []
    for _ in range(rounds):
        gc.collect()
        runs.append(per_page_times(pages, work))
    return [min(times) for times in zip(*runs, strict=True)]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures; non-zero exit when the target is missed."""
    parser = argparse.ArgumentParser(description="extract() speed vs a bare lxml parse")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--target", type=float, default=TARGET_RATIO)
    args = parser.parse_args(argv)
    if not (CORPUS_DIR / "README.md").is_file():
        print(f"corpus not found at {CORPUS_DIR}; nothing to measure", file=sys.stderr)
        return 2
    pages = load_pages(CORPUS_DIR)
    extract(*pages[0])  # warm caches (adapter entry points, imports)
    parse = best_of(args.rounds, pages, lambda body, _url: lxml.html.document_fromstring(body))
    full = best_of(args.rounds, pages, lambda body, url: extract(body, url))
    ratio = statistics.median(full) / statistics.median(parse)
    print(
        f"pages: {len(pages)}  ({sum(len(b) for b, _ in pages) / 1e6:.1f} MB),"
        f" best of {args.rounds}"
    )
    print(
        f"baseline lxml.html.document_fromstring(bytes): {len(pages) / sum(parse):7.1f} pages/s,"
        f" median {statistics.median(parse) * 1000:.2f} ms/page"
    )
    print(
        f"extract(bytes, url):                          {len(pages) / sum(full):7.1f} pages/s,"
        f" median {statistics.median(full) * 1000:.2f} ms/page"
    )
    print(f"ratio of medians: {ratio:.2f}x (target <= {args.target}x)")
    return 0 if ratio <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
