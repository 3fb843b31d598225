"""The face embedding computed by proctor/analyzers/face_resnet.py against dlib's own network on real faces."""

from __future__ import annotations

from pathlib import Path

import cv2
import dlib
import numpy as np
import pytest

from models import ModelFileError, model_path
from proctor.analyze import read_image
from proctor.analyzers.face_resnet import CHIP_SIZE, FaceResNet
from proctor.analyzers.faces import FaceBox, FaceDetector
from proctor.analyzers.identity import FaceEncoder
from proctor.decode import iter_frames
from proctor.frames import bgr_to_rgb
from tests.fixtures.fetch import media_path

PHOTOS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "single_face.jpg", "obama_partial_face.jpg")


@pytest.fixture(scope="module")
def dlib_network() -> dlib.face_recognition_model_v1:
    return dlib.face_recognition_model_v1(str(model_path("dlib_face_recognition_resnet")))


@pytest.fixture(scope="module")
def shapes() -> dlib.shape_predictor:
    return dlib.shape_predictor(str(model_path("dlib_shape_predictor_5")))


def faces_to_embed(media: Path, detector: FaceDetector) -> list[tuple[str, np.ndarray, FaceBox]]:
    """Every face of the test photos and of a webcam clip (a frame every three seconds), with the box BlazeFace
    gives it, as the live analysis embeds them."""
    pictures = [(name, bgr_to_rgb(read_image(media / name))) for name in PHOTOS]
    clip = media_path("WolfgangLanger_Pexels.mp4")
    pictures += [(f"clip@{frame.timestamp_s:.0f}s", frame.rgb) for frame in iter_frames(clip, 1 / 3)]
    return [(name, rgb, box) for name, rgb in pictures for box in detector.detect_rgb(rgb).faces]


def test_the_embedding_is_dlibs_on_every_face(
    media: Path,
    detector: FaceDetector,
    encoder: FaceEncoder,
    dlib_network: dlib.face_recognition_model_v1,
    shapes: dlib.shape_predictor,
) -> None:
    faces = faces_to_embed(media, detector)
    assert len(faces) >= 10
    for name, rgb, box in faces:
        rect = dlib.rectangle(int(box.x), int(box.y), int(box.x + box.width), int(box.y + box.height))
        theirs = np.asarray(dlib_network.compute_face_descriptor(rgb, shapes(rgb, rect), 0))
        ours = encoder.encode_rgb(rgb, box).vector
        assert np.abs(ours - theirs).max() < 1e-5, name


def test_a_model_file_that_is_not_the_network_is_refused(tmp_path: Path) -> None:
    original = model_path("dlib_face_recognition_resnet").read_bytes()
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(original[: len(original) // 2])
    with pytest.raises(ModelFileError, match="layers differ"):
        FaceResNet(truncated)
    other = tmp_path / "shape_predictor.dat"
    other.write_bytes(model_path("dlib_shape_predictor_5").read_bytes())
    with pytest.raises(ModelFileError, match="layers differ"):
        FaceResNet(other)
    with pytest.raises(ModelFileError, match="cannot read"):
        FaceResNet(tmp_path / "missing.dat")
    cut_in_last_layer = tmp_path / "cut.dat"  # every layer's name is there, the last one's weights are not
    cut_in_last_layer.write_bytes(original[: original.rindex(b"fc_2") + 8])
    with pytest.raises(ModelFileError, match="cannot be read"):
        FaceResNet(cut_in_last_layer)


def test_a_chip_of_another_size_is_refused() -> None:
    network = FaceResNet(model_path("dlib_face_recognition_resnet"))
    with pytest.raises(ValueError, match="150×150×3"):
        network.embed(np.zeros((100, 100, 3), dtype=np.uint8))
    chip = cv2.resize(np.full((10, 10, 3), 128, dtype=np.uint8), (CHIP_SIZE, CHIP_SIZE))
    assert network.embed(chip).shape == (128,)
