"""The DOM layer, last resort: the visible title, buy box, price and stock text.

Rules, not per-shop selectors: the product's price is the one nearest the add-to-cart button
(else the h1); prices in related-product, carousel, header and cart blocks, struck-through and
"was"/RRP prices are never it. Stock is read from the add-to-cart control and from short
elements named like "availability"/"stock", in several languages.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from weakref import WeakKeyDictionary, ref

import lxml.etree
from lxml.html import HtmlElement

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.generic.amount import structured_amount, text_price
from pricewatch.adapters.scraping.page import Page, select, visible_text
from pricewatch.domain.snapshot import Availability

NAME = "heuristics"

# Blocks that show other products: never the page's own offer (matched on class and id).
UNRELATED_NEEDLES = (
    "related",
    "carousel",
    "recommend",
    "similar",
    "upsell",
    "up-sell",
    "crosssell",
    "cross-sell",
    "alsobought",
    "also-bought",
    "also_bought",
    "alsoviewed",
    "also-viewed",
    "recently-viewed",
    "recentlyviewed",
    "sponsored",
    "suggest",
    "complementary",
    "you-may",
    "youmay",
    "may-like",
    "might-like",
    "other-products",
    "product-grid",
    "product-tile",
    "producttile",
    "product-slider",
    "productslider",
)
# One regex scan per class/id string: cheaper than a substring test per needle.
_UNRELATED_NAME = re.compile("|".join(re.escape(needle) for needle in UNRELATED_NEEDLES))
# Site chrome: header, footer, navigation, mini-cart.
_CHROME_TOKENS = frozenset(
    {
        "header",
        "site-header",
        "page-header",
        "main-header",
        "global-header",
        "header-main",
        "footer",
        "site-footer",
        "page-footer",
        "global-footer",
        "nav",
        "navbar",
        "navigation",
        "main-nav",
        "main-menu",
        "megamenu",
        "mega-menu",
        "minicart",
        "mini-cart",
        "cookie-banner",
        "cookie-consent",
    }
)
_CHROME_TAGS = frozenset({"header", "footer", "nav"})
_STRUCK_TAGS = frozenset({"del", "s", "strike"})
_CENTS_NAME = re.compile(r"decimal|fraction|\bcents?\b", re.IGNORECASE)
_PRICE_NEEDLES = ("price", "prix", "preis", "precio", "prezzo", "prijs", "fiyat", "preco", "cena")
# Prices that are not the selling price: before a discount, per unit, instalments, savings.
_NOT_SELLING = re.compile(
    r"old|was|strike|before|regular|list|rrp|uvp|msrp|crossed|original|compare|saving|save"
    r"|discount|reduction|unit|per-?kg|grundpreis|basic-?price|instal|monthly|shipping|delivery"
    r"|vat|tax|points|cashback|range|from-?price|prev|former|sug",
    re.IGNORECASE,
)
_NOT_SELLING_TEXT = re.compile(
    r"%|\b(?:uvp|rrp|msrp|was|statt|avant|prima|invece|antes|van|eski|ab|from|dès|desde|da)\b"
    r"|/\s*(?:kg|l|m|st|stk|mes|month|mois|monat|maand)\b|\bx\s*\d",
    re.IGNORECASE,
)
_SPLIT_SEPARATOR = re.compile(r"(?<=\d)\s*([.,])\s*(?=\d)")
_NUMBER_GROUP = re.compile(r"\d[\d.,'\u00a0\u202f ]*")
_CART_NEEDLES = (
    "cart",
    "basket",
    "buy",
    "panier",
    "warenkorb",
    "carrito",
    "carrello",
    "winkelwagen",
    "sepet",
    "purchase",
    "add2",
)
_ADD_TO_CART_ATTR = re.compile(
    r"add[-_\s]?to[-_\s]?(?:cart|basket|bag|trolley)|addto(?:cart|basket|bag)|add[-_]?(?:cart|basket)"
    r"|cart[-_]?add|buy[-_]?(?:now|button|btn|box)|btn[-_]?buy|button[-_]?buy|add[-_]?bs",
    re.IGNORECASE,
)
_ADD_TO_CART_TEXT = re.compile(
    r"\b(?:add to (?:cart|basket|bag|trolley)|buy now|buy it now|pre-?order|ajouter au panier"
    r"|in den warenkorb|jetzt kaufen|in winkelwagen|in de winkelwagen"
    r"|añadir al carrito|añadir a la cesta|aggiungi al carrello|adicionar ao carrinho"
    r"|sepete ekle|dodaj do koszyka|adaugă în coș|adauga in cos|lägg i varukorgen)",
    re.IGNORECASE,
)
OUT_OF_STOCK_TEXT = re.compile(
    r"\b(?:out of stock|sold out|currently unavailable|no longer available|not available"
    r"|unavailable|temporarily unavailable"
    r"|rupture de stock|épuisé|indisponible|plus disponible|non disponible"
    r"|nicht verfügbar|nicht lieferbar|ausverkauft|nicht mehr verfügbar|nicht (?:mehr )?vorrätig"
    r"|nicht (?:mehr )?auf lager"
    r"|agotado|no disponible|sin stock|esgotado|indisponível|sem stock|sem estoque"
    r"|non disponibile|esaurito|uitverkocht|niet leverbaar|niet beschikbaar"
    r"|tükendi|stokta yok|niedostępny|wyprzedany|stoc epuizat|indisponibil"
    r"|slutsåld|udsolgt|utsolgt)(?!\w)",
    re.IGNORECASE,
)
IN_STOCK_TEXT = re.compile(
    r"\b(?:in stock|available|en stock|disponible|auf lager|lieferbar|sofort lieferbar"
    r"|verfügbar|en existencia|disponibile|disponível|em stock|op voorraad|leverbaar"
    r"|stokta|na stanie|în stoc|in stoc|i lager|på lager)(?!\w)",
    re.IGNORECASE,
)
# Stock words about a store pick-up or another channel, not the online offer itself.
_OTHER_CHANNEL = re.compile(
    r"collect|store|shop|pick-?up|retrait|magasin|abhol|filiale|tienda|negozio|winkel|loja"
    r"|size|taille|größe|maat|talla|taglia|colou?r|farbe|kleur",
    re.IGNORECASE,
)
_STOCK_NEEDLES = (
    "stock",
    "availab",
    "soldout",
    "sold-out",
    "sold_out",
    "lieferbar",
    "disponib",
    "delivery-status",
)
_OUT_OF_STOCK_ATTR = re.compile(
    r"out[-_]?of[-_]?stock|sold[-_]?out|unavailab|not[-_]?available|no[-_]?stock", re.IGNORECASE
)
# A "tell me when it is back" control: shown instead of add-to-cart for a sold-out product.
# Price alerts ("notify me when the price drops") are not stock signals.
NOTIFY_TEXT = re.compile(
    r"\b(?:(?:notify|e-?mail|alert|tell|text) me|let me know|get notified|remind me)"
    r"\b[^.]{0,20}?\b(?:when|once|if)\b[^.]{0,24}?\b(?:available|back|in stock|restocked)\b"
    r"|\bback[- ]in[- ]stock (?:alert|notification|e-?mail)|\bnotify me\s*$"
    r"|m'(?:alerter|avertir|informer|prévenir)\b[^.]{0,40}?(?:retour|disponib|stock)"
    r"|(?:être|me) (?:alerté|prévenu|informé)e?s?\b[^.]{0,40}?(?:retour|disponib|stock)"
    r"|benachrichtig\w*\W[^.]{0,30}?(?:verfügbar|lieferbar|vorrätig|wieder|auf lager)"
    r"|(?:verfügbar|lieferbar|vorrätig)\w*\W[^.]{0,20}?benachrichtig"
    r"|verfügbarkeits(?:benachrichtigung|alarm|hinweis)"
    r"|av[ií]s(?:a)?me\b[^.]{0,40}?(?:disponible|stock|vuelva)"
    r"|avvisami\b[^.]{0,40}?(?:disponibil|torna|stock)"
    r"|houd me op de hoogte|mail me (?:als|wanneer)",
    re.IGNORECASE,
)
# Every label NOTIFY_TEXT matches holds one of these (lower case).
_NOTIFY_KEYWORDS = (
    "notify",
    "mail",
    "alert",
    "tell me",
    "text me",
    "let me know",
    "notified",
    "remind",
    "back in stock",
    "back-in-stock",
    "m'",
    "être",
    "me pr",
    "benachrichtig",
    "verfügbarkeits",
    "avísame",
    "avisame",
    "avvisami",
    "houd me",
)
_MAX_NOTIFY_LABEL = 120
# Human labels (aria-label, a block's heading) of blocks that show other products.
_UNRELATED_LABEL = re.compile(
    r"\b(?:related|similar|recommended|recommendations|sponsored|carousel)\b"
    r"|\balso (?:bought|viewed|purchased|like|liked|consulted)\b|\bmay (?:also )?like\b"
    r"|\bmight (?:also )?like\b|\bcustomers who\b|\bfrequently bought\b|\bpeople also\b"
    r"|\brecently viewed\b|\bcomplete the look\b"
    r"|\bont (?:aussi|également) (?:acheté|consulté|aimé|vu)|\bvous aimerez aussi"
    r"|\bvous (?:pourriez|pouvez) aussi aimer|\b(?:produits|articles) (?:similaires|associés)"
    r"|\brecommandé|\bsuggestions?\b"
    r"|\bkauften auch\b|\bsahen sich auch\b|\bähnliche (?:produkte|artikel)"
    r"|\bdas könnte (?:dir|ihnen) auch gefallen|\bempfehlungen\b|\bauch interessant"
    r"|\bproductos (?:similares|relacionados)|\btambién (?:te puede|compraron|vieron)"
    r"|\bprodotti (?:simili|correlati)|\bpotrebbe(?:ro)? (?:interessarti|piacerti)"
    r"|\bvergelijkbare producten|\bandere klanten",
    re.IGNORECASE,
)
_NOTIFY_NEEDLES = ("notify", "restock")
_INPUT_CONTROLS = frozenset({"submit", "button", "image"})
# Elements that can be a block of product cards, with a heading or an aria-label.
_BLOCK_TAGS = frozenset({"section", "aside", "div", "ul", "ol", "nav"})
_MAX_HEADING = 120
_HEADING_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
# Elements that are the page itself or its main content, never a block of other products.
_PAGE_TAGS = frozenset({"html", "body", "main"})
_HIDDEN = re.compile(r"(?:^|\s)(?:hidden|d-none|is-hidden|hide|invisible|visually-?hidden)(?:\s|$)")
_TITLE_SEPARATORS = re.compile(r"\s+[|•@–—:]+\s+|\s+-\s+|\s+::\s+")
_FOOTNOTE_MARK = re.compile(r"^\s*(?:\d{1,2}|[*†‡]+|\(\d{1,2}\))\s*$")
# A segment this much longer than the shop's name is a product name that contains it.
_SITE_SEGMENT_SLACK = 12
_BUY_SUFFIX = re.compile(
    r"\s+(?:(?:jetzt\s+)?(?:online\s+)?(?:kaufen|bestellen)|(?:online\s+)?kopen|online\s+bestellen"
    r"|fiyatı(?:\s+ve\s+özellikleri)?|(?:pas cher|à prix \w+)|acheter(?: en ligne)?"
    r"|comprar(?: online)?|acquista(?: online)?|buy online|online shop)\s*$",
    re.IGNORECASE,
)
_VARIANT_TAIL = re.compile(r"^\s*[-–—,|/]\s*(\S.*)$")
_CONTROL_TAGS = frozenset({"a", "button", "div", "span", "input"})
_ID_ATTRIBUTE_WORDS = (
    "sku",
    "product",
    "pid",
    "add2cart",
    "addtocart",
    "item-id",
    "itemid",
    "article",
)
_BUTTON_ID = re.compile(r"^(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9][A-Za-z0-9_-]{2,40}$")
# Labels of the shop's own product id, at the start of a label element's text.
_REFERENCE_LABEL = re.compile(
    r"\s*(?:SKU|Item (?:number|no\.?|#|code)|Article (?:number|no\.?)|Product (?:code|number|no\.?)"
    r"|Artikel(?:nummer|-?nr\.?|code)|Art\.\s?-?\s?Nr\.?|Bestellnummer|Référence|Réf\."
    r"|Referencia|Código(?: de (?:artículo|producto))?|Codice(?: articolo| prodotto)?"
    r"|Numero articolo|(?:Ürün|Stok) kodu)(?=\s*(?:$|[:#\d\u00a0]))",
    re.IGNORECASE,
)
_LABEL_ELEMENTS = ("th", "dt", "label")
_LABEL_NEEDLES = ("label", "key", "code", "number")
_LABEL_TAGS = frozenset({"th", "td", "dt", "label", "span", "strong", "b", "p", "li", "div"})
_REFERENCE_VALUE = re.compile(r"^(?=[^\s]*\d)[A-Za-z0-9](?:[A-Za-z0-9._/-]{1,48}[A-Za-z0-9])$")
_LABEL_PUNCTUATION = " :#.\u00a0\u2013-"
_NO_TEXT_TAGS = frozenset({"script", "style", "noscript", "template"})
_MAX_LABEL_GAP = 4
_MAX_LABEL_LEVELS = 3
_PAGE_TEXT = lxml.etree.XPath("//body//text()[not(ancestor::script or ancestor::style)]")
# Pages this small (snippets, reduced pages) are read as a whole for stock sentences.
_SMALL_PAGE = 16_000
_MAX_LABEL = 48

_VIEWS: WeakKeyDictionary[Page, PageView] = WeakKeyDictionary()


def parse(page: Page) -> Fields:
    """Title, price and availability read from the visible page."""
    view = view_of(page)
    found = Fields(availability=view.availability)
    price = view.price
    if price is not None:
        found.price, found.currency = price
        found.notes.append("heuristics: price read from the page text")
    return found


def buy_box_availability(page: Page) -> Availability | None:
    """What the visible buy box clearly says (it overrides structured data), else None.

    OUT_OF_STOCK for a sold-out add-to-cart control or stock label; IN_STOCK for a clickable
    add-to-cart next to an in-stock label ("Online auf Lager"), which beats a stale OutOfStock.
    """
    view = view_of(page)
    if view.visible_out_of_stock:
        return Availability.OUT_OF_STOCK
    return Availability.IN_STOCK if view.visible_in_stock else None


def visible_price(page: Page) -> Decimal | None:
    """The selling price the visible page shows (buy box, else near the h1), or None."""
    price = view_of(page).price
    return price[0] if price is not None else None


def buy_box_region(page: Page, *, levels: int = 3) -> HtmlElement | None:
    """The block around the product's offer: the anchor's `levels`-th ancestor (at most body)."""
    region = view_of(page).anchor
    for _ in range(levels):
        parent = region.getparent() if region is not None else None
        if parent is None or parent.tag == "html":
            break
        region = parent
        if parent.tag == "body":
            break
    return region


def view_of(page: Page) -> PageView:
    """The page's (cached) visible-page reader."""
    view = _VIEWS.get(page)
    if view is None:
        view = _VIEWS[page] = PageView(ref(page))
    return view


