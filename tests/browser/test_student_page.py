"""The candidate's exam page in a real browser: Debian's chromium with a fake camera and microphone that play
the real scenarios (tests/fixtures/fake_capture.py), against the platform on loopback.

Truth is on the fake camera's timeline: the page samples how many frames the camera has produced against
the session's clock (`proctorDiagnostics.cameraTimeline`), so an event of the scenario at file time t is
expected where the camera's frame t reached the page.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import itertools
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from footprint.accounts import ALL_SCOPES, issue_key_for
from footprint.store import make_engine, make_session_factory
from proctor.decode import RecordingInfo, probe
from proctor.sessions.tables import SessionRow
from tests.browser.conftest import CHROMIUM_FLAGS, screenshot_path
from tests.fixtures.fake_capture import CHROMIUM_MJPEG_FPS, FakeCapture, build_fake_capture
from tests.fixtures.fetch import media_path
from tests.fixtures.scenarios import Scenario
from tests.live.conftest import Enrolled, enrol
from tests.servers import LiveServer, free_port
from web.live.lean import ANALYSIS_WIDTH, AUDIO_PACKET_MS
from web.pages.i18n import LANGUAGES, catalog
from web.settings import Settings

pytestmark = pytest.mark.slow
KEY = "browser-test-key-0123456789"
CLEAN_S = 40.0
"""The candidate alone at the start of the fake camera: it covers the steps before the exam."""
TOLERANCE_S = 1.5
HEARD = {"speech_detected", "noise_high"}
"""Events of the microphone: on the audio's clock, not the camera's."""
STEP_TITLES = {
    "consent": "consent.title",
    "system-check": "check.title",
    "identity": "identity.title",
    "calibration": "calibration.title",
    "room-scan": "scan.title",
    "exam": "exam.title",
    "finish": "finish.title",
}


@pytest.fixture(scope="module")
def capture(demo: Scenario, tmp_path_factory: pytest.TempPathFactory) -> FakeCapture:
    return build_fake_capture(tmp_path_factory.mktemp("fake-capture"), demo, clean_s=CLEAN_S)


def media_flags(capture: FakeCapture, *, allow: bool = True) -> list[str]:
    flags = [
        *CHROMIUM_FLAGS,
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={capture.video}",
        f"--use-file-for-fake-audio-capture={capture.audio}",
        "--auto-select-desktop-capture-source=Entire screen",
    ]
    return [*flags, "--use-fake-ui-for-media-stream"] if allow else flags  # without it, permission is refused


@pytest.fixture(scope="module")
def media_browser(playwright: Playwright, capture: FakeCapture) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is not installed: run `make system-deps`"
    launched = playwright.chromium.launch(executable_path=executable, args=media_flags(capture))
    yield launched
    launched.close()


@pytest.fixture
def context(media_browser: Browser) -> Iterator[BrowserContext]:
    made = media_browser.new_context(viewport={"width": 1100, "height": 900}, locale="ru-RU")
    yield made
    made.close()


@pytest.fixture
def student_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        port=free_port(),
        bootstrap_api_key=KEY,
        checkpoint_interval_s=3600,
        retention_days=1095,
        log_level="WARNING",
    )


@pytest.fixture
def student_server(student_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(student_settings) as server:
        yield server


def other_college_key(settings: Settings) -> str:
    """A key of another college on the same platform (as `python -m web issue-key` issues it)."""
    engine = make_engine(settings.db_url)
    try:
        with make_session_factory(engine).begin() as db:
            return issue_key_for(db, "Other College", "lms", ALL_SCOPES, new_college=True).secret
    finally:
        engine.dispose()


QUIZ_PASSWORD = "Weld-Quiz #7"
"""The LMS quiz's password the college gave the platform (shown on the exam screen only)."""
QUIZ = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Quiz</title></head>
<body><h1>Welding safety: final quiz</h1><p>1. Which gas shields a MIG weld?</p>
<label><input type="radio" name="q1"> Argon</label>
<label><input type="radio" name="q1"> Oxygen</label></body></html>"""


@pytest.fixture(scope="module")
def lms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The college's LMS on another origin, serving the exam's questions (the page frames it)."""
    folder = tmp_path_factory.mktemp("lms")
    (folder / "quiz.html").write_text(QUIZ, encoding="utf-8")
    port = free_port()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/quiz.html"
    httpd.shutdown()
    httpd.server_close()


