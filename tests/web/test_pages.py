"""The server-rendered pages through httpx's ASGI transport (no browser): who may see them, what
they show, that user content is escaped, and that they load nothing from elsewhere.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import job_repository as job_repo
from pricewatch.domain.job import JobKind, JobStatus
from pricewatch.domain.snapshot import Availability, FetchStatus, ProductSnapshot
from pricewatch.services import catalog, jobs, pipeline
from pricewatch.web.pages import format
from tests.db.conftest import make_snapshot
from tests.jobs.conftest import FakeEngine
from tests.web.conftest import Account, WebClient

Sessions = sessionmaker[Session]

NOW = datetime.now(UTC).replace(microsecond=0)
PAGES = ("/", "/jobs")


def seed(db_sessions: Sessions, *snapshots: ProductSnapshot) -> None:
    """Save snapshots as the worker would."""
    with db_sessions() as session:
        pipeline.process_batch(list(snapshots), session=session)


def product_id(client: WebClient, title: str) -> int:
    """The id of the product titled `title`, read from the dashboard's links."""
    page = client.get("/", params={"q": title}).text
    match = re.search(r'<a class="title" href="/products/(\d+)">', page)
    assert match, page
    return int(match.group(1))


def tracked(db_sessions: Sessions, reference: str = "SKU-1", **fields: Any) -> None:
    """A product seen three times over the last days: 24.99, 21.50, then 19.99 EUR."""
    for days, price in ((3, "24.99"), (2, "21.50"), (0, "19.99")):
        at = NOW - timedelta(days=days, minutes=5)
        seed(db_sessions, make_snapshot(reference, at=at, price=price, **fields))


