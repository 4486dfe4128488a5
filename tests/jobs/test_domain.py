"""The pure job rules: filters, how a job ends, transitions, retry delays."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from pricewatch.domain.job import (
    ItemFilter,
    JobCounts,
    JobStatus,
    can_transition,
    final_status,
    is_terminal,
    retry_delay,
)


@dataclass(frozen=True)
class P:
    id: int
    source: str
    category: str | None
    reference: str
    url: str


CATALOG = [
    P(1, "amazon", "Phones", "B01", "https://a.example/dp/B01"),
    P(2, "amazon", "Books", "B02", "https://a.example/dp/B02"),
    P(3, "fnac", "Phones", "F03", "https://f.example/p/3"),
    P(4, "ebay", None, "E04", "https://e.example/itm/4"),
]


def _ids(chosen: ItemFilter) -> list[int]:
    return [p.id for p in CATALOG if chosen.selects(p)]


def test_no_filter_takes_everything() -> None:
    assert _ids(ItemFilter()) == [1, 2, 3, 4]


def test_only_excludes_take_all_but_those() -> None:
    assert _ids(ItemFilter(exclude_sources=["amazon"])) == [3, 4]
    assert _ids(ItemFilter(exclude_categories=["phones"], exclude_products=["E04"])) == [2]


def test_any_include_takes_only_what_some_include_names() -> None:
    assert _ids(ItemFilter(include_categories=["phones"])) == [1, 3]
    # Includes of different kinds add up; excludes still win.
    chosen = ItemFilter(include_sources=["fnac"], include_products=["2", "https://e.example/itm/4"])
    assert _ids(chosen) == [2, 3, 4]
    assert _ids(chosen.model_copy(update={"exclude_products": frozenset({"f03"})})) == [2, 4]


def test_filter_ignores_case_and_round_trips_through_params() -> None:
    chosen = ItemFilter(include_sources=" Amazon ", exclude_categories=["BOOKS", ""])
    assert _ids(chosen) == [1]
    params = chosen.to_params()
    assert params == {"include_sources": ["amazon"], "exclude_categories": ["books"]}
    assert ItemFilter.model_validate(params) == chosen


@pytest.mark.parametrize(
    ("counts", "status"),
    [
        (JobCounts(), JobStatus.SUCCEEDED),
        (JobCounts(created=2, updated=1), JobStatus.SUCCEEDED),
        (JobCounts(updated=5, errors=1), JobStatus.PARTIAL),
        (JobCounts(skipped=1, errors=1), JobStatus.PARTIAL),
        (JobCounts(errors=3), JobStatus.FAILED),
    ],
)
def test_final_status(counts: JobCounts, status: JobStatus) -> None:
    assert final_status(counts) is status


def test_transitions() -> None:
    assert can_transition(JobStatus.PENDING, JobStatus.RUNNING)
    assert can_transition(JobStatus.PENDING, JobStatus.CANCELLED)
    assert can_transition(JobStatus.RUNNING, JobStatus.PENDING)
    assert not can_transition(JobStatus.SUCCEEDED, JobStatus.RUNNING)
    assert not can_transition(JobStatus.CANCELLED, JobStatus.PENDING)
    assert is_terminal(JobStatus.PARTIAL)
    assert not is_terminal(JobStatus.RUNNING)


def test_retry_delay_grows_is_capped_and_jittered() -> None:
    rng = random.Random(7)
    delays = [retry_delay(n, base=1.0, cap=10.0, rng=rng) for n in range(1, 8)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(10.0, 2.0 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays)
