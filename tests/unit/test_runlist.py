"""YAML run lists for `pricewatch run --yaml`."""

from __future__ import annotations

from pathlib import Path

import pytest

from pricewatch.services.runlist import RunListError, collect, parse_yaml
from pricewatch.services.scrape import ScrapeTarget


def test_plain_list_of_urls() -> None:
    assert parse_yaml("- https://a.example/1\n- https://b.example/2\n") == [
        ScrapeTarget(url="https://a.example/1"),
        ScrapeTarget(url="https://b.example/2"),
    ]


def test_entries_with_options_and_defaults() -> None:
    text = """
defaults:
  browser: never
urls:
  - https://a.example/1
  - url: https://b.example/2
    browser: true
  - url: https://c.example/3
    browser: auto
"""
    assert parse_yaml(text) == [
        ScrapeTarget(url="https://a.example/1", browser_mode="never"),
        ScrapeTarget(url="https://b.example/2", browser_mode="always"),
        ScrapeTarget(url="https://c.example/3", browser_mode="auto"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("urls: [", "not valid YAML"),
        ("42", "must be a list"),
        ("urls: []", "malformed"),
        ("- url: https://a.example\n  colour: red\n", "malformed"),
        ("- url: https://a.example\n  browser: sometimes\n", "malformed"),
    ],
)
def test_bad_files_give_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(RunListError, match=message):
        parse_yaml(text, name="urls.yaml")


def test_collect_merges_arguments_and_file(tmp_path: Path) -> None:
    runlist = tmp_path / "urls.yaml"
    runlist.write_text("- https://b.example/2\n")
    assert [t.url for t in collect(["https://a.example/1"], runlist)] == [
        "https://a.example/1",
        "https://b.example/2",
    ]


def test_collect_needs_something_to_do(tmp_path: Path) -> None:
    with pytest.raises(RunListError, match="no URLs"):
        collect([], None)
    with pytest.raises(RunListError, match="cannot read"):
        collect([], tmp_path / "missing.yaml")
