"""The products API: add by URL, list (search, filters, sort, pages), one product, history with
statistics and CSV, scrape log, check now, change, delete; on SQLite and PostgreSQL.

Products are seeded as the app stores them (snapshots through the pipeline); jobs are created
on the app's real job engine (the embedded Huey queue, no consumer: they stay pending).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db.tables import products
from pricewatch.config import Settings
from pricewatch.domain.job import JobKind, JobStatus
from pricewatch.domain.snapshot import Availability, FetchStatus, ProductSnapshot
from pricewatch.services import jobs, pipeline, preferences
from pricewatch.web.api.schemas import PriceHistory
from pricewatch.web.app import create_app
from tests.db.conftest import T0, make_snapshot

from .conftest import Clients, WebClient

Sessions = sessionmaker[Session]


# --- helpers (also used by the other API test modules) -----------------------------------------


def seed(sessions: Sessions, snapshots: list[ProductSnapshot]) -> None:
    """Store snapshots as the workers do."""
    with sessions() as session:
        pipeline.process_batch(snapshots, session=session)


def product_id(sessions: Sessions, reference: str) -> int:
    """The id of the product with this reference."""
    with sessions() as session:
        found = session.execute(
            products.select()
            .with_only_columns(products.c.id)
            .where(products.c.reference == reference)
        ).scalar_one()
    return int(found)


def seed_catalog(sessions: Sessions) -> dict[str, int]:
    """Three products of two sources with a few prices each; their ids by reference.

    PHONE-1: 500.00 then 480.00 (change -20.00), in stock. PHONE-2: 300.00 then 310.00 (+10),
    out of stock. BOOK-1 (other source): one price, 12.50, in stock.
    """
    seed(
        sessions,
        [
            make_snapshot("PHONE-1", at=T0, price="500.00", title="Galaxy Phone", brand="Acme"),
            make_snapshot(
                "PHONE-1",
                at=T0 + timedelta(days=1),
                price="480.00",
                title="Galaxy Phone",
                brand="Acme",
            ),
            make_snapshot("PHONE-2", at=T0, price="300.00", title="pixel phone", brand="Zeta"),
            make_snapshot(
                "PHONE-2",
                at=T0 + timedelta(days=2),
                price="310.00",
                title="pixel phone",
                availability=Availability.OUT_OF_STOCK,
            ),
            make_snapshot(
                "BOOK-1",
                source="bookshop",
                at=T0 + timedelta(hours=3),
                price="12.50",
                title="A Book",
                url="https://books.example/b/1",
            ),
        ],
    )
    return {ref: product_id(sessions, ref) for ref in ("PHONE-1", "PHONE-2", "BOOK-1")}


def ids_of(response_json: dict[str, object]) -> list[int]:
    """The product ids of a list answer, in order."""
    items = response_json["items"]
    assert isinstance(items, list)
    return [int(i["id"]) for i in items]


@contextmanager
def authed_client(app: FastAPI, token: str) -> Iterator[WebClient]:
    """A client of `app` (started on a loop of its own) sending the API token."""
    with start_blocking_portal() as portal, ExitStack() as stack:
        stack.enter_context(portal.wrap_async_context_manager(app.router.lifespan_context(app)))
        yield Clients(app, portal, stack).new(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def authed_down(web_settings: Settings, token: str) -> Iterator[WebClient]:
    """A client with the admin's token, of an app whose broker (Redis) is unreachable."""
    app = create_app(web_settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"}))
    with authed_client(app, token) as client:
        yield client


# --- adding ------------------------------------------------------------------------------------


def test_adding_urls_creates_one_pending_job_per_page_with_the_default_interval(
    authed: WebClient, db_sessions: Sessions
) -> None:
    urls = [
        "https://shop.example/p/1",
        "https://SHOP.example/p/1/?utm_source=x",  # the same page
        "https://shop.example/p/2",
        "ftp://shop.example/p/3",
        "http://10.0.0.5/p/4",
    ]
    answer = authed.post("/api/products", json={"urls": urls})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["accepted"] == ["https://shop.example/p/1", "https://shop.example/p/2"]
    refused = {r["url"]: r["error"] for r in body["rejected"]}
    assert set(refused) == {"ftp://shop.example/p/3", "http://10.0.0.5/p/4"}
    assert "only http and https" in refused["ftp://shop.example/p/3"]
    assert "private address" in refused["http://10.0.0.5/p/4"]
    assert len(body["jobs"]) == 2
    assert body["job"] == body["jobs"][0]
    assert body["message"] is None
    for job, url in zip(body["jobs"], body["accepted"], strict=True):
        assert job["kind"] == "scrape_product"
        assert job["status"] == "pending"
        assert job["triggered_by"] == "api"
        assert job["params"] == {"url": url, "check_interval": 24 * 3600}
        assert job["product_ids"] == []
        stored = jobs.get(sessions=db_sessions, job_id=job["id"])
        assert stored.dispatched_at is not None  # the engine has it


def test_added_products_are_checked_as_often_as_the_preference_says(
    authed: WebClient, db_sessions: Sessions
) -> None:
    preferences.set_default_check_interval(sessions=db_sessions, hours=6)
    answer = authed.post("/api/products", json={"urls": ["https://shop.example/p/1"]})
    assert answer.json()["job"]["params"]["check_interval"] == 6 * 3600


def test_adding_only_refused_urls_is_422_with_every_reason(authed: WebClient) -> None:
    urls = ["http://[::1]/x", "http://192.168.1.1/", "ftp://shop.example/p/3", "not a url"]
    answer = authed.post("/api/products", json={"urls": urls})
    assert answer.status_code == 422
    body = answer.json()
    assert body["status"] == 422
    assert list(body["detail"]) == ["rejected"]
    rejected = body["detail"]["rejected"]
    assert sorted(r["url"] for r in rejected) == sorted(urls)  # every one
    first = rejected[0]
    assert body["error"] == f"No acceptable URL: {first['url']}: {first['error']} (and 3 more)"
    assert all(set(r) == {"url", "error"} and r["error"] for r in rejected)
    reasons = {r["url"]: r["error"] for r in rejected}
    assert reasons["http://[::1]/x"] == "::1 is a loopback address"
    assert "private address" in reasons["http://192.168.1.1/"]
    assert "only http and https" in reasons["ftp://shop.example/p/3"]


def test_other_422s_keep_their_own_detail(authed: WebClient) -> None:
    """Only a refusal of every URL carries `detail.rejected`; a bad body lists field errors."""
    answer = authed.post("/api/products", json={"urls": []})
    assert answer.status_code == 422
    assert isinstance(answer.json()["detail"], list)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"urls": []}, "urls"),
        ({"urls": ["https://shop.example/p/x"] * 501}, "urls"),
        ({"urls": "https://shop.example/p/x"}, "urls"),
        ({"urls": ["https://shop.example/\x00"]}, "urls"),
        ({}, "urls"),
        ({"urls": ["https://shop.example/p/1"], "extra": 1}, "extra"),
    ],
)
def test_bad_add_requests_are_422_naming_the_field(
    authed: WebClient, body: dict[str, object], where: str
) -> None:
    answer = authed.post("/api/products", json=body)
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["status"] == 422
    assert error["error"].startswith("invalid request: body.")
    assert any(where in ".".join(map(str, d["loc"])) for d in error["detail"])


