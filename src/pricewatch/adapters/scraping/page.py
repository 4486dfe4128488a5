"""`Page`: a product page parsed once, with the lookups every extraction layer shares."""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property
from itertools import accumulate, compress
from typing import Any, cast
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
from lxml.html import HtmlElement
from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
    to_unicode,
)

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
# Listing the (few) attributes is far cheaper than testing every element with a predicate
# (`//*[@itemprop or @itemscope]`): libxml2 evaluates a predicate per element.
_MICRODATA_ATTRIBUTES = lxml.etree.XPath("//@itemprop | //@itemscope")
_CLASS_VALUES = lxml.etree.XPath("//@class")
_ID_VALUES = lxml.etree.XPath("//@id")
_MERGED = lxml.etree.XPath("$a | $b")
# XPath's id() reads the ID table libxml2 fills while parsing: a hash lookup, no tree walk.
_BY_ID = lxml.etree.XPath("id($ids)")
#: Tags `Page.elements` finds in one walk of the tree.
INDEXED_TAGS = (
    "meta",
    "link",
    "base",
    "title",
    "script",
    "h1",
    "button",
    "input",
    # Where shops put the labels ("SKU", "Item number") of specs rows; few on any page.
    "th",
    "dt",
    "label",
    # Bot walls' captcha forms.
    "form",
)
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
    def _indexed(self) -> list[HtmlElement]:
        """The elements of the tags in `INDEXED_TAGS`, in document order."""
        # One tag-filtered walk in C instead of one walk (or XPath) per lookup.
        return list(self.tree.iter(*INDEXED_TAGS))

    @cached_property
    def _tagged(self) -> dict[str, list[HtmlElement]]:
        found: dict[str, list[HtmlElement]] = {tag: [] for tag in INDEXED_TAGS}
        for element in self._indexed:
            found[element.tag].append(element)
        return found

    def elements(self, *tags: str) -> list[HtmlElement]:
        """Every element of `tags` (each one of `INDEXED_TAGS`), in document order."""
        if len(tags) == 1:
            return self._tagged[tags[0]]
        return [element for element in self._indexed if element.tag in tags]

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
        for element in self.elements("meta"):
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
        typed = (s for s in self.elements("script") if s.get("type") is not None)
        for index, script in enumerate(typed):
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
        for base in self.elements("base"):
            href = str(base.get("href") or "").strip()
            if href and not href.startswith("data:"):
                return urljoin(self.url, href)
        return self.url

    @cached_property
    def canonical_url(self) -> str | None:
        """The page's canonical URL (`<link rel=canonical>`, then og:url), made absolute."""
        # A tag-filtered walk runs in C; an XPath predicate costs twice as much on big pages.
        for link in self.elements("link"):
            href = (link.get("href") or "").strip()
            if href and (link.get("rel") or "").strip().lower() == "canonical":
                return self.absolute(href)
        og_url = self.meta.get("og:url")
        return self.absolute(og_url) if og_url else None

    @cached_property
    def title_tag(self) -> str | None:
        """Whitespace-normalised text of the document's `<title>`."""
        titles = self.elements("title")
        if not titles:
            return None
        title = titles[0]
        return " ".join((title.text or "").split()) or None

    @cached_property
    def microdata_elements(self) -> list[HtmlElement]:
        """Elements with an `itemprop` or `itemscope` attribute, in document order."""
        found: list[HtmlElement] = []
        for value in select(_MICRODATA_ATTRIBUTES, self.tree):
            element = value.getparent()
            if element is not None and (not found or found[-1] is not element):
                found.append(element)
        return found

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
    """Every class and id value of a tree, searchable by substring in lower-cased strings.

    Two XPath listings and plain `str.find` calls: much cheaper than many
    `contains(@class, ...)` XPath tests, each of which walks the whole tree again. Classes and
    ids are listed apart: the union `//@class | //@id` makes libxml2 merge and sort the two
    big node sets; only the few owners a search finds are put in document order.
    """

    def __init__(self, tree: HtmlElement) -> None:
        self._tree = tree
        self._classes = _Values(select(_CLASS_VALUES, tree))
        self._ids = _Values(select(_ID_VALUES, tree))

    def find(self, *needles: str) -> list[HtmlElement]:
        """Elements whose lower-cased class or id contains any needle, in document order."""
        return self._owners(needles, whole=False)

    def find_tokens(self, *tokens: str) -> list[HtmlElement]:
        """Elements with a whole class name (or id) equal to a lower-case token, in order."""
        return self._owners(tokens, whole=True)

    def _owners(self, needles: tuple[str, ...], *, whole: bool) -> list[HtmlElement]:
        """Owners of the attribute values holding a needle (`whole`: as a whole name)."""
        by_class = self._classes.owners(needles, whole=whole)
        by_id = self._ids.owners(needles, whole=whole)
        if not by_id or not by_class:
            return by_class or by_id
        # Both in document order already; the union merges them and drops repeats, in C.
        return cast(list[HtmlElement], _MERGED(self._tree, a=by_class, b=by_id))


