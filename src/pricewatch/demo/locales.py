"""Storefront locales: currency, how prices are written, and the UI words each language needs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
NBSP = "\u00a0"
# French typography groups thousands with a narrow no-break space.
NNBSP = "\u202f"

_UI_INDEX = {"en": 0, "fr": 1, "de": 2}


def group_digits(digits: str, *, separator: str) -> str:
    """Insert `separator` every three digits from the right ("1226" -> "1,226")."""
    head = len(digits) % 3 or 3
    parts = [digits[:head], *(digits[i : i + 3] for i in range(head, len(digits), 3))]
    return separator.join(parts)


@dataclass(frozen=True, slots=True)
class Locale:
    """One storefront: page language, currency and the way prices are written."""

    code: str
    lang: str
    ui: str
    currency: str
    path_prefix: str
    symbol: str
    symbol_first: bool
    symbol_gap: str
    group: str
    decimal: str

    @property
    def og_locale(self) -> str:
        """The OpenGraph spelling of the locale ("fr_FR")."""
        return self.code.replace("-", "_")

    def split(self, amount: Decimal) -> tuple[str, str]:
        """The grouped whole part and the two fraction digits of `amount`."""
        whole, _, fraction = f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):f}".partition(".")
        return group_digits(whole, separator=self.group), fraction

    def number(self, amount: Decimal) -> str:
        """`amount` with this locale's separators and no currency ("1 226,50")."""
        whole, fraction = self.split(amount)
        return f"{whole}{self.decimal}{fraction}"

    def price(self, amount: Decimal) -> str:
        """`amount` as a shopper sees it here ("1 226,50 €", "$1,226.50", "CHF 1'226.50")."""
        number = self.number(amount)
        if self.symbol_first:
            return f"{self.symbol}{self.symbol_gap}{number}"
        return f"{number}{self.symbol_gap}{self.symbol}"

    def decimal_text(self, value: float, *, places: int = 1) -> str:
        """A plain measurement such as a weight with this locale's decimal mark."""
        return f"{value:.{places}f}".replace(".", self.decimal)

    def text(self, key: str, **values: object) -> str:
        """The UI string `key` in this locale's language, with `values` filled in."""
        return ui_text(self.ui, key, **values)


US = Locale(
    code="en-US",
    lang="en",
    ui="en",
    currency="USD",
    path_prefix="",
    symbol="$",
    symbol_first=True,
    symbol_gap="",
    group=",",
    decimal=".",
)
FR = Locale(
    code="fr-FR",
    lang="fr",
    ui="fr",
    currency="EUR",
    path_prefix="/fr",
    symbol="€",
    symbol_first=False,
    symbol_gap=NBSP,
    group=NNBSP,
    decimal=",",
)
DE = Locale(
    code="de-DE",
    lang="de",
    ui="de",
    currency="EUR",
    path_prefix="/de",
    symbol="€",
    symbol_first=False,
    symbol_gap=NBSP,
    group=".",
    decimal=",",
)
UK = Locale(
    code="en-GB",
    lang="en-GB",
    ui="en",
    currency="GBP",
    path_prefix="/uk",
    symbol="£",
    symbol_first=True,
    symbol_gap="",
    group=",",
    decimal=".",
)
CH = Locale(
    code="de-CH",
    lang="de-CH",
    ui="de",
    currency="CHF",
    path_prefix="/ch",
    symbol="CHF",
    symbol_first=True,
    symbol_gap=NBSP,
    group="'",
    decimal=".",
)

#: Storefronts in the order products are spread over them.
LOCALES: tuple[Locale, ...] = (US, FR, DE, UK, CH)


def marketplace_locale(locale: Locale) -> Locale:
    """The Amazon-like pages write French prices with a dot for thousands ("1.226,50 €")."""
    if locale.ui == "fr":
        return replace(locale, group=".")
    return locale