def test_with_the_broker_down_the_job_waits_and_the_answer_says_so(
    authed_down: WebClient, db_sessions: Sessions
) -> None:
    answer = authed_down.post("/api/products", json={"urls": ["https://shop.example/p/1"]})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert "pending" in body["message"]
    assert "dispatched" in body["message"]
    stored = jobs.get(sessions=db_sessions, job_id=body["job"]["id"])
    assert stored.status is JobStatus.PENDING
    assert stored.dispatched_at is None


# --- the list ----------------------------------------------------------------------------------


def test_list_shows_latest_price_change_and_stock_as_decimal_strings(
    authed: WebClient, db_sessions: Sessions
) -> None:
    ids = seed_catalog(db_sessions)
    body = authed.get("/api/products", params={"sort": "title", "order": "asc"}).json()
    assert body["total"] == 3
    assert body["limit"] == 50
    assert body["offset"] == 0
    assert ids_of(body) == [ids["BOOK-1"], ids["PHONE-1"], ids["PHONE-2"]]
    phone1, phone2 = body["items"][1], body["items"][2]
    assert phone1["price"] == "480.00"
    assert phone1["previous_price"] == "500.00"
    assert phone1["change"] == "-20.00"
    assert phone1["currency"] == "EUR"
    assert phone1["availability"] == "in_stock"
    assert phone1["last_checked_at"] == "2026-01-02T12:00:00Z"
    assert phone1["check_interval_hours"] == 24
    assert phone2["change"] == "10.00"
    assert phone2["availability"] == "out_of_stock"
    assert body["items"][0]["change"] is None
    assert body["items"][0]["previous_price"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "PHONE"}, ["PHONE-2", "PHONE-1"]),
        ({"q": "acme"}, ["PHONE-1"]),
        ({"q": "books.example"}, ["BOOK-1"]),
        ({"q": "100%"}, []),
        ({"source": "bookshop"}, ["BOOK-1"]),
        ({"availability": "out_of_stock"}, ["PHONE-2"]),
        ({"availability": "in_stock", "source": "teststore"}, ["PHONE-1"]),
        ({"enabled": "false"}, []),
        ({"sort": "price", "order": "asc"}, ["BOOK-1", "PHONE-2", "PHONE-1"]),
        ({"sort": "price", "order": "desc"}, ["PHONE-1", "PHONE-2", "BOOK-1"]),
        ({"sort": "change", "order": "asc"}, ["PHONE-1", "PHONE-2", "BOOK-1"]),
        ({"sort": "change", "order": "desc"}, ["PHONE-2", "PHONE-1", "BOOK-1"]),
        ({"sort": "last_checked", "order": "desc"}, ["PHONE-2", "PHONE-1", "BOOK-1"]),
        ({"sort": "source", "order": "asc"}, ["BOOK-1", "PHONE-1", "PHONE-2"]),
    ],
)
def test_search_filters_and_sorts(
    authed: WebClient, db_sessions: Sessions, params: dict[str, str], expected: list[str]
) -> None:
    ids = seed_catalog(db_sessions)
    body = authed.get("/api/products", params=params).json()
    assert ids_of(body) == [ids[r] for r in expected]
    assert body["total"] == len(expected)


