"""Repository functions for accounts, API tokens, web sessions, login attempts and preferences:
add and query, never commit (the services do).

Tokens and session ids arrive here already hashed: this module never sees a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from pricewatch.adapters.db.account_tables import (
    api_tokens,
    app_preferences,
    login_attempts,
    users,
    web_sessions,
)
from pricewatch.adapters.db.dialects import upsert_insert

__all__ = [
    "SessionRecord",
    "TokenRecord",
    "UserRecord",
    "add_login_attempt",
    "add_session",
    "add_token",
    "add_user",
    "count_users",
    "delete_expired_sessions",
    "delete_session",
    "delete_session_by_hash",
    "delete_user_sessions",
    "get_preference",
    "get_session_by_hash",
    "get_token_by_hash",
    "get_user",
    "get_user_by_key",
    "list_sessions",
    "list_tokens",
    "list_users",
    "prune_login_attempts",
    "recent_failures",
    "record_login",
    "revoke_token",
    "set_password_hash",
    "set_preference",
    "touch_session",
    "touch_token",
]


@dataclass(frozen=True)
class UserRecord:
    """A user as stored (with the password hash, which never leaves the services)."""

    id: int
    username: str
    password_hash: str
    is_admin: bool
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class SessionRecord:
    """A web session and the user it belongs to."""

    id: int
    user: UserRecord
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str | None
    address: str | None


@dataclass(frozen=True)
class TokenRecord:
    """An API token (never its text) and the user it belongs to."""

    id: int
    user: UserRecord
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _user(m: Any) -> UserRecord:
    return UserRecord(
        id=m["user_id"],
        username=m["username"],
        password_hash=m["password_hash"],
        is_admin=bool(m["is_admin"]),
        created_at=m["user_created_at"],
        last_login_at=m["last_login_at"],
    )


_USER_COLUMNS = (
    users.c.id.label("user_id"),
    users.c.username,
    users.c.password_hash,
    users.c.is_admin,
    users.c.created_at.label("user_created_at"),
    users.c.last_login_at,
)


def _rowcount(result: Any) -> int:
    count: int = result.rowcount if isinstance(result, CursorResult) else 0
    return count


# --- users -------------------------------------------------------------------------------------


def count_users(*, session: Session, admins_only: bool = False) -> int:
    """How many users (or admins) there are."""
    stmt = select(func.count()).select_from(users)
    if admins_only:
        stmt = stmt.where(users.c.is_admin)
    count: int = session.execute(stmt).scalar_one()
    return count


def add_user(
    *,
    session: Session,
    username: str,
    username_key: str,
    password_hash: str,
    is_admin: bool,
    now: datetime,
) -> int:
    """Add a user; its id (IntegrityError when the username key is taken)."""
    stmt = (
        users.insert()
        .values(
            username=username,
            username_key=username_key,
            password_hash=password_hash,
            is_admin=is_admin,
            created_at=now,
        )
        .returning(users.c.id)
    )
    user_id: int = session.execute(stmt).scalar_one()
    return user_id


def get_user(*, session: Session, user_id: int) -> UserRecord | None:
    """The user with this id, if any."""
    row = session.execute(select(*_USER_COLUMNS).where(users.c.id == user_id)).one_or_none()
    return None if row is None else _user(row._mapping)


def get_user_by_key(*, session: Session, username_key: str) -> UserRecord | None:
    """The user whose casefolded name is `username_key`, if any."""
    stmt = select(*_USER_COLUMNS).where(users.c.username_key == username_key)
    row = session.execute(stmt).one_or_none()
    return None if row is None else _user(row._mapping)


def list_users(*, session: Session) -> list[UserRecord]:
    """All users, oldest first."""
    rows = session.execute(select(*_USER_COLUMNS).order_by(users.c.id))
    return [_user(row._mapping) for row in rows]


def set_password_hash(*, session: Session, user_id: int, password_hash: str) -> None:
    """Replace the user's password hash."""
    session.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def record_login(*, session: Session, user_id: int, now: datetime) -> None:
    """Note that the user logged in now."""
    session.execute(update(users).where(users.c.id == user_id).values(last_login_at=now))


