"""A live session's kept recording on both databases: playback that never fails whole (a part gone from the disk,
a part whose bytes changed, a whole run unreadable), and the seal the platform makes when the grace time has
passed, recorded in the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from sqlalchemy import select, update

from footprint.ledger.tables import EntryRow
from proctor.sessions.clock import db_time
from proctor.sessions.lifecycle import Status
from proctor.sessions.parts import RecordingPart
from proctor.sessions.tables import ChunkRow, SessionRow
from tests.fixtures.live_media import webm_of
from tests.fixtures.scenarios import Scenario
from tests.sessions.conftest import Platform

PART = 120_000


@pytest.fixture(scope="module")
def recorded(demo: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return webm_of(demo.video, tmp_path_factory.mktemp("kept") / "recorded.webm", keyframe_every_s=2.0, until_s=10.0)


def live_session(platform: Platform, demo: Scenario, recorded: Path) -> tuple[str, int]:
    """A session that went live a minute ago, with the page's recording kept in parts; returns it and its parts."""
    service = platform.service
    exam = service.create_exam(platform.college, "Final: Welding", "final", None)
    candidate = service.add_candidate(platform.college, exam.id, "S-1", "Aigerim", demo.reference.read_bytes())
    row, _ = service.create_session(platform.college, exam.id, candidate.id)
    with service.store.write() as db:
        db.execute(
            update(SessionRow)
            .where(SessionRow.id == row.id)
            .values(status=Status.IN_PROGRESS.value, live_started_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    data = recorded.read_bytes()
    parts = [data[offset : offset + PART] for offset in range(0, len(data), PART)]
    for number, part in enumerate(parts):
        assert service.parts.accept(row.id, RecordingPart("camera-1", number, 0.0, part))
    return row.id, len(parts)


def part_file(platform: Platform, session_id: str, number: int) -> Path:
    with platform.service.sessions() as db:
        key = db.scalars(select(ChunkRow.storage_key).where(ChunkRow.session_id == session_id, ChunkRow.part == number))
        found = key.one()
    return Path(platform.service.storage.spec.location) / found


def duration_of(platform: Platform, session_id: str, tmp_path: Path) -> float:
    playback = platform.service.playbacks.open(platform.college, session_id)
    out = tmp_path / "played.webm"
    out.write_bytes(b"".join(playback.blocks()))
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        times = [float(p.pts * p.time_base) for p in container.demux(stream) if p.pts is not None]
    return max(times) - min(times)


def test_playback_leaves_out_what_cannot_be_read_and_plays_the_rest(
    platform: Platform, demo: Scenario, recorded: Path, tmp_path: Path
) -> None:
    session_id, parts = live_session(platform, demo, recorded)
    whole = 10.0  # the recording's length (its playback is not built yet: a fault now is what it finds)
    middle = parts // 2
    changed = part_file(platform, session_id, middle)
    changed.write_bytes(changed.read_bytes()[:-5000] + bytes(5000))  # a disk fault in the middle of the run
    gone = part_file(platform, session_id, parts - 1)
    gone.unlink()  # and the last part lost
    playback = platform.service.playbacks.open(platform.college, session_id)
    playback.close()
    reasons = [s.reason for s in playback.skipped]
    assert any(f"part {middle} of recording camera-1" in r and "ledger" in r for r in reasons), reasons
    assert any(f"part {parts - 1} of recording camera-1" in r and "cannot be read" in r for r in reasons), reasons
    played = duration_of(platform, session_id, tmp_path)  # the parts after the bad one play behind the header
    assert 5.0 < played < whole
    again = platform.service.playbacks.open(platform.college, session_id)  # the report is kept with the file
    again.close()
    assert [s.reason for s in again.skipped] == reasons


def test_the_platform_seals_a_recording_whose_grace_time_has_passed(
    platform: Platform, demo: Scenario, recorded: Path
) -> None:
    service = platform.service
    session_id, parts = live_session(platform, demo, recorded)
    assert service.seals.seal_overdue() == []  # still live
    with service.store.write() as db:  # the exam is finished and its grace time passes
        db.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id)
            .values(status=Status.ANALYSED.value, recording_until=db_time(-1))
        )
    assert service.seals.seal_overdue() == [session_id]
    assert service.seals.seal_overdue() == []  # once
    with service.sessions() as db:
        row = db.get(SessionRow, session_id)
        assert row is not None and row.recording_sealed_at is not None
        assert row.recording_check == "unverified"  # the analysis kept no signature here: nothing to compare
        entry = db.scalars(
            select(EntryRow).where(EntryRow.kind == "recording_sealed", EntryRow.record_id == session_id)
        )
        payload = entry.one().payload
    assert b'"parts":' + str(parts).encode() in payload and b"the time for the finishing upload passed" in payload
