"""Value types for what flows into the analyzers: video frames and audio chunks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
"""An H×W×3 BGR image, as OpenCV uses."""

AUDIO_SAMPLE_RATE = 16_000
"""Every audio chunk is 16 kHz mono signed 16-bit PCM (what webrtcvad accepts)."""


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded video frame with its time in the recording."""

    index: int
    timestamp_s: float
    image: Image

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(f"Frame.image must be H×W×3 uint8, got {self.image.shape} {self.image.dtype}")

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
