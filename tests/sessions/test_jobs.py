"""The job queue in the database, as several platform nodes share it: claims that only one node wins, in the
order the jobs were queued; leases that another node takes over when they run out, set and judged by the
database's clock and not renewed past a start's deadline; results kept once (also when two finish at
once) and only from the claim holding the job; failures only from it; jobs given back to wait a while,
their last trouble named when they are given up; and re-analysis as a new run (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from footprint.ledger.tables import EntryRow
from proctor.sessions import analyses as analyses_module
from proctor.sessions.analyses import MAX_ATTEMPTS, Deadline
from proctor.sessions.clock import db_time
from proctor.sessions.errors import NotFoundError, StateError
from proctor.sessions.job import AnalysisJob, JobResult, run_job
from proctor.sessions.tables import EventRow, SessionRow, utcnow
from tests.fixtures.scenarios import Scenario
from tests.sessions.conftest import Platform
from tests.sessions.test_service import enrol, upload_of

_RESULTS: dict[str, JobResult] = {}


def queued_session(platform: Platform, demo: Scenario, media: Path, folder: Path) -> str:
    """A session whose short real recording was uploaded (6.2 s: a face, then nobody): its job is queued."""
    exam_id, candidate_id = enrol(platform, demo)
    row, _ = platform.service.create_session(platform.college, exam_id, candidate_id)
    platform.service.recordings.accept(platform.college, row.id, upload_of(media / "face_noface.mov", folder))
    return row.id


def result_of(job: AnalysisJob) -> JobResult:
    """The real analysis of the job's recording (computed once: the recording is the same in every test)."""
    if "face_noface" not in _RESULTS:
        _RESULTS["face_noface"] = run_job(job)
        assert _RESULTS["face_noface"].events  # the seat empties: there is something to keep
    return replace(_RESULTS["face_noface"], session_id=job.session_id)


def job_row(platform: Platform, session_id: str) -> SessionRow:
    with platform.service.sessions() as db:
        row = db.get(SessionRow, session_id)
        assert row is not None
        return row


def analyses_kept(platform: Platform, session_id: str) -> int:
    with platform.service.sessions() as db:
        query = select(func.count()).select_from(EntryRow).where(EntryRow.kind == "proctoring_analysis")
        return int(db.scalar(query.where(EntryRow.record_id.like(f"{session_id}/%"))) or 0)


