"""Set-based writes of snapshots: the save path behind `repository.save_snapshots`.

A chunk of snapshots costs a handful of statements whatever its size: read (and lock) the
products, create the missing ones, one statement each for product updates, price rows, images,
specs and scraping logs. The hot statements are `Prepared`, `BulkInsert` or `BulkUpdate` (compiled
once, run as driver SQL; many rows are one statement on PostgreSQL, one executemany on SQLite). One
snapshot of a known product costs four statements: read it locked, update it, its price row, its
log. On SQLite a chunk of known products costs the same four, its products read once.

Images and specs are only read and written when they may have changed: the product row keeps a
digest of the image list and of the specs of the newest snapshot applied to it, and a snapshot at
least as new whose digests equal them would change nothing (older snapshots only add what is
missing at the end, which keeps the newest list in front). Anything else writing product_images or
product_specs must clear those digests.

Concurrency: products are created with INSERT ... ON CONFLICT DO NOTHING in key order, then
locked with SELECT ... FOR UPDATE in id order (SQLite: the whole database is locked by BEGIN
IMMEDIATE instead), so concurrent writers of the same products queue instead of deadlocking, and
every later decision (is this snapshot the newest?) is taken on locked rows.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Connection,
    Table,
    any_,
    bindparam,
    func,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ClauseElement

from pricewatch.adapters.db.dialects import upsert_insert
from pricewatch.adapters.db.keys import URL_REFERENCE_PREFIX, ProductKey
from pricewatch.adapters.db.prepared import BulkInsert, BulkUpdate, Prepared, pipelined
from pricewatch.adapters.db.tables import (
    DEFAULT_CHECK_INTERVAL,
    price_history,
    product_images,
    product_specs,
    products,
    scraping_logs,
)
from pricewatch.domain.snapshot import Availability, FetchMethod, FetchStatus, ProductSnapshot

#: Longer image URLs (inline data: images, tracking monsters) are not worth a row and an index.
MAX_IMAGE_URL_LENGTH = 2048
_MAX_INT32 = 2**31 - 1

Keyed = tuple[ProductKey, ProductSnapshot]

#: The stored text of each enumeration member (a dict lookup; `.value` is a slow descriptor).
_TEXT: dict[StrEnum, str] = {
    m: m.value for e in (Availability, FetchMethod, FetchStatus) for m in e
}


@dataclass(frozen=True)
class SaveResult:
    """What a save wrote. `product_ids` follows the input order (None: no product)."""

    product_ids: tuple[int | None, ...] = ()
    products_created: int = 0
    products_updated: int = 0
    price_rows: int = 0
    logs: int = 0

    def __add__(self, other: SaveResult) -> SaveResult:
        return SaveResult(
            product_ids=self.product_ids + other.product_ids,
            products_created=self.products_created + other.products_created,
            products_updated=self.products_updated + other.products_updated,
            price_rows=self.price_rows + other.price_rows,
            logs=self.logs + other.logs,
        )


def is_product_page(snapshot: ProductSnapshot) -> bool:
    """True for a successfully read page that shows a product (may create or update one)."""
    return snapshot.ok and (
        bool(snapshot.title)
        or snapshot.price is not None
        or snapshot.availability is not Availability.UNKNOWN
    )


def writes_price_row(snapshot: ProductSnapshot) -> bool:
    """True when the snapshot adds to the price history: an ok page with a price or stock state."""
    return is_product_page(snapshot) and (
        snapshot.price is not None or snapshot.availability is not Availability.UNKNOWN
    )


@dataclass
class _State:
    """A product row as read under lock at the start of a chunk."""

    id: int
    first_seen_at: datetime
    last_updated_at: datetime
    next_check_at: datetime | None
    check_interval: int
    images_digest: str | None
    specs_digest: str | None
    created: bool = False


def _state(row: Sequence[Any]) -> _State:
    """A `_State` from a row of `_PRODUCT_STATE` (id, source, reference, then the state)."""
    return _State(row[0], row[3], row[4], row[5], row[6], row[7], row[8])


class _Page:
    """A product page snapshot with what the writes derive from it, computed once.

    `images` and `specs` come from caches shared by every page with the same lists (pages repeat
    them from one check to the next): they are never modified.
    """

    __slots__ = ("at", "images", "images_digest", "snapshot", "specs", "specs_digest")

    def __init__(self, snapshot: ProductSnapshot) -> None:
        self.snapshot = snapshot
        self.at = snapshot.fetch.fetched_at
        self.images, self.images_digest = _usable_images(snapshot.images)
        self.specs, self.specs_digest = _clean_specs(tuple(snapshot.specs.items()))


@lru_cache(maxsize=4096)
def _usable_images(images: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """The image URLs worth keeping, in order, and the digest of that list."""
    seen: dict[str, None] = {}
    for url in images:
        url = url.strip()
        if url and len(url) <= MAX_IMAGE_URL_LENGTH and not url.startswith("data:"):
            seen.setdefault(url, None)
    usable = tuple(seen)
    return usable, _digest(usable)


@lru_cache(maxsize=4096)
def _clean_specs(items: tuple[tuple[str, str], ...]) -> tuple[dict[str, str], str]:
    """Specs with stripped, non-empty keys, and their digest whatever their order."""
    specs = {k.strip(): v for k, v in items if k.strip()}
    return specs, _digest(tuple(sorted(specs.items())))


def _digest(value: tuple[Any, ...]) -> str:
    """A stable digest of a tuple of strings (or pairs)."""
    text_ = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(text_.encode(), digest_size=16).hexdigest()


@dataclass
class _Plan:
    """A product's snapshots in this chunk."""

    state: _State
    pages: list[_Page] = field(default_factory=list)

    @property
    def newest(self) -> ProductSnapshot:
        return max(self.pages, key=lambda p: p.at).snapshot

    def applied_digest(self, kind: str) -> str | None:
        """The digest the product keeps after this plan (see the module docstring)."""
        return _applied_digest(self.pages, self.state.last_updated_at, kind)


