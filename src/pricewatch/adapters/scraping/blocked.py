"""Block and captcha pages: bot walls that must never be read as a price or a stock-out.

`detect_block(page)` names what it saw ("amazon robot check", "cloudflare challenge", ...) or
returns None. It looks at the title, visible text and a few well-known elements only, so a
normal product page that merely loads a captcha script for its review form is not flagged.
"""

from __future__ import annotations

import re

import lxml.etree

from pricewatch.adapters.scraping.page import Page

# (what, title pattern): a bot wall's <title> says what it is.
_TITLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("amazon robot check", re.compile(r"^robot check$", re.I)),
    ("cloudflare challenge", re.compile(r"attention required!? \| cloudflare", re.I)),
    (
        "cloudflare challenge",
        re.compile(r"^(just a moment|un instant|einen moment)\s*(\.\.\.|…)", re.I),
    ),
    ("ddos-guard challenge", re.compile(r"^ddos-guard$", re.I)),
    ("access denied page", re.compile(r"^access (to this page has been )?denied\b", re.I)),
    ("imperva/distil challenge", re.compile(r"^pardon our interruption", re.I)),
    (
        "captcha page",
        re.compile(
            r"\b(captcha|are you a (ro)?bot|bot (check|verification)|"
            r"human verification|verify you are (a )?human|security check)\b",
            re.I,
        ),
    ),
    ("blocked page", re.compile(r"^(you have been blocked|request blocked|blocked)$", re.I)),
)
# (what, phrase): visible sentences of well-known walls (checked outside scripts only).
_PHRASES: tuple[tuple[str, str], ...] = (
    ("amazon robot check", "Enter the characters you see below"),
    ("amazon robot check", "Type the characters you see in this image"),
    ("amazon robot check", "Sorry, we just need to make sure you're not a robot"),
    ("amazon robot check", "Sorry, we just need to make sure you\u2019re not a robot"),
    ("cloudflare challenge", "Checking your browser before accessing"),
    ("cloudflare challenge", "needs to review the security of your connection"),
    ("perimeterx challenge", "Press & Hold to confirm you are"),
    ("access denied page", "You don't have permission to access"),
    ("imperva/distil challenge", "As you were browsing something about your browser made us think"),
    ("imperva challenge", "Request unsuccessful. Incapsula incident ID"),
    ("captcha page", "please verify you are a human"),
)
# Elements that only bot walls have; trusted when the page has no product markup.
_WALL_ELEMENTS: tuple[tuple[str, lxml.etree.XPath], ...] = (
    (
        "cloudflare challenge",
        lxml.etree.XPath(
            "//*[@id='challenge-form' or @id='cf-challenge-running' or @id='cf-wrapper']"
        ),
    ),
    ("perimeterx challenge", lxml.etree.XPath("//*[@id='px-captcha']")),
    ("datadome challenge", lxml.etree.XPath("//iframe[contains(@src, 'captcha-delivery.com')]")),
    ("imperva challenge", lxml.etree.XPath("//iframe[contains(@src, '_Incapsula_Resource')]")),
)
_CAPTCHA_FORM = lxml.etree.XPath(
    "//form[.//*[contains(@class, 'g-recaptcha') or contains(@class, 'h-captcha')"
    " or contains(@class, 'cf-turnstile') or contains(@name, 'captcha')"
    " or contains(@id, 'captcha')]]"
)
_TEXT_WITH = lxml.etree.XPath(
    "//text()[contains(., $phrase)][not(ancestor::script or ancestor::style)]"
)
_PRODUCT_MARKUP = ("schema.org/Product", '"Product"', "product:price", "og:price")
# A wall's own text is short; long pages are real content even when they embed a captcha.
_SMALL_PAGE = 60_000
_WALL_TEXT_LIMIT = 150_000


def detect_block(page: Page) -> str | None:
    """What kind of bot wall or captcha `page` is, or None for an ordinary page."""
    return _by_title(page) or _by_phrase(page) or _by_element(page)


def _by_title(page: Page) -> str | None:
    title = page.title_tag or ""
    for what, pattern in _TITLES:
        if pattern.search(title):
            return f"{what} (title {title[:60]!r})"
    return None


def _by_phrase(page: Page) -> str | None:
    # Forms are indexed with the page's few other tags: no scan of the text or the tree.
    if any("validateCaptcha" in (form.get("action") or "") for form in page.elements("form")):
        return "amazon robot check (captcha form)"
    if len(page.text) > _WALL_TEXT_LIMIT:
        return None  # walls are small pages; a long page is content that may quote them
    for what, phrase in _PHRASES:
        if phrase in page.text and _TEXT_WITH(page.tree, phrase=phrase):
            return f"{what} (text {phrase!r})"
    return None


def _by_element(page: Page) -> str | None:
    if len(page.text) > _SMALL_PAGE or any(marker in page.text for marker in _PRODUCT_MARKUP):
        return None
    for what, xpath in _WALL_ELEMENTS:
        if xpath(page.tree):
            return f"{what} (element)"
    if "captcha" in page.text.lower() and _CAPTCHA_FORM(page.tree):
        return "captcha page (captcha form on a page without product data)"
    return None
