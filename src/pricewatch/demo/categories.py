"""The shop's departments and how an invented product of each one is described."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from pricewatch.demo.locales import Locale

_UI_INDEX = {"en": 0, "fr": 1, "de": 2}


@dataclass(frozen=True, slots=True)
class Category:
    """A department: its URL slug, display names and typical price range."""

    slug: str
    names: tuple[str, str, str]
    noun: tuple[str, str, str]
    sku_prefix: str
    price_range: tuple[int, int]
    color: tuple[int, int, int]

    def name(self, ui: str) -> str:
        """The department's name in language `ui`."""
        return self.names[_UI_INDEX[ui]]


@dataclass(frozen=True, slots=True)
class Details:
    """What a product generator invents: name, brand, specs and the variant axis."""

    name: str
    brand: str
    model: str
    specs: tuple[tuple[str, str], ...]
    variant_axis: str
    variant_labels: tuple[str, ...]
    variant_factors: tuple[Decimal, ...]


LAPTOPS = Category(
    slug="laptops",
    names=("Laptops", "Ordinateurs portables", "Laptops"),
    noun=("laptop", "ordinateur portable", "Laptop"),
    sku_prefix="LAP",
    price_range=(449, 2499),
    color=(70, 110, 160),
)
PHONES = Category(
    slug="phones",
    names=("Smartphones", "Smartphones", "Smartphones"),
    noun=("smartphone", "smartphone", "Smartphone"),
    sku_prefix="PHN",
    price_range=(129, 1399),
    color=(90, 150, 110),
)
HEADPHONES = Category(
    slug="headphones",
    names=("Headphones", "Casques audio", "Kopfhörer"),
    noun=("pair of headphones", "casque audio", "Kopfhörer"),
    sku_prefix="HDP",
    price_range=(19, 449),
    color=(160, 90, 120),
)
COFFEE_MACHINES = Category(
    slug="coffee-machines",
    names=("Coffee machines", "Machines à café", "Kaffeemaschinen"),
    noun=("coffee machine", "machine à café", "Kaffeemaschine"),
    sku_prefix="COF",
    price_range=(39, 1299),
    color=(140, 100, 60),
)
BOOKS = Category(
    slug="books",
    names=("Books", "Livres", "Bücher"),
    noun=("book", "livre", "Buch"),
    sku_prefix="BOK",
    price_range=(7, 45),
    color=(180, 150, 70),
)

CATEGORIES: tuple[Category, ...] = (LAPTOPS, PHONES, HEADPHONES, COFFEE_MACHINES, BOOKS)

# key -> (English, French, German)
_LABELS: dict[str, tuple[str, str, str]] = {
    "brand": ("Brand", "Marque", "Marke"),
    "model": ("Model", "Modèle", "Modell"),
    "screen": ("Screen size", "Taille d'écran", "Bildschirmdiagonale"),
    "processor": ("Processor", "Processeur", "Prozessor"),
    "memory": ("Memory", "Mémoire vive", "Arbeitsspeicher"),
    "storage": ("Storage", "Stockage", "Speicherkapazität"),
    "weight": ("Weight", "Poids", "Gewicht"),
    "os": ("Operating system", "Système d'exploitation", "Betriebssystem"),
    "colour": ("Colour", "Couleur", "Farbe"),
    "camera": ("Main camera", "Appareil photo principal", "Hauptkamera"),
    "battery": ("Battery", "Batterie", "Akku"),
    "network": ("Network", "Réseau", "Netz"),
    "type": ("Type", "Type", "Bauform"),
    "noise_cancelling": ("Noise cancelling", "Réduction de bruit", "Geräuschunterdrückung"),
    "battery_life": ("Battery life", "Autonomie", "Akkulaufzeit"),
    "connectivity": ("Connectivity", "Connectivité", "Konnektivität"),
    "pressure": ("Pump pressure", "Pression de la pompe", "Pumpendruck"),
    "tank": ("Water tank", "Réservoir d'eau", "Wassertank"),
    "power": ("Power", "Puissance", "Leistung"),
    "author": ("Author", "Auteur", "Autor"),
    "publisher": ("Publisher", "Éditeur", "Verlag"),
    "format": ("Format", "Format", "Einband"),
    "pages": ("Pages", "Nombre de pages", "Seitenzahl"),
    "language": ("Language", "Langue", "Sprache"),
    "published": ("Published", "Date de publication", "Erscheinungsjahr"),
}