def api(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)


def visible_step(page: Page) -> str:
    steps = page.eval_on_selector_all("section[data-step]:not([hidden])", "els => els.map(e => e.dataset.step)")
    assert len(steps) == 1, steps  # one screen at a time
    return str(steps[0])


def go_on(page: Page, step: str, timeout_s: float = 90) -> None:
    """Wait for the step's check to finish (its continue button enabled), then continue."""
    button = f'section[data-step="{step}"] button[data-action="continue"]'
    page.wait_for_selector(f"{button}:not([disabled])", timeout=timeout_s * 1000)
    assert visible_step(page) == step
    page.click(button)
    if step == "exam":  # finishing cannot be undone: the page asks first
        page.click('#confirm-dialog button[data-action="confirm"]')


def session_time(page: Page) -> float:
    value = page.evaluate("window.proctorDiagnostics.sessionTime()")
    assert value is not None
    return float(value)


def camera_timeline(page: Page) -> list[tuple[float, int]]:
    """(session time, frames the fake camera has produced so far), sampled by the page once a second."""
    return [(float(t), int(n)) for t, n in page.evaluate("window.proctorDiagnostics.cameraTimeline()")]


def file_time_to_session(timeline: list[tuple[float, int]], file_s: float) -> float:
    """Where the fake camera's frame at `file_s` reached the page, on the session's timeline: Chromium plays
    the file at its frame rate only while it gets the CPU, so the frames it counted place it, not the clock."""
    frames = file_s * CHROMIUM_MJPEG_FPS
    for (t0, n0), (t1, n1) in itertools.pairwise(timeline):
        if n0 <= frames <= n1 and n1 > n0:
            return t0 + (t1 - t0) * (frames - n0) / (n1 - n0)
    raise AssertionError(f"the camera's frame at {file_s} s is not on the page's timeline {timeline[:2]}…")


def wait_until_camera_played(page: Page, file_s: float) -> None:
    while not (timeline := camera_timeline(page)) or timeline[-1][1] < file_s * CHROMIUM_MJPEG_FPS:
        time.sleep(0.5)


def in_every_language(page: Page, step: str) -> None:
    """Switch the language on this screen (without leaving it), check the title, keep a screenshot of each."""
    for language in LANGUAGES:
        page.click(f'nav.langs a[data-lang="{language}"]')
        assert page.evaluate("document.documentElement.lang") == language
        assert f"lang={language}" in page.url
        title = page.inner_text(f'section[data-step="{step}"] h1')
        assert title == catalog(language).text(STEP_TITLES[step])
        page.screenshot(path=str(screenshot_path(f"student-{step}-{language}")))
    assert visible_step(page) == step


def events(server: LiveServer, session_id: str) -> list[dict[str, Any]]:
    with api(server) as client:
        answer = client.get(f"/api/v1/sessions/{session_id}/events")
    assert answer.status_code == 200
    return list(answer.json())


def recording_seconds(server: LiveServer, session_id: str, folder: Path, track: str = "camera") -> float:
    return kept_recording(server, session_id, folder, track).duration_s


def kept_recording(server: LiveServer, session_id: str, folder: Path, track: str = "camera") -> RecordingInfo:
    with api(server) as client:
        answer = client.get(f"/api/v1/sessions/{session_id}/recording", params={"track": track})
    assert answer.status_code == 200, answer.text
    path = folder / f"{track}.{'webm' if 'webm' in answer.headers['content-type'] else 'mp4'}"
    path.write_bytes(answer.content)
    return probe(path)


def stored_report(settings: Settings, session_id: str) -> dict[str, Any]:
    """The analysis report the platform stored for the session."""
    engine = make_engine(settings.db_url)
    try:
        with make_session_factory(engine).begin() as db:
            row = db.get(SessionRow, session_id)
            assert row is not None and row.report is not None
            return dict(row.report)
    finally:
        engine.dispose()