def in_unrelated_block(element: HtmlElement, *, page: Page) -> bool:
    """True inside related-products, carousel, "customers also bought" and similar blocks."""
    return view_of(page).in_unrelated(element)


@dataclass(eq=False)
class PageView:
    """The page's visible buy box, read lazily; shared by the availability and price rules.

    It holds its page weakly: `_VIEWS` keeps a view only while its page lives, and a strong
    reference back would keep every page read (its whole tree) alive for good.
    """

    page_ref: ref[Page]

    @property
    def page(self) -> Page:
        """The page this view reads (alive while anyone uses the view through it)."""
        page = self.page_ref()
        if page is None:
            raise ReferenceError("the page of this view is gone")
        return page

    @cached_property
    def _within(self) -> dict[HtmlElement, tuple[bool, bool]]:
        """Memo per element: (inside an unrelated block, inside an unrelated block or chrome)."""
        return {}

    def _inside(self, element: HtmlElement) -> tuple[bool, bool]:
        """Whether `element` is in an unrelated-products block, and whether in one or in chrome.

        Walks up to the nearest ancestor already known and fills the memo on the way back, so
        many candidates under the same blocks cost one walk.
        """
        memo = self._within
        path: list[HtmlElement] = []
        node: HtmlElement | None = element
        known: tuple[bool, bool] = (False, False)
        while node is not None:
            if (found := memo.get(node)) is not None:
                known = found
                break
            path.append(node)
            node = node.getparent()
        product = self._product_path
        for node in reversed(path):
            # The page's own product sits inside it: a layout wrapper, not a block of others
            # (<body class="kind-carousel">, <div class="product-grid"> around the whole page).
            unrelated, chrome = _own_verdict(node, may_be_unrelated=node not in product)
            known = (known[0] or unrelated, known[1] or unrelated or chrome)
            memo[node] = known
        return known

    @cached_property
    def _product_path(self) -> frozenset[HtmlElement]:
        """The first h1 and its ancestors: the blocks holding the product itself."""
        h1s = self.page.elements("h1")
        return frozenset(_self_and_ancestors(h1s[0])) if h1s else frozenset()

    def in_unrelated(self, element: HtmlElement) -> bool:
        """True inside related-products, carousel and similar blocks."""
        return self._inside(element)[0]

    def excluded(self, element: HtmlElement) -> bool:
        """True for elements in unrelated blocks or in the site chrome."""
        # Walking ancestors is far cheaper than indexing every such block of the page.
        return self._inside(element)[1]

    @cached_property
    def h1(self) -> str | None:
        """Text of the first h1 that reads like a name (not empty, not a whole paragraph)."""
        for element in self.page.elements("h1"):
            text = heading_text(element)
            if 2 <= len(text) <= 300 and not self.excluded(element):
                return text
        return None

    @cached_property
    def cart_controls(self) -> list[HtmlElement]:
        """Add-to-cart / buy-now controls (named or labelled so), outside excluded blocks."""
        return self._cart_elements[0]

    @cached_property
    def buy_boxes(self) -> list[HtmlElement]:
        """Containers named like a buy box ("buy-box", "add-to-cart-section"), outside excluded
        blocks: they hold the controls, they are not one."""
        return self._cart_elements[1]

    @cached_property
    def _cart_elements(self) -> tuple[list[HtmlElement], list[HtmlElement]]:
        """(add-to-cart controls, buy-box containers), both outside excluded blocks."""
        named = [
            e
            for e in self.page.names.find(*_CART_NEEDLES)
            if _ADD_TO_CART_ATTR.search(_names(e))
            or (e.tag in _CONTROL_TAGS and len(e) <= 3 and _labelled_cart(e))
        ]
        labelled = [
            e
            for e in self.page.elements("button", "input")
            if (e.tag == "button" or (e.get("type") or "").lower() in ("submit", "button"))
            and _labelled_cart(e)
        ]
        seen: set[HtmlElement] = set()
        controls: list[HtmlElement] = []
        boxes: list[HtmlElement] = []
        for element in [*named, *labelled]:
            if element not in seen and element.tag not in ("form", "body", "html", "script"):
                seen.add(element)
                if not self.excluded(element):
                    (boxes if _holds_controls(element) else controls).append(element)
        return controls, boxes

    @cached_property
    def notify_controls(self) -> list[HtmlElement]:
        """Visible "email me when available" / "notify me" controls outside excluded blocks."""
        candidates = [
            *self.page.elements("button", "input"),
            *(e for e in self.page.names.find(*_NOTIFY_NEEDLES) if e.tag in _CONTROL_TAGS),
        ]
        labels = [_control_label(e) for e in candidates]
        # One test on all labels at once: on most pages no control mentions being told.
        joined = "\x00".join(labels).lower()
        if not any(keyword in joined for keyword in _NOTIFY_KEYWORDS):
            return []
        return [
            e
            for e, label in zip(candidates, labels, strict=True)
            if len(label) < _MAX_NOTIFY_LABEL
            and NOTIFY_TEXT.search(label)
            and not self.excluded(e)
            and not _hidden(e)
        ]

    @cached_property
    def buttons(self) -> list[HtmlElement]:
        """Cart controls that are not themselves named as sold-out states."""
        return [c for c in self.cart_controls if not _OUT_OF_STOCK_ATTR.search(_names(c))]

    @cached_property
    def anchor(self) -> HtmlElement | None:
        """Where the product's own offer is: its add-to-cart button, its buy box, else its h1."""
        if self.buttons:
            return self.buttons[0]
        if self.buy_boxes:
            return self.buy_boxes[0]
        h1s = self.page.elements("h1")
        return h1s[0] if h1s else None

    @cached_property
    def price_elements(self) -> list[HtmlElement]:
        """Elements that may hold the selling price, outside excluded blocks."""
        found = []
        for element in self.page.names.find(*_PRICE_NEEDLES):
            if element.tag in ("script", "style", "del", "s", "strike", "body", "html"):
                continue
            if _NOT_SELLING.search(_names(element)) or self.excluded(element):
                continue
            found.append(element)
        return found

    @cached_property
    def price(self) -> tuple[Decimal, str | None] | None:
        """The selling price: a bare itemprop=price, else the one nearest the anchor."""
        for element in self._itemprop_prices():
            if (price := self._read_price(element)) is not None:
                return price
        for element in self._nearest_first(self.price_elements):
            if (price := self._read_price(element)) is not None:
                return price
        return None

    def _itemprop_prices(self) -> Iterator[HtmlElement]:
        """itemprop=price elements outside excluded blocks (microdata missed them), lazily:
        the first one that reads as a price ends the search."""
        if "itemprop" not in self.page.text and "itemProp" not in self.page.text:
            return
        found = (e for e in self.page.microdata_elements if e.get("itemprop") == "price")
        # Hidden ones are a list of every size's or seller's offer, not the one shown.
        yield from (e for e in found if not self.excluded(e) and not _hidden(e))

    def _nearest_first(self, elements: list[HtmlElement]) -> list[HtmlElement]:
        """`elements` ordered by how close their common ancestor with the anchor is."""
        if self.anchor is None or not elements:
            return elements
        depth_of = {node: depth for depth, node in enumerate(_self_and_ancestors(self.anchor))}

        def closeness(index: int) -> tuple[int, int]:
            common = next(
                (depth_of[a] for a in _self_and_ancestors(elements[index]) if a in depth_of), 99
            )
            return common, index

        return [elements[i] for i in sorted(range(len(elements)), key=closeness)]

    def _read_price(self, element: HtmlElement) -> tuple[Decimal, str | None] | None:
        """The price shown by one element: its content/data attribute, else its own text."""
        for attribute in ("content", "data-price", "data-price-amount", "data-value"):
            value = element.get(attribute)
            if value and (amount := structured_amount(value, page=self.page)) is not None:
                return amount, None
        text = price_text(_without_reference_prices(element))
        if not text or len(text) > 40 or _NOT_SELLING_TEXT.search(text):
            return None
        if len(_NUMBER_GROUP.findall(text)) != 1:
            return None
        parsed = text_price(text, page=self.page)
        return (parsed.amount, parsed.currency) if parsed.amount is not None else None

    @cached_property
    def stock_labels(self) -> list[str]:
        """Short visible texts of availability/stock elements outside excluded blocks."""
        labels: list[str] = []
        for element in self.page.names.find(*_STOCK_NEEDLES):
            if element.tag in ("script", "style", "body", "html") or len(element) > 8:
                continue
            if _hidden(element) or self.excluded(element):
                continue
            text = visible_text(element)
            # A stock box often holds a headline and more (a price): read its parts then.
            parts = [text] if len(text) <= _MAX_LABEL else [visible_text(c) for c in element[:8]]
            labels.extend(
                part
                for part in parts
                if part and len(part) <= _MAX_LABEL and not _OTHER_CHANNEL.search(part)
            )
        return labels

    @cached_property
    def visible_out_of_stock(self) -> bool:
        """True when the add-to-cart control or a stock label says it cannot be bought."""
        if self.cart_controls and not self.buttons:
            return True  # the only add-to-cart control is named as a sold-out state
        if self.buttons and _says_out_of_stock(visible_text(self.buttons[0])):
            return True
        if any(not _disabled(button) for button in self.buttons):
            return False  # a clickable add-to-cart outweighs stock labels (often templates)
        if any(_says_out_of_stock(label) for label in self.stock_labels):
            return True
        # Instead of add-to-cart, a control to be told when the product is back. A greyed-out
        # add-to-cart alone says nothing: shops render it disabled until scripts or a size
        # choice enable it.
        return bool(self.notify_controls)

    @cached_property
    def visible_in_stock(self) -> bool:
        """True when a clickable add-to-cart sits with a stock label saying in stock."""
        if self.visible_out_of_stock or not any(not _disabled(b) for b in self.buttons):
            return False
        return any(
            IN_STOCK_TEXT.search(label) and not OUT_OF_STOCK_TEXT.search(label)
            for label in self.stock_labels
        )

    @cached_property
    def availability(self) -> Availability | None:
        """Availability from the buy box and stock labels, then (small pages) the whole text."""
        if self.visible_out_of_stock:
            return Availability.OUT_OF_STOCK
        if self.buttons or any(IN_STOCK_TEXT.search(label) for label in self.stock_labels):
            return Availability.IN_STOCK
        return self._small_page_availability()

    def _small_page_availability(self) -> Availability | None:
        """On small pages without a buy box, a short stock sentence anywhere in the body."""
        if len(self.page.text) > _SMALL_PAGE:
            return None
        lines = [" ".join(str(t).split()) for t in select(_PAGE_TEXT, self.page.tree)]
        labels = [line for line in lines if line and len(line) <= _MAX_LABEL]
        if any(_says_out_of_stock(label) for label in labels):
            return Availability.OUT_OF_STOCK
        if any(IN_STOCK_TEXT.search(label) for label in labels):
            return Availability.IN_STOCK
        return None