def test_pages_carry_the_total(authed: WebClient, db_sessions: Sessions) -> None:
    seed(db_sessions, [make_snapshot(f"SKU-{n:02}", title=f"Item {n:02}") for n in range(7)])
    seen = []
    for offset in (0, 3, 6):
        body = authed.get(
            "/api/products", params={"sort": "title", "limit": 3, "offset": offset}
        ).json()
        assert body["total"] == 7
        assert body["limit"] == 3
        assert body["offset"] == offset
        seen += [item["title"] for item in body["items"]]
    assert seen == [f"Item {n:02}" for n in reversed(range(7))]
    assert authed.get("/api/products", params={"offset": 50}).json()["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "cheapest"},
        {"order": "up"},
        {"limit": -1},
        {"limit": 0},
        {"limit": 201},
        {"offset": -5},
        {"availability": "maybe"},
        {"enabled": "perhaps"},
        {"q": "x" * 201},
    ],
)
def test_bad_list_parameters_are_422(authed: WebClient, params: dict[str, object]) -> None:
    answer = authed.get("/api/products", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"].startswith("invalid request: query.")


# --- one product -------------------------------------------------------------------------------


def test_one_product_has_images_specs_and_all_time_stats(
    authed: WebClient, db_sessions: Sessions
) -> None:
    seed(
        db_sessions,
        [
            make_snapshot("P", at=T0, price="10.00", images=("https://img/1.jpg",)),
            make_snapshot(
                "P",
                at=T0 + timedelta(days=1),
                price="30.00",
                images=("https://img/1.jpg", "https://img/2.jpg"),
                specs={"Colour": "red"},
                gtin="4006381333931",
            ),
        ],
    )
    pid = product_id(db_sessions, "P")
    body = authed.get(f"/api/products/{pid}").json()
    assert body["images"] == ["https://img/1.jpg", "https://img/2.jpg"]
    assert body["specs"] == {"Colour": "red"}
    assert body["gtin"] == "4006381333931"
    assert body["stats"] == {
        "currency": "EUR",
        "low": "10.00",
        "low_at": "2026-01-01T12:00:00Z",
        "high": "30.00",
        "high_at": "2026-01-02T12:00:00Z",
        "average": "20.00",
        "observations": 2,
    }


def test_unknown_products_are_404_everywhere(authed: WebClient) -> None:
    for method, path in [
        ("GET", "/api/products/999"),
        ("PATCH", "/api/products/999"),
        ("DELETE", "/api/products/999"),
        ("GET", "/api/products/999/history"),
        ("GET", "/api/products/999/history.csv"),
        ("GET", "/api/products/999/logs"),
        ("POST", "/api/products/999/check"),
    ]:
        body = {"enabled": False} if method == "PATCH" else None
        answer = authed.request(method, path, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json() == {"error": "No product 999", "status": 404, "detail": None}


@pytest.mark.parametrize("bad", ["0", "-1", "abc", str(2**31), "1.5"])
def test_bad_product_ids_are_422(authed: WebClient, bad: str) -> None:
    assert authed.get(f"/api/products/{bad}").status_code == 422


def test_patch_changes_interval_and_enabled_and_moves_the_next_check(
    authed: WebClient, db_sessions: Sessions
) -> None:
    ids = seed_catalog(db_sessions)
    pid = ids["PHONE-1"]
    answer = authed.patch(f"/api/products/{pid}", json={"check_interval_hours": 6})
    assert answer.status_code == 200, answer.text
    assert answer.json()["check_interval_hours"] == 6
    assert answer.json()["enabled"] is True
    assert answer.json()["next_check_at"] is not None
    assert answer.json()["price"] == "480.00"
    off = authed.patch(f"/api/products/{pid}", json={"enabled": False}).json()
    assert off["enabled"] is False
    assert off["check_interval_hours"] == 6
    with db_sessions() as session:
        row = session.execute(products.select().where(products.c.id == pid)).one()
    assert row.check_interval == 6 * 3600
    assert row.enabled is False
    listed = authed.get("/api/products", params={"enabled": "false"}).json()
    assert ids_of(listed) == [pid]
    assert authed.patch(f"/api/products/{pid}", json={}).json()["enabled"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"check_interval_hours": 0},
        {"check_interval_hours": -3},
        {"check_interval_hours": 10**6},
        {"check_interval_hours": "often"},
        {"enabled": "yes please"},
        {"colour": "red"},
    ],
)
def test_bad_patches_are_422(authed: WebClient, db_sessions: Sessions, body: object) -> None:
    pid = seed_catalog(db_sessions)["PHONE-1"]
    answer = authed.patch(f"/api/products/{pid}", json=body)
    assert answer.status_code == 422, answer.text