def test_a_candidate_goes_through_every_step_in_three_languages_and_the_exam_is_recorded(
    student_server: LiveServer,
    student_settings: Settings,
    context: BrowserContext,
    capture: FakeCapture,
    demo: Scenario,
    lms: str,
    tmp_path: Path,
) -> None:
    policy = {"room_scan": {"pre_exam": True, "time_limit_s": 5, "retries": 0}}
    enrolled = enrol(student_server.url, demo, policy=policy, key=KEY, content_url=lms)
    page = context.new_page()
    page.goto(f"{student_server.url}/join/{enrolled.token}")
    assert page.evaluate("document.documentElement.lang") == "ru"  # the browser's language

    in_every_language(page, "consent")
    go_on(page, "consent")
    page.wait_for_selector('section[data-step="system-check"] button[data-action="continue"]:not([disabled])')
    states = page.eval_on_selector_all("[data-check]", "els => els.map(e => [e.dataset.check, e.dataset.state])")
    assert all(state == "passed" for _, state in states), states
    in_every_language(page, "system-check")
    go_on(page, "system-check")
    page.wait_for_selector('section[data-step="identity"] button[data-action="continue"]:not([disabled])')
    assert page.inner_text("#identity-state") == catalog("en").text("identity.verified")
    in_every_language(page, "identity")
    go_on(page, "identity")
    page.wait_for_selector('section[data-step="calibration"] button[data-action="continue"]:not([disabled])')
    in_every_language(page, "calibration")
    go_on(page, "calibration")
    page.wait_for_selector('section[data-step="room-scan"] button[data-action="start-scan"]:not([disabled])')
    page.click('section[data-step="room-scan"] button[data-action="start-scan"]')
    page.wait_for_selector('section[data-step="room-scan"] button[data-action="continue"]:not([disabled])')
    assert page.inner_text("#scan-progress-text") == catalog("en").text("scan.incomplete")  # the camera never turned
    in_every_language(page, "room-scan")
    go_on(page, "room-scan")
    page.wait_for_selector('section[data-step="exam"]:not([hidden])')
    page.wait_for_selector("iframe#content[src]")
    quiz = page.frame_locator("iframe#content").locator("h1")
    assert quiz.inner_text() == "Welding safety: final quiz"  # the LMS's page, framed from its own origin

    played = camera_timeline(page)[-1][1] / CHROMIUM_MJPEG_FPS
    assert played < capture.scenario_from_s, "the steps took longer than the clean stretch of the fake camera"
    wait_until_camera_played(page, capture.duration_s - 0.5)  # the whole scenario, once
    encoding = page.evaluate("window.proctorDiagnostics.videoEncoding()")  # what the analysis is sent
    time.sleep(1.0)
    in_every_language(page, "exam")  # ends in English
    shown = page.text_content("#notices") or ""
    go_on(page, "exam")
    page.wait_for_selector('section[data-step="finish"] button[data-action="continue"]:not([disabled])')
    assert page.inner_text("#receipt-session") == enrolled.session_id
    in_every_language(page, "finish")

    # what happened, when it happened: the scenario's events at their times on the camera's timeline
    stored = events(student_server, enrolled.session_id)
    timeline = camera_timeline(page)
    scan = next(e for e in stored if e["type"] == "room_scan_incomplete")
    scenario_from = file_time_to_session(timeline, capture.scenario_from_s)
    assert scan["end_s"] < scenario_from, "the room scan overlapped the scenario: lengthen CLEAN_S"
    # the fake microphone plays in real time from when the devices opened, whatever the camera's lag
    opened_at = timeline[0][0] - timeline[0][1] / CHROMIUM_MJPEG_FPS

    def expected_at(kind: str, file_s: float) -> float:
        return opened_at + file_s if kind in HEARD else file_time_to_session(timeline, file_s)

    expected = [(kind, expected_at(kind, s.start_s)) for s in capture.truth for kind in s.expect]
    found = []
    for kind, at in expected:
        matches = [e for e in stored if e["type"] == kind and abs(e["start_s"] - at) <= TOLERANCE_S]
        assert matches, (kind, at, [(e["type"], e["start_s"]) for e in stored])
        if kind not in HEARD:
            found.append(matches[0]["start_s"])
    assert found == sorted(found)  # the camera's events in the scenario's order
    assert catalog("en").text("notice.face_not_visible") in shown  # the page told the candidate, in neutral words

    with api(student_server) as client:
        session = client.get(f"/api/v1/sessions/{enrolled.session_id}").json()
    assert session["consent"] == "accepted" and session["identity"] == "verified"
    assert session["status"] == "analysed"
    # the page sealed its recording once every part was sent, and Chromium's recording shows what the server saw
    assert session["recording_sealed_at"] is not None and session["recording_check"] == "verified"
    assert page.evaluate("window.proctorDiagnostics.uploads().pending") == 0
    recorded = kept_recording(student_server, enrolled.session_id, tmp_path)
    assert recorded.duration_s >= capture.duration_s - 5.0  # the page's own recording is kept and plays

    # the analysis got the lean stream the server asked for; the kept recording has the camera's full size
    width, height = encoding["cameraWidth"], encoding["cameraHeight"]
    assert width > ANALYSIS_WIDTH
    assert encoding["scaleResolutionDownBy"] == pytest.approx(width / ANALYSIS_WIDTH)
    assert encoding["maxFramerate"] == 6  # the exam's 5 frames a second and a margin; 18 during the scan
    assert (recorded.width, recorded.height) == (width, height)
    received = stored_report(student_settings, enrolled.session_id)["received"]
    assert received["video"]["width"] == ANALYSIS_WIDTH
    assert received["video"]["height"] == round(height * ANALYSIS_WIDTH / width)
    assert received["video"]["frames_per_s"] < 10  # the camera runs at 30; 6 a second, 18 for the scan's few
    assert received["audio_packet_ms"] == pytest.approx(AUDIO_PACKET_MS, abs=1)


