"""The whole card check on rendered cards (a real face photo, Kazakh and Russian text) under webcam conditions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEmbedding, FaceEncoder, IdentityConfig
from proctor.frames import Image
from proctor.identity_document.check import CheckInputs, DocumentCheck, check_document
from proctor.identity_document.ocr import Tesseract, find_iin, find_name_lines
from tests.fixtures.fetch import media_path
from tests.fixtures.id_cards import (
    BIDEN,
    OBAMA,
    VARIANTS,
    CardPerson,
    Shot,
    card_still,
    door_pictures,
    impossible_date,
    photograph,
    render_card,
    wrong_check_digit,
)

CANDIDATE = "Ерлан Сейтқалиев"  # the name printed on OBAMA's card


@dataclass
class Models:
    detector: FaceDetector
    encoder: FaceEncoder
    tesseract: Tesseract
    enrolled: FaceEmbedding
    live: Image


@pytest.fixture(scope="module")
def models() -> Iterator[Models]:
    detector, encoder = FaceDetector(), FaceEncoder()
    enrolled_image = cv2.imread(str(media_path("obama2.jpg")))
    box = detector.detect(enrolled_image).largest
    assert box is not None
    yield Models(
        detector, encoder, Tesseract(), encoder.encode(enrolled_image, box), cv2.imread(str(media_path("obama3.jpg")))
    )
    detector.close()


def run(
    models: Models, person: CardPerson, variant: str, iin: str | None = None, seen: str = "obama3.jpg"
) -> DocumentCheck:
    card = cv2.imdecode(np.frombuffer(card_still(person, variant, iin), np.uint8), cv2.IMREAD_COLOR)
    inputs = CheckInputs(card, CANDIDATE, models.enrolled, models.live, stream_of(seen))
    result, _ = check_document(inputs, IdentityConfig(), models.detector, models.encoder, models.tesseract)
    return result


def stream_of(photo: str, count: int = 4) -> tuple[Image, ...]:
    """The server's pictures of the live video at the door, as the check receives them (BGR)."""
    return tuple(picture.bgr() for picture in door_pictures(photo, count))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_candidates_card_passes_under_every_variant(models: Models, variant: str) -> None:
    result = run(models, OBAMA, variant)
    assert result.iin_valid and result.iin_masked == "********" + OBAMA.iin[-4:]
    assert result.birth_date == OBAMA.born.isoformat()
    assert result.name_match, result.name_read
    assert result.card_face_px is not None and result.card_face_px >= 80
    assert result.live.match and result.enrolled.match, (result.live, result.enrolled)
    assert result.passed, result.problems
    assert result.stream.match, result.stream


@pytest.mark.parametrize("variant", ["flat", "blur", "low_resolution"])
def test_a_different_persons_card_is_refused(models: Models, variant: str) -> None:
    result = run(models, BIDEN, variant)
    assert result.iin_valid  # a real card, just not theirs
    assert not result.name_match
    assert result.live.match is False and result.enrolled.match is False
    assert result.live.distance is not None and result.live.distance > 0.7
    assert set(result.problems) >= {"name_mismatch", "live_face_mismatch", "enrolled_face_mismatch"}


def test_a_wrong_check_digit_is_read_and_refused(models: Models) -> None:
    result = run(models, OBAMA, "flat", wrong_check_digit(OBAMA.iin))
    assert not result.iin_valid and result.iin_reason == "check_digit"
    assert result.problems == ("iin_check_digit",)


def test_an_impossible_date_is_read_and_refused(models: Models) -> None:
    result = run(models, OBAMA, "perspective", impossible_date(OBAMA.iin))
    assert not result.iin_valid and result.iin_reason == "date"


def test_without_a_face_still_the_candidates_own_face_beside_the_card_is_the_live_face(models: Models) -> None:
    small = cv2.imdecode(np.frombuffer(card_still(OBAMA, "low_resolution"), np.uint8), cv2.IMREAD_COLOR)
    card = np.full((720, 1280, 3), 96, np.uint8)
    card[:, :440] = cv2.resize(models.live, (440, 720))  # the candidate at the left, holding the card up
    card[180:540, 600:1240] = small
    inputs = CheckInputs(card, CANDIDATE, models.enrolled, None)
    result, _ = check_document(inputs, IdentityConfig(), models.detector, models.encoder, models.tesseract)
    assert result.card_face_px is not None and result.live.distance is not None, result
    assert result.live.match and result.enrolled.match


def test_stills_of_the_card_owner_sent_by_the_page_are_caught_by_the_servers_own_pictures(models: Models) -> None:
    result = run(models, OBAMA, "flat", seen="biden.jpg")  # the card and the face still are OBAMA's; the camera not
    assert result.live.match and result.enrolled.match  # what the page sent agrees with itself
    assert result.stream.match is False and result.stream.distance is not None and result.stream.distance > 0.7
    assert result.problems == ("stream_face_mismatch",)


@pytest.mark.parametrize(
    ("seen", "reason"),
    [
        (None, "no live video in the step"),
        ("free-mountain-vector-01.jpg", "no face in the server's pictures"),
        ("card", "no face in the server's pictures"),  # the card held up all along: its portrait is no candidate
    ],
)
def test_without_the_servers_own_face_the_card_stays_unverified(models: Models, seen: str | None, reason: str) -> None:
    card = cv2.imdecode(np.frombuffer(card_still(OBAMA, "flat"), np.uint8), cv2.IMREAD_COLOR)
    if seen == "card":
        shot = photograph(render_card(OBAMA), Shot(card_share=0.8))
        held = cv2.resize(shot, (320, 180), interpolation=cv2.INTER_AREA)
        stream: tuple[Image, ...] = (np.vstack([held, np.full((60, 320, 3), 90, np.uint8)]),) * 3
    else:
        stream = stream_of(seen) if seen is not None else ()
    inputs = CheckInputs(card, CANDIDATE, models.enrolled, models.live, stream)
    result, _ = check_document(inputs, IdentityConfig(), models.detector, models.encoder, models.tesseract)
    assert result.live.match and result.enrolled.match
    assert result.stream.match is None and result.stream.reason.startswith(reason), result.stream
    assert result.problems == ("stream_face_unverified",)


def test_no_card_at_all(models: Models) -> None:
    inputs = CheckInputs(models.live, CANDIDATE, models.enrolled, models.live)
    result, card_face = check_document(inputs, IdentityConfig(), models.detector, models.encoder, models.tesseract)
    assert not result.iin_valid and result.iin_reason == "not_found"
    assert not result.name_match and not result.passed


def test_the_outcome_round_trips_through_json(models: Models) -> None:
    result = run(models, OBAMA, "flat")
    assert DocumentCheck.from_json(result.to_json()) == result


@pytest.mark.parametrize(
    ("text", "iin"),
    [
        ("ЖСН / ИИН 9108 0431 2341", "910804312341"),
        ("жсн/иин 91O8O43l2341", "910804312341"),  # O for 0, l for 1
        ("04.08.1991\nжсн/иин 910804312341", "910804312341"),
        ("no digits here", None),
    ],
)
def test_the_iin_is_found_in_ocr_text(text: str, iin: str | None) -> None:
    assert find_iin(text) == iin


def test_name_lines_leave_out_the_captions() -> None:
    text = "ТЕГІ / ФАМИЛИЯ\nт м СЕЙТҚАЛИЕВ\nАТЫ / ИМЯ\n4221 ЕРЛАН\nТУҒАН КҮНІ / ДАТА РОЖДЕНИЯ"
    assert find_name_lines(text) == ("СЕЙТҚАЛИЕВ", "ЕРЛАН")
