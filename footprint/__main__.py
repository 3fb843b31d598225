"""`python -m footprint`: the `footprint` command (footprint/cli.py) run with this very Python."""

from footprint.cli import main

main()
