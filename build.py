#!/usr/bin/env python3
"""Build the deck: `python build.py [PATH] [-o OUTDIR] [--force] [--no-figures] [--strict]`.

With no arguments, builds slides/ into build/deck/ (open build/deck/index.html).
The build runs in the resident builder when there is one (talkbuild/resident.py:
a warm process, which starts in a fraction of the time), else here, leaving one
behind for the next build.
"""

import sys

# Start-up time is most of a build: keep the builder's compiled modules even where
# PYTHONDONTWRITEBYTECODE is set (__pycache__/ is git-ignored).
sys.dont_write_bytecode = False

from talkbuild import resident  # noqa: E402 (after the bytecode setting)

if __name__ == "__main__":
    status = resident.delegate(sys.argv[1:])
    if status is None:
        from talkbuild.cli import main

        status = main()
        resident.start()
    sys.exit(status)