def _applied_digest(pages: Iterable[_Page], since: datetime, kind: str) -> str | None:
    """Digest of the images or specs ("images"/"specs") of the last page applied as the newest."""
    found = None
    for page in sorted(pages, key=lambda p: p.at):
        if page.at >= since and getattr(page, kind):
            found = page
    return None if found is None else str(getattr(found, f"{kind}_digest"))


def save_chunk(connection: Connection, items: list[Keyed]) -> SaveResult:
    """Write one chunk of keyed snapshots (the caller keeps chunks under ~500)."""
    pages = [(k, s) for k, s in items if is_product_page(s)]
    states, created = resolve_products(connection, sorted({k for k, _ in items}), pages)
    _link_by_url(connection, items, states)
    plans = _plans(pages, states)
    _sync_images(connection, plans)
    _sync_specs(connection, plans)
    ids = [states[k].id if k in states else None for k, _ in items]
    # PostgreSQL: the server runs each of these writes while Python prepares the next one. (Only
    # single statements whose results are not needed before the end: not the image and spec
    # syncs, which read rows and may run executemany.)
    with pipelined(connection):
        updated = _update_products(connection, plans, items, states)
        price_rows = _insert_prices(connection, pages, states)
        logs = _send_logs(connection, [(k, s, i) for (k, s), i in zip(items, ids, strict=True)])
    return SaveResult(tuple(ids), len(created), updated, price_rows(), logs())


# --- products ----------------------------------------------------------------------------------


