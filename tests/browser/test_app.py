"""The pages in a real browser against the real app (web process, worker, demo shop): first
start (the `admin` fixture), adding products, the jobs console, the product chart after a
second check, cancelling a long scrape-all.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from pricewatch.config import DbSettings, Settings
from pricewatch.demo import DemoShop, ManualClock, Product
from pricewatch.services import pipeline
from pricewatch.services.jobs import open_sessions
from tests.browser.conftest import ADMIN, PASSWORD, AppServer, Console
from tests.jobs.conftest import catalog_snapshot

#: The dashboard's URL field (its label differs between the empty state and the list).
ADD_FIELD = re.compile("Add products|Paste product page URLs")
#: Milliseconds a job of the demo shop's ordinary pages may take in these tests.
JOB_TIMEOUT_MS = 20_000


def job_ids_in_toast(page: Page) -> list[int]:
    """The ids of the jobs the latest toast links to."""
    toast = page.locator("#toasts .toast").last
    expect(toast).to_contain_text("created")
    links = toast.locator("a[href^='/jobs/']")
    hrefs = links.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    return [int(href.rsplit("/", 1)[1]) for href in hrefs]


def add_products(page: Page, urls: list[str]) -> list[int]:
    """Add products through the dashboard's form; the ids of the jobs created."""
    page.goto("/")
    page.get_by_role("textbox", name=ADD_FIELD).fill("\n".join(urls))
    page.get_by_role("button", name="Add products").click()
    return job_ids_in_toast(page)


def csrf_token(page: Page) -> str:
    """The session's CSRF token, as the page's scripts send it."""
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    return token


def api_json(page: Page, path: str) -> Any:
    """GET an /api path with the page's session."""
    answer = page.request.get(path)
    assert answer.ok, answer.text()
    return answer.json()


