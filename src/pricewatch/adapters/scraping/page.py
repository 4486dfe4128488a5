"""`Page`: a product page parsed once, with the lookups every extraction layer shares."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml.html import HtmlElement
from w3lib.encoding import html_to_unicode

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_LANG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]|$)")


class PageError(ValueError):
    """The input cannot be read as an HTML page at all."""


@dataclass(frozen=True, eq=False)
class Page:
    """One HTML page and its URL. Parsed once; derived lookups are computed on first use."""

    url: str
    text: str
    tree: HtmlElement
    size_bytes: int

    @cached_property
    def host(self) -> str:
        """Lower-case host name without port or a leading 'www.'."""
        host = (urlsplit(self.url).hostname or "").lower().rstrip(".")
        return host.removeprefix("www.")

    @cached_property
    def language(self) -> str | None:
        """Two-letter language of the page (from <html lang>, og:locale or Content-Language)."""
        candidates = [
            self.tree.get("lang"),
            self.tree.get("xml:lang"),
            self.meta.get("og:locale"),
            self.meta.get("content-language"),
        ]
        for candidate in candidates:
            if candidate and (match := _LANG.match(candidate.strip())):
                return match.group(1).lower()
        return None

    @cached_property
    def meta(self) -> dict[str, str]:
        """`<meta>` values by lower-case property, name, itemprop or http-equiv (first wins)."""
        found: dict[str, str] = {}
        for element in self.tree.iter("meta"):
            key = (
                element.get("property")
                or element.get("name")
                or element.get("itemprop")
                or element.get("http-equiv")
            )
            content = element.get("content")
            if key and content is not None:
                found.setdefault(key.strip().lower(), content.strip())
        return found

    @cached_property
    def json_ld(self) -> list[dict[str, Any]]:
        """Every JSON-LD object on the page, with @graph and top-level lists flattened."""
        objects: list[dict[str, Any]] = []
        for script in self.tree.iter("script"):
            if (script.get("type") or "").strip().lower() != "application/ld+json":
                continue
            data = parse_json_leniently(script.text or "")
            objects.extend(_flatten_json_ld(data))
        return objects

    def xpath_text(self, expression: str) -> str | None:
        """Whitespace-normalised text of the first non-empty match of `expression`."""
        for node in self.tree.xpath(expression):
            text = node if isinstance(node, str) else node.text_content()
            cleaned = " ".join(str(text).split())
            if cleaned:
                return cleaned
        return None


def load_page(html: str | bytes, url: str, *, content_type: str | None = None) -> Page:
    """Decode (when given bytes) and parse `html`; raise `PageError` if it is not HTML at all."""
    size = len(html) if isinstance(html, bytes) else len(html.encode("utf-8", "replace"))
    text = decode_html(html, content_type=content_type) if isinstance(html, bytes) else html
    text = _XML_DECLARATION.sub("", text, count=1)
    if not text.strip():
        raise PageError("the page is empty")
    try:
        tree = lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise PageError(f"the page cannot be parsed as HTML: {exc}") from exc
    return Page(url=url, text=text, tree=tree, size_bytes=size)


def decode_html(body: bytes, *, content_type: str | None = None) -> str:
    """Decode page bytes using the BOM, the Content-Type header, <meta charset>, then UTF-8."""
    _, text = html_to_unicode(content_type, body)
    return str(text)


def parse_json_leniently(raw: str) -> Any:
    """Parse a JSON-LD script body, tolerating HTML comments, CDATA and trailing commas."""
    cleaned = raw.strip()
    for prefix, suffix in (("<!--", "-->"), ("<![CDATA[", "]]>"), ("//<![CDATA[", "//]]>")):
        if cleaned.startswith(prefix) and cleaned.endswith(suffix):
            cleaned = cleaned[len(prefix) : -len(suffix)].strip()
    if not cleaned:
        return None
    try:
        return json.loads(cleaned, strict=False)
    except json.JSONDecodeError:
        pass
    try:
        return json.loads(re.sub(r",\s*([}\]])", r"\1", cleaned), strict=False)
    except json.JSONDecodeError:
        return None


def _flatten_json_ld(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _flatten_json_ld(item)
    elif isinstance(data, dict):
        graph = data.get("@graph")
        if isinstance(graph, list):
            yield from _flatten_json_ld(graph)
        else:
            yield data