_YES_NO = {"en": ("Yes", "No"), "fr": ("Oui", "Non"), "de": ("Ja", "Nein")}

_COLOURS: tuple[tuple[str, str, str], ...] = (
    ("Black", "Noir", "Schwarz"),
    ("White", "Blanc", "Weiß"),
    ("Silver", "Argent", "Silber"),
    ("Midnight blue", "Bleu nuit", "Mitternachtsblau"),
    ("Sage green", "Vert sauge", "Salbeigrün"),
    ("Red", "Rouge", "Rot"),
)

_HEADPHONE_SHAPES: tuple[tuple[str, str, str], ...] = (
    ("Over-ear", "Circum-aural", "Over-Ear"),
    ("On-ear", "Supra-aural", "On-Ear"),
    ("In-ear", "Intra-auriculaire", "In-Ear"),
)

_BOOK_LANGUAGE = {"en": "English", "fr": "Français", "de": "Deutsch"}


def label(ui: str, key: str) -> str:
    """A spec-table label in language `ui`."""
    return _LABELS[key][_UI_INDEX[ui]]


def _colours(rng: random.Random, ui: str, *, count: int) -> list[str]:
    """`count` distinct colour names in language `ui`."""
    return [c[_UI_INDEX[ui]] for c in rng.sample(_COLOURS, count)]


def _factors(*values: str) -> tuple[Decimal, ...]:
    """Variant price factors as exact decimals."""
    return tuple(Decimal(v) for v in values)


def _laptop(rng: random.Random, loc: Locale) -> Details:
    """A laptop with a CPU, memory and storage; variants differ by memory."""
    ui = loc.ui
    brand = rng.choice(("Aurion", "Kestrel", "Novatek", "Lumio", "Stratos", "Vantra"))
    series = rng.choice(("Glide", "Forge", "Air", "Pro", "Vector", "Atlas", "Zen"))
    size = rng.choice((13, 14, 15, 16))
    model = f"{series} {size}{rng.choice('ABGX')}{rng.randint(1, 9)}"
    cpu = rng.choice(
        (
            "Intel Core i5-1335U",
            "Intel Core i7-1360P",
            "AMD Ryzen 5 7530U",
            "AMD Ryzen 7 7840U",
            "Intel Core Ultra 7 155H",
        )
    )
    ram = rng.choice((8, 16, 32))
    storage = rng.choice(("256 GB", "512 GB", "1 TB"))
    colour = _colours(rng, ui, count=1)[0]
    name = f"{brand} {model} {size}\u2033 Laptop – {cpu}, {ram} GB RAM, {storage} SSD"
    specs = (
        (label(ui, "brand"), brand),
        (label(ui, "model"), model),
        (label(ui, "screen"), f"{size}\u2033 ({loc.decimal_text(size * 2.54)} cm)"),
        (label(ui, "processor"), cpu),
        (label(ui, "memory"), f"{ram} GB"),
        (label(ui, "storage"), f"{storage} SSD"),
        (label(ui, "weight"), f"{loc.decimal_text(rng.uniform(1.05, 2.4), places=2)} kg"),
        (label(ui, "os"), rng.choice(("Windows 11 Home", "Windows 11 Pro", "Ubuntu 24.04 LTS"))),
        (label(ui, "colour"), colour),
    )
    return Details(
        name=name,
        brand=brand,
        model=model,
        specs=specs,
        variant_axis=label(ui, "memory"),
        variant_labels=(f"{ram} GB", f"{ram * 2} GB"),
        variant_factors=_factors("1", "1.15"),
    )