def wait_for_job(page: Page, job_id: int, timeout: float = JOB_TIMEOUT_MS / 1000) -> dict[str, Any]:
    """The job once it has ended (through the API, as the page's user)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = api_json(page, f"/api/jobs/{job_id}")
        if job["status"] not in ("pending", "running"):
            return job
        time.sleep(0.2)
    pytest.fail(f"job {job_id} did not end within {timeout} s")


def moving_product(shop: DemoShop, clock: ManualClock, skip: int) -> tuple[Product, float]:
    """A product of the shop whose price changes when the clock moves by the returned seconds."""
    now = clock()
    for product in shop.catalog.products[skip:]:
        before = shop.catalog.state(product, at=now).price
        for days in range(1, 30):
            if shop.catalog.state(product, at=now + days * 86400).price != before:
                return product, days * 86400.0
    pytest.fail("no product of the demo shop changes price within 30 days")


def test_add_two_products_and_watch_the_jobs_reach_100_percent(
    page: Page, shop: DemoShop, console: Console
) -> None:
    urls = [shop.product_url(p) for p in shop.catalog.products[:2]]
    job_ids = add_products(page, urls)
    assert len(job_ids) == 2
    expect(page.locator("#add-status")).to_contain_text("2 added")

    page.locator("#toasts a", has_text=f"Job #{job_ids[0]}").click()
    expect(page).to_have_url(re.compile(f"/jobs/{job_ids[0]}$"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    for job_id in job_ids:
        row = page.locator(f'tr[data-job-id="{job_id}"]')
        expect(row).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
        expect(row.locator("progress")).to_have_attribute("value", "100")
    expect(page.locator('[data-stat="total"]')).not_to_have_text("—")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    for job_id in job_ids:
        (product_id,) = api_json(page, f"/api/jobs/{job_id}")["product_ids"]
        expect(page.locator(f'a.title[href="/products/{product_id}"]')).to_be_visible()
    assert console.errors == []


def test_the_list_shows_new_products_as_their_checks_end_without_a_reload(
    page: Page, shop: DemoShop, console: Console
) -> None:
    (first,) = add_products(page, [shop.product_url(shop.catalog.products[-1])])
    wait_for_job(page, first)
    page.goto("/")  # the list exists now (the empty dashboard has none to refresh)
    page.evaluate("window.stillTheSamePage = true")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/jobs" in r.url else None)
    page.get_by_role("textbox", name=ADD_FIELD).fill(shop.product_url(shop.catalog.products[-2]))
    page.get_by_role("button", name="Add products").click()
    (job_id,) = job_ids_in_toast(page)
    (product_id,) = wait_for_job(page, job_id)["product_ids"]
    row = page.locator(f'#product-list a.title[href="/products/{product_id}"]')
    expect(row).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#toasts .toast").last).to_contain_text("The product was checked.")
    assert page.evaluate("window.stillTheSamePage") is True
    # The page asks which of its jobs are still active in one request per round, by id.
    assert asked
    assert all(re.search(rf"/api/jobs\?.*\bid={job_id}\b", url) for url in asked), asked
    total = api_json(page, "/api/products")["total"]
    expect(page.locator("#products-count")).to_contain_text(f"{total} product")
    assert console.errors == []


def test_the_console_shows_why_a_check_failed(page: Page, shop: DemoShop, console: Console) -> None:
    page.goto("/jobs")  # the console is open before the job exists: its row comes live
    expect(page.locator("#jobs-table")).to_be_attached()
    missing = shop.url("/p/no-such-product")
    answer = page.request.post(
        "/api/products",
        data={"urls": [missing]},
        headers={"X-CSRF-Token": csrf_token(page)},
    )
    assert answer.ok, answer.text()
    job_id = answer.json()["job"]["id"]
    row = page.locator(f'tr[data-job-id="{job_id}"]')
    expect(row).to_have_attribute("data-status", "failed", timeout=JOB_TIMEOUT_MS)
    expect(row.locator(".job-error")).to_contain_text("not_found: HTTP 404")
    assert console.errors == []


def test_rejected_urls_are_listed_with_their_reason(page: Page) -> None:
    page.goto("/")
    page.get_by_role("textbox", name=ADD_FIELD).fill("not a url\nftp://example.com/x")
    page.get_by_role("button", name="Add products").click()
    error = page.locator("#add-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(re.compile("no acceptable URL", re.I))
    expect(error).to_contain_text("not a url")
    # Every refused URL is listed with its reason (the 422's detail.rejected).
    listed = error.locator("ul.rejected li")
    expect(listed).to_have_count(2)
    expect(listed.nth(1)).to_contain_text("ftp://example.com/x")
    expect(listed.nth(1)).to_contain_text("only http and https")
    expect(page.get_by_role("textbox", name=ADD_FIELD)).to_be_focused()


def test_product_chart_has_two_points_after_a_second_check(
    page: Page, shop: DemoShop, shop_clock: ManualClock, console: Console
) -> None:
    product, step = moving_product(shop, shop_clock, skip=2)
    (job_id,) = add_products(page, [shop.product_url(product)])
    (product_id,) = wait_for_job(page, job_id)["product_ids"]
    page.goto(f"/products/{product_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(product.model)
    points = page.locator("#chart circle.point")
    expect(points).to_have_count(1)

    shop_clock.advance(step)
    new_price = shop.state(product).price
    page.get_by_role("button", name="Check now").click()
    expect(page.locator("#toasts")).to_contain_text("Checking now")
    expect(points).to_have_count(2, timeout=JOB_TIMEOUT_MS)
    prices = points.evaluate_all("ps => ps.map(p => p.dataset.price)")
    assert prices[-1] == str(new_price)
    assert len(set(prices)) == 2

    # Hover and keyboard both show the exact price and date.
    box = page.locator("#chart svg").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 30, box["y"] + box["height"] / 2)
    tip = page.locator(".chart-tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text(re.compile(r"\d"))
    page.locator("#chart svg").focus()
    page.keyboard.press("Home")
    expect(page.locator("#chart circle.point.active")).to_have_attribute("data-price", prices[0])
    strip = page.locator("#chart .stock-strip rect")
    expect(strip.first).to_have_class(re.compile("in_stock|out_of_stock|preorder|unknown"))

    page.get_by_role("button", name="1M").click()
    expect(page.get_by_role("button", name="1M")).to_have_attribute("aria-pressed", "true")
    expect(points).to_have_count(2)
    assert console.errors == []


def test_cancel_a_long_scrape_all_from_the_console(
    page: Page, shop: DemoShop, app_server: AppServer
) -> None:
    seed_slow_products(shop, app_server.data_dir, count=40)
    page.goto("/jobs")
    page.get_by_role("button", name="Scrape all").click()
    (job_id,) = job_ids_in_toast(page)
    row = page.locator(f'tr[data-job-id="{job_id}"]')
    expect(row).to_have_attribute("data-status", "running", timeout=JOB_TIMEOUT_MS)
    expect(row.locator(".progress-text")).to_contain_text(re.compile(r"of \d+"))

    started = time.monotonic()
    row.get_by_role("button", name="Cancel").click()
    expect(row).to_have_attribute("data-status", "cancelled", timeout=5_000)
    assert time.monotonic() - started < 5
    expect(row.get_by_role("button", name="Retry")).to_be_visible()


def seed_slow_products(shop: DemoShop, data_dir: Path, count: int) -> None:
    """`count` products whose pages answer after a few seconds, straight into the app's database."""
    database = DbSettings(url=f"sqlite:///{data_dir / 'pricewatch.db'}")
    settings = Settings(data_dir=data_dir, db=database)
    snapshots = [
        catalog_snapshot(shop, f"/slow?delay=4&sku={p.sku}", reference=f"SLOW-{p.sku}")
        for p in shop.catalog.products[10 : 10 + count]
    ]
    with open_sessions(settings) as sessions, sessions() as session:
        pipeline.process_batch(snapshots, session=session)


def test_unknown_product_shows_the_404_page(page: Page) -> None:
    answer = page.goto("/products/987654")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("heading", name="Nothing here")).to_be_visible()


def test_login_is_needed_and_returns_to_the_page_asked_for(
    page_factory: Callable[[str], Page], app_server: AppServer, admin: str
) -> None:
    page = page_factory(app_server.url)
    page.goto("/jobs")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/jobs$"))


def test_a_new_token_is_copied_and_revoked_only_once_confirmed(
    page: Page, console: Console
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/settings")
    page.locator("#token-name").fill("backup script")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("pw_")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied ✓")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token

    row = page.locator("#tokens-table tbody tr", has_text="backup script")
    dialog = page.locator("#confirm-dialog")
    row.get_by_role("button", name="Revoke").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Keep").click()
    expect(dialog).to_be_hidden()
    expect(row.locator(".badge")).to_have_text("active")  # nothing was sent
    row.get_by_role("button", name="Revoke").click()
    dialog.get_by_role("button", name="Revoke").click()
    expect(
        page.locator("#tokens-table tbody tr", has_text="backup script").locator(".badge")
    ).to_have_text("revoked")
    assert console.errors == []
