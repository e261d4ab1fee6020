"""`python -m talkbuild.figures [PROJECT] [--check] [--force]`: make figures, figures-check."""

import sys

from . import main

sys.exit(main())