def resolve_products(
    connection: Connection, keys: list[ProductKey], pages: list[Keyed]
) -> tuple[dict[ProductKey, _State], set[ProductKey]]:
    """Locked states of the products behind `keys`, creating those of `pages` that are missing."""
    if len(keys) == 1:
        # One product: lock it first; nothing else is held, so creating it cannot deadlock.
        states = _select_products(connection, keys, lock=True)
        missing = [(k, s) for k, s in pages if k not in states]
        created = set()
        if missing:
            states = _insert_product(connection, keys[0], [s for _, s in missing])
            created = set(states)
            if not states:  # another transaction created it meanwhile: now it is there
                states = _select_products(connection, keys, lock=True)
    elif connection.dialect.name == "sqlite":
        # BEGIN IMMEDIATE locked the whole database: read once, then create what is missing.
        states = _select_products(connection, keys, lock=False)
        created = _insert_products(connection, [(k, s) for k, s in pages if k not in states])
        if created:
            states |= _select_products(connection, sorted(created), lock=False)
    else:
        # Several: create before locking anything, in key order, then lock in id order.
        known = _select_products(connection, sorted({k for k, _ in pages}), lock=False)
        created = _insert_products(connection, [(k, s) for k, s in pages if k not in known])
        states = _select_products(connection, keys, lock=True)
    for key in created:
        states[key].created = True
    return states, created


_PRODUCT_STATE = (
    products.c.id,
    products.c.source,
    products.c.reference,
    products.c.first_seen_at,
    products.c.last_updated_at,
    products.c.next_check_at,
    products.c.check_interval,
    products.c.images_digest,
    products.c.specs_digest,
)
_BY_KEY = (
    products.c.source == bindparam("k_source"),
    products.c.reference == bindparam("k_reference"),
)
_SELECT_ONE = Prepared(lambda _: select(*_PRODUCT_STATE).where(*_BY_KEY))
_SELECT_ONE_LOCKED = Prepared(lambda _: select(*_PRODUCT_STATE).where(*_BY_KEY).with_for_update())


def _in_list(dialect: str, column: Column[Any], name: str) -> ColumnElement[bool]:
    """`column` IN the list bound as `name`: one parameter, so the statement can be prepared.

    PostgreSQL gets an array (`= ANY(...)`), SQLite a JSON array read with json_each.
    """
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    listed: Any = func.json_each(bindparam(name, type_=JSON()))
    values: Any = select(literal_column("value")).select_from(listed)
    return column.in_(values.scalar_subquery())


def _by_refs(dialect: str, *, lock: bool) -> Any:
    if dialect == "postgresql":
        # One index lookup per key, whatever the planner believes: psycopg prepares the statement,
        # and a generic plan cannot see how many keys the array holds. `reference = ANY(...)`
        # with ORDER BY id walked the whole primary key; a join on unnest (or `= ANY` planned
        # on statistics taken before the source's products were created) read every product of
        # the source: 5 ms at 20,000 products, against 0.2 ms. The LATERAL subquery, which
        # OFFSET 0 keeps from being flattened into a join, looks each key up on its own. Rows
        # are then locked through the primary key in id order.
        names = ", ".join(c.name for c in _PRODUCT_STATE)
        by_key = (
            "FROM unnest(CAST(:k_refs AS TEXT[])) AS k(reference), LATERAL "
            "(SELECT {} FROM products WHERE source = :k_source AND reference = k.reference "
            "OFFSET 0) AS p"
        )
        if lock:
            sql = (
                f"SELECT {names} FROM products WHERE id = ANY(ARRAY(SELECT p.id "
                + by_key.format("id")
                + ")) ORDER BY id FOR UPDATE"
            )
        else:
            sql = f"SELECT p.* {by_key.format(names)}"
        return text(sql).columns(*_PRODUCT_STATE)
    # SQLite has no row locks (BEGIN IMMEDIATE locked the database): no FOR UPDATE, and no
    # ORDER BY id, which made it scan every product of the source instead of seeking the key.
    source = products.c.source == bindparam("k_source")
    return select(*_PRODUCT_STATE).where(source, _in_list(dialect, products.c.reference, "k_refs"))


_SELECT_MANY = Prepared(lambda d: _by_refs(d, lock=False))
_SELECT_MANY_LOCKED = Prepared(lambda d: _by_refs(d, lock=True))


