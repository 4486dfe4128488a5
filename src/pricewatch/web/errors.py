"""JSON errors for the API: a clear message and the right status code, never a bare 500."""

from fastapi import FastAPI


def install_error_handlers(app: FastAPI) -> None:
    """Register the app's exception handlers."""
