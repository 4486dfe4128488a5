"""`Page`: a product page parsed once, with the lookups every extraction layer shares."""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property
from itertools import accumulate
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
from lxml.html import HtmlElement
from w3lib.encoding import html_to_unicode

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_LANG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]|$)")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
# Magic numbers of formats people feed by mistake (PDF, images, archives).
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_CONTROL_BYTES = bytes(range(9)) + bytes(range(14, 32))
_VISIBLE_TEXT = lxml.etree.XPath(
    "descendant-or-self::text()[not(ancestor::script or ancestor::style or ancestor::noscript)]"
)
_JSON_LD_SCRIPTS = lxml.etree.XPath("//script[@type]")
_NAME_ATTRIBUTES = lxml.etree.XPath("//@class | //@id")
_CANONICAL = lxml.etree.XPath("//link[@rel='canonical' or @rel='Canonical']/@href")
_BASE_HREF = lxml.etree.XPath("//base/@href")
#: Encodings whose bytes libxml2 reads exactly as Python decodes them.
_NATIVE_ENCODINGS = frozenset({"utf-8", "utf8", "ascii", "us-ascii"})


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
        for key, content in self.meta_items:
            found.setdefault(key, content)
        return found

    @cached_property
    def meta_items(self) -> tuple[tuple[str, str], ...]:
        """Every `<meta>` (lower-case key, content) pair in document order, repeats included."""
        found = []
        for element in self.tree.iter("meta"):
            key = (
                element.get("property")
                or element.get("name")
                or element.get("itemprop")
                or element.get("http-equiv")
            )
            content = element.get("content")
            if key and content is not None:
                found.append((key.strip().lower(), content.strip()))
        return tuple(found)

    def meta_values(self, key: str) -> list[str]:
        """All non-empty contents of `<meta>` tags named `key` (e.g. every og:image)."""
        return [content for name, content in self.meta_items if name == key and content]

    @cached_property
    def json_ld(self) -> list[dict[str, Any]]:
        """Every JSON-LD object on the page, with @graph and top-level lists flattened."""
        return self._json_ld_blocks[0]

    @cached_property
    def json_ld_errors(self) -> list[str]:
        """One message per JSON-LD script that could not be parsed."""
        return self._json_ld_blocks[1]

    @cached_property
    def _json_ld_blocks(self) -> tuple[list[dict[str, Any]], list[str]]:
        objects: list[dict[str, Any]] = []
        errors: list[str] = []
        for index, script in enumerate(select(_JSON_LD_SCRIPTS, self.tree)):
            if not isinstance(script, HtmlElement):
                continue
            if (script.get("type") or "").strip().lower() != "application/ld+json":
                continue
            data = parse_json_leniently(script.text or "")
            if data is None and (script.text or "").strip():
                errors.append(f"json-ld: script #{index + 1} is not valid JSON")
            objects.extend(_flatten_json_ld(data))
        return objects, errors

    @cached_property
    def base_url(self) -> str:
        """The URL relative links resolve against (`<base href>` joined with the page URL)."""
        for href in select(_BASE_HREF, self.tree):
            if isinstance(href, str) and href.strip():
                return urljoin(self.url, href.strip())
        return self.url

    @cached_property
    def canonical_url(self) -> str | None:
        """The page's canonical URL (`<link rel=canonical>`, then og:url), made absolute."""
        for href in select(_CANONICAL, self.tree):
            if isinstance(href, str) and href.strip():
                return self.absolute(href)
        og_url = self.meta.get("og:url")
        return self.absolute(og_url) if og_url else None

    @cached_property
    def title_tag(self) -> str | None:
        """Whitespace-normalised text of the document's `<title>`."""
        title = self.tree.find(".//title")
        if title is None:
            return None
        return " ".join((title.text or "").split()) or None

    @cached_property
    def names(self) -> NameIndex:
        """Elements found by substrings of their class or id (one pass over the tree)."""
        return NameIndex(self.tree)

    def absolute(self, href: str) -> str:
        """`href` resolved against the page's base URL."""
        return urljoin(self.base_url, href.strip())

    def xpath_text(self, expression: str) -> str | None:
        """Whitespace-normalised text of the first non-empty match of `expression`."""
        for node in self.tree.xpath(expression):
            text = node if isinstance(node, str) else visible_text(node)
            cleaned = " ".join(str(text).split())
            if cleaned:
                return cleaned
        return None