def hide(page: Page, hidden: bool) -> float:
    """The candidate switches to another tab (and back). Headless Chromium keeps every page visible
    (microsoft/playwright#2286), so the browser's side is emulated: the property and its event."""
    state = "hidden" if hidden else "visible"
    at = page.evaluate(
        """state => {
            Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
            Object.defineProperty(document, "hidden", { configurable: true, get: () => state === "hidden" });
            document.dispatchEvent(new Event("visibilitychange"));
            return window.proctorDiagnostics.sessionTime();
        }""",
        state,
    )
    return float(at)


def hear_next(page: Page, event: str) -> None:
    """From now, note the page's clock when `document` next hears `event` (read it with `heard_at`). The listener
    comes after the page's own, in the same dispatch: the same moment on the same clock as the page's record of
    it, however long the browser takes to get there."""
    page.evaluate(
        """event => {
            window.testHeard = new Promise(resolve =>
                document.addEventListener(event, () => resolve(window.proctorDiagnostics.sessionTime()), { once: true })
            );
        }""",
        event,
    )


def heard_at(page: Page) -> float:
    """The page's clock when the event `hear_next` listens for came (waiting for it; a minute at most)."""
    at = page.evaluate(
        """() => Promise.race([
            window.testHeard,
            new Promise((_, fail) => setTimeout(() => fail(new Error("the event never came")), 60000)),
        ])"""
    )
    return float(at)


def through_to_the_exam(page: Page) -> None:
    for step in ("consent", "system-check", "identity", "calibration"):
        go_on(page, step)
    page.wait_for_selector('section[data-step="exam"]:not([hidden])')


