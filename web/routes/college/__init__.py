"""The college API (`/api/v1`): exams, candidates, sessions, recordings, events, verdicts, webhooks, people."""

from fastapi import APIRouter

from web.routes.college import exams, people, sessions

router = APIRouter(prefix="/api/v1")
router.include_router(exams.router)
router.include_router(sessions.router)
router.include_router(people.router)

__all__ = ["router"]
