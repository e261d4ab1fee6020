"""`python -m talkbuild.figures [PROJECT] [--check] [--force]`: make figures, figures-check."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
