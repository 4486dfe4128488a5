"""The persist pipeline: one commit per unit of work, spool on database failure, replay."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db.engine import create_engine_for, session_factory
from pricewatch.adapters.db.spool import Spool, SpoolEntry
from pricewatch.adapters.db.tables import price_history, product_images, products, scraping_logs
from pricewatch.domain.snapshot import ProductSnapshot
from pricewatch.services import pipeline

from .conftest import T0, make_snapshot, minutes, settings_for
from .proxy import TcpProxy


def _count(url: str, table: object) -> int:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_process_snapshot_commits_one_unit_of_work(
    sessions: sessionmaker[Session], session: Session
) -> None:
    with sessions() as worker:
        result = pipeline.process_snapshot(make_snapshot(), session=worker)
        assert not worker.in_transaction()
    assert result.price_rows == 1
    assert session.execute(select(func.count()).select_from(price_history)).scalar_one() == 1


def test_persist_with_given_sessions_reports_what_it_saved(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    snaps = [make_snapshot(f"P{i % 3}", at=T0 + minutes(i)) for i in range(10)]
    report = pipeline.persist_snapshots(
        snaps, settings=settings_for("sqlite://", tmp_path), sessions=sessions, batch_size=4
    )
    assert report.ok
    assert (report.saved, report.products_created, report.price_rows) == (10, 3, 10)
    assert not (tmp_path / "spool.jsonl").exists()


def test_a_bad_row_spools_its_batch_and_the_run_goes_on(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    bad = make_snapshot("HUGE", price="12345678901.00")  # does not fit Numeric(12, 2)
    snaps = [make_snapshot("A"), bad, make_snapshot("B")]
    settings = settings_for("sqlite://", tmp_path)
    report = pipeline.persist_snapshots(snaps, settings=settings, sessions=sessions)
    assert report.saved == 2
    assert [s.url for s in report.spooled] == [bad.url]
    assert "does not fit" in report.spooled[0].reason
    assert Spool(settings.spool_path).count() == 1


def test_unreachable_database_spools_then_replay_writes_exactly_once(
    fresh_url: str, backend: str, tmp_path: Path
) -> None:
    if backend == "sqlite":
        down_url = f"sqlite:///{tmp_path / 'not-a-dir.db' / 'x.db'}"
        (tmp_path / "not-a-dir.db").write_text("a file where a directory should be")
    else:
        down_url = make_url(fresh_url).set(port=1).render_as_string(hide_password=False)
    snaps = [make_snapshot(f"R{i}", at=T0 + minutes(i)) for i in range(3)]
    down = pipeline.persist_snapshots(snaps, settings=settings_for(down_url, tmp_path))
    assert down.saved == 0
    assert len(down.spooled) == 3
    assert all("unavailable" in s.reason or "unusable" in s.reason for s in down.spooled)

    up = settings_for(fresh_url, tmp_path)
    replay = pipeline.replay_spool(settings=up)
    assert (replay.replayed, replay.price_rows, replay.remaining) == (3, 3, 0)
    again = pipeline.replay_spool(settings=up)
    assert (again.replayed, again.remaining) == (0, 0)
    assert _count(fresh_url, price_history) == 3


def test_replaying_an_already_saved_snapshot_adds_nothing(fresh_url: str, tmp_path: Path) -> None:
    settings = settings_for(fresh_url, tmp_path)
    snap = make_snapshot(images=("https://i/a",))
    assert pipeline.persist_snapshots([snap], settings=settings).saved == 1
    # The commit went through but the client saw an error: the snapshot was spooled anyway.
    Spool(settings.spool_path).append([SpoolEntry(snapshot=snap, reason="lost ack")])
    report = pipeline.replay_spool(settings=settings)
    assert (report.replayed, report.price_rows, report.remaining) == (1, 0, 0)
    for table in (products, price_history, product_images, scraping_logs):
        assert _count(fresh_url, table) == 1


def test_postgres_going_away_mid_run(fresh_url: str, backend: str, tmp_path: Path) -> None:
    if backend != "postgresql":
        return  # a network outage only exists for a server database
    direct = make_url(fresh_url)
    proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)
    via_proxy = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    first, second, third = (make_snapshot(f"M{i}", at=T0 + minutes(i)) for i in range(3))

    def run() -> Iterator[ProductSnapshot]:
        yield first
        proxy.stop()  # the database disappears between two snapshots of the same run
        yield second
        yield third

    try:
        report = pipeline.persist_snapshots(run(), settings=settings_for(via_proxy, tmp_path))
    finally:
        proxy.stop()
    assert report.saved == 1
    assert [s.url for s in report.spooled] == [second.url, third.url]
    assert _count(fresh_url, price_history) == 1

    replay = pipeline.replay_spool(settings=settings_for(fresh_url, tmp_path))
    assert (replay.replayed, replay.remaining) == (2, 0)
    engine = create_engine_for(fresh_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(products.c.reference, func.count())
                .join(price_history)
                .group_by(products.c.reference)
                .order_by(products.c.reference)
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("M0", 1), ("M1", 1), ("M2", 1)]


def test_ten_threads_saving_the_same_products(fresh_url: str, tmp_path: Path) -> None:
    shared = [
        make_snapshot(
            f"C{p}",
            at=T0 + minutes(t),
            price=f"{10 + p}.{t:02d}",
            images=(f"https://i/{p}/a", f"https://i/{p}/{t % 3}"),
            specs={"colour": f"c{t}", f"k{t % 4}": "v"},
        )
        for p in range(5)
        for t in range(20)
    ]
    engine = create_engine_for(fresh_url, pool_size=10)
    factory = session_factory(engine)
    settings = settings_for(fresh_url, tmp_path)
    barrier = threading.Barrier(10)
    reports: list[pipeline.PersistReport] = []
    failures: list[BaseException] = []

    def worker(n: int) -> None:
        own = [make_snapshot(f"C{n % 5}", at=T0 + minutes(1000 + n), price="1.00")]
        snaps = [*shared, *own]
        random.Random(n).shuffle(snaps)
        barrier.wait()
        try:
            reports.append(
                pipeline.persist_snapshots(
                    snaps, settings=settings, sessions=factory, batch_size=1 + n % 3 * 5
                )
            )
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        engine.dispose()
    assert not failures
    assert len(reports) == 10
    assert all(r.ok for r in reports)
    assert sum(r.products_created for r in reports) == 5
    assert sum(r.price_rows for r in reports) == 100 + 10
    assert _count(fresh_url, products) == 5
    assert _count(fresh_url, price_history) == 110
    assert _count(fresh_url, scraping_logs) == 110
    assert _count(fresh_url, product_images) == 5 * 4


def test_price_is_decimal_end_to_end(fresh_url: str, tmp_path: Path) -> None:
    settings = settings_for(fresh_url, tmp_path)
    snap = make_snapshot(price="0.30")
    pipeline.persist_snapshots([snap], settings=settings)
    engine = create_engine_for(fresh_url)
    try:
        with session_factory(engine)() as session:
            price = session.execute(select(price_history.c.price)).scalar_one()
    finally:
        engine.dispose()
    assert price == Decimal("0.1") + Decimal("0.2")
    assert str(price) == "0.30"
