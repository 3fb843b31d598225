"""Photos from outside (reference photos): decoded only after their header shows a sane size.

A small file can declare an enormous image (a decompression bomb: 20,000 × 20,000 pixels is 1.2 GB
decoded). The header is read first with Pillow, which decodes nothing, and the image is decoded with
OpenCV only when its pixel count is within MAX_PHOTO_PIXELS.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from proctor.errors import ReferencePhotoError
from proctor.frames import Image

MAX_PHOTO_PIXELS = 40_000_000
"""Largest photo decoded (40 megapixels: above any phone camera's default, below a memory problem)."""

# Pillow only reads headers here; the size check below is ours (stricter), so its own warning is off.
PILImage.MAX_IMAGE_PIXELS = None


def decode_photo(data: bytes, name: str = "the photo") -> Image:
    """A photo as a BGR image; ReferencePhotoError when it is not an image or declares too many pixels."""
    try:
        with PILImage.open(io.BytesIO(data)) as header:
            width, height = header.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ReferencePhotoError(f"{name} is not a readable image (JPEG, PNG, …)") from exc
    if width * height > MAX_PHOTO_PIXELS:
        raise ReferencePhotoError(
            f"{name} is {width}×{height} pixels; at most {MAX_PHOTO_PIXELS / 1e6:.0f} megapixels are accepted"
        )
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ReferencePhotoError(f"{name} is not a readable image (JPEG, PNG, …)")
    return np.ascontiguousarray(image, dtype=np.uint8)
