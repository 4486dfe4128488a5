"""The jobs API: list with pages and totals, one job with its events, scrape and scrape-all,
cancel (POST and DELETE), cancel-all, retry, statistics and the live SSE stream.

Jobs are created through the API on the app's real engine (the embedded Huey queue, no
consumer), and run, where a test needs them finished, by the worker's own service
(`job_run.run_job`) against the local demo shop.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.demo import DemoShop
from pricewatch.domain.job import JobStatus
from pricewatch.services import job_run, jobs
from tests.db.conftest import make_snapshot

from .conftest import Clients, WebClient
from .test_api_products import product_id, seed

Sessions = sessionmaker[Session]


def create_scrape(client: WebClient, *urls: str) -> list[dict[str, Any]]:
    """Jobs scraping `urls`, created through the API."""
    answer = client.post("/api/jobs", json={"kind": "scrape", "urls": list(urls)})
    assert answer.status_code == 202, answer.text
    created: list[dict[str, Any]] = answer.json()["jobs"]
    return created


def run(clients: Clients, sessions: Sessions, job_id: int) -> JobStatus | None:
    """Run a job to its end as a worker does."""
    outcome = job_run.run_job(
        job_id, settings=clients.context.settings, sessions=sessions, worker_id="test-worker"
    )
    return outcome.status


def sse_events(text: str) -> list[dict[str, Any]]:
    """The events of an SSE body: each with its `event`, `id` and decoded `data`."""
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            if name in ("event", "id"):
                fields[name] = value
            elif name == "data":
                fields["data"] = json.loads(value)
        if "event" in fields:
            events.append(fields)
    return events


# --- create, list, read ------------------------------------------------------------------------


def test_scrape_creates_a_job_per_url_without_a_schedule(authed: WebClient) -> None:
    created = create_scrape(authed, "https://shop.example/a", "https://shop.example/b")
    assert [j["params"] for j in created] == [
        {"url": "https://shop.example/a"},
        {"url": "https://shop.example/b"},
    ]
    assert {j["status"] for j in created} == {"pending"}


def test_scrape_all_records_its_filter(authed: WebClient) -> None:
    body = {
        "kind": "scrape_all",
        "include": {"sources": ["Demo"], "categories": ["Phones"]},
        "exclude": {"products": ["SKU-9"]},
    }
    answer = authed.post("/api/jobs", json=body)
    assert answer.status_code == 202, answer.text
    job = answer.json()["job"]
    assert job["kind"] == "scrape_all"
    assert job["params"] == {
        "filter": {
            "include_sources": ["demo"],
            "include_categories": ["phones"],
            "exclude_products": ["sku-9"],
        }
    }
    assert answer.json()["jobs"] == [job]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "backup"},
        {"kind": "scrape"},
        {"kind": "scrape", "urls": []},
        {"kind": "scrape_all", "include": {"shops": ["x"]}},
        {"kind": "scrape_all", "include": {"sources": "demo"}},
        {"urls": ["https://shop.example/a"]},
        [],
    ],
)
def test_bad_job_requests_are_422(authed: WebClient, body: object) -> None:
    answer = authed.post("/api/jobs", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["status"] == 422
    assert answer.json()["detail"]


def test_scraping_only_refused_urls_is_422(authed: WebClient) -> None:
    answer = authed.post("/api/jobs", json={"kind": "scrape", "urls": ["file:///etc/passwd"]})
    assert answer.status_code == 422
    assert answer.json()["error"] == (
        "No acceptable URL: file:///etc/passwd: file: URLs are not allowed, only http and https"
    )
    assert answer.json()["detail"] == {
        "rejected": [
            {
                "url": "file:///etc/passwd",
                "error": "file: URLs are not allowed, only http and https",
            }
        ]
    }


def test_list_pages_newest_first_with_status_filter_and_totals(authed: WebClient) -> None:
    created = create_scrape(authed, *(f"https://shop.example/{n}" for n in range(5)))
    ids = [j["id"] for j in created]
    authed.post(f"/api/jobs/{ids[1]}/cancel")
    first = authed.get("/api/jobs", params={"limit": 2}).json()
    assert [j["id"] for j in first["items"]] == [ids[4], ids[3]]
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    last = authed.get("/api/jobs", params={"limit": 2, "offset": 4}).json()
    assert [j["id"] for j in last["items"]] == [ids[0]]
    pending = authed.get("/api/jobs", params={"status": "pending"}).json()
    assert pending["total"] == 4
    assert ids[1] not in [j["id"] for j in pending["items"]]
    both = authed.get("/api/jobs", params=[("status", "pending"), ("status", "cancelled")])
    assert both.json()["total"] == 5
    assert authed.get("/api/jobs", params={"offset": 99}).json()["items"] == []


def test_list_filters_by_job_ids_with_the_status_filter(authed: WebClient) -> None:
    created = create_scrape(authed, *(f"https://shop.example/{n}" for n in range(4)))
    ids = [j["id"] for j in created]
    authed.post(f"/api/jobs/{ids[0]}/cancel")
    chosen = [("id", str(ids[0])), ("id", str(ids[2])), ("id", "999999")]
    listed = authed.get("/api/jobs", params=chosen).json()
    assert [j["id"] for j in listed["items"]] == [ids[2], ids[0]]
    assert listed["total"] == 2
    # Which of the jobs a page follows are still active: the cancelled one is not.
    active = [*chosen, ("status", "pending"), ("status", "running")]
    still = authed.get("/api/jobs", params=active).json()
    assert ([j["id"] for j in still["items"]], still["total"]) == ([ids[2]], 1)
    too_many = [("id", str(n)) for n in range(1, 202)]
    assert authed.get("/api/jobs", params=too_many).status_code == 422


@pytest.mark.parametrize(
    "params",
    [{"status": "done"}, {"limit": -1}, {"limit": 500}, {"offset": -1}, {"id": 0}, {"id": "x"}],
)
def test_bad_list_parameters_are_422(authed: WebClient, params: dict[str, object]) -> None:
    assert authed.get("/api/jobs", params=params).status_code == 422


def test_one_job_has_its_last_events(authed: WebClient) -> None:
    (job,) = create_scrape(authed, "https://shop.example/a")
    body = authed.get(f"/api/jobs/{job['id']}").json()
    assert body["id"] == job["id"]
    assert [e["message"] for e in body["events"]] == ["created by api"]
    assert body["events"][0]["level"] == "info"
    assert body["progress"] == {"total": 0, "completed": 0, "current": None}
    assert body["counts"] == {"created": 0, "updated": 0, "deleted": 0, "skipped": 0, "errors": 0}


def test_unknown_jobs_are_404(authed: WebClient) -> None:
    for method, path in [
        ("GET", "/api/jobs/999"),
        ("POST", "/api/jobs/999/cancel"),
        ("DELETE", "/api/jobs/999"),
        ("POST", "/api/jobs/999/retry"),
        ("GET", "/api/jobs/999/stream"),
    ]:
        answer = authed.request(method, path)
        assert answer.status_code == 404, (method, path)
        assert answer.json() == {"error": "No job 999", "status": 404, "detail": None}
    assert authed.get("/api/jobs/0").status_code == 422
    assert authed.get(f"/api/jobs/{2**63}").status_code == 422


# --- cancel and retry --------------------------------------------------------------------------


def test_cancel_then_retry_and_the_conflicts(authed: WebClient, db_sessions: Sessions) -> None:
    first, second = create_scrape(authed, "https://shop.example/a", "https://shop.example/b")
    cancelled = authed.post(f"/api/jobs/{first['id']}/cancel")
    assert cancelled.status_code == 202
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_requested"] is True
    again = authed.delete(f"/api/jobs/{first['id']}")
    assert again.status_code == 409
    assert again.json()["error"] == f"Job {first['id']} is already cancelled"
    assert authed.delete(f"/api/jobs/{second['id']}").json()["status"] == "cancelled"
    retried = authed.post(f"/api/jobs/{first['id']}/retry")
    assert retried.status_code == 202, retried.text
    new = retried.json()["job"]
    assert new["retry_of"] == first["id"]
    assert new["status"] == "pending"
    assert new["params"] == first["params"]
    conflict = authed.post(f"/api/jobs/{new['id']}/retry")
    assert conflict.status_code == 409
    assert "only a failed, partial or cancelled job can be retried" in conflict.json()["error"]


def test_cancel_all_cancels_the_active_jobs(authed: WebClient) -> None:
    created = create_scrape(authed, "https://shop.example/a", "https://shop.example/b")
    authed.post(f"/api/jobs/{created[0]['id']}/cancel")
    answer = authed.post("/api/jobs/cancel-all")
    assert answer.status_code == 200
    assert answer.json() == {"cancelled": [created[1]["id"]]}
    assert authed.post("/api/jobs/cancel-all").json() == {"cancelled": []}


# --- running jobs: product ids, stats, the stream ----------------------------------------------


def test_finished_jobs_show_their_products_and_the_stats(
    authed: WebClient, clients: Clients, db_sessions: Sessions, demo_shop: DemoShop
) -> None:
    good = demo_shop.product_urls(1)[0]
    created = authed.post("/api/products", json={"urls": [good]}).json()["job"]
    (bad,) = create_scrape(authed, demo_shop.url("/gone/nowhere"))
    (cancelled,) = create_scrape(authed, demo_shop.url("/gone/elsewhere"))
    authed.post(f"/api/jobs/{cancelled['id']}/cancel")
    assert run(clients, db_sessions, created["id"]) is JobStatus.SUCCEEDED
    assert run(clients, db_sessions, bad["id"]) is JobStatus.FAILED
    job = authed.get(f"/api/jobs/{created['id']}").json()
    products = authed.get("/api/products").json()["items"]
    assert len(products) == 1
    assert job["product_ids"] == [products[0]["id"]]
    assert products[0]["check_interval_hours"] == 24
    assert products[0]["next_check_at"] is not None
    assert job["counts"]["created"] == 1
    stats = authed.get("/api/jobs/stats").json()
    assert stats["queued"] == 0
    assert stats["running"] == 0
    window = stats["last_24h"]
    assert (window["total"], window["succeeded"], window["failed"]) == (3, 1, 1)
    assert (window["partial"], window["cancelled"]) == (0, 1)
    assert window["success_rate"] == 0.5
    assert 0 < window["average_duration_seconds"] < 30


def test_stats_of_an_empty_queue(authed: WebClient) -> None:
    create_scrape(authed, "https://shop.example/a")
    assert authed.get("/api/jobs/stats").json() == {
        "queued": 1,
        "running": 0,
        "last_24h": {
            "total": 1,
            "succeeded": 0,
            "failed": 0,
            "partial": 0,
            "cancelled": 0,
            "success_rate": None,
            "average_duration_seconds": None,
        },
    }


def test_stream_sends_progress_and_log_lines_until_the_end(
    authed: WebClient, clients: Clients, db_sessions: Sessions, demo_shop: DemoShop
) -> None:
    url = demo_shop.product_urls(1)[0]
    (job,) = create_scrape(authed, url)
    path = f"/api/jobs/{job['id']}/stream"
    pending = clients.portal.start_task_soon(authed.http.get, path)
    time.sleep(0.3)  # the stream is open, the job still pending
    assert run(clients, db_sessions, job["id"]) is JobStatus.SUCCEEDED
    answer = pending.result(timeout=20)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = sse_events(answer.text)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "progress"
    assert events[0]["data"]["status"] == "pending"
    assert kinds[-1] == "end"
    assert events[-1]["data"]["status"] == "succeeded"
    assert "events" not in events[-1]["data"]
    logs = [e for e in events if e["event"] == "log"]
    assert logs[0]["data"]["message"] == "created by api"
    assert any(url in e["data"]["message"] for e in logs)
    assert [int(e["id"]) for e in logs] == [e["data"]["id"] for e in logs]
    assert [e["data"]["id"] for e in logs] == sorted(e["data"]["id"] for e in logs)
    # Reconnecting with Last-Event-ID: only the lines after it, then the end at once.
    resumed = authed.get(path, headers={"Last-Event-ID": logs[0]["id"]})
    again = sse_events(resumed.text)
    assert [e["event"] for e in again] == ["progress"] + ["log"] * (len(logs) - 1) + ["end"]
    assert [e["id"] for e in again if e["event"] == "log"] == [e["id"] for e in logs[1:]]


def test_stream_of_an_ended_job_ends_at_once(authed: WebClient) -> None:
    (job,) = create_scrape(authed, "https://shop.example/a")
    authed.post(f"/api/jobs/{job['id']}/cancel")
    started = time.monotonic()
    events = sse_events(authed.get(f"/api/jobs/{job['id']}/stream").text)
    assert time.monotonic() - started < 2
    assert [e["event"] for e in events] == ["progress", "log", "log", "end"]
    assert events[-1]["data"]["status"] == "cancelled"
    bad_resume = authed.get(f"/api/jobs/{job['id']}/stream", headers={"Last-Event-ID": "x"})
    assert bad_resume.status_code == 200


def test_stream_stops_when_the_client_goes_away(
    app: FastAPI, clients: Clients, authed: WebClient, token: str
) -> None:
    (job,) = create_scrape(authed, "https://shop.example/a")  # never runs: no worker
    path = f"/api/jobs/{job['id']}/stream"
    chunks, seconds = clients.portal.call(_disconnect_after_first_event, app, path, token)
    assert chunks[0].startswith(b"event: progress")
    assert seconds < 3


async def _disconnect_after_first_event(
    app: FastAPI, path: str, token: str
) -> tuple[list[bytes], float]:
    """Call the app as a server would, the client leaving after the first event."""
    chunks: list[bytes] = []
    first = anyio.Event()
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await first.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            chunks.append(message["body"])
            first.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    started = time.monotonic()
    with anyio.fail_after(10):
        await app(scope, receive, send)
    return chunks, time.monotonic() - started


def test_check_now_jobs_name_their_product(authed: WebClient, db_sessions: Sessions) -> None:
    seed(db_sessions, [make_snapshot("C1")])
    pid = product_id(db_sessions, "C1")
    job = authed.post(f"/api/products/{pid}/check").json()["job"]
    assert jobs.get(sessions=db_sessions, job_id=job["id"]).params["product_id"] == pid
    listed = authed.get("/api/jobs").json()["items"]
    assert listed[0]["id"] == job["id"]
    assert listed[0]["product_ids"] == [pid]
