"""The commands the demo seeder prints work when pasted into a new terminal: session, upload, analysis,
playback, verdict, and the verdict's ledger proof verified offline; the printed desk sign-in opens the desk."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fixtures.scenarios import Scenario
from tests.servers import ROOT, free_port, server
from tests.servers import SERVER_KEY as KEY
from web.seed import DEMO_EXAM


@pytest.mark.slow
def test_printed_commands_run_in_a_new_shell(demo: Scenario, tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PROCTOR_")},
        "PROCTOR_DATA_DIR": str(data),
        "PROCTOR_PORT": str(port),
        "PROCTOR_BOOTSTRAP_API_KEY": KEY,
    }
    seeded = subprocess.run(
        [sys.executable, "-m", "web.seed", "--photo", str(demo.reference), "--video", str(demo.video)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    assert "W0000" not in seeded.stderr and "TensorFlow Lite" not in seeded.stderr
    lines = seeded.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip().startswith("cd "))
    last = next(i for i, line in enumerate(lines) if "--public-key ledger.pub" in line)
    script = "\n".join(lines[first : last + 1])
    assert "PROCTOR_" not in script.replace("(PROCTOR_BOOTSTRAP_API_KEY)", "")  # nothing only make would set
    with server(data, port):
        pasted = subprocess.run(
            ["env", "-i", f"HOME={tmp_path}", "PATH=/usr/local/bin:/usr/bin:/bin", "bash", "-e", "-c", script],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        desk = re.search(r"Examiner desk: (\S+)\s+\(e-mail (\S+), password: the demo college's key", seeded.stdout)
        assert desk is not None
        with httpx.Client(follow_redirects=True) as browser:  # the printed sign-in opens the desk on the demo exam
            form = browser.get(desk.group(1)).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token is not None
            answer = browser.post(
                desk.group(1), data={"email": desk.group(2), "password": KEY, "csrf_token": token.group(1)}
            )
            assert answer.status_code == 200 and DEMO_EXAM in answer.text
    assert pasted.returncode == 0, pasted.stdout[-2000:] + pasted.stderr[-2000:]
    assert pasted.stdout.strip().splitlines()[-1].startswith("OK: leaf"), pasted.stdout[-500:]
    assert "recording.ts" in pasted.stdout and '"verdict": "confirmed"' in pasted.stdout
