#!/usr/bin/env python3
"""Build the deck: `python build.py [PATH] [-o OUTDIR] [--force] [--no-figures] [--strict]`.

With no arguments, builds slides/ into build/deck/ (open build/deck/index.html).
"""

import sys

# Start-up time is most of a build: keep the builder's compiled modules even where
# PYTHONDONTWRITEBYTECODE is set (__pycache__/ is git-ignored).
sys.dont_write_bytecode = False

from talkbuild.cli import main  # noqa: E402 (after the bytecode setting)

if __name__ == "__main__":
    sys.exit(main())