def best_title(page: Page, *, structured: str | None) -> str | None:
    """The product's name: the structured name, the h1, or og:title/<title> minus the site name.

    The h1 wins over a structured name that only appends a variant to it ("Sweatshirt" vs
    "Sweatshirt - mid grey"); a longer og:title/<title> wins over an h1 holding only its start
    (a brand-only heading).
    """
    h1 = view_of(page).h1
    if structured:
        return h1 if h1 and _extends_with_variant(structured, h1) else structured
    site_titles = [t for t in (page.meta.get("og:title"), page.title_tag) if t]
    named = [strip_site_name(t, page=page) for t in site_titles]
    if h1:
        longer = [t for t in named if _starts_with(t, h1) and len(t) > len(h1)]
        return next((t for t in longer if not _extends_with_variant(t, h1)), h1)
    return next((t for t in named if t), None)


def strip_site_name(title: str, *, page: Page) -> str:
    """`title` without a leading or trailing segment naming the shop ("... | Canadian Tire")."""
    site_words = _site_words(page)
    segments = [s for s in _TITLE_SEPARATORS.split(" ".join(title.split())) if s.strip()]
    kept = [s for s in segments if not _names_site(s, site_words)]
    if not kept:
        kept = segments
    # Shop titles end the product name with a call to buy ("... online kaufen | OTTO").
    kept[-1] = _BUY_SUFFIX.sub("", kept[-1]).strip() or kept[-1]
    return " - ".join(s.strip() for s in kept)


