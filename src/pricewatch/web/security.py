"""Security of the web process: headers on every response, sessions, CSRF, login rate limits."""

from fastapi import FastAPI


def install_security(app: FastAPI) -> None:
    """Add the security middleware to `app`."""
