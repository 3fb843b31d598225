"""`proctor analyze --scan`: a room-scan window inside an exam recording is measured, not judged."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from proctor.analyze import analyze_recording
from proctor.decode import iter_frames
from proctor.events.vocabulary import SCORED, EventType
from proctor.policy import PRESETS
from proctor.roomscan import ScanWindow
from tests.fixtures.scenarios import FPS, HEIGHT, WIDTH, write_video
from tests.roomscan.render import eased, render_scan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exam_with_scan(tmp_path_factory: pytest.TempPathFactory, media: Path) -> Path:
    """8 s of a real 360° room scan (rendered from a panorama of real photos), then 8 s of the candidate."""
    folder = tmp_path_factory.mktemp("exam_scan")
    scan = render_scan(folder / "scan.mp4", eased([(0.0, 0.0), (8.0, 370.0)]), 8.0, fps=FPS, size=(WIDTH, HEIGHT))
    frames = [f.image for f in iter_frames(scan.path, None)]
    frames += [
        cv2.resize(f.image, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
        for f in iter_frames(media / "WolfgangLanger_Pexels.mp4", FPS)
        if f.timestamp_s < 8.0
    ]
    video = folder / "exam.mp4"
    write_video(video, frames, None)
    return video


def test_scan_window_is_measured_and_not_judged(exam_with_scan: Path) -> None:
    result = analyze_recording(exam_with_scan, None, PRESETS["interim"], scans=[ScanWindow(0.0, 8.0)])
    kinds = [e.type for e in result.events]
    assert EventType.ROOM_SCAN_REQUESTED in kinds
    assert EventType.ROOM_SCAN_COMPLETED in kinds
    completed = next(e for e in result.events if e.type is EventType.ROOM_SCAN_COMPLETED)
    assert float(completed.measurements["coverage_deg"]) >= 330.0
    inside = [e for e in result.events if e.type in SCORED and e.start_s < 8.0]
    assert inside == []
    assert EventType.VIDEO_LOST not in kinds  # the window is not a gap


def test_without_the_window_the_scan_reads_as_an_empty_seat(exam_with_scan: Path) -> None:
    result = analyze_recording(exam_with_scan, None, PRESETS["interim"])
    assert any(e.type is EventType.FACE_ABSENT and e.start_s < 8.0 for e in result.events)
