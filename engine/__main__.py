"""``python -m engine``: see :mod:`engine.cli.main`."""

import sys

from engine.cli.main import main

sys.exit(main())