# --- login attempts ----------------------------------------------------------------------------


def add_login_attempt(
    *, session: Session, username_key: str, address: str, succeeded: bool, now: datetime
) -> None:
    """Record one login attempt."""
    session.execute(
        login_attempts.insert().values(
            username_key=username_key, address=address, at=now, succeeded=succeeded
        )
    )


def recent_failures(
    *,
    session: Session,
    by: Literal["username_key", "address"],
    value: str,
    since: datetime,
    limit: int,
) -> list[datetime]:
    """When the newest failed attempts (at most `limit`) of one username or address happened,
    newest first: those after `since` and after that key's latest successful login.
    """
    column = login_attempts.c[by]
    last_success = (
        select(func.max(login_attempts.c.at))
        .where(column == value, login_attempts.c.succeeded, login_attempts.c.at >= since)
        .scalar_subquery()
    )
    stmt = (
        select(login_attempts.c.at)
        .where(
            column == value,
            ~login_attempts.c.succeeded,
            login_attempts.c.at >= func.coalesce(last_success, since),
        )
        .order_by(login_attempts.c.at.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def prune_login_attempts(*, session: Session, before: datetime) -> int:
    """Forget the attempts made before `before`; how many."""
    return _rowcount(session.execute(delete(login_attempts).where(login_attempts.c.at < before)))


# --- web sessions ------------------------------------------------------------------------------


def add_session(
    *,
    session: Session,
    session_hash: str,
    user_id: int,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
    user_agent: str | None,
    address: str | None,
) -> int:
    """Add a web session; its id."""
    stmt = (
        web_sessions.insert()
        .values(
            session_hash=session_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            user_agent=user_agent,
            address=address,
        )
        .returning(web_sessions.c.id)
    )
    session_id: int = session.execute(stmt).scalar_one()
    return session_id


_SESSION_COLUMNS = (
    web_sessions.c.id,
    web_sessions.c.csrf_token,
    web_sessions.c.created_at,
    web_sessions.c.last_seen_at,
    web_sessions.c.expires_at,
    web_sessions.c.user_agent,
    web_sessions.c.address,
    *_USER_COLUMNS,
)


def _session(m: Any) -> SessionRecord:
    return SessionRecord(
        id=m["id"],
        user=_user(m),
        csrf_token=m["csrf_token"],
        created_at=m["created_at"],
        last_seen_at=m["last_seen_at"],
        expires_at=m["expires_at"],
        user_agent=m["user_agent"],
        address=m["address"],
    )


def get_session_by_hash(*, session: Session, session_hash: str) -> SessionRecord | None:
    """The web session whose id hashes to `session_hash`, with its user (expired or not)."""
    stmt = (
        select(*_SESSION_COLUMNS)
        .join(users, users.c.id == web_sessions.c.user_id)
        .where(web_sessions.c.session_hash == session_hash)
    )
    row = session.execute(stmt).one_or_none()
    return None if row is None else _session(row._mapping)


def list_sessions(*, session: Session, user_id: int, now: datetime) -> list[SessionRecord]:
    """The user's unexpired sessions, most recently used first."""
    stmt = (
        select(*_SESSION_COLUMNS)
        .join(users, users.c.id == web_sessions.c.user_id)
        .where(web_sessions.c.user_id == user_id, web_sessions.c.expires_at > now)
        .order_by(web_sessions.c.last_seen_at.desc())
    )
    return [_session(row._mapping) for row in session.execute(stmt)]


def touch_session(
    *, session: Session, session_id: int, now: datetime, expires_at: datetime
) -> None:
    """Note that the session was used now, and move its expiry."""
    session.execute(
        update(web_sessions)
        .where(web_sessions.c.id == session_id)
        .values(last_seen_at=now, expires_at=expires_at)
    )


def delete_session_by_hash(*, session: Session, session_hash: str) -> int:
    """Remove the session whose id hashes to `session_hash`; how many rows (0 or 1)."""
    stmt = delete(web_sessions).where(web_sessions.c.session_hash == session_hash)
    return _rowcount(session.execute(stmt))


def delete_session(*, session: Session, session_id: int, user_id: int) -> int:
    """Remove one of the user's sessions; how many rows (0 or 1)."""
    stmt = delete(web_sessions).where(
        web_sessions.c.id == session_id, web_sessions.c.user_id == user_id
    )
    return _rowcount(session.execute(stmt))


def delete_user_sessions(*, session: Session, user_id: int, keep: str | None) -> int:
    """Remove the user's sessions, except the one whose hash is `keep`; how many."""
    stmt = delete(web_sessions).where(web_sessions.c.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(web_sessions.c.session_hash != keep)
    return _rowcount(session.execute(stmt))


def delete_expired_sessions(*, session: Session, now: datetime) -> int:
    """Remove the sessions that expired; how many."""
    return _rowcount(session.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now)))


# --- API tokens --------------------------------------------------------------------------------


def add_token(
    *, session: Session, user_id: int, name: str, prefix: str, token_hash: str, now: datetime
) -> int:
    """Add an API token; its id."""
    stmt = (
        api_tokens.insert()
        .values(user_id=user_id, name=name, prefix=prefix, token_hash=token_hash, created_at=now)
        .returning(api_tokens.c.id)
    )
    token_id: int = session.execute(stmt).scalar_one()
    return token_id


_TOKEN_COLUMNS = (
    api_tokens.c.id,
    api_tokens.c.name,
    api_tokens.c.prefix,
    api_tokens.c.created_at,
    api_tokens.c.last_used_at,
    api_tokens.c.revoked_at,
    *_USER_COLUMNS,
)


def _token(m: Any) -> TokenRecord:
    return TokenRecord(
        id=m["id"],
        user=_user(m),
        name=m["name"],
        prefix=m["prefix"],
        created_at=m["created_at"],
        last_used_at=m["last_used_at"],
        revoked_at=m["revoked_at"],
    )


def get_token_by_hash(*, session: Session, token_hash: str) -> TokenRecord | None:
    """The token whose text hashes to `token_hash`, with its user (revoked or not)."""
    stmt = (
        select(*_TOKEN_COLUMNS)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.token_hash == token_hash)
    )
    row = session.execute(stmt).one_or_none()
    return None if row is None else _token(row._mapping)


