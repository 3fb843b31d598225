"""Every model file the project uses: which package ships it, where, its sha256, licence and purpose.

Models are never downloaded at run time: each one is a file inside an installed PyPI package,
checked against the sha256 recorded here (`proctor models verify`).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path


class ModelFileError(RuntimeError):
    """A registered model file is missing or its checksum differs from the registry."""


@dataclass(frozen=True)
class ModelFile:
    """One model file shipped inside an installed package."""

    name: str
    package: str
    distribution: str
    relative_path: str
    sha256: str
    licence: str
    purpose: str

    @property
    def path(self) -> Path:
        """Absolute path of the file in the installed package (no import of the package needed)."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelFileError(f"{self.name}: package {self.package!r} ({self.distribution}) is not installed")
        return Path(next(iter(spec.submodule_search_locations))) / self.relative_path


@dataclass(frozen=True)
class ModelCheck:
    """The result of checking one registered model file."""

    model: ModelFile
    ok: bool
    detail: str


MEDIAPIPE = "mediapipe==0.10.14"
DLIB_MODELS = "face-recognition-models==0.3.0"
APACHE = "Apache-2.0"

REGISTRY: tuple[ModelFile, ...] = (
    ModelFile(
        "blazeface_full_range",
        "mediapipe",
        MEDIAPIPE,
        "modules/face_detection/face_detection_full_range_sparse.tflite",
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
        APACHE,
        "face detection and face count (faces analyzer, up to ~5 m from the camera)",
    ),
    ModelFile(
        "blazeface_short_range",
        "mediapipe",
        MEDIAPIPE,
        "modules/face_detection/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        APACHE,
        "face detection inside FaceMesh (head pose analyzer)",
    ),
    ModelFile(
        "facemesh",
        "mediapipe",
        MEDIAPIPE,
        "modules/face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
        APACHE,
        "468 face landmarks for yaw / pitch / roll (head pose analyzer)",
    ),
    ModelFile(
        "pose_detection",
        "mediapipe",
        MEDIAPIPE,
        "modules/pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
        APACHE,
        "person detection for the pose tracker (body analyzer)",
    ),
    ModelFile(
        "pose_landmark_full",
        "mediapipe",
        MEDIAPIPE,
        "modules/pose_landmark/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
        APACHE,
        "33 body landmarks, model_complexity=1 (the only Pose model bundled; 0 and 2 download)",
    ),
    ModelFile(
        "dlib_shape_predictor_5",
        "face_recognition_models",
        DLIB_MODELS,
        "models/shape_predictor_5_face_landmarks.dat",
        "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        "CC0-1.0 (dlib-models)",
        "5-point face alignment before the identity embedding",
    ),
    ModelFile(
        "dlib_face_recognition_resnet",
        "face_recognition_models",
        DLIB_MODELS,
        "models/dlib_face_recognition_resnet_model_v1.dat",
        "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        "CC0-1.0 (dlib-models)",
        "128-D face embedding for identity verification",
    ),
)

_BY_NAME = {model.name: model for model in REGISTRY}


def model_path(name: str) -> Path:
    """Path of a registered model file; raises ModelFileError if it is not registered or missing."""
    try:
        model = _BY_NAME[name]
    except KeyError:
        raise ModelFileError(f"no model named {name!r} in the registry") from None
    path = model.path
    if not path.is_file():
        raise ModelFileError(f"{name}: {path} is missing (reinstall {model.distribution})")
    return path


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(models: tuple[ModelFile, ...] = REGISTRY) -> list[ModelCheck]:
    """Check that each registered file exists and matches its sha256."""
    checks = []
    for model in models:
        try:
            path = model.path
        except ModelFileError as exc:
            checks.append(ModelCheck(model, False, str(exc)))
            continue
        if not path.is_file():
            checks.append(ModelCheck(model, False, f"missing: {path}"))
            continue
        actual = sha256_of(path)
        ok = actual == model.sha256
        checks.append(ModelCheck(model, ok, "ok" if ok else f"sha256 {actual} != {model.sha256}"))
    return checks