def _phone(rng: random.Random, loc: Locale) -> Details:
    """A smartphone; variants differ by storage."""
    ui = loc.ui
    brand = rng.choice(("Orbis", "Pyxel", "Zento", "Mira", "Caldera"))
    model = f"{rng.choice(('One', 'Nova', 'Edge', 'Lite', 'Max', 'Neo'))} {rng.randint(3, 15)}"
    storage = rng.choice((64, 128, 256))
    colour = _colours(rng, ui, count=1)[0]
    name = f"{brand} {model} {storage} GB – {colour}"
    specs = (
        (label(ui, "brand"), brand),
        (label(ui, "model"), model),
        (label(ui, "screen"), f"{loc.decimal_text(rng.uniform(6.0, 6.9))}\u2033 OLED"),
        (label(ui, "storage"), f"{storage} GB"),
        (label(ui, "camera"), f"{rng.choice((48, 50, 64, 108, 200))} MP"),
        (label(ui, "battery"), f"{rng.randint(38, 55) * 100} mAh"),
        (label(ui, "network"), "5G"),
        (label(ui, "colour"), colour),
    )
    return Details(
        name=name,
        brand=brand,
        model=model,
        specs=specs,
        variant_axis=label(ui, "storage"),
        variant_labels=(f"{storage} GB", f"{storage * 2} GB", f"{storage * 4} GB"),
        variant_factors=_factors("1", "1.12", "1.28"),
    )


def _headphones(rng: random.Random, loc: Locale) -> Details:
    """Wireless headphones; variants differ by colour."""
    ui = loc.ui
    brand = rng.choice(("Sonance", "Halcyon", "Beatline", "Quill", "Ostra"))
    model = f"{rng.choice('QHSX')}{rng.randint(10, 99)}{rng.choice(('', ' Pro', ' II', ' Max'))}"
    shape = rng.choice(_HEADPHONE_SHAPES)
    anc = rng.random() < 0.6
    colours = _colours(rng, ui, count=3)
    name = f"{brand} {model} Wireless {shape[0]} Headphones" + (
        " with Noise Cancelling" if anc else ""
    )
    yes, no = _YES_NO[ui]
    specs = (
        (label(ui, "brand"), brand),
        (label(ui, "model"), model),
        (label(ui, "type"), shape[_UI_INDEX[ui]]),
        (label(ui, "noise_cancelling"), yes if anc else no),
        (label(ui, "battery_life"), f"{rng.randint(20, 60)} h"),
        (label(ui, "connectivity"), rng.choice(("Bluetooth 5.3", "Bluetooth 5.3, USB-C"))),
        (label(ui, "weight"), f"{rng.randint(5, 320)} g"),
        (label(ui, "colour"), colours[0]),
    )
    return Details(
        name=name,
        brand=brand,
        model=model,
        specs=specs,
        variant_axis=label(ui, "colour"),
        variant_labels=tuple(colours),
        variant_factors=_factors("1", "1", "1.06"),
    )


def _coffee_machine(rng: random.Random, loc: Locale) -> Details:
    """A coffee machine of one of four kinds; variants differ by colour."""
    ui = loc.ui
    brand = rng.choice(("Crema & Co", "Moka Lab", "Brewell", "Baristo", "Cafetti"))
    model = f"{rng.choice(('Duo', 'Uno', 'Prima', 'Classica', 'Vero'))} {rng.randint(100, 990)}"
    machine_types = (
        ("Espresso Machine", "Machine expresso", "Espressomaschine"),
        ("Bean-to-Cup Machine", "Machine à grain", "Kaffeevollautomat"),
        ("Filter Coffee Maker", "Cafetière filtre", "Filterkaffeemaschine"),
        ("Capsule Machine", "Machine à capsules", "Kapselmaschine"),
    )
    machine = rng.choice(machine_types)
    colours = _colours(rng, ui, count=2)
    specs = (
        (label(ui, "brand"), brand),
        (label(ui, "model"), model),
        (label(ui, "type"), machine[_UI_INDEX[ui]]),
        (label(ui, "pressure"), f"{rng.choice((15, 19, 20))} bar"),
        (label(ui, "tank"), f"{loc.decimal_text(rng.uniform(1.0, 2.2))} L"),
        (label(ui, "power"), f"{rng.randint(12, 17) * 100} W"),
        (label(ui, "colour"), colours[0]),
    )
    return Details(
        name=f"{brand} {model} {machine[0]}",
        brand=brand,
        model=model,
        specs=specs,
        variant_axis=label(ui, "colour"),
        variant_labels=tuple(colours),
        variant_factors=_factors("1", "1.05"),
    )


