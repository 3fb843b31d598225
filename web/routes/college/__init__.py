"""The college API (`/api/v1`): exams, candidates and their reference photos, sessions, recordings, events, verdicts,
webhooks, people, keys."""

from fastapi import APIRouter

from web.routes.college import exams, keys, people, photos, sessions

router = APIRouter(prefix="/api/v1")
router.include_router(exams.router)
router.include_router(photos.router)
router.include_router(sessions.router)
router.include_router(people.router)
router.include_router(keys.router)

__all__ = ["router"]