def test_the_screen_is_recorded_tab_switches_and_leaving_full_screen_are_timed_and_a_scan_is_prompted(
    student_server: LiveServer,
    student_settings: Settings,
    context: BrowserContext,
    demo: Scenario,
    lms: str,
    tmp_path: Path,
) -> None:
    # and one in-exam room scan, 25 s into a 1-minute exam (its quiet margins leave no other time)
    scans = {"pre_exam": False, "in_exam_scans": 1, "in_exam_margin_s": 25, "time_limit_s": 10, "retries": 0}
    policy = {"room_scan": scans, "browser": {"screen_share": True, "fullscreen": True}}
    enrolled = enrol(student_server.url, demo, policy=policy, key=KEY, content_url=lms, duration_min=1)
    page = context.new_page()
    told: list[dict[str, Any]] = []  # what the server told the page on its control socket
    page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: told.append(json.loads(frame))))
    page.goto(f"{student_server.url}/join/{enrolled.token}?lang=en")
    through_to_the_exam(page)
    assert page.is_visible("#screen-box") and not page.is_visible("iframe#content")  # the screen first
    page.click('button[data-action="share-screen"]')
    page.wait_for_selector("#screen-box", state="hidden")
    page.click('button[data-action="fullscreen"]')
    page.wait_for_selector("iframe#content[src]")
    assert page.evaluate("Boolean(document.fullscreenElement)")

    # the scan is asked for on the exam screen, 25 s in: answered first, so that its modal dialog cannot come up
    # in the middle of what follows, however long a busy machine takes over it
    page.wait_for_selector("#scan-dialog[open]", timeout=60000)
    page.click('#scan-dialog button[data-action="start-scan"]')
    page.click('#scan-dialog button[data-action="scan-done"]')  # the candidate does not turn the camera
    page.wait_for_selector("#scan-dialog", state="hidden", timeout=30000)
    assert page.inner_text("#scan-dialog-progress") == catalog("en").text("scan.incomplete")
    assert page.evaluate("Boolean(document.fullscreenElement)")  # still in full screen
    time.sleep(2.0)

    hidden_at = hide(page, True)  # the page's own clock when the browser said so
    time.sleep(3.0)
    shown_at = hide(page, False)
    time.sleep(1.0)
    hear_next(page, "fullscreenchange")
    page.evaluate("document.exitFullscreen()")
    left_at = heard_at(page)  # the page's own clock when the browser said so (not when the test asked)
    page.wait_for_selector("#fullscreen-box", state="visible")
    time.sleep(2.0)
    hear_next(page, "fullscreenchange")
    page.click('button[data-action="fullscreen"]')
    page.wait_for_selector("#fullscreen-box", state="hidden")
    back_at = heard_at(page)
    page.keyboard.press("Control+a")
    hear_next(page, "copy")
    page.keyboard.press("Control+c")
    copied_at = heard_at(page)
    go_on(page, "exam")
    page.wait_for_selector('section[data-step="finish"] button[data-action="continue"]:not([disabled])')

    stored = events(student_server, enrolled.session_id)
    (tab,) = [e for e in stored if e["type"] == "tab_hidden"]
    assert tab["start_s"] == pytest.approx(hidden_at, abs=0.05) and tab["end_s"] == pytest.approx(shown_at, abs=0.05)
    (full,) = [e for e in stored if e["type"] == "fullscreen_exited"]
    assert full["start_s"] == pytest.approx(left_at, abs=0.05) and full["end_s"] == pytest.approx(back_at, abs=0.05)
    assert full["duration_s"] >= 2.0
    (copy,) = [e for e in stored if e["type"] == "copy_paste"]
    assert copy["start_s"] == pytest.approx(copied_at, abs=0.05)
    assert not [e for e in stored if e["type"] == "screen_share_stopped"]
    # the scan was asked for when the server said so, and no earlier than 25 s into the exam: bounded by the
    # server's readings around it (the exam's start, and the candidate's start of the scan the page sent on seeing
    # the request), not by how soon a busy browser showed it
    exam_from = next(m["session_time_s"] for m in told if m["type"] == "state" and m["state"] == "in_progress")
    (request,) = [m["request"] for m in told if m["type"] == "scan_request"]
    (result,) = [m for m in told if m["type"] == "scan_result"]
    (asked,) = [e for e in stored if e["type"] == "room_scan_requested"]
    assert asked["start_s"] == pytest.approx(request["at_s"], abs=0.01)
    tick = 0.02  # times are rounded to ms; the timer runs on the monotonic clock, session times on the wall clock
    assert exam_from + 25.0 - tick <= request["at_s"] <= result["started_s"]
    assert [e for e in stored if e["type"] == "room_scan_incomplete"]
    assert all(not e["technical"] for e in (tab, full, copy))  # facts for the examiner to weigh
    assert recording_seconds(student_server, enrolled.session_id, tmp_path, "screen") >= 5.0
    assert recording_seconds(student_server, enrolled.session_id, tmp_path, "camera") >= 5.0
    theirs = {"Authorization": f"Bearer {other_college_key(student_settings)}"}  # another college sees nothing
    with httpx.Client(base_url=student_server.url, headers=theirs, timeout=60) as client:
        for track in ("screen", "camera"):
            answer = client.get(f"/api/v1/sessions/{enrolled.session_id}/recording", params={"track": track})
            assert answer.status_code == 404
        assert client.get(f"/api/v1/sessions/{enrolled.session_id}/events").status_code == 404


