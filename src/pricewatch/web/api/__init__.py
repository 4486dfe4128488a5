"""The REST API under /api: every endpoint needs an API user (bearer token, or a session cookie
with the CSRF header on unsafe methods), except GET /api/info.
"""

from fastapi import APIRouter, Depends

from pricewatch.web.api import jobs, products, system
from pricewatch.web.deps import api_user

router = APIRouter()
router.include_router(system.router)
router.include_router(products.router, dependencies=[Depends(api_user)])
router.include_router(jobs.router, dependencies=[Depends(api_user)])

__all__ = ["router"]
