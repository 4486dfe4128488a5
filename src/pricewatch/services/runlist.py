"""Lists of URLs to scrape: from the command line and from a YAML file with per-URL options."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, cast, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pricewatch.services.scrape import BrowserMode, ScrapeTarget


class RunListError(ValueError):
    """The list of URLs is missing or malformed; the message says where."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1)
    browser: BrowserMode | None = None

    @field_validator("browser", mode="before")
    @classmethod
    def _booleans(cls, value: object) -> object:
        """`browser: true/false` in YAML means always/never."""
        if value is True:
            return "always"
        if value is False:
            return "never"
        return value


class _RunList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: _Entry | None = None
    urls: list[_Entry | str] = Field(min_length=1)


def parse_yaml(text: str, *, name: str = "run list") -> list[ScrapeTarget]:
    """Read a run list: a list of URLs or of {url, browser}, or {defaults: {...}, urls: [...]}."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RunListError(f"{name} is not valid YAML: {exc}") from None
    if isinstance(data, list):
        data = {"urls": data}
    if not isinstance(data, dict):
        raise RunListError(f"{name} must be a list of URLs or a mapping with a 'urls' list")
    if isinstance(data.get("defaults"), dict):
        data["defaults"] = {"url": "-", **data["defaults"]}
    try:
        parsed = _RunList.model_validate(data)
    except ValidationError as exc:
        raise RunListError(f"{name} is malformed: {_first_error(exc)}") from None
    default_mode = parsed.defaults.browser if parsed.defaults else None
    return [_target(entry, default_mode) for entry in parsed.urls]


def collect(urls: Sequence[str], yaml_file: Path | None) -> list[ScrapeTarget]:
    """Targets from command-line URLs plus, when given, a YAML run list."""
    targets = [ScrapeTarget(url=url) for url in urls]
    if yaml_file is not None:
        try:
            text = yaml_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RunListError(f"cannot read {yaml_file}: {exc}") from None
        targets.extend(parse_yaml(text, name=str(yaml_file)))
    if not targets:
        raise RunListError("no URLs given: pass URLs as arguments or --yaml FILE")
    return targets


def browser_mode(value: str) -> BrowserMode:
    """Check a --browser value."""
    if value not in get_args(BrowserMode):
        raise RunListError(f"--browser must be auto, never or always, not {value!r}")
    return cast(BrowserMode, value)


def output_format(value: str) -> Literal["json", "jsonl"]:
    """Check a --format value."""
    if value not in ("json", "jsonl"):
        raise RunListError(f"--format must be json or jsonl, not {value!r}")
    return cast(Literal["json", "jsonl"], value)


def _target(entry: _Entry | str, default_mode: BrowserMode | None) -> ScrapeTarget:
    if isinstance(entry, str):
        return ScrapeTarget(url=entry, browser_mode=default_mode)
    return ScrapeTarget(url=entry.url, browser_mode=entry.browser or default_mode)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}"
