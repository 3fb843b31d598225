"""Image quality: darkness and a covered lens, so that 'could not see' is never read as misconduct."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from proctor.frames import GrayImage, Image, bgr_to_gray


class QualityConfig(BaseModel):
    """When the camera counts as too dark or blocked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low_light_brightness: float = Field(
        45.0,
        ge=0.0,
        le=255.0,
        title="Low light",
        description="Mean grey level (0–255) below which the frame is too dark to judge.",
    )
    blocked_contrast: float = Field(
        6.0,
        ge=0.0,
        le=128.0,
        title="Blocked lens",
        description="Grey-level standard deviation below which the frame is featureless (lens covered).",
    )


@dataclass(frozen=True)
class ImageQuality:
    """Brightness and contrast of one frame, and what they mean."""

    brightness: float
    contrast: float
    low_light: bool
    blocked: bool


def measure_quality(image: Image, config: QualityConfig) -> ImageQuality:
    """Mean and standard deviation of a small grey thumbnail of a BGR image (well under a millisecond)."""
    return measure_gray_quality(bgr_to_gray(image), config)


def measure_gray_quality(gray: GrayImage, config: QualityConfig) -> ImageQuality:
    """Mean and standard deviation of a small thumbnail of a frame's luma."""
    grey = cv2.resize(gray, (80, 60), interpolation=cv2.INTER_AREA)
    brightness = float(np.mean(grey))
    contrast = float(np.std(grey))
    blocked = contrast < config.blocked_contrast
    return ImageQuality(
        brightness=brightness,
        contrast=contrast,
        low_light=not blocked and brightness < config.low_light_brightness,
        blocked=blocked,
    )
