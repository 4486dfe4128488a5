"""Accounts: users and passwords, login with rate limits, web sessions and API tokens.

Passwords are argon2id hashes (argon2-cffi's defaults, RFC 9106); a hash made with older
parameters is replaced at the next successful login. A login for a user that does not exist
still verifies a (dummy) hash, so the answer takes as long either way.

Rate limits: a login is refused, before the password is even checked, while the username or
the client address has `login_max_failures` failed attempts within `login_window_seconds`
(counting only failures after that key's last success). Attempts are rows in the database, so
the limits hold across restarts and across web processes.

Session ids and API tokens are random; only their SHA-256 is stored.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from math import ceil
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import account_repository as repo
from pricewatch.config import WebSettings
from pricewatch.domain.snapshot import utc_now

__all__ = [
    "AccountError",
    "ActiveSession",
    "AdminExistsError",
    "InvalidCredentialsError",
    "LoginThrottledError",
    "NewSession",
    "NewToken",
    "NotFoundError",
    "TokenInfo",
    "User",
    "UsernameTakenError",
    "authenticate",
    "change_password",
    "check_password",
    "check_username",
    "create_admin",
    "create_token",
    "create_token_for",
    "create_user",
    "end_session",
    "has_users",
    "list_sessions",
    "list_tokens",
    "list_users",
    "resolve_session",
    "revoke_session",
    "revoke_token",
    "set_password",
    "sha256",
    "start_session",
    "token_hash",
    "verify_token",
]

#: Tokens look like `pw_` + 43 URL-safe characters; the first characters identify one in lists.
TOKEN_PREFIX = "pw_"
TOKEN_DISPLAY_LENGTH = 10
#: Last-use times (of sessions and tokens) are written at most this often.
TOUCH_EVERY = timedelta(minutes=1)
#: Login attempts older than this are forgotten (the rate-limit window is usually shorter).
KEEP_ATTEMPTS = timedelta(days=1)
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024

#: argon2id with RFC 9106's low-memory profile (argon2-cffi's defaults: 64 MiB, 3 passes).
DEFAULT_HASHER = PasswordHasher()
#: The hasher new hashes are made with; replaceable (the tests use cheaper parameters, as
#: Django's test settings do). A hash is checked with the parameters written in it.
password_hasher = DEFAULT_HASHER


class AccountError(Exception):
    """A refused account operation; the message is one sentence for the user."""


class InvalidCredentialsError(AccountError):
    """Wrong username or password (the message never says which)."""

    def __init__(self) -> None:
        super().__init__("wrong username or password")


class LoginThrottledError(AccountError):
    """Too many failed logins: the next attempt is accepted in `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed login attempts; try again in {retry_after} s")


class UsernameTakenError(AccountError):
    """A user with that name exists already (names are compared case-insensitively)."""


class AdminExistsError(AccountError):
    """The first-start set-up is over: an account exists already."""


class NotFoundError(AccountError):
    """No such user, token or session."""


@dataclass(frozen=True)
class User:
    """An account (without its password hash)."""

    id: int
    username: str
    is_admin: bool
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class NewSession:
    """A session just started: `session_id` goes in the cookie and is not kept anywhere else."""

    session_id: str
    csrf_token: str
    expires_at: datetime
    user: User


@dataclass(frozen=True)
class ActiveSession:
    """A valid session of a request."""

    id: int
    user: User
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str | None
    address: str | None
    #: True when this lookup moved the expiry forward (the cookie may be sent again).
    touched: bool = False


@dataclass(frozen=True)
class NewToken:
    """A token just created: `token` is shown once and not kept anywhere."""

    id: int
    name: str
    prefix: str
    token: str


@dataclass(frozen=True)
class TokenInfo:
    """An API token as listed (never its text)."""

    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _public(record: repo.UserRecord) -> User:
    return User(
        record.id, record.username, record.is_admin, record.created_at, record.last_login_at
    )


def sha256(text: str) -> str:
    """The hex SHA-256 of `text` (how tokens and session ids are stored)."""
    return hashlib.sha256(text.encode()).hexdigest()


token_hash = sha256


def _key(username: str) -> str:
    return username.strip().casefold()[:64]


# --- users -------------------------------------------------------------------------------------


def check_username(username: str) -> str:
    """The username without surrounding blanks; AccountError when it is not acceptable."""
    name = username.strip()
    if not USERNAME_PATTERN.fullmatch(name):
        raise AccountError(
            "a username is 1 to 64 letters, digits or . _ @ -, starting with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    """`password`; AccountError when it is too short or too long."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password has at most {MAX_PASSWORD} characters")
    return password


def has_users(*, sessions: sessionmaker[Session]) -> bool:
    """Whether any account exists (if not, the web app asks for the admin's)."""
    with sessions() as session:
        return repo.count_users(session=session) > 0


def create_user(
    *, sessions: sessionmaker[Session], username: str, password: str, is_admin: bool = False
) -> User:
    """Add an account; UsernameTakenError when the name (in any case) is taken."""
    name = check_username(username)
    password_hash = password_hasher.hash(check_password(password))
    with sessions() as session:
        if repo.get_user_by_key(session=session, username_key=_key(name)) is not None:
            raise UsernameTakenError(f"the username {name!r} is taken")
        try:
            user_id = repo.add_user(
                session=session,
                username=name,
                username_key=_key(name),
                password_hash=password_hash,
                is_admin=is_admin,
                now=utc_now(),
            )
            session.commit()
        except IntegrityError:
            raise UsernameTakenError(f"the username {name!r} is taken") from None
        return _public(_get(session, user_id))


def create_admin(
    *, sessions: sessionmaker[Session], username: str, password: str, first: bool = True
) -> User:
    """Add an admin. With `first` (the set-up page, `create-admin` without --force) only while
    no account exists at all: AdminExistsError afterwards.
    """
    if first and has_users(sessions=sessions):
        raise AdminExistsError("an account exists already; log in instead")
    return create_user(sessions=sessions, username=username, password=password, is_admin=True)


def list_users(*, sessions: sessionmaker[Session]) -> list[User]:
    """All accounts, oldest first."""
    with sessions() as session:
        return [_public(u) for u in repo.list_users(session=session)]


def _get(session: Session, user_id: int) -> repo.UserRecord:
    record = repo.get_user(session=session, user_id=user_id)
    if record is None:
        raise NotFoundError(f"no user with id {user_id}")
    return record


def set_password(*, sessions: sessionmaker[Session], username: str, password: str) -> User:
    """Give a user a new password (the administrator's reset) and end all their sessions."""
    password_hash = password_hasher.hash(check_password(password))
    with sessions() as session:
        record = repo.get_user_by_key(session=session, username_key=_key(username))
        if record is None:
            raise NotFoundError(f"no user named {username!r}")
        repo.set_password_hash(session=session, user_id=record.id, password_hash=password_hash)
        repo.delete_user_sessions(session=session, user_id=record.id, keep=None)
        session.commit()
        return _public(record)


def change_password(
    *,
    sessions: sessionmaker[Session],
    user_id: int,
    current: str,
    new: str,
    keep_session: str | None = None,
) -> None:
    """Change a user's own password (the current one is required) and end their other sessions."""
    password_hash = password_hasher.hash(check_password(new))
    with sessions() as session:
        record = _get(session, user_id)
    if not _verify(record.password_hash, current):
        raise AccountError("the current password is wrong")
    with sessions() as session:
        repo.set_password_hash(session=session, user_id=user_id, password_hash=password_hash)
        keep = sha256(keep_session) if keep_session else None
        repo.delete_user_sessions(session=session, user_id=user_id, keep=keep)
        session.commit()


# --- login -------------------------------------------------------------------------------------


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash to verify against when the user does not exist (as slow as a real one)."""
    return hasher.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _retry_after(
    session: Session, limits: WebSettings, key: str, address: str, now: datetime
) -> int:
    """Seconds until a login for `key` from `address` is allowed again; 0 when it is now."""
    window = timedelta(seconds=limits.login_window_seconds)
    waits = [0.0]
    keys: tuple[tuple[Literal["username_key", "address"], str], ...] = (
        ("username_key", key),
        ("address", address),
    )
    for by, value in keys:
        failures = repo.recent_failures(
            session=session,
            by=by,
            value=value,
            since=now - window,
            limit=limits.login_max_failures,
        )
        if len(failures) >= limits.login_max_failures:
            waits.append((failures[-1] + window - now).total_seconds())
    return ceil(max(waits))


def authenticate(
    *,
    sessions: sessionmaker[Session],
    limits: WebSettings,
    username: str,
    password: str,
    address: str,
    now: datetime | None = None,
) -> User:
    """The user whose password this is; LoginThrottledError while the username or the address
    is rate-limited, InvalidCredentialsError when the username or the password is wrong.
    """
    now = now or utc_now()
    key, address = _key(username), address[:64]
    with sessions() as session:
        wait = _retry_after(session, limits, key, address, now)
        record = repo.get_user_by_key(session=session, username_key=key) if key else None
    if wait > 0:
        raise LoginThrottledError(wait)
    # Without such a user, a dummy hash is verified all the same: the answer takes as long.
    password = password[:MAX_PASSWORD]
    ok = _verify(record.password_hash if record else _dummy_hash(password_hasher), password)
    user = record if ok else None
    # Hashing is slow: done before the write transaction, which holds SQLite's write lock.
    rehashed = _rehash(user, password)
    with sessions() as session:
        repo.add_login_attempt(
            session=session, username_key=key, address=address, succeeded=bool(user), now=now
        )
        repo.prune_login_attempts(session=session, before=now - KEEP_ATTEMPTS)
        if user is not None:
            _record_login(session, user.id, rehashed, now)
        session.commit()
    if user is None:
        raise InvalidCredentialsError()
    return replace(_public(user), last_login_at=now)


def _rehash(user: repo.UserRecord | None, password: str) -> str | None:
    """A new hash of the password when the user's was made with outdated parameters."""
    if user is None or not password_hasher.check_needs_rehash(user.password_hash):
        return None
    return password_hasher.hash(password)


def _record_login(session: Session, user_id: int, rehashed: str | None, now: datetime) -> None:
    """Note the login, and store the password's new hash if there is one."""
    repo.record_login(session=session, user_id=user_id, now=now)
    if rehashed is not None:
        repo.set_password_hash(session=session, user_id=user_id, password_hash=rehashed)


# --- web sessions ------------------------------------------------------------------------------


def start_session(
    *,
    sessions: sessionmaker[Session],
    user: User,
    hours: float,
    user_agent: str | None = None,
    address: str | None = None,
    replaces: str | None = None,
    now: datetime | None = None,
) -> NewSession:
    """A new session for `user` (a login); the session `replaces` (the old cookie) ends, so a
    session id planted before the login is worthless after it.
    """
    now = now or utc_now()
    session_id, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=hours)
    with sessions() as session:
        if replaces:
            repo.delete_session_by_hash(session=session, session_hash=sha256(replaces))
        repo.delete_expired_sessions(session=session, now=now)
        repo.add_session(
            session=session,
            session_hash=sha256(session_id),
            user_id=user.id,
            csrf_token=csrf_token,
            now=now,
            expires_at=expires_at,
            user_agent=(user_agent or "")[:255] or None,
            address=(address or "")[:64] or None,
        )
        session.commit()
    return NewSession(session_id, csrf_token, expires_at, user)


def _active(record: repo.SessionRecord) -> ActiveSession:
    return ActiveSession(
        id=record.id,
        user=_public(record.user),
        csrf_token=record.csrf_token,
        created_at=record.created_at,
        last_seen_at=record.last_seen_at,
        expires_at=record.expires_at,
        user_agent=record.user_agent,
        address=record.address,
    )


def resolve_session(
    *,
    sessions: sessionmaker[Session],
    session_id: str,
    hours: float,
    now: datetime | None = None,
    reads: sessionmaker[Session] | None = None,
) -> ActiveSession | None:
    """The valid session with this id, its expiry moved `hours` past now (written at most once
    a minute); None when there is no such session or it expired. The lookup goes through
    `reads` (read-only sessions) when given; writes always through `sessions`.
    """
    now = now or utc_now()
    if not session_id or len(session_id) > 128:
        return None
    with (reads or sessions)() as session:
        record = repo.get_session_by_hash(session=session, session_hash=sha256(session_id))
    if record is None:
        return None
    if record.expires_at <= now:
        with sessions() as session:
            repo.delete_session(session=session, session_id=record.id, user_id=record.user.id)
            session.commit()
        return None
    if now - record.last_seen_at < TOUCH_EVERY:
        return _active(record)
    expires_at = now + timedelta(hours=hours)
    with sessions() as session:
        repo.touch_session(session=session, session_id=record.id, now=now, expires_at=expires_at)
        session.commit()
    return replace(_active(record), last_seen_at=now, expires_at=expires_at, touched=True)


def end_session(*, sessions: sessionmaker[Session], session_id: str) -> None:
    """Log out: the session ends (nothing happens when it does not exist)."""
    with sessions() as session:
        repo.delete_session_by_hash(session=session, session_hash=sha256(session_id))
        session.commit()


def list_sessions(
    *, sessions: sessionmaker[Session], user_id: int, now: datetime | None = None
) -> list[ActiveSession]:
    """The user's valid sessions, most recently used first."""
    with sessions() as session:
        records = repo.list_sessions(session=session, user_id=user_id, now=now or utc_now())
        return [_active(r) for r in records]


def revoke_session(*, sessions: sessionmaker[Session], user_id: int, session_pk: int) -> None:
    """End one of the user's sessions (by its row id); NotFoundError when it is not theirs."""
    with sessions() as session:
        if not repo.delete_session(session=session, session_id=session_pk, user_id=user_id):
            raise NotFoundError(f"no session {session_pk}")
        session.commit()


# --- API tokens --------------------------------------------------------------------------------


def create_token(*, sessions: sessionmaker[Session], user_id: int, name: str) -> NewToken:
    """A new API token for the user; its text is in the result and nowhere else."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise AccountError("a token name is 1 to 100 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    prefix = token[:TOKEN_DISPLAY_LENGTH]
    with sessions() as session:
        _get(session, user_id)
        token_id = repo.add_token(
            session=session,
            user_id=user_id,
            name=name,
            prefix=prefix,
            token_hash=sha256(token),
            now=utc_now(),
        )
        session.commit()
    return NewToken(token_id, name, prefix, token)


def create_token_for(*, sessions: sessionmaker[Session], username: str, name: str) -> NewToken:
    """`create_token` for the user of that name (the command line's way)."""
    with sessions() as session:
        record = repo.get_user_by_key(session=session, username_key=_key(username))
    if record is None:
        raise NotFoundError(f"no user named {username!r}")
    return create_token(sessions=sessions, user_id=record.id, name=name)


def verify_token(
    *,
    sessions: sessionmaker[Session],
    token: str,
    now: datetime | None = None,
    reads: sessionmaker[Session] | None = None,
) -> User | None:
    """The user of a valid (unrevoked) token; None otherwise. The last use is written at most
    once a minute. The lookup goes through `reads` when given; the write through `sessions`.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    now = now or utc_now()
    with (reads or sessions)() as session:
        record = repo.get_token_by_hash(session=session, token_hash=sha256(token))
    if record is None or record.revoked_at is not None:
        return None
    if record.last_used_at is None or now - record.last_used_at >= TOUCH_EVERY:
        with sessions() as session:
            repo.touch_token(session=session, token_id=record.id, now=now)
            session.commit()
    return _public(record.user)


def list_tokens(*, sessions: sessionmaker[Session], user_id: int | None = None) -> list[TokenInfo]:
    """The tokens (of one user, or everyone's), revoked ones too, newest first."""
    with sessions() as session:
        records = repo.list_tokens(session=session, user_id=user_id)
    return [
        TokenInfo(
            r.id, r.user.username, r.name, r.prefix, r.created_at, r.last_used_at, r.revoked_at
        )
        for r in records
    ]


def revoke_token(
    *, sessions: sessionmaker[Session], token_id: int, user_id: int | None = None
) -> None:
    """Revoke a token (only the user's own when `user_id` is given); NotFoundError when there
    is no such token, or it was revoked already.
    """
    with sessions() as session:
        if not repo.revoke_token(
            session=session, token_id=token_id, now=utc_now(), user_id=user_id
        ):
            raise NotFoundError(f"no active token with id {token_id}")
        session.commit()
