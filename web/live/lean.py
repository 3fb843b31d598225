"""The lean analysis stream: what the exam page is asked to send over WebRTC, and no more.

The live analysis looks at `analysis_rate_hz` frames a second (15 during a room scan) and its models work
on small images (BlazeFace sees 128 px, FaceMesh 192, Pose 256), but a browser sends its camera's full size
at up to 30 frames a second, which the server must receive and decode whole. The page therefore scales the
video down to ANALYSIS_WIDTH for the peer connection (`scaleResolutionDownBy`, `maxFramerate`, a bitrate
cap) and the server's answer asks for 60 ms Opus packets (a third of the packets of the default 20 ms).
The page's own recording (MediaRecorder) keeps the camera's full size and rate: it is the evidence.

The width was chosen by `python -m benchmarks.analysis_size` (the README's table): at 320 px the face
count agrees with the full size on ≥ 97 % of frames, head yaw within a degree at the median, identity
distances within 0.02 at the median.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from proctor.policy import Policy

ANALYSIS_WIDTH = 320
"""Width of the video the page sends for analysis (its camera's aspect ratio is kept)."""

MAX_BITRATE = 200_000
"""Bits a second for the analysis video at the exam's rate (320×240 at 6 frames a second needs about 150 k)."""

SCAN_MAX_BITRATE = 500_000
"""… and during a room scan (three times the frames, more motion)."""

AUDIO_PACKET_MS = 60
"""Opus packet time asked for in the answer (RFC 4566 `a=ptime`): 60 ms packets, not the default 20."""


def analysis_stream(policy: Policy) -> dict[str, Any]:
    """The stream the page is asked to send, as the welcome message carries it."""
    return {
        "width": ANALYSIS_WIDTH,
        "fps": policy.analysis_rate_hz,
        "scan_fps": policy.room_scan.analysis_rate_hz,
        "max_bitrate": MAX_BITRATE,
        "scan_max_bitrate": SCAN_MAX_BITRATE,
        "audio_packet_ms": AUDIO_PACKET_MS,
    }


_SECTION = re.compile(r"(?=^m=)", re.MULTILINE)


def with_packet_time(sdp: str, packet_ms: int = AUDIO_PACKET_MS) -> str:
    """The answer `sdp` with `a=ptime:packet_ms` in each audio section that has none (a browser's Opus encoder
    sends packets of that length; one that does not know the attribute ignores it)."""
    newline = "\r\n" if "\r\n" in sdp else "\n"
    sections = _SECTION.split(sdp)
    for index, section in enumerate(sections):
        if section.startswith("m=audio") and "a=ptime:" not in section:
            body = section if section.endswith(newline) else section + newline
            sections[index] = f"{body}a=ptime:{packet_ms}{newline}"
    return "".join(sections)


@dataclass
class Received:
    """What the page actually sent (a browser may not honour every request): kept in the session's report."""

    frames: int = 0
    first_s: float | None = None
    last_s: float = 0.0
    width: int = 0
    height: int = 0
    audio_packets: int = 0
    audio_s: float = 0.0

    def video(self, t: float, width: int, height: int) -> None:
        self.frames += 1
        self.first_s = t if self.first_s is None else self.first_s
        self.last_s, self.width, self.height = t, width, height

    def audio(self, duration_s: float) -> None:
        self.audio_packets += 1
        self.audio_s += duration_s

    def to_json(self) -> dict[str, Any]:
        span = self.last_s - (self.first_s or 0.0)
        rate = (self.frames - 1) / span if self.frames > 1 and span > 0 else None
        packet = 1000 * self.audio_s / self.audio_packets if self.audio_packets else None
        return {
            "video": {"width": self.width, "height": self.height, "frames_per_s": round(rate, 2) if rate else None},
            "audio_packet_ms": round(packet, 1) if packet else None,
        }