# key -> (English, French, German)
_TEXT: dict[str, tuple[str, str, str]] = {
    "home": ("Home", "Accueil", "Startseite"),
    "search": ("Search", "Rechercher", "Suchen"),
    "search_placeholder": (
        "Search products, brands…",
        "Rechercher un produit, une marque…",
        "Produkte, Marken suchen…",
    ),
    "cart": ("Cart", "Panier", "Warenkorb"),
    "add_to_cart": ("Add to cart", "Ajouter au panier", "In den Warenkorb"),
    "in_stock": ("In stock", "En stock", "Auf Lager"),
    "out_of_stock": ("Out of stock", "Rupture de stock", "Nicht vorrätig"),
    "only_left": (
        "Only {count} left in stock",
        "Plus que {count} en stock",
        "Nur noch {count} auf Lager",
    ),
    "notify_me": (
        "Email me when available",
        "M'alerter du retour en stock",
        "Benachrichtigen, wenn verfügbar",
    ),
    "delivery": (
        "Delivered in 2–4 working days",
        "Livraison en 2 à 4 jours ouvrés",
        "Lieferung in 2–4 Werktagen",
    ),
    "tax_note": ("Price includes VAT", "Prix TTC", "inkl. MwSt."),
    "sale": ("Sale", "Promo", "Angebot"),
    "from": ("From", "À partir de", "Ab"),
    "offers": ("{count} offers", "{count} offres", "{count} Angebote"),
    "seller": ("Seller", "Vendeur", "Verkäufer"),
    "price": ("Price", "Prix", "Preis"),
    "condition_new": ("New", "Neuf", "Neu"),
    "choose": ("Choose {axis}", "Choisir : {axis}", "{axis} wählen"),
    "description": ("Description", "Description", "Beschreibung"),
    "specifications": ("Specifications", "Caractéristiques", "Technische Daten"),
    "reviews": ("Customer reviews", "Avis clients", "Kundenbewertungen"),
    "review_count": ("{count} reviews", "{count} avis", "{count} Bewertungen"),
    "rating": ("{rating} out of 5", "{rating} sur 5", "{rating} von 5"),
    "by_brand": ("by {brand}", "par {brand}", "von {brand}"),
    "also_viewed": (
        "Customers also viewed",
        "Les clients ont aussi consulté",
        "Kunden sahen sich auch an",
    ),
    "loading": ("Loading price…", "Chargement du prix…", "Preis wird geladen…"),
    "enable_js": (
        "Please enable JavaScript to see prices and availability.",
        "Activez JavaScript pour voir le prix et la disponibilité.",
        "Bitte aktivieren Sie JavaScript, um Preis und Verfügbarkeit zu sehen.",
    ),
    "about_item": ("About this item", "À propos de cet article", "Über diesen Artikel"),
    "visit_store": (
        "Visit the {brand} Store",
        "Visiter la boutique {brand}",
        "Besuche den {brand}-Store",
    ),
    "market_in_stock": ("In Stock", "En stock", "Auf Lager"),
    "market_unavailable": (
        "Currently unavailable.",
        "Actuellement indisponible.",
        "Derzeit nicht verfügbar.",
    ),
    "market_unavailable_note": (
        "We don't know when or if this item will be back in stock.",
        "Nous ne savons pas quand cet article sera de nouveau approvisionné ni s'il le sera.",
        "Ob und wann dieser Artikel wieder vorrätig sein wird, ist unbekannt.",
    ),
    "market_add": ("Add to Cart", "Ajouter au panier", "In den Einkaufswagen"),
    "market_buy_now": ("Buy Now", "Acheter cette option", "Jetzt kaufen"),
    "market_list_price": ("List Price:", "Prix conseillé :", "UVP:"),
    "market_ratings": ("{count} ratings", "{count} évaluations", "{count} Sternebewertungen"),
    "market_details": ("Product information", "Informations sur le produit", "Produktinformation"),
    "market_also_bought": (
        "Customers who bought this item also bought",
        "Les clients ayant acheté cet article ont également acheté",
        "Kunden, die diesen Artikel gekauft haben, kauften auch",
    ),
    "item_number": ("Item number", "Référence", "Artikelnummer"),
    "gtin": ("EAN", "EAN", "EAN"),
}


def ui_text(ui: str, key: str, **values: object) -> str:
    """The UI string `key` in language `ui` ("en", "fr" or "de"), with `values` filled in."""
    template = _TEXT[key][_UI_INDEX[ui]]
    return template.format(**values) if values else template