def heading_text(element: HtmlElement) -> str:
    """A heading's visible text without footnote marks and counters (`<sup>1</sup>`).

    Shops put a footnote number or a badge digit after the name; it is no part of the name.
    """
    marks = [sup for sup in element.iter("sup") if _FOOTNOTE_MARK.match(sup.text_content())]
    if not marks:
        return visible_text(element)
    heading = copy.deepcopy(element)
    for sup in [s for s in heading.iter("sup") if _FOOTNOTE_MARK.match(s.text_content())]:
        sup.drop_tree()  # keeps the text that follows the mark
    return visible_text(heading)


def _site_words(page: Page) -> set[str]:
    """Squashed forms of the shop's name: host labels and og:site_name."""
    labels = {label for label in page.host.split(".") if len(label) > 2}
    labels -= {"www", "com", "shop", "store", "online"}
    site_name = page.meta.get("og:site_name")
    if site_name:
        labels.add(_squash(site_name))
    return {label for label in labels if label}


def _names_site(segment: str, site_words: set[str]) -> bool:
    """True for a short segment naming the shop ("at Lidl UK", "vidaXL.it"), not for a product
    name that merely contains it ("vidaXL Convex Mirror 30 cm" on vidaxl.it)."""
    squashed = _squash(segment)
    return bool(squashed) and any(
        word in squashed and len(squashed) <= len(word) + _SITE_SEGMENT_SLACK for word in site_words
    )


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def _starts_with(text: str, prefix: str) -> bool:
    return " ".join(text.split()).casefold().startswith(" ".join(prefix.split()).casefold())


