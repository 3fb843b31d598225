"""Student page benchmark: what the exam page costs the candidate's browser; prints JSON.

    python -m benchmarks.student_page              # 5 first loads, 30 s of exam; about two minutes
    python -m benchmarks.student_page --loads 3 --exam-seconds 20

Debian's chromium (headless, fake camera and microphone playing the demo's candidate) opens a real
exam link on `python -m web` on loopback:

- first screen: from navigation start to the consent screen painted and usable (the page's own
  Navigation Timing: first contentful paint, DOMContentLoaded, load), median of `--loads` cold loads;
- weight: bytes of the page and every asset it loads (the budget is 300 KB);
- the exam step: CPU seconds per wall second of every Chromium process (Chromium's own
  SystemInfo.getProcessInfo), and of the page's main thread (Performance.getMetrics TaskDuration),
  while the candidate sits the exam with camera and microphone streamed and recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("GLOG_minloglevel", "2")
warnings.filterwarnings("ignore", module="google.protobuf")

from playwright.sync_api import CDPSession, Page, sync_playwright  # noqa: E402

from proctor.nativelog import quiet_native_noise  # noqa: E402
from tests.fixtures.fake_capture import build_fake_capture  # noqa: E402
from tests.fixtures.scenarios import build_demo  # noqa: E402
from tests.live.conftest import enrol  # noqa: E402
from tests.servers import free_port, server  # noqa: E402

KEY = "page-benchmark-key-0123456789"
TARGETS = {"first_screen_ms": 1000.0, "asset_bytes": 300 * 1024}
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
TIMING = """() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const paint = performance.getEntriesByName("first-contentful-paint")[0];
    const resources = performance.getEntriesByType("resource");
    return {
        fcp_ms: paint ? paint.startTime : null,
        dom_content_loaded_ms: nav.domContentLoadedEventEnd,
        load_ms: nav.loadEventEnd,
        bytes: nav.encodedBodySize + resources.reduce((sum, r) => sum + r.encodedBodySize, 0),
        resources: resources.length + 1,
    };
}"""


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        sys.exit("Debian's chromium is not installed: run `make system-deps`")
    return found


def cpu_seconds(cdp: CDPSession) -> float:
    return float(sum(process["cpuTime"] for process in cdp.send("SystemInfo.getProcessInfo")["processInfo"]))


def main_thread_seconds(cdp: CDPSession) -> float:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return float(metrics["TaskDuration"])


def go_on(page: Page, step: str) -> None:
    button = f'section[data-step="{step}"] button[data-action="continue"]'
    page.wait_for_selector(f"{button}:not([disabled])", timeout=120_000)
    page.click(button)
    if step == "exam":
        page.click('#confirm-dialog button[data-action="confirm"]')


def run(loads: int, exam_seconds: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="page-bench-"))
    demo = build_demo(work / "demo")
    capture = build_fake_capture(work / "capture", demo, clean_s=60.0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    flags = [
        *FLAGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={capture.video}",
        f"--use-file-for-fake-audio-capture={capture.audio}",
    ]
    with server(work / "data", port, key=KEY), sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium(), args=flags)
        first: list[dict[str, Any]] = []
        for _ in range(loads + 1):  # the first load warms the server's template cache; not counted
            enrolled = enrol(base, demo, policy={"room_scan": {"pre_exam": False}}, key=KEY)
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{base}/join/{enrolled.token}?lang=kk", wait_until="load")
            page.wait_for_selector('section[data-step="consent"] button[data-action="continue"]')
            first.append(page.evaluate(TIMING))
            context.close()
        first = first[1:]

        enrolled = enrol(base, demo, policy={"room_scan": {"pre_exam": False}}, key=KEY)
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{base}/join/{enrolled.token}?lang=kk")
        for step in ("consent", "system-check", "identity", "calibration"):
            go_on(page, step)
        page.wait_for_selector('section[data-step="exam"]:not([hidden])')
        browser_cdp = browser.new_browser_cdp_session()
        page_cdp = context.new_cdp_session(page)
        page_cdp.send("Performance.enable")
        time.sleep(3.0)  # the exam has settled
        cpu0, main0, wall0 = cpu_seconds(browser_cdp), main_thread_seconds(page_cdp), time.monotonic()
        time.sleep(exam_seconds)
        cpu1, main1, wall1 = cpu_seconds(browser_cdp), main_thread_seconds(page_cdp), time.monotonic()
        go_on(page, "exam")
        page.wait_for_selector('section[data-step="finish"] button[data-action="continue"]:not([disabled])')
        context.close()
        browser.close()
    wall = wall1 - wall0
    median = {
        key: statistics.median(float(t[key]) for t in first) for key in ("fcp_ms", "dom_content_loaded_ms", "load_ms")
    }
    return {
        "benchmark": "student_page",
        "machine": {"cpus": os.cpu_count(), "chromium": chromium()},
        "first_screen": {**{k: round(v, 1) for k, v in median.items()}, "loads": loads},
        "asset_bytes": first[-1]["bytes"],
        "asset_requests": first[-1]["resources"],
        "exam_step": {
            "seconds": round(wall, 1),
            "chromium_cores": round((cpu1 - cpu0) / wall, 3),
            "page_main_thread_cores": round((main1 - main0) / wall, 4),
            "what_runs": "camera 640x360 at 15 fps: WebRTC VP8 encode + MediaRecorder VP8/Opus, mic meter, page",
        },
        "targets": TARGETS,
        "met": {
            "first_screen": median["load_ms"] <= TARGETS["first_screen_ms"],
            "asset_bytes": first[-1]["bytes"] <= TARGETS["asset_bytes"],
        },
    }


def main(argv: list[str] | None = None) -> int:
    quiet_native_noise(keep_tracker=True)  # no TensorFlow Lite/absl notices in the figures' output
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5, help="cold first loads to time (median)")
    parser.add_argument("--exam-seconds", type=float, default=30.0, help="how long to measure the exam step")
    args = parser.parse_args(argv)
    if args.loads < 1 or args.exam_seconds <= 0:
        parser.error("--loads must be at least 1 and --exam-seconds positive")
    print(json.dumps(run(args.loads, args.exam_seconds), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