def test_a_network_cut_and_a_reload_mid_exam_lose_nothing_and_a_finished_link_says_so(
    student_server: LiveServer, context: BrowserContext, demo: Scenario, tmp_path: Path
) -> None:
    enrolled: Enrolled = enrol(student_server.url, demo, key=KEY)
    with api(student_server) as client:  # the LMS quiz has a password: the page shows it inside the exam only
        gate = client.put(f"/api/v1/exams/{enrolled.exam_id}/gate", json={"password": QUIZ_PASSWORD})
        assert gate.status_code == 204
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=student_server.url)
    page = context.new_page()
    page.goto(f"{student_server.url}/join/{enrolled.token}?lang=en")
    assert QUIZ_PASSWORD not in page.content()
    through_to_the_exam(page)
    page.wait_for_selector("#gate-line:not([hidden])", timeout=30000)
    assert page.inner_text("#gate-password") == QUIZ_PASSWORD
    assert page.inner_text("#gate-label") == catalog("en").text("gate.label")
    page.click('button[data-action="copy-gate"]')
    page.wait_for_selector('#gate-state[data-i18n="gate.copied"]')
    assert page.evaluate("navigator.clipboard.readText()") == QUIZ_PASSWORD
    page.screenshot(path=str(screenshot_path("student-exam-quiz-password-en")))
    time.sleep(2.0)

    cut_at = session_time(page)
    context.set_offline(True)  # the network is cut for 10 s
    page.wait_for_selector('#status[data-state="reconnecting"]')
    assert page.inner_text("#status-text") == catalog("en").text("status.reconnecting")
    time.sleep(10.0)
    context.set_offline(False)
    page.wait_for_selector('#status[data-state="live"]', timeout=30000)
    back_at = session_time(page)
    time.sleep(3.0)

    page.reload()  # the candidate reloads the page mid-exam: it resumes at the exam
    page.wait_for_selector('section[data-step="exam"]:not([hidden])', timeout=60000)
    assert catalog("en").text("notice.resumed") in page.inner_text("#notices")
    page.wait_for_selector("#gate-line:not([hidden])", timeout=30000)  # shown again after the reload
    assert page.inner_text("#gate-password") == QUIZ_PASSWORD
    time.sleep(3.0)
    go_on(page, "exam")
    page.wait_for_selector('section[data-step="finish"] button[data-action="continue"]:not([disabled])')

    stored = events(student_server, enrolled.session_id)
    lost = [e for e in stored if e["type"] == "video_lost"]
    assert lost and all(e["technical"] for e in lost)
    assert not [e for e in stored if e["type"] == "copy_paste"]  # the password's copy button is no candidate's copy
    gap = min(lost, key=lambda e: abs(e["start_s"] - cut_at))
    assert gap["start_s"] == pytest.approx(cut_at, abs=2.5) and gap["end_s"] == pytest.approx(back_at, abs=2.5)
    with api(student_server) as client:
        session = client.get(f"/api/v1/sessions/{enrolled.session_id}").json()
    assert session["status"] == "analysed"
    assert recording_seconds(student_server, enrolled.session_id, tmp_path) >= 15.0  # both runs, one timeline

    finished = httpx.get(f"{student_server.url}/live/gate", headers={"Authorization": f"Bearer {enrolled.token}"})
    assert finished.status_code == 409 and QUIZ_PASSWORD not in finished.text
    again = context.new_page()  # the link opened once more, after the exam
    answer = again.goto(f"{student_server.url}/join/{enrolled.token}?lang=kk")
    assert answer is not None and answer.status == 410
    assert again.inner_text("h1") == catalog("kk").text("gone.finished_title")
    again.screenshot(path=str(screenshot_path("student-finished-link-kk")))


