"""Shared fixtures: the real-page corpus beside the repository and the local demo shop."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pricewatch.demo import DemoShop, ManualClock, running_demo_shop

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = Path(os.environ.get("PW_TEST_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared corpus of real product pages; tests using it skip when it is absent."""
    if not (CORPUS_DIR / "README.md").is_file():
        pytest.skip(f"corpus of real pages not found at {CORPUS_DIR} (expected ../shared/corpus)")
    return CORPUS_DIR


@pytest.fixture(scope="session")
def demo_shop() -> Iterator[DemoShop]:
    """A demo shop serving on 127.0.0.1 in a background thread, its clock stopped.

    Prices and stock only move when a test calls `demo_shop.clock.advance(...)`; tests that
    do must use their own shop (`running_demo_shop(...)`) so others see a stable catalog.
    """
    with running_demo_shop(host="127.0.0.1", port=0, seed=1234, clock=ManualClock()) as shop:
        yield shop
