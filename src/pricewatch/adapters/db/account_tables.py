"""The account tables: users, their API tokens and login sessions, login attempts, preferences.

Secrets are never stored: a token or a session id is kept as the SHA-256 of its text, so a copy
of the database does not let anyone in. Passwords are argon2id hashes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from pricewatch.adapters.db.tables import Base, BigId, table
from pricewatch.adapters.db.types import UtcDateTime


class User(Base):
    """An account of the web app (and the owner of API tokens)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The name as typed at creation; `username_key` (its casefold) is what is unique.
    username: Mapped[str] = mapped_column(String(64))
    username_key: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ApiToken(Base):
    """A bearer token for /api: only its SHA-256 and a short prefix (to recognise it) are kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: Updated at most once a minute (a write on every request would slow the API down).
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebSession(Base):
    """A login of a browser: the cookie holds the session id, the row its SHA-256."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: Slides forward with use (`settings.web.session_hours` after the last request).
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    user_agent: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(64))


class LoginAttempt(Base):
    """One login attempt, for rate limits that hold across restarts and processes."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The casefolded username that was tried (whether or not such a user exists).
    username_key: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        # The recent attempts of one username, and of one address (the two rate limits).
        Index("ix_login_attempts_username_key_at", "username_key", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )


class AppPreference(Base):
    """One application-wide preference set in the web app (e.g. the default check interval)."""

    __tablename__ = "app_preferences"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


users = table(User)
api_tokens = table(ApiToken)
web_sessions = table(WebSession)
login_attempts = table(LoginAttempt)
app_preferences = table(AppPreference)

__all__ = [
    "ApiToken",
    "AppPreference",
    "LoginAttempt",
    "User",
    "WebSession",
    "api_tokens",
    "app_preferences",
    "login_attempts",
    "users",
    "web_sessions",
]