def _extends_with_variant(text: str, head: str) -> bool:
    """True when `text` is `head` plus a short variant tail ("- black", ", XL")."""
    if not _starts_with(text, head):
        return False
    tail = " ".join(text.split())[len(" ".join(head.split())) :]
    match = _VARIANT_TAIL.match(tail)
    return match is not None and len(match.group(1).split()) <= 3


def _says_out_of_stock(text: str) -> bool:
    """True for a short label saying the product cannot be bought (not a store pick-up note)."""
    return bool(
        text
        and len(text) <= _MAX_LABEL
        and OUT_OF_STOCK_TEXT.search(text)
        and not _OTHER_CHANNEL.search(text)
    )


def price_text(element: HtmlElement) -> str:
    """An element's text joined without spaces, so split digits ('99<sup>99</sup>') stay whole."""
    parts = [str(t) for t in element.itertext() if t]
    if not parts:
        return ""
    # Markup splits prices into pieces ("99 <span>.</span> 99"): glue digits to separators.
    joined = _SPLIT_SEPARATOR.sub(r"\1", "".join(parts))
    # Cents set apart: "10<sup>99</sup>" or "<span class=integer>10</span><span class=decimal>99".
    sups = element.findall(".//sup") or [
        d for d in element.iterdescendants() if _CENTS_NAME.search(d.get("class") or "")
    ]
    if sups and (cents := (sups[-1].text or "").strip()).isdigit() and len(cents) == 2:
        head = joined[: joined.rfind(cents)].rstrip(",. ")
        joined = f"{head},{cents}" if "." in head else f"{head}.{cents}"
    return " ".join(joined.split())