def list_tokens(*, session: Session, user_id: int | None = None) -> list[TokenRecord]:
    """The tokens (of one user, or of everyone), revoked ones too, newest first."""
    stmt = select(*_TOKEN_COLUMNS).join(users, users.c.id == api_tokens.c.user_id)
    if user_id is not None:
        stmt = stmt.where(api_tokens.c.user_id == user_id)
    return [_token(row._mapping) for row in session.execute(stmt.order_by(api_tokens.c.id.desc()))]


def touch_token(*, session: Session, token_id: int, now: datetime) -> None:
    """Note that the token was used now."""
    session.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now))


def revoke_token(
    *, session: Session, token_id: int, now: datetime, user_id: int | None = None
) -> int:
    """Revoke a token not yet revoked (only the user's own when `user_id` is given); how many."""
    stmt = (
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if user_id is not None:
        stmt = stmt.where(api_tokens.c.user_id == user_id)
    return _rowcount(session.execute(stmt))


# --- preferences -------------------------------------------------------------------------------


def get_preference(*, session: Session, key: str) -> str | None:
    """The stored value of a preference, if set."""
    stmt = select(app_preferences.c.value).where(app_preferences.c.key == key)
    value: str | None = session.execute(stmt).scalar_one_or_none()
    return value


def set_preference(*, session: Session, key: str, value: str, now: datetime) -> None:
    """Set a preference (insert or replace)."""
    insert = upsert_insert(session.get_bind().dialect.name)
    stmt = insert(app_preferences).values(key=key, value=value, updated_at=now)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[app_preferences.c.key],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
    )
