"""Screen in view: whether the phone beside the candidate sees the candidate's own screen.

No detector for "a screen" ships with the platform's models, but when the exam records the shared screen the
platform knows what that screen shows: the screen's picture of the same moment is looked for in the phone's
picture. ORB features of both (grey; the screen described at two sizes, since it is smaller in the phone's picture
than on the screen), nearest matches kept by Lowe's ratio test, and an affine map fitted with RANSAC (a phone beside
the screen sees it at a moderate angle). A fit that is no view of a screen — mirrored, squashed, the screen shrunk
to a speck, as a fit to one blurred spot's many similar features is — is set aside with its matches and the rest
fitted again (MAX_FITS). The screen is in view when at least MIN_INLIERS matches agree on a plausible map.

Measured on a rendered exam page seen by a phone (tests/proctor/test_screenview.py): found at 16–32 % of the
phone's picture, head-on, beside or at an angle, dimmed, blurred (σ 2) and JPEG'd, with 27–83 agreeing matches; in
39 s of a real person at a desk (no screen in view: `make bench-side`) no picture had more than 15 on a plausible
map. What it cannot tell: a screen under about a tenth of the phone's picture (its text a few pixels high) is not
found; a second screen showing the same page counts as the screen; without a shared screen nothing is checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from proctor.frames import GrayImage

FEATURES = 3000
"""ORB keypoints per picture."""
RATIO = 0.8
"""Lowe's ratio test: a match is kept when it is clearly nearer than the second nearest."""
MIN_INLIERS = 20
"""Matches that must agree on one map (the rendered page seen by a phone: 27–83; a room without it: at most 15 on a
plausible map)."""
MAX_ANISOTROPY = 3.0
"""The most a plausible map stretches one direction against the other (a phone beside the screen: 1.2–2.0)."""
REPROJECTION_PX = 6.0
MAX_FITS = 3
"""Fits tried: matches that agree on an implausible map (the screen shrunk to a speck, where many blurred features
of one spot match) are set aside and the rest fitted again."""
MIN_AREA_SHARE = 0.02
MAX_AREA_SHARE = 0.95
"""The screen's outline in the phone's picture: at least 2 % of it, and not more than all of it."""
PHONE_WIDTH = 640
"""The phone's picture is described at this width (its keyframes are decoded at most this wide)."""
SCREEN_WIDTHS = (480, 320)
"""The screen's picture is described at these widths (the phone sees it smaller than it is)."""


@dataclass(frozen=True)
class ScreenFeatures:
    """A picture's ORB keypoints (as points) and descriptors, at the size they were found."""

    width: int
    height: int
    points: npt.NDArray[np.float32]
    descriptors: npt.NDArray[np.uint8] | None


@dataclass(frozen=True)
class ScreenSeen:
    """Whether the screen was found in the phone's picture, with how many matches agreed and its outline's share."""

    found: bool
    inliers: int
    area_share: float


NOT_SEEN = ScreenSeen(False, 0, 0.0)


class ScreenFinder:
    """Finds a screen's picture in the phone's (not thread-safe: one per thread, or behind a lock)."""

    def __init__(self) -> None:
        self._orb = cv2.ORB.create(nfeatures=FEATURES)
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)

    def screen(self, grey: GrayImage) -> tuple[ScreenFeatures, ...]:
        """The screen's picture described at each of SCREEN_WIDTHS."""
        return tuple(self._features(grey, width) for width in SCREEN_WIDTHS)

    def phone(self, grey: GrayImage) -> ScreenFeatures:
        """The phone's picture described."""
        return self._features(grey, PHONE_WIDTH)

    def find(self, screen: tuple[ScreenFeatures, ...], seen: ScreenFeatures) -> ScreenSeen:
        """Whether the screen appears in the phone's picture `seen`: the best of its sizes."""
        found = [self._find_one(size, seen) for size in screen]
        return max(found, key=lambda result: (result.found, result.inliers), default=NOT_SEEN)

    def _features(self, grey: GrayImage, width: int) -> ScreenFeatures:
        if grey.shape[1] > width:
            height = max(1, round(grey.shape[0] * width / grey.shape[1]))
            grey = np.asarray(cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA), dtype=np.uint8)
        keypoints, descriptors = self._orb.detectAndCompute(grey, None)
        points = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
        described = None if descriptors is None else np.asarray(descriptors, dtype=np.uint8)
        return ScreenFeatures(grey.shape[1], grey.shape[0], points, described)

    def _find_one(self, screen: ScreenFeatures, seen: ScreenFeatures) -> ScreenSeen:
        if screen.descriptors is None or seen.descriptors is None or len(screen.points) < 3 or len(seen.points) < 3:
            return NOT_SEEN
        pairs = self._matcher.knnMatch(screen.descriptors, seen.descriptors, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
        if len(good) < MIN_INLIERS:
            return ScreenSeen(False, len(good), 0.0)
        source = screen.points[[m.queryIdx for m in good]]
        target = seen.points[[m.trainIdx for m in good]]
        corners = np.array([[0, 0], [screen.width, 0], [screen.width, screen.height], [0, screen.height]], np.float32)
        best = NOT_SEEN
        for _ in range(MAX_FITS):  # a fit that shrinks the screen to a speck is set aside with its matches
            if len(source) < MIN_INLIERS:
                break
            affine, mask = cv2.estimateAffine2D(
                source, target, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX
            )
            if affine is None or mask is None:
                break
            inliers = mask.reshape(-1).astype(bool)
            outline = (corners @ affine[:, :2].T + affine[:, 2]).astype(np.float32)
            share = round(float(cv2.contourArea(outline)) / float(seen.width * seen.height), 4)
            if _plausible(np.asarray(affine, dtype=np.float64), share):
                return ScreenSeen(int(inliers.sum()) >= MIN_INLIERS, int(inliers.sum()), share)
            if int(inliers.sum()) > best.inliers:
                best = ScreenSeen(False, int(inliers.sum()), share)
            source, target = source[~inliers], target[~inliers]
        return best


def _plausible(affine: npt.NDArray[np.float64], share: float) -> bool:
    """A map a phone's view of a screen can have: not mirrored, not squashed more than MAX_ANISOTROPY in one direction
    (a fit to one spot's blurred features is), and the screen's outline a plausible share of the picture."""
    linear = affine[:, :2]
    stretch = np.linalg.svd(linear, compute_uv=False)
    squashed = float(stretch[0]) > MAX_ANISOTROPY * float(stretch[1])
    return float(np.linalg.det(linear)) > 0 and not squashed and MIN_AREA_SHARE <= share <= MAX_AREA_SHARE