def _book(rng: random.Random, loc: Locale) -> Details:
    """A book; the brand is its publisher and variants are paperback and hardcover."""
    ui = loc.ui
    publisher = rng.choice(("Northwind Press", "Blue Heron Books", "Atlas & Quill", "Meridian"))
    adjective = rng.choice(("Silent", "Last", "Hidden", "Quiet", "Burning", "Glass", "Northern"))
    noun = rng.choice(("Harbor", "Algorithm", "Garden", "Orchard", "Cartographer", "Winter"))
    author = f"{rng.choice(('Ada', 'Jonas', 'Mira', 'Theo', 'Lena', 'Omar'))} " + rng.choice(
        ("Brandt", "Okafor", "Lindqvist", "Moreau", "Castell", "Hale")
    )
    title = f"The {adjective} {noun}"
    specs = (
        (label(ui, "author"), author),
        (label(ui, "publisher"), publisher),
        (label(ui, "format"), "Paperback"),
        (label(ui, "pages"), str(rng.randint(180, 720))),
        (label(ui, "language"), _BOOK_LANGUAGE[ui]),
        (label(ui, "published"), str(rng.randint(2008, 2024))),
    )
    return Details(
        name=f"{title} – {author} (Paperback)",
        brand=publisher,
        model=title,
        specs=specs,
        variant_axis=label(ui, "format"),
        variant_labels=("Paperback", "Hardcover"),
        variant_factors=_factors("1", "1.6"),
    )


_GENERATORS: dict[str, Callable[[random.Random, Locale], Details]] = {
    LAPTOPS.slug: _laptop,
    PHONES.slug: _phone,
    HEADPHONES.slug: _headphones,
    COFFEE_MACHINES.slug: _coffee_machine,
    BOOKS.slug: _book,
}

_DESCRIPTION: dict[str, tuple[str, str]] = {
    "en": (
        "The {name} by {brand} is a {noun} made for everyday use and built to last. {facts}.",
        "Every order ships from our own warehouse. Returns are free within 30 days "
        "and the manufacturer's warranty applies in full.",
    ),
    "fr": (
        "{name}, de {brand} ({noun}), est pensé pour un usage quotidien et conçu pour durer. "
        "{facts}.",
        "Chaque commande est expédiée depuis notre entrepôt. Retours gratuits sous 30 jours, "
        "garantie constructeur incluse.",
    ),
    "de": (
        "{name} von {brand} ({noun}) ist für den täglichen Gebrauch gemacht und auf "
        "Langlebigkeit ausgelegt. {facts}.",
        "Jede Bestellung wird aus unserem eigenen Lager versandt. Rücksendungen sind 30 Tage "
        "kostenlos, die Herstellergarantie gilt uneingeschränkt.",
    ),
}


def invent(category: Category, *, rng: random.Random, locale: Locale) -> Details:
    """Invent one product of `category`, worded for `locale`."""
    return _GENERATORS[category.slug](rng, locale)


def describe(category: Category, details: Details, *, locale: Locale) -> tuple[str, ...]:
    """Description paragraphs for a product, in its page language."""
    facts = "; ".join(f"{k}: {v}" for k, v in details.specs[2:4])
    first, second = _DESCRIPTION[locale.ui]
    noun = category.noun[_UI_INDEX[locale.ui]]
    return (first.format(name=details.name, brand=details.brand, noun=noun, facts=facts), second)