def _without_reference_prices(element: HtmlElement) -> HtmlElement:
    """`element`, or a copy without its struck-through, old and discount children.

    A price box often holds the old price next to the selling one ("189 TL 159 TL"); only the
    selling one is read.
    """

    def is_reference(node: HtmlElement) -> bool:
        return node.tag in _STRUCK_TAGS or bool(_NOT_SELLING.search(_names(node)))

    if len(element) == 0 or not any(is_reference(d) for d in element.iterdescendants()):
        return element
    cleaned = copy.deepcopy(element)
    for node in [d for d in cleaned.iterdescendants() if is_reference(d)]:
        if node.getparent() is not None:
            node.drop_tree()  # keeps the text that follows it
    return cleaned


def _disabled(element: HtmlElement) -> bool:
    """True for a greyed-out control (disabled attribute or a 'disabled' class)."""
    return (
        element.get("disabled") is not None
        or element.get("aria-disabled") == "true"
        or "disabled" in (element.get("class") or "").lower()
    )


def button_reference(page: Page) -> str | None:
    """A product id carried by the add-to-cart control (data-product-id, data-sku, ...)."""
    view = view_of(page)
    for button in view.buttons[:2]:
        for name, value in button.attrib.items():
            key = name.lower()
            text = str(value).strip()
            is_id_attribute = key.startswith("data-") and any(w in key for w in _ID_ATTRIBUTE_WORDS)
            if is_id_attribute and _BUTTON_ID.match(text):
                return text
    return None


