"""The microdata layer: schema.org items (itemscope/itemprop, itemref) on the parsed tree.

Reads the Page's own tree in one pass over the `itemprop` elements (each is handed to its
nearest enclosing item), following the W3C microdata value rules. extruct's extractor does the
same but re-walks every item's subtree with an XPath set difference, which costs tens of
milliseconds on big pages; this keeps the layer within a fraction of the HTML parse.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import urljoin

from lxml.html import HtmlElement

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.generic.heuristics import heading_text, in_unrelated_block
from pricewatch.adapters.scraping.generic.schema import (
    PageHints,
    choose_product,
    fields_from_product,
    product_candidates,
)
from pricewatch.adapters.scraping.page import Page, visible_text

NAME = "microdata"
# Properties that make an item some other thing's list entry, not the page's product.
_LISTED = frozenset({"itemlistelement", "isrelatedto", "issimilarto", "isaccessoryorsparepartfor"})
_URL_ATTRIBUTE = {
    "a": "href",
    "area": "href",
    "link": "href",
    "img": "src",
    "audio": "src",
    "embed": "src",
    "iframe": "src",
    "source": "src",
    "track": "src",
    "video": "src",
    "object": "data",
}
_MAX_DEPTH = 8
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def parse(page: Page, *, hints: PageHints) -> Fields:
    """Fields of the page's main microdata product; items in related-product blocks are skipped."""
    if "itemscope" not in page.text and "itemScope" not in page.text:
        return Fields()
    reader = _Reader(page)
    items = [reader.item(scope) for scope in reader.top_level() if _is_own(scope, page=page)]
    product = choose_product(product_candidates(items), hints=hints)
    return fields_from_product(product, page=page, hints=hints) if product else Fields()


def items_of(page: Page) -> list[dict[str, Any]]:
    """Every top-level microdata item of the page, shaped like JSON-LD objects."""
    reader = _Reader(page)
    return [reader.item(scope) for scope in reader.top_level()]


class _Reader:
    """Groups the page's itemprop elements by the item they belong to."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.owned: dict[HtmlElement, list[HtmlElement]] = defaultdict(list)
        self.orphans: list[HtmlElement] = []
        # Properties and scopes in one walk of the tree.
        marked = page.microdata_elements
        self.scopes = [e for e in marked if e.get("itemscope") is not None]
        for element in marked:
            if element.get("itemprop") is not None:
                owner = _owner(element)
                (self.owned[owner] if owner is not None else self.orphans).append(element)

    def top_level(self) -> list[HtmlElement]:
        """Items that are not a property of another item, in document order."""
        return [s for s in self.scopes if s.get("itemprop") is None or _owner(s) is None]

    def item(self, scope: HtmlElement, *, depth: int = 0) -> dict[str, Any]:
        """One item as a JSON-LD-like dict: {"@type": ..., "name": ..., "offers": {...}}."""
        shaped: dict[str, Any] = {}
        if types := (scope.get("itemtype") or "").split():
            shaped["@type"] = types if len(types) > 1 else types[0]
        if scope.get("itemid"):
            shaped["@id"] = scope.get("itemid", "").strip()
        for element in self._properties(scope):
            value = self._value(element, depth=depth)
            for name in (element.get("itemprop") or "").split():
                _add(shaped, name, value)
        return shaped

    def _properties(self, scope: HtmlElement) -> list[HtmlElement]:
        """The item's own properties, plus those of the elements its itemref names."""
        found = list(self.owned.get(scope, ()))
        for ref in (scope.get("itemref") or "").split():
            target = self.page.tree.get_element_by_id(ref, None)
            if target is None:
                continue
            if target.get("itemprop") is not None:
                found.append(target)
            found.extend(p for p in self.orphans if p is not target and _within(p, target))
        return found

    def _value(self, element: HtmlElement, *, depth: int) -> Any:
        """A property's value (W3C microdata rules, plus `content` on any element)."""
        if element.get("itemscope") is not None:
            return self.item(element, depth=depth + 1) if depth < _MAX_DEPTH else None
        if element.tag == "meta":
            return element.get("content", "")
        if (attribute := _URL_ATTRIBUTE.get(str(element.tag))) is not None:
            return urljoin(self.page.base_url, (element.get(attribute) or "").strip())
        if element.tag in ("data", "meter"):
            return element.get("value", "")
        if element.tag == "time" and element.get("datetime"):
            return element.get("datetime", "")
        if element.get("content") is not None:
            return element.get("content", "")
        if element.tag in _HEADINGS:
            return heading_text(element)  # a name without its footnote mark
        return visible_text(element)


def _owner(element: HtmlElement) -> HtmlElement | None:
    """The nearest enclosing itemscope element of a property, if any."""
    for ancestor in element.iterancestors():
        if ancestor.get("itemscope") is not None:
            return ancestor
    return None


def _within(element: HtmlElement, container: HtmlElement) -> bool:
    return any(ancestor is container for ancestor in element.iterancestors())


def _add(shaped: dict[str, Any], name: str, value: Any) -> None:
    """Add a property value; repeated properties become a list."""
    if name not in shaped:
        shaped[name] = value
    elif isinstance(shaped[name], list):
        shaped[name].append(value)
    else:
        shaped[name] = [shaped[name], value]


def _is_own(node: HtmlElement, *, page: Page) -> bool:
    """False for items in related blocks or listed as another item's list entry."""
    if (node.get("itemprop") or "").strip().lower() in _LISTED:
        return False
    return not in_unrelated_block(node, page=page)
