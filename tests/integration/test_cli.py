"""`pricewatch run` and `pricewatch extract` as a user runs them, against the local demo shop."""

from __future__ import annotations

import gzip
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pricewatch.cli import app
from pricewatch.demo import DemoShop, PageKind

runner = CliRunner()


@pytest.fixture(autouse=True)
def _local_shop_allowed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The demo shop is on 127.0.0.1, which the SSRF guard refuses unless allow-listed."""
    monkeypatch.setenv("PW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PW_FETCH_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv("PW_BROWSER_MODE", "never")
    monkeypatch.setenv("PW_FETCH_BACKOFF_BASE", "0.05")


def _product(shop: DemoShop, kind: PageKind) -> tuple[str, str]:
    product = shop.catalog.of_kind(kind)[0]
    state = shop.state(product)
    return shop.product_url(product), format(state.price, "f")


def test_run_prints_a_json_array_of_snapshots(demo_shop: DemoShop) -> None:
    url_a, price_a = _product(demo_shop, PageKind.JSONLD)
    url_b, price_b = _product(demo_shop, PageKind.MICRODATA)
    result = runner.invoke(app, ["run", url_a, url_b])
    assert result.exit_code == 0, result.output
    snapshots = json.loads(result.stdout)
    assert [s["url"] for s in snapshots] == [url_a, url_b]
    assert [s["price"] for s in snapshots] == [price_a, price_b]
    assert all(s["fetch"]["status"] == "ok" for s in snapshots)


def test_run_writes_jsonl_to_a_file(demo_shop: DemoShop, tmp_path: Path) -> None:
    url, price = _product(demo_shop, PageKind.OPENGRAPH)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["run", url, "--out", str(out), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["price"] == price


def test_failed_urls_give_exit_1_and_one_line_each(demo_shop: DemoShop) -> None:
    good, _ = _product(demo_shop, PageKind.JSONLD)
    missing = demo_shop.url("/p/no-such-product")
    robot = demo_shop.url("/robot-check")
    result = runner.invoke(app, ["run", good, missing, robot])
    assert result.exit_code == 1
    statuses = [s["fetch"]["status"] for s in json.loads(result.stdout)]
    assert statuses == ["ok", "not_found", "blocked"]
    failed = [line for line in result.stderr.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 2
    assert missing in failed[0]
    assert robot in failed[1]
    assert "2 of 3 URL(s) failed" in result.stderr


def test_private_addresses_are_refused_without_the_allow_list(
    demo_shop: DemoShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PW_FETCH_ALLOW_HOSTS", "")
    url, _ = _product(demo_shop, PageKind.JSONLD)
    result = runner.invoke(app, ["run", url, "file:///etc/passwd"])
    assert result.exit_code == 1
    snapshots = json.loads(result.stdout)
    assert all(s["fetch"]["status"] == "error" for s in snapshots)
    assert "127.0.0.1" in snapshots[0]["fetch"]["errors"][0]
    assert all(s["price"] is None for s in snapshots)


def test_run_reads_a_yaml_list(demo_shop: DemoShop, tmp_path: Path) -> None:
    url, price = _product(demo_shop, PageKind.AMAZON_LIKE)
    runlist = tmp_path / "urls.yaml"
    runlist.write_text(f"defaults:\n  browser: never\nurls:\n  - url: {url}\n")
    result = runner.invoke(app, ["run", "--yaml", str(runlist)])
    assert result.exit_code == 0, result.output
    (snapshot,) = json.loads(result.stdout)
    assert snapshot["price"] == price
    assert snapshot["source"] == "amazon"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no URLs given"),
        (["--yaml", "/nonexistent/urls.yaml"], "cannot read"),
        (["https://a.example", "--browser", "sometimes"], "--browser must be"),
    ],
)
def test_bad_input_is_a_clear_error(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["run", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_invalid_settings_are_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PW_FETCH_MAX_BYTES", "lots")
    result = runner.invoke(app, ["run", "https://a.example/"])
    assert result.exit_code == 2
    assert "invalid settings" in result.stderr


def test_extract_reads_a_saved_gzipped_page(demo_shop: DemoShop, tmp_path: Path) -> None:
    import httpx

    url, price = _product(demo_shop, PageKind.JSONLD_GROUP)
    saved = tmp_path / "page.html.gz"
    saved.write_bytes(gzip.compress(httpx.get(url).content))
    result = runner.invoke(app, ["extract", str(saved), "--url", url])
    assert result.exit_code == 0, result.output
    snapshot = json.loads(result.stdout)
    assert snapshot["price"] == price
    assert snapshot["fetch"]["method"] == "file"


def test_extract_refuses_a_corrupt_gzip(tmp_path: Path) -> None:
    saved = tmp_path / "page.html.gz"
    saved.write_bytes(b"not gzip at all")
    result = runner.invoke(app, ["extract", str(saved), "--url", "https://a.example/"])
    assert result.exit_code == 2
    assert "not a valid gzip file" in result.stderr


def _rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(sql).fetchall()


def test_run_saves_to_the_embedded_database_by_default(demo_shop: DemoShop, tmp_path: Path) -> None:
    url, _ = _product(demo_shop, PageKind.JSONLD)
    result = runner.invoke(app, ["run", url, demo_shop.url("/robot-check")])
    assert result.exit_code == 1
    assert "Saved 2 snapshot(s)" in result.stderr
    database = tmp_path / "data" / "pricewatch.db"
    assert _rows(database, "SELECT count(*) FROM price_history") == [(1,)]
    assert _rows(database, "SELECT fetch_status FROM scraping_logs ORDER BY fetch_status") == [
        ("blocked",),
        ("ok",),
    ]


def test_no_db_writes_nothing(demo_shop: DemoShop, tmp_path: Path) -> None:
    url, _ = _product(demo_shop, PageKind.JSONLD)
    result = runner.invoke(app, ["run", url, "--no-db"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "data").exists()


def test_a_database_that_is_down_spools_and_replays(
    demo_shop: DemoShop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, price = _product(demo_shop, PageKind.JSONLD)
    monkeypatch.setenv("PW_DB_URL", "postgresql+psycopg://postgres@127.0.0.1:9/none")
    result = runner.invoke(app, ["run", url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["price"] == price
    assert "could not be saved" in result.stderr
    assert "pricewatch db replay-spool" in result.stderr
    spool = tmp_path / "data" / "spool.jsonl"
    assert len(spool.read_text().splitlines()) == 1

    database = tmp_path / "back.db"
    monkeypatch.setenv("PW_DB_URL", f"sqlite:///{database}")
    assert runner.invoke(app, ["db", "init"]).exit_code == 0
    replay = runner.invoke(app, ["db", "replay-spool"])
    assert replay.exit_code == 0, replay.output
    assert _rows(database, "SELECT count(*) FROM price_history") == [(1,)]
    assert spool.read_text() == ""


def test_info_shows_where_things_are_without_passwords(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    data = tmp_path / "data"
    assert f"database: sqlite:///{data / 'pricewatch.db'}" in result.output
    assert f"job queue: embedded (Huey) in {data / 'queue.db'}" in result.output
    assert "worker: 2 job(s) at once (threads), nice 10" in result.output
    assert "web: http://127.0.0.1:8000/" in result.output
    monkeypatch.setenv("PW_DB_URL", "postgresql://pw:s3cret@db.example/pw")
    monkeypatch.setenv("PW_BROKER_URL", "redis://:s3cret@queue.example:6379/0")
    monkeypatch.setenv("PW_WEB_PORT", "8100")
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert "database: postgresql://pw:***@db.example/pw" in result.output
    assert "job queue: Celery on redis://:***@queue.example:6379/0" in result.output
    assert "(pool processes)" in result.output
    assert "web: http://127.0.0.1:8100/" in result.output


def test_info_names_a_broker_url_it_cannot_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PW_BROKER_URL", "ftp://queue.example/x")
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    assert "job queue: invalid: PW_BROKER_URL='ftp://queue.example/x' is not a SQLite queue" in (
        result.output
    )