class NameIndex:
    """Every class and id value of a tree, searchable by substring in one lower-cased string.

    One XPath pass and plain `str.find` calls: much cheaper than many `contains(@class, ...)`
    XPath tests, each of which walks the whole tree again.
    """

    def __init__(self, tree: HtmlElement) -> None:
        self._values: list[Any] = select(_NAME_ATTRIBUTES, tree)
        self._joined = "\x00".join(self._values).lower()
        self._ends = [
            end + index for index, end in enumerate(accumulate(map(len, self._values)), 1)
        ]

    def find(self, *needles: str) -> list[HtmlElement]:
        """Elements whose lower-cased class or id contains any needle, in document order."""
        hits: set[int] = set()
        for needle in needles:
            start = self._joined.find(needle)
            while start != -1:
                hits.add(bisect_right(self._ends, start))
                start = self._joined.find(needle, start + 1)
        found: list[HtmlElement] = []
        for index in sorted(hits):
            element = self._values[index].getparent()
            if element is not None and (not found or found[-1] is not element):
                found.append(element)
        return found


def select(xpath: lxml.etree.XPath, node: HtmlElement, **variables: str) -> list[Any]:
    """The nodes a precompiled XPath selects (an empty list for non-list results)."""
    result = xpath(node, **variables)
    return result if isinstance(result, list) else []


def visible_text(element: HtmlElement) -> str:
    """Whitespace-normalised text of `element`, without scripts and styles."""
    parts = _VISIBLE_TEXT(element)
    return " ".join(" ".join(str(part) for part in parts).split()) if parts else ""  # type: ignore[union-attr]


def load_page(html: str | bytes, url: str, *, content_type: str | None = None) -> Page:
    """Decode (when given bytes) and parse `html`; raise `PageError` if it is not HTML at all.

    Not HTML at all means: empty or whitespace-only input, or binary data (a PDF, an image, an
    archive, or bytes with NULs and other control characters). Plain text without tags is
    parsed as a page that has no product data.
    """
    if isinstance(html, bytes):
        _reject_binary(html)
        encoding, text = _decode(html, content_type=content_type)
        size = len(html)
    else:
        encoding, text, size = None, html, len(html.encode("utf-8", "replace"))
    if not text.strip():
        raise PageError("the page is empty")
    tree = _parse(html if isinstance(html, bytes) else None, text, encoding=encoding)
    return Page(url=url, text=text, tree=tree, size_bytes=size)


def _reject_binary(body: bytes) -> None:
    """Raise `PageError` when `body` looks like a binary file rather than markup."""
    head = body[:4096]
    if head.startswith(_UTF16_BOMS):
        return  # UTF-16/32 text has NUL bytes by nature
    if head.lstrip().startswith(_BINARY_MAGIC) or b"\x00" in head:
        raise PageError("the input is binary data, not HTML")
    control = sum(head.count(byte) for byte in _CONTROL_BYTES)
    if head and control > len(head) // 10:
        raise PageError("the input is binary data, not HTML")


def _decode(body: bytes, *, content_type: str | None) -> tuple[str, str]:
    """The encoding used and the decoded text (BOM, header, <meta charset>, then UTF-8)."""
    encoding, text = html_to_unicode(content_type, body)
    return str(encoding), str(text)


def _parse(body: bytes | None, text: str, *, encoding: str | None) -> HtmlElement:
    """Parse the page once; from the bytes when libxml2 decodes them exactly like Python."""
    try:
        # libxml2 reads UTF-8 bytes faster than a Python str; only safe when nothing was replaced.
        if body is not None and encoding in _NATIVE_ENCODINGS and "\ufffd" not in text:
            return lxml.html.document_fromstring(body, parser=_parser(encoding="utf-8"))
        return lxml.html.document_fromstring(_XML_DECLARATION.sub("", text, count=1))
    except (lxml.etree.ParserError, ValueError) as exc:
        raise PageError(f"the page cannot be parsed as HTML: {exc}") from exc


@cache
def _parser(*, encoding: str) -> lxml.html.HTMLParser:
    """A shared HTML parser that reads bytes in `encoding` and accepts very large pages."""
    return lxml.html.HTMLParser(encoding=encoding, huge_tree=True)


def decode_html(body: bytes, *, content_type: str | None = None) -> str:
    """Decode page bytes using the BOM, the Content-Type header, <meta charset>, then UTF-8."""
    return _decode(body, content_type=content_type)[1]


def parse_json_leniently(raw: str) -> Any:
    """Parse a JSON-LD script body, tolerating HTML comments, CDATA and trailing commas.

    Numbers with a fraction become `Decimal` (never float), so prices stay exact.
    """
    cleaned = raw.strip()
    for prefix, suffix in (("<!--", "-->"), ("//<![CDATA[", "//]]>"), ("<![CDATA[", "]]>")):
        if cleaned.startswith(prefix) and cleaned.endswith(suffix):
            cleaned = cleaned[len(prefix) : -len(suffix)].strip()
    if not cleaned:
        return None
    for candidate in (cleaned, _TRAILING_COMMA.sub(r"\1", cleaned)):
        try:
            return json.loads(candidate, strict=False, parse_float=Decimal)
        except (json.JSONDecodeError, RecursionError):
            continue
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
