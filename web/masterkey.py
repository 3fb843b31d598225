"""`python -m web master-key …`: the master key that wraps the colleges' media data keys (proctor/recording/datakeys).

- `master-key show` names the key in force, where it is, and the keys the data keys are wrapped under.
- `master-key rotate NEW_FILE` makes a new master key in NEW_FILE and wraps every data key under it too; the media
  is not touched. Then point `PROCTOR_MASTER_KEY_FILE` at NEW_FILE on every node and restart them.
- `master-key forget OLD_ID` removes the data keys wrapped under an old master key, once every node has the new
  one (refused for the key in force): the old key then opens nothing, wherever a copy of it is.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from proctor.recording.datakeys import (
    DATA_KEYS,
    DataKeyError,
    LocalKeyFolder,
    generate_master_key,
    load_master_key,
    master_ids_in,
    rewrap,
)
from web.commands import command
from web.settings import Settings


def add_commands(commands: Any) -> None:
    parser = commands.add_parser("master-key", help="show or rotate the master key that wraps the media's data keys")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("show", help="the master key in force and the keys the data keys are wrapped under")
    rotate = actions.add_parser("rotate", help="make a new master key in NEW_FILE and wrap every data key under it")
    rotate.add_argument("new_file", type=Path, help="where to write the new key (a new file, apart from the data)")
    forget = actions.add_parser("forget", help="remove the data keys wrapped under an old master key")
    forget.add_argument("old_id", help="the old master key's id (see `master-key show`)")


def _folder(settings: Settings) -> LocalKeyFolder:
    return LocalKeyFolder(settings.media_path / DATA_KEYS)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 0 with what was done, or 2 with the reason (nothing changed)."""
    try:
        if args.action == "show":
            return _show(settings)
        if args.action == "rotate":
            return _rotate(settings, args.new_file)
        return _forget(settings, args.old_id)
    except DataKeyError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2


def _show(settings: Settings) -> int:
    current = load_master_key(settings.master_key_path)
    wrapped = sorted(master_ids_in(_folder(settings)))
    sys.stdout.write(f"master key {current.id} in {settings.master_key_path}\n")
    sys.stdout.write(f"data keys wrapped under: {', '.join(wrapped) or 'none yet'}\n")
    return 0


def _rotate(settings: Settings, new_file: Path) -> int:
    old = load_master_key(settings.master_key_path)
    if new_file.exists():
        sys.stderr.write(f"error: {new_file} already exists; name a new file\n")
        return 2
    new = generate_master_key(new_file)
    done = rewrap(_folder(settings), old, new)
    forget = command(f"master-key forget {old.id}")
    sys.stdout.write(
        f"new master key {new.id} in {new_file}; the data keys of {len(done.colleges)} college(s) are wrapped under "
        f"it too.\nnext: set PROCTOR_MASTER_KEY_FILE={shlex.quote(str(new_file.resolve()))} on every node and restart "
        f"them; then, with the new key in force:  {forget}\n"
    )
    return 0


def _forget(settings: Settings, old_id: str) -> int:
    current = load_master_key(settings.master_key_path)
    if old_id == current.id:
        sys.stderr.write(f"error: {old_id} is the master key in force ({settings.master_key_path}); not forgotten\n")
        return 2
    folder = _folder(settings)
    names = [name for name in folder.names() if name.endswith(f".{old_id}.json")]
    if not names:
        sys.stderr.write(f"error: no data key is wrapped under a master key {old_id}\n")
        return 2
    colleges = [name.removesuffix(f".{old_id}.json") for name in names]
    missing = [c for c in colleges if folder.read(f"{c}.{current.id}.json") is None]
    if missing:
        sys.stderr.write(
            f"error: the data keys of {', '.join(missing)} are not wrapped under the key in force {current.id}: "
            "rotate first, or the media of those colleges could no longer be read\n"
        )
        return 2
    for name in names:
        (folder.folder / name).unlink()
    sys.stdout.write(f"forgot master key {old_id}: the data keys of {len(names)} college(s) it wrapped are removed\n")
    return 0
