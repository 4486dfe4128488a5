"""The server-rendered pages: dashboard, product, jobs console."""

from fastapi import APIRouter

router = APIRouter()
