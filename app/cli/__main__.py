"""``python -m app.cli``: the same as the ``spindiff`` console script (`app.serve` starts workers this way)."""

import sys

from app.cli import main

sys.exit(main())