def labelled_reference(page: Page) -> str | None:
    """The product's own id shown next to a label: "Item number: HDP-00007", "SKU 6331929",
    "Artikelnummer", "Référence", ... in a specs row, a definition list or a labelled span.

    Labels are looked for only where shops put them, found without another walk of the tree:
    th, dt and label elements, then elements named like a label, key, code or number. The
    value is the rest of the label's text, else the first text after it: one token with a
    digit, else nothing. Labels in hidden and related-products blocks are skipped.
    """
    view = view_of(page)
    found = _reference_after_label(page.elements(*_LABEL_ELEMENTS), view=view)
    if found is None:
        named = (e for e in page.names.find(*_LABEL_NEEDLES) if e.tag in _LABEL_TAGS)
        found = _reference_after_label(named, view=view)
    return found


def _reference_after_label(elements: Iterable[HtmlElement], *, view: PageView) -> str | None:
    """The id after the first of `elements` whose text is a reference label, or None."""
    for element in elements:
        label = _label_holder(element)
        text = label.text
        if not text or len(text) > _MAX_LABEL or not (match := _REFERENCE_LABEL.match(text)):
            continue
        if _hidden(element) or view.excluded(element):
            continue
        rest = text[match.end() :].strip(_LABEL_PUNCTUATION)
        value = rest or _text_after(label)
        if value and _REFERENCE_VALUE.match(value):
            return value
    return None


def _label_holder(element: HtmlElement) -> HtmlElement:
    """The element whose own text is the label: `element`, or its first child (`<th><span>`)."""
    for _ in range(2):
        if (element.text or "").strip() or len(element) == 0:
            break
        child = element[0]
        if not isinstance(child, HtmlElement):
            break
        element = child
    return element


def _text_after(label: HtmlElement) -> str | None:
    """The first meaningful text after `label`'s own text (its value), or None."""
    for count, piece in enumerate(_following_texts(label)):
        value = " ".join(piece.split()).strip(_LABEL_PUNCTUATION)
        if value:
            return value
        if count >= _MAX_LABEL_GAP:
            break
    return None


