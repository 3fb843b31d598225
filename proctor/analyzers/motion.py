"""Motion energy: the cheap first stage, a frame difference on a small grey thumbnail."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from proctor.frames import GrayImage, Image, bgr_to_gray

_THUMB = (64, 48)


class MotionMeter:
    """Mean absolute difference (0–1) between consecutive thumbnails; well under a millisecond."""

    def __init__(self) -> None:
        self._previous: npt.NDArray[np.float32] | None = None

    def measure(self, image: Image) -> float:
        """Motion energy of this BGR frame relative to the previous one (0 for the first frame)."""
        return self.measure_gray(bgr_to_gray(image))

    def measure_gray(self, gray: GrayImage) -> float:
        """Motion energy of this frame's luma relative to the previous one (0 for the first frame)."""
        thumb = cv2.resize(gray, _THUMB, interpolation=cv2.INTER_AREA)
        current = thumb.astype(np.float32) / 255.0
        previous, self._previous = self._previous, current
        if previous is None:
            return 0.0
        return float(np.mean(np.abs(current - previous)))

    def reset(self) -> None:
        """Forget the previous frame (after a gap in the stream)."""
        self._previous = None