def test_a_refused_camera_and_a_missing_microphone_get_clear_instructions(
    playwright: Playwright, student_server: LiveServer, capture: FakeCapture, demo: Scenario
) -> None:
    executable = shutil.which("chromium")
    assert executable
    refusing = playwright.chromium.launch(executable_path=executable, args=media_flags(capture, allow=False))
    try:
        page = refusing.new_page()
        enrolled = enrol(student_server.url, demo, key=KEY)
        page.goto(f"{student_server.url}/join/{enrolled.token}?lang=en")
        go_on(page, "consent")
        page.wait_for_selector('[data-check="camera"][data-state="failed"]')
        advice = page.inner_text('[data-check="camera"] .advice')
        assert advice == catalog("en").text("advice.camera_blocked")
        assert page.is_disabled('section[data-step="system-check"] button[data-action="continue"]')
        assert page.is_visible('button[data-action="recheck"]')
        page.screenshot(path=str(screenshot_path("student-camera-blocked-en")))
    finally:
        refusing.close()

    allowing = playwright.chromium.launch(executable_path=executable, args=media_flags(capture))
    try:
        page = allowing.new_page()
        # a computer without a microphone: the browser's side (no audio device) is emulated
        page.add_init_script(
            """const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
            navigator.mediaDevices.getUserMedia = (constraints) => constraints.audio
                ? Promise.reject(new DOMException("Requested device not found", "NotFoundError"))
                : real(constraints);"""
        )
        enrolled = enrol(student_server.url, demo, key=KEY)
        page.goto(f"{student_server.url}/join/{enrolled.token}?lang=ru")
        go_on(page, "consent")
        page.wait_for_selector('[data-check="microphone"][data-state="failed"]')
        assert page.inner_text('[data-check="microphone"] .advice') == catalog("ru").text("advice.microphone_missing")
        assert page.get_attribute('[data-check="camera"]', "data-state") == "passed"
        assert page.is_disabled('section[data-step="system-check"] button[data-action="continue"]')
    finally:
        allowing.close()


def test_declining_ends_the_session_politely_and_is_recorded(
    student_server: LiveServer, context: BrowserContext, demo: Scenario
) -> None:
    enrolled = enrol(student_server.url, demo, key=KEY)
    page = context.new_page()
    page.goto(f"{student_server.url}/join/{enrolled.token}?lang=kk")
    page.click('section[data-step="consent"] button[data-action="decline"]')
    page.click('#confirm-dialog button[data-action="cancel"]')  # a second thought: nothing happened
    assert visible_step(page) == "consent"
    page.click('section[data-step="consent"] button[data-action="decline"]')
    page.click('#confirm-dialog button[data-action="confirm"]')
    page.wait_for_selector("#ended:not([hidden])")
    assert page.inner_text("#ended-title") == catalog("kk").text("declined.title")
    with api(student_server) as client:
        session = client.get(f"/api/v1/sessions/{enrolled.session_id}").json()
    assert session["status"] == "declined" and session["consent"] == "declined"
    assert session["recording_chunks"] == 0
    again = context.new_page().goto(f"{student_server.url}/join/{enrolled.token}?lang=en")
    assert again is not None and again.status == 410


ACCESSIBLE_NAMES = """() => {
    const unnamed = [];
    for (const el of document.querySelectorAll("button, a, input, meter, iframe, select, textarea")) {
        const label = el.id ? document.querySelector(`label[for="${el.id}"]`) : null;
        const name = (el.getAttribute("aria-label") || el.getAttribute("title") || el.textContent || "").trim()
            || (label ? label.textContent.trim() : "");
        if (!name) unnamed.push(el.outerHTML.slice(0, 80));
    }
    return unnamed;
}"""


