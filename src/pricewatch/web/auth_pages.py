"""Account pages: first-start setup, login, logout, settings (account, API tokens)."""

from fastapi import APIRouter

router = APIRouter()
