"""The desk's footprint pages (`/desk/footprint/…`, the college's signed-in admins): indicators, compliance,
a learner's timeline and the adverse-weather day, with charts drawn on the server."""

from web.pages.footprint.pages import router

__all__ = ["router"]
