"""Face embeddings are encrypted in the database: the column holds ciphertext, the platform reads the numbers, and
after a master key rotation a new process with only the new key still reads them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from sqlalchemy import select, text

from proctor.sessions.sealed_fields import MARKER
from proctor.sessions.tables import CandidateRow, SessionFaceRow
from tests.desk.world import World
from web.platform import media_storage
from web.services import build_services

ROOT = Path(__file__).resolve().parents[2]

READ_BACK = textwrap.dedent(
    """
    from sqlalchemy import select
    from proctor.sessions.tables import CandidateRow
    from web.services import build_services
    from web.platform import media_storage
    from web.settings import load_settings

    settings = load_settings()
    media_storage(settings)
    services = build_services(settings)
    with services.sessions() as db:
        print(sorted({len(e) for e in db.scalars(select(CandidateRow.embedding)) if e is not None}))
    services.engine.dispose()
    """
)


def test_embeddings_are_ciphertext_in_the_database_and_numbers_to_the_platform(world: World) -> None:
    media_storage(world.settings)
    services = build_services(world.settings)
    try:
        with services.sessions() as db:
            raw = [bytes(v) for v in db.execute(text("SELECT embedding FROM candidates")).scalars() if v is not None]
            faces_raw = [bytes(v) for v in db.execute(text("SELECT embedding FROM session_faces")).scalars()]
            read = [e for e in db.scalars(select(CandidateRow.embedding)) if e is not None]
            faces = [f.embedding for f in db.scalars(select(SessionFaceRow))]
    finally:
        services.engine.dispose()
    assert raw and faces_raw and all(v.startswith(MARKER) for v in raw + faces_raw)
    assert {len(e) for e in read + faces} == {128 * 8}
    assert all(e not in v for e, v in zip(read, raw, strict=True))
    assert np.isfinite(np.frombuffer(read[0], dtype=np.float64)).all()


def test_a_master_key_rotation_leaves_the_embeddings_readable(world: World) -> None:
    new_key = world.settings.data_dir / "keys" / "master-2.key"
    environment = {
        **os.environ,
        "PROCTOR_DATA_DIR": str(world.settings.data_dir),
        "PROCTOR_BOOTSTRAP_API_KEY": world.key_a,
    }
    rotated = subprocess.run(
        [sys.executable, "-m", "web", "master-key", "rotate", str(new_key)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert rotated.returncode == 0, rotated.stderr
    old = world.settings.master_key_path
    old.rename(old.with_name("gone.key"))  # only the new key is left
    answer = subprocess.run(
        [sys.executable, "-c", READ_BACK],
        cwd=ROOT,
        env={**environment, "PROCTOR_MASTER_KEY_FILE": str(new_key)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == "[1024]"
