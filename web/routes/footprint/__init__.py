"""The footprint API (`/api/v1/footprint`, the college's key): catalogue imports, indicators, compliance,
the adverse-weather day report and evidence bundles, each computed at a signed ledger checkpoint."""

from fastapi import APIRouter

from web.routes.footprint import catalogue, indicators

router = APIRouter(prefix="/api/v1/footprint", tags=["footprint"])
router.include_router(catalogue.router)
router.include_router(indicators.router)

__all__ = ["router"]