def test_two_nodes_claiming_at_once_take_the_job_once(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    session_id = queued_session(platform, demo, media, tmp_path)
    analyses = platform.service.analyses
    start = threading.Barrier(2)
    claimed: dict[str, AnalysisJob | None] = {}

    def claim(node: str) -> None:
        start.wait()
        claimed[node] = analyses.claim(node, lease_s=30)

    threads = [threading.Thread(target=claim, args=(node,)) for node in ("node-a", "node-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [node for node, job in claimed.items() if job is not None]
    assert len(winners) == 1
    job = claimed[winners[0]]
    assert job is not None and job.session_id == session_id and job.storage is not None
    row = job_row(platform, session_id)
    assert (row.job_state, row.job_node, row.job_claim, row.job_attempts) == ("running", winners[0], job.claim, 1)
    assert row.job_lease_until is not None
    assert analyses.claim("node-c", lease_s=30) is None  # nothing else is queued


def test_a_job_whose_node_stopped_renewing_is_taken_over_and_kept_once(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    session_id = queued_session(platform, demo, media, tmp_path)
    analyses = platform.service.analyses
    first = analyses.claim("node-a", lease_s=30)
    assert first is not None
    assert analyses.renew("node-a", 30) == 1 and analyses.renew("node-b", 30) == 0
    assert analyses.requeue_lost() == []  # node-a vouches for its job: nobody takes it
    with platform.service.store.write() as db:  # node-a died: its lease runs out
        db.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id)
            .values(job_lease_until=utcnow() - timedelta(seconds=1))
        )
    assert analyses.requeue_lost() == [session_id]
    second = analyses.claim("node-b", lease_s=30)
    assert second is not None and second.claim != first.claim
    result = result_of(second)
    assert analyses.finish(result, first.claim) is None  # node-a's late result: another start holds the job
    assert analyses.progress(session_id, 0.5, first.claim) is None and job_row(platform, session_id).job_progress == 0
    kept = analyses.finish(result, second.claim)
    assert kept is not None and kept.analysis_run == 1
    assert analyses.finish(result, second.claim) is None  # the same result again: a duplicate
    assert analyses.finish(result) is None
    row = job_row(platform, session_id)
    assert (row.job_state, row.job_node, row.job_attempts, row.analysis_run) == ("done", "node-b", 2, 1)
    assert analyses_kept(platform, session_id) == 1
    with platform.service.sessions() as db:
        stored = db.scalar(select(func.count()).select_from(EventRow).where(EventRow.session_id == session_id))
    assert stored == len(result.events)


def test_a_restarted_node_takes_back_its_own_jobs_at_once(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    session_id = queued_session(platform, demo, media, tmp_path)
    analyses = platform.service.analyses
    assert analyses.claim("node-a", lease_s=3600) is not None
    assert analyses.requeue_lost("node-b") == []  # another node leaves a leased job alone
    assert analyses.requeue_lost("node-a") == [session_id]  # node-a restarted: its job goes back to the queue
    row = job_row(platform, session_id)
    assert (row.job_state, row.job_node, row.job_claim, row.job_lease_until) == ("queued", None, None, None)


def test_a_job_given_back_runs_again_until_its_starts_are_used_up(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    session_id = queued_session(platform, demo, media, tmp_path)
    analyses = platform.service.analyses
    job = analyses.claim("node-a", lease_s=30)
    assert job is not None
    assert analyses.release(session_id, job.claim, refund=True)  # the node stopped: the start is not counted
    assert job_row(platform, session_id).job_attempts == 0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        job = analyses.claim("node-a", lease_s=30)
        assert job is not None and job.attempt == attempt and job_row(platform, session_id).job_attempts == attempt
        assert not analyses.release(session_id, "another-claim")  # only the claim holding the job gives it back
        assert analyses.release(session_id, job.claim, reason=f"worker lost in start {attempt}")
        assert job_row(platform, session_id).job_error == f"worker lost in start {attempt}"
    assert analyses.claim("node-a", lease_s=30) is None
    row = job_row(platform, session_id)
    assert row.job_state == "failed" and row.job_error is not None
    assert "3 times" in row.job_error and "worker lost in start 3" in row.job_error  # what went wrong, last


def test_a_job_given_back_waits_before_it_runs_again(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    session_id = queued_session(platform, demo, media, tmp_path)
    analyses = platform.service.analyses
    job = analyses.claim("node-a", lease_s=30)
    assert job is not None
    assert analyses.release(session_id, job.claim, reason="worker lost", retry_after_s=3600)
    assert analyses.claim("node-b", lease_s=30) is None  # not at once: it waits an hour
    assert analyses.pending() == [session_id]  # still queued for all to see
    with platform.service.store.write() as db:  # the hour has passed
        db.execute(update(SessionRow).where(SessionRow.id == session_id).values(job_retry_at=db_time(-1)))
    again = analyses.claim("node-b", lease_s=30)
    assert again is not None and again.attempt == 2


def test_jobs_are_claimed_in_the_order_they_were_queued(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    service, analyses = platform.service, platform.service.analyses
    old = queued_session(platform, demo, media, tmp_path / "old")  # an older session, analysed long ago
    first = analyses.claim("node-a", lease_s=30)
    assert first is not None and analyses.finish(result_of(first), first.claim) is not None
    new = queued_session(platform, demo, media, tmp_path / "new")  # a new upload, waiting
    service.analyses.reanalyse(platform.college, old)  # a (bulk) re-analysis comes after it
    assert job_row(platform, old).job_state == "queued"
    order = [analyses.claim("node-a", lease_s=30), analyses.claim("node-a", lease_s=30)]
    assert [job.session_id for job in order if job is not None] == [new, old]  # the upload first


def database_now(platform: Platform) -> datetime:
    """The database's clock now (what leases are set by), as an aware UTC time."""
    with platform.service.sessions() as db:
        now = db.scalar(select(db_time(0)))
    assert now is not None
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def test_leases_are_set_and_judged_by_the_databases_clock(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = queued_session(platform, demo, media, tmp_path)
    analyses = platform.service.analyses
    slow = datetime.now(UTC) - timedelta(minutes=10)
    monkeypatch.setattr(analyses_module, "utcnow", lambda: slow)  # node-a's clock is ten minutes behind
    # The database's time is read before and after each step: the bounds hold however long a step takes.
    before_claim = database_now(platform)
    job = analyses.claim("node-a", lease_s=30)
    after_claim = database_now(platform)
    assert job is not None and analyses.renew("node-a", 30) == 1
    after_renew = database_now(platform)
    monkeypatch.undo()
    assert analyses.requeue_lost() == []  # node-b (a right clock) sees a lease that has not run out
    row = job_row(platform, session_id)
    assert row.job_lease_until is not None and row.job_started_at is not None
    until = row.job_lease_until if row.job_lease_until.tzinfo else row.job_lease_until.replace(tzinfo=UTC)
    started = row.job_started_at if row.job_started_at.tzinfo else row.job_started_at.replace(tzinfo=UTC)
    tick = timedelta(milliseconds=1)  # SQLite keeps its clock's milliseconds
    assert before_claim - tick <= started <= after_claim + tick  # the database's clock, not node-a's
    assert after_claim - tick <= until - timedelta(seconds=30) <= after_renew + tick


def test_a_start_past_its_deadline_loses_its_lease_though_its_node_renews(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    session_id = queued_session(platform, demo, media, tmp_path)
    analyses = platform.service.analyses
    job = analyses.claim("node-a", lease_s=30, deadline=Deadline(per_recorded_s=2.0, margin_s=60.0))
    assert job is not None and job.deadline_s == pytest.approx(2.0 * job.duration_s + 60.0)
    assert 6.0 < job.duration_s < 7.0  # face_noface.mov: its deadline is 72–74 s
    assert analyses.renew("node-a", 30) == 1  # within its deadline
    with platform.service.store.write() as db:  # its deadline passes while it hangs; node-a still renews
        db.execute(update(SessionRow).where(SessionRow.id == session_id).values(job_deadline_at=db_time(-1)))
    assert analyses.renew("node-a", 30) == 0  # … but the lease is not extended any more
    assert analyses.requeue_lost() == []  # until it runs out
    with platform.service.store.write() as db:
        db.execute(update(SessionRow).where(SessionRow.id == session_id).values(job_lease_until=db_time(-1)))
    assert analyses.requeue_lost() == [session_id]  # then any node gives the job back
    again = analyses.claim("node-b", lease_s=30)
    assert again is not None and again.attempt == 2
    assert analyses.finish(result_of(job), job.claim) is None  # the hung start's late result is not kept
    assert analyses.finish(result_of(again), again.claim) is not None and analyses_kept(platform, session_id) == 1


def test_a_failure_is_recorded_only_from_the_start_holding_the_job(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    session_id = queued_session(platform, demo, media, tmp_path)
    analyses = platform.service.analyses
    job = analyses.claim("node-a", lease_s=30)
    assert job is not None and analyses.finish(result_of(job), job.claim) is not None
    assert not analyses.fail(session_id, "the result could not be kept", job.claim)  # a late report of a done job
    assert not analyses.fail(session_id, "stale")
    row = job_row(platform, session_id)
    assert (row.job_state, row.job_error, row.status) == ("done", None, "analysed")
    assert analyses.reanalyse(platform.college, session_id).job_state == "queued"
    running = analyses.claim("node-b", lease_s=30)
    assert running is not None
    assert not analyses.fail(session_id, "from another start", job.claim)
    assert analyses.fail(session_id, "unreadable", running.claim)
    failed = job_row(platform, session_id)
    assert (failed.job_state, failed.job_error) == ("failed", "unreadable")


def test_two_finishing_the_same_start_at_once_keep_one_result(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    session_id = queued_session(platform, demo, media, tmp_path)
    analyses = platform.service.analyses
    job = analyses.claim("node-a", lease_s=30)
    assert job is not None
    result = result_of(job)
    start = threading.Barrier(2)
    kept: list[object] = []

    def finish() -> None:
        start.wait()
        kept.append(analyses.finish(result, job.claim))

    threads = [threading.Thread(target=finish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(row is not None for row in kept) == 1 and len(kept) == 2  # exactly one kept it
    assert analyses_kept(platform, session_id) == 1
    with platform.service.sessions() as db:
        stored = db.scalar(select(func.count()).select_from(EventRow).where(EventRow.session_id == session_id))
    assert stored == len(result.events) and job_row(platform, session_id).analysis_run == 1


def test_reanalysis_is_a_new_run_and_leaves_the_first_one(
    platform: Platform, demo: Scenario, media: Path, tmp_path: Path
) -> None:
    service = platform.service
    session_id = queued_session(platform, demo, media, tmp_path)
    with pytest.raises(NotFoundError):
        service.analyses.reanalyse(platform.other_college, session_id)
    first = service.analyses.claim("node-a", lease_s=30)
    assert first is not None
    assert service.analyses.finish(result_of(first), first.claim) is not None
    with service.sessions() as db:
        exam_id = service.session(db, platform.college, session_id).exam_id
    queued, skipped = service.analyses.reanalyse_exam(platform.college, exam_id)
    assert (queued, skipped) == ([session_id], 0)
    row = job_row(platform, session_id)
    assert (row.status, row.job_state, row.job_attempts, row.analysis_run) == ("submitted", "queued", 0, 1)
    second = service.analyses.claim("node-b", lease_s=30)
    assert second is not None
    assert service.analyses.finish(result_of(second), second.claim) is not None
    row = job_row(platform, session_id)
    assert (row.status, row.job_state, row.analysis_run) == ("analysed", "done", 2)
    assert analyses_kept(platform, session_id) == 2
    with service.sessions() as db:
        runs = db.execute(
            select(EventRow.analysis_run, func.count())
            .where(EventRow.session_id == session_id)
            .group_by(EventRow.analysis_run)
        ).all()
    events = len(result_of(second).events)
    assert dict(runs) == {1: events, 2: events}  # the same recording, analysed again: its own run
    service.decide(platform.college, session_id, "confirmed", "Examiner", "")
    with pytest.raises(StateError):
        service.analyses.reanalyse(platform.college, session_id)  # a verdict stands
    scheduled, _ = service.create_session(platform.college, exam_id, row.candidate_id)
    with pytest.raises(StateError):
        service.analyses.reanalyse(platform.college, scheduled.id)  # nothing recorded yet