class _Values:
    """One attribute's values (smart strings, in document order) joined for substring search.

    Pages repeat the same class strings many times (a product grid, a menu): only the distinct
    values are joined and searched, often a tenth of the text, and a search then picks every
    value equal to a matching one, in one pass in C.
    """

    def __init__(self, values: list[Any]) -> None:
        self._values = values
        self._distinct: list[str] = list(dict.fromkeys(values))
        # Attribute values never hold NUL (libxml2 strings end at one): a safe separator.
        joined = "\x00".join(self._distinct)
        self._joined = joined.lower()
        # lower() may change a length ("İ" becomes two characters): then the lower-cased
        # values are measured one by one.
        lowered = self._distinct if len(self._joined) == len(joined) else self._joined.split("\x00")
        # Where each value ends in `_joined` (its length plus one separator, summed), in C.
        self._ends = list(accumulate(map((1).__add__, map(len, lowered))))

    def owners(self, needles: tuple[str, ...], *, whole: bool) -> list[HtmlElement]:
        """Owners of the values holding a needle, in document order (one value per owner)."""
        hits = self._hits(needles, whole=whole)
        if not hits:
            return []
        wanted = {self._distinct[index] for index in hits}
        # compress/map over a set's __contains__ run in C: no Python step per value.
        chosen = compress(self._values, map(wanted.__contains__, self._values))
        found = (value.getparent() for value in chosen)
        return [element for element in found if element is not None]

    def _hits(self, needles: tuple[str, ...], *, whole: bool) -> set[int]:
        """Indexes of the distinct values holding a needle (`whole`: as a whole name)."""
        # str.find runs a fast substring search in C; a regex alternation is several times slower.
        joined, ends = self._joined, self._ends
        hits: set[int] = set()
        for needle in needles:
            start = joined.find(needle)
            while start != -1:
                index = bisect_right(ends, start)
                if not whole or (
                    _boundary(joined, start - 1) and _boundary(joined, start + len(needle))
                ):
                    hits.add(index)
                    if not whole:
                        # One hit is enough: search on from the end of this value.
                        start = joined.find(needle, ends[index]) if index < len(ends) else -1
                        continue
                start = joined.find(needle, start + 1)
        return hits


def _boundary(text: str, index: int) -> bool:
    """True when `index` is outside `text` or at a separator between names."""
    return index < 0 or index >= len(text) or text[index] in " \t\n\r\f\x00"


def elements_by_id(tree: HtmlElement, wanted: Iterable[str]) -> dict[str, HtmlElement]:
    """The first element carrying each wanted id in `tree`'s document (absent ids left out).

    Looked up in the ID table lxml's parsers fill by default (`collect_ids`), so no walk of
    the tree. That table also holds `<a name>` values, and keeps the first of repeated ids: when
    an `<a name>` took a wanted id first, the ids are looked up by one walk instead.
    """
    names = frozenset(wanted)
    plain = " ".join(name for name in names if name and name.split() == [name])
    found: dict[str, HtmlElement] = {}
    for element in select(_BY_ID, tree, ids=plain) if plain else ():
        ident = element.get("id")
        if ident not in names:
            return _ids_by_walk(tree, names)
        found.setdefault(ident, element)
    if len(plain.split()) < len(names):
        # Ids holding whitespace (or empty) cannot be looked up by id().
        return _ids_by_walk(tree, names)
    return found


def _ids_by_walk(tree: HtmlElement, names: frozenset[str]) -> dict[str, HtmlElement]:
    """The first element carrying each of `names` as its id, found in one pass."""
    found: dict[str, HtmlElement] = {}
    for value in select(_ID_VALUES, tree):
        if value in names and value not in found:
            found[str(value)] = value.getparent()
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
        encoding, text, exact = _decode_exactly(html, content_type=content_type)
        size = len(html)
    else:
        encoding, text, exact = None, html, False
        size = len(html.encode("utf-8", "replace"))
    if not text or text.isspace():
        raise PageError("the page is empty")
    # libxml2 reads UTF-8 bytes faster than a Python str; only safe when Python decoded every
    # byte as it is (nothing replaced), which libxml2 then reads alike.
    native = isinstance(html, bytes) and exact and encoding in _NATIVE_ENCODINGS
    tree = _parse(html if native and isinstance(html, bytes) else None, text)
    return Page(url=url, text=text, tree=tree, size_bytes=size)


