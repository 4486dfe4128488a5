"""The page's shared lookups: the class/id index, and pages freed once read."""

from __future__ import annotations

import gc
import weakref

from pricewatch.adapters.scraping.extract import extract_page
from pricewatch.adapters.scraping.page import load_page

PAGE = """<html><body>
<div class="Price-Box" id="main-price"><span class="price">10,00 €</span></div>
<ul class="grid">
  <li class="price">1</li><li class="price">2</li><li class="other">3</li><li class="price">4</li>
</ul>
<p class="İtem price-note">x</p>
<p id="footer-PRICE">y</p>
</body></html>"""


def _texts(elements: list[object]) -> list[str]:
    return [" ".join(e.text_content().split()) for e in elements]  # type: ignore[attr-defined]


def test_find_returns_every_owner_of_repeated_values_in_document_order() -> None:
    page = load_page(PAGE, "https://shop.example/p/1")
    found = page.names.find("price")
    assert _texts(found) == ["10,00 €", "10,00 €", "1", "2", "4", "x", "y"]
    assert found[0].get("id") == "main-price"


def test_find_is_case_insensitive_and_survives_lower_casing_that_grows_a_value() -> None:
    page = load_page(PAGE, "https://shop.example/p/1")
    # "İ" lower-cases to two characters; the values after it must still map to their owners.
    assert _texts(page.names.find("note")) == ["x"]
    assert _texts(page.names.find("footer")) == ["y"]
    assert page.names.find("absent") == []
    assert _texts(page.names.find_tokens("price")) == ["10,00 €", "1", "2", "4"]


def test_a_read_page_is_freed_without_the_garbage_collector() -> None:
    page = load_page(PAGE, "https://shop.example/p/1")
    extract_page(page)
    alive = weakref.ref(page)
    gc.disable()
    try:
        del page
        assert alive() is None  # no lasting reference (nor cycle) keeps the page and its tree
    finally:
        gc.enable()