def test_delete_removes_the_product_and_its_history(
    authed: WebClient, db_sessions: Sessions
) -> None:
    ids = seed_catalog(db_sessions)
    answer = authed.delete(f"/api/products/{ids['PHONE-1']}")
    assert answer.status_code == 204
    assert answer.content == b""
    assert authed.get(f"/api/products/{ids['PHONE-1']}").status_code == 404
    assert authed.get("/api/products").json()["total"] == 2
    assert authed.delete(f"/api/products/{ids['PHONE-1']}").status_code == 404


# --- history -----------------------------------------------------------------------------------


def test_history_is_raw_over_a_month_and_daily_beyond(
    authed: WebClient, db_sessions: Sessions
) -> None:
    snapshots = [
        make_snapshot("H", at=T0 + timedelta(days=d, hours=h), price=f"{100 + d + h}.00")
        for d in range(40)
        for h in (0, 6)
    ]
    seed(db_sessions, snapshots)
    pid = product_id(db_sessions, "H")
    whole = authed.get(f"/api/products/{pid}/history").json()
    assert whole["resolution"] == "day"
    assert PriceHistory.model_validate(whole).model_dump(mode="json") == whole
    assert whole["currency"] == "EUR"
    assert len(whole["points"]) == 40
    assert whole["points"][0] == {
        "at": "2026-01-01T18:00:00Z",
        "price": "106.00",
        "low": "100.00",
        "high": "106.00",
        "currency": "EUR",
        "availability": "in_stock",
        "observations": 2,
    }
    assert whole["stats"]["low"] == "100.00"
    assert whole["stats"]["high"] == "145.00"
    assert whole["stats"]["observations"] == 80
    week = authed.get(
        f"/api/products/{pid}/history",
        params={"from": "2026-01-03T00:00:00Z", "to": "2026-01-05T00:00:00+00:00"},
    ).json()
    assert week["resolution"] == "raw"
    assert [p["price"] for p in week["points"]] == ["102.00", "108.00", "103.00", "109.00"]
    assert week["stats"]["low"] == "102.00"
    assert week["stats"]["average"] == "105.50"
    naive = authed.get(
        f"/api/products/{pid}/history", params={"from": "2026-01-03T00:00:00"}
    ).json()
    assert naive["points"][0]["at"] == "2026-01-03T18:00:00Z"  # by day: the last of the day


