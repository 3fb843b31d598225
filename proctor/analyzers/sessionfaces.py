"""The faces seen at the candidate's place over a session, summarised online from the identity checks.

Every identity check's embedding joins the face (cluster) whose mean lies nearest, when that mean is within
the policy's match distance; otherwise it starts a new face. At most `MAX_FACES` faces are kept: when a new
one would be one too many, the face with the fewest checks (the least recently seen of those) is forgotten
and counted. Memory stays bounded whatever the session's length (a 90-minute session makes 500–1000 checks):
per face a running sum of embeddings, counts and times, and the crop of its largest sighting.

The summary lets the sessions of one exam be compared for one person sitting for several candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from proctor.analyzers.faces import FaceBox
from proctor.analyzers.identity import Embedding, FaceEmbedding
from proctor.frames import Image

MAX_FACES = 6
"""Faces kept per session: the candidate, and a few others (a proxy, someone passing, a badly lit view)."""

CROP_MARGIN = 0.25
"""The photo of a face is its box grown by this share of its size on every side (hair, chin, ears)."""

CROP_MAX_PX = 192
"""The photo's larger side is at most this many pixels: a thumbnail for the examiner, not a new recording."""

PHOTO_JPEG_QUALITY = 85

EMBEDDING_SIZE = 128


@dataclass(frozen=True, eq=False)
class SessionFace:
    """One face seen at the candidate's place: the mean of its checks' embeddings, how often and when it was
    checked, the mean's distance to the enrolled photo, and a JPEG of its largest sighting."""

    embedding: Embedding
    checks: int
    first_s: float
    last_s: float
    reference_distance: float | None
    photo: bytes | None

    def __post_init__(self) -> None:
        if self.embedding.shape != (EMBEDDING_SIZE,):
            raise ValueError(f"a face embedding has {EMBEDDING_SIZE} values, not {self.embedding.shape}")
        if self.checks < 1 or self.last_s < self.first_s:
            raise ValueError("a face is seen in at least one check, and last after first")

    def embedding_bytes(self) -> bytes:
        """The mean embedding as stored (128 float64 values, like a candidate's reference embedding)."""
        return self.embedding.astype(np.float64).tobytes()


class _Cluster:
    """A face being summarised: running sum of embeddings, counts, times and the best crop so far."""

    def __init__(self, vector: Embedding, at_s: float, crop: Image | None, width: float) -> None:
        self.total = vector.astype(np.float64).copy()
        self.checks = 1
        self.first_s = self.last_s = at_s
        self.crop = crop
        self.crop_width = width

    @property
    def mean(self) -> Embedding:
        return self.total / self.checks

    def add(self, vector: Embedding, at_s: float, image: Image, box: FaceBox) -> None:
        self.total += vector
        self.checks += 1
        self.first_s, self.last_s = min(self.first_s, at_s), max(self.last_s, at_s)
        if box.width > self.crop_width:
            self.crop, self.crop_width = face_crop(image, box), box.width


class SessionFaces:
    """Summarises the faces of a session's identity checks as they come (see the module's docstring)."""

    def __init__(self, join_distance: float, reference: FaceEmbedding | None, max_faces: int = MAX_FACES) -> None:
        if max_faces < 1:
            raise ValueError("at least one face is kept")
        self.join_distance = join_distance
        self.reference = reference
        self.max_faces = max_faces
        self.forgotten_checks = 0
        """Checks whose face was forgotten to keep at most `max_faces` faces."""
        self._clusters: list[_Cluster] = []

    def add(self, at_s: float, face: FaceEmbedding, image: Image) -> None:
        """One identity check: the embedding of `face` (its box on `image`) at session time `at_s`."""
        vector = np.asarray(face.vector, dtype=np.float64)
        if self._clusters:
            distances = [float(np.linalg.norm(cluster.mean - vector)) for cluster in self._clusters]
            nearest = int(np.argmin(distances))
            if distances[nearest] <= self.join_distance:
                self._clusters[nearest].add(vector, at_s, image, face.box)
                return
        if len(self._clusters) >= self.max_faces:
            weakest = min(self._clusters, key=lambda c: (c.checks, c.last_s))
            self.forgotten_checks += weakest.checks
            self._clusters.remove(weakest)
        self._clusters.append(_Cluster(vector, at_s, face_crop(image, face.box), face.box.width))

    def faces(self) -> tuple[SessionFace, ...]:
        """The faces kept so far, the most often checked first (then the earliest seen)."""
        ordered = sorted(self._clusters, key=lambda c: (-c.checks, c.first_s))
        return tuple(self._summary(cluster) for cluster in ordered)

    def _summary(self, cluster: _Cluster) -> SessionFace:
        mean = cluster.mean
        distance = None if self.reference is None else float(np.linalg.norm(mean - self.reference.vector))
        return SessionFace(mean, cluster.checks, cluster.first_s, cluster.last_s, distance, _jpeg(cluster.crop))


def face_crop(image: Image, box: FaceBox) -> Image | None:
    """The face in `box` with a margin around it, clipped to the image and scaled down to a thumbnail."""
    height, width = image.shape[:2]
    margin_x, margin_y = box.width * CROP_MARGIN, box.height * CROP_MARGIN
    x0, y0 = max(0, int(box.x - margin_x)), max(0, int(box.y - margin_y))
    x1, y1 = min(width, int(box.x + box.width + margin_x)), min(height, int(box.y + box.height + margin_y))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    crop = image[y0:y1, x0:x1]
    scale = CROP_MAX_PX / max(crop.shape[:2])
    if scale < 1.0:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.uint8)
    return np.ascontiguousarray(crop)


def _jpeg(crop: Image | None) -> bytes | None:
    if crop is None:
        return None
    ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, PHOTO_JPEG_QUALITY])
    return data.tobytes() if ok else None
