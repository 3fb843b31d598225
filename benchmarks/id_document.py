"""ID card check benchmark: prints JSON figures (`python -m benchmarks.id_document`; the check is meant for the
2-core server, tesseract in its own process beside the face models).

- server time of one check (the still decoded, the card found and straightened, OCR, faces found and encoded,
  names compared), per variant of the rendered test cards (tests/fixtures/id_cards.py), median of `REPEATS`;
- per variant: whether the IIN was read and validated, whether the name matched, the card face's width and its
  distances to the live face (obama3.jpg), the enrolled photo (obama2.jpg) and the server's own pictures of the
  live video (obama3.jpg in 20 pictures at 320×240, as many as web/live/door.py keeps, given as I420 and converted
  inside the timing); another person's card (biden.jpg) for the other side of the threshold.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import warnings
from typing import Any

os.environ.setdefault("GLOG_minloglevel", "2")
warnings.filterwarnings("ignore", module="google.protobuf")

import cv2  # noqa: E402

from proctor.analyzers.faces import FaceDetector  # noqa: E402
from proctor.analyzers.identity import FaceEncoder, IdentityConfig  # noqa: E402
from proctor.identity_document.check import CheckInputs, check_document  # noqa: E402
from proctor.identity_document.ocr import Tesseract  # noqa: E402
from proctor.images import decode_photo  # noqa: E402
from proctor.nativelog import quiet_native_noise  # noqa: E402
from tests.fixtures.fetch import media_path  # noqa: E402
from tests.fixtures.id_cards import BIDEN, OBAMA, VARIANTS, card_still, door_pictures  # noqa: E402
from web.live.door import FIRST, KEPT  # noqa: E402

REPEATS = 3
NAME = "Ерлан Сейтқалиев"


def main() -> None:
    quiet_native_noise()
    detector, encoder, tesseract = FaceDetector(), FaceEncoder(), Tesseract()
    config = IdentityConfig()
    enrolled_image = cv2.imread(str(media_path("obama2.jpg")))
    box = detector.detect(enrolled_image).largest
    if box is None:
        raise SystemExit("no face on the enrolled photo")
    enrolled = encoder.encode(enrolled_image, box)
    live_jpeg = media_path("obama3.jpg").read_bytes()
    door = door_pictures("obama3.jpg", FIRST + KEPT)
    results: dict[str, Any] = {}
    for person, label in ((OBAMA, "own_card"), (BIDEN, "other_persons_card")):
        for variant in VARIANTS:
            still = card_still(person, variant)
            times: list[float] = []
            outcome = None
            for _ in range(REPEATS):
                started = time.perf_counter()
                card = decode_photo(still)
                face = decode_photo(live_jpeg)
                stream = tuple(picture.bgr() for picture in door)
                outcome, _ = check_document(
                    CheckInputs(card, NAME, enrolled, face, stream), config, detector, encoder, tesseract
                )
                times.append(time.perf_counter() - started)
            assert outcome is not None
            results[f"{label}/{variant}"] = {
                "server_s_median": round(statistics.median(times), 3),
                "server_s_max": round(max(times), 3),
                "iin_read": outcome.iin_masked != "-",
                "iin_valid": outcome.iin_valid,
                "name_match": outcome.name_match,
                "name_score": outcome.name_score,
                "card_face_px": outcome.card_face_px,
                "live_distance": outcome.live.distance,
                "enrolled_distance": outcome.enrolled.distance,
                "stream_distance": outcome.stream.distance,
                "threshold": outcome.live.threshold,
                "passed": outcome.passed,
                "stages_ms": outcome.timings_ms,
            }
    worst = max(r["server_s_max"] for r in results.values())
    report = {"cores": os.cpu_count(), "repeats": REPEATS, "worst_server_s": worst, "checks": results}
    sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
