"""Audio analyzer: level in dBFS against the room's calibrated floor, and webrtcvad speech share."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np
import webrtcvad
from pydantic import BaseModel, ConfigDict, Field

from proctor.frames import AUDIO_SAMPLE_RATE, AudioChunk

_VAD_FRAME = AUDIO_SAMPLE_RATE * 30 // 1000  # webrtcvad takes 10, 20 or 30 ms frames
SILENCE_DBFS = -96.0


class AudioConfig(BaseModel):
    """Speech and noise thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_s: float = Field(
        1.0, ge=0.3, le=10.0, title="Window", description="Length of one audio analysis window in seconds."
    )
    vad_aggressiveness: int = Field(
        3,
        ge=0,
        le=3,
        title="VAD aggressiveness",
        description="webrtcvad mode: 0 accepts most sounds as speech, 3 is the strictest.",
    )
    speech_share: float = Field(
        0.5,
        ge=0.05,
        le=1.0,
        title="Speech share",
        description="Share of 30 ms frames with speech that makes a window a speech window.",
    )
    min_speech_dbfs: float = Field(
        -50.0,
        ge=-96.0,
        le=0.0,
        title="Speech gate",
        description="Windows quieter than this are never speech (the VAD gets no faint hiss to judge).",
    )
    noise_margin_db: float = Field(
        20.0,
        ge=3.0,
        le=60.0,
        title="Noise margin",
        description="Level above the calibrated floor, in dB, that counts as high noise.",
    )
    noise_min_dbfs: float = Field(
        -30.0,
        ge=-96.0,
        le=0.0,
        title="Noise minimum",
        description="High noise must also be louder than this absolute level.",
    )
    calibration_s: float = Field(
        5.0,
        ge=0.0,
        le=120.0,
        title="Floor calibration",
        description="Seconds at the start whose quietest windows set the room's noise floor.",
    )


@dataclass(frozen=True)
class AudioObservation:
    """One audio window: loudness, the room floor and how much of it was speech."""

    start_s: float
    end_s: float
    level_dbfs: float
    floor_dbfs: float
    speech_share: float
    speech: bool
    loud: bool
    """Loud and not speech (speech has its own event)."""


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level of int16 samples in dB relative to full scale."""
    if len(samples) == 0:
        return SILENCE_DBFS
    rms = math.sqrt(float(np.mean(np.square(samples.astype(np.float64)))))
    return max(SILENCE_DBFS, 20.0 * math.log10(rms / 32768.0)) if rms > 0 else SILENCE_DBFS


class AudioAnalyzer:
    """Turns audio chunks into windows of level, floor and speech share (cheap: about 1 ms a second)."""

    def __init__(self, config: AudioConfig | None = None) -> None:
        self.config = config or AudioConfig()
        self._vad = webrtcvad.Vad(self.config.vad_aggressiveness)
        self._calibration: list[float] = []
        self._floor: float | None = None

    def observe(self, chunk: AudioChunk) -> AudioObservation:
        """Analyse one window-sized chunk."""
        samples = chunk.samples
        level = level_dbfs(samples)
        floor = self._update_floor(chunk.timestamp_s, level)
        share = self._speech_share(samples) if level >= self.config.min_speech_dbfs else 0.0
        speech = share >= self.config.speech_share
        return AudioObservation(
            start_s=chunk.timestamp_s,
            end_s=chunk.timestamp_s + chunk.duration_s,
            level_dbfs=level,
            floor_dbfs=floor,
            speech_share=share,
            speech=speech,
            loud=not speech and level >= max(floor + self.config.noise_margin_db, self.config.noise_min_dbfs),
        )

    def _speech_share(self, samples: np.ndarray) -> float:
        frames = len(samples) // _VAD_FRAME
        if frames == 0:
            return 0.0
        data = samples[: frames * _VAD_FRAME].tobytes()
        step = _VAD_FRAME * 2
        voiced: int = sum(
            bool(self._vad.is_speech(data[i * step : (i + 1) * step], AUDIO_SAMPLE_RATE)) for i in range(frames)
        )
        return voiced / frames

    def _update_floor(self, timestamp_s: float, level: float) -> float:
        """The room floor: the 20th percentile of the calibration windows (speech does not raise it)."""
        if self._floor is not None:
            return self._floor
        if timestamp_s < self.config.calibration_s or not self._calibration:
            self._calibration.append(level)
        levels = sorted(self._calibration)
        floor = float(levels[int(0.2 * (len(levels) - 1))]) if len(levels) > 1 else statistics.fmean(levels)
        if timestamp_s >= self.config.calibration_s:
            self._floor = floor
        return floor