def _following_texts(element: HtmlElement) -> Iterator[str]:
    """The texts after `element`'s own text in document order (scripts skipped), lazily."""
    for child in element:
        yield from _subtree_texts(child)
    if element.tail:
        yield element.tail
    node: lxml.etree._Element = element
    for _ in range(_MAX_LABEL_LEVELS):
        for sibling in node.itersiblings():
            yield from _subtree_texts(sibling)
        parent = node.getparent()
        if parent is None:
            return
        if parent.tail:
            yield parent.tail
        node = parent


def _subtree_texts(element: lxml.etree._Element) -> Iterator[str]:
    """The element's own and its descendants' texts, then its tail (scripts skipped)."""
    if isinstance(element.tag, str) and element.tag not in _NO_TEXT_TAGS:
        if element.text:
            yield element.text
        for child in element:
            yield from _subtree_texts(child)
    if element.tail:
        yield element.tail


def _labelled_cart(element: HtmlElement) -> bool:
    """True for a button whose short label says add to cart / buy now."""
    if element.tag == "input":
        text = element.get("value")
        return bool(text and len(text) < 60 and _ADD_TO_CART_TEXT.search(text))
    # text_content() is one C call; the script-free text is read only for likely labels.
    rough = element.text_content()
    if len(rough) > 4_000:
        return False
    rough = " ".join(rough.split())
    if len(rough) >= 200 or not _ADD_TO_CART_TEXT.search(rough):
        return False
    text = visible_text(element)
    return bool(text and len(text) < 60 and _ADD_TO_CART_TEXT.search(text))


def _holds_controls(element: HtmlElement) -> bool:
    """True for a container (a buy box) holding buttons or a form, not a control itself."""
    if element.tag in ("button", "input", "a"):
        return False
    for inner in element.iterdescendants("button", "input", "form"):
        if inner.tag != "input" or (inner.get("type") or "").lower() in _INPUT_CONTROLS:
            return True
    return False


def _control_label(element: HtmlElement) -> str:
    """The label a control shows: an input's value, else its text, else its aria-label."""
    if element.tag == "input":
        if (element.get("type") or "").lower() not in _INPUT_CONTROLS:
            return ""
        return element.get("value") or element.get("aria-label") or ""
    return element.text_content() or element.get("aria-label") or ""


def _own_verdict(node: HtmlElement, *, may_be_unrelated: bool = True) -> tuple[bool, bool]:
    """Whether `node` itself is an unrelated-products block and whether it is site chrome.

    A block of other products is named so (class/id), labelled so (aria-label) or headed so
    (its first child is a heading such as "Customers also bought"). The page itself (html,
    body, main) and the blocks holding the product's h1 are never one, whatever their names.
    """
    if node.tag in _PAGE_TAGS:
        return False, False
    names = _names(node).lower()
    unrelated = may_be_unrelated and (
        (bool(names) and _UNRELATED_NAME.search(names) is not None)
        or (node.tag in _BLOCK_TAGS and _labelled_unrelated(node))
    )
    if not names:
        return unrelated, node.tag in _CHROME_TAGS and _is_site_chrome(node)
    named_chrome = not _CHROME_TOKENS.isdisjoint(names.split())
    return unrelated, (named_chrome or node.tag in _CHROME_TAGS) and _is_site_chrome(node)


def _labelled_unrelated(node: HtmlElement) -> bool:
    """True when the block's aria-label or its leading heading names other products."""
    label = node.get("aria-label")
    if label and _UNRELATED_LABEL.search(label):
        return True
    if len(node) == 0:
        return False
    for child in node[:2]:
        if child.tag in _HEADING_TAGS or child.get("role") == "heading":
            text = child.text_content()
            return len(text) <= _MAX_HEADING and _UNRELATED_LABEL.search(text) is not None
    return False


def _is_site_chrome(element: HtmlElement) -> bool:
    """True for a header/footer/nav that belongs to the site, not to the product.

    One inside `<main>` or `<article>` is the product's own (a product header holds the h1).
    """
    return not any(a.tag in ("main", "article") for a in element.iterancestors())


def _hidden(element: HtmlElement) -> bool:
    """True when the element or a close ancestor is hidden by attribute, style or class."""
    for node in list(_self_and_ancestors(element))[:4]:
        if node.get("hidden") is not None or node.get("aria-hidden") == "true":
            return True
        style = (node.get("style") or "").replace(" ", "").lower()
        if "display:none" in style or "visibility:hidden" in style:
            return True
        if _HIDDEN.search(node.get("class") or ""):
            return True
    return False


def _self_and_ancestors(element: HtmlElement) -> Iterator[HtmlElement]:
    yield element
    yield from element.iterancestors()


def _names(element: HtmlElement, *, extra: Iterable[str] = ()) -> str:
    """The element's class and id (and `extra` attributes) as one string to match."""
    if not extra:  # the common case, called for many elements: no list, no generator
        name, ident = element.get("class"), element.get("id")
        return f"{name} {ident}" if name and ident else name or ident or ""
    values = [element.get("class"), element.get("id"), *(element.get(a) for a in extra)]
    return " ".join(v for v in values if v)
