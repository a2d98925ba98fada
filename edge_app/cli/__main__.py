"""``python -m edge_app.cli``: the same as ``edge-app``."""

import sys

from . import main

sys.exit(main())
