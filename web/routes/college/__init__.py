"""The college API (`/api/v1`): exams, candidates and their reference photos, sessions, recordings, events, verdicts,
webhooks, people, keys, the access trail, and foreign material in written answers."""

from fastapi import APIRouter

from web.routes.college import access, exams, keys, material, people, photos, privacy, sessions

router = APIRouter(prefix="/api/v1")
router.include_router(exams.router)
router.include_router(photos.router)
router.include_router(sessions.router)
router.include_router(people.router)
router.include_router(keys.router)
router.include_router(access.router)
router.include_router(privacy.router)
router.include_router(material.router)

__all__ = ["router"]
