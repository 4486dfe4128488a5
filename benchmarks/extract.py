"""Extraction speed against a bare lxml parse of the same pages.

Reads every corpus page (../shared/corpus, or PW_TEST_CORPUS_DIR), decompressed beforehand,
then times `extract(bytes, url)` and `lxml.html.document_fromstring(bytes)` per page on the
same bytes. Prints pages/second for both and the ratio of the per-page medians; exits 1 when
extraction costs more than TARGET_RATIO times the bare parse.

Method, for figures that hold on a busy machine: each page is timed `--rounds` times for both
the bare parse and the extraction, interleaved (parse, extract, extract, parse, ...), and each
page keeps its best time of each. Background load then hits both alike, and a page's best time
is the one least disturbed by it. A full garbage collection runs before each page, so garbage
left by earlier pages is not collected (and charged) in the middle of a later page's timing.

    .venv/bin/python benchmarks/extract.py [--rounds 5] [--target 2.5]
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

Work = Callable[[bytes, str], object]


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


def bare_parse(body: bytes, _url: str) -> object:
    """The baseline: lxml's HTML parser on the page bytes, nothing else."""
    return lxml.html.document_fromstring(body)


def full_extract(body: bytes, url: str) -> object:
    """The measured work: the whole extraction from the same bytes."""
    return extract(body, url)


def timed(work: Work, body: bytes, url: str) -> float:
    """Seconds taken by one call of `work`."""
    start = time.perf_counter()
    work(body, url)
    return time.perf_counter() - start


def paired_best_times(
    pages: list[tuple[bytes, str]], rounds: int, baseline: Work, measured: Work
) -> tuple[list[float], list[float]]:
    """Per page, the best of `rounds` timings of `baseline` and of `measured`, interleaved.

    The order alternates each round, so neither side always runs on a warm (or a cold) cache.
    """
    base_times, measured_times = [], []
    for body, url in pages:
        gc.collect()
        base, full = [], []
        for turn in range(rounds):
            if turn % 2 == 0:
                base.append(timed(baseline, body, url))
                full.append(timed(measured, body, url))
            else:
                full.append(timed(measured, body, url))
                base.append(timed(baseline, body, url))
        base_times.append(min(base))
        measured_times.append(min(full))
    return base_times, measured_times


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures; non-zero exit when the target is missed."""
    parser = argparse.ArgumentParser(description="extract() speed vs a bare lxml parse")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--target", type=float, default=TARGET_RATIO)
    args = parser.parse_args(argv)
    if not (CORPUS_DIR / "README.md").is_file():
        print(f"corpus not found at {CORPUS_DIR}; nothing to measure", file=sys.stderr)
        return 2
    pages = load_pages(CORPUS_DIR)
    for body, url in pages[:5]:  # warm caches (adapter entry points, imports, regexes)
        full_extract(body, url)
        bare_parse(body, url)
    parse, full = paired_best_times(pages, max(1, args.rounds), bare_parse, full_extract)
    ratio = statistics.median(full) / statistics.median(parse)
    print(
        f"pages: {len(pages)}  ({sum(len(b) for b, _ in pages) / 1e6:.1f} MB);"
        f" per page best of {args.rounds} runs, parse and extract interleaved"
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
