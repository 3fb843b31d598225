"""A live client's recording read part by part (proctor/recording/webm.py, parts.py) and its pictures compared with
what the analysis saw (signature.py), on real WebM made by a real VP8 + Opus encoder."""

from __future__ import annotations

import os
import random
from pathlib import Path

import av
import pytest

from proctor.recording.parts import Timeline, check_part
from proctor.recording.signature import (
    Signature,
    check_samples,
    mismatch_spans,
    pack,
    signature_of,
    similarity,
    unpack,
)
from proctor.recording.webm import PartRefused, StreamState, WebmStream
from tests.fixtures.live_media import webm_of
from tests.fixtures.scenarios import Scenario


@pytest.fixture(scope="module")
def recorded(demo: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return webm_of(demo.video, tmp_path_factory.mktemp("parts") / "recorded.webm", keyframe_every_s=2.0, until_s=8.0)


def demuxed(path: Path) -> list[tuple[int, bool, int]]:
    """Every packet of the file as PyAV reads it: (track, keyframe, size)."""
    with av.open(str(path)) as container:
        return [(p.stream.index + 1, p.is_keyframe, p.size) for p in container.demux() if p.size]


def read_in_parts(data: bytes, sizes: list[int]) -> tuple[list[tuple[int, bool, int]], StreamState]:
    state: StreamState | None = None
    blocks = []
    offset = 0
    for number, size in enumerate(sizes):
        reading, state = WebmStream(state).read(data[offset : offset + size], first=number == 0)
        blocks += [(b.track, b.keyframe, b.size) for b in reading.blocks]
        offset += size
    assert state is not None
    return blocks, state


@pytest.mark.parametrize("cut", ["whole", "browser-like", "every-7777-bytes", "random"])
def test_a_stream_cut_anywhere_reads_as_the_whole_file(recorded: Path, cut: str) -> None:
    data = recorded.read_bytes()
    sizes = {
        "whole": [len(data)],
        "browser-like": [150_000] * (len(data) // 150_000 + 1),
        "every-7777-bytes": [7777] * (len(data) // 7777 + 1),
        "random": [random.Random(7).randint(1, 4000) for _ in range(len(data))],
    }[cut]
    blocks, state = read_in_parts(data, sizes)
    assert blocks == demuxed(recorded)
    assert state.pending == b"" and state.head.startswith(b"\x1a\x45\xdf\xa3") and len(state.head) < 2000
    assert {t.codec for t in state.tracks} == {"vp8", "opus"}
    restored = StreamState.from_json(state.to_json())  # as it is kept between parts
    assert restored == state


def test_what_is_not_the_runs_honest_continuation_is_refused(recorded: Path, demo: Scenario) -> None:
    data = recorded.read_bytes()
    reading, state = WebmStream().read(data[:100_000], first=True)
    assert reading.blocks
    cases = {
        "a picture": (demo.reference.read_bytes()[:50_000], True, "not a WebM"),
        "random bytes": (os.urandom(30_000), True, None),
        "a stream's start in the middle of the run": (data[:60_000], False, None),
        "a later part first": (data[200_000:260_000], True, None),
    }
    for name, (part, first, words) in cases.items():
        with pytest.raises(PartRefused, match=words):
            WebmStream(None if first else state).read(part, first=first)
        assert name
    with pytest.raises(PartRefused, match="continue"):
        WebmStream(state).read(data[100_000:150_000], first=True)  # a run starts once
    later, _ = WebmStream(state).read(data[100_000:160_000], first=False)  # the honest next part
    assert later.blocks
    _, ended = WebmStream().read(data, first=True)
    with pytest.raises(PartRefused, match="second stream"):  # a new recording sent as more of the old run
        WebmStream(ended).read(data[:60_000], first=False)


def test_a_part_is_placed_on_the_sessions_timeline_and_refused_from_the_future(recorded: Path) -> None:
    data = recorded.read_bytes()
    first = check_part(data[:300_000], True, None, Timeline(run_start_s=10.0, origin_s=None, now_s=30.0))
    assert first.span is not None and first.span[0] == pytest.approx(10.0, abs=0.05)
    assert first.samples and first.samples[0].at_s == pytest.approx(10.0, abs=0.05)  # its keyframe's signature
    with pytest.raises(PartRefused, match="lived"):
        check_part(data, True, None, Timeline(run_start_s=10.0, origin_s=None, now_s=12.0))
    rest = check_part(data[300_000:], False, first.state, Timeline(10.0, first.origin_s, 30.0))
    assert rest.span is not None and rest.span[1] == pytest.approx(18.0, abs=0.2)
    assert [round(s.at_s - 10.0) for s in first.samples + rest.samples] == [0, 2, 4, 6]


def test_signatures_tell_the_same_picture_through_two_encoders_from_another(
    recorded: Path, demo: Scenario, tmp_path: Path
) -> None:
    streamed = webm_of(demo.video, tmp_path / "streamed.webm", bitrate=250_000, until_s=8.0)

    def pictures(path: Path) -> list[Signature]:
        with av.open(str(path)) as container:
            return [
                Signature(float(f.time), signature_of(f.to_ndarray(format="gray")))
                for f in container.decode(video=0)
                if f.time is not None
            ]

    seen, kept = pictures(streamed), pictures(recorded)
    honest = check_samples(kept, seen, window_s=1.0)
    assert min(c.similarity or 0.0 for c in honest) > 0.95
    assert mismatch_spans(honest, 0.9, 2, 10.0) == []
    shifted = [Signature(s.at_s + 20.0, s.thumb) for s in seen]  # the analysis saw nothing then
    assert all(c.similarity is None for c in check_samples(kept, shifted, 1.0))
    black = [Signature(s.at_s, bytes(192)) for s in seen]  # a covered camera against the real picture
    spans = mismatch_spans(check_samples(kept, black, 1.0), 0.9, 2, 10.0)
    assert sum(span.samples for span in spans) >= len(kept) - 2 and all(span.best == 0.0 for span in spans)
    assert similarity(bytes(192), bytes([3] * 192)) == 1.0  # two flat pictures of about one brightness
    assert unpack(pack(kept)) == kept