class Resources(HTMLParser):
    """What a page loads (scripts, stylesheets, icons) and anything the CSP would block."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self._in_script = True
            if "src" not in found:
                self.inline.append("<script> without src")
            else:
                self.loads.append(found["src"] or "")
        if tag == "link":
            self.loads.append(found.get("href") or "")
        if tag == "style":
            self.inline.append("<style>")
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"{tag} {name}=")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("inline script code")


def resources(html: str) -> Resources:
    parser = Resources()
    parser.feed(html)
    return parser


# --- who sees the pages ------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/jobs/1", "/products/1"])
def test_pages_send_a_logged_out_visitor_to_the_login(
    client: WebClient, admin: Account, path: str
) -> None:
    answer = client.get(path)
    assert answer.status_code in (302, 303, 307)
    assert answer.headers["location"].startswith("/login")


def test_pages_send_the_first_visitor_to_the_setup(client: WebClient) -> None:
    answer = client.get("/")
    assert answer.status_code in (302, 303, 307)
    assert answer.headers["location"].startswith("/setup")


# --- dashboard ---------------------------------------------------------------------------------


def test_a_new_user_sees_the_empty_state_with_the_add_form(logged_in: WebClient) -> None:
    page = logged_in.get("/")
    assert page.status_code == 200
    assert "Track your first product" in page.text
    assert 'id="add-products"' in page.text
    assert '<label for="add-urls">' in page.text
    assert f'<meta name="csrf-token" content="{logged_in.csrf_token}">' in page.text


def test_dashboard_shows_price_change_stock_and_sparkline(
    logged_in: WebClient, db_sessions: Sessions
) -> None:
    tracked(db_sessions, title="Espresso machine", images=("https://img.example/espresso.jpg",))
    page = logged_in.get("/").text
    assert ">Espresso machine</a>" in page
    assert "€19.99" in page
    # 21.50 -> 19.99: down, as colour and arrow, and in words for screen readers.
    assert 'class="change down"' in page
    assert "−€1.51 (−7.0%)" in page
    assert "down €1.51, 7.0 percent" in page
    assert '<span class="badge in_stock">In stock</span>' in page
    assert re.search(r'<svg class="sparkline"[^>]*aria-label="Price over the last 30 days', page)
    assert 'src="https://img.example/espresso.jpg"' in page
    assert "1 product" in page


def test_main_images_are_each_products_first_image_in_one_read(db_sessions: Sessions) -> None:
    tracked(
        db_sessions, "SKU-1", images=("https://img.example/z-main.jpg", "https://img.example/a.jpg")
    )
    tracked(db_sessions, "SKU-2", images=("https://img.example/b.jpg",))
    tracked(db_sessions, "SKU-3", images=())
    page = catalog.list_products(sessions=db_sessions, query=catalog.ProductQuery(sort="title"))
    ids = {item.product.reference: item.product.id for item in page.items}
    images = catalog.main_images(sessions=db_sessions, product_ids=list(ids.values()))
    assert images == {
        ids["SKU-1"]: "https://img.example/z-main.jpg",  # by position, not by name
        ids["SKU-2"]: "https://img.example/b.jpg",
    }
    assert catalog.main_images(sessions=db_sessions, product_ids=[]) == {}
    assert catalog.main_images(sessions=db_sessions, product_ids=[ids["SKU-3"]]) == {}


def test_dashboard_searches_sorts_and_pages_through_the_query_string(
    logged_in: WebClient, db_sessions: Sessions
) -> None:
    seed(
        db_sessions,
        *(
            make_snapshot(f"SKU-{n:02}", at=NOW - timedelta(hours=n), title=f"Kettle {n:02}")
            for n in range(30)
        ),
        make_snapshot("TOASTER", at=NOW, title="Toaster deluxe", price="49.00"),
    )
    found = logged_in.get("/", params={"q": "toaster"}).text
    assert "Toaster deluxe" in found
    assert "Kettle" not in found
    first = logged_in.get("/", params={"sort": "title"}).text
    assert first.index("Kettle 00") < first.index("Kettle 01")
    assert "Page 1 of 2" in first
    assert 'href="/?sort=title&amp;page=2"' in first
    second = logged_in.get("/", params={"sort": "title", "page": "2"}).text
    assert "Toaster deluxe" in second
    assert "26–31 of 31" in second


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "nonsense", "order": "sideways"},
        {"page": "-3"},
        {"page": "99999999999999999999"},
        {"availability": "<script>"},
        {"q": "x" * 5000},
    ],
)
def test_dashboard_takes_bad_query_values_as_defaults(
    logged_in: WebClient, params: dict[str, str]
) -> None:
    page = logged_in.get("/", params=params)
    assert page.status_code == 200
    assert "<script>" not in page.text.split("<main", 1)[1].replace('<script type="module"', "")


# --- product page ------------------------------------------------------------------------------


def test_product_page_shows_stats_chart_specs_images_and_log(
    logged_in: WebClient, db_sessions: Sessions
) -> None:
    tracked(
        db_sessions,
        title="Espresso machine",
        brand="Brewco",
        images=("https://img.example/a.jpg", "https://img.example/b.jpg"),
        specs={"Pressure": "15 bar"},
    )
    pid = product_id(logged_in, "Espresso machine")
    page = logged_in.get(f"/products/{pid}")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Espresso machine</h1>" in html
    assert "Brewco" in html
    for text in ("Lowest", "€19.99", "Highest", "€24.99", "Average", "€22.16"):
        assert text in html
    assert f'id="chart" data-product-id="{pid}" data-currency="EUR"' in html
    assert 'data-range="30"' in html
    assert 'data-range="all"' in html
    assert "<dt>Pressure</dt><dd>15 bar</dd>" in html
    assert 'src="https://img.example/b.jpg"' in html
    assert 'id="check-now"' in html
    assert html.count('<span class="badge succeeded">Ok</span>') == 3


def test_unknown_product_and_job_ids_get_the_404_page(logged_in: WebClient) -> None:
    for path in (
        "/products/999",
        "/products/abc",
        "/products/" + "9" * 30,
        "/jobs/999",
        "/jobs/-1",
    ):
        page = logged_in.get(path)
        assert page.status_code == 404, path
        assert "Nothing here" in page.text
        assert 'href="/"' in page.text


# --- jobs --------------------------------------------------------------------------------------


def test_jobs_console_and_job_page_show_progress_and_log(
    logged_in: WebClient, db_sessions: Sessions
) -> None:
    created = jobs.create_job(
        sessions=db_sessions,
        engine=FakeEngine(),
        kind=JobKind.SCRAPE_PRODUCT,
        params={"url": "https://shop.example/p/1"},
    )
    console = logged_in.get("/jobs").text
    assert f'data-job-id="{created.job_id}" data-status="pending"' in console
    assert "Check product" in console
    assert "https://shop.example/p/1" in console
    assert 'data-action="cancel"' in console
    assert 'data-stat="queued">1<' in console
    detail = logged_in.get(f"/jobs/{created.job_id}").text
    assert f"<h1>Job #{created.job_id} · Check product</h1>" in detail
    assert "created by manual" in detail
    assert '<progress class="progress pending large" max="100" value="0"' in detail


def test_the_console_says_why_a_job_failed(logged_in: WebClient, db_sessions: Sessions) -> None:
    created = jobs.create_job(
        sessions=db_sessions,
        engine=FakeEngine(),
        kind=JobKind.SCRAPE_PRODUCT,
        params={"url": "https://shop.example/gone"},
    )
    why = "not_found: HTTP 404: the page does not exist"
    with db_sessions() as session:
        now = datetime.now(UTC)
        assert job_repo.claim_job(session=session, job_id=created.job_id, worker_id="w", now=now)
        finished = job_repo.finish_job(
            session=session,
            job_id=created.job_id,
            worker_id="w",
            status=JobStatus.FAILED,
            now=now,
            error=why,
        )
        assert finished
        session.commit()
    console = logged_in.get("/jobs").text
    assert f'<div class="job-error" title="{why}">{why}</div>' in console


def test_an_empty_jobs_console_says_so(logged_in: WebClient) -> None:
    page = logged_in.get("/jobs").text
    assert "No jobs yet" in page


# --- safety ------------------------------------------------------------------------------------


def test_user_content_is_escaped(logged_in: WebClient, db_sessions: Sessions) -> None:
    title = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
    seed(
        db_sessions,
        make_snapshot(
            "EVIL",
            at=NOW,
            title=title,
            specs={"<b>key</b>": "<i>value</i>"},
            errors=("<script>bad()</script>",),
            status=FetchStatus.OK,
        ),
    )
    pid = product_id(logged_in, "pwned")
    for path in ("/", f"/products/{pid}"):
        html = logged_in.get(path).text
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in html
        assert "<img src=x" not in html
    product = logged_in.get(f"/products/{pid}").text
    assert "&lt;b&gt;key&lt;/b&gt;" in product


def test_pages_load_nothing_from_elsewhere_and_nothing_inline(
    logged_in: WebClient, db_sessions: Sessions
) -> None:
    tracked(db_sessions, images=("https://img.example/a.jpg",))
    pid = product_id(logged_in, "SKU-1")
    job = jobs.create_job(
        sessions=db_sessions, engine=FakeEngine(), kind=JobKind.SCRAPE_ALL, params={}
    )
    paths = [*PAGES, f"/products/{pid}", f"/jobs/{job.job_id}", "/products/404"]
    for path in paths:
        found = resources(logged_in.get(path).text)
        assert found.inline == [], path
        assert found.loads, path
        for url in found.loads:
            assert url.startswith("/static/"), (path, url)
            assert logged_in.get(url).status_code == 200, url
    assert logged_in.get("/docs").status_code == 404


def test_every_script_a_page_imports_is_served(logged_in: WebClient) -> None:
    seen: set[str] = set()
    queue = ["/static/app.js", "/static/dashboard.js", "/static/console.js", "/static/job.js"]
    queue += ["/static/chart.js", "/static/product.js"]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = logged_in.get(path)
        assert answer.status_code == 200, path
        assert "javascript" in answer.headers["content-type"]
        assert "http://" not in answer.text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in answer.text
        queue += [f"/static/{name}" for name in re.findall(r'from "\./([\w-]+\.js)"', answer.text)]
    assert "/static/jobs-common.js" in seen


# --- formatting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("1226.5", "EUR", "€1,226.50"),
        ("12", "CHF", "CHF\u00a012.00"),
        ("1200", "JPY", "¥1,200"),
        (None, "EUR", "—"),
        ("3.455", None, "3.46"),
    ],
)
def test_money_shows_the_currency(amount: str | None, currency: str | None, shown: str) -> None:
    assert format.money(amount, currency) == shown


def test_relative_times_read_naturally() -> None:
    now = datetime(2026, 1, 10, 12, tzinfo=UTC)
    assert format.relative_time(now - timedelta(seconds=10), now) == "just now"
    assert format.relative_time(now - timedelta(minutes=1), now) == "1 minute ago"
    assert format.relative_time(now - timedelta(hours=5), now) == "5 hours ago"
    assert format.relative_time(now + timedelta(days=2), now) == "in 2 days"
    assert format.relative_time(None, now) == "never"


def test_change_and_stock_labels() -> None:
    up = format.change("11.00", "10.00", "USD")
    assert up is not None
    assert (up.direction, up.text) == ("up", "+$1.00 (+10.0%)")
    assert format.change("10", "10", "USD") == format.Change("same", "→", "no change", "no change")
    assert format.change(None, "10", "USD") is None
    assert format.label(Availability.OUT_OF_STOCK.value) == "Out of stock"
    assert format.web_url("javascript:alert(1)") == "#"
