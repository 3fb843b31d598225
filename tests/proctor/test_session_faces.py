"""Identity checks kept with their times and distances, and the faces they saw summarised per session (real
models on recordings composed from real people; who is on camera when is the ground truth)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from proctor.analyze import analyze_recording, read_image
from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEmbedding, FaceEncoder
from proctor.analyzers.sessionfaces import MAX_FACES, SessionFaces
from proctor.policy import policy_from_dict
from tests.fixtures.sittings import Sitting, build_sitting, enrolment_photo

POLICY = policy_from_dict({"identity": {"interval_s": 1.0}})
FRAME_S = 1.0 / POLICY.analysis_rate_hz
SAME_PERSON = 0.35
"""Above every distance measured between one person's checks and their enrolment photo (0.08–0.29)."""
OTHER_PERSON = 0.7
"""Below every distance measured between different people's checks and photos here (0.75–0.88)."""


@pytest.fixture(scope="module")
def photo_of_a(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return enrolment_photo(tmp_path_factory.mktemp("photos"), "A")


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory) -> Sitting:
    """Person A for 3 s, then person B for 3 s."""
    return build_sitting(tmp_path_factory.mktemp("switch") / "switch.mp4", [("A", 3.0), ("B", 3.0)])


@pytest.fixture(scope="module")
def alternating(tmp_path_factory: pytest.TempPathFactory) -> Sitting:
    """A and B take turns in front of the camera every 2 s."""
    parts = [("A", 2.0), ("B", 2.0), ("A", 2.0), ("B", 2.0), ("A", 2.0)]
    return build_sitting(tmp_path_factory.mktemp("alternating") / "alternating.mp4", parts)


def test_identity_checks_are_kept_with_when_and_how_far(switch: Sitting, photo_of_a: Path) -> None:
    result = analyze_recording(switch.video, photo_of_a, POLICY)
    checks = result.report_json()["identity_checks"]
    assert len(checks) == result.stages.identity >= 5
    assert [c["at_s"] for c in checks] == sorted(c["at_s"] for c in checks)
    for check in checks:
        assert set(check) == {"at_s", "distance", "match"}
        assert check["at_s"] == round(check["at_s"], 2) and check["distance"] == round(check["distance"], 3)
        assert 0.0 <= check["at_s"] < switch.duration_s
        candidate_on_camera = switch.person_at(check["at_s"]) == "A"
        assert check["match"] is candidate_on_camera, check
        if candidate_on_camera:
            assert check["distance"] <= SAME_PERSON, check
        else:
            assert check["distance"] >= OTHER_PERSON, check
    b_arrives = switch.truth[1].start_s
    assert checks[0]["at_s"] == 0.0  # the first face is checked at once
    # the other face is checked on its first analysed frame (the face jumped), not at the next scheduled check
    first_after = min(c["at_s"] for c in checks if c["at_s"] >= b_arrives)
    assert first_after < b_arrives + FRAME_S + 0.01
    # while the candidate sits there, a check at least every interval
    times = [c["at_s"] for c in checks if c["at_s"] < b_arrives]
    assert max(np.diff(times)) <= POLICY.identity.interval_s + FRAME_S + 0.01
    # the event that the failed checks make starts where B arrived
    (mismatch,) = [e for e in result.events if e.type.value == "identity_mismatch"]
    assert mismatch.start_s == pytest.approx(b_arrives, abs=FRAME_S + 0.01)


def test_two_people_taking_turns_are_two_faces(
    alternating: Sitting, photo_of_a: Path, detector: FaceDetector, encoder: FaceEncoder
) -> None:
    result = analyze_recording(alternating.video, photo_of_a, POLICY)
    checks = result.identity_checks
    assert len(result.faces) == 2
    a, b = sorted(result.faces, key=lambda face: face.reference_distance or 0.0)
    a_checks = [c for c in checks if alternating.person_at(c.at_s) == "A"]
    b_checks = [c for c in checks if alternating.person_at(c.at_s) == "B"]
    # every check joined the face of the person on camera at its time
    assert (a.checks, b.checks) == (len(a_checks), len(b_checks)) and b.checks >= 2
    assert (a.first_s, a.last_s) == (a_checks[0].at_s, a_checks[-1].at_s)
    assert (b.first_s, b.last_s) == (b_checks[0].at_s, b_checks[-1].at_s)
    assert a.first_s == 0.0 and a.last_s >= alternating.truth[4].start_s
    assert alternating.truth[1].start_s <= b.first_s < alternating.truth[1].start_s + FRAME_S + 0.01
    assert alternating.truth[3].start_s <= b.last_s < alternating.truth[3].end_s
    assert a.reference_distance is not None and a.reference_distance <= SAME_PERSON
    assert b.reference_distance is not None and b.reference_distance >= OTHER_PERSON
    assert float(np.linalg.norm(a.embedding - b.embedding)) >= OTHER_PERSON
    # each face's photo shows that face: its embedding lies near the face's mean, far from the other's
    for face, other in ((a, b), (b, a)):
        assert face.photo is not None and face.photo[:2] == b"\xff\xd8"
        crop = cv2.imdecode(np.frombuffer(face.photo, dtype=np.uint8), cv2.IMREAD_COLOR)
        assert max(crop.shape[:2]) <= 192
        (box,) = detector.detect(crop).faces
        seen = encoder.encode(crop, box).vector
        assert (
            np.linalg.norm(seen - face.embedding)
            <= SAME_PERSON
            < OTHER_PERSON
            <= np.linalg.norm(seen - other.embedding)
        )


def _people(media: Path, detector: FaceDetector, encoder: FaceEncoder) -> dict[str, tuple[FaceEmbedding, np.ndarray]]:
    """One embedding (and its image) per face of real photos: obama's three, biden, and five people in a group."""
    found: dict[str, tuple[FaceEmbedding, np.ndarray]] = {}
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "multi_face.jpg"):
        image = read_image(media / name)
        for number, box in enumerate(detector.detect(image).faces):
            found[f"{name[:-4]}-{number}"] = (encoder.encode(image, box), image)
    assert len(found) == 9
    return found


def test_the_weakest_face_is_forgotten_to_keep_memory_bounded(
    media: Path, detector: FaceDetector, encoder: FaceEncoder
) -> None:
    people = _people(media, detector, encoder)
    obama = people["obama-0"][0]
    faces = SessionFaces(POLICY.identity.match_distance, obama, max_faces=2)
    for t, name in enumerate(["obama-0", "obama2-0", "biden-0", "obama3-0", "biden-0", "multi_face-0"]):
        faces.add(float(t), *people[name])
    kept = faces.faces()
    # the three photos of obama are one face; biden (2 checks) made room for the newcomer of the group photo
    assert [(f.checks, f.first_s, f.last_s) for f in kept] == [(3, 0.0, 3.0), (1, 5.0, 5.0)]
    assert faces.forgotten_checks == 2
    assert kept[0].reference_distance is not None and kept[0].reference_distance < SAME_PERSON
    assert kept[1].reference_distance is not None and kept[1].reference_distance > OTHER_PERSON

    many = SessionFaces(POLICY.identity.match_distance, obama)  # a long session: 1000 checks of 9 people
    names = sorted(people)
    for t in range(1000):
        many.add(t * 5.0, *people["obama-0" if t % 3 == 0 else names[t % len(names)]])
    seen = many.faces()
    assert len(seen) <= MAX_FACES
    assert sum(f.checks for f in seen) + many.forgotten_checks == 1000
    assert seen[0].checks >= 1000 // 3 and seen[0].reference_distance is not None  # obama, checked most
    assert seen[0].reference_distance < SAME_PERSON
