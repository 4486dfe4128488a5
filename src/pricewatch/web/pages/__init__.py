"""The server-rendered pages: dashboard, product, jobs console (all need a logged-in user)."""

from fastapi import APIRouter

from pricewatch.web.pages import dashboard, jobs, product

router = APIRouter(include_in_schema=False)
router.include_router(dashboard.router)
router.include_router(product.router)
router.include_router(jobs.router)