def _reject_binary(body: bytes) -> None:
    """Raise `PageError` when `body` looks like a binary file rather than markup."""
    head = body[:4096]
    if head.startswith(_UTF16_BOMS):
        return  # UTF-16/32 text has NUL bytes by nature
    if head.lstrip().startswith(_BINARY_MAGIC) or b"\x00" in head:
        raise PageError("the input is binary data, not HTML")
    # Deleting the control bytes counts them all in one call in C.
    control = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if head and control > len(head) // 10:
        raise PageError("the input is binary data, not HTML")


def _decode(body: bytes, *, content_type: str | None) -> tuple[str, str]:
    """The encoding used and the decoded text (BOM, header, <meta charset>, then UTF-8)."""
    encoding, text = html_to_unicode(content_type, body)
    return str(encoding), str(text)


def _decode_exactly(body: bytes, *, content_type: str | None) -> tuple[str, str, bool]:
    """`_decode`, plus whether every byte decoded as it is (nothing replaced).

    Follows `html_to_unicode` step by step (BOM, header, <meta charset>, UTF-8), but decodes
    strictly first: a clean decode needs no later scan of the text for replacement marks.
    """
    bom_encoding, bom = read_bom(body)
    if bom_encoding is not None and bom is not None:
        encoding, data = bom_encoding, body[len(bom) :]
    else:
        found = http_content_type_encoding(content_type) or html_body_declared_encoding(body)
        if found in ("utf-16", "utf-32"):
            found += "-be"
        encoding, data = found or "utf8", body
    try:
        return encoding, data.decode(encoding), True
    except UnicodeDecodeError:
        return encoding, to_unicode(data, encoding), False
    except LookupError:
        encoding, text = _decode(body, content_type=content_type)
        return encoding, text, False


def _parse(body: bytes | None, text: str) -> HtmlElement:
    """Parse the page once: from `body` (UTF-8 bytes) when given, else from the text."""
    try:
        if body is not None:
            return lxml.html.document_fromstring(body, parser=_parser(encoding="utf-8"))
        return lxml.html.document_fromstring(
            _XML_DECLARATION.sub("", text, count=1), parser=_parser(encoding=None)
        )
    except (lxml.etree.ParserError, ValueError) as exc:
        raise PageError(f"the page cannot be parsed as HTML: {exc}") from exc


@cache
def _parser(*, encoding: str | None) -> lxml.html.HTMLParser:
    """A shared HTML parser (bytes in `encoding`, or text) that accepts very large pages.

    Its element classes are chosen in C: lxml.html's default lookup calls a Python function
    for every element proxy, which doubled the cost of each XPath and tree walk. No layer uses
    the form-specific classes (InputElement, ...) that lookup provides.
    """
    parser = lxml.html.HTMLParser(encoding=encoding, huge_tree=True)
    parser.set_element_class_lookup(
        lxml.etree.ElementDefaultClassLookup(
            element=HtmlElement,
            comment=lxml.html.HtmlComment,
            pi=lxml.html.HtmlProcessingInstruction,
            entity=lxml.html.HtmlEntity,
        )
    )
    return parser


def decode_html(body: bytes, *, content_type: str | None = None) -> str:
    """Decode page bytes using the BOM, the Content-Type header, <meta charset>, then UTF-8."""
    return _decode(body, content_type=content_type)[1]


def parse_json_leniently(raw: str) -> Any:
    """Parse a JSON-LD script body, tolerating HTML comments, CDATA, trailing commas and junk.

    Junk is anything after complete values (a stray closing brace): the values before it are
    kept, several concatenated objects as a list.

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
        except json.JSONDecodeError as exc:
            if exc.msg == "Extra data":
                # A stray brace or a second value after a complete one: keep the first value.
                return _leading_values(candidate)
        except RecursionError:
            continue
    return None


def _leading_values(text: str) -> Any:
    """The complete JSON values at the start of `text` (a list when several), junk ignored."""
    values: list[Any] = []
    position = 0
    while position < len(text):
        try:
            value, position = _LENIENT_DECODER.raw_decode(text, position)
        except (json.JSONDecodeError, RecursionError):
            break
        values.append(value)
        while position < len(text) and text[position] in " \t\r\n;,":
            position += 1
    if not values:
        return None
    return values[0] if len(values) == 1 else values


_LENIENT_DECODER = json.JSONDecoder(strict=False, parse_float=Decimal)


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