def test_the_page_works_by_keyboard_at_360_px_with_named_controls_and_visible_focus(
    media_browser: Browser, student_server: LiveServer, demo: Scenario
) -> None:
    enrolled = enrol(student_server.url, demo, key=KEY)
    narrow = media_browser.new_context(viewport={"width": 360, "height": 740}, locale="kk-KZ")
    try:
        page = narrow.new_page()
        page.goto(f"{student_server.url}/join/{enrolled.token}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing sideways at 360 px
        assert page.evaluate(ACCESSIBLE_NAMES) == []
        assert page.get_attribute("#status", "role") == "status"
        assert page.get_attribute("#notices", "role") == "log"
        page.screenshot(path=str(screenshot_path("student-consent-360-kk")), full_page=True)
        for _ in range(30):  # only the keyboard: Tab to the primary action
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.dataset.action") == "continue":
                break
        assert page.evaluate("document.activeElement.closest('section').dataset.step") == "consent"
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        width = page.evaluate("parseFloat(getComputedStyle(document.activeElement).outlineWidth)")
        assert outline != "none" and width >= 2  # the focus is visible
        page.keyboard.press("Enter")
        page.wait_for_selector('section[data-step="system-check"]:not([hidden])')
        page.wait_for_selector('section[data-step="system-check"] button[data-action="continue"]:not([disabled])')
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert page.evaluate(ACCESSIBLE_NAMES) == []
        page.screenshot(path=str(screenshot_path("student-system-check-360-kk")), full_page=True)
    finally:
        narrow.close()


def test_the_identity_check_shows_its_time_and_the_receipt_can_be_printed(
    student_server: LiveServer, context: BrowserContext, demo: Scenario
) -> None:
    # enrolled with another person's photo: the check cannot settle at once (a match may well come before the step
    # shows, and a settled check hides its progress), so the page has a check under way to show
    enrolled = enrol(student_server.url, dataclasses.replace(demo, reference=media_path("biden.jpg")), key=KEY)
    page = context.new_page()
    page.goto(f"{student_server.url}/join/{enrolled.token}?lang=en")
    go_on(page, "consent")
    go_on(page, "system-check")
    # while the check runs: which attempt, how long so far, and the server's limit (90 s)
    page.wait_for_selector("#identity-time:not([hidden])", timeout=60_000)
    shown = page.inner_text("#identity-progress-text")
    assert re.match(r"Check \d+ of \d+", shown) and "of up to 90 s" in shown, shown
    assert page.get_attribute("#identity-progress", "max") == "90"
    page.screenshot(path=str(screenshot_path("student-identity-progress-en")))
    go_on(page, "identity", timeout_s=180)  # unverified after the attempts or the server's 90 s
    go_on(page, "calibration")
    page.wait_for_selector("#identity-time", state="hidden")
    go_on(page, "exam")
    page.wait_for_selector('section[data-step="finish"] button[data-action="continue"]:not([disabled])', timeout=90_000)
    link = page.get_attribute("#receipt-print", "href") or ""
    assert link == f"/join/{enrolled.token}/receipt?lang=en"
    receipt = context.new_page()
    receipt.goto(f"{student_server.url}{link}")
    assert receipt.inner_text("#receipt-session") == enrolled.session_id
    note = receipt.inner_text("#receipt-note")
    size = int(receipt.inner_text("#receipt-tree-size"))
    assert note.split("\n")[1] == str(size)  # the signed note names the tree the entries are in
    assert receipt.locator(".entry").count() == 2  # the result and the sealed recording
    assert all(int(index) < size for index in receipt.locator(".leaf-index").all_inner_texts())
    assert "footprint verify inclusion" in receipt.inner_text("#receipt-commands")
    receipt.screenshot(path=str(screenshot_path("student-receipt-en")), full_page=True)
    receipt.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
    receipt.click('button[data-action="print"]')
    assert receipt.get_attribute("body", "data-printed") == "yes"
    receipt.emulate_media(media="print")
    assert not receipt.is_visible('button[data-action="print"]')  # the print stylesheet leaves the button out
    receipt.screenshot(path=str(screenshot_path("student-receipt-print-en")), full_page=True)
