"""The side camera's screen-in-view check on a rendered exam page seen by a phone: a real room (a frame of
WolfgangLanger_Pexels.mp4) with the page warped into a laptop's outline, softened, dimmed and JPEG'd."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from proctor.analyzers.screenview import MIN_INLIERS, ScreenFinder
from tests.fixtures.fetch import media_path
from tests.fixtures.screens import PhoneShot, phone_view, render_screen

SHOTS = {
    "beside": PhoneShot(),
    "in front": PhoneShot(corners=((0.42, 0.18), (0.92, 0.26), (0.90, 0.70), (0.44, 0.74))),
    "at an angle": PhoneShot(corners=((0.30, 0.20), (0.95, 0.10), (0.95, 0.85), (0.32, 0.70))),
    "on the left": PhoneShot(corners=((0.05, 0.35), (0.45, 0.30), (0.47, 0.80), (0.03, 0.78))),
    "blurred": PhoneShot(blur_sigma=2.0, jpeg_quality=50),
    "dim": PhoneShot(gain=0.5, offset=5.0),
}


def grey(image: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


@pytest.fixture(scope="module")
def finder() -> ScreenFinder:
    return ScreenFinder()


@pytest.mark.parametrize("shot", list(SHOTS))
def test_the_shared_screen_is_found_in_the_phones_picture(finder: ScreenFinder, shot: str) -> None:
    screen = render_screen("welding")
    seen = finder.find(finder.screen(grey(screen)), finder.phone(grey(phone_view(screen, SHOTS[shot]))))
    corners = np.array(SHOTS[shot].corners, dtype=np.float32)
    truth = cv2.contourArea(corners)  # the screen's true share of the phone's picture
    assert seen.found, seen
    assert seen.area_share == pytest.approx(truth, rel=0.35), (seen, truth)


@pytest.mark.parametrize("subject", ["welding", "accounting"])
def test_a_room_without_the_screen_has_no_screen_in_view(finder: ScreenFinder, subject: str) -> None:
    screen = finder.screen(grey(render_screen(subject)))
    seen = finder.find(screen, finder.phone(grey(phone_view(None))))
    assert not seen.found and seen.inliers < MIN_INLIERS, seen


def test_a_picture_that_is_not_the_shared_screen_is_not_taken_for_it(finder: ScreenFinder) -> None:
    photo = cv2.resize(cv2.imread(str(media_path("multi_face.jpg"))), (1280, 720))
    seen = finder.find(finder.screen(grey(photo)), finder.phone(grey(phone_view(render_screen("welding")))))
    assert not seen.found, seen  # another screen's content (a photo) is not where the exam page is