def _select_products(
    connection: Connection, keys: Sequence[ProductKey], *, lock: bool
) -> dict[ProductKey, _State]:
    """Read products by key; with `lock`, FOR UPDATE in id order (a no-op on SQLite)."""
    if len(keys) == 1:
        prepared = _SELECT_ONE_LOCKED if lock else _SELECT_ONE
        one = {"k_source": keys[0].source, "k_reference": keys[0].reference}
        rows = prepared.rows(connection, one)
    else:
        by_source: dict[str, list[str]] = defaultdict(list)
        for key in keys:
            by_source[key.source].append(key.reference)
        prepared = _SELECT_MANY_LOCKED if lock else _SELECT_MANY
        rows = []
        for source in sorted(by_source):
            params = {"k_source": source, "k_refs": by_source[source]}
            rows += prepared.rows(connection, params)
    return {ProductKey(r[1], r[2]): _state(r) for r in rows}


def _insert(dialect: str, target: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return upsert_insert(dialect)(target)


def _insert_products(connection: Connection, pages: list[Keyed]) -> set[ProductKey]:
    """INSERT ... ON CONFLICT DO NOTHING in key order; the keys this transaction created."""
    by_key: dict[ProductKey, list[ProductSnapshot]] = defaultdict(list)
    for key, snapshot in pages:
        by_key[key].append(snapshot)
    if not by_key:
        return set()
    rows = [_new_product_row(key, by_key[key]) for key in sorted(by_key)]
    stmt = (
        _insert(connection.dialect.name, products)
        .on_conflict_do_nothing(index_elements=["source", "reference"])
        .returning(products.c.source, products.c.reference)
    )
    return {ProductKey(r.source, r.reference) for r in connection.execute(stmt, rows)}


def _insert_returning(dialect: str) -> Any:
    stmt = _insert(dialect, products).on_conflict_do_nothing(index_elements=["source", "reference"])
    return stmt.returning(*_PRODUCT_STATE)


_INSERT_ONE = Prepared(_insert_returning, columns=[c.name for c in products.c if c.name != "id"])


def _insert_product(
    connection: Connection, key: ProductKey, snapshots: list[ProductSnapshot]
) -> dict[ProductKey, _State]:
    """Create one product; its state, or nothing when it already exists."""
    rows = _INSERT_ONE.rows(connection, _new_product_row(key, snapshots))
    return {key: _state(rows[0])} if rows else {}


def _new_product_row(key: ProductKey, snapshots: list[ProductSnapshot]) -> dict[str, Any]:
    newest = max(snapshots, key=lambda s: s.fetch.fetched_at)
    last = newest.fetch.fetched_at
    pages = [_Page(s) for s in snapshots]
    return {
        "source": key.source,
        "reference": key.reference,
        "url": newest.url,
        "title": newest.title,
        "category": newest.category,
        "brand": newest.brand,
        "gtin": newest.gtin,
        "currency": newest.currency,
        "first_seen_at": min(s.fetch.fetched_at for s in snapshots),
        "last_updated_at": last,
        "check_interval": DEFAULT_CHECK_INTERVAL,
        "next_check_at": last + timedelta(seconds=DEFAULT_CHECK_INTERVAL),
        "enabled": True,
        "images_digest": _applied_digest(pages, last, "images"),
        "specs_digest": _applied_digest(pages, last, "specs"),
    }


def _link_by_url(
    connection: Connection, items: list[Keyed], states: dict[ProductKey, _State]
) -> None:
    """Link failed snapshots (which carry no reference) to a known product with the same URL."""
    wanted = {
        (k.source, s.url): k
        for k, s in items
        if k not in states and not s.reference and k.reference.startswith(URL_REFERENCE_PREFIX)
    }
    if not wanted:
        return
    stmt = (
        select(*_PRODUCT_STATE, products.c.url)
        .where(tuple_(products.c.source, products.c.url).in_(list(wanted)))
        .order_by(products.c.id)
        .with_for_update()
    )
    for r in connection.execute(stmt):
        states.setdefault(wanted[(r.source, r.url)], _state(r))


def _plans(pages: list[Keyed], states: dict[ProductKey, _State]) -> dict[int, _Plan]:
    plans: dict[int, _Plan] = {}
    for key, snapshot in pages:
        state = states[key]
        plans.setdefault(state.id, _Plan(state)).pages.append(_Page(snapshot))
    return plans


_METADATA = ("url", "title", "category", "brand", "gtin", "currency")
_DIGESTS = ("images_digest", "specs_digest")
_SCHEDULE = ("first_seen_at", "last_updated_at", "next_check_at")
#: Metadata and digests given as None keep the stored value.
_UPDATE_PRODUCTS = BulkUpdate(
    products, ("id", *_METADATA, *_DIGESTS, *_SCHEDULE), keep_if_null=(*_METADATA, *_DIGESTS)
)


def _update_products(
    connection: Connection,
    plans: dict[int, _Plan],
    items: list[Keyed],
    states: dict[ProductKey, _State],
) -> int:
    """Apply the newest metadata and advance the schedule; one bulk UPDATE."""
    attempts: dict[int, datetime] = {}
    for key, snapshot in items:
        if key in states:
            at, pid = snapshot.fetch.fetched_at, states[key].id
            attempts[pid] = max(at, attempts.get(pid, at))
    by_id = {state.id: state for state in states.values()}
    rows = [
        row
        for pid, last_attempt in sorted(attempts.items())
        if (row := _product_update(by_id[pid], plans.get(pid), last_attempt)) is not None
    ]
    _UPDATE_PRODUCTS.execute(connection, rows)
    return len(rows)


def _product_update(
    state: _State, plan: _Plan | None, last_attempt: datetime
) -> tuple[Any, ...] | None:
    """The `_UPDATE_PRODUCTS` row of a product, or None when nothing changes (e.g. just created)."""
    if state.created:
        return None
    values: tuple[Any, ...] = (None,) * len(_METADATA)
    digests: list[str | None] = [None, None]
    first, last = state.first_seen_at, state.last_updated_at
    if plan is not None:
        first = min(first, *(p.at for p in plan.pages))
        newest = plan.newest
        if newest.fetch.fetched_at >= state.last_updated_at:
            last = newest.fetch.fetched_at
            values = tuple(getattr(newest, name) for name in _METADATA)
        for i, (kind, stored) in enumerate(
            (("images", state.images_digest), ("specs", state.specs_digest))
        ):
            applied = plan.applied_digest(kind)
            if applied != stored:
                digests[i] = applied
    # A next check still ahead was set by the scheduler (with its jitter) or by an earlier
    # check: keep it, so the schedule neither drifts by queue delays nor loses its jitter.
    scheduled = state.next_check_at
    if scheduled is not None and scheduled > last_attempt:
        next_check = scheduled
    else:
        next_check = last_attempt + timedelta(seconds=state.check_interval)
    moved = (first, last, next_check) != (
        state.first_seen_at,
        state.last_updated_at,
        state.next_check_at,
    )
    if not moved and all(v is None for v in (*values, *digests)):
        return None
    return (state.id, *values, *digests, first, last, next_check)


# --- price rows, images, specs, logs -----------------------------------------------------------


def _on_conflict_nothing(table: Table, *keys: str) -> Any:
    """A builder for INSERT ... ON CONFLICT (keys) DO NOTHING."""
    return lambda dialect: _insert(dialect, table).on_conflict_do_nothing(index_elements=keys)


_INSERT_PRICES = BulkInsert(
    price_history,
    (
        "product_id",
        "fetched_at",
        "price",
        "shipping_cost",
        "currency",
        "stock_status",
        "fetch_method",
        "fetch_status",
    ),
    key=("product_id", "fetched_at"),
)


def _insert_prices(
    connection: Connection, pages: list[Keyed], states: dict[ProductKey, _State]
) -> Callable[[], int]:
    """Add price rows; a row already there (same product and time) is left alone.

    Returns the number of rows added, known once out of `pipelined`.
    """
    rows: dict[tuple[int, datetime], tuple[Any, ...]] = {}
    for key, s in pages:
        if writes_price_row(s):
            pid, fetch = states[key].id, s.fetch
            rows.setdefault(
                (pid, fetch.fetched_at),
                (
                    pid,
                    fetch.fetched_at,
                    s.price,
                    s.shipping_cost,
                    s.currency,
                    _TEXT[s.availability],
                    _TEXT[fetch.method],
                    _TEXT[fetch.status],
                ),
            )
    # The rowcount is the number of rows inserted on both drivers (conflicts: 0).
    return _INSERT_PRICES.send(connection, [rows[k] for k in sorted(rows)])


def usable_images(snapshot: ProductSnapshot) -> list[str]:
    """The snapshot's image URLs worth keeping, in order, without duplicates."""
    return list(_usable_images(snapshot.images)[0])


def _children(table: Table, columns: Sequence[Column[Any]]) -> tuple[Prepared, Prepared]:
    """SELECTs of a per-product child table: for one product, and for a list of products."""
    one = Prepared(lambda _: select(*columns).where(table.c.product_id == bindparam("k_id")))
    many = Prepared(lambda d: select(*columns).where(_in_list(d, table.c.product_id, "k_ids")))
    return one, many


def _current(connection: Connection, prepared: tuple[Prepared, Prepared], ids: list[int]) -> Any:
    """Rows of a per-product child table for `ids`."""
    if not ids:
        return []
    one, many = prepared
    if len(ids) == 1:
        return one.rows(connection, {"k_id": ids[0]})
    return many.rows(connection, {"k_ids": ids})


def _to_sync(plans: dict[int, _Plan], kind: str) -> dict[int, _Plan]:
    """The plans whose images or specs ("images"/"specs") may change the stored ones.

    A known product is skipped when every snapshot carrying them is at least as new as the product
    and has the digest the product keeps: applying them again would change nothing.
    """
    wanted = {}
    for pid, plan in plans.items():
        bearing = [p for p in plan.pages if getattr(p, kind)]
        if not bearing:
            continue
        state = plan.state
        stored = getattr(state, f"{kind}_digest")
        if not state.created and all(
            p.at >= state.last_updated_at and getattr(p, f"{kind}_digest") == stored
            for p in bearing
        ):
            continue
        wanted[pid] = plan
    return wanted


_IMAGE_ROW = (product_images.c.product_id, product_images.c.image_url, product_images.c.position)
_SELECT_IMAGES = _children(product_images, _IMAGE_ROW)
_INSERT_IMAGES = BulkInsert(
    product_images, ("product_id", "image_url", "position"), key=("product_id", "image_url")
)
_MOVE_IMAGE = Prepared(
    lambda _: (
        update(product_images)
        .where(
            product_images.c.product_id == bindparam("b_product_id"),
            product_images.c.image_url == bindparam("b_image_url"),
        )
        .values(position=bindparam("b_position"))
    )
)


def _sync_images(connection: Connection, plans: dict[int, _Plan]) -> None:
    """Add new images and keep the others; the newest snapshot's order decides the positions."""
    wanted = _to_sync(plans, "images")
    if not wanted:
        return
    current: dict[int, dict[str, int]] = defaultdict(dict)
    # A product created in this transaction has no images yet: nothing to read.
    known = sorted(pid for pid, plan in wanted.items() if not plan.state.created)
    for pid, url, position in _current(connection, _SELECT_IMAGES, known):
        current[pid][url] = position
    inserts: list[tuple[Any, ...]] = []
    moves: list[dict[str, Any]] = []
    for pid in sorted(wanted):
        before = current[pid]
        for url, position in _image_positions(before, wanted[pid]).items():
            if url not in before:
                inserts.append((pid, url, position))
            elif before[url] != position:
                moves.append({"b_product_id": pid, "b_image_url": url, "b_position": position})
    _INSERT_IMAGES.execute(connection, inserts)
    if moves:
        _MOVE_IMAGE.execute(connection, moves)


def _image_positions(before: dict[str, int], plan: _Plan) -> dict[str, int]:
    """Positions after applying the plan's snapshots in time order."""
    positions = dict(before)
    for page in sorted(plan.pages, key=lambda p: p.at):
        images = page.images
        if not images:
            continue
        if page.at >= plan.state.last_updated_at:
            rest = sorted((u for u in positions if u not in images), key=positions.__getitem__)
            positions = {u: i for i, u in enumerate([*images, *rest])}
        else:
            for url in images:
                positions.setdefault(url, len(positions))
    return positions


_SPEC_ROW = (product_specs.c.product_id, product_specs.c.spec_key, product_specs.c.spec_value)
_SELECT_SPECS = _children(product_specs, _SPEC_ROW)
_INSERT_SPECS = BulkInsert(
    product_specs, ("product_id", "spec_key", "spec_value"), key=("product_id", "spec_key")
)


def _upsert_spec(dialect: str) -> ClauseElement:
    stmt = _insert(dialect, product_specs)
    result: ClauseElement = stmt.on_conflict_do_update(
        index_elements=["product_id", "spec_key"],
        set_={"spec_value": stmt.excluded.spec_value},
    )
    return result


_UPSERT_SPEC = Prepared(_upsert_spec, columns=("product_id", "spec_key", "spec_value"))


def _sync_specs(connection: Connection, plans: dict[int, _Plan]) -> None:
    """Upsert specs: the newest snapshot's values win; older snapshots only add missing keys."""
    wanted = _to_sync(plans, "specs")
    if not wanted:
        return
    current: dict[int, dict[str, str]] = defaultdict(dict)
    known = sorted(pid for pid, plan in wanted.items() if not plan.state.created)
    for pid, key, value in _current(connection, _SELECT_SPECS, known):
        current[pid][key] = value
    new: list[tuple[Any, ...]] = []
    changed: list[dict[str, Any]] = []
    for pid in sorted(wanted):
        before = current[pid]
        after = _spec_values(before, wanted[pid])
        for k, v in sorted(after.items()):
            if k not in before:
                new.append((pid, k, v))
            elif before[k] != v:
                changed.append({"product_id": pid, "spec_key": k, "spec_value": v})
    # New keys cannot conflict (the product is locked), so they go in bulk; changes are upserts.
    _INSERT_SPECS.execute(connection, new)
    if changed:
        _UPSERT_SPEC.execute(connection, changed)


def _spec_values(before: dict[str, str], plan: _Plan) -> dict[str, str]:
    values = dict(before)
    for page in sorted(plan.pages, key=lambda p: p.at):
        if page.at >= plan.state.last_updated_at:
            values |= page.specs
        else:
            values = page.specs | values
    return values


_INSERT_LOGS = BulkInsert(
    scraping_logs,
    (
        "product_id",
        "source",
        "reference",
        "url",
        "fetched_at",
        "duration_ms",
        "html_size_bytes",
        "http_status",
        "fetch_method",
        "fetch_status",
        "errors",
        "notes",
    ),
    key=("fetched_at", "source", "reference"),
    encoded=("errors", "notes"),
)


def insert_logs(
    connection: Connection, entries: Sequence[tuple[ProductKey, ProductSnapshot, int | None]]
) -> int:
    """One scraping log per attempt; an attempt logged before is skipped."""
    return _send_logs(connection, entries)()


def _send_logs(
    connection: Connection, entries: Sequence[tuple[ProductKey, ProductSnapshot, int | None]]
) -> Callable[[], int]:
    """`insert_logs`, whose count is known once out of `pipelined`."""
    rows: dict[tuple[ProductKey, datetime], tuple[Any, ...]] = {}
    for key, s, product_id in entries:
        fetch = s.fetch
        rows.setdefault(
            (key, fetch.fetched_at),
            (
                product_id,
                key.source,
                key.reference,
                s.url,
                fetch.fetched_at,
                min(fetch.duration_ms, _MAX_INT32),
                min(fetch.html_size_bytes, _MAX_INT32),
                fetch.http_status,
                _TEXT[fetch.method],
                _TEXT[fetch.status],
                _json_list(fetch.errors),
                _json_list(fetch.notes),
            ),
        )
    return _INSERT_LOGS.send(connection, [rows[k] for k in sorted(rows)])


def _json_list(values: tuple[str, ...]) -> str:
    """The JSON text SQLAlchemy's JSON type would send (most logs have no errors and no notes)."""
    return json.dumps(list(values)) if values else "[]"