def test_history_of_a_product_without_prices_is_empty(
    authed: WebClient, db_sessions: Sessions
) -> None:
    seed(db_sessions, [make_snapshot("NP", price=None)])
    body = authed.get(f"/api/products/{product_id(db_sessions, 'NP')}/history").json()
    assert body["stats"] is None
    assert [p["price"] for p in body["points"]] == [None]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"to": "2026-13-01T00:00:00Z"},
        {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"from": "0001-01-01T00:00:00+05:00"},
    ],
)
def test_bad_history_ranges_are_422(
    authed: WebClient, db_sessions: Sessions, params: dict[str, str]
) -> None:
    pid = seed_catalog(db_sessions)["PHONE-1"]
    answer = authed.get(f"/api/products/{pid}/history", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]


def test_csv_export_lists_every_observation_as_a_download(
    authed: WebClient, db_sessions: Sessions
) -> None:
    pid = seed_catalog(db_sessions)["PHONE-2"]
    answer = authed.get(f"/api/products/{pid}/history.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="pricewatch-product-{pid}-history.csv"'
    )
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows == [
        ["fetched_at", "price", "currency", "availability"],
        ["2026-01-01T12:00:00+00:00", "300.00", "EUR", "in_stock"],
        ["2026-01-03T12:00:00+00:00", "310.00", "EUR", "out_of_stock"],
    ]
    assert Decimal(rows[2][1]) == Decimal("310.00")


# --- scrape log and check now ------------------------------------------------------------------


def test_logs_list_the_products_fetch_attempts_newest_first(
    authed: WebClient, db_sessions: Sessions
) -> None:
    seed(
        db_sessions,
        [
            make_snapshot("L", at=T0),
            make_snapshot(
                "L",
                at=T0 + timedelta(hours=1),
                status=FetchStatus.BLOCKED,
                errors=("captcha page",),
            ),
        ],
    )
    pid = product_id(db_sessions, "L")
    body = authed.get(f"/api/products/{pid}/logs").json()
    assert body["product_id"] == pid
    assert [(e["status"], e["errors"]) for e in body["items"]] == [
        ("blocked", ["captcha page"]),
        ("ok", []),
    ]
    assert body["items"][0]["fetched_at"] == "2026-01-01T13:00:00Z"
    assert len(authed.get(f"/api/products/{pid}/logs", params={"limit": 1}).json()["items"]) == 1
    assert authed.get(f"/api/products/{pid}/logs", params={"limit": 0}).status_code == 422


def test_check_now_creates_a_job_for_the_products_page(
    authed: WebClient, db_sessions: Sessions
) -> None:
    ids = seed_catalog(db_sessions)
    answer = authed.post(f"/api/products/{ids['BOOK-1']}/check")
    assert answer.status_code == 202, answer.text
    job = answer.json()["job"]
    assert job["kind"] == JobKind.SCRAPE_PRODUCT.value
    assert job["params"]["url"] == "https://books.example/b/1"
    assert job["product_ids"] == [ids["BOOK-1"]]
