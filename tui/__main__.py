"""`python -m tui`: the same entry point as the `agentpref-tui` script."""

import sys

from tui.cli import main

sys.exit(main())
