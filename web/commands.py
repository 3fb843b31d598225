"""Commands the platform prints for people to paste: with this very Python, so they work in a new terminal too
(a new shell has no virtual environment on its PATH)."""

from __future__ import annotations

import shlex
import sys


def command(arguments: str, module: str = "web") -> str:
    """`python -m MODULE ARGUMENTS` as it runs here: this interpreter's path, quoted for a shell."""
    return f"{shlex.quote(sys.executable)} -m {module} {arguments}"
