"""Value types for what flows into the analyzers: video frames and audio chunks."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
"""An H×W×3 BGR image, as OpenCV uses."""

GrayImage = npt.NDArray[np.uint8]
"""An H×W single-channel (luma) image."""

AUDIO_SAMPLE_RATE = 16_000
"""Every audio chunk is 16 kHz mono signed 16-bit PCM (what webrtcvad accepts)."""


def bgr_to_rgb(image: Image) -> Image:
    """A BGR image (a photo, a test picture) as the models take it: RGB, C-contiguous."""
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), dtype=np.uint8)


@dataclass(frozen=True)
class I420Picture:
    """One frame as the live video's frames are handed on: its session time and its I420 (YUV 4:2:0) planes, half
    the bytes of BGR (converted where it is used, never on the event loop)."""

    at_s: float
    width: int
    height: int
    yuv: bytes = field(repr=False)

    def bgr(self) -> Image:
        planes = np.frombuffer(self.yuv, dtype=np.uint8).reshape(self.height * 3 // 2, self.width)
        return np.ascontiguousarray(cv2.cvtColor(planes, cv2.COLOR_YUV2BGR_I420), dtype=np.uint8)


def bgr_to_gray(image: Image) -> GrayImage:
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded video frame with its time in the recording.

    `image` is BGR (OpenCV's order: evidence pictures, crops); the models read `rgb` and the cheap stages
    `gray`, each made at most once per frame. A frame decoded as RGB (`from_rgb`, what the decoders give)
    has its BGR `image` as a view of the same pixels: one colour conversion per frame for the models."""

    index: int
    timestamp_s: float
    image: Image

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(f"Frame.image must be H×W×3 uint8, got {self.image.shape} {self.image.dtype}")

    @classmethod
    def from_rgb(cls, index: int, timestamp_s: float, rgb: Image) -> Frame:
        """A frame of an RGB image, which it keeps as its `rgb` (its `image` is the BGR view of it)."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)  # a no-op for a decoder's own array
        frame = cls(index, timestamp_s, rgb[:, :, ::-1])
        frame.__dict__["rgb"] = rgb
        return frame

    def at(self, timestamp_s: float) -> Frame:
        """The same picture at another time (a file placed on a session's timeline), its conversions kept."""
        frame = Frame(self.index, timestamp_s, self.image)
        frame.__dict__.update({k: v for k, v in self.__dict__.items() if k in ("rgb", "gray")})
        return frame

    @cached_property
    def rgb(self) -> Image:
        """The picture in RGB order, C-contiguous (what mediapipe and dlib take)."""
        return bgr_to_rgb(self.image)

    @cached_property
    def gray(self) -> GrayImage:
        """The picture's luma (OpenCV's BGR → grey weights)."""
        return np.asarray(cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True, eq=False)
class AudioChunk:
    """A contiguous piece of 16 kHz mono int16 audio starting at `timestamp_s`."""

    timestamp_s: float
    samples: npt.NDArray[np.int16]

    def __post_init__(self) -> None:
        if self.samples.ndim != 1 or self.samples.dtype != np.int16:
            raise ValueError("AudioChunk.samples must be a 1-D int16 array")

    @property
    def duration_s(self) -> float:
        return len(self.samples) / AUDIO_SAMPLE_RATE
