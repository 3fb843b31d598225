"""People seen during a scan: while the camera turns, any face or body is someone else in the room.

Uses the project's BlazeFace detector and mediapipe Pose (never a second detector); both run at their
own rates because Pose costs about 48 ms a frame. Detections close in time form one sighting, and a
sighting needs `person_min_detections` detections so that a single spurious box is not reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from proctor.analyzers.body import PoseEstimator
from proctor.analyzers.faces import FaceBox, FaceDetector
from proctor.frames import Frame, Image
from proctor.roomscan.config import RoomScanConfig

logger = logging.getLogger(__name__)

BODY_SCORE = 0.6
"""Pose gives no detection score; a body with head and shoulders visible counts with this confidence."""


@dataclass(frozen=True, eq=False)
class PersonSighting:
    """One episode in which a person was seen, with the frame that showed them best (box drawn).

    `peak_offset` is where the best face was across that frame (−0.5 left edge … 0.5 right edge), so
    the person's direction in the room is the camera's yaw plus that angle.
    """

    start_s: float
    end_s: float
    peak_s: float
    detections: int
    faces: int
    bodies: int
    score: float
    max_faces: int = 0
    peak_offset: float = 0.0
    evidence_image: Image | None = field(default=None, repr=False)

    @property
    def source(self) -> str:
        """What saw the person: "face", "body" or "face+body"."""
        return "+".join(name for name, n in (("face", self.faces), ("body", self.bodies)) if n)


@dataclass
class _Episode:
    start_s: float
    end_s: float
    peak_s: float
    score: float
    faces: int = 0
    bodies: int = 0
    max_faces: int = 0
    offset: float = 0.0
    image: Image | None = None


class PeopleWatcher:
    """Looks for faces and bodies in the frames of a scan, at the configured rates."""

    def __init__(self, config: RoomScanConfig, faces: FaceDetector, pose: PoseEstimator | None) -> None:
        self.config = config
        self._faces = faces
        self._pose = pose
        self._next_face_s: float | None = None
        self._next_pose_s: float | None = None
        self._episodes: list[_Episode] = []
        self.face_checks = 0
        self.pose_checks = 0

    def observe(self, frame: Frame) -> None:
        """Run whichever detector is due on this frame and record what it found."""
        t = frame.timestamp_s
        if self._next_face_s is None or t >= self._next_face_s:
            self._next_face_s = t + 1.0 / self.config.person_check_hz
            self.face_checks += 1
            found = self._faces.detect(frame.image)
            if found.count:
                best = max(found.faces, key=lambda box: box.score)
                self._record(t, best.score, frame.image, list(found.faces), face=True)
        if self._pose is not None and self.config.pose_check_hz > 0:
            if self._next_pose_s is None or t >= self._next_pose_s:
                self._next_pose_s = t + 1.0 / self.config.pose_check_hz
                self.pose_checks += 1
                body = self._pose.observe(frame.image)
                if body.shoulders_visible and body.head_visible:
                    self._record(t, BODY_SCORE, frame.image, [], face=False)

    def sightings(self) -> list[PersonSighting]:
        """The episodes with enough detections, in time order."""
        return [
            PersonSighting(
                start_s=e.start_s,
                end_s=e.end_s,
                peak_s=e.peak_s,
                detections=e.faces + e.bodies,
                faces=e.faces,
                bodies=e.bodies,
                score=e.score,
                max_faces=e.max_faces,
                peak_offset=e.offset,
                evidence_image=e.image,
            )
            for e in self._episodes
            if e.faces + e.bodies >= self.config.person_min_detections
        ]

    def _record(self, t: float, score: float, image: Image, boxes: list[FaceBox], face: bool) -> None:
        episode = self._episodes[-1] if self._episodes else None
        if episode is None or t - episode.end_s > self.config.person_max_gap_s:
            episode = _Episode(start_s=t, end_s=t, peak_s=t, score=-1.0)
            self._episodes.append(episode)
        episode.end_s = t
        episode.faces += face
        episode.max_faces = max(episode.max_faces, len(boxes))
        episode.bodies += not face
        if score > episode.score:
            episode.score, episode.peak_s = score, t
            episode.image = _annotate(image, boxes)
            width = image.shape[1]
            episode.offset = (max(boxes, key=lambda b: b.score).center_x / width - 0.5) if boxes else 0.0
        logger.debug("room scan: %s seen at %.2f s (score %.2f)", "face" if face else "body", t, score)


def _annotate(image: Image, boxes: list[FaceBox]) -> Image:
    """A copy of the frame with the face boxes drawn, as evidence."""
    evidence = np.ascontiguousarray(image.copy())
    for box in boxes:
        top_left = (round(box.x), round(box.y))
        bottom_right = (round(box.x + box.width), round(box.y + box.height))
        cv2.rectangle(evidence, top_left, bottom_right, (0, 0, 255), 2)
    return evidence
